"""Checks of the intraday margin run's events (issue 14 §1; the rules are
:mod:`clearing.protocol.intraday`'s): ``intraday`` (the operator's signed
marks) and ``intraday-batch`` (the prover's signed proofs, verified and
classified exactly as a margin batch, over the run's derived set).

Statuses: outside the trading phase, without a scenario set in force, with
a default event in progress, a wrong run number, or a run whose batch is
not booked yet: FailedPrecondition; malformed marks, an ES set or one with
maintenance terms, a bad signature, results that do not match the proofs:
InvalidArgument."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from clearing.fold import intraday as fold
from clearing.node.checks_margin import check_entry_shapes, check_headroom_entries, margin_results
from clearing.protocol import events as ev
from clearing.protocol import intraday
from clearing.protocol.encoding import content_hash
from clearing.protocol.errors import FailedPrecondition, InvalidArgument
from clearing.protocol.fields import _ident, _int
from clearing.protocol.messages import _verify_sig

if TYPE_CHECKING:
    from clearing.node.core import Core


def require_run(core: Core, cycle: int, run: int) -> None:
    """The state admits intraday run ``run`` of ``cycle`` now (FailedPrecondition)."""
    core._check_cycle(cycle)
    _int("run", run, 1, 1 << 32)
    s = core.state
    if s.phase != "trading" or s.scenario_set is None:
        raise FailedPrecondition("intraday margin runs are held in the trading phase, after a settle")
    if s.dm is not None or s.pending_defaults:
        raise FailedPrecondition("a default event is not finished")
    b = fold.basis(s)
    if b is not None and b["results"] is None:
        raise FailedPrecondition(f"intraday run {b['run']} awaits its batch")
    if run != fold.next_run(s):
        raise FailedPrecondition(f"the next intraday run of cycle {cycle} is run {fold.next_run(s)}")


def check_intraday(core: Core, e: ev.Intraday) -> None:
    _ident("request id", e.request_id)
    require_run(core, e.cycle, e.run)
    s = core.state
    intraday.check_set(s.scenario_set)
    insts = core._cfg()["instruments"]
    intraday.check_marks(e.marks, insts)
    assert s.scenario_set is not None
    intraday.derived_set(s.scenario_set, insts, s.prices, e.cycle, e.run, e.marks)  # range (InvalidArgument)
    _verify_sig(core._cfg()["keys"]["operator"],
                intraday.intraday_message(e.cycle, e.run, e.marks, bytes.fromhex(s.scenario_set["id"])),
                e.op_sig, "the operator")


def _pending_basis(core: Core, cycle: int, run: int) -> dict:
    core._check_cycle(cycle)
    b = fold.basis(core.state)
    if core.state.phase != "trading" or b is None or b["run"] != run or b["results"] is not None:
        raise FailedPrecondition(f"no intraday run {run} awaits its batch")
    return b


def batch_results(core: Core, cycle: int, run: int, entries: Sequence[Mapping]) -> dict:
    """The run's results from its proofs (as :func:`margin_results`, over the
    derived set); cached for the check of the event built from them."""
    b = _pending_basis(core, cycle, run)
    for x in entries:
        core._member(x["member"])
    results = margin_results(core, cycle, entries, fold.derived(core.state, b))
    core._batch_cache = (("intraday", core.state.seq, content_hash(list(entries))), results)
    return results


def check_intraday_batch(core: Core, e: ev.IntradayBatch) -> None:
    _ident("request id", e.request_id)
    b = _pending_basis(core, e.cycle, e.run)
    check_entry_shapes(core, e.entries)
    _verify_sig(core._cfg()["keys"]["prover"], intraday.batch_message(e.cycle, e.run, e.entries), e.sig,
                "the prover service")
    derived = fold.derived(core.state, b)
    cached, core._batch_cache = core._batch_cache, None
    if cached is not None and cached[0] == ("intraday", core.state.seq, content_hash(list(e.entries))):
        results = cached[1]
    else:
        results = margin_results(core, e.cycle, e.entries, derived)
    if dict(e.results) != results:
        raise InvalidArgument("intraday results do not match the verified proofs")
    check_headroom_entries(core, e.cycle, e.entries, results, derived)


#: event kind -> its check ``(core, event) -> None`` (raises on a refusal)
CHECKS: dict[str, Callable[[Core, Any], None]] = {
    "intraday": check_intraday,
    "intraday-batch": check_intraday_batch,
}
