"""Canonical tuple encoding and Ed25519 signing (clearing.protocol.signing)."""
from __future__ import annotations

import os
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from clearing.protocol import signing
from clearing.protocol.signing import (
    EncodingError,
    KeyFormatError,
    SignatureError,
    encode_tuple,
    sign,
    sign_kem_key,
    verify,
    verify_kem_key,
)

TRADE = [
    ("trade_id", "t-0001"),
    ("cycle", 3),
    ("buyer", bytes(range(32))),
    ("seller", bytes(range(32, 64))),
    ("instrument", "ESZ5"),
    ("side", "buy"),
    ("price", 512_350),
    ("T", b"\x02" * 33),
    ("affirmed", False),
    ("note", None),
    ("legs", [1, -2, ["x", b"y"]]),
]


@pytest.fixture(scope="module")
def key():
    return signing.generate_identity_key()


# ---------------------------------------------------------------- encoding

def test_encoding_starts_with_domain_and_is_deterministic():
    enc = encode_tuple("trade", TRADE)
    assert enc.startswith(b"zkclear.v1/trade\x00")
    assert enc == encode_tuple("trade", list(TRADE))
    assert enc == encode_tuple("trade", tuple(TRADE))


def test_encoding_known_vector():
    enc = encode_tuple("k", [("a", 1), ("b", "x"), ("c", -256), ("d", [None, True])])
    assert enc == (
        b"zkclear.v1/k\x00" + b"\x00\x00\x00\x04"
        + b"\x00\x00\x00\x01a" + b"\x03\x00\x00\x00\x01\x01"
        + b"\x00\x00\x00\x01b" + b"\x05\x00\x00\x00\x01x"
        + b"\x00\x00\x00\x01c" + b"\x04\x00\x00\x00\x02\x01\x00"
        + b"\x00\x00\x00\x01d" + b"\x07\x00\x00\x00\x02" + b"\x00" + b"\x02"
    )


@pytest.mark.parametrize(
    "left, right",
    [
        ([("f", ["ab", "c"])], [("f", ["a", "bc"])]),
        ([("f", "ab"), ("g", "c")], [("f", "a"), ("g", "bc")]),
        ([("f", 1)], [("f", "1")]),
        ([("f", 1)], [("f", b"1")]),
        ([("f", "1")], [("f", b"1")]),
        ([("f", 0)], [("f", False)]),
        ([("f", 1)], [("f", True)]),
        ([("f", 0)], [("f", None)]),
        ([("f", b"")], [("f", "")]),
        ([("f", b"")], [("f", None)]),
        ([("f", [])], [("f", None)]),
        ([("f", 5)], [("f", -5)]),
        ([("f", 255)], [("f", 256)]),
        ([("f", [[1], 2])], [("f", [1, [2]])]),
        ([("f", [[1, 2]])], [("f", [1, 2])]),
        ([("f", [1, 2])], [("f", [1]), ("g", 2)]),
        ([("a", 1), ("b", 2)], [("b", 2), ("a", 1)]),
        ([("ab", 1)], [("a", 1)]),
        ([("f", 1)], [("F", 1)]),
    ],
)
def test_encoding_is_unambiguous(left, right):
    assert encode_tuple("x", left) != encode_tuple("x", right)


def test_kind_is_part_of_the_message():
    assert encode_tuple("trade", TRADE) != encode_tuple("affirmation", TRADE)
    # A kind cannot absorb the start of the field section.
    assert encode_tuple("ab", []) != encode_tuple("a", [])


def test_big_and_negative_ints_roundtrip_distinctly():
    values = [0, 1, -1, 2**64, -(2**64), 2**255 + 7, -(2**255 + 7)]
    encodings = {encode_tuple("n", [("v", v)]) for v in values}
    assert len(encodings) == len(values)
    # Minimal magnitude: 256 is two bytes, 0 is empty.
    assert encode_tuple("n", [("v", 256)]).endswith(b"\x03\x00\x00\x00\x02\x01\x00")
    assert encode_tuple("n", [("v", 0)]).endswith(b"\x03\x00\x00\x00\x00")


@pytest.mark.parametrize(
    "kind, fields",
    [
        ("", []),
        ("Trade Kind", []),
        ("bad\x00kind", []),
        ("-lead", []),
        ("x" * 65, []),
        (b"trade", []),
        ("t", [("", 1)]),
        ("t", [("has space", 1)]),
        ("t", [(1, 1)]),
        ("t", [("a", 1), ("a", 2)]),
        ("t", [("a", 1.5)]),
        ("t", [("a", {"k": 1})]),
        ("t", [("a", {1, 2})]),
        ("t", [("a", "\ud800")]),
        ("t", [("a",)]),
        ("t", [("a", 1, 2)]),
        ("t", "ab"),
        ("t", {"a": 1}),
        ("t", [("a", object())]),
    ],
)
def test_encoding_rejects_malformed_input(kind, fields):
    with pytest.raises(EncodingError):
        encode_tuple(kind, fields)


def test_encoding_depth_limit():
    v: list = [1]
    for _ in range(signing.MAX_DEPTH - 1):
        v = [v]
    encode_tuple("d", [("v", v)])
    with pytest.raises(EncodingError):
        encode_tuple("d", [("v", [v])])


# ---------------------------------------------------------------- sign / verify

def test_sign_verify_roundtrip(key):
    sig = sign(key, "trade", TRADE)
    assert isinstance(sig, bytes) and len(sig) == 64
    verify(key.public_key(), "trade", TRADE, sig)
    verify(signing.public_key_bytes(key), "trade", TRADE, sig)


@pytest.mark.parametrize("index", range(len(TRADE)))
def test_any_field_change_fails(key, index):
    sig = sign(key, "trade", TRADE)
    name, value = TRADE[index]
    if isinstance(value, bool):
        changed = not value
    elif value is None:
        changed = 0
    elif isinstance(value, int):
        changed = value + 1
    elif isinstance(value, str):
        changed = value + "x"
    elif isinstance(value, bytes):
        changed = value[:-1] + bytes([value[-1] ^ 1])
    else:
        changed = value + [0]
    fields = list(TRADE)
    fields[index] = (name, changed)
    with pytest.raises(SignatureError):
        verify(key.public_key(), "trade", fields, sig)


def test_field_rename_drop_and_reorder_fail(key):
    sig = sign(key, "trade", TRADE)
    renamed = [("trade_idx", TRADE[0][1])] + TRADE[1:]
    for fields in (renamed, TRADE[:-1], TRADE[1:] + TRADE[:1], TRADE + [("extra", 0)]):
        with pytest.raises(SignatureError):
            verify(key.public_key(), "trade", fields, sig)


def test_kind_change_fails(key):
    sig = sign(key, "trade", TRADE)
    with pytest.raises(SignatureError):
        verify(key.public_key(), "affirmation", TRADE, sig)


def test_wrong_key_fails(key):
    sig = sign(key, "trade", TRADE)
    other = signing.generate_identity_key()
    with pytest.raises(SignatureError):
        verify(other.public_key(), "trade", TRADE, sig)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1],
        lambda s: s[:32],
        lambda s: b"",
        lambda s: s + b"\x00",
        lambda s: bytes([s[0] ^ 1]) + s[1:],
        lambda s: s[:-1] + bytes([s[-1] ^ 0x80]),
        lambda s: bytes(64),
        lambda s: s.hex(),
        lambda s: None,
    ],
)
def test_mangled_signature_fails(key, mangle):
    sig = sign(key, "trade", TRADE)
    with pytest.raises(SignatureError):
        verify(key.public_key(), "trade", TRADE, mangle(sig))


def test_signature_error_message_is_generic(key):
    sig = sign(key, "trade", TRADE)
    messages = set()
    for bad in (sig[:-1], bytes(64)):
        with pytest.raises(SignatureError) as info:
            verify(key.public_key(), "trade", TRADE, bad)
        messages.add(str(info.value))
    assert messages == {"signature verification failed"}


def test_verify_rejects_malformed_public_key(key):
    sig = sign(key, "trade", TRADE)
    for bad in (b"\x00" * 31, b"\x00" * 33, "00" * 32, None):
        with pytest.raises(KeyFormatError):
            verify(bad, "trade", TRADE, sig)


def test_sign_requires_ed25519_private_key():
    with pytest.raises(KeyFormatError):
        sign(x25519.X25519PrivateKey.generate(), "trade", TRADE)


# ---------------------------------------------------------------- key files

def test_private_key_file_roundtrip_and_mode(tmp_path, key):
    path = tmp_path / "id.key"
    signing.write_private_key(path, key)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = signing.read_private_key(path)
    assert signing.public_key_bytes(loaded) == signing.public_key_bytes(key)
    with pytest.raises(FileExistsError):
        signing.write_private_key(path, key)
    other = signing.generate_identity_key()
    signing.write_private_key(path, other, overwrite=True)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert signing.public_key_bytes(signing.read_private_key(path)) == signing.public_key_bytes(other)


def test_private_key_file_mode_is_0600_despite_permissive_umask(tmp_path, key):
    old = os.umask(0)
    try:
        signing.write_private_key(tmp_path / "k", key)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "k").st_mode) == 0o600


def test_reading_group_readable_key_file_is_refused(tmp_path, key):
    path = tmp_path / "id.key"
    signing.write_private_key(path, key)
    os.chmod(path, 0o640)
    with pytest.raises(KeyFormatError, match="group/others"):
        signing.read_private_key(path)


def test_reading_missing_or_garbage_key_file(tmp_path):
    with pytest.raises(KeyFormatError):
        signing.read_private_key(tmp_path / "absent")
    signing.write_secret_file(tmp_path / "junk", b"not a key")
    with pytest.raises(KeyFormatError):
        signing.read_private_key(tmp_path / "junk")


def test_key_type_is_enforced(tmp_path):
    signing.write_private_key(tmp_path / "x", x25519.X25519PrivateKey.generate())
    with pytest.raises(KeyFormatError):
        signing.read_private_key(tmp_path / "x")  # expects Ed25519
    assert isinstance(
        signing.read_private_key(tmp_path / "x", x25519.X25519PrivateKey), x25519.X25519PrivateKey
    )


def test_public_key_bytes_roundtrip(key):
    raw = signing.public_key_bytes(key)
    assert len(raw) == 32 and raw == signing.public_key_bytes(key.public_key())
    assert signing.public_key_bytes(signing.load_public_key(raw)) == raw
    with pytest.raises(KeyFormatError):
        signing.public_key_bytes(x25519.X25519PrivateKey.generate())


# ---------------------------------------------------------------- KEM binding

def test_kem_key_binding(key):
    xpub = x25519.X25519PrivateKey.generate().public_key()
    sig = sign_kem_key(key, "A", xpub)
    verify_kem_key(key.public_key(), "A", xpub, sig)
    raw = signing._x25519_raw(xpub)
    verify_kem_key(signing.public_key_bytes(key), "A", raw, sig)


def test_kem_key_binding_rejects_substitutions(key):
    xpub = x25519.X25519PrivateKey.generate().public_key()
    sig = sign_kem_key(key, "A", xpub)
    other_x = x25519.X25519PrivateKey.generate().public_key()
    other_ed = ed25519.Ed25519PrivateKey.generate()
    cases = [
        (key.public_key(), "B", xpub, sig),
        (key.public_key(), "A", other_x, sig),
        (other_ed.public_key(), "A", xpub, sig),
        (key.public_key(), "A", xpub, sig[:-1]),
    ]
    for ed_pub, owner, x, s in cases:
        with pytest.raises(SignatureError):
            verify_kem_key(ed_pub, owner, x, s)
    # The binding is its own kind: not a valid signature of any other tuple.
    with pytest.raises(SignatureError):
        verify(key.public_key(), "trade",
               [("owner", "A"), ("alg", "x25519"), ("public-key", signing._x25519_raw(xpub))], sig)


def test_kem_key_binding_rejects_malformed_key(key):
    with pytest.raises(KeyFormatError):
        sign_kem_key(key, "A", b"\x01" * 31)
    with pytest.raises(EncodingError):
        sign_kem_key(key, "", x25519.X25519PrivateKey.generate().public_key())
