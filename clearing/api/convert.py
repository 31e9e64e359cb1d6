"""Proto <-> domain conversion: the one place where wire values become the
engine's values and back.

Wire rules (see ``proto/zkclear/v1/common.proto``):

* a commitment is exactly 32 bytes, the canonical compressed BN254 G1
  encoding (:meth:`zkp.group.Point.decode` is strict: off-curve, non-canonical
  x, a wrong length, and the identity where one is not allowed are all
  rejected); the engine's domain form is the lowercase hex of those bytes;
* a scalar is exactly 32 bytes big-endian and < r (:func:`zkp.field.decode_scalar`);
* an integer that may exceed 64 bits is a canonical decimal string;
* keys are 32 bytes, signatures 64 bytes;
* every integer of a request lies in its field's range
  (:func:`check_integers`, run by :mod:`clearing.services.rpc` on every request as it
  is decoded, before any handler): an unsigned field below 2^63 -- the ledger
  and SQLite hold signed 64-bit integers, so ``since = 2^64 - 1`` is refused
  here instead of overflowing in SQLite -- and the fields named in
  :data:`INTEGER_RANGES` (a deposit's, withdrawal's or payment's ``amount``
  is at least 1, the ``assessment_cap_multiple`` at most 255) in theirs.  The engine and the
  statements check their tighter bounds (prices below 2^40, cycles below
  2^20, ...) themselves.

Every decoding failure raises :class:`ConversionError`, a subclass of
:class:`clearing.protocol.errors.InvalidArgument`, so the RPC layer answers
INVALID_ARGUMENT without inspecting messages.  Messages name the field, never
a value.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from clearing.protocol import headroom
from clearing.protocol.contracts import CureProof, DefaultOpening, Disclosed, ProRataAllocation, WindowTotal
from clearing.protocol.errors import InvalidArgument
from zkp.errors import DecodeError
from zkp.field import decode_scalar, encode_scalar
from zkp.group import Point

from . import admin_pb2, clearing_pb2, common_pb2

POINT_BYTES = 32
KEY_BYTES = 32
SIG_BYTES = 64
_DECIMAL_RE = re.compile(r"-?(0|[1-9][0-9]{0,99})")
_SIDES = {common_pb2.SIDE_BUY: "buy", common_pb2.SIDE_SELL: "sell"}
_SIDE_ENUM = {v: k for k, v in _SIDES.items()}


class ConversionError(InvalidArgument):
    """A wire value that is not a canonical encoding of its domain value."""


# -- integer ranges -------------------------------------------------------------------
#: One past the largest integer the ledger stores (signed 64-bit).
INT_LIMIT = 1 << 63


def integer(v, field: str, lo: int = 0, hi: int = INT_LIMIT) -> int:
    """An integer field in [lo, hi); the message names the field and the
    range, never the value."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConversionError(f"{field} must be an integer")
    if not lo <= v < hi:
        raise ConversionError(f"{field} out of range [{lo}, {'2^63' if hi == INT_LIMIT else hi})")
    return v


def amount(v, field: str = "amount") -> int:
    """A public amount in minor units: [1, 2^63)."""
    return integer(v, field, 1, INT_LIMIT)


def counter(v, field: str) -> int:
    """A sequence number, cycle, epoch or index: [0, 2^63)."""
    return integer(v, field, 0, INT_LIMIT)


def cap_multiple(v, field: str = "assessment_cap_multiple") -> int:
    """The assessment cap multiple: [0, 255]."""
    return integer(v, field, 0, 256)


#: Request fields ("Message.field") with a range of their own; every other
#: unsigned integer field is a :func:`counter` (a default-fund contribution,
#: PrepareFundingRequest.amount, may be 0).
INTEGER_RANGES: dict[str, Callable[[Any, str], int]] = {
    **{f"{m}.amount": amount for m in ("DepositRequest", "WithdrawRequest", "PayAssessmentRequest",
                                         "ProveWithdrawalRequest", "ProveAssessmentRequest")},
    "SetCcpParametersRequest.assessment_cap_multiple": cap_multiple,
}
_UNSIGNED = {FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64,
             FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32}
_SIGNED = {FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64,
           FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32}


def check_integers(msg) -> None:
    """Check every integer of a decoded request message (recursively, maps
    included; an absent field as its default 0, so a missing ``amount`` is
    refused too) against its range; :class:`ConversionError` naming the
    first field out of range.  Signed wire types fit the ledger's signed
    64-bit integers as they are."""
    for fd in msg.DESCRIPTOR.fields:
        value = getattr(msg, fd.name)
        values: Iterable[Any]
        if fd.type == FieldDescriptor.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry:
            fd, values = fd.message_type.fields_by_name["value"], list(value.values())
        elif fd.is_repeated:
            values = value
        elif fd.type == FieldDescriptor.TYPE_MESSAGE and not msg.HasField(fd.name):
            continue
        else:
            values = (value,)
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            for v in values:
                check_integers(v)
        elif fd.type in _UNSIGNED or fd.type in _SIGNED:
            name = f"{fd.containing_type.name}.{fd.name}"
            check = INTEGER_RANGES.get(name)
            if check is None and fd.type in _UNSIGNED:
                check = counter
            if check is not None:
                for v in values:
                    check(v, name)


# -- scalars, points, integers ---------------------------------------------------
def point(data: bytes, field: str, *, allow_identity: bool = False) -> str:
    """A 32-byte commitment on the wire -> the engine's hex form (validated)."""
    if not isinstance(data, (bytes, bytearray)) or len(data) != POINT_BYTES:
        raise ConversionError(f"{field} must be a {POINT_BYTES}-byte point encoding")
    try:
        Point.decode(bytes(data), allow_identity=allow_identity)
    except DecodeError as exc:
        raise ConversionError(f"{field}: {exc}") from None
    return bytes(data).hex()


def points(data: Iterable[bytes], field: str, *, allow_identity: bool = False) -> list[str]:
    return [point(d, field, allow_identity=allow_identity) for d in data]


def point_bytes(hexstr: str) -> bytes:
    """The engine's hex commitment -> wire bytes."""
    return bytes.fromhex(hexstr)


def scalar(data: bytes, field: str) -> int:
    """A 32-byte scalar on the wire -> int in [0, r)."""
    try:
        return decode_scalar(bytes(data))
    except (DecodeError, TypeError) as exc:
        raise ConversionError(f"{field}: {exc}") from None


def scalar_bytes(k: int) -> bytes:
    return encode_scalar(k)


def decimal(text: str, field: str) -> int:
    """A canonical decimal string -> int (no '+', no leading zeros, no '-0')."""
    if not isinstance(text, str) or _DECIMAL_RE.fullmatch(text) is None or text == "-0":
        raise ConversionError(f"{field} must be a canonical decimal integer")
    return int(text)


def to_decimal(v: int) -> str:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError("decimal fields hold integers")
    return str(v)


_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def request_id(text: str) -> str:
    """A client request id: [A-Za-z0-9][A-Za-z0-9._-]{0,63}."""
    if not isinstance(text, str) or _REQUEST_ID_RE.fullmatch(text) is None:
        raise ConversionError("request_id must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}")
    return text


def fixed(data: bytes, size: int, field: str) -> bytes:
    if not isinstance(data, (bytes, bytearray)) or len(data) != size:
        raise ConversionError(f"{field} must be {size} bytes")
    return bytes(data)


def key(data: bytes, field: str) -> bytes:
    return fixed(data, KEY_BYTES, field)


def signature(data: bytes, field: str = "signature") -> bytes:
    return fixed(data, SIG_BYTES, field)


def nonempty(data: bytes, field: str) -> bytes:
    if not data:
        raise ConversionError(f"{field} is required")
    return bytes(data)


# -- trades -------------------------------------------------------------------------
def trade(msg: common_pb2.Trade) -> dict:
    """Wire trade -> the engine's trade dict (the signed tuple's fields)."""
    side = _SIDES.get(msg.side)
    if side is None:
        raise ConversionError("trade side must be SIDE_BUY or SIDE_SELL")
    return {"trade_id": msg.trade_id, "cycle": msg.cycle, "buyer": msg.buyer, "seller": msg.seller,
            "instrument": msg.instrument, "side": side, "price": msg.price,
            "T": point(msg.commitment, "trade commitment")}


def trade_msg(t: dict) -> common_pb2.Trade:
    return common_pb2.Trade(trade_id=t["trade_id"], cycle=t["cycle"], buyer=t["buyer"], seller=t["seller"],
                            instrument=t["instrument"], side=_SIDE_ENUM[t["side"]], price=t["price"],
                            commitment=point_bytes(t["T"]))


def trade_status_msg(t: dict, seq: int = 0) -> clearing_pb2.TradeStatus:
    """A trade record -> its TradeStatus (with the short sides of its last
    pre-trade refusal, issue 14 §1)."""
    return clearing_pb2.TradeStatus(seq=seq, trade=trade_msg(t), status=t["status"],
                                    pretrade_refused=list(t.get("pretrade_refused", ())))


def side(v) -> str:
    """A wire ``Side`` -> "buy" / "sell" (SIDE_UNSPECIFIED is refused)."""
    s = _SIDES.get(v)
    if s is None:
        raise ConversionError("side must be SIDE_BUY or SIDE_SELL")
    return s


# -- accounts -------------------------------------------------------------------------
def account_msg(member: str, a: dict) -> common_pb2.Account:
    """``Engine.account`` dict -> wire."""
    return common_pb2.Account(member=member, cash=point_bytes(a["cash"]), df=point_bytes(a["df"]),
                              positions=[point_bytes(p) for p in a["pos"]],
                              due=b"" if a["due"] is None else point_bytes(a["due"]),
                              status=a["status"], version=a["version"], funded=a["funded"])


def account(msg: common_pb2.Account) -> dict:
    """Wire -> the ``Engine.account`` dict form (what ``WitnessStore.check`` takes)."""
    return {"cash": point(msg.cash, "cash", allow_identity=True),
            "df": point(msg.df, "df", allow_identity=True),
            "pos": points(msg.positions, "position", allow_identity=True),
            "due": None if not msg.due else point(msg.due, "due", allow_identity=True),
            "status": msg.status, "version": msg.version, "funded": msg.funded}


# -- margin -----------------------------------------------------------------------------
def margin_entries(msg: common_pb2.MarginBatch) -> list[dict]:
    """Wire margin entries -> the engine's dicts; an entry's pre-trade
    headroom (issue 14 §1) {H, proof} only when both fields are set."""
    out = []
    for e in msg.entries:
        d = {"member": e.member, "solvency_only": e.solvency_only, "ctx_seq": e.ctx_seq,
             "proof": nonempty(e.proof, "proof").hex()}
        if e.headroom or e.headroom_proof:
            d["headroom"] = {"H": point(e.headroom, "headroom", allow_identity=True),
                             "proof": nonempty(e.headroom_proof, "headroom proof").hex()}
        out.append(d)
    return out


def margin_batch_msg(cycle: int, entries: Sequence[dict], sig: bytes) -> common_pb2.MarginBatch:
    return common_pb2.MarginBatch(cycle=cycle, signature=sig, entries=[
        common_pb2.MarginEntry(member=e["member"], solvency_only=e["solvency_only"], ctx_seq=e["ctx_seq"],
                               proof=bytes.fromhex(e["proof"]),
                               headroom=bytes.fromhex(e["headroom"]["H"]) if "headroom" in e else b"",
                               headroom_proof=bytes.fromhex(e["headroom"]["proof"]) if "headroom" in e else b"")
        for e in entries])


def receipt_headroom(msg) -> dict | None:
    """A prover Receipt's headroom debit {H_buyer, H_seller, proof} (hex), or
    None without one (issue 14 §1)."""
    if not (msg.h_buyer or msg.h_seller or msg.headroom_proof):
        return None
    return {"H_buyer": point(msg.h_buyer, "h_buyer", allow_identity=True),
            "H_seller": point(msg.h_seller, "h_seller", allow_identity=True),
            "proof": nonempty(msg.headroom_proof, "headroom proof").hex()}


def cure_msg(a: CureProof) -> common_pb2.CureProof:
    return common_pb2.CureProof(cycle=a.cycle, member=a.member, solvency_only=a.solvency_only, ctx_seq=a.ctx_seq,
                                proof=a.proof, signature=a.sig)


def cure(msg: common_pb2.CureProof) -> CureProof:
    return CureProof(msg.cycle, msg.member, msg.solvency_only, msg.ctx_seq, nonempty(msg.proof, "proof"),
                     signature(msg.signature))


# -- default fund ----------------------------------------------------------------------
def epoch_total_msg(a: WindowTotal) -> common_pb2.EpochTotal:
    return common_pb2.EpochTotal(cycle=a.cycle, epoch=a.epoch, members=a.members, d=to_decimal(a.D),
                                 proof=a.proof, signature=a.sig)


def epoch_total(msg: common_pb2.EpochTotal) -> WindowTotal:
    return WindowTotal(msg.cycle, msg.epoch, tuple(msg.members), decimal(msg.d, "D"), nonempty(msg.proof, "proof"),
                       signature(msg.signature))


# -- default management -------------------------------------------------------------
def default_open_msg(a: DefaultOpening) -> common_pb2.DefaultOpen:
    return common_pb2.DefaultOpen(
        cycle=a.cycle, defaulters=a.defaulters, survivors=a.survivors, d0=to_decimal(a.D0),
        d0_proof=a.D0_proof, signature=a.sig,
        disclosures=[common_pb2.Disclosure(member=m, values=[to_decimal(v) for v in d.values], proof=d.proof)
                     for m, d in sorted(a.disclosures.items())])


def default_open(msg: common_pb2.DefaultOpen) -> DefaultOpening:
    disclosures = {}
    for d in msg.disclosures:
        if d.member in disclosures:
            raise ConversionError("duplicate disclosure")
        disclosures[d.member] = Disclosed(tuple(decimal(v, "disclosed value") for v in d.values), bytes(d.proof))
    return DefaultOpening(msg.cycle, tuple(msg.defaulters), tuple(msg.survivors), decimal(msg.d0, "D0"),
                          bytes(msg.d0_proof), disclosures, signature(msg.signature))


def default_shares_msg(a: ProRataAllocation) -> common_pb2.DefaultShares:
    return common_pb2.DefaultShares(
        cycle=a.cycle, index=a.index, purpose=a.purpose, r=to_decimal(a.R),
        shares=[point_bytes(h) for h in a.shares], total=to_decimal(a.total), proof=a.proof,
        total_proof=a.total_proof, signature=a.sig)


def default_shares(msg: common_pb2.DefaultShares) -> ProRataAllocation:
    shares = tuple(points(msg.shares, "share", allow_identity=True))
    return ProRataAllocation(msg.cycle, msg.index, msg.purpose, decimal(msg.r, "R"), shares,
                             decimal(msg.total, "total"), nonempty(msg.proof, "proof"), bytes(msg.total_proof),
                             signature(msg.signature))


# -- operator inputs ------------------------------------------------------------------
def lots(msgs) -> list[dict]:
    """Wire auction lots -> the engine's lot dicts (checked by the engine)."""
    return [{"winner": m.winner, "instrument": m.instrument, "quantity": m.quantity} for m in msgs]


def lots_msg(items: Sequence[dict]) -> list:
    return [admin_pb2.Lot(winner=x["winner"], instrument=x["instrument"], quantity=x["quantity"]) for x in items]


def scenario_set(msg: admin_pb2.ScenarioSet, instruments: Sequence[str]) -> dict:
    """Wire scenario set -> the engine's dict with its id (hash over the
    version, the instrument ids, the matrix and a non-scan model).  The
    dict carries ``model`` {"kind": "es", "k": k} for an expected-shortfall
    set (issue 13) and no model for the scan ("" or "scan", k = 0)."""
    matrix = [list(row.pnl) for row in msg.rows]
    if not matrix:
        raise ConversionError("scenario set has no scenarios")
    model: dict | None = None
    if msg.model in ("", "scan"):
        if msg.k:
            raise ConversionError("scenario set: the scan model has no k")
    elif msg.model == "es":
        model = {"kind": "es", "k": msg.k}
    else:
        raise ConversionError("scenario set model must be 'scan' or 'es'")
    terms: dict | None = None  # issue 14 §2 (clearing.protocol.maintenance)
    if msg.maintenance_den:
        terms = {"num": msg.maintenance_num, "den": msg.maintenance_den, "penalty_bps": msg.penalty_bps}
    elif msg.maintenance_num or msg.penalty_bps:
        raise ConversionError("scenario set: maintenance terms need maintenance_den")
    try:
        sid = headroom.set_id(msg.version, list(instruments), matrix, model, terms, msg.pretrade)
    except InvalidArgument as exc:
        raise ConversionError(f"scenario set: {exc}") from None
    out = {"version": msg.version, "matrix": matrix, "id": sid.hex()}
    if model is not None:
        out["model"] = model
    if terms is not None:
        out["maintenance"] = terms
    if msg.pretrade:
        out[headroom.KEY] = True  # issue 14 §1
    return out


def scenario_set_msg(version: int, matrix: Sequence[Sequence[int]], model: dict | None = None,
                     terms: Mapping | None = None, pretrade: bool = False) -> admin_pb2.ScenarioSet:
    """The wire scenario set; ``model`` None or {"kind": "scan"} (the scan) or {"kind": "es", "k": k};
    ``terms`` None or the maintenance terms {num, den, penalty_bps} (issue 14 §2)."""
    es = model is not None and model.get("kind") == "es"
    t = terms or {}
    return admin_pb2.ScenarioSet(version=version, rows=[admin_pb2.ScenarioSet.Row(pnl=list(r)) for r in matrix],
                                 model="es" if es else "", k=model["k"] if es and model else 0,
                                 maintenance_num=t.get("num", 0), maintenance_den=t.get("den", 0),
                                 penalty_bps=t.get("penalty_bps", 0), pretrade=pretrade)


__all__ = [
    "INT_LIMIT", "INTEGER_RANGES", "integer", "amount", "counter", "cap_multiple", "check_integers",
    "ConversionError", "trade_status_msg", "receipt_headroom",
    "point", "points", "point_bytes", "scalar", "scalar_bytes", "decimal", "to_decimal",
    "key", "signature", "request_id", "trade", "trade_msg", "account", "account_msg", "margin_entries",
    "margin_batch_msg", "cure", "cure_msg", "epoch_total", "epoch_total_msg", "default_open", "default_open_msg",
    "default_shares", "default_shares_msg",
    "scenario_set", "scenario_set_msg", "lots", "lots_msg",
]
