"""Development PKI, certificate identities and mutual TLS (clearing.services.pki)."""
from __future__ import annotations

import datetime
import ipaddress
import json
import os
import pickle
import shutil
import stat
from concurrent import futures
from contextlib import contextmanager

import grpc
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from clearing.protocol import relay, signing
from clearing.protocol.signing import SignatureError
from clearing.services import pki
from clearing.services.pki import AuthError, PkiError

MEMBERS = ["A", "B"]
ALL_NAMES = ["clearing", "prover", "auditor", "A", "B", "operator"]
METHOD = "/zkclear.test.Echo/WhoAmI"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    pki.init_pki(d, MEMBERS)
    return d


@pytest.fixture(scope="module")
def other_pki_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("other-pki")
    pki.init_pki(d, MEMBERS)
    return d


@pytest.fixture()
def fresh_dir(tmp_path):
    d = tmp_path / "fresh"
    pki.init_pki(d, ["A"], nodes=("clearing",))
    return d


def _cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


# ---------------------------------------------------------------- layout, roster

def test_roster_lists_every_party(pki_dir):
    roster = pki.load_config(pki_dir)
    assert [p.name for p in roster.parties] == ALL_NAMES
    assert [(p.role, p.name) for p in roster.parties] == [
        ("node", "clearing"), ("node", "prover"), ("node", "auditor"),
        ("member", "A"), ("member", "B"), ("operator", "operator"),
    ]
    assert [p.name for p in roster.members] == MEMBERS
    assert roster.party("A").role == "member"
    with pytest.raises(PkiError):
        roster.party("Z")
    a = roster.party("A")
    assert roster.by_ed25519(a.ed25519_public) is a
    assert len({p.ed25519_public for p in roster.parties}) == len(ALL_NAMES)
    assert len({p.x25519_public for p in roster.parties}) == len(ALL_NAMES)


def test_config_json_is_relative_and_hex(pki_dir):
    config = json.loads((pki_dir / "zkclear.json").read_text())
    assert config["version"] == 1
    for entry in config["parties"]:
        for key in ("cert", "tls_key", "identity_key", "relay_key"):
            assert not os.path.isabs(entry[key])
            assert (pki_dir / entry[key]).is_file()
        assert len(bytes.fromhex(entry["ed25519_public"])) == 32
        assert len(bytes.fromhex(entry["x25519_public"])) == 32
        assert len(bytes.fromhex(entry["x25519_binding"])) == 64
        assert entry["uri"] == f"zkclear://{entry['role']}/{entry['name']}"
    assert not os.path.isabs(config["ca"]["cert"])


def test_private_key_files_are_0600_and_dirs_0700(pki_dir):
    keys = list(pki_dir.rglob("*.key"))
    assert len(keys) == 1 + 3 * len(ALL_NAMES)
    for path in keys:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in pki_dir.rglob("*"):
        if path.is_dir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_bindings_verify_and_are_bound_to_identity(pki_dir):
    roster = pki.load_config(pki_dir)
    for p in roster.parties:
        signing.verify_kem_key(p.ed25519_public, p.name, p.x25519_public, p.x25519_binding)
    a, b = roster.party("A"), roster.party("B")
    with pytest.raises(SignatureError):
        signing.verify_kem_key(a.ed25519_public, "A", b.x25519_public, a.x25519_binding)


# ---------------------------------------------------------------- certificates

def test_certificates_chain_to_the_ca(pki_dir):
    roster = pki.load_config(pki_dir)
    ca = _cert(roster.ca_cert_pem)
    store = verification.Store([ca])
    client_verifier = verification.PolicyBuilder().store(store).build_client_verifier()
    server_verifier = verification.PolicyBuilder().store(store).build_server_verifier(
        x509.DNSName("localhost"))
    for p in roster.parties:
        leaf = _cert(p.cert_pem)
        leaf.verify_directly_issued_by(ca)
        verified = client_verifier.verify(leaf, [])
        assert x509.UniformResourceIdentifier(f"zkclear://{p.role}/{p.name}") in verified.subjects
        server_verifier.verify(leaf, [])


def test_certificates_do_not_chain_to_another_ca(pki_dir, other_pki_dir):
    ours = _cert(pki.load_config(pki_dir).ca_cert_pem)
    theirs = pki.load_config(other_pki_dir)
    verifier = verification.PolicyBuilder().store(verification.Store([ours])).build_client_verifier()
    leaf = _cert(theirs.party("A").cert_pem)
    with pytest.raises(verification.VerificationError):
        verifier.verify(leaf, [])
    # Same issuer name, different CA key: the signature check is what fails.
    assert leaf.issuer == ours.subject
    with pytest.raises(InvalidSignature):
        leaf.verify_directly_issued_by(ours)


def test_certificate_contents(pki_dir):
    roster = pki.load_config(pki_dir)
    for p in roster.parties:
        cert = _cert(p.cert_pem)
        assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == f"{p.role}/{p.name}"
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.UniformResourceIdentifier) == [f"zkclear://{p.role}/{p.name}"]
        assert san.get_values_for_type(x509.DNSName) == ["localhost"]
        assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
        ident = pki.certificate_identity(cert)
        assert (ident.role, ident.name, ident.ed25519_public) == (p.role, p.name, p.ed25519_public)


def test_validity_days(tmp_path):
    pki.init_pki(tmp_path / "v", ["A"], nodes=(), validity_days=7)
    cert = _cert(pki.load_config(tmp_path / "v").party("A").cert_pem)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert datetime.timedelta(days=7) <= lifetime <= datetime.timedelta(days=7, minutes=10)


# ---------------------------------------------------------------- init refusals

def test_refuses_non_empty_directory_without_force(fresh_dir):
    before = (fresh_dir / "zkclear.json").read_bytes()
    with pytest.raises(PkiError, match="not empty"):
        pki.init_pki(fresh_dir, ["A"], nodes=("clearing",))
    assert (fresh_dir / "zkclear.json").read_bytes() == before
    pki.init_pki(fresh_dir, ["A"], nodes=("clearing",), force=True)
    assert (fresh_dir / "zkclear.json").read_bytes() != before
    pki.load_identity(fresh_dir, "A")
    for path in fresh_dir.rglob("*.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_refuses_any_non_empty_directory(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("mine")
    with pytest.raises(PkiError):
        pki.init_pki(tmp_path / "d", ["A"])
    assert sorted(os.listdir(tmp_path / "d")) == ["notes.txt"]


def test_empty_existing_directory_is_fine(tmp_path):
    (tmp_path / "d").mkdir()
    pki.init_pki(tmp_path / "d", ["A"], nodes=())
    assert [p.name for p in pki.load_config(tmp_path / "d").parties] == ["A", "operator"]


def test_refuses_a_file_as_directory(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(PkiError):
        pki.init_pki(tmp_path / "f", ["A"], force=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"members": ["A", "A"]},
        {"members": ["clearing"]},
        {"members": ["A"], "operator": "A"},
        {"members": ["../x"]},
        {"members": ["a/b"]},
        {"members": [""]},
        {"members": ["A B"]},
        {"members": ["-A"]},
        {"members": ["x" * 64]},
        {"members": "AB"},
        {"members": [1]},
        {"members": ["A"], "nodes": ("clearing", "clearing")},
        {"members": ["A"], "validity_days": 0},
        {"members": ["A"], "validity_days": 100000},
        {"members": ["A"], "validity_days": True},
    ],
)
def test_init_rejects_bad_arguments(tmp_path, kwargs):
    members = kwargs.pop("members")
    with pytest.raises(PkiError):
        pki.init_pki(tmp_path / "bad", members, **kwargs)
    assert not (tmp_path / "bad").exists()


# ---------------------------------------------------------------- load_config tampering

def _edit_config(directory, edit):
    path = directory / "zkclear.json"
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))


def _party(config, name):
    return next(e for e in config["parties"] if e["name"] == name)


def test_tampered_relay_key_is_detected(fresh_dir):
    other = relay.relay_public_bytes(relay.generate_relay_key()).hex()
    _edit_config(fresh_dir, lambda c: _party(c, "A").update(x25519_public=other))
    with pytest.raises(SignatureError):
        pki.load_config(fresh_dir)


def test_tampered_identity_key_is_detected(fresh_dir):
    other = signing.public_key_bytes(signing.generate_identity_key()).hex()
    _edit_config(fresh_dir, lambda c: _party(c, "A").update(ed25519_public=other))
    with pytest.raises(PkiError, match="does not match"):
        pki.load_config(fresh_dir)


def test_swapped_role_is_detected(fresh_dir):
    _edit_config(fresh_dir, lambda c: _party(c, "A").update(role="operator", uri="zkclear://operator/A"))
    with pytest.raises(PkiError):
        pki.load_config(fresh_dir)


def test_swapped_certificate_is_detected(fresh_dir):
    _edit_config(fresh_dir, lambda c: _party(c, "A").update(cert=_party(c, "clearing")["cert"]))
    with pytest.raises(PkiError):
        pki.load_config(fresh_dir)


def test_certificate_from_another_ca_is_detected(fresh_dir, other_pki_dir):
    shutil.copyfile(other_pki_dir / "member" / "A" / "tls.crt", fresh_dir / "member" / "A" / "tls.crt")
    with pytest.raises(PkiError, match="not issued by the configured CA"):
        pki.load_config(fresh_dir)


@pytest.mark.parametrize("path", ["../outside.crt", "/etc/hostname", "", 7])
def test_config_paths_cannot_escape(fresh_dir, path):
    _edit_config(fresh_dir, lambda c: _party(c, "A").update(cert=path))
    with pytest.raises(PkiError):
        pki.load_config(fresh_dir)


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c.update(version=2),
        lambda c: c.pop("parties"),
        lambda c: _party(c, "A").update(x25519_binding="zz"),
        lambda c: _party(c, "A").update(ed25519_public="00" * 31),
        lambda c: _party(c, "A").update(name="A/../B"),
        lambda c: _party(c, "A").update(role="admin"),
        lambda c: _party(c, "A").update(uri="zkclear://member/B"),
        lambda c: c["parties"].append(dict(_party(c, "A"))),
    ],
)
def test_malformed_config_is_rejected(fresh_dir, edit):
    _edit_config(fresh_dir, edit)
    with pytest.raises(PkiError):
        pki.load_config(fresh_dir)


def test_missing_or_garbled_config(tmp_path, fresh_dir):
    with pytest.raises(PkiError):
        pki.load_config(tmp_path / "nowhere")
    (fresh_dir / "zkclear.json").write_text("{not json")
    with pytest.raises(PkiError):
        pki.load_config(fresh_dir)


# ---------------------------------------------------------------- load_identity

def test_load_identity_matches_roster(pki_dir):
    roster = pki.load_config(pki_dir)
    for p in roster.parties:
        ident = pki.load_identity(pki_dir, p.name)
        assert (ident.role, ident.name) == (p.role, p.name)
        assert ident.ed25519_public == p.ed25519_public
        assert ident.x25519_public == p.x25519_public
        assert ident.cert_pem == p.cert_pem
        assert ident.ca_cert_pem == roster.ca_cert_pem
        # The loaded keys work for what they are for.
        sig = signing.sign(ident.ed25519_private, "probe", [("n", 1)])
        signing.verify(p.ed25519_public, "probe", [("n", 1)], sig)
        sealed = relay.seal(p.x25519_public, b"hello", b"aad")
        assert relay.open_sealed(ident.x25519_private, sealed, b"aad") == b"hello"
    with pytest.raises(PkiError):
        pki.load_identity(pki_dir, "nobody")


def test_identity_repr_and_pickle_leak_no_secret(pki_dir):
    ident = pki.load_identity(pki_dir, "A")
    text = repr(ident) + str(ident)
    ed_raw = ident.ed25519_private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    x_raw = ident.x25519_private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    assert "A" in text and "member" in text
    for secret in (ed_raw.hex(), x_raw.hex(), ident.tls_key_pem.decode(), "PRIVATE KEY"):
        assert secret not in text
    assert "BEGIN" not in text
    with pytest.raises(TypeError):
        pickle.dumps(ident)
    roster_text = repr(pki.load_config(pki_dir))
    assert "PRIVATE" not in roster_text and "BEGIN" not in roster_text


def test_load_identity_refuses_readable_key_file(fresh_dir):
    os.chmod(fresh_dir / "member" / "A" / "identity.key", 0o644)
    with pytest.raises(PkiError, match="group/others"):
        pki.load_identity(fresh_dir, "A")


@pytest.mark.parametrize("key_file", ["identity.key", "relay.key", "tls.key"])
def test_load_identity_detects_swapped_keys(fresh_dir, key_file):
    shutil.copyfile(fresh_dir / "node" / "clearing" / key_file, fresh_dir / "member" / "A" / key_file)
    os.chmod(fresh_dir / "member" / "A" / key_file, 0o600)
    with pytest.raises(PkiError, match="does not match"):
        pki.load_identity(fresh_dir, "A")


def test_load_identity_detects_wrong_key_type(fresh_dir):
    # An X25519 key where the Ed25519 identity key belongs.
    shutil.copyfile(fresh_dir / "member" / "A" / "relay.key", fresh_dir / "member" / "A" / "identity.key")
    os.chmod(fresh_dir / "member" / "A" / "identity.key", 0o600)
    with pytest.raises(PkiError):
        pki.load_identity(fresh_dir, "A")


def test_load_identity_missing_key_file(fresh_dir):
    os.unlink(fresh_dir / "member" / "A" / "tls.key")
    with pytest.raises(PkiError):
        pki.load_identity(fresh_dir, "A")


# ---------------------------------------------------------------- peer_identity (unit)

class _Ctx:
    def __init__(self, auth):
        self._auth = auth

    def auth_context(self):
        if isinstance(self._auth, Exception):
            raise self._auth
        return self._auth


def _make_cert(*, uris=("zkclear://member/A",), cn="member/A", ext: bytes | None = b"\x04\x20" + bytes(32)):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
    )
    if uris is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(u) for u in uris]
                                        + [x509.DNSName("localhost")]), critical=False)
    if ext is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(pki.ED25519_IDENTITY_OID, ext), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def test_peer_identity_unit_accepts_well_formed_cert():
    ctx = _Ctx({"x509_pem_cert": [_make_cert()]})
    assert pki.peer_identity(ctx) == ("member", "A")
    assert pki.peer_certificate_identity(ctx).ed25519_public == bytes(32)


@pytest.mark.parametrize(
    "auth",
    [
        {},
        {"transport_security_type": [b"insecure"]},
        {"x509_pem_cert": []},
        {"x509_pem_cert": [b"garbage"]},
        {"x509_pem_cert": ["not bytes"]},
        None,
        ValueError("no context"),
        {"x509_pem_cert": [_make_cert(uris=None)]},
        {"x509_pem_cert": [_make_cert(uris=())]},
        {"x509_pem_cert": [_make_cert(uris=("https://example.com/",))]},
        {"x509_pem_cert": [_make_cert(uris=("zkclear://member/A", "zkclear://node/clearing"))]},
        {"x509_pem_cert": [_make_cert(uris=("zkclear://admin/A",), cn="admin/A")]},
        {"x509_pem_cert": [_make_cert(uris=("zkclear://member/A/x",), cn="member/A/x")]},
        {"x509_pem_cert": [_make_cert(uris=("zkclear://member/A?x=1",))]},
        {"x509_pem_cert": [_make_cert(cn="member/B")]},
        {"x509_pem_cert": [_make_cert(cn="node/clearing")]},
        {"x509_pem_cert": [_make_cert(ext=None)]},
        {"x509_pem_cert": [_make_cert(ext=bytes(32))]},
        {"x509_pem_cert": [_make_cert(ext=b"\x04\x1f" + bytes(31))]},
        {"x509_pem_cert": [_make_cert(ext=b"\x04\x21" + bytes(33))]},
        {"x509_pem_cert": [_make_cert(), _make_cert()]},
    ],
)
def test_peer_identity_unit_rejects(auth):
    with pytest.raises(AuthError):
        pki.peer_identity(_Ctx(auth))


def test_peer_identity_without_auth_context_method():
    with pytest.raises(AuthError):
        pki.peer_identity(object())


# ---------------------------------------------------------------- mutual TLS over gRPC

def _whoami(request, context):
    try:
        role, name = pki.peer_identity(context)
    except AuthError as exc:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
    return f"{role}/{name}|".encode() + request


_HANDLER = grpc.method_handlers_generic_handler(
    "zkclear.test.Echo", {"WhoAmI": grpc.unary_unary_rpc_method_handler(_whoami)})


@contextmanager
def _server(credentials):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((_HANDLER,))
    try:
        if credentials is None:
            port = server.add_insecure_port("127.0.0.1:0")
        else:
            port = server.add_secure_port("127.0.0.1:0", credentials)
        assert port > 0
        server.start()
        yield port
    finally:
        server.stop(None)


def _call(port, credentials, payload=b"ping"):
    target = f"127.0.0.1:{port}"
    channel = grpc.insecure_channel(target) if credentials is None else grpc.secure_channel(target, credentials)
    with channel:
        return channel.unary_unary(METHOD)(payload, timeout=5)


def test_mutual_tls_call_reports_caller_identity(pki_dir):
    server_ident = pki.load_identity(pki_dir, "clearing")
    with _server(server_ident.server_credentials()) as port:
        for caller, expected in [("A", b"member/A"), ("B", b"member/B"),
                                 ("operator", b"operator/operator"), ("prover", b"node/prover")]:
            creds = pki.load_identity(pki_dir, caller).channel_credentials()
            assert _call(port, creds) == expected + b"|ping"


def test_client_without_certificate_is_refused(pki_dir):
    server_ident = pki.load_identity(pki_dir, "clearing")
    with _server(server_ident.server_credentials()) as port:
        creds = grpc.ssl_channel_credentials(root_certificates=server_ident.ca_cert_pem)
        with pytest.raises(grpc.RpcError) as info:
            _call(port, creds)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_client_with_certificate_from_another_ca_is_refused(pki_dir, other_pki_dir):
    server_ident = pki.load_identity(pki_dir, "clearing")
    stranger = pki.load_identity(other_pki_dir, "A")
    with _server(server_ident.server_credentials()) as port:
        # Trusts our CA (so the server is accepted) but presents a foreign cert.
        creds = grpc.ssl_channel_credentials(
            root_certificates=server_ident.ca_cert_pem,
            private_key=stranger.tls_key_pem, certificate_chain=stranger.cert_pem)
        with pytest.raises(grpc.RpcError) as info:
            _call(port, creds)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_client_refuses_server_from_another_ca(pki_dir, other_pki_dir):
    impostor = pki.load_identity(other_pki_dir, "clearing")
    with _server(impostor.server_credentials()) as port:
        creds = pki.load_identity(pki_dir, "A").channel_credentials()
        with pytest.raises(grpc.RpcError) as info:
            _call(port, creds)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE


def test_insecure_server_yields_no_identity():
    with _server(None) as port:
        with pytest.raises(grpc.RpcError) as info:
            _call(port, None)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def _tls_pair(keytype):
    """A CA and a leaf certificate built identically except for the key type."""
    def new_key():
        return ed25519.Ed25519PrivateKey.generate() if keytype == "ed25519" else ec.generate_private_key(ec.SECP256R1())

    def algorithm(key):
        return None if keytype == "ed25519" else hashes.SHA256()

    now = datetime.datetime.now(datetime.UTC)
    ca_key = new_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pin CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, algorithm(ca_key)))

    def leaf(role_name):
        key = new_key()
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, role_name)]))
                .issuer_name(ca_name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.SubjectAlternativeName([
                    x509.UniformResourceIdentifier(f"zkclear://{role_name}"), x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                .add_extension(x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .add_extension(x509.UnrecognizedExtension(
                    pki.ED25519_IDENTITY_OID, b"\x04\x20" + bytes(32)), critical=False)
                .sign(ca_key, algorithm(ca_key)))
        pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return pem_key, cert.public_bytes(serialization.Encoding.PEM)

    return ca.public_bytes(serialization.Encoding.PEM), leaf("node/clearing"), leaf("member/A")


@pytest.mark.parametrize("keytype", ["ecdsa-p256", "ed25519"])
def test_grpc_tls_rejects_ed25519_certificates(keytype):
    """Pins the fact behind pki's design: gRPC's BoringSSL will not do mutual
    TLS with Ed25519 certificates (NO_COMMON_SIGNATURE_ALGORITHMS), while the
    same construction with ECDSA P-256 works.  If a grpcio upgrade makes the
    Ed25519 case pass, the TLS key could become the identity key."""
    ca_pem, (skey, scert), (ckey, ccert) = _tls_pair(keytype)
    server_creds = grpc.ssl_server_credentials([(skey, scert)], root_certificates=ca_pem,
                                               require_client_auth=True)
    client_creds = grpc.ssl_channel_credentials(ca_pem, ckey, ccert)
    with _server(server_creds) as port:
        if keytype == "ed25519":
            with pytest.raises(grpc.RpcError) as info:
                _call(port, client_creds)
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        else:
            assert _call(port, client_creds) == b"member/A|ping"
