"""The scalar field F_r: constants, inversion, the deterministic test RNG,
strict 32-byte scalar encoding, signed views, and the lazy galois field."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkp.errors import DecodeError
from zkp.field import (
    GF,
    SCALAR_BYTES,
    P,
    R,
    SeededRng,
    batch_inv,
    decode_scalar,
    encode_scalar,
    from_int,
    inv,
    random_scalar,
    to_signed,
)


def _probably_prime(n: int) -> bool:
    """Miller-Rabin with the first 20 primes as bases."""
    bases = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71]
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in bases:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def test_constants():
    assert R.bit_length() == 254 and P.bit_length() == 254
    assert _probably_prime(R) and _probably_prime(P)
    assert not _probably_prime(R + 2)  # the test can say no
    assert P % 4 == 3  # square roots by one exponentiation
    assert R < P


@given(st.integers(min_value=-(2**300), max_value=2**300).filter(lambda a: a % R))
def test_inv(a):
    assert inv(a) * a % R == 1
    assert 0 < inv(a) < R


@pytest.mark.parametrize("zero", [0, R, -R, 5 * R])
def test_inv_zero(zero):
    with pytest.raises(ZeroDivisionError):
        inv(zero)


@given(st.lists(st.integers(min_value=-(2**300), max_value=2**300).filter(lambda a: a % R),
                max_size=20))
def test_batch_inv_matches_inv(values):
    assert batch_inv(values) == [inv(v) for v in values]


def test_batch_inv_edges():
    assert batch_inv([]) == []
    assert batch_inv([1]) == [1]
    assert batch_inv([R - 1, R + 1]) == [R - 1, 1]
    with pytest.raises(ZeroDivisionError):
        batch_inv([3, 0, 5])
    with pytest.raises(ZeroDivisionError):
        batch_inv([R])


def test_random_scalar_ranges():
    for _ in range(20):
        k = random_scalar()
        assert 0 < k < R
    a = [random_scalar(SeededRng(b"seed")) for _ in range(2)]
    assert a[0] == a[1]
    assert random_scalar(SeededRng(b"seed")) != random_scalar(SeededRng(b"other"))


def test_random_scalar_skips_zero():
    class Scripted:
        def __init__(self):
            self.values = [0, 0, 42]

        def randbelow(self, n):
            assert n == R
            return self.values.pop(0)

    assert random_scalar(Scripted()) == 42


def test_seeded_rng():
    r1, r2 = SeededRng(7), SeededRng(7)
    assert r1.randbytes(100) == r2.randbytes(100)
    assert len(SeededRng("x").randbytes(33)) == 33
    assert SeededRng("x").randbytes(64) == SeededRng(b"x").randbytes(64)
    assert SeededRng(1).randbytes(32) != SeededRng(2).randbytes(32)
    rng = SeededRng(b"below")
    vals = [rng.randbelow(10) for _ in range(200)]
    assert set(vals) == set(range(10))


# -- encoding -----------------------------------------------------------------------

@given(st.integers(min_value=0, max_value=R - 1))
def test_scalar_round_trip(k):
    data = encode_scalar(k)
    assert len(data) == SCALAR_BYTES and int.from_bytes(data, "big") == k
    assert decode_scalar(data) == k
    assert decode_scalar(bytearray(data)) == k


@pytest.mark.parametrize("k", [R, R + 1, 2**254, 2**256 - 1])
def test_decode_scalar_rejects_non_canonical(k):
    with pytest.raises(DecodeError, match=">= r"):
        decode_scalar(k.to_bytes(32, "big"))


def test_decode_scalar_boundary():
    assert decode_scalar((R - 1).to_bytes(32, "big")) == R - 1
    assert decode_scalar(bytes(32)) == 0


@pytest.mark.parametrize("length", [0, 1, 31, 33, 64])
def test_decode_scalar_wrong_length(length):
    with pytest.raises(DecodeError, match="32 bytes"):
        decode_scalar(b"\x00" * length)


@pytest.mark.parametrize("value", ["00" * 32, 5, None])
def test_decode_scalar_not_bytes(value):
    with pytest.raises(DecodeError):
        decode_scalar(value)


@pytest.mark.parametrize("k", [-1, R, R + 5])
def test_encode_scalar_range(k):
    with pytest.raises(ValueError):
        encode_scalar(k)


# -- signed views ---------------------------------------------------------------------

@given(st.integers(min_value=-(R // 2) + 1, max_value=R // 2))
def test_from_int_to_signed_round_trip(v):
    k = from_int(v)
    assert 0 <= k < R
    assert to_signed(k) == v


def test_signed_edges():
    assert from_int(-1) == R - 1 and from_int(-R) == 0 and from_int(R + 3) == 3
    assert to_signed(R - 1) == -1 and to_signed(R // 2) == R // 2
    assert to_signed(R // 2 + 1) == R // 2 + 1 - R
    assert to_signed(R) == 0


# -- galois --------------------------------------------------------------------------

def test_gf_is_lazy_cached_and_agrees_with_ints():
    F = GF()
    assert F is GF()
    assert F.order == R
    a, b = 123456789, R - 987654321
    assert int(F(a) * F(b)) == a * b % R
    assert int(F(a) ** -1) == inv(a)
    assert int(F(a) - F(b)) == (a - b) % R
