"""Compressed point encoding: round trips on every backend and strict
rejection of every malformed form (length, type, x >= p, off-curve x,
flag combinations, non-canonical identities, identity where not allowed)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import zkp.group as group_mod
from support.backends import FAST_BACKENDS
from zkp.errors import DecodeError
from zkp.field import P, R
from zkp.group import POINT_BYTES, Point, _load, decode_affine, encode_points, sqrt_fp

IDENTITY = bytes([0x40]) + bytes(31)


def _is_square(a: int) -> bool:
    return pow(a % P, (P - 1) // 2, P) in (0, 1)


def _off_curve_x(start: int = 0) -> int:
    x = start
    while _is_square(x**3 + 3):
        x += 1
    return x


def _on_curve_x(start: int = 0) -> int:
    x = start
    while not _is_square(x**3 + 3):
        x += 1
    return x


# -- round trips -----------------------------------------------------------------

@given(st.integers(min_value=1, max_value=R - 1))
def test_round_trip_reference(k):
    A = Point.generator(_load("pyecc")) * k
    data = A.encode()
    assert len(data) == POINT_BYTES
    assert Point.decode(data, backend=A.b) == A
    x, y = A.affine()
    assert decode_affine(data) == (x, y)
    assert int.from_bytes(data, "big") & ((1 << 254) - 1) == x
    assert bool(data[0] & 0x80) == bool(y & 1)


@pytest.mark.parametrize("name", FAST_BACKENDS)
@given(k=st.integers(min_value=1, max_value=R - 1))
def test_round_trip_every_backend(name, k):
    b = _load(name)
    A = Point.generator(b) * k
    data = A.encode()
    B = Point.decode(data, backend=b)
    assert B == A and B.encode() == data
    assert data == A.to_backend(_load("ints")).encode()


def test_identity_encoding(backend_name):
    O = Point.identity()
    assert O.encode() == IDENTITY
    assert Point.decode(IDENTITY, allow_identity=True).is_identity()
    with pytest.raises(DecodeError, match="identity"):
        Point.decode(IDENTITY)
    assert decode_affine(IDENTITY, allow_identity=True) is None


def test_sign_flag_selects_the_root(backend_name):
    A = Point.generator() * 0xC0FFEE
    a, na = A.encode(), (-A).encode()
    assert a[1:] == na[1:] and a[0] ^ na[0] == 0x80
    flipped = bytes([a[0] ^ 0x80]) + a[1:]
    assert Point.decode(flipped) == -A
    G = Point.generator().encode()
    assert G == (1).to_bytes(32, "big")  # y = 2 is even: no flag
    assert (-Point.generator()).encode() == bytes([0x80]) + (1).to_bytes(31, "big")


def test_encode_points_batch(backend_name):
    G = Point.generator()
    pts = [G * 3, Point.identity(), G * (R - 1), G, Point.identity(), G * 77]
    assert encode_points(pts) == [p.encode() for p in pts]
    assert encode_points([]) == []
    assert encode_points([Point.identity()]) == [IDENTITY]


def test_encode_points_mixed_backends():
    a = Point.generator(_load("pyecc")) * 5
    b = Point.generator(_load("ints")) * 6
    assert encode_points([a, b]) == [a.encode(), b.encode()]


def test_accepts_bytes_like():
    data = (Point.generator(_load("ints")) * 9).encode()
    assert decode_affine(bytearray(data)) == decode_affine(data) == decode_affine(memoryview(data))


# -- negatives ---------------------------------------------------------------------

@pytest.mark.parametrize("length", [0, 1, 31, 33, 48, 64])
def test_wrong_length(length):
    with pytest.raises(DecodeError, match="32 bytes"):
        decode_affine(b"\x01" * length)
    with pytest.raises(DecodeError):
        Point.decode(bytes(length), allow_identity=True)


@pytest.mark.parametrize("value", ["00" * 32, 5, None, [0] * 32, 1.5])
def test_not_bytes(value):
    with pytest.raises(DecodeError):
        decode_affine(value)


def test_x_not_canonical():
    x0 = _on_curve_x(5)  # x0 + p still fits in 254 bits
    assert x0 + P < 1 << 254
    good = x0.to_bytes(32, "big")
    assert decode_affine(good)[0] == x0
    for x in (P, P + 1, P + x0, (1 << 254) - 1):
        for flag in (0x00, 0x80):
            data = bytearray(x.to_bytes(32, "big"))
            data[0] |= flag
            with pytest.raises(DecodeError, match="canonical"):
                decode_affine(bytes(data))


def test_off_curve_x():
    for start in (0, 1000, P - 50):
        x = _off_curve_x(start)
        for flag in (0x00, 0x80):
            data = bytearray(x.to_bytes(32, "big"))
            data[0] |= flag
            with pytest.raises(DecodeError, match="not on the curve"):
                decode_affine(bytes(data))


@pytest.mark.parametrize("data", [
    bytes([0xC0]) + bytes(31),                # identity flag with the sign flag
    bytes([0x40]) + bytes(30) + b"\x01",      # identity flag with x bits
    bytes([0x41]) + bytes(31),                # identity flag with high x bits
    bytes([0x7F]) + b"\xff" * 31,
    bytes([0xFF]) + b"\xff" * 31,
    bytes([0x40]) + (1).to_bytes(31, "big"),  # identity flag on the generator's x
])
def test_bad_flag_combinations_and_noncanonical_identity(data):
    with pytest.raises(DecodeError, match="identity"):
        decode_affine(data, allow_identity=True)
    with pytest.raises(DecodeError):
        Point.decode(data, allow_identity=True)


def test_identity_rejected_unless_allowed():
    with pytest.raises(DecodeError, match="not allowed"):
        decode_affine(IDENTITY)
    assert decode_affine(IDENTITY, allow_identity=True) is None


def test_zero_x_without_flags_is_not_the_identity():
    # x = 0: 0^3 + 3 = 3, decided by the curve equation, never as identity
    data = bytes(32)
    if _is_square(3):
        x, y = decode_affine(data)
        assert x == 0 and (y * y - 3) % P == 0
    else:
        with pytest.raises(DecodeError, match="not on the curve"):
            decode_affine(data)


def test_from_affine_is_checked(backend_name):
    x, y = (Point.generator() * 99).affine()
    assert Point.from_affine(x, y) == Point.generator() * 99
    for bad in ((x, y + 1), (x + P, y), (x, y + P), (-1, y), (x, -y), (0, 0)):
        with pytest.raises(DecodeError):
            Point.from_affine(*bad)


# -- square roots ------------------------------------------------------------------------

@given(st.integers(min_value=0, max_value=P - 1))
def test_sqrt_fp_both_paths(a):
    got = sqrt_fp(a)
    saved = group_mod._gmpy2
    group_mod._gmpy2 = None
    try:
        plain = sqrt_fp(a)
    finally:
        group_mod._gmpy2 = saved
    assert got == plain
    if _is_square(a):
        assert got is not None and got * got % P == a
    else:
        assert got is None


def test_sqrt_fp_edges():
    assert sqrt_fp(0) == 0
    assert sqrt_fp(1) in (1, P - 1)
    assert sqrt_fp(P - 1) is None  # p = 3 (mod 4): -1 is not a square
    assert sqrt_fp(4 + P) in (2, P - 2)  # reduced first
