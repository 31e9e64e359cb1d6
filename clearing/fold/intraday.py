"""The intraday margin fold (issue 14 §1; the rules are
:mod:`clearing.protocol.intraday`'s).

State: ``books["intraday"]`` = {cycle, run, marks, results} while a basis
is in force (absent otherwise, so ledgers without intraday runs keep their
snapshots and digests); ``results`` is None until the run's batch is
booked, then the batch's {member: pass | call | payment}.

* intraday: the basis (run, marks) is in force; under a pre-trade set
  every H = 0 (plus deposits) until the batch
  (:func:`clearing.fold.headroom.on_settle`);
* intraday-batch: every member not in default gets the status of its result
  (as the margin batch); under a pre-trade set H is reset from the entries
  (:func:`clearing.fold.headroom.reset`, open reservations carried over);
* settle: the basis is cleared (:func:`on_settle`).

:func:`margin_basis` is the scenario set every margin-family statement is
built over (node and prover): the derived set while a basis is in force,
else the signed set.
"""
from __future__ import annotations

from clearing.fold import headroom
from clearing.fold.state import State
from clearing.protocol import intraday as protocol
from clearing.protocol.errors import FailedPrecondition
from clearing.protocol.fields import STATUS_ACTIVE, STATUS_CALL, STATUS_DEFAULTED, STATUS_PAYMENT

#: the public books' key of the basis in force
BOOK = "intraday"
_STATUS = {"pass": STATUS_ACTIVE, "call": STATUS_CALL, "payment": STATUS_PAYMENT}


def basis(state: State) -> dict | None:
    """The intraday basis in force {cycle, run, marks, results}, else None."""
    return state.books.get(BOOK) if state.books else None


def derived(state: State, b: dict) -> dict:
    """The derived scan set of the basis ``b`` (clearing.protocol.intraday)."""
    assert state.scenario_set is not None
    return protocol.derived_set(state.scenario_set, state.cfg()["instruments"], state.prices, b["cycle"], b["run"],
                                b["marks"])


def margin_basis(state: State) -> dict:
    """The scenario set margin-family statements are built over now
    (FailedPrecondition before the first settle)."""
    if state.scenario_set is None:
        raise FailedPrecondition("no scenario set published yet")
    b = basis(state)
    return state.scenario_set if b is None else derived(state, b)


def mark(state: State, i: int) -> int | None:
    """The intraday mark of instrument ``i`` while a basis is in force."""
    b = basis(state)
    return None if b is None else b["marks"][i]


def next_run(state: State) -> int:
    b = basis(state)
    return 1 if b is None else b["run"] + 1


def _intraday(state: State, seq: int, e, alg) -> None:
    state.books[BOOK] = {"cycle": e.cycle, "run": e.run, "marks": list(e.marks), "results": None}
    headroom.on_settle(state, alg)  # a new basis: H = 0 + deposits until the run's batch (reservations at the marks)


def _intraday_batch(state: State, seq: int, e, alg) -> None:
    for mid, res in sorted(e.results.items()):
        a = state.members[mid]
        if a.status != STATUS_DEFAULTED:
            a.status = _STATUS[res]
    b = state.books[BOOK]
    state.books[BOOK] = dict(b, results=dict(sorted(e.results.items())))
    headroom.reset(state, e, alg)  # H from the run (identity without a headroom proof)


def on_settle(state: State) -> None:
    """A settle clears the basis."""
    if state.books:
        state.books.pop(BOOK, None)


FOLDS = {"intraday": _intraday, "intraday-batch": _intraday_batch}

__all__ = ["BOOK", "basis", "derived", "margin_basis", "mark", "next_run", "on_settle", "FOLDS"]
