"""The opening relay: HPKE-style sealing of trade openings to one recipient.

When member A books a trade with commitment T = q*G + rho*H it must hand the
opening (q, rho) to the counterparty B and to the prover service, through the
clearing node, which must learn nothing.  Each copy is sealed to the
recipient's X25519 key; the recipient's key is trusted because it is signed by
the recipient's Ed25519 identity (``clearing.protocol.signing.sign_kem_key``).

Construction (the shape of RFC 9180 base mode -- DHKEM(X25519) + HKDF-SHA256 +
AES-256-GCM, single shot -- written directly on ``cryptography``'s
primitives; it is *not* claimed to be RFC 9180 conformant or interoperable)::

    seal(pk_R, pt, aad):
        (sk_E, pk_E) <- fresh X25519 key pair          (OS randomness)
        dh  = X25519(sk_E, pk_R);   reject dh == 0^32
        okm = HKDF-SHA256(ikm = dh, salt = none, length = 44,
                          info = "zkclear.v1/relay" || pk_E || pk_R)
        key, nonce = okm[0:32], okm[32:44]
        return 0x01 || pk_E || AES-256-GCM(key, nonce, pt, aad)

    open_sealed(sk_R, sealed, aad): the reverse, pk_R = public(sk_R).

Why this way:

* **A fresh ephemeral key per message** gives a fresh (key, nonce) per
  message; deriving the nonce from HKDF instead of sending it means it can
  never be chosen badly, and since each key encrypts exactly one message the
  nonce cannot repeat under a key.
* **info binds both public keys** (as RFC 9180's ``kem_context`` does), so a
  ciphertext is tied to the exact ephemeral key it carries and to the
  recipient it was made for; the fixed-width label and keys make the
  concatenation unambiguous.  The version byte is checked before anything
  else (a future version changes the label).
* **The all-zero shared secret is rejected**: a small-order ephemeral (or
  recipient) point makes X25519 output zero, which would make the key public.
  ``cryptography`` already refuses it; we check again and map it to the same
  error.
* **The associated data is the caller's** -- in use, the canonical encoding of
  the signed trade tuple -- so an opening cannot be replayed under another
  trade: opening with different aad fails.
* **One generic error** (:class:`RelayError`) for every failure of
  ``open_sealed``: the relaying node may tamper, and the recipient's answer
  must not tell it which byte it hit.

There is no sender authentication in the KEM (base mode): the sender is
authenticated by its Ed25519 signature on the trade tuple that is the aad,
and the recipient checks the opening against the signed commitment T.

Fixed-width plaintext.  The sealed length would leak the plaintext length, so
a trade opening is always exactly 40 bytes: an 8-byte big-endian unsigned
quantity with 1 <= q < 2^32 (the range the trade's range proof enforces) and
the 32-byte big-endian blinding 0 < rho < r (r = BN254 group order).  Every
sealed opening is therefore ``SEALED_OPENING_BYTES`` = 1 + 32 + 40 + 16 = 89
bytes.  Decoding is strict (exact length, both ranges) and its error messages
never contain the values.
"""
from __future__ import annotations

import hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from zkp.errors import ZkclearError
from zkp.field import R

__all__ = [
    "RELAY_VERSION",
    "RELAY_INFO_LABEL",
    "X25519_BYTES",
    "TAG_BYTES",
    "SEALED_OVERHEAD",
    "OPENING_BYTES",
    "SEALED_OPENING_BYTES",
    "MAX_QUANTITY",
    "RelayError",
    "OpeningError",
    "generate_relay_key",
    "relay_public_bytes",
    "load_relay_public_key",
    "seal",
    "open_sealed",
    "encode_opening",
    "decode_opening",
    "seal_opening",
    "open_opening",
]

RELAY_VERSION = 1
RELAY_INFO_LABEL = b"zkclear.v1/relay"
X25519_BYTES = 32
TAG_BYTES = 16
_KEY_BYTES = 32
_NONCE_BYTES = 12
#: Sealed size minus plaintext size: version byte, ephemeral key, GCM tag.
SEALED_OVERHEAD = 1 + X25519_BYTES + TAG_BYTES

#: Exclusive upper bound of a trade quantity (DESIGN §4: 1 <= q < 2^32).
MAX_QUANTITY = 1 << 32
_QUANTITY_BYTES = 8
_BLINDING_BYTES = 32
OPENING_BYTES = _QUANTITY_BYTES + _BLINDING_BYTES
SEALED_OPENING_BYTES = SEALED_OVERHEAD + OPENING_BYTES

_ZERO_SECRET = bytes(X25519_BYTES)


class RelayError(ZkclearError):
    """Sealing or opening failed.  The message never says why."""

    def __init__(self, message: str = "sealed message rejected"):
        super().__init__(message)


class OpeningError(ZkclearError, ValueError):
    """A trade opening is out of range or its bytes are not canonical."""


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------

def generate_relay_key() -> x25519.X25519PrivateKey:
    """A fresh X25519 relay key (OS randomness, via ``cryptography``)."""
    return x25519.X25519PrivateKey.generate()


def relay_public_bytes(key: x25519.X25519PrivateKey | x25519.X25519PublicKey) -> bytes:
    """Raw 32-byte X25519 public key."""
    if isinstance(key, x25519.X25519PrivateKey):
        key = key.public_key()
    if not isinstance(key, x25519.X25519PublicKey):
        raise RelayError("not an X25519 key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_relay_public_key(data: bytes | x25519.X25519PublicKey) -> x25519.X25519PublicKey:
    """An X25519 public key from its raw 32 bytes (or passed through)."""
    if isinstance(data, x25519.X25519PublicKey):
        return data
    if not isinstance(data, (bytes, bytearray)) or len(data) != X25519_BYTES:
        raise RelayError()
    try:
        return x25519.X25519PublicKey.from_public_bytes(bytes(data))
    except ValueError:
        raise RelayError() from None


# --------------------------------------------------------------------------
# Seal / open
# --------------------------------------------------------------------------

def _derive(shared: bytes, enc: bytes, recipient: bytes) -> tuple[bytes, bytes]:
    if hmac.compare_digest(shared, _ZERO_SECRET):
        raise RelayError()
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=_KEY_BYTES + _NONCE_BYTES,
        salt=None,
        info=RELAY_INFO_LABEL + enc + recipient,
    ).derive(shared)
    return okm[:_KEY_BYTES], okm[_KEY_BYTES:]


def _exchange(private: x25519.X25519PrivateKey, public: x25519.X25519PublicKey) -> bytes:
    try:
        return private.exchange(public)
    except ValueError:
        # cryptography refuses an all-zero result (small-order point).
        raise RelayError() from None


def seal(
    recipient_x25519_public: x25519.X25519PublicKey | bytes,
    plaintext: bytes,
    aad: bytes,
) -> bytes:
    """Encrypt ``plaintext`` to the recipient, bound to ``aad``.

    Returns ``version || ephemeral public key (32) || ciphertext || tag``.
    """
    if not isinstance(plaintext, (bytes, bytearray)) or not isinstance(aad, (bytes, bytearray)):
        raise RelayError("plaintext and aad must be bytes")
    recipient = load_relay_public_key(recipient_x25519_public)
    recipient_raw = relay_public_bytes(recipient)
    ephemeral = x25519.X25519PrivateKey.generate()
    enc = relay_public_bytes(ephemeral)
    key, nonce = _derive(_exchange(ephemeral, recipient), enc, recipient_raw)
    ciphertext = AESGCM(key).encrypt(nonce, bytes(plaintext), bytes(aad))
    return bytes([RELAY_VERSION]) + enc + ciphertext


def open_sealed(
    recipient_x25519_private: x25519.X25519PrivateKey,
    sealed: bytes,
    aad: bytes,
) -> bytes:
    """Decrypt a message made by :func:`seal`; any failure is :class:`RelayError`."""
    if not isinstance(recipient_x25519_private, x25519.X25519PrivateKey):
        raise RelayError()
    if not isinstance(sealed, (bytes, bytearray)) or not isinstance(aad, (bytes, bytearray)):
        raise RelayError()
    sealed = bytes(sealed)
    if len(sealed) < SEALED_OVERHEAD or sealed[0] != RELAY_VERSION:
        raise RelayError()
    enc = sealed[1 : 1 + X25519_BYTES]
    ephemeral = load_relay_public_key(enc)
    recipient_raw = relay_public_bytes(recipient_x25519_private)
    key, nonce = _derive(_exchange(recipient_x25519_private, ephemeral), enc, recipient_raw)
    try:
        return AESGCM(key).decrypt(nonce, sealed[1 + X25519_BYTES :], bytes(aad))
    except InvalidTag:
        raise RelayError() from None


# --------------------------------------------------------------------------
# Fixed-width trade openings
# --------------------------------------------------------------------------

def encode_opening(quantity: int, blinding: int) -> bytes:
    """40 bytes: u64 big-endian quantity (1 <= q < 2^32) || 32-byte blinding (0 < rho < r)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise OpeningError("quantity must be an int")
    if isinstance(blinding, bool) or not isinstance(blinding, int):
        raise OpeningError("blinding must be an int")
    if not 1 <= quantity < MAX_QUANTITY:
        raise OpeningError("quantity out of range [1, 2^32)")
    if not 0 < blinding < R:
        raise OpeningError("blinding out of range (0, r)")
    return quantity.to_bytes(_QUANTITY_BYTES, "big") + blinding.to_bytes(_BLINDING_BYTES, "big")


def decode_opening(data: bytes) -> tuple[int, int]:
    """Strict inverse of :func:`encode_opening`; raises :class:`OpeningError`."""
    if not isinstance(data, (bytes, bytearray)):
        raise OpeningError("opening must be bytes")
    if len(data) != OPENING_BYTES:
        raise OpeningError(f"opening must be exactly {OPENING_BYTES} bytes")
    quantity = int.from_bytes(data[:_QUANTITY_BYTES], "big")
    blinding = int.from_bytes(data[_QUANTITY_BYTES:], "big")
    if not 1 <= quantity < MAX_QUANTITY:
        raise OpeningError("quantity out of range [1, 2^32)")
    if not 0 < blinding < R:
        raise OpeningError("blinding out of range (0, r)")
    return quantity, blinding


def seal_opening(
    recipient_x25519_public: x25519.X25519PublicKey | bytes,
    quantity: int,
    blinding: int,
    aad: bytes,
) -> bytes:
    """Seal a trade opening; always :data:`SEALED_OPENING_BYTES` long."""
    return seal(recipient_x25519_public, encode_opening(quantity, blinding), aad)


def open_opening(
    recipient_x25519_private: x25519.X25519PrivateKey,
    sealed: bytes,
    aad: bytes,
) -> tuple[int, int]:
    """Open and strictly decode a sealed trade opening.

    A wrong length is rejected before decryption; a plaintext that decrypts
    but is not a canonical opening (only a sender can cause that) is
    :class:`OpeningError`.
    """
    if not isinstance(sealed, (bytes, bytearray)) or len(sealed) != SEALED_OPENING_BYTES:
        raise RelayError()
    return decode_opening(open_sealed(recipient_x25519_private, sealed, aad))
