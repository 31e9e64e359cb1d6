"""Checks of the capture phase's events (trade, affirm, receipt) against the
state before the event; each takes the parsed event
(:mod:`clearing.protocol.events`: fields and types already checked).

**Proofs verified ahead of the engine.**  A trade's validity proof may be
verified before its event reaches the engine -- in a batch, off the engine
thread (:class:`clearing.services.clearing_service.TradeBatcher`).  What was
verified is recorded in a :class:`VerifiedProofs` the node hangs on its engine
(``core.verified_proofs``), keyed by :func:`proof_key`: a hash of *everything*
the check verifies -- the statement's inputs (cycle, the cycle's opening seq,
initiator, T, the canonical trade tuple) and the proof's bytes.  So an entry
vouches for exactly one (statement, proof) pair; :func:`check_trade` takes
it (once) instead of verifying again, and verifies itself on a miss.  An
engine without the attribute (the auditor's replay, :meth:`Engine.open`)
verifies every proof from scratch."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clearing.fold import headroom as headroom_fold
from clearing.protocol import events as ev
from clearing.protocol import headroom
from clearing.protocol.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    shown,
)
from clearing.protocol.fields import MAX_TRADES, STATUS_ACTIVE, _hexbytes, _ident, _int, _point
from clearing.protocol.messages import (
    TRADE_FIELDS,
    _verify_sig,
    affirmation_message,
    receipt_message,
    trade_message,
    trade_tuple,
)
from clearing.protocol.statements import _proof, trade_statement
from verifier.headroom import verify_debit
from verifier.statements import verify
from zkp.errors import VerificationError
from zkp.statements import (
    MAX_PRICE,
    StatementError,
)

if TYPE_CHECKING:
    from clearing.node.core import Core


def proof_key(cycle: int, cycle_seq: int, initiator: str, T_hex: str, tuple_bytes: bytes, proof_hex: str) -> bytes:
    """The identity of one verified (TradeValidity statement, proof) pair:
    SHA-256 over the length-prefixed statement inputs and the proof (its
    hex, as the event carries it)."""
    h = hashlib.sha256(b"zkclear/verified-trade-proof/v1")
    for part in (str(cycle).encode(), str(cycle_seq).encode(), initiator.encode(), T_hex.encode(), tuple_bytes,
                 proof_hex.encode()):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.digest()


class VerifiedProofs:
    """A bounded, thread-safe set of :func:`proof_key` values whose proofs
    verified (filled by the batcher's threads, taken by the engine thread).
    Oldest entries fall out first; a lost entry only costs a re-verification."""

    def __init__(self, capacity: int = 4096):
        self._keys: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()
        self.capacity = capacity

    def add(self, key: bytes) -> None:
        with self._lock:
            self._keys[key] = None
            self._keys.move_to_end(key)
            while len(self._keys) > self.capacity:
                self._keys.popitem(last=False)

    def take(self, key: bytes) -> bool:
        """True (and forget it) when ``key`` was verified."""
        with self._lock:
            return self._keys.pop(key, False) is None

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)

    def __repr__(self) -> str:
        return f"VerifiedProofs({len(self)} of {self.capacity})"


def _check_trade(core: Core, t) -> dict:
    """The trade tuple (fields and types checked by the parse step)."""
    _ident("trade id", t["trade_id"])
    core._check_cycle(t["cycle"])
    if t["buyer"] == t["seller"]:
        raise InvalidArgument("buyer and seller must differ")
    for side in ("buyer", "seller"):
        a = core._member(t[side])
        if a.status != STATUS_ACTIVE:
            raise FailedPrecondition(
                f"{side} {shown(t[side])} is {a.status}: called or defaulted members may not enter new trades")
    i = core.state.instrument_index(t["instrument"])
    inst = core._cfg()["instruments"][i]
    _int("price", t["price"], 1, MAX_PRICE)
    if t["price"] % inst["tick"]:
        raise InvalidArgument("price is not a multiple of the instrument's tick")
    if t["side"] not in ("buy", "sell"):
        raise InvalidArgument("side must be 'buy' or 'sell'")
    if _point("T", t["T"]).encode().hex() != t["T"]:
        raise InvalidArgument("T must be the canonical lower-case hex encoding of a point")
    return inst


def check_trade(core: Core, b: ev.Trade) -> None:
    t = b.trade
    _check_trade(core, t)
    _ident("request id", b.request_id)
    if t["trade_id"] in core.state.trades:
        raise AlreadyExists(f"trade id {shown(t['trade_id'])} already used")
    if t["T"] in core.state.seen_T:
        raise AlreadyExists("trade commitment T already used")
    initiator = t["buyer"] if t["side"] == "buy" else t["seller"]
    a = core.state.members[initiator]
    for side in ("buyer", "seller"):
        if core.state.members[t[side]].trades[core.state.instrument_index(t["instrument"])] >= MAX_TRADES:
            raise FailedPrecondition("trade count bound reached for this member and instrument")
    _verify_sig(a.key, trade_message(t), b.sig, initiator)
    tuple_bytes = trade_tuple(t)
    cache: VerifiedProofs | None = getattr(core, "verified_proofs", None)
    if cache is not None and isinstance(b.proof, str) and cache.take(
            proof_key(core.state.cycle, core.state.cycle_seq, initiator, t["T"], tuple_bytes, b.proof)):
        return
    st = trade_statement(core.state.cycle, core.state.cycle_seq, initiator, _point("T", t["T"]), tuple_bytes)
    try:
        verify(st, _proof(st, b.proof))
    except VerificationError:
        raise InvalidArgument("trade validity proof does not verify") from None


def _pending(core: Core, tid) -> dict:
    _ident("trade id", tid)
    t = core.state.trades.get(tid)
    if t is None:
        raise NotFound(f"unknown trade {shown(tid)}")
    if t["status"] != "pending":
        raise FailedPrecondition(f"trade {shown(tid)} is {t['status']}")
    trade = {k: t[k] for k in TRADE_FIELDS}
    for side in ("buyer", "seller"):
        if core.state.members[t[side]].status != STATUS_ACTIVE:
            raise FailedPrecondition(f"{side} {shown(t[side])} is called or defaulted; the trade cannot be novated")
    return trade


def check_affirm(core: Core, b: ev.Affirm) -> None:
    t = _pending(core, b.trade_id)
    _ident("request id", b.request_id)
    counterparty = t["seller"] if t["side"] == "buy" else t["buyer"]
    a = core._member(b.member)
    if b.member != counterparty:
        raise PermissionDenied(f"{shown(b.member)} is not the counterparty of trade {shown(t['trade_id'])}")
    if core.state.trades[t["trade_id"]]["affirmed"]:
        raise AlreadyExists("trade already affirmed")
    _verify_sig(a.key, affirmation_message(t, b.member), b.sig, b.member)


def check_receipt(core: Core, b: ev.Receipt) -> None:
    t = _pending(core, b.trade_id)
    _ident("request id", b.request_id)
    if core.state.trades[t["trade_id"]]["receipt"]:
        raise AlreadyExists("trade already has the prover's receipt")
    if b.headroom is None:
        if headroom.enabled(core.state.scenario_set or {}):
            raise InvalidArgument("under a pre-trade scenario set a receipt carries the headroom debit proof")
        _verify_sig(core._cfg()["keys"]["prover"], receipt_message(t), b.sig, "the prover service")
        return
    check_receipt_headroom(core, t, b)


def check_receipt_headroom(core: Core, t: dict, b: ev.Receipt) -> None:
    """Issue 14 §1: the receipt's debit proof, against both sides' headroom
    as the node holds it now (other points: stale, FailedPrecondition -- the
    prover re-proves on a retry); the signature covers the proof."""
    h = b.headroom
    assert h is not None
    if not headroom.enabled(core.state.scenario_set or {}):
        raise InvalidArgument("a headroom debit without a pre-trade scenario set")
    _require_affirmed(core, t)
    proof = _hexbytes("headroom proof", h["proof"])
    _canonical_points(h["H_buyer"], h["H_seller"])  # malformed: InvalidArgument, not "stale"
    _verify_sig(core._cfg()["keys"]["prover"], headroom.receipt_message(t, proof), b.sig, "the prover service")
    buyer, seller = core.state.members[t["buyer"]], core.state.members[t["seller"]]
    if buyer.headroom is None or seller.headroom is None:
        raise FailedPrecondition(headroom.EXHAUSTED)
    if (h["H_buyer"], h["H_seller"]) != (buyer.headroom.encode().hex(), seller.headroom.encode().hex()):
        raise FailedPrecondition("the headroom debit is for a stale headroom; the prover re-proves on a retry")
    w, vm = headroom_fold.terms(core.state, t)
    try:
        st = headroom.debit_statement(core.state.cycle, core.state.cycle_seq, t, buyer.headroom, seller.headroom,
                                      w, vm)
    except StatementError:  # an identity H: no headroom at all
        raise FailedPrecondition(headroom.EXHAUSTED) from None
    try:
        verify_debit(st, proof)
    except VerificationError:
        raise InvalidArgument("the headroom debit proof does not verify") from None


def _require_affirmed(core: Core, t: dict) -> None:
    """Under a pre-trade set the prover's check (debit or refusal) follows the
    counterparty's affirmation: otherwise an initiator could reserve another
    member's headroom until the close, or probe it (each refusal names the
    short side, and the initiator alone knows q), with trades never agreed to."""
    if not core.state.trades[t["trade_id"]]["affirmed"]:
        raise FailedPrecondition("under a pre-trade set the headroom check follows the counterparty's affirmation")


def _canonical_points(H_buyer: str, H_seller: str) -> None:
    """Both H as canonical lower-case hex points (the identity allowed: H = 0)."""
    for name, v in (("H_buyer", H_buyer), ("H_seller", H_seller)):
        if _point(name, v, allow_identity=True).encode().hex() != v:
            raise InvalidArgument(f"{name} must be the canonical lower-case hex encoding of a point")


def check_pretrade_refusal(core: Core, b: ev.PretradeRefusal) -> None:
    """Issue 14 §1: the prover's signed refusal of a pending trade's debit,
    against both sides' headroom as the node holds it now (stale:
    FailedPrecondition).  The node cannot check that a side is short (H is
    hidden): the signature makes the prover's refusal attributable, which is
    all a refusal adds -- the prover could always withhold a receipt."""
    t = _pending(core, b.trade_id)
    _ident("request id", b.request_id)
    if not headroom.enabled(core.state.scenario_set or {}):
        raise FailedPrecondition("a pre-trade refusal without a pre-trade scenario set")
    if core.state.trades[t["trade_id"]]["receipt"]:
        raise AlreadyExists("trade already has the prover's receipt")
    _require_affirmed(core, t)
    sides = [m for m in (t["buyer"], t["seller"]) if m in b.members]
    if not b.members or list(b.members) != sides:
        raise InvalidArgument("a refusal names the trade's short sides, buyer first, each once")
    buyer, seller = core.state.members[t["buyer"]], core.state.members[t["seller"]]
    if buyer.headroom is None or seller.headroom is None:
        raise FailedPrecondition("the trade's sides have no headroom record")
    _canonical_points(b.H_buyer, b.H_seller)
    if (b.H_buyer, b.H_seller) != (buyer.headroom.encode().hex(), seller.headroom.encode().hex()):
        raise FailedPrecondition("the refusal is for a stale headroom; the prover answers again on a retry")
    if core.state.trades[t["trade_id"]].get("pretrade_refused_at") == [b.H_buyer, b.H_seller]:
        raise AlreadyExists("the trade was already refused against this headroom")
    _verify_sig(core._cfg()["keys"]["prover"], headroom.refusal_message(t, b.members, b.H_buyer, b.H_seller),
                b.sig, "the prover service")


#: event kind -> its check ``(core, event) -> None`` (raises on a refusal)
CHECKS: dict[str, Callable[[Core, Any], None]] = {
    "trade": check_trade,
    "affirm": check_affirm,
    "receipt": check_receipt,
    "pretrade-refusal": check_pretrade_refusal,
}
