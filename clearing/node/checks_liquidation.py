"""Checks of the liquidation event (issue 14 §2, ``liquidate``) against the
state before it (the fold: :mod:`clearing.fold.liquidation`).

A liquidation is accepted when: it is for the current cycle, in its margin
phase, under a scenario set with maintenance terms; the member's margin
result this cycle is "liquidate" (no valid full-IM nor maintenance proof)
and it is still in that state (status payment: not cured to an IM call by
a maintenance proof since); no default event is in progress; and the
operator signed ("liquidation", [cycle, member, request-id]).  The rest --
disclosure, close-out, penalty, remainder, bad debt -- runs through the
default events, whose checks are unchanged."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clearing.protocol import events as ev
from clearing.protocol.errors import FailedPrecondition, shown
from clearing.protocol.fields import STATUS_PAYMENT, _ident
from clearing.protocol.maintenance import liquidation_message, terms_of
from clearing.protocol.messages import _verify_sig

if TYPE_CHECKING:
    from clearing.node.core import Core


def check_liquidate(core: Core, b: ev.Liquidate) -> None:
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    a = core._member(b.member)
    _verify_sig(core._cfg()["keys"]["operator"], liquidation_message(b.cycle, b.member, b.request_id), b.op_sig,
                "the operator")
    s = core.state
    if s.phase != "margin" or not s.margin_done or s.scenario_set is None or terms_of(s.scenario_set) is None:
        raise FailedPrecondition("a liquidation follows a margin run under a set with maintenance terms")
    if s.margin.get(b.member) != "liquidate" or a.status != STATUS_PAYMENT:
        raise FailedPrecondition(f"member {shown(b.member)} has not failed maintenance this cycle")
    if s.dm is not None:
        raise FailedPrecondition("a default event is in progress; finish it first")


#: event kind -> its check ``(core, event) -> None`` (raises on a refusal)
CHECKS: dict[str, Callable[[Core, Any], None]] = {
    "liquidate": check_liquidate,
}
