"""The demo's pre-trade risk limit (issue 14 §1): intraday runs, refusals
and their cure by deposit, and the report's ``pretrade_refusals``.

Only for a scenario whose set carries ``pretrade`` (``margin_scenarios.pretrade``):

* **intraday run** (a variant's ``intraday_marks`` for the day, before the
  day's trades): the operator signs the marks, the node books the
  prover's intraday batch (every member's H reset at the marks, members
  classified); a called member cures as at the end of the day, its
  shortfall computed at the marks (``shift`` u_i = (mark_i - c_i)*m_i);
* **capture in order, refusal and cure**: the day's trades are captured
  one at a time in the scenario's order (headroom makes them interact); a
  trade the prover refused for lack of headroom stays pending with its
  short sides public (``TradeStatus.pretrade_refused``); each short member
  deposits its shortfall rounded up to the grid, at most its liquidity
  (:meth:`clearing.demo.participant.Agent.op_pretrade_cure`, from the
  public w_i and vm and its own H and q), one side asks again (RetryTrade)
  and the trade novates -- or, still short, expires at the close;
* ``pretrade_outputs``: the report's ``pretrade_refusals`` [{member,
  trade_id}] from the public ledger (the fold's ``books["pretrade_refusals"]``),
  compared with the oracle's (:mod:`clearing.ccp.oracle_pretrade`), and the
  cure deposits likewise.
"""
from __future__ import annotations

from typing import Any


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


def capture_in_order(run: Any, d: int, cycle: int, rec: dict) -> None:
    """The day's trades one at a time, in the scenario's order (the rules'
    order: headroom makes trades interact): the initiator's process submits,
    the counterparty's affirms; a trade refused for lack of headroom is
    cured (:func:`_cure`) before the next trade."""
    from clearing.demo.participant import initiator, trade_id

    booked: list[str] = []
    refused: list[str] = []
    submitted = invalid = 0
    rec["pretrade_refusals"], rec["pretrade_cures"] = [], []
    for k, t in enumerate(run.sc.trades):
        if t.day != d:
            continue
        tid = trade_id(k, t)
        ini = initiator(k, t)
        cp = t.seller if ini == t.buyer else t.buyer
        sub = run.agents[ini].call({"op": "submit", "day": d, "only": [tid]})
        aff = run.agents[cp].call({"op": "affirm", "day": d, "only": [tid]})
        errors = [r.get("error", "") for r in sub.get("refused", []) + aff.get("refused", [])]
        submitted += len(sub.get("submitted", []))
        invalid += sum(1 for e in errors if str(e).startswith("INVALID_ARGUMENT"))
        status = next((a["status"] for a in aff.get("affirmed", []) if a["id"] == tid), None)
        if status == "pending" and _cure(run, d, t, tid, rec):
            status = "novated"
        (booked if status == "novated" else refused).append(tid)
    rec["booked"], rec["refused"] = sorted(booked), sorted(refused)
    run.refused_invalid += invalid
    run.say(f"cycle {cycle} (day {d}): {submitted} trade{'' if submitted == 1 else 's'} submitted and affirmed "
            f"one at a time (the pre-trade limit makes their order matter), {len(booked)} novated"
            + (f", {len(refused)} refused" if refused else ""))


def _cure(run: Any, d: int, t: Any, tid: str, rec: dict) -> bool:
    """A pending trade after its affirmation: when the prover refused it for
    lack of headroom, each short side deposits its shortfall rounded up to
    the grid (at most its liquidity), then one side asks again
    (RetryTrade).  True when it novated."""
    from clearing.api import clearing_pb2
    from clearing.ccp.scenario import scenario_matrix

    st = run.op.clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id=tid))
    short = list(st.pretrade_refused)
    if st.status != "pending" or not short:
        return st.status == "novated"
    i = run.sc.instrument_index(t.instrument)
    w = max(abs(row[i]) for row in scenario_matrix(run.sc))
    marks = _marks_of(run, d)
    mult = run.sc.instruments[i].multiplier
    if marks is not None and d:  # under intraday marks the debit covers the un-settled cash too
        w = max(w, abs((marks[i] - run.variant.settlement_prices[d - 1][i]) * mult))
    basis = marks if marks is not None else (run.variant.settlement_prices[d - 1] if d else None)
    vm = (basis[i] - t.price) * mult if basis is not None else 0
    rec["pretrade_refusals"] += [{"member": m, "trade_id": tid} for m in short]
    run.say(f"  {tid}: refused for lack of pre-trade headroom of {', '.join(short)} (the trade stays pending)")
    for m in short:
        dep = run.agents[m].call({"op": "pretrade_cure", "trade_id": tid, "w": w, "vm": vm})["deposit"]
        if dep:
            rec["pretrade_cures"].append({"member": m, "trade_id": tid, "deposit": dep})
            run.say(f"  {m}: deposits {dep:,} (its shortfall rounded up to the grid, at most its liquidity)")
    again = run.agents[short[0]].call({"op": "retry", "trade_id": tid})
    if again["status"] == "novated":
        run.say(f"  {tid}: novated after the cure ({short[0]} asked again; the prover proved the debit)")
        return True
    run.say(f"  {tid}: still without headroom -- it expires at the cycle's close")
    return False


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


__all__ = ["enabled", "intraday", "capture_in_order", "pretrade_outputs"]
