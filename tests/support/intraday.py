"""Shared intraday-run helpers (issue 14 §1, clearing.protocol.intraday):
the operator's signed marks and the prover's batch, through the engine
harness (:class:`support.engine.Sim`)."""
from __future__ import annotations

from collections.abc import Sequence

from clearing.fold import intraday as intraday_fold
from clearing.protocol import intraday


def book_marks(sim, marks: Sequence[int], run: int | None = None, rid: str | None = None,
               sig: bytes | None = None) -> dict:
    """The operator's ``intraday`` event (signed unless ``sig`` is given)."""
    run = intraday_fold.next_run(sim.engine.state) if run is None else run
    sid = bytes.fromhex(sim.engine.state.scenario_set["id"])
    sig = sig if sig is not None else sim.op(intraday.intraday_message(sim.cycle, run, list(marks), sid))
    res = sim.engine.intraday(sim.cycle, run, list(marks), sig, rid or sim.rid("intraday"))
    sim.sync()
    return res


def book_batch(sim, rid: str | None = None) -> dict:
    """The prover's batch for the run awaiting it; returns the results."""
    run = intraday_fold.basis(sim.engine.state)["run"]
    entries, sig = sim.witness.intraday_batch(sim.cycle, run, sim.accounts())
    res = sim.engine.submit_intraday_batch(sim.cycle, run, entries, sig, rid or sim.rid("intraday-batch"))
    sim.sync()
    return res["results"]


def intraday_run(sim, marks: Sequence[int]) -> dict:
    """One intraday run: marks, then the batch; returns the results."""
    book_marks(sim, marks)
    return book_batch(sim)
