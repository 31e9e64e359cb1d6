"""The demo's pre-trade risk limit (issue 14 §1): intraday runs, refusals
and their cure by deposit, and the report's ``pretrade_refusals``.

Only for a scenario whose set carries ``pretrade`` (``margin_scenarios.pretrade``):

* **intraday run** (a variant's ``intraday_marks`` for the day, before the
  day's trades): the operator signs the marks, the node books the
  prover's intraday batch (every member's H reset at the marks, members
  classified); a called member cures as at the end of the day, its
  shortfall computed at the marks (``shift`` u_i = (mark_i - c_i)*m_i);
* **refusal and cure** (after the day's capture): a trade the prover
  refused for lack of headroom stays pending with its short sides public
  (``TradeStatus.pretrade_refused``); each short member deposits its
  shortfall rounded up to the grid (:meth:`clearing.demo.participant.Agent.op_pretrade_cure`,
  from the public w_i and vm and its own H and q), the node pushes the
  trade to the prover again and it novates -- or, still short, expires at
  the close;
* ``pretrade_outputs``: the report's ``pretrade_refusals`` [{member,
  trade_id}] from the public ledger (the fold's ``books["pretrade_refusals"]``),
  compared with the oracle's (:mod:`clearing.ccp.oracle_pretrade`), and the
  cure deposits likewise.
"""
from __future__ import annotations

import time
from typing import Any

#: seconds the orchestrator waits for a cured trade to novate (the node's
#: receipt retry starts after 0.5 s and backs off)
NOVATE_WAIT = 60.0


def enabled(run: Any) -> bool:
    from clearing.ccp.scenario import scenario_pretrade

    return scenario_pretrade(run.sc)


def _marks_of(run: Any, d: int) -> list[int] | None:
    for day, marks in getattr(run.variant, "intraday_marks", None) or ():
        if int(day) == d:
            return [int(x) for x in marks]
    return None


def _mults(run: Any) -> list[int]:
    return [i.multiplier for i in run.sc.instruments]


def intraday(run: Any, d: int, rec: dict) -> None:
    """The day's intraday margin run on operator-signed marks, if the variant has one."""
    marks = _marks_of(run, d) if enabled(run) else None
    if marks is None:
        return
    prev = run.variant.settlement_prices[d - 1]
    shift = [(m - c) * k for m, c, k in zip(marks, prev, _mults(run))]
    results = run.op.intraday(marks)
    row: dict = {"marks": marks, "results": dict(sorted(results.items())), "cures": []}
    run.say(f"cycle {rec['cycle']} (day {d}): intraday margin run at marks {marks}: "
            + ", ".join(f"{m} {r}" for m, r in sorted(results.items())))
    for m, r in sorted(results.items()):
        if r not in ("call", "payment"):
            continue
        reply = run.agents[m].call({"op": "call", "shift": shift, "run": 1})
        if not reply.get("cured"):
            raise RuntimeError(f"{m} could not meet its intraday call (the scenario format refuses this case)")
        row["cures"].append([m, reply["deposit"]])
        run.say(f"  {m}: intraday call cured by a deposit of {reply['deposit']:,} and a fresh margin proof "
                "at the marks")
    rec["intraday"] = row


def cure_refusals(run: Any, d: int, rec: dict) -> None:
    """After the day's capture: each trade refused for lack of headroom, its
    short sides' grid-rounded deposits, then its novation (or expiry)."""
    if not enabled(run):
        return
    from clearing.api import clearing_pb2
    from clearing.ccp.scenario import scenario_matrix
    from clearing.demo.participant import trade_id

    matrix = scenario_matrix(run.sc)
    marks = _marks_of(run, d)
    basis = marks if marks is not None else (run.variant.settlement_prices[d - 1] if d else None)
    refusals, cures = [], []
    for k, t in enumerate(run.sc.trades):
        if t.day != d:
            continue
        tid = trade_id(k, t)
        st = run.op.clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id=tid))
        if st.status != "pending" or not st.pretrade_refused:
            continue
        i = run.sc.instrument_index(t.instrument)
        w = max(abs(row[i]) for row in matrix)
        vm = (basis[i] - t.price) * run.sc.instruments[i].multiplier if basis is not None else 0
        short = list(st.pretrade_refused)
        refusals += [{"member": m, "trade_id": tid} for m in short]
        run.say(f"  {tid}: refused for lack of pre-trade headroom of {', '.join(short)} (the trade stays pending)")
        for m in short:
            reply = run.agents[m].call({"op": "pretrade_cure", "trade_id": tid, "w": w, "vm": vm})
            if reply.get("cured") and reply.get("deposit"):
                cures.append({"member": m, "trade_id": tid, "deposit": reply["deposit"]})
                run.say(f"  {m}: deposits {reply['deposit']:,} (its shortfall rounded up to the grid)")
        status = _wait_novated(run, tid)
        if status == "novated":
            rec["booked"] = sorted({*rec["booked"], tid})
            rec["refused"] = [x for x in rec["refused"] if x != tid]
            run.say(f"  {tid}: novated after the cure (the node asked the prover again; the debit is proven)")
        else:
            rec["refused"] = sorted({*rec["refused"], tid})
            run.say(f"  {tid}: still without headroom -- it expires at the cycle's close")
    rec["pretrade_refusals"], rec["pretrade_cures"] = refusals, cures


def _wait_novated(run: Any, tid: str) -> str:
    from clearing.api import clearing_pb2

    end = time.monotonic() + NOVATE_WAIT
    while True:
        st = run.op.clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id=tid))
        if st.status != "pending" or time.monotonic() > end:
            return st.status
        time.sleep(0.1)


def pretrade_outputs(run: Any) -> tuple[list[dict], list[str]]:
    """(report rows from the public ledger, mismatches against the oracle)."""
    if not enabled(run):
        return [], []
    rows = [dict(r) for r in run.ledger.core.state.books.get("pretrade_refusals", [])]
    expected = [dict(r) for r in run.oracle.pretrade_refusals]
    bad = [] if rows == expected else [f"pretrade_refusals: node {rows} != oracle {expected}"]
    cures = [c for rec in run.days for c in rec.get("pretrade_cures", [])]
    want = [dict(c) for c in run.oracle.pretrade_cures]
    if cures != want:
        bad.append(f"pretrade cures: demo {cures} != oracle {want}")
    runs = [{"day": rec["day"], **rec["intraday"]} for rec in run.days if rec.get("intraday")]
    want_runs = [dict(r) for r in run.oracle.intraday]
    if runs != want_runs:
        bad.append(f"intraday runs: demo {runs} != oracle {want_runs}")
    return rows, bad


__all__ = ["enabled", "intraday", "cure_refusals", "pretrade_outputs", "NOVATE_WAIT"]
