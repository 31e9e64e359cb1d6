"""Checks of the capture phase's events (trade, affirm, receipt) against the
state before the event; each takes the parsed event
(:mod:`clearing.protocol.events`: fields and types already checked)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clearing.protocol import events as ev
from clearing.protocol.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    shown,
)
from clearing.protocol.fields import MAX_TRADES, STATUS_ACTIVE, _ident, _int, _point
from clearing.protocol.messages import (
    TRADE_FIELDS,
    _verify_sig,
    affirmation_message,
    receipt_message,
    trade_message,
    trade_tuple,
)
from clearing.protocol.statements import _proof, trade_statement
from verifier.statements import verify
from zkp.errors import VerificationError
from zkp.statements import (
    MAX_PRICE,
)

if TYPE_CHECKING:
    from clearing.node.core import Core


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
    st = trade_statement(core.state.cycle, core.state.cycle_seq, initiator, _point("T", t["T"]), trade_tuple(t))
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
    _verify_sig(core._cfg()["keys"]["prover"], receipt_message(t), b.sig, "the prover service")


#: event kind -> its check ``(core, event) -> None`` (raises on a refusal)
CHECKS: dict[str, Callable[[Core, Any], None]] = {
    "trade": check_trade,
    "affirm": check_affirm,
    "receipt": check_receipt,
}
