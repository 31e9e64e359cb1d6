"""Checks of the cycle phase's events (settle, close) against the state
before the event; each takes the parsed event (:mod:`clearing.protocol.events`:
fields and types already checked)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clearing.protocol import events as ev
from clearing.protocol import headroom, maintenance
from clearing.protocol.errors import (
    FailedPrecondition,
    InvalidArgument,
)
from clearing.protocol.fields import (
    STATUS_ACTIVE,
    STATUS_CALL,
    STATUS_PAYMENT,
    _ident,
    _int,
)
from clearing.protocol.messages import (
    _verify_sig,
    digest_message,
    settlement_message,
)
from zkp.statements import (
    MAX_PRICE,
    StatementError,
    check_matrix,
)

if TYPE_CHECKING:
    from clearing.node.core import Core


def check_settle(core: Core, b: ev.Settle) -> None:
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    if core.state.phase != "trading":
        raise FailedPrecondition("this cycle is already settled")
    insts = core._cfg()["instruments"]
    prices = b.prices
    if len(prices) != len(insts):
        raise InvalidArgument("one settlement price per instrument")
    for p, inst in zip(prices, insts):
        _int("price", p, 1, MAX_PRICE)
        if p % inst["tick"]:
            raise InvalidArgument("settlement price is not a multiple of the tick")
    set_id = _check_scenario_set(core, b.scenario_set, insts)
    _verify_sig(core._cfg()["keys"]["operator"], settlement_message(b.cycle, prices, set_id),
                b.op_sig, "the operator")


def _check_scenario_set(core: Core, ss, insts) -> bytes:
    """The operator's scenario set: a valid matrix over the instruments
    whose row 0 is "no move" under the scan model (no model) -- or an
    expected-shortfall model {"kind": "es", "k": k} with 1 <= k <= S and no
    no-move row (issue 13) --, a version that never goes back and names one
    matrix and model, an id that is its hash (covering the model).  Returns
    the id."""
    _int("scenario set version", ss["version"], 0, 1 << 32)
    try:
        matrix = check_matrix(ss["matrix"])
    except StatementError as exc:
        raise InvalidArgument(str(exc)) from None
    if len(matrix[0]) != len(insts):
        raise InvalidArgument("scenario matrix has the wrong number of instruments")
    model = ss.get("model")
    if model is not None:
        if model["kind"] != "es":
            raise InvalidArgument("a scenario set's model is 'es' with k, or absent (the scan)")
        _int("ES tail count k", model["k"], 1, len(matrix) + 1)
    elif any(matrix[0]):
        raise InvalidArgument("scenario 0 must be the no-move scenario")
    terms = maintenance.terms_of(ss)  # issue 14 §2: shape and ranges (InvalidArgument)
    if terms is not None and model is not None:
        raise InvalidArgument("maintenance margin is defined for the scan model only")
    cur = core.state.scenario_set
    if cur is not None and ss["version"] < cur["version"]:
        raise InvalidArgument("scenario set versions never go back")
    if cur is not None and ss["version"] == cur["version"] and (
            ss["matrix"] != cur["matrix"] or model != cur.get("model")
            or ss.get("maintenance") != cur.get("maintenance") or ss.get("pretrade") != cur.get("pretrade")):
        raise InvalidArgument("a scenario set version names one matrix and model only")
    set_id = headroom.set_id(ss["version"], [i["id"] for i in insts], matrix, model, ss.get("maintenance"),
                             headroom.enabled(ss))  # issue 14 §1: the flag, checked (InvalidArgument)
    if ss["id"] != set_id.hex():
        raise InvalidArgument("scenario set id is not the hash of the set")
    return set_id


def check_close(core: Core, b: ev.Close) -> None:
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    if core.state.phase != "margin" or not core.state.margin_done:
        raise FailedPrecondition("a cycle closes after settlement and the margin batch")
    open_calls = sorted(m for m, a in core.state.members.items() if a.status in (STATUS_CALL, STATUS_PAYMENT))
    if open_calls:
        raise FailedPrecondition(f"open margin calls: {open_calls}; cure or declare default first")
    if core.state.pending_defaults or core.state.dm is not None:
        raise FailedPrecondition("a default event is not finished")
    unpaid = sorted(m for m, a in core.state.members.items() if a.due is not None and a.status == STATUS_ACTIVE)
    if unpaid:
        raise FailedPrecondition(f"unpaid assessments: {unpaid}; settle them or declare default first")
    core.check_invariants()
    if b.digest != core.expected_digest().hex():
        raise InvalidArgument("cycle digest does not match the ledger")
    _verify_sig(core._cfg()["keys"]["node"], digest_message(b.cycle, bytes.fromhex(b.digest)),
                b.node_sig, "the clearing node")


#: event kind -> its check ``(core, event) -> None`` (raises on a refusal)
CHECKS: dict[str, Callable[[Core, Any], None]] = {
    "settle": check_settle,
    "close": check_close,
}
