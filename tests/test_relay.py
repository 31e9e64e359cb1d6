"""The HPKE-style opening relay (clearing.protocol.relay)."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from clearing.protocol import relay
from clearing.protocol.relay import (
    OpeningError,
    RelayError,
    decode_opening,
    encode_opening,
    open_sealed,
    seal,
)
from clearing.protocol.signing import encode_tuple
from zkp.field import R

AAD = encode_tuple("trade", [("trade_id", "t-1"), ("cycle", 1), ("price", 100)])
MSG = b"the opening of a trade"


@pytest.fixture(scope="module")
def recipient():
    return relay.generate_relay_key()


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1:]


# ---------------------------------------------------------------- round trip

def test_roundtrip(recipient):
    sealed = seal(recipient.public_key(), MSG, AAD)
    assert open_sealed(recipient, sealed, AAD) == MSG
    assert sealed[0] == relay.RELAY_VERSION
    assert len(sealed) == len(MSG) + relay.SEALED_OVERHEAD


def test_roundtrip_raw_public_key_and_empty_inputs(recipient):
    raw = relay.relay_public_bytes(recipient)
    assert open_sealed(recipient, seal(raw, b"", b""), b"") == b""


def test_construction_matches_documentation(recipient):
    """Re-derive key and nonce independently from the documented recipe."""
    sealed = seal(recipient.public_key(), MSG, AAD)
    enc = sealed[1:33]
    shared = recipient.exchange(x25519.X25519PublicKey.from_public_bytes(enc))
    okm = HKDF(hashes.SHA256(), 44, None,
               b"zkclear.v1/relay" + enc + relay.relay_public_bytes(recipient)).derive(shared)
    assert AESGCM(okm[:32]).decrypt(okm[32:], sealed[33:], AAD) == MSG


def test_two_seals_differ(recipient):
    a = seal(recipient.public_key(), MSG, AAD)
    b = seal(recipient.public_key(), MSG, AAD)
    assert a != b
    assert a[1:33] != b[1:33]  # fresh ephemeral key each time
    assert a[33:] != b[33:]


# ---------------------------------------------------------------- tampering

def _expect_reject(recipient, sealed, aad=AAD):
    with pytest.raises(RelayError) as info:
        open_sealed(recipient, sealed, aad)
    assert str(info.value) == "sealed message rejected"


@pytest.mark.parametrize("where", ["version", "ephemeral", "ciphertext", "tag"])
def test_tampering_is_rejected(recipient, where):
    sealed = seal(recipient.public_key(), MSG, AAD)
    index = {"version": 0, "ephemeral": 5, "ciphertext": 34, "tag": len(sealed) - 1}[where]
    _expect_reject(recipient, _flip(sealed, index))


def test_every_single_byte_flip_is_rejected(recipient):
    sealed = seal(recipient.public_key(), b"q" * 40, AAD)
    for i in range(len(sealed)):
        _expect_reject(recipient, _flip(sealed, i))


def test_wrong_version_is_rejected(recipient):
    sealed = seal(recipient.public_key(), MSG, AAD)
    for version in (0, 2, 255):
        _expect_reject(recipient, bytes([version]) + sealed[1:])


def test_wrong_aad_is_rejected(recipient):
    sealed = seal(recipient.public_key(), MSG, AAD)
    other = encode_tuple("trade", [("trade_id", "t-2"), ("cycle", 1), ("price", 100)])
    for aad in (other, b"", AAD + b"\x00", AAD[:-1]):
        _expect_reject(recipient, sealed, aad)


def test_wrong_recipient_is_rejected(recipient):
    sealed = seal(recipient.public_key(), MSG, AAD)
    _expect_reject(relay.generate_relay_key(), sealed)


@pytest.mark.parametrize("cut", [0, 1, 32, 33, relay.SEALED_OVERHEAD - 1])
def test_truncated_is_rejected(recipient, cut):
    sealed = seal(recipient.public_key(), MSG, AAD)
    _expect_reject(recipient, sealed[:cut])


def test_truncated_tail_and_extension_rejected(recipient):
    sealed = seal(recipient.public_key(), MSG, AAD)
    _expect_reject(recipient, sealed[:-1])
    _expect_reject(recipient, sealed + b"\x00")


def test_ephemeral_key_substitution_is_rejected(recipient):
    a = seal(recipient.public_key(), MSG, AAD)
    b = seal(recipient.public_key(), MSG, AAD)
    _expect_reject(recipient, a[:1] + b[1:33] + a[33:])


# Small-order points of Curve25519 (u-coordinates): X25519 with any of them
# yields the all-zero shared secret.
SMALL_ORDER = [
    bytes(32),
    (1).to_bytes(32, "little"),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
]


@pytest.mark.parametrize("point", SMALL_ORDER)
def test_small_order_ephemeral_key_is_rejected(recipient, point):
    # Attacker builds a "sealed" message around a small-order ephemeral key:
    # the shared secret would be zero, so the AEAD key would be public.
    sealed = bytes([relay.RELAY_VERSION]) + point + bytes(len(MSG) + relay.TAG_BYTES)
    _expect_reject(recipient, sealed)


@pytest.mark.parametrize("point", SMALL_ORDER)
def test_sealing_to_small_order_recipient_is_refused(point):
    with pytest.raises(RelayError):
        seal(point, MSG, AAD)


def test_zero_shared_secret_check_is_explicit():
    """Even if the library returned an all-zero secret, derivation refuses it."""
    with pytest.raises(RelayError):
        relay._derive(bytes(32), bytes(32), bytes(32))


def test_bad_argument_types(recipient):
    with pytest.raises(RelayError):
        seal(b"\x01" * 31, MSG, AAD)
    with pytest.raises(RelayError):
        seal(recipient.public_key(), "text", AAD)
    with pytest.raises(RelayError):
        open_sealed(recipient, "not bytes", AAD)
    with pytest.raises(RelayError):
        open_sealed(recipient.public_key(), seal(recipient.public_key(), MSG, AAD), AAD)


# ---------------------------------------------------------------- openings

def test_opening_roundtrip_and_width():
    for q, rho in [(1, 1), (2**32 - 1, R - 1), (12345, 2**200 + 3)]:
        data = encode_opening(q, rho)
        assert len(data) == relay.OPENING_BYTES == 40
        assert decode_opening(data) == (q, rho)
    assert encode_opening(1, 1) == (1).to_bytes(8, "big") + (1).to_bytes(32, "big")


@pytest.mark.parametrize(
    "q, rho",
    [(0, 1), (-1, 1), (2**32, 1), (2**64, 1), (1, 0), (1, R), (1, R + 1), (1, -1),
     (True, 1), (1, True), (1.0, 1), (1, "1")],
)
def test_encode_opening_rejects(q, rho):
    with pytest.raises(OpeningError):
        encode_opening(q, rho)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        bytes(39),
        bytes(41),
        (1).to_bytes(8, "big") + (1).to_bytes(32, "big") + b"\x00",
        (0).to_bytes(8, "big") + (1).to_bytes(32, "big"),
        (2**32).to_bytes(8, "big") + (1).to_bytes(32, "big"),
        (2**64 - 1).to_bytes(8, "big") + (1).to_bytes(32, "big"),
        (1).to_bytes(8, "big") + (0).to_bytes(32, "big"),
        (1).to_bytes(8, "big") + R.to_bytes(32, "big"),
        (1).to_bytes(8, "big") + (2**256 - 1).to_bytes(32, "big"),
        "x" * 40,
    ],
)
def test_decode_opening_rejects(data):
    with pytest.raises(OpeningError):
        decode_opening(data)


def test_opening_errors_do_not_echo_values():
    secret_rho = R + 987654321
    with pytest.raises(OpeningError) as info:
        encode_opening(7, secret_rho)
    assert str(secret_rho) not in str(info.value) and "987654321" not in str(info.value)


def test_sealed_opening_length_is_constant(recipient):
    lengths = {
        len(relay.seal_opening(recipient.public_key(), q, rho, AAD))
        for q, rho in [(1, 1), (255, 2), (2**16, R - 1), (2**32 - 1, 2**128)]
    }
    assert lengths == {relay.SEALED_OPENING_BYTES} == {89}


def test_seal_open_opening(recipient):
    sealed = relay.seal_opening(recipient.public_key(), 42, R - 5, AAD)
    assert relay.open_opening(recipient, sealed, AAD) == (42, R - 5)
    with pytest.raises(RelayError):
        relay.open_opening(recipient, sealed, AAD + b"x")
    with pytest.raises(RelayError):
        relay.open_opening(recipient, sealed[:-1], AAD)


def test_open_opening_rejects_noncanonical_plaintext(recipient):
    # A (malicious) sender seals a 40-byte plaintext that is not an opening.
    bad = (0).to_bytes(8, "big") + (1).to_bytes(32, "big")
    with pytest.raises(OpeningError):
        relay.open_opening(recipient, seal(recipient.public_key(), bad, AAD), AAD)
