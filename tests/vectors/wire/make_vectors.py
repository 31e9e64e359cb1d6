"""Regenerate the wire test vectors (tests/vectors/wire/*.json) of docs/wire.md.

    python tests/vectors/wire/make_vectors.py          # rewrite the JSON files
    python tests/vectors/wire/make_vectors.py --check  # exit 1 if a file differs

Everything is deterministic: the parties' keys come from fixed seeds
(:mod:`clearing.services.wiredoc_samples`), the relay's ephemeral key is a
fixed seed too, and the range proof's randomness comes from
``SeededRng("zkclear.v1/wire-vectors/trade")``.  Running the script twice
gives identical files; tests/test_wire_vectors.py checks that the project
reproduces every vector byte for byte and that this script regenerates the
committed files.

Typed values.  A tuple field's value is written as a one-key object naming
its canonical-encoding type, so another language can rebuild it exactly:
``{"int": "-5"}`` (decimal string: integers may exceed 2^53), ``{"str": ...}``,
``{"bytes": "<hex>"}``, ``{"bool": true}``, ``{"null": null}``,
``{"list": [typed, ...]}``.

These are public TEST keys and openings -- never use them for anything else.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from clearing.protocol import encoding, relay, signing
from clearing.protocol.messages import trade_tuple
from clearing.protocol.statements import trade_statement
from clearing.services import wiredoc_samples as ws
from prover.statements import prove
from verifier.statements import verify
from zkp import generators as gmod
from zkp.field import R, SeededRng, encode_scalar
from zkp.group import Point
from zkp.pedersen import Opening, commit, public
from zkp.rangeproof import challenges_for
from zkp.statements import StatementProof, chunk_transcript
from zkp.transcript import Transcript

OUT = Path(__file__).resolve().parent
RNG_SEED = "zkclear.v1/wire-vectors/trade"
EPHEMERAL_LABEL = b"zkclear.v1/wire-vectors/x25519-ephemeral/"
#: The trade's ledger context in the vectors: cycle 3, opened by event 17.
TRADE_CYCLE_SEQ = 17
TEST_KEYS = "public test keys derived from fixed seeds (docs/wire.md section 15); never use them for anything else"


def typed(v: Any) -> Any:
    """A tuple value as a typed JSON object (module docstring)."""
    if v is None:
        return {"null": None}
    if isinstance(v, bool):
        return {"bool": v}
    if isinstance(v, int):
        return {"int": str(v)}
    if isinstance(v, str):
        return {"str": v}
    if isinstance(v, (bytes, bytearray)):
        return {"bytes": bytes(v).hex()}
    if isinstance(v, (list, tuple)):
        return {"list": [typed(x) for x in v]}
    raise TypeError(f"cannot type a {type(v).__name__}")


def untyped(t: dict) -> Any:
    """The inverse of :func:`typed`."""
    (k, v), = t.items()
    return {"null": lambda: None, "bool": lambda: v, "int": lambda: int(v), "str": lambda: v,
            "bytes": lambda: bytes.fromhex(v), "list": lambda: [untyped(x) for x in v]}[k]()


def plain(v: Any) -> Any:
    """Function arguments as JSON (bytes as hex)."""
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def keys() -> dict:
    parties = {}
    for name in ws.PARTIES:
        parties[name] = {
            "ed25519_private": ws.seed(ws.ED25519_LABEL, name).hex(),
            "ed25519_public": ws.ed_pub(name).hex(),
            "x25519_private": ws.seed(ws.X25519_LABEL, name).hex(),
            "x25519_public": ws.x_pub(name).hex(),
        }
    return {"description": "the test parties: private keys = SHA-256(label || name), raw RFC 8032 / RFC 7748 "
                           "private key bytes; " + TEST_KEYS,
            "ed25519_label": ws.ED25519_LABEL.decode(), "x25519_label": ws.X25519_LABEL.decode(),
            "parties": parties}


ENCODING_CASES: list[tuple[str, str, list]] = [
    ("ints", "v", [("zero", 0), ("one", 1), ("b255", 255), ("b256", 256), ("minus-one", -1), ("minus-256", -256),
                   ("big", 2**64 + 1), ("minus-big", -(2**100))]),
    ("scalars", "v", [("true", True), ("false", False), ("null", None)]),
    ("text", "v", [("empty", ""), ("ascii", "abc"), ("utf8", "Zürich €"), ("digit-string", "1")]),
    ("bytes", "v", [("empty", b""), ("one", b"1"), ("zeros", bytes(4))]),
    ("lists", "v", [("empty", []), ("ints", [1, -1, 0]), ("nested", [["a", b"\x00"], [], [True, None]])]),
]


def encodings() -> dict:
    cases = []
    for kind, _, fields in ENCODING_CASES:
        cases.append({"kind": kind, "fields": [[n, typed(v)] for n, v in fields],
                      "canonical": signing.encode_tuple(kind, fields).hex()})
    single = []
    for v in [0, 1, 127, 128, 255, 256, 65535, 65536, -1, -255, -256, 2**63, True, False, None, "", "é", b"",
              b"\xff", [], [[]]]:
        one = signing.encode_tuple("x", [("v", v)])
        prefix = signing.encode_tuple("x", [("v", None)])[:-1]  # everything but the value
        single.append({"value": typed(v), "encoding": one[len(prefix):].hex()})
    return {"description": "canonical tuple encodings (docs/wire.md section 3): whole tuples, and single "
                           "values (the bytes of the value alone, after its field name)",
            "tuples": cases, "values": single}


def messages() -> dict:
    out = []
    for s in ws.message_samples():
        kind, fields = s.build()
        msg = signing.encode_tuple(kind, fields)
        item: dict[str, Any] = {"function": s.function, "variant": s.variant, "args": plain(s.args), "kind": kind,
                                "fields": [[n, typed(v)] for n, v in fields], "canonical": msg.hex(),
                                "signer": s.signer, "public_key": ws.ed_pub(s.signer).hex(),
                                "signature": signing.sign(ws.ed25519_key(s.signer), kind, fields).hex()}
        if kind == "scenario-set":
            item["id"] = hashlib.sha256(msg).hexdigest()
        out.append(item)
    return {"description": "every signed tuple kind: fields (typed), canonical bytes, the signer's test key and "
                           "its Ed25519 signature (RFC 8032, deterministic); the scenario-set tuple is hashed, "
                           "not signed (its id is SHA-256 of the canonical bytes). " + TEST_KEYS,
            "messages": out}


def ledger() -> dict:
    h = encoding.GENESIS_HASH
    out = []
    bodies = [("", b) for b in ws.event_samples()] + ws.event_variants()
    for seq, (variant, body) in enumerate(bodies, 1):
        h = encoding.chain_hash(h, seq, body)
        out.append({"seq": seq, "variant": variant, "body": body, "canonical": encoding.canonical(body).decode("ascii"),
                    "hashed": encoding.canonical({"seq": seq, "event": body}).decode("ascii"),
                    "chain_hash": h.hex()})
    return {"description": "one body of every event kind, then named variants of kinds whose shape varies "
                           "(shape-valid samples: signatures and proofs are "
                           "placeholders, not a consistent ledger), its canonical JSON, the JSON the chain "
                           "hashes and the chain hash h_seq = SHA-256(h_{seq-1} || hashed), from h_0",
            "genesis_label": "zkclear.v1/ledger/genesis", "h0": encoding.GENESIS_HASH.hex(), "events": out}


def ephemeral_key(name: str) -> x25519.X25519PrivateKey:
    return x25519.X25519PrivateKey.from_private_bytes(hashlib.sha256(EPHEMERAL_LABEL + name.encode()).digest())


def seal_fixed(recipient_pub: bytes, eph: x25519.X25519PrivateKey, plaintext: bytes, aad: bytes) -> dict:
    """docs/wire.md section 9 with a given ephemeral key, written from the
    text with ``cryptography``'s primitives (the test compares it with
    clearing.protocol.relay)."""
    pk_e = relay.relay_public_bytes(eph)
    dh = eph.exchange(x25519.X25519PublicKey.from_public_bytes(recipient_pub))
    okm = HKDF(algorithm=hashes.SHA256(), length=44, salt=None,
               info=relay.RELAY_INFO_LABEL + pk_e + recipient_pub).derive(dh)
    key, nonce = okm[:32], okm[32:]
    sealed = bytes([relay.RELAY_VERSION]) + pk_e + AESGCM(key).encrypt(nonce, plaintext, aad)
    return {"ephemeral_private": eph.private_bytes_raw().hex(), "ephemeral_public": pk_e.hex(),
            "shared_secret": dh.hex(), "hkdf_info": (relay.RELAY_INFO_LABEL + pk_e + recipient_pub).hex(),
            "key": key.hex(), "nonce": nonce.hex(), "sealed": sealed.hex()}


def relay_vectors() -> dict:
    trade = ws.sample_trade()
    aad = trade_tuple(trade)
    plaintext = relay.encode_opening(ws.TRADE_QUANTITY, ws.trade_blinding())
    cases = []
    for recipient in ("B", ws.PROVER):
        case = {"recipient": recipient, "recipient_private": ws.seed(ws.X25519_LABEL, recipient).hex(),
                "recipient_public": ws.x_pub(recipient).hex(), "aad": aad.hex(), "plaintext": plaintext.hex(),
                "quantity": ws.TRADE_QUANTITY, "blinding": f"{ws.trade_blinding():064x}"}
        case.update(seal_fixed(ws.x_pub(recipient), ephemeral_key(recipient), plaintext, aad))
        cases.append(case)
    return {"description": "sealed trade openings (docs/wire.md section 9) with fixed recipient and ephemeral "
                           "X25519 keys: aad = canonical trade tuple, plaintext = u64be(q) || rho (32), "
                           "sealed = 0x01 || pk_E || AES-256-GCM(key, nonce, plaintext, aad). " + TEST_KEYS,
            "trade": trade, "cases": cases}


def points() -> dict:
    g = gmod.generators()
    good = {"G": g.G, "H": g.H, "minus_G": -g.G, "G_plus_H": g.G + g.H, "identity": Point.identity()}
    enc = {k: p.encode().hex() for k, p in good.items()}
    ok_scalars = {"zero": 0, "one": 1, "r_minus_1": R - 1}
    bad_points = refused_points()
    bad_scalars = [{"hex": R.to_bytes(32, "big").hex(), "reason": "non-canonical scalar (>= r)"},
                   {"hex": (2**256 - 1).to_bytes(32, "big").hex(), "reason": "non-canonical scalar (>= r)"},
                   {"hex": "00" * 31, "reason": "scalar must be 32 bytes"}]
    return {"description": "point (32-byte compressed BN254 G1) and scalar (32-byte big-endian < r) encodings, "
                           "and encodings a strict decoder refuses",
            "points": enc, "affine_G": [str(x) for x in (g.G.affine() or ())],
            "scalars": {k: encode_scalar(v).hex() for k, v in ok_scalars.items()},
            "refused_points": bad_points, "refused_scalars": bad_scalars}


def refused_points() -> list[dict]:
    from zkp.field import P

    g = gmod.generators()
    G = bytearray(g.G.encode())
    off_curve = next(x for x in range(1, 100) if pow((x**3 + 3) % P, (P - 1) // 2, P) != 1)
    cases = [
        ("31 bytes", bytes(G[:31]), "wrong length"),
        ("identity not allowed", bytes([0x40]) + bytes(31), "identity where a non-identity point is required"),
        ("identity with sign flag", bytes([0xC0]) + bytes(31), "malformed identity encoding"),
        ("identity with x bits", bytes([0x40]) + bytes(30) + b"\x01", "malformed identity encoding"),
        ("x = p", P.to_bytes(32, "big"), "x-coordinate not canonical (>= p)"),
        ("x off the curve", off_curve.to_bytes(32, "big"), "x^3 + 3 is not a square: not on the curve"),
    ]
    return [{"name": n, "hex": b.hex(), "reason": why} for n, b, why in cases]


def pedersen() -> dict:
    g = gmod.generators()
    cases = []
    for value, label in [(ws.TRADE_QUANTITY, ws.TRADE_BLINDING_LABEL), (0, "zero-value"), (-5, "negative"),
                         (2**32 - 1, "max-quantity"), (10**12, "cash")]:
        rho = ws.scalar(label)
        cases.append({"value": str(value), "blinding": f"{rho:064x}", "commitment": commit(value, rho, g).encode().hex()})
    return {"description": "Pedersen commitments C = v*G + rho*H (negative v as r - |v|); public amounts a*G",
            "commitments": cases,
            "public": [{"amount": str(a), "commitment": public(a, g).encode().hex()} for a in (1, 1000000, -3)]}


def generators_vectors() -> dict:
    g = gmod.generators()
    return {"description": "hash-to-curve generators (docs/wire.md section 7): G = pedersen.G[0], "
                           "H = pedersen.H[0], U = bp.U[0], the first bp.G / bp.H, the generator-set id",
            "dst_prefix": gmod.DOMAIN.decode(), "capacity": gmod.CAPACITY,
            "G": g.G.encode().hex(), "H": g.H.encode().hex(), "U": g.U.encode().hex(),
            "bp_G": [p.encode().hex() for p in g.G_vec(4)], "bp_H": [p.encode().hex() for p in g.H_vec(4)],
            "set_id": g.set_id.hex()}


#: The transcript vector's operations: (op, label, argument).
TRANSCRIPT_OPS: list[tuple[str, str, Any]] = [
    ("append_message", "greeting", "68656c6c6f"),
    ("append_u64", "n", 64),
    ("append_int", "minus-one", -1),
    ("append_int", "b255", 255),
    ("append_int", "zero", 0),
    ("append_scalar", "k", 5),
    ("append_point", "G", "G"),
    ("append_points", "pts", ["G", "H"]),
    ("domain_sep", "proto.v1", {"n": 32, "m": 2}),
    ("challenge_bytes", "c1", 64),
    ("challenge_scalar", "c2", None),
    ("challenge_bytes", "c3", 100),
]


def run_transcript(t: Transcript) -> list:
    g = gmod.generators()
    pts = {"G": g.G, "H": g.H}
    out = []
    for op, label, arg in TRANSCRIPT_OPS:
        lb = label.encode()
        if op == "append_message":
            t.append_message(lb, bytes.fromhex(arg))
        elif op in ("append_u64", "append_int", "append_scalar"):
            getattr(t, op)(lb, arg)
        elif op == "append_point":
            t.append_point(lb, pts[arg])
        elif op == "append_points":
            t.append_points(lb, [pts[a] for a in arg])
        elif op == "domain_sep":
            t.domain_sep(lb, **arg)
        elif op == "challenge_bytes":
            out.append(t.challenge_bytes(lb, arg).hex())
        elif op == "challenge_scalar":
            out.append(f"{t.challenge_scalar(lb):064x}")
    return out


def transcript() -> dict:
    label = "zkclear.v1/wire-vectors"
    return {"description": "Transcript(label), then the operations in order (docs/wire.md section 8.1-8.2; "
                           "points named G/H are the generators; append_message data is hex); outputs are the "
                           "challenges in order (challenge_scalar as 64 hex digits)",
            "label": label, "ops": [[op, lab, arg] for op, lab, arg in TRANSCRIPT_OPS],
            "outputs": run_transcript(Transcript(label.encode()))}


def rangeproof() -> dict:
    trade = ws.sample_trade()
    tup = trade_tuple(trade)
    T = Point.decode(bytes.fromhex(trade["T"]))
    st = trade_statement(trade["cycle"], TRADE_CYCLE_SEQ, "A", T, tup)
    proof = prove(st, [Opening(ws.TRADE_QUANTITY, ws.trade_blinding())], rng=SeededRng(RNG_SEED))
    verify(st, StatementProof.from_bytes(proof.to_bytes(), st))
    ch = challenges_for(chunk_transcript(st, 0), st.derived(), proof.proofs[0], st.BITS)
    return {"description": "a complete trade validity proof (docs/wire.md 8.3, 8.5): statement TradeValidity, "
                           "context (cycle, cycle_seq, member), T = q*G + rho*H, derived V = T - G proved in "
                           "[0, 2^32); the prover's randomness from SeededRng(rng_seed) (zkp.field.SeededRng). "
                           "The proof verifies. " + TEST_KEYS,
            "trade": trade, "trade_tuple": tup.hex(), "quantity": ws.TRADE_QUANTITY,
            "blinding": f"{ws.trade_blinding():064x}",
            "context": {"cycle": trade["cycle"], "seq": TRADE_CYCLE_SEQ, "member": "A"},
            "rng_seed": RNG_SEED, "derived": [p.encode().hex() for p in st.derived()],
            "statement_proof": proof.to_bytes().hex(),
            "challenges": {"y": f"{ch.y:064x}", "z": f"{ch.z:064x}", "x": f"{ch.x:064x}", "w": f"{ch.w:064x}",
                           "u": [f"{u:064x}" for u in ch.u]}}


BUILDERS = {
    "keys.json": keys, "encoding.json": encodings, "messages.json": messages, "events.json": ledger,
    "relay.json": relay_vectors, "points.json": points, "pedersen.json": pedersen,
    "generators.json": generators_vectors, "transcript.json": transcript, "rangeproof.json": rangeproof,
}


def render(name: str) -> str:
    return json.dumps(BUILDERS[name](), indent=2) + "\n"


def stale(directory: Path = OUT) -> list[str]:
    """Names of vector files whose committed text differs from a fresh build."""
    out = []
    for name in BUILDERS:
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != render(name):
            out.append(name)
    return out


def main(argv: list[str]) -> int:
    if "--check" in argv:
        bad = stale()
        if bad:
            print(f"stale wire vectors: {', '.join(bad)} (run python tests/vectors/wire/make_vectors.py)",
                  file=sys.stderr)
            return 1
        return 0
    for name in BUILDERS:
        (OUT / name).write_text(render(name), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
