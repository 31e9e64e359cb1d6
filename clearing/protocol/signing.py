"""Canonical, domain-separated Ed25519 signatures over ledger tuples.

Every member action in the ledger (trade, affirmation, withdrawal, deposit
tag), every operator statement and every node digest is a *tuple*: a kind
("trade", "affirmation", ...) and an ordered list of named fields.  What is
signed is never a JSON dump or a ``repr`` -- it is the canonical encoding
below, which maps each tuple to exactly one byte string and no two different
tuples to the same one.

Encoding (``encode_tuple``)::

    message = "zkclear.v1/" || kind || 0x00 || u32(len(fields)) || field*
    field   = u32(len(name)) || name || value
    value   = 0x00                                   None
            | 0x01 | 0x02                            False | True
            | 0x03 u32(n) magnitude[n]               int >= 0
            | 0x04 u32(n) magnitude[n]               int <  0
            | 0x05 u32(n) utf8[n]                    str
            | 0x06 u32(n) raw[n]                     bytes / bytearray
            | 0x07 u32(k) value*k                    list / tuple

``u32`` is 4 bytes big-endian.  An integer is sign-and-magnitude with the
*minimal* big-endian magnitude (zero has an empty magnitude and is always
"non-negative"), so every int has one encoding of any size.  ``bool`` is
tested before ``int`` (``True`` is not ``1``).  Lists and tuples are the same
logical value (a sequence) and encode identically; nesting is bounded
(``MAX_DEPTH``).  Every variable-length item carries its length and every
value its type tag, so ``("ab", "c")`` and ``("a", "bc")`` differ, as do
``1``, ``"1"`` and ``b"1"``.

Domain separation: the message starts with the literal ASCII domain string
``zkclear.v1/<kind>`` terminated by NUL; ``kind`` and field names are
restricted to ``[A-Za-z0-9][A-Za-z0-9._-]{0,63}`` (ASCII, no NUL,
case-sensitive), so a signature on one kind can never verify as another, nor
as any other protocol's message (an X.509 TBS certificate, for instance,
starts with 0x30).  Field names are part of the
message and must be unique within a tuple.

Errors (flat, in this module):

* :class:`SignatureError` -- a signature does not verify (wrong key, wrong
  message, wrong length).  One generic message; it never says which.
* :class:`EncodingError` -- the caller passed something that is not a
  well-formed tuple (unsupported type, bad kind/field name, duplicate field).
* :class:`KeyFormatError` -- key bytes, PEM or a key file are malformed, of the
  wrong algorithm, or a private key file is readable by group/others.

Key material: Ed25519 keys come from ``cryptography`` (OS randomness).  A raw
32-byte Ed25519 public key is a party's identity id.  Private keys are stored
as unencrypted PKCS#8 PEM in files created with mode 0600 (development PKI;
see ``clearing.services.pki``); loading refuses a private key file that group or others
may read, as OpenSSH does.

The X25519 key binding (``sign_kem_key``) is an ordinary signed tuple of kind
``kem-key`` over the owner's name, the algorithm and the raw X25519 public
key: whoever trusts a party's Ed25519 key can trust the key the opening relay
(``clearing.protocol.relay``) encrypts to.
"""
from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from typing import Union

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from zkp.errors import ZkclearError

__all__ = [
    "DOMAIN_PREFIX",
    "SIGNATURE_BYTES",
    "PUBLIC_KEY_BYTES",
    "MAX_DEPTH",
    "SignatureError",
    "EncodingError",
    "KeyFormatError",
    "encode_tuple",
    "sign",
    "verify",
    "generate_identity_key",
    "public_key_bytes",
    "load_public_key",
    "private_key_to_pem",
    "load_private_key_pem",
    "write_secret_file",
    "read_secret_file",
    "write_private_key",
    "read_private_key",
    "KEM_KEY_KIND",
    "sign_kem_key",
    "verify_kem_key",
]

#: Every signed message starts with this ASCII prefix, then the kind, then NUL.
DOMAIN_PREFIX = b"zkclear.v1/"
SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32
#: Deepest list nesting accepted by the encoder (a guard, not a protocol need).
MAX_DEPTH = 16
#: Kind of the signed X25519 key binding.
KEM_KEY_KIND = "kem-key"

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_U32_MAX = 0xFFFFFFFF

_TAG_NONE = b"\x00"
_TAG_FALSE = b"\x01"
_TAG_TRUE = b"\x02"
_TAG_INT_POS = b"\x03"
_TAG_INT_NEG = b"\x04"
_TAG_STR = b"\x05"
_TAG_BYTES = b"\x06"
_TAG_SEQ = b"\x07"


class SignatureError(ZkclearError):
    """A signature did not verify.  The message never says why."""

    def __init__(self, message: str = "signature verification failed"):
        super().__init__(message)


class EncodingError(ZkclearError, ValueError):
    """The value is not a well-formed signable tuple."""


class KeyFormatError(ZkclearError, ValueError):
    """Key bytes, PEM or a key file are malformed or unsafe."""


# a recursive alias: the string forward reference needs Union (PEP 604 "|" cannot name it)
Value = Union[None, bool, int, str, bytes, bytearray, Sequence["Value"]]  # noqa: UP007
Fields = Sequence[tuple[str, Value]]


# --------------------------------------------------------------------------
# Canonical encoding
# --------------------------------------------------------------------------

def _u32(n: int) -> bytes:
    if n > _U32_MAX:
        raise EncodingError("item too long to encode")
    return n.to_bytes(4, "big")


def _check_name(what: str, name: object) -> bytes:
    if not isinstance(name, str) or _NAME_RE.fullmatch(name) is None:
        raise EncodingError(
            f"{what} must match [A-Za-z0-9][A-Za-z0-9._-]{{0,63}}, got {name!r}"
        )
    return name.encode("ascii")


def _encode_value(value: object, out: list[bytes], depth: int) -> None:
    if value is None:
        out.append(_TAG_NONE)
    elif isinstance(value, bool):
        out.append(_TAG_TRUE if value else _TAG_FALSE)
    elif isinstance(value, int):
        magnitude = abs(value)
        raw = magnitude.to_bytes((magnitude.bit_length() + 7) // 8, "big")
        out.append(_TAG_INT_NEG if value < 0 else _TAG_INT_POS)
        out.append(_u32(len(raw)))
        out.append(raw)
    elif isinstance(value, str):
        try:
            raw = value.encode("utf-8")
        except UnicodeEncodeError:
            raise EncodingError("string is not valid Unicode (lone surrogate)") from None
        out.append(_TAG_STR)
        out.append(_u32(len(raw)))
        out.append(raw)
    elif isinstance(value, (bytes, bytearray)):
        out.append(_TAG_BYTES)
        out.append(_u32(len(value)))
        out.append(bytes(value))
    elif isinstance(value, (list, tuple)):
        if depth >= MAX_DEPTH:
            raise EncodingError(f"nesting deeper than {MAX_DEPTH}")
        out.append(_TAG_SEQ)
        out.append(_u32(len(value)))
        for item in value:
            _encode_value(item, out, depth + 1)
    else:
        raise EncodingError(f"cannot encode a value of type {type(value).__name__}")


def encode_tuple(kind: str, fields: Fields) -> bytes:
    """The canonical, domain-separated encoding of a ledger tuple.

    ``fields`` is an ordered sequence of ``(name, value)`` pairs with unique
    names; order matters (it is part of the message).
    """
    kind_bytes = _check_name("kind", kind)
    if isinstance(fields, (str, bytes, bytearray)) or not isinstance(fields, Sequence):
        raise EncodingError("fields must be a sequence of (name, value) pairs")
    out = [DOMAIN_PREFIX, kind_bytes, b"\x00", _u32(len(fields))]
    seen: set[str] = set()
    for pair in fields:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise EncodingError("each field must be a (name, value) pair")
        name, value = pair
        name_bytes = _check_name("field name", name)
        if name in seen:
            raise EncodingError(f"duplicate field name {name!r}")
        seen.add(name)
        out.append(_u32(len(name_bytes)))
        out.append(name_bytes)
        _encode_value(value, out, 0)
    return b"".join(out)


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------

def generate_identity_key() -> ed25519.Ed25519PrivateKey:
    """A fresh Ed25519 identity key (OS randomness, via ``cryptography``)."""
    return ed25519.Ed25519PrivateKey.generate()


def public_key_bytes(
    key: ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey,
) -> bytes:
    """The raw 32-byte public key: a party's identity id."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        key = key.public_key()
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise KeyFormatError("not an Ed25519 key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_public_key(data: bytes | ed25519.Ed25519PublicKey) -> ed25519.Ed25519PublicKey:
    """An Ed25519 public key from its raw 32 bytes (or passed through)."""
    if isinstance(data, ed25519.Ed25519PublicKey):
        return data
    if not isinstance(data, (bytes, bytearray)) or len(data) != PUBLIC_KEY_BYTES:
        raise KeyFormatError("an Ed25519 public key is exactly 32 raw bytes")
    try:
        return ed25519.Ed25519PublicKey.from_public_bytes(bytes(data))
    except ValueError:
        raise KeyFormatError("invalid Ed25519 public key") from None


def private_key_to_pem(
    key: ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey,
) -> bytes:
    """Unencrypted PKCS#8 PEM (for a 0600 file; development PKI)."""
    if not isinstance(key, (ed25519.Ed25519PrivateKey, x25519.X25519PrivateKey)):
        raise KeyFormatError("expected an Ed25519 or X25519 private key")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key_pem(data: bytes, expected: type = ed25519.Ed25519PrivateKey):
    """Parse an unencrypted PKCS#8 PEM private key of the ``expected`` type."""
    try:
        key = serialization.load_pem_private_key(bytes(data), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyFormatError("not an unencrypted PEM private key") from None
    if not isinstance(key, expected):
        raise KeyFormatError(f"PEM key is not a {expected.__name__}")
    return key


def write_secret_file(path: str | os.PathLike, data: bytes, *, overwrite: bool = False) -> None:
    """Write ``data`` to a new file with mode 0600.

    The file is created with ``O_EXCL`` and mode 0600 from the start (never
    briefly world-readable).  With ``overwrite`` an existing file is unlinked
    first; without it an existing file raises ``FileExistsError``.
    """
    path = os.fspath(path)
    if overwrite:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def read_secret_file(path: str | os.PathLike) -> bytes:
    """Read a private key file, refusing one that group or others may access."""
    path = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise KeyFormatError(f"cannot open private key file {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeyFormatError(f"private key file {path} is not a regular file")
        if st.st_mode & 0o077:
            raise KeyFormatError(
                f"private key file {path} is accessible by group/others "
                f"(mode {stat.S_IMODE(st.st_mode):04o}); expected 0600"
            )
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_private_key(
    path: str | os.PathLike,
    key: ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey,
    *,
    overwrite: bool = False,
) -> None:
    """Store a private key as PKCS#8 PEM in a 0600 file."""
    write_secret_file(path, private_key_to_pem(key), overwrite=overwrite)


def read_private_key(path: str | os.PathLike, expected: type = ed25519.Ed25519PrivateKey):
    """Load a private key written by :func:`write_private_key`."""
    return load_private_key_pem(read_secret_file(path), expected)


# --------------------------------------------------------------------------
# Sign / verify
# --------------------------------------------------------------------------

def sign(private_key: ed25519.Ed25519PrivateKey, kind: str, fields: Fields) -> bytes:
    """Ed25519 signature (64 bytes) over ``encode_tuple(kind, fields)``."""
    if not isinstance(private_key, ed25519.Ed25519PrivateKey):
        raise KeyFormatError("signing needs an Ed25519 private key")
    return private_key.sign(encode_tuple(kind, fields))


def verify(
    public_key: ed25519.Ed25519PublicKey | bytes,
    kind: str,
    fields: Fields,
    signature: bytes,
) -> None:
    """Check a signature made by :func:`sign`; raise :class:`SignatureError`.

    ``public_key`` is an ``Ed25519PublicKey`` or its raw 32 bytes (a key of
    the wrong length or type is :class:`KeyFormatError`; fields that cannot be
    encoded are :class:`EncodingError` -- both are caller errors, not
    signature failures).
    """
    key = load_public_key(public_key)
    message = encode_tuple(kind, fields)
    if not isinstance(signature, (bytes, bytearray)) or len(signature) != SIGNATURE_BYTES:
        raise SignatureError()
    try:
        key.verify(bytes(signature), message)
    except InvalidSignature:
        raise SignatureError() from None


# --------------------------------------------------------------------------
# Signed X25519 key binding
# --------------------------------------------------------------------------

def _x25519_raw(key: x25519.X25519PublicKey | bytes) -> bytes:
    if isinstance(key, x25519.X25519PublicKey):
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if isinstance(key, (bytes, bytearray)) and len(key) == 32:
        return bytes(key)
    raise KeyFormatError("an X25519 public key is exactly 32 raw bytes")


def _kem_fields(owner_name: str, x25519_pub: x25519.X25519PublicKey | bytes) -> list:
    if not isinstance(owner_name, str) or not owner_name:
        raise EncodingError("owner name must be a non-empty string")
    return [("owner", owner_name), ("alg", "x25519"), ("public-key", _x25519_raw(x25519_pub))]


def sign_kem_key(
    ed_priv: ed25519.Ed25519PrivateKey,
    owner_name: str,
    x25519_pub: x25519.X25519PublicKey | bytes,
) -> bytes:
    """``owner_name``'s Ed25519 identity vouches for its X25519 relay key."""
    return sign(ed_priv, KEM_KEY_KIND, _kem_fields(owner_name, x25519_pub))


def verify_kem_key(
    ed_pub: ed25519.Ed25519PublicKey | bytes,
    owner_name: str,
    x25519_pub: x25519.X25519PublicKey | bytes,
    sig: bytes,
) -> None:
    """Check a binding made by :func:`sign_kem_key`; raise :class:`SignatureError`."""
    verify(ed_pub, KEM_KEY_KIND, _kem_fields(owner_name, x25519_pub), sig)
