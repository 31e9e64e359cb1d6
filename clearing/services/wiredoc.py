"""Regenerate the code-defined sections of docs/wire.md (the wire specification).

    python -m clearing.services.wiredoc            # rewrite the generated sections
    python -m clearing.services.wiredoc --check    # exit 1 if the doc is stale

docs/wire.md is prose written by hand with *generated sections* between
``<!-- wiredoc:begin NAME -->`` and ``<!-- wiredoc:end NAME -->``; this module
renders each section from the code that defines the format, so the doc
cannot drift from it (tests/test_wire_doc.py fails while it is stale):

``constants``     protocol constants read from the modules that define them
``tuple-example`` one signed tuple taken apart byte by byte (the encoder's
                  output is checked against the annotation while rendering)
``messages``      every signed tuple: kind, fields in order, value types (from
                  :mod:`clearing.services.wiredoc_samples` run through the
                  ``*_message`` functions), who signs, when, where it travels
``events``        every ledger event kind with its fields and JSON types
                  (sample bodies checked by :func:`clearing.protocol.events.parse`)
``statements``    each statement's transcript order, read from the ``_bind``
                  methods of :mod:`zkp.statements` (their source, via ``ast``)
``status-map``    the exception -> status table of :mod:`clearing.services.rpc`
``rpcs``          every RPC of the compiled protos with its callers and status
                  codes (:mod:`clearing.services.wiredoc_rpcs`)

Rendering refuses (``WireDocError``) when the hand-written notes disagree
with the code: a signed message kind or an event kind without a note, a note
for a kind or field that does not exist, an RPC of the protos without an
entry in ``wiredoc_rpcs.RPC_NOTES`` or an entry for no RPC.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import pkgutil
import re
import sys
import textwrap
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zkp
from clearing.api import admin_pb2, auditor_pb2, clearing_pb2, prover_pb2
from clearing.protocol import encoding, errors, events, fields, relay, signing
from clearing.protocol import messages as msgs
from clearing.protocol.vm_gains import VM_PURPOSES
from clearing.services import auditor, clearing_service, pending_stream, pki, prover_service, rpc, wiredoc_rpcs
from clearing.services import config as services_config
from clearing.services import wiredoc_samples as samples
from prover.custody import thin
from zkp import generators as gens_mod
from zkp import statements as zst
from zkp import transcript as ztr

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DOC = REPO_ROOT / "docs" / "wire.md"
_BEGIN = "<!-- wiredoc:begin {} -->"
_END = "<!-- wiredoc:end {} -->"
_SECTION_RE = re.compile(r"<!-- wiredoc:begin ([a-z-]+) -->\n(.*?)<!-- wiredoc:end \1 -->", re.S)


class WireDocError(Exception):
    """The hand-written notes and the code disagree, or the doc's markers are broken."""


# -- signed messages ---------------------------------------------------------------------------
#: kind -> (signer, when it is signed and where the signature travels).  The
#: signer names a party role; "member" is the member named in the tuple.
MESSAGE_NOTES: dict[str, tuple[str, str]] = {
    "genesis": ("operator", "once, before the ledger exists: `genesis.json` `op_sig`; the ledger's first event "
                            "(`genesis.op_sig`)"),
    "kem-key": ("the key's owner (a member, or the prover service with owner `prover`)",
                "at key generation: `RegisterRequest.relay_signature`, `admit.relay_sig`; the prover's is "
                "genesis `keys.prover_relay_sig`"),
    "admission": ("operator", "to admit a member: `RegisterRequest.operator_signature`, `admit.op_sig`"),
    "deposit": ("member", "per deposit: `DepositRequest.signature`, `deposit.sig`"),
    "default-funding": ("member", "per funding filing, over the new df commitment (from "
                                  "`ProverService.PrepareFunding` or the member's own): "
                                  "`ProveFundingRequest.signature` and `FundDefaultRequest.signature`, "
                                  "`df-fund.sig`"),
    "trade": ("member (the initiator: the buyer when side is \"buy\", else the seller)",
              "per trade: `SubmitTradeRequest.signature`, `trade.sig`; its canonical bytes are also the "
              "TradeValidity statement's `trade-tuple` and the relay's associated data"),
    "affirmation": ("member (the counterparty)", "to affirm: `AffirmTradeRequest.signature`, `affirm.sig`"),
    "prover-receipt": ("prover", "after opening the relayed opening and checking it against T: "
                                 "`Receipt.signature`, `receipt.sig`"),
    "pretrade-refusal": ("prover", "instead of a receipt, when a side of the trade lacks pre-trade headroom "
                                   "(issue 14 §1): `Receipt.refusal_signature`, `pretrade-refusal.sig`"),
    "scenario-set": ("nobody (hashed, never signed itself)",
                     "SHA-256 of its canonical tuple is the scenario-set id, signed inside `settlement`; the "
                     "instruments are the genesis instrument ids in order (not sent in `SettleRequest`)"),
    "settlement": ("operator", "per cycle: `SettleRequest.operator_signature`, `settle.op_sig`"),
    "margin-batch": ("prover", "per cycle: `MarginBatch.signature` (ProveMargin), `margin-batch.sig`"),
    "margin-proof": ("prover", "per cure: `CureProof.signature` (ProveCure), `margin-cure.sig`"),
    "intraday": ("operator", "per intraday run (issue 14 §1): `IntradayRunRequest.operator_signature`, "
                             "`intraday.op_sig`"),
    "intraday-set": ("nobody (hashed, never signed itself)",
                     "SHA-256 of its canonical tuple is the id of an intraday run's derived scenario set, which "
                     "the run's margin statements bind (issue 14 §1, clearing.protocol.intraday)"),
    "intraday-batch": ("prover", "per intraday run: `MarginBatch.signature` (ProveIntraday), "
                                 "`intraday-batch.sig`"),
    "withdrawal": ("member", "per withdrawal: `ProveWithdrawalRequest.signature` and "
                             "`WithdrawRequest.signature`, `withdraw.sig`; its canonical bytes are the "
                             "Withdrawal statement's `request`"),
    "default-declaration": ("operator", "to declare a default: `DeclareDefaultRequest.operator_signature`, "
                                        "`default.op_sig`; its canonical bytes are the Disclosure statement's "
                                        "`declaration`"),
    "ccp-parameters": ("operator", "`SetCcpParametersRequest.operator_signature`, `ccp-params.op_sig`"),
    "insolvency-declaration": ("operator", "to declare any member insolvent, with its reason (issue 14 §4): "
                                           "`DeclareInsolvencyRequest.operator_signature`, "
                                           "`default-insolvency.op_sig`"),
    "liquidation": ("operator", "to liquidate a member that failed maintenance (issue 14 §2): "
                                "`LiquidateRequest.operator_signature`, `liquidate.op_sig`"),
    "default-fund-sizing": ("member", "per sizing filing in a funding window (issue 14 §4): "
                                      "`ProveSizingRequest.signature` and `FileSizingRequest.signature`, "
                                      "`df-size.sig`"),
    "cycle-digest": ("node (the clearing node's key, genesis `keys.node`)",
                     "at cycle close: `close.node_sig` (the digest is also `CycleDigest.digest`)"),
    "default-open": ("prover", "`DefaultOpen.signature` (ProveDefaultOpen), `dm-open.sig`"),
    "default-fund-epoch": ("prover", "`EpochTotal.signature` (ProveEpochTotal), `df-epoch.sig`"),
    "close-out": ("operator", "`CloseOutRequest.operator_signature`, `dm-closeout.op_sig`"),
    "pro-rata-shares": ("prover", "`DefaultShares.signature` (ProveDefaultShares), `dm-shares.sig`"),
    "assessment-payment": ("member", "`ProveAssessmentRequest.signature` and `PayAssessmentRequest.signature`, "
                                     "`assessment-pay.sig`; its canonical bytes are the AssessmentSettlement "
                                     "statement's `tag`"),
    "assessment-from-cash": ("member", "`ProveAssessmentFromCashRequest.signature` and "
                                       "`SettleAssessmentRequest.signature`, `assessment-settle.sig`; its "
                                       "canonical bytes are the AssessmentFromCash statement's `request`"),
}

#: (kind, field) -> what the value is, where it is not obvious.
FIELD_NOTES: dict[tuple[str, str], str] = {
    ("genesis", "config"): "the canonical JSON bytes (§2) of genesis `config`",
    ("kem-key", "alg"): "always the string \"x25519\"",
    ("kem-key", "public-key"): "raw X25519 public key (32)",
    ("admission", "key"): "raw Ed25519 identity key (32)",
    ("admission", "relay-key"): "raw X25519 relay key (32)",
    ("default-funding", "df"): "the new contribution's commitment, 32-byte point encoding",
    ("trade", "side"): "the string \"buy\" or \"sell\" (the initiator's side; the wire carries the `Side` enum)",
    ("trade", "T"): "the commitment T, 32-byte point encoding (`Trade.commitment` on the wire, hex in JSON, "
                    "raw here)",
    ("affirmation", "trade"): "SHA-256 of the canonical bytes of the `trade` tuple",
    ("prover-receipt", "trade"): "SHA-256 of the canonical bytes of the `trade` tuple",
    ("prover-receipt", "headroom-proof"): "SHA-256 of the headroom debit proof bytes",
    ("pretrade-refusal", "trade"): "SHA-256 of the canonical bytes of the `trade` tuple",
    ("pretrade-refusal", "members"): "the short sides, buyer first",
    ("pretrade-refusal", "H-buyer"): "the buyer's headroom commitment C(H) it was refused against, 32-byte point",
    ("pretrade-refusal", "H-seller"): "the seller's headroom commitment, 32-byte point",
    ("scenario-set", "instruments"): "genesis instrument ids, in genesis order",
    ("scenario-set", "matrix"): "rows S x I of per-contract P&L (signed ints); in a scan set row 0 is all zeros",
    ("settlement", "scenario-set"): "the scenario-set id: SHA-256 of the canonical `scenario-set` tuple",
    ("margin-batch", "entries"): "per member: [member, solvency-only, ctx-seq, SHA-256(proof bytes)]",
    ("margin-proof", "proof"): "SHA-256 of the proof bytes",
    ("cycle-digest", "digest"): "the cycle digest (section 5)",
    ("default-open", "disclosures"): "per defaulter, in `defaulters` order: [member, [values], "
                                     "SHA-256(reveal proof bytes)]",
    ("default-open", "D0-proof"): "SHA-256 of the proof bytes",
    ("default-fund-epoch", "proof"): "SHA-256 of the proof bytes",
    ("close-out", "event"): "the default event's index (named `index` in the RPC and the ledger)",
    ("close-out", "lots"): "per lot: [winner, instrument, signed quantity]",
    ("pro-rata-shares", "event"): "the default event's index (named `index` in the RPC and the ledger)",
    ("pro-rata-shares", "shares"): "the survivors' share commitments, raw 32-byte points, in survivor order",
    ("pro-rata-shares", "purpose"): "the tranche: \"default-fund\" (4), \"assessment\" (6), or "
                                    + " / ".join(f"\"{p}\"" for p in VM_PURPOSES) + " (8, VM gains)",
    ("pro-rata-shares", "proof"): "SHA-256 of the proof bytes",
    ("pro-rata-shares", "total-proof"): "SHA-256 of the proof bytes",
    ("assessment-payment", "event"): "the default event's index (named `index` in the RPC and the ledger)",
    ("assessment-from-cash", "event"): "the default event's index (named `index` in the RPC and the ledger)",
}


def _type(v: Any) -> str:
    """The canonical-encoding type of a sample value."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, str):
        return "str"
    if isinstance(v, (bytes, bytearray)):
        return f"bytes({len(v)})" if len(v) in (32, 64) else "bytes"
    if isinstance(v, (list, tuple)):
        if not v:
            return "list"
        inner = {_type(x) for x in v}
        if len(inner) == 1:
            return f"list of {inner.pop()}"
        return "[" + ", ".join(_type(x) for x in v) + "]"
    raise WireDocError(f"cannot describe a {type(v).__name__}")


def _message_kinds() -> list[str]:
    """The kinds the ``*_message`` functions of clearing.protocol.messages
    produce (plus kem-key and scenario-set), from the samples."""
    return [s.build()[0] for s in samples.message_samples()]


def _check_message_coverage() -> None:
    fns = sorted(n for n, f in vars(msgs).items() if n.endswith("_message") and inspect.isfunction(f))
    sampled = sorted(s.function for s in samples.message_samples() if s.function.endswith("_message"))
    if fns != sampled:
        raise WireDocError(f"message functions without a sample: {sorted(set(fns) - set(sampled))}; "
                           f"samples of no function: {sorted(set(sampled) - set(fns))}")
    kinds = set(_message_kinds())
    if kinds != set(MESSAGE_NOTES):
        raise WireDocError(f"signed kinds without a note: {sorted(set(kinds) - set(MESSAGE_NOTES))}; "
                           f"notes of no kind: {sorted(set(MESSAGE_NOTES) - set(kinds))}")
    fields = {(k, n) for s in samples.message_samples() for k, fs in [s.build()] for n, _ in fs}
    stale = sorted(set(FIELD_NOTES) - fields)
    if stale:
        raise WireDocError(f"field notes of no field: {stale}")


def render_messages() -> str:
    _check_message_coverage()
    out = []
    for s in samples.message_samples():
        kind, fields = s.build()
        signer, when = MESSAGE_NOTES[kind]
        fn = "signing.sign_kem_key" if s.function == "kem_key" else (
            "messages.scenario_set_id" if s.function == "scenario_set" else f"messages.{s.function}")
        fn = {"intraday.marks": "intraday.intraday_message", "intraday.set": "intraday.derived_id",
              "intraday.batch": "intraday.batch_message"}.get(s.function, fn)  # issue 14 §1
        if s.variant:
            out.append(f"#### `{kind}` ({s.variant})\n")
            out.append(f"The same kind when {s.variant_text()}.\n")
        else:
            out.append(f"#### `{kind}`\n")
            out.append(f"Signed by: {signer}. When and where: {when}. Code: `clearing.protocol.{fn}`.\n")
        out.append("| # | field | type | value |")
        out.append("|---|---|---|---|")
        for i, (name, value) in enumerate(fields, 1):
            note = FIELD_NOTES.get((kind, name), "")
            out.append(f"| {i} | `{name}` | {_type(value)} | {note} |")
        out.append("")
    return "\n".join(out)


# -- the tuple example ------------------------------------------------------------------------
def _annotate_value(v: Any, out: list[tuple[bytes, str]], depth: int) -> None:
    pad = "  " * depth
    if v is None:
        out.append((b"\x00", f"{pad}tag 0x00 null"))
    elif isinstance(v, bool):
        out.append((b"\x02" if v else b"\x01", f"{pad}tag {'0x02 true' if v else '0x01 false'}"))
    elif isinstance(v, int):
        mag = abs(v).to_bytes((abs(v).bit_length() + 7) // 8, "big")
        out.append((b"\x04" if v < 0 else b"\x03", f"{pad}tag {'0x04 negative' if v < 0 else '0x03 non-negative'}"
                                                   " int"))
        out.append((len(mag).to_bytes(4, "big"), f"{pad}u32 magnitude length {len(mag)}"))
        out.append((mag, f"{pad}magnitude of {v} (minimal big-endian)"))
    elif isinstance(v, str):
        raw = v.encode()
        out.append((b"\x05", f"{pad}tag 0x05 string"))
        out.append((len(raw).to_bytes(4, "big"), f"{pad}u32 length {len(raw)}"))
        out.append((raw, f"{pad}UTF-8 {v!r}"))
    elif isinstance(v, (bytes, bytearray)):
        out.append((b"\x06", f"{pad}tag 0x06 bytes"))
        out.append((len(v).to_bytes(4, "big"), f"{pad}u32 length {len(v)}"))
        out.append((bytes(v), f"{pad}raw bytes"))
    else:
        out.append((b"\x07", f"{pad}tag 0x07 list"))
        out.append((len(v).to_bytes(4, "big"), f"{pad}u32 item count {len(v)}"))
        for x in v:
            _annotate_value(x, out, depth + 1)


def annotate_tuple(kind: str, fields: list) -> list[tuple[bytes, str]]:
    """The canonical encoding of a tuple as (bytes, meaning) pieces; their
    concatenation is checked against :func:`signing.encode_tuple`."""
    out: list[tuple[bytes, str]] = [(signing.DOMAIN_PREFIX + kind.encode() + b"\x00",
                                     f"domain \"zkclear.v1/{kind}\" and NUL"),
                                    (len(fields).to_bytes(4, "big"), f"u32 field count {len(fields)}")]
    for name, value in fields:
        out.append((len(name).to_bytes(4, "big") + name.encode(), f"field name {name!r} (u32 length, ASCII)"))
        _annotate_value(value, out, 1)
    if b"".join(b for b, _ in out) != signing.encode_tuple(kind, fields):
        raise WireDocError("the annotated encoding differs from signing.encode_tuple")
    return out


def render_tuple_example() -> str:
    sample = next(s for s in samples.message_samples() if s.function == "closeout_message")
    kind, fields = sample.build()
    lines = [f"`{kind}` with {', '.join(f'{n}={v!r}' for n, v in fields)}:", "", "```text"]
    offset = 0
    for b, meaning in annotate_tuple(kind, fields):
        for k in range(0, len(b), 16):
            chunk = b[k:k + 16]
            lines.append(f"{offset + k:04x}  {chunk.hex(' '):<47}  {meaning if k == 0 else ''}".rstrip())
        offset += len(b)
    lines.append("```")
    return "\n".join(lines) + "\n"


# -- ledger events ----------------------------------------------------------------------------
#: event kind -> (the signed tuple its signature covers, the RPC that writes it)
EVENT_NOTES: dict[str, tuple[str, str]] = {
    "genesis": ("genesis", "the node's first start, from genesis.json"),
    "admit": ("admission (op_sig); kem-key (relay_sig)", "ClearingService.Register, AdminService.Admit"),
    "deposit": ("deposit", "ClearingService.Deposit"),
    "df-fund": ("default-funding", "ClearingService.FundDefault"),
    "df-epoch": ("default-fund-epoch", "AdminService.OpenEpoch"),
    "ccp-params": ("ccp-parameters", "AdminService.SetCcpParameters"),
    "trade": ("trade", "ClearingService.SubmitTrade"),
    "affirm": ("affirmation", "ClearingService.AffirmTrade"),
    "receipt": ("prover-receipt", "the node, after ProverService.PushOpening"),
    "pretrade-refusal": ("pretrade-refusal", "the node, after ProverService.PushOpening answers with a refusal"),
    "settle": ("settlement", "AdminService.Settle"),
    "margin-batch": ("margin-batch", "AdminService.RunMargin"),
    "margin-cure": ("margin-proof", "ClearingService.RequestCure"),
    "intraday": ("intraday", "AdminService.IntradayRun"),
    "intraday-batch": ("intraday-batch", "AdminService.IntradayRun, after ProverService.ProveIntraday"),
    "withdraw": ("withdrawal", "ClearingService.Withdraw"),
    "default": ("default-declaration", "AdminService.DeclareDefault"),
    "dm-open": ("default-open", "AdminService.OpenDefaultEvent"),
    "dm-closeout": ("close-out", "AdminService.CloseOut"),
    "dm-shares": ("pro-rata-shares", "AdminService.CloseOut (each pending allocation)"),
    "assessment-pay": ("assessment-payment", "ClearingService.PayAssessment"),
    "assessment-settle": ("assessment-from-cash", "ClearingService.SettleAssessment"),
    "close": ("cycle-digest", "AdminService.CloseCycle"),
    "df-size": ("default-fund-sizing", "ClearingService.FileSizing"),
    "default-insolvency": ("insolvency-declaration", "AdminService.DeclareInsolvency"),
    "liquidate": ("liquidation", "AdminService.Liquidate"),
}


def _json_type(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, str):
        return "hex" if v and re.fullmatch(r"[0-9a-f]{32,}", v) else "str"
    if isinstance(v, list):
        if not v:
            return "[]"
        kinds = sorted({_json_type(x) for x in v})
        return f"[{kinds[0]}]" if len(kinds) == 1 else f"[{' | '.join(kinds)}]"
    if isinstance(v, dict):
        if v and set(v) <= set(samples.PARTIES):  # keyed by member id
            return "{member: " + " | ".join(sorted({_json_type(x) for x in v.values()})) + "}"
        return "{" + ", ".join(f"{k} {_json_type(x)}" for k, x in v.items()) + "}"
    raise WireDocError(f"not a JSON value: {type(v).__name__}")


def render_events() -> str:
    bodies = samples.event_samples()
    kinds = [b["kind"] for b in bodies]
    if sorted(kinds) != sorted(events.EVENTS) or len(set(kinds)) != len(kinds):
        raise WireDocError(f"event samples {sorted(kinds)} are not one per kind {sorted(events.EVENTS)}")
    if sorted(EVENT_NOTES) != sorted(events.EVENTS):
        raise WireDocError("EVENT_NOTES must have one entry per event kind")
    signed = set(_message_kinds())
    out = ["| kind | fields (JSON types from a sample; canonical JSON sorts the keys) | signature covers "
           "| written by |", "|---|---|---|---|"]
    for b in bodies:
        ev = events.parse(b)
        if ev.to_body() != b:
            raise WireDocError(f"{b['kind']}: sample does not round-trip")
        tuples, writer = EVENT_NOTES[b["kind"]]
        for t in re.findall(r"[a-z][a-z-]+(?= \(|$|;)", tuples):
            if t not in signed:
                raise WireDocError(f"event {b['kind']}: no signed tuple {t!r}")
        fields = ", ".join(f"`{k}` {_json_type(v)}" for k, v in b.items() if k != "kind")
        out.append(f"| `{b['kind']}` | {fields} | {tuples} | {writer} |")
    for name, b in samples.event_variants():
        if events.parse(b).to_body() != b:
            raise WireDocError(f"{b['kind']} ({name}): sample does not round-trip")
        fields = ", ".join(f"`{k}` {_json_type(v)}" for k, v in b.items() if k != "kind")
        out.append(f"| `{b['kind']}` ({name}) | {fields} | {EVENT_NOTES[b['kind']][0]} | "
                   f"{EVENT_NOTES[b['kind']][1]} |")
    return "\n".join(out) + "\n"


# -- statement transcripts -----------------------------------------------------------------------
_APPEND = {"append_u64": "u64 (8 bytes BE)", "append_int": "signed int (two's complement, minimal)",
           "append_message": "bytes", "append_point": "point (32)", "append_scalar": "scalar (32)",
           "append_points": "points: u64 count under label + \".len\", then each point"}


def _simplify(expr: ast.expr) -> str:
    text = ast.unparse(expr)
    text = re.sub(r"_check_point\('[^']*', (.*)\)$", r"\1", text)
    text = re.sub(r"^(?:bytes|int)\((.*)\)$", r"\1", text)
    text = re.sub(r"^([\w.]+)\.encode\(\)$", r"\1 (UTF-8)", text)
    return text.replace("self.", "")


def _bind_lines(cls: type, method: str, depth: int) -> list[str]:
    fn = getattr(cls, method)
    src = textwrap.dedent(inspect.getsource(fn))
    body = ast.parse(src).body[0]
    assert isinstance(body, ast.FunctionDef)
    return _stmts(cls, body.body, depth)


def _attr_class(cls: type, attr: str, method: str) -> type | None:
    """The class of ``cls``'s field ``attr`` (from its type hints) that
    defines ``method``, if any."""
    try:
        hint = typing.get_type_hints(cls).get(attr)
    except (NameError, TypeError):
        return None
    for c in (hint, *typing.get_args(hint)):
        if isinstance(c, type) and hasattr(c, method):
            return c
    return None


def _stmts(cls: type, stmts: list[ast.stmt], depth: int) -> list[str]:
    """What the statements ``stmts`` (of a method of ``cls`` that takes the
    transcript ``t``) absorb, one line per append, in order; calls of
    ``self``'s methods or fields that pass ``t`` are inlined, loops and
    branches kept, code that does not touch ``t`` left out."""
    pad = "    " * depth
    out: list[str] = []
    for st in stmts:
        if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) and isinstance(st.value.func, ast.Attribute):
            call, attr = st.value, st.value.func
            owner = ast.unparse(attr.value)
            if owner == "t" and attr.attr in _APPEND and call.args:
                label = ast.literal_eval(call.args[0])
                label = label.decode() if isinstance(label, bytes) else str(label)
                out.append(f"{pad}{label!r:<18} {_APPEND[attr.attr]:<40} {_simplify(call.args[1])}")
                continue
            if not any(isinstance(a, ast.Name) and a.id == "t" for a in call.args):
                continue  # does not touch the transcript (a check)
            if owner == "self" and hasattr(cls, attr.attr):
                out.extend(_bind_lines(cls, attr.attr, depth))
                continue
            if owner.startswith("self.") and owner.count(".") == 1:
                field_cls = _attr_class(cls, owner[5:], attr.attr)
                if field_cls is not None:
                    out.extend(_bind_lines(field_cls, attr.attr, depth))
                    continue
        if isinstance(st, (ast.Pass, ast.Return)) or (isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant)):
            continue
        if isinstance(st, ast.For):
            out.append(f"{pad}for {ast.unparse(st.target)} in {_simplify(st.iter)}:")
            out.extend(_stmts(cls, st.body, depth + 1))
            continue
        if isinstance(st, ast.If):
            out.append(f"{pad}if {_simplify(st.test)}:")
            out.extend(_stmts(cls, st.body, depth + 1))
            if st.orelse:
                out.append(f"{pad}else:")
                out.extend(_stmts(cls, st.orelse, depth + 1))
            continue
        if isinstance(st, ast.Assign) and [ast.unparse(x) for x in st.targets] == ["t"]:
            out.append(f"{pad}t = {_simplify(st.value)}")
            continue
        out.append(f"{pad}# {ast.unparse(st)}")
    return out


def _fork_lines(cls: type) -> list[str]:
    """Other transcripts a statement forks for its proofs (``*_transcript``
    methods of its own, e.g. an OR-proof per survivor)."""
    out = []
    for klass in cls.__mro__:
        if klass is zst.Statement or not issubclass(klass, zst.Statement):
            continue
        for name, fn in vars(klass).items():
            if name.endswith("_transcript") and name != "transcript" and inspect.isfunction(fn):
                out.append(f"-- {name}: a fork per proof of its own:")
                out.extend("    " + ln for ln in _fn_lines(fn, klass))
    return out


def statement_classes() -> list[type[zst.Statement]]:
    """Every statement class with a KIND (subclasses of zkp.statements.Statement,
    wherever defined in zkp), by module and source order."""
    for info in pkgutil.iter_modules(zkp.__path__):
        importlib.import_module(f"zkp.{info.name}")
    found: list[type[zst.Statement]] = []
    todo: list[type[zst.Statement]] = list(zst.Statement.__subclasses__())
    while todo:
        c = todo.pop()
        todo.extend(c.__subclasses__())
        if c.KIND and c.__module__.startswith("zkp.") and c not in found:
            found.append(c)
    return sorted(found, key=lambda c: (c.__module__ != zst.__name__, c.__module__, inspect.getsourcelines(c)[1]))


def _chunk_lines(cls: type) -> list[str]:
    """How one chunk's transcript starts (zkp.statements.chunk_transcript)."""
    if getattr(cls, "FOLDED", False) and hasattr(zst, "seeded_chunk_transcript"):
        lines = [f"{'chunk-seed'!r:<18} {'64-byte challenge on a clone':<40} seed (statement_seed)",
                 "-- chunk k: a fresh bound transcript (seeded_chunk_transcript):"]
        return lines + ["    " + ln for ln in _fn_lines(zst.seeded_chunk_transcript)]
    return [f"{'chunk'!r:<18} {_APPEND['append_u64']:<40} chunk index k (on a clone, per proof)"]


def _fn_lines(fn: Callable[..., Any], cls: type = object) -> list[str]:
    body = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    assert isinstance(body, ast.FunctionDef)
    return _stmts(cls, body.body, 0)


def render_statements() -> str:
    out = []
    for cls in statement_classes():
        ranged = cls.forms is not zst.Statement.forms
        proof = (f"range statement: one aggregated {cls.BITS}-bit range proof per chunk of derived commitments"
                 if ranged else "reveal statement: one commits-to-zero (reveal) proof per revealed commitment")
        kind = cls.KIND.decode()
        folded = " Verified folded (FOLDED = True)." if getattr(cls, "FOLDED", False) else ""
        out.append(f"#### {cls.__name__} (`{kind}`, `{cls.__module__}`)\n")
        out.append(f"{proof}.{folded}\n")
        out.append("```text")
        out.append(f"Transcript(\"{zst.PROTOCOL.decode()}{kind}\")")
        out.append(f"{'curve'!r:<18} {'bytes':<40} \"{zst.CURVE_ID.decode()}\"")
        out.append(f"{'gens'!r:<18} {'bytes':<40} generator-set id (32)")
        out.extend(_bind_lines(zst.Context, "bind", 0))
        out.extend(_bind_lines(cls, "_bind", 0))
        if ranged:
            out.extend(_chunk_lines(cls))
            out.append("-- then the range proof's transcript (section 8.3)")
            out.extend(_fork_lines(cls))
        else:
            out.append(f"{'item'!r:<18} {_APPEND['append_u64']:<40} item index k (on a clone, per proof)")
            out.append("-- then the reveal proof's transcript (section 8.4)")
        out.append("```\n")
    return "\n".join(out)


# -- RPCs ---------------------------------------------------------------------------------------
_PB2 = (clearing_pb2, admin_pb2, prover_pb2, auditor_pb2)
#: services whose mutating requests the clearing node records by request id
#: (section 12); the prover's requests carry the member's signed id only
_LEDGER_SERVICES = ("ClearingService", "AdminService")


def proto_rpcs() -> list[tuple[str, Any]]:
    """("Service.Method", method descriptor) for every RPC of the protos."""
    out = []
    for mod in _PB2:
        for svc in mod.DESCRIPTOR.services_by_name.values():
            for meth in svc.methods:
                out.append((f"{svc.name}.{meth.name}", meth))
    return out


def render_rpcs() -> str:
    rpcs = proto_rpcs()
    names = [n for n, _ in rpcs]
    missing = sorted(set(names) - set(wiredoc_rpcs.RPC_NOTES))
    extra = sorted(set(wiredoc_rpcs.RPC_NOTES) - set(names))
    if missing or extra:
        raise WireDocError(f"RPCs without an entry in clearing/services/wiredoc_rpcs.py: {missing}; "
                           f"entries for no RPC: {extra}")
    for name, note in wiredoc_rpcs.RPC_NOTES.items():
        for code, _ in note.codes:
            if not hasattr(rpc.grpc.StatusCode, code):
                raise WireDocError(f"{name}: {code} is not a gRPC status code")
    out = []
    service = ""
    for name, meth in rpcs:
        svc = name.split(".")[0]
        if svc != service:
            service = svc
            out.append(f"#### {meth.containing_service.full_name}\n")
        note = wiredoc_rpcs.RPC_NOTES[name]
        stream = "stream " if meth.server_streaming else ""
        rid = "request_id" in meth.input_type.fields_by_name
        out.append(f"- **{meth.name}**(`{meth.input_type.name}`) → {stream}`{meth.output_type.name}`. "
                   f"Caller: {note.callers}."
                   + ((" Idempotent by `request_id`." if svc in _LEDGER_SERVICES else " Carries `request_id`.")
                      if rid else "")
                   + (" " + note.note if note.note else ""))
        for code, when in note.codes:
            out.append(f"  - `{code}`: {when}")
    return "\n".join(out) + "\n"


def render_common_codes() -> str:
    return "\n".join(f"- `{code}`: {when}" for code, when in wiredoc_rpcs.COMMON_CODES) + "\n"


def render_status_map() -> str:
    doc = rpc.__doc__ or ""
    rule = "=====================================  ==================="
    first = doc.find(rule)
    last = doc.rfind(rule)
    if first < 0 or last <= first:
        raise WireDocError("clearing.services.rpc's docstring has no status table")
    return "```text\n" + doc[first:last + len(rule)] + "\n```\n"


# -- constants ----------------------------------------------------------------------------------
def _workers(create: Callable[..., Any]) -> int:
    default = inspect.signature(create).parameters["max_workers"].default
    if not isinstance(default, int):
        raise WireDocError(f"{create.__module__}.create_server has no integer max_workers default")
    return default


def _auditor_workers() -> int:
    m = re.search(r"max_workers=(\d+)", inspect.getsource(auditor.create_server))
    if m is None:
        raise WireDocError("auditor.create_server names no max_workers")
    return int(m.group(1))


def constants() -> list[tuple[str, str, str]]:
    """(name, value, defined in) of every constant the doc quotes."""
    return [
        ("signed-tuple domain prefix", f"`{signing.DOMAIN_PREFIX.decode()}`", "clearing.protocol.signing"),
        ("tuple nesting limit (lists)", str(signing.MAX_DEPTH), "clearing.protocol.signing.MAX_DEPTH"),
        ("genesis chain hash h_0", f"`{encoding.GENESIS_HASH.hex()}`", "clearing.protocol.encoding"),
        ("relay version byte", f"0x{relay.RELAY_VERSION:02x}", "clearing.protocol.relay"),
        ("relay HKDF info label", f"`{relay.RELAY_INFO_LABEL.decode()}`", "clearing.protocol.relay"),
        ("sealed trade opening size", f"{relay.SEALED_OPENING_BYTES} bytes", "clearing.protocol.relay"),
        ("generator DST prefix", f"`{gens_mod.DOMAIN.decode()}`", "zkp.generators"),
        ("generator capacity (bp.G, bp.H)", str(gens_mod.CAPACITY), "zkp.generators"),
        ("generator-set id", f"`{gens_mod.GENERATOR_SET_ID.hex()}`", "zkp.generators"),
        ("transcript frame version", f"`{ztr._FRAME_VERSION.decode()}`", "zkp.transcript"),
        ("statement protocol prefix", f"`{zst.PROTOCOL.decode()}`", "zkp.statements"),
        ("curve id in transcripts", f"`{zst.CURVE_ID.decode()}`", "zkp.statements"),
        ("max message size (every request; answers on other channels)", f"{rpc.MAX_MESSAGE_BYTES} bytes",
         "clearing.services.rpc.MAX_MESSAGE_BYTES"),
        ("max answer size on the bulk flows (ProveMargin to the node; StreamLedger from the ledger feed to "
         "the prover and from the node to the auditor)", f"{rpc.MAX_BULK_BYTES} bytes",
         "clearing.services.rpc.MAX_BULK_BYTES"),
        ("calls in flight per server", str(rpc.MAX_PENDING_RPCS), "clearing.services.rpc.MAX_PENDING_RPCS"),
        ("default client deadline", f"{rpc.DEFAULT_TIMEOUT:g} s", "clearing.services.rpc.DEFAULT_TIMEOUT"),
        ("shutdown grace", f"{rpc.SHUTDOWN_GRACE:g} s", "clearing.services.rpc.SHUTDOWN_GRACE"),
        ("clearing node handler threads", str(_workers(clearing_service.create_server)),
         "clearing.services.clearing_service"),
        ("ledger feed handler threads", str(clearing_service.FEED_WORKERS), "clearing.services.clearing_service"),
        ("following pending-trade streams per member / in all",
         f"{pending_stream.FOLLOW_PER_MEMBER} / {pending_stream.FOLLOW_MAX} (each holds a handler thread of "
         "its own, added to the node's pool)", "clearing.services.pending_stream"),
        ("prover handler threads", str(_workers(prover_service.create_server)), "clearing.services.prover_service"),
        ("auditor handler threads", str(_auditor_workers()), "clearing.services.auditor"),
        ("VERIFY_TIME (node, before verifying)", f"{clearing_service.VERIFY_TIME:g} s",
         "clearing.services.clearing_service"),
        ("PROVE_TIME (node, before asking the prover)", f"{clearing_service.PROVE_TIME:g} s",
         "clearing.services.clearing_service"),
        ("PROVE_TIME (prover, before proving)", f"{prover_service.PROVE_TIME:g} s",
         "clearing.services.prover_service"),
        ("Ed25519 identity extension OID", f"`{pki.ED25519_IDENTITY_OID.dotted_string}`", "clearing.services.pki"),
        ("default ports", ", ".join(f"{k} {v}" for k, v in services_config.DEFAULT_PORTS.items()),
         "clearing.services.config.DEFAULT_PORTS"),
        ("status message length, at most", f"{errors.MAX_MESSAGE_CHARS} characters", "clearing.protocol.errors"),
        ("public amounts (deposits, withdrawals, payments), below", _pow2(zst.MAX_PUBLIC_AMOUNT), "zkp.statements"),
        ("prices, below", _pow2(zst.MAX_PRICE), "zkp.statements"),
        ("instrument multipliers, below", _pow2(zst.MAX_MULTIPLIER), "zkp.statements"),
        ("trade quantities q: 1 <= q <", _pow2(relay.MAX_QUANTITY), "clearing.protocol.relay"),
        ("scenarios per scenario set, at most", str(zst.MAX_SCENARIOS), "zkp.statements"),
        ("instruments, at most", str(zst.MAX_INSTRUMENTS), "zkp.statements"),
        ("assessment cap multiple, at most", str(zst.MAX_CAP_MULTIPLE), "zkp.statements"),
        ("cycles, below", _pow2(fields.MAX_CYCLES), "clearing.protocol.fields"),
        ("members, below", _pow2(fields.MAX_MEMBERS), "clearing.protocol.fields"),
        ("trades per member and instrument, below", _pow2(fields.MAX_TRADES), "clearing.protocol.fields"),
        ("proof size, at most", f"{fields.MAX_PROOF_BYTES} bytes", "clearing.protocol.fields"),
        ("relay ciphertext size, at most", f"{fields.MAX_SEALED_BYTES} bytes", "clearing.protocol.fields"),
        ("thin trades a member prepared in a cycle and has not submitted, at most", str(thin.MAX_OPEN_PREPARED),
         "prover.custody.thin.MAX_OPEN_PREPARED"),
    ]


def _pow2(v: int) -> str:
    """``2^k`` for a power of two, else the number."""
    return f"2^{v.bit_length() - 1}" if v > 0 and v & (v - 1) == 0 else str(v)


def render_constants() -> str:
    out = ["| constant | value | defined in |", "|---|---|---|"]
    out += [f"| {n} | {v} | `{w}` |" for n, v, w in constants()]
    return "\n".join(out) + "\n"


SECTIONS: dict[str, Callable[[], str]] = {
    "constants": render_constants,
    "tuple-example": render_tuple_example,
    "messages": render_messages,
    "events": render_events,
    "statements": render_statements,
    "status-map": render_status_map,
    "common-codes": render_common_codes,
    "rpcs": render_rpcs,
}


def render(text: str) -> str:
    """``text`` with every generated section rendered afresh."""
    found = [m.group(1) for m in _SECTION_RE.finditer(text)]
    if sorted(found) != sorted(SECTIONS) or len(set(found)) != len(found):
        raise WireDocError(f"docs/wire.md must hold each generated section once: found {found}, "
                           f"expected {sorted(SECTIONS)}")
    return _SECTION_RE.sub(lambda m: f"{_BEGIN.format(m.group(1))}\n{SECTIONS[m.group(1)]()}"
                                     f"{_END.format(m.group(1))}", text)


def stale(path: Path = DOC) -> bool:
    text = path.read_text(encoding="utf-8")
    return render(text) != text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m clearing.services.wiredoc", description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/wire.md is stale")
    ap.add_argument("--doc", type=Path, default=DOC)
    args = ap.parse_args(argv)
    text = args.doc.read_text(encoding="utf-8")
    fresh = render(text)
    if args.check:
        if fresh != text:
            print(f"{args.doc} is stale: run python -m clearing.services.wiredoc", file=sys.stderr)
            return 1
        return 0
    if fresh != text:
        args.doc.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
