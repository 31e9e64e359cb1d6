"""Fixed sample inputs of every signed message and every ledger event, for
the wire specification (docs/wire.md, :mod:`clearing.services.wiredoc`) and
its test vectors (tests/vectors/wire/make_vectors.py).

Nothing here is secret or random: every key is derived from a fixed seed,

    Ed25519 private key of party P = SHA-256("zkclear.v1/wire-vectors/ed25519/" || P)
    X25519 private key of party P  = SHA-256("zkclear.v1/wire-vectors/x25519/" || P)

(the 32 bytes are the RFC 8032 / RFC 7748 private key as-is), and every
blinding, proof placeholder or signature placeholder is a SHA-256 of a fixed
label.  The samples are *shape-valid*: every message sample is accepted by
its ``*_message`` function and every event body by
:func:`clearing.protocol.events.parse`; the event bodies are not a
consistent ledger (their proofs and signatures are placeholders).

These keys are public test keys -- never use them for anything else.
"""
from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from clearing.protocol import messages as m
from clearing.protocol import signing
from clearing.protocol.fields import AUCTION, NODE, OPERATOR, PROVER
from zkp.field import R
from zkp.generators import generators

ED25519_LABEL = b"zkclear.v1/wire-vectors/ed25519/"
X25519_LABEL = b"zkclear.v1/wire-vectors/x25519/"
#: The parties of the samples: the operator, the prover service, the clearing
#: node (signs cycle digests; its key is genesis ``keys.node``) and two members.
PARTIES = (OPERATOR, PROVER, NODE, "A", "B")


def seed(label: bytes, name: str) -> bytes:
    return hashlib.sha256(label + name.encode()).digest()


def ed25519_key(name: str) -> ed25519.Ed25519PrivateKey:
    """The fixed Ed25519 test key of ``name``."""
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed(ED25519_LABEL, name))


def x25519_key(name: str) -> x25519.X25519PrivateKey:
    """The fixed X25519 test key of ``name``."""
    return x25519.X25519PrivateKey.from_private_bytes(seed(X25519_LABEL, name))


def ed_pub(name: str) -> bytes:
    return signing.public_key_bytes(ed25519_key(name))


def x_pub(name: str) -> bytes:
    from clearing.protocol.relay import relay_public_bytes

    return relay_public_bytes(x25519_key(name))


def filler(label: str, size: int) -> bytes:
    """``size`` fixed bytes (a placeholder proof or signature)."""
    out = b""
    ctr = 0
    while len(out) < size:
        out += hashlib.sha256(f"zkclear.v1/wire-vectors/filler/{label}/{ctr}".encode()).digest()
        ctr += 1
    return out[:size]


def scalar(label: str) -> int:
    """A fixed non-zero scalar < r."""
    return int.from_bytes(hashlib.sha256(f"zkclear.v1/wire-vectors/scalar/{label}".encode()).digest(), "big") % R or 1


#: The trade of the samples: A buys 7 ESX from B at 500000; T = 7*G + rho*H.
TRADE_QUANTITY = 7
TRADE_BLINDING_LABEL = "trade-t-1"


def trade_blinding() -> int:
    return scalar(TRADE_BLINDING_LABEL)


def sample_trade() -> dict:
    T = generators().commit(TRADE_QUANTITY, trade_blinding())
    return {"trade_id": "t-1", "cycle": 3, "buyer": "A", "seller": "B", "instrument": "ESX", "side": "buy",
            "price": 500000, "T": T.encode().hex()}


def _point_hex(label: str) -> str:
    return generators().commit(0, scalar(label)).encode().hex()


def sample_config() -> dict:
    """A genesis config (two instruments) with the sample parties' keys."""
    return {
        "instruments": [{"id": "ESX", "multiplier": 10, "tick": 1, "price0": 500000},
                        {"id": "FGBL", "multiplier": 1000, "tick": 1, "price0": 13000}],
        "ccp": {"skin_in_the_game_1": 1000000, "skin_in_the_game_2": 2000000, "assessment_cap_multiple": 2},
        "keys": {"operator": ed_pub(OPERATOR).hex(), "prover": ed_pub(PROVER).hex(),
                 "prover_relay": x_pub(PROVER).hex(),
                 "prover_relay_sig": signing.sign_kem_key(ed25519_key(PROVER), PROVER, x_pub(PROVER)).hex(),
                 "node": ed_pub(NODE).hex()},
    }


SCENARIO_VERSION = 4
SCENARIO_MATRIX = [[0, 0], [-25000, 130000], [25000, -130000]]
INSTRUMENT_IDS = ["ESX", "FGBL"]


@dataclass(frozen=True)
class MessageSample:
    """One signed message: the function that builds it, its arguments, who
    signs it (a party of :data:`PARTIES`)."""

    function: str
    signer: str
    args: dict[str, Any]
    #: a second sample of the same kind (another shape of it), named
    variant: str = ""

    def variant_text(self) -> str:
        """What distinguishes the variant (for the doc)."""
        return VARIANT_TEXT[self.variant]

    def build(self) -> tuple[str, list]:
        if self.function == "kem_key":
            return signing.KEM_KEY_KIND, signing._kem_fields(self.args["owner_name"], self.args["x25519_pub"])
        if self.function == "scenario_set":
            # the tuple messages.scenario_set_id hashes (the vectors test compares the ids)
            a = self.args
            fields = [("version", a["version"]), ("instruments", list(a["instruments"])),
                      ("matrix", [list(r) for r in a["matrix"]])]
            model = a.get("model")
            if model is not None and model.get("kind", "scan") != "scan":
                fields += [("model", model["kind"]), ("k", model["k"])]
            terms = a.get("maintenance")  # issue 14 §2 (clearing.protocol.maintenance.set_id)
            if terms is not None:
                fields += [("maintenance-num", terms["num"]), ("maintenance-den", terms["den"]),
                           ("penalty-bps", terms["penalty_bps"])]
            return "scenario-set", fields
        if self.function in ("headroom.refusal", "headroom.receipt"):  # issue 14 §1: clearing.protocol.headroom
            from clearing.protocol import headroom

            fn_h = headroom.receipt_message if self.function == "headroom.receipt" else headroom.refusal_message
            return fn_h(**self.args)
        if self.function.startswith("intraday."):  # issue 14 §1: clearing.protocol.intraday
            from clearing.protocol import intraday
            if self.function == "intraday.marks":
                return intraday.intraday_message(**self.args)
            if self.function == "intraday.set":
                return intraday.derived_set_tuple(**self.args)
            return intraday.batch_message(**self.args)
        fn: Callable[..., tuple[str, list]] = getattr(m, self.function)
        return fn(**self.args)


#: variant -> when a kind takes that shape
VARIANT_TEXT = {
    "pre-trade headroom": "under a scenario set with `pretrade` (issue 14 §1) the receipt also covers the "
                          "headroom debit proof: `headroom-proof` (SHA-256 of the proof bytes) follows",
    "maintenance terms": "the scenario set carries maintenance terms (issue 14 §2: the ratio mu = num/den and "
                         "the liquidation penalty rate in bps): `maintenance-num`, `maintenance-den` and "
                         "`penalty-bps` follow in the id's tuple; a set without them hashes as before",
    "expected-shortfall model": "the scenario set's margin model is not the scan (issue 13: expected shortfall "
                                "over the k worst rows): the fields `model` (the model's kind, \"es\") and `k` "
                                "follow; a scan set hashes without them, as before models existed",
}

#: The expected-shortfall margin model of the variant samples (issue 13).
ES_MODEL = {"kind": "es", "k": 2}
#: The maintenance terms of the variant samples (issue 14 §2): mu = 4/5, 50 bps.
MAINTENANCE_TERMS = {"num": 4, "den": 5, "penalty_bps": 50}


def _maintenance_set_id(version: int, matrix) -> str:
    """The set id covering the maintenance terms, "" where this code has none."""
    try:
        from clearing.protocol import maintenance
    except ImportError:  # pragma: no cover - older code
        return ""
    return maintenance.set_id(version, INSTRUMENT_IDS, matrix, None, MAINTENANCE_TERMS).hex()


def _pretrade_set_id(version: int, matrix) -> str:
    """The set id covering the pre-trade flag (issue 14 §1), "" where this code has none."""
    try:
        from clearing.protocol import headroom
    except ImportError:  # pragma: no cover - older code
        return ""
    return headroom.set_id(version, INSTRUMENT_IDS, matrix, None, None, True).hex()


def models_supported() -> bool:
    """The scenario-set id covers a margin model (issue 13) in this code."""
    return "model" in inspect.signature(m.scenario_set_id).parameters


def message_samples() -> list[MessageSample]:
    """One sample per signed tuple kind, in protocol order (plus named
    variants of a kind whose shape varies)."""
    trade = sample_trade()
    set_id = m.scenario_set_id(SCENARIO_VERSION, INSTRUMENT_IDS, SCENARIO_MATRIX)
    shares = [_point_hex("share-A"), _point_hex("share-B")]
    return [
        MessageSample("genesis_message", OPERATOR, {"config": sample_config()}),
        MessageSample("kem_key", "A", {"owner_name": "A", "x25519_pub": x_pub("A")}),
        MessageSample("admission_message", OPERATOR, {"member": "A", "key": ed_pub("A"), "relay_key": x_pub("A")}),
        MessageSample("deposit_message", "A", {"member": "A", "amount": 200000000, "cycle": 3,
                                              "request_id": "dep-1"}),
        MessageSample("funding_message", "A", {"member": "A", "epoch": 1, "df": bytes.fromhex(_point_hex("df-A")),
                                              "request_id": "fund-1"}),
        MessageSample("df_size_message", "A", {"member": "A", "epoch": 1, "request_id": "size-1"}),
        MessageSample("trade_message", "A", {"trade": trade}),
        MessageSample("affirmation_message", "B", {"trade": trade, "member": "B"}),
        MessageSample("receipt_message", PROVER, {"trade": trade}),
        MessageSample("headroom.receipt", PROVER, {"trade": trade, "headroom_proof": filler("debit", 96)},
                      variant="pre-trade headroom"),
        MessageSample("headroom.refusal", PROVER, {"trade": trade, "members": ["B"],
                                                  "H_buyer": _point_hex("headroom-A"),
                                                  "H_seller": _point_hex("headroom-B")}),
        MessageSample("scenario_set", OPERATOR, {"version": SCENARIO_VERSION, "instruments": INSTRUMENT_IDS,
                                                 "matrix": SCENARIO_MATRIX}),
        *([MessageSample("scenario_set", OPERATOR, {"version": SCENARIO_VERSION + 1, "instruments": INSTRUMENT_IDS,
                                                    "matrix": SCENARIO_MATRIX[1:], "model": ES_MODEL},
                         variant="expected-shortfall model")] if models_supported() else []),
        MessageSample("scenario_set", OPERATOR, {"version": SCENARIO_VERSION + 2, "instruments": INSTRUMENT_IDS,
                                                 "matrix": SCENARIO_MATRIX, "maintenance": MAINTENANCE_TERMS},
                      variant="maintenance terms"),
        MessageSample("settlement_message", OPERATOR, {"cycle": 3, "prices": [501000, 13020], "set_id": set_id}),
        MessageSample("margin_batch_message", PROVER, {"cycle": 3, "entries": [
            {"member": "A", "solvency_only": False, "ctx_seq": 41, "proof": filler("margin-A", 96)},
            {"member": "B", "solvency_only": True, "ctx_seq": 42, "proof": filler("margin-B", 96)}]}),
        MessageSample("intraday.marks", OPERATOR, {"cycle": 3, "run": 1, "marks": [501500, 13020],
                                                             "set_id": set_id}),
        MessageSample("intraday.set", OPERATOR, {"set_id": set_id, "cycle": 3, "run": 1,
                                                              "prices": [501000, 13020], "marks": [501500, 13020]}),
        MessageSample("intraday.batch", PROVER, {"cycle": 3, "run": 1, "entries": [
            {"member": "A", "solvency_only": False, "ctx_seq": 46, "proof": filler("intraday-A", 96)}]}),
        MessageSample("margin_proof_message", PROVER, {"cycle": 3, "member": "B", "solvency_only": False,
                                                       "ctx_seq": 45, "proof": filler("cure-B", 96)}),
        MessageSample("withdrawal_message", "A", {"member": "A", "amount": 1000000, "cycle": 3,
                                                 "request_id": "wd-1"}),
        MessageSample("default_message", OPERATOR, {"cycle": 3, "member": "B"}),
        MessageSample("insolvency_message", OPERATOR, {"cycle": 3, "member": "B", "reason": "insolvency filing"}),
        MessageSample("liquidation_message", OPERATOR, {"cycle": 3, "member": "B", "request_id": "liq-1"}),
        MessageSample("ccp_parameters_message", OPERATOR, {"cycle": 3, "sitg1": 500000, "sitg2": 2000000, "cap": 3,
                                                           "request_id": "ccp-1"}),
        MessageSample("digest_message", NODE, {"cycle": 3, "digest": filler("digest", 32)}),
        MessageSample("dm_open_message", PROVER, {
            "cycle": 3, "defaulters": ["B"], "survivors": ["A"], "D0": 5000000,
            "disclosures": {"B": {"values": [-1200000, 3000000, -7, 0], "proof": filler("disclosure-B", 130)}},
            "D0_proof": filler("D0", 66)}),
        MessageSample("epoch_message", PROVER, {"cycle": 3, "epoch": 1, "members": ["A", "B"], "D": 8000000,
                                                "proof": filler("epoch", 66)}),
        MessageSample("closeout_message", OPERATOR, {"cycle": 3, "index": 1, "prices": [499000, 12990], "lots": [
            {"winner": "A", "instrument": "ESX", "quantity": 4},
            {"winner": AUCTION, "instrument": "FGBL", "quantity": -2}]}),
        MessageSample("shares_message", PROVER, {
            "cycle": 3, "index": 1, "purpose": "default-fund", "R": 700000, "shares": shares, "total": 700000,
            "proof": filler("shares", 96), "total_proof": filler("shares-total", 66)}),
        MessageSample("assessment_payment_message", "A", {"member": "A", "index": 1, "amount": 300000, "cycle": 3,
                                                         "request_id": "pay-1"}),
        MessageSample("assessment_settlement_message", "A", {"member": "A", "index": 1, "cycle": 3,
                                                            "request_id": "settle-1"}),
    ]


def _sig(label: str) -> str:
    return filler("sig-" + label, 64).hex()


def event_variants() -> list[tuple[str, dict]]:
    """(variant name, body) of event kinds whose shape varies, each included
    when this code's parser accepts it: a genesis with the optional
    insurance fund, one with default-fund sizing and Cover-2 (issue 14 §4),
    a settlement with an expected-shortfall scenario set."""
    from clearing.protocol import events
    from clearing.protocol.errors import InvalidArgument

    cfg = sample_config()
    cfg["ccp"]["insurance_fund"] = 3000000
    sized = sample_config()  # issue 14 §4: default-fund sizing and Cover-2
    sized["ccp"].update(df_size_num=1, df_size_den=20, cover2_tau=5000000,
                        stress_scenarios=[list(r) for r in SCENARIO_MATRIX])
    matrix = SCENARIO_MATRIX[1:]
    set_id: Callable[..., bytes] = m.scenario_set_id  # takes the model where models are supported
    candidates: list[tuple[str, dict]] = [
        ("insurance fund", {"kind": "genesis", "config": cfg, "op_sig": _sig("genesis-if")}),
        ("default-fund sizing and Cover-2", {"kind": "genesis", "config": sized, "op_sig": _sig("genesis-df")}),
        ("expected-shortfall model", {
            "kind": "settle", "cycle": 4, "prices": [502000, 13010],
            "scenario_set": {"version": SCENARIO_VERSION + 1, "matrix": matrix, "model": dict(ES_MODEL),
                             "id": (set_id(SCENARIO_VERSION + 1, INSTRUMENT_IDS, matrix, ES_MODEL).hex()
                                    if models_supported() else "")},
            "request_id": "settle-4", "op_sig": _sig("settle-es")}),
        ("maintenance terms", {  # issue 14 §2: clearing.protocol.maintenance
            "kind": "settle", "cycle": 4, "prices": [502000, 13010],
            "scenario_set": {"version": SCENARIO_VERSION + 2, "matrix": SCENARIO_MATRIX,
                             "maintenance": dict(MAINTENANCE_TERMS),
                             "id": _maintenance_set_id(SCENARIO_VERSION + 2, SCENARIO_MATRIX)},
            "request_id": "settle-5", "op_sig": _sig("settle-mm")}),
        ("pre-trade limit", {  # issue 14 §1: clearing.protocol.headroom
            "kind": "settle", "cycle": 4, "prices": [502000, 13010],
            "scenario_set": {"version": SCENARIO_VERSION + 3, "matrix": SCENARIO_MATRIX, "pretrade": True,
                             "id": _pretrade_set_id(SCENARIO_VERSION + 3, SCENARIO_MATRIX)},
            "request_id": "settle-6", "op_sig": _sig("settle-pt")}),
        ("pre-trade headroom", {"kind": "margin-batch", "cycle": 4, "entries": [
            {"member": "A", "solvency_only": False, "ctx_seq": 51, "proof": filler("margin-A4", 96).hex(),
             "headroom": {"H": _point_hex("headroom-A"), "proof": filler("headroom-A", 96).hex()}}],
            "results": {"A": "pass"}, "request_id": "margin.4", "sig": _sig("margin-pt")}),
        ("pre-trade headroom debit", {
            "kind": "receipt", "trade_id": "t-2", "request_id": "rcpt.2", "sig": _sig("receipt-pt"),
            "headroom": {"H_buyer": _point_hex("headroom-A"), "H_seller": _point_hex("headroom-B"),
                         "proof": filler("debit", 96).hex()}}),
    ]
    out: list[tuple[str, dict]] = []
    for name, body in candidates:
        try:
            events.parse(body)
        except InvalidArgument:
            continue
        out.append((name, body))
    return out


def event_samples() -> list[dict]:
    """One body per ledger event kind (shape-valid, placeholder signatures
    and proofs), in a plausible ledger order."""
    trade = sample_trade()
    cfg = sample_config()
    op = _sig
    proof = lambda label: filler(label, 96).hex()  # noqa: E731 - a one-line local helper
    return [
        {"kind": "genesis", "config": cfg, "op_sig": op("genesis")},
        {"kind": "admit", "member": "A", "key": ed_pub("A").hex(), "relay_key": x_pub("A").hex(),
         "relay_sig": signing.sign_kem_key(ed25519_key("A"), "A", x_pub("A")).hex(), "op_sig": op("admit")},
        {"kind": "deposit", "member": "A", "amount": 200000000, "cycle": 0, "request_id": "dep-1",
         "sig": _sig("deposit")},
        {"kind": "df-fund", "member": "A", "epoch": 1, "df": _point_hex("df-A"), "ctx_seq": 3,
         "proof": proof("fund"), "request_id": "fund-1", "sig": _sig("fund")},
        {"kind": "df-size", "member": "A", "epoch": 1, "ctx_seq": 4, "m": _point_hex("m-A"),
         "q": _point_hex("q-A"), "bound_proof": proof("bound"), "sizing_proof": proof("sizing"),
         "cover2_proof": proof("cover2"), "request_id": "size-1", "sig": _sig("size")},
        {"kind": "df-epoch", "cycle": 0, "epoch": 1, "members": ["A", "B"], "D": 8000000, "proof": proof("epoch"),
         "request_id": "epoch.1", "sig": _sig("epoch")},
        {"kind": "ccp-params", "cycle": 0, "skin_in_the_game_1": 500000, "skin_in_the_game_2": 2000000,
         "assessment_cap_multiple": 3, "request_id": "ccp-1", "op_sig": op("ccp")},
        {"kind": "trade", "trade": trade, "proof": proof("trade"), "request_id": "trade-1", "sig": _sig("trade")},
        {"kind": "affirm", "trade_id": "t-1", "member": "B", "request_id": "aff-1", "sig": _sig("affirm")},
        {"kind": "receipt", "trade_id": "t-1", "request_id": "rcpt.1", "sig": _sig("receipt")},
        {"kind": "pretrade-refusal", "trade_id": "t-2", "members": ["B"], "H_buyer": _point_hex("headroom-A"),
         "H_seller": _point_hex("headroom-B"), "request_id": "refusal.1", "sig": _sig("refusal")},
        {"kind": "settle", "cycle": 3, "prices": [501000, 13020],
         "scenario_set": {"version": SCENARIO_VERSION, "matrix": SCENARIO_MATRIX,
                          "id": m.scenario_set_id(SCENARIO_VERSION, INSTRUMENT_IDS, SCENARIO_MATRIX).hex()},
         "request_id": "settle-3", "op_sig": op("settle")},
        {"kind": "margin-batch", "cycle": 3, "entries": [
            {"member": "A", "solvency_only": False, "ctx_seq": 41, "proof": proof("margin-A")},
            {"member": "B", "solvency_only": True, "ctx_seq": 42, "proof": proof("margin-B")}],
         "results": {"A": "pass", "B": "call"}, "request_id": "margin.1", "sig": _sig("margin")},
        {"kind": "margin-cure", "cycle": 3, "member": "B", "solvency_only": False, "ctx_seq": 45,
         "proof": proof("cure"), "request_id": "cure.1", "sig": _sig("cure")},
        {"kind": "withdraw", "member": "A", "amount": 1000000, "cycle": 3, "ctx_seq": 44, "proof": proof("wd"),
         "request_id": "wd-1", "sig": _sig("withdraw")},
        # issue 14 §1: an intraday run on operator-signed marks (clearing.protocol.intraday)
        {"kind": "intraday", "cycle": 3, "run": 1, "marks": [501500, 13020], "request_id": "intraday-3-1",
         "op_sig": op("intraday")},
        {"kind": "intraday-batch", "cycle": 3, "run": 1, "entries": [
            {"member": "A", "solvency_only": False, "ctx_seq": 46, "proof": proof("intraday-A")}],
         "results": {"A": "pass"}, "request_id": "intraday.1", "sig": _sig("intraday-batch")},
        {"kind": "default", "cycle": 3, "member": "B", "request_id": "dflt-1", "op_sig": op("default")},
        {"kind": "default-insolvency", "cycle": 3, "member": "B", "reason": "insolvency filing",
         "request_id": "insolv-1", "op_sig": op("insolvency")},
        {"kind": "liquidate", "cycle": 3, "member": "B", "request_id": "liq-1", "op_sig": op("liquidate")},
        {"kind": "dm-open", "cycle": 3, "defaulters": ["B"], "survivors": ["A"], "D0": 5000000,
         "D0_proof": filler("D0", 66).hex(),
         "disclosures": {"B": {"values": [-1200000, 3000000, -7, 0], "proof": filler("disclosure-B", 130).hex()}},
         "request_id": "dm-open.1", "sig": _sig("dm-open")},
        {"kind": "dm-closeout", "cycle": 3, "index": 1, "prices": [499000, 12990], "lots": [
            {"winner": "A", "instrument": "ESX", "quantity": 4},
            {"winner": AUCTION, "instrument": "FGBL", "quantity": -2}],
         "request_id": "closeout-1", "op_sig": op("closeout")},
        {"kind": "dm-shares", "cycle": 3, "index": 1, "purpose": "default-fund", "R": 700000,
         "shares": [_point_hex("share-A")], "total": 700000, "proof": proof("shares"),
         "total_proof": filler("shares-total", 66).hex(), "request_id": "dm-shares.1", "sig": _sig("shares")},
        {"kind": "assessment-pay", "member": "A", "index": 1, "amount": 300000, "cycle": 3, "ctx_seq": 50,
         "proof": proof("pay"), "request_id": "pay-1", "sig": _sig("pay")},
        {"kind": "assessment-settle", "member": "A", "index": 1, "cycle": 3, "ctx_seq": 51, "proof": proof("as"),
         "request_id": "settle-1", "sig": _sig("settle")},
        {"kind": "close", "cycle": 3, "digest": filler("digest", 32).hex(), "request_id": "close-3",
         "node_sig": _sig("close")},
    ]


__all__ = ["PARTIES", "MessageSample", "message_samples", "event_samples", "event_variants", "models_supported",
           "ES_MODEL", "ed25519_key", "x25519_key",
           "ed_pub", "x_pub", "sample_trade", "sample_config", "trade_blinding", "scalar", "filler",
           "TRADE_QUANTITY", "SCENARIO_VERSION", "SCENARIO_MATRIX", "INSTRUMENT_IDS"]
