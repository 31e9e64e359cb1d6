"""Development PKI for ``zkclear init``: a CA, per-party TLS certificates,
Ed25519 identity keys, X25519 relay keys, and caller identity for gRPC.

Parties.  Every node (``clearing``, ``prover``, ``auditor``), every member and
the operator is a *party* with a role (``node`` / ``member`` / ``operator``) and
a name.  Names match ``[A-Za-z0-9][A-Za-z0-9_-]{0,62}`` and are unique across
all roles (a name alone selects a party's files).  Each party gets:

* an **Ed25519 identity key** -- it signs the party's ledger tuples
  (``clearing.protocol.signing``); its raw 32-byte public key is the party's id;
* a **TLS key (ECDSA P-256) and certificate** signed by the CA: subject
  ``CN=<role>/<name>, O=zkclear``; SAN ``URI:zkclear://<role>/<name>``,
  ``DNS:localhost``, ``IP:127.0.0.1``; EKU serverAuth + clientAuth; and the
  identity public key in a non-critical extension (below);
* an **X25519 relay key** (``clearing.protocol.relay``) with its binding signature by
  the identity key (``clearing.protocol.signing.sign_kem_key``).

Why the TLS key is not the Ed25519 identity key.  gRPC's TLS stack
(BoringSSL, grpcio 1.85.1) refuses Ed25519 certificates in a handshake --
``NO_COMMON_SIGNATURE_ALGORITHMS``: Ed25519 is not among its default
signature algorithms and grpcio offers no way to enable it.  The tests pin
this with a real handshake.  So TLS uses ECDSA P-256 (CA and leaves), and the
certificate *binds* the Ed25519 identity key in a private extension::

    OID 2.25.8260785529360078305255858309452796449   (ED25519_IDENTITY_OID)
    extnValue = DER OCTET STRING of the raw 32-byte Ed25519 public key

The ``2.25.<UUID>`` arc (ITU-T X.667) needs no registration.  A separate
extension was chosen over encoding the key into the SAN URI so that the URI
stays a clean identifier (exactly one ``zkclear://`` URI per certificate,
what gRPC reports as the peer URI) and the key is a typed binary value, not
text to parse.  Because the CA signs the certificate, the CA vouches for
role, name *and* identity key together; the relay key is vouched for by the
identity key.  Trust chain: CA -> certificate -> Ed25519 -> X25519.

Files (paths in the config are relative to the directory)::

    zkclear.json                   config + roster (public keys in hex)
    ca/ca.crt   ca/ca.key          CA certificate and key (0600)
    <role>/<name>/tls.crt          certificate
    <role>/<name>/tls.key          TLS private key, PKCS#8 PEM (0600)
    <role>/<name>/identity.key     Ed25519 private key, PKCS#8 PEM (0600)
    <role>/<name>/relay.key        X25519 private key, PKCS#8 PEM (0600)

Private keys are created 0600 from the start and key directories 0700;
loading refuses key files that group/others may read.  ``init_pki`` refuses a
non-empty directory unless ``force=True``, which replaces the files it writes
(it deletes nothing else).  Each party's private keys live in that party's
directory ``<role>/<name>/`` and nowhere else (the CA key in ``ca/``), so a
party's directory can be handed to it alone; the services' data directories
(``clearing.services.config``) hold no key.  This is a *development* PKI:
keys are unencrypted on disk and one tree holds every party's directory.

Caller identity.  Servers use ``require_client_auth=True``, so TLS itself
verifies the client chain to our CA.  :func:`peer_identity` then reads the
verified peer certificate from the servicer context (``auth_context()`` key
``x509_pem_cert``; gRPC also reports ``x509_common_name``,
``x509_subject_alternative_name`` and ``peer_uri``) and returns
``(role, name)``; it requires exactly one ``zkclear://`` SAN URI, a CN that
agrees with it, and a well-formed identity extension, and raises
:class:`AuthError` otherwise.
"""
from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from clearing.protocol import relay, signing
from zkp.errors import ZkclearError

__all__ = [
    "ROLES",
    "NODE_NAMES",
    "CONFIG_FILE",
    "CONFIG_VERSION",
    "ED25519_IDENTITY_OID",
    "URI_SCHEME",
    "PkiError",
    "AuthError",
    "CertIdentity",
    "Party",
    "Roster",
    "Identity",
    "init_pki",
    "read_json",
    "load_config",
    "load_identity",
    "certificate_identity",
    "peer_certificate_identity",
    "peer_identity",
    "DaskTls",
    "dask_tls",
]

ROLES = ("node", "member", "operator")
NODE_NAMES = ("clearing", "prover", "auditor")
CONFIG_FILE = "zkclear.json"
CONFIG_VERSION = 1
URI_SCHEME = "zkclear"
#: Private X.509 extension carrying the raw Ed25519 identity public key.
ED25519_IDENTITY_OID = x509.ObjectIdentifier("2.25.8260785529360078305255858309452796449")

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
_URI_RE = re.compile(r"zkclear://(node|member|operator)/([A-Za-z0-9][A-Za-z0-9_-]{0,62})")
_MAX_VALIDITY_DAYS = 3650
_CLOCK_SKEW = datetime.timedelta(minutes=5)


class PkiError(ZkclearError):
    """The PKI directory, config or a key file is missing, malformed or
    inconsistent, or ``init_pki`` was asked to do something unsafe."""


class AuthError(ZkclearError):
    """The gRPC caller has no usable zkclear certificate identity."""


# --------------------------------------------------------------------------
# Certificate identity
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class CertIdentity:
    """What a certificate says about its holder."""

    role: str
    name: str
    ed25519_public: bytes

    def __repr__(self) -> str:
        return f"CertIdentity(role={self.role!r}, name={self.name!r}, ed25519={self.ed25519_public.hex()})"


def _identity_extension_value(ed_pub: bytes) -> bytes:
    # DER OCTET STRING, short-form length (32 < 128).
    return b"\x04\x20" + ed_pub


def certificate_identity(cert: x509.Certificate | bytes) -> CertIdentity:
    """Role, name and Ed25519 identity key from a zkclear certificate.

    Does NOT verify the chain (TLS or :func:`load_config` does that); it only
    parses, strictly.  Raises :class:`AuthError`.
    """
    if isinstance(cert, (bytes, bytearray)):
        try:
            cert = x509.load_pem_x509_certificate(bytes(cert))
        except ValueError:
            raise AuthError("peer certificate is not a PEM X.509 certificate") from None
    if not isinstance(cert, x509.Certificate):
        raise AuthError("not an X.509 certificate")
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = [u for u in san.get_values_for_type(x509.UniformResourceIdentifier)
                if u.lower().startswith(URI_SCHEME + ":")]
        ext = cert.extensions.get_extension_for_oid(ED25519_IDENTITY_OID).value
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except (x509.ExtensionNotFound, ValueError):
        raise AuthError("certificate lacks the zkclear identity extensions") from None
    if len(uris) != 1:
        raise AuthError("certificate must carry exactly one zkclear:// URI")
    match = _URI_RE.fullmatch(uris[0])
    if match is None:
        raise AuthError("malformed zkclear:// URI in certificate")
    role, name = match.group(1), match.group(2)
    if len(cns) != 1 or cns[0].value != f"{role}/{name}":
        raise AuthError("certificate common name does not match its zkclear:// URI")
    raw = getattr(ext, "value", None)
    if not isinstance(raw, bytes) or len(raw) != 34 or raw[:2] != b"\x04\x20":
        raise AuthError("malformed Ed25519 identity extension")
    return CertIdentity(role=role, name=name, ed25519_public=raw[2:])


def peer_certificate_identity(grpc_context: Any) -> CertIdentity:
    """The verified caller's :class:`CertIdentity` in a gRPC servicer context."""
    try:
        auth = grpc_context.auth_context()
    except Exception:  # noqa: BLE001 - any failure to read it means "no identity"
        raise AuthError("no authentication context") from None
    if not isinstance(auth, dict):
        raise AuthError("no authentication context")
    pems = auth.get("x509_pem_cert") or []
    if len(pems) != 1 or not isinstance(pems[0], (bytes, bytearray)):
        raise AuthError("caller presented no client certificate")
    return certificate_identity(bytes(pems[0]))


def peer_identity(grpc_context: Any) -> tuple[str, str]:
    """``(role, name)`` of the caller, from its (TLS-verified) client certificate."""
    ident = peer_certificate_identity(grpc_context)
    return ident.role, ident.name


# --------------------------------------------------------------------------
# Roster (config)
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Party:
    """A roster entry: public facts only."""

    role: str
    name: str
    ed25519_public: bytes
    x25519_public: bytes
    x25519_binding: bytes
    cert_pem: bytes = field(repr=False)

    def __repr__(self) -> str:
        return (f"Party(role={self.role!r}, name={self.name!r}, "
                f"ed25519={self.ed25519_public.hex()}, x25519={self.x25519_public.hex()})")

    def verify_binding(self) -> None:
        """Re-check the X25519 binding signature (raises ``SignatureError``)."""
        signing.verify_kem_key(self.ed25519_public, self.name, self.x25519_public, self.x25519_binding)


@dataclass(frozen=True)
class Roster:
    """Every party of a PKI directory, checked against the CA."""

    directory: Path
    ca_cert_pem: bytes = field(repr=False)
    parties: tuple[Party, ...]

    def party(self, name: str) -> Party:
        for p in self.parties:
            if p.name == name:
                return p
        raise PkiError(f"no party named {name!r}")

    def by_role(self, role: str) -> tuple[Party, ...]:
        return tuple(p for p in self.parties if p.role == role)

    @property
    def members(self) -> tuple[Party, ...]:
        return self.by_role("member")

    def by_ed25519(self, public: bytes) -> Party:
        for p in self.parties:
            if p.ed25519_public == public:
                return p
        raise PkiError("no party with that Ed25519 key")


def _rel_path(directory: Path, rel: object) -> Path:
    """Resolve a config path, refusing anything outside the directory."""
    if not isinstance(rel, str) or not rel or os.path.isabs(rel):
        raise PkiError("config paths must be non-empty relative paths")
    base = directory.resolve()
    path = (base / rel).resolve()
    if base != path and base not in path.parents:
        raise PkiError(f"config path {rel!r} escapes the PKI directory")
    return path


def _read_public(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PkiError(f"cannot read {path}: {exc.strerror}") from None


def _hex(entry: dict, key: str, length: int) -> bytes:
    value = entry.get(key)
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else None
    except ValueError:
        raw = None
    if raw is None or len(raw) != length:
        raise PkiError(f"config field {key!r} must be {length} bytes of hex")
    return raw


def read_json(path: Path, hint: str = ""):
    """The JSON value in ``path``; PkiError naming the file when it cannot
    be read (``hint`` appended) or is not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PkiError(f"cannot read {path}: {exc.strerror}{hint}") from None
    except ValueError:
        raise PkiError(f"{path} is not valid JSON") from None


def _read_config(directory: Path) -> dict:
    path = directory / CONFIG_FILE
    data = read_json(path)
    if not isinstance(data, dict) or data.get("version") != CONFIG_VERSION:
        raise PkiError(f"{path} is not a version-{CONFIG_VERSION} zkclear config")
    if not isinstance(data.get("parties"), list) or not isinstance(data.get("ca"), dict):
        raise PkiError(f"{path} lacks 'ca' or 'parties'")
    return data


def _check_issued_by(cert: x509.Certificate, ca: x509.Certificate, when: datetime.datetime) -> None:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise PkiError("certificate is not issued by the configured CA") from None
    if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
        raise PkiError("certificate is outside its validity period")


def load_config(directory: str | os.PathLike) -> Roster:
    """The roster of a PKI directory.

    Every entry is checked: its certificate is issued by the CA and names the
    same role, name and Ed25519 key as the config, and its X25519 binding
    signature verifies.  Raises :class:`PkiError` (or ``SignatureError`` for a
    bad binding).
    """
    directory = Path(directory)
    data = _read_config(directory)
    ca_pem = _read_public(_rel_path(directory, data["ca"].get("cert")))
    try:
        ca_cert = x509.load_pem_x509_certificate(ca_pem)
    except ValueError:
        raise PkiError("CA certificate is not PEM X.509") from None
    now = datetime.datetime.now(datetime.UTC)
    parties = []
    seen: set[str] = set()
    for entry in data["parties"]:
        if not isinstance(entry, dict):
            raise PkiError("config party entries must be objects")
        role, name = entry.get("role"), entry.get("name")
        if role not in ROLES or not isinstance(name, str) or _NAME_RE.fullmatch(name) is None:
            raise PkiError(f"bad role/name in config: {role!r}/{name!r}")
        if name in seen:
            raise PkiError(f"duplicate party name {name!r} in config")
        if entry.get("uri", f"{URI_SCHEME}://{role}/{name}") != f"{URI_SCHEME}://{role}/{name}":
            raise PkiError(f"config uri of {name!r} does not match its role and name")
        seen.add(name)
        ed_pub = _hex(entry, "ed25519_public", 32)
        x_pub = _hex(entry, "x25519_public", 32)
        binding = _hex(entry, "x25519_binding", 64)
        cert_pem = _read_public(_rel_path(directory, entry.get("cert")))
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
        except ValueError:
            raise PkiError(f"certificate of {name!r} is not PEM X.509") from None
        _check_issued_by(cert, ca_cert, now)
        try:
            ident = certificate_identity(cert)
        except AuthError as exc:
            raise PkiError(f"certificate of {name!r}: {exc}") from None
        if (ident.role, ident.name, ident.ed25519_public) != (role, name, ed_pub):
            raise PkiError(f"certificate of {name!r} does not match its config entry")
        party = Party(role, name, ed_pub, x_pub, binding, cert_pem)
        party.verify_binding()
        parties.append(party)
    return Roster(directory=directory, ca_cert_pem=ca_pem, parties=tuple(parties))


# --------------------------------------------------------------------------
# Own identity
# --------------------------------------------------------------------------

class Identity:
    """One party's credentials, loaded from disk.  ``repr`` shows no secret."""

    __slots__ = (
        "role", "name", "cert_pem", "ca_cert_pem",
        "_tls_key_pem", "_ed25519_private", "_x25519_private",
    )

    def __init__(self, role: str, name: str, cert_pem: bytes, tls_key_pem: bytes,
                 ca_cert_pem: bytes, ed25519_private: ed25519.Ed25519PrivateKey,
                 x25519_private: x25519.X25519PrivateKey):
        self.role = role
        self.name = name
        self.cert_pem = cert_pem
        self.ca_cert_pem = ca_cert_pem
        self._tls_key_pem = tls_key_pem
        self._ed25519_private = ed25519_private
        self._x25519_private = x25519_private

    @property
    def tls_key_pem(self) -> bytes:
        return self._tls_key_pem

    @property
    def ed25519_private(self) -> ed25519.Ed25519PrivateKey:
        return self._ed25519_private

    @property
    def x25519_private(self) -> x25519.X25519PrivateKey:
        return self._x25519_private

    @property
    def ed25519_public(self) -> bytes:
        return signing.public_key_bytes(self._ed25519_private)

    @property
    def x25519_public(self) -> bytes:
        return relay.relay_public_bytes(self._x25519_private)

    def server_credentials(self) -> grpc.ServerCredentials:
        """Mutual TLS server credentials: clients must present a CA-signed cert."""
        return grpc.ssl_server_credentials(
            [(self._tls_key_pem, self.cert_pem)],
            root_certificates=self.ca_cert_pem,
            require_client_auth=True,
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Mutual TLS channel credentials: trust only our CA, present our cert."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_cert_pem,
            private_key=self._tls_key_pem,
            certificate_chain=self.cert_pem,
        )

    def __repr__(self) -> str:
        return f"Identity(role={self.role!r}, name={self.name!r}, ed25519={self.ed25519_public.hex()})"

    def __reduce__(self):
        raise TypeError("Identity holds private keys and is not picklable")


def _tls_public_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_identity(directory: str | os.PathLike, name: str) -> Identity:
    """Load party ``name``'s keys and certificates, checking they all match."""
    directory = Path(directory)
    roster = load_config(directory)
    party = roster.party(name)
    data = _read_config(directory)
    entry = next(e for e in data["parties"] if e.get("name") == name)

    def secret(key: str) -> bytes:
        try:
            return signing.read_secret_file(_rel_path(directory, entry.get(key)))
        except signing.KeyFormatError as exc:
            raise PkiError(str(exc)) from None

    tls_key_pem = secret("tls_key")
    try:
        ed_priv = signing.load_private_key_pem(secret("identity_key"), ed25519.Ed25519PrivateKey)
        x_priv = signing.load_private_key_pem(secret("relay_key"), x25519.X25519PrivateKey)
        tls_key = signing.load_private_key_pem(tls_key_pem, ec.EllipticCurvePrivateKey)
    except signing.KeyFormatError as exc:
        raise PkiError(f"key of {name!r}: {exc}") from None
    cert = x509.load_pem_x509_certificate(party.cert_pem)
    if _tls_public_der(tls_key.public_key()) != _tls_public_der(cert.public_key()):
        raise PkiError(f"TLS key of {name!r} does not match its certificate")
    if signing.public_key_bytes(ed_priv) != party.ed25519_public:
        raise PkiError(f"identity key of {name!r} does not match its certificate")
    if relay.relay_public_bytes(x_priv) != party.x25519_public:
        raise PkiError(f"relay key of {name!r} does not match the config")
    return Identity(party.role, party.name, party.cert_pem, tls_key_pem,
                    roster.ca_cert_pem, ed_priv, x_priv)


# --------------------------------------------------------------------------
# init
# --------------------------------------------------------------------------

def _ski(public_key) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(public_key)


def _make_ca(now: datetime.datetime, days: int, cn: str = "zkclear development CA"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "zkclear"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(_ski(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_leaf(ca_key, ca_cert: x509.Certificate, role: str, name: str,
               ed_pub: bytes, now: datetime.datetime, days: int):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "zkclear"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{role}/{name}"),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([
            x509.UniformResourceIdentifier(f"{URI_SCHEME}://{role}/{name}"),
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]), critical=False)
        .add_extension(_ski(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(
            x509.UnrecognizedExtension(ED25519_IDENTITY_OID, _identity_extension_value(ed_pub)),
            critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem_ec_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_public(path: Path, data: bytes, overwrite: bool) -> None:
    if overwrite:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _mkdir_private(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _check_names(members, nodes, operator) -> list[tuple[str, str]]:
    for what, seq in (("members", members), ("nodes", nodes)):
        if isinstance(seq, (str, bytes)) or not all(isinstance(x, str) for x in seq):
            raise PkiError(f"{what} must be a list of names")
    if not isinstance(operator, str):
        raise PkiError("operator must be a name")
    parties = ([("node", n) for n in nodes] + [("member", m) for m in members]
               + [("operator", operator)])
    seen: set[str] = set()
    for role, name in parties:
        if _NAME_RE.fullmatch(name) is None:
            raise PkiError(f"invalid {role} name {name!r}: use [A-Za-z0-9][A-Za-z0-9_-]{{0,62}}")
        if name in seen:
            raise PkiError(f"party name {name!r} used twice (names are unique across roles)")
        seen.add(name)
    return parties


def init_pki(
    directory: str | os.PathLike,
    members: list[str],
    *,
    nodes: tuple[str, ...] | list[str] = NODE_NAMES,
    operator: str = "operator",
    validity_days: int = 365,
    force: bool = False,
) -> Roster:
    """Create the development PKI in ``directory`` and return its roster.

    Refuses (:class:`PkiError`) a non-empty directory unless ``force``.

    One linear procedure (CA, then each party's keys and certificate, then the roster), kept
    together so the order of what is written is visible in one place.
    """
    directory = Path(directory)
    parties = _check_names(members, nodes, operator)
    if isinstance(validity_days, bool) or not isinstance(validity_days, int) \
            or not 1 <= validity_days <= _MAX_VALIDITY_DAYS:
        raise PkiError(f"validity_days must be an int in [1, {_MAX_VALIDITY_DAYS}]")
    if directory.exists():
        if not directory.is_dir():
            raise PkiError(f"{directory} exists and is not a directory")
        if any(directory.iterdir()) and not force:
            raise PkiError(f"{directory} is not empty; pass force=True to overwrite")
    else:
        _mkdir_private(directory)

    now = datetime.datetime.now(datetime.UTC)
    ca_key, ca_cert = _make_ca(now, validity_days)
    _mkdir_private(directory / "ca")
    signing.write_secret_file(directory / "ca" / "ca.key", _pem_ec_key(ca_key), overwrite=force)
    _write_public(directory / "ca" / "ca.crt", _pem_cert(ca_cert), force)

    entries = []
    for role, name in parties:
        rel = f"{role}/{name}"
        _mkdir_private(directory / role)
        pdir = directory / role / name
        _mkdir_private(pdir)
        ed_priv = signing.generate_identity_key()
        ed_pub = signing.public_key_bytes(ed_priv)
        x_priv = relay.generate_relay_key()
        x_pub = relay.relay_public_bytes(x_priv)
        binding = signing.sign_kem_key(ed_priv, name, x_pub)
        tls_key, cert = _make_leaf(ca_key, ca_cert, role, name, ed_pub, now, validity_days)
        signing.write_secret_file(pdir / "tls.key", _pem_ec_key(tls_key), overwrite=force)
        signing.write_private_key(pdir / "identity.key", ed_priv, overwrite=force)
        signing.write_private_key(pdir / "relay.key", x_priv, overwrite=force)
        _write_public(pdir / "tls.crt", _pem_cert(cert), force)
        entries.append({
            "role": role,
            "name": name,
            "uri": f"{URI_SCHEME}://{role}/{name}",
            "cert": f"{rel}/tls.crt",
            "tls_key": f"{rel}/tls.key",
            "identity_key": f"{rel}/identity.key",
            "relay_key": f"{rel}/relay.key",
            "ed25519_public": ed_pub.hex(),
            "x25519_public": x_pub.hex(),
            "x25519_binding": binding.hex(),
        })

    config = {
        "version": CONFIG_VERSION,
        "ca": {"cert": "ca/ca.crt", "key": "ca/ca.key"},
        "identity_extension_oid": ED25519_IDENTITY_OID.dotted_string,
        "parties": entries,
    }
    _write_public(directory / CONFIG_FILE,
                  (json.dumps(config, indent=2) + "\n").encode("utf-8"), force)
    return load_config(directory)


# --------------------------------------------------------------------------
# The prover's Dask cluster (issue 13 §3)
# --------------------------------------------------------------------------

#: Where the prover's Dask TLS files live: inside the prover's own party
#: directory, since the Dask cluster is inside the prover's trust domain.
DASK_DIR = "node/prover/dask"
_DASK_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")


@dataclass(frozen=True)
class DaskTls:
    """Paths of one Dask TLS identity: the Dask CA certificate, a leaf
    certificate and its key (PEM; the key 0600)."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _make_dask_leaf(ca_key, ca_cert: x509.Certificate, name: str, hosts: tuple[str, ...],
                    now: datetime.datetime, days: int):
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    for h in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "zkclear"),
                                 x509.NameAttribute(NameOID.COMMON_NAME, f"dask/{name}")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def dask_tls(directory: str | os.PathLike, name: str = "cluster", *, hosts: tuple[str, ...] = (),
             validity_days: int = 365) -> DaskTls:
    """The TLS files of the prover's Dask cluster, created on first use.

    Dask (``distributed``) checks only that a peer's certificate chains to
    its CA file (no host name, no identity), so trusting the development CA
    of :func:`init_pki` would let *every* party -- any member's certificate
    -- connect to the scheduler, run code on the workers and read the
    openings they hold.  The cluster therefore gets a CA of its own (ECDSA
    P-256, ``CN=zkclear prover Dask CA``) kept in the prover's directory
    ``node/prover/dask/`` (``ca.crt``, ``ca.key`` 0600), and leaves
    ``<name>.crt``/``<name>.key`` (``CN=dask/<name>``, SAN localhost,
    127.0.0.1 and ``hosts``, serverAuth + clientAuth) for the scheduler, the
    workers and the prover's client -- one leaf may serve all three, or one
    per worker host.  Neither side's certificates are accepted by the
    other's servers: gRPC trusts only the development CA.  An existing leaf
    is returned as it is (``hosts`` then does not apply)."""
    if not isinstance(name, str) or _DASK_NAME_RE.fullmatch(name) is None or name == "ca":
        raise PkiError(f"invalid Dask certificate name {name!r}")
    if isinstance(validity_days, bool) or not isinstance(validity_days, int) \
            or not 1 <= validity_days <= _MAX_VALIDITY_DAYS:
        raise PkiError(f"validity_days must be an int in [1, {_MAX_VALIDITY_DAYS}]")
    base = Path(directory) / DASK_DIR
    for d in (base.parent.parent, base.parent, base):
        _mkdir_private(d)
    ca_crt, ca_key_path = base / "ca.crt", base / "ca.key"
    now = datetime.datetime.now(datetime.UTC)
    if not ca_crt.exists():
        ca_key, ca_cert = _make_ca(now, validity_days, "zkclear prover Dask CA")
        signing.write_secret_file(ca_key_path, _pem_ec_key(ca_key), overwrite=True)
        _write_public(ca_crt, _pem_cert(ca_cert), True)
    out = DaskTls(ca_crt, base / f"{name}.crt", base / f"{name}.key")
    if out.cert_file.exists() and out.key_file.exists():
        return out
    try:
        ca_cert = x509.load_pem_x509_certificate(_read_public(ca_crt))
        ca_key = signing.load_private_key_pem(signing.read_secret_file(ca_key_path), ec.EllipticCurvePrivateKey)
    except (ValueError, signing.KeyFormatError) as exc:
        raise PkiError(f"the Dask CA in {base}: {exc}") from None
    key, cert = _make_dask_leaf(ca_key, ca_cert, name, tuple(hosts), now, validity_days)
    signing.write_secret_file(out.key_file, _pem_ec_key(key), overwrite=True)
    _write_public(out.cert_file, _pem_cert(cert), True)
    return out
