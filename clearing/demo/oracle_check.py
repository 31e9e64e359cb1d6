"""The demo's oracle cross-check: the public outputs of the run against
the plaintext oracle's (:func:`clearing.ccp.oracle.run_oracle`) on the same
scenario and variant.

Compared, one by one (:func:`compare_with_oracle`): per day, the number of
trades booked and refused, who was called and how (IM vs payment), the cure
deposits and the defaults; per default event, the defaulters with every
public field of their report (:data:`DEFAULTER_FIELDS`, their disclosed
positions), the survivors, the waterfall tranche by tranche and the event's
public fields (:data:`REPORT_FIELDS`); and the public books of the ledger
(flows, the CCP's capital, the default account, the auction book, what is
left of the skin in the game).  The oracle has its own arithmetic (it never
imports :mod:`clearing.ccp.rules` nor the fold), so the check can fail.
"""
from __future__ import annotations

REPORT_FIELDS = ("D0", "loss", "R", "survivors_default_fund_in_full", "assessments_capped", "default_fund_residual",
                 "assessment_residual", "rounding_residual", "uncovered_loss", "liquidity_line",
                 "skin_in_the_game_1_before", "skin_in_the_game_1_after", "skin_in_the_game_2_before",
                 "skin_in_the_game_2_after", "disclosure_policy",
                 # issue 14: tranche 3 and 8, the gross loss
                 "insurance_fund_before", "insurance_fund_after", "vm_gains_haircut_rate", "vm_gains_residual",
                 "gross_loss", "assessment_limit")
DEFAULTER_FIELDS = ("cash", "df", "X", "unpaid_vm", "unpaid_assessment", "loss", "defaulter_margin",
                    "defaulter_default_fund", "residual", "estate_surplus")


def compare_with_oracle(days: list[dict], reports: list[dict], oracle,
                        books: dict | None = None) -> tuple[int, list[str]]:
    """(number of public outputs compared, mismatches).  ``days`` are the
    demo's per-day records (trades booked/refused, calls, cures, defaults),
    ``reports`` the node's default reports, ``books`` the public books of
    the ledger (:meth:`clearing.demo.ledger_view.LedgerView.public_books`)."""
    checked, bad = 0, []

    def eq(what, ours, theirs):
        nonlocal checked
        checked += 1
        if ours != theirs:
            bad.append(f"{what}: demo {ours!r}, oracle {theirs!r}")

    eq("days", len(days), len(oracle.days))
    for ours, theirs in zip(days, oracle.days):
        d = theirs.day
        eq(f"day {d} trades booked", len(ours["booked"]), len(theirs.trades))
        eq(f"day {d} trades refused", len(ours["refused"]), len(theirs.rejected_trades))
        eq(f"day {d} calls", sorted(ours["calls"]), sorted([c.member, c.kind] for c in theirs.calls))
        eq(f"day {d} cures", sorted(ours["cures"]), sorted([c.member, c.amount] for c in theirs.cures))
        eq(f"day {d} defaults", sorted(ours["defaults"]), sorted(theirs.defaults))
    eq("default events", len(reports), len(oracle.default_events))
    for rep, ev in zip(reports, oracle.default_events):
        k = rep.get("index")
        eq(f"event {k} defaulters", [r["member"] for r in rep["defaulters"]], [r.member for r in ev.defaulters])
        for ours, theirs in zip(rep["defaulters"], ev.defaulters):
            for f in DEFAULTER_FIELDS:
                eq(f"event {k} {theirs.member} {f}", ours.get(f), getattr(theirs, f))
            eq(f"event {k} {theirs.member} positions", list(ours.get("positions", [])),
               list(theirs.positions.values()))
            eq(f"event {k} {theirs.member} collateral consumed", ours.get("collateral_consumed"),
               ev.collateral_consumed.get(theirs.member))
        eq(f"event {k} survivors", rep.get("survivors"), ev.survivors)
        eq(f"event {k} waterfall", rep.get("waterfall"),
           [{"tranche": t.tranche, "amount": t.amount} for t in ev.waterfall])
        for f in REPORT_FIELDS:
            eq(f"event {k} {f}", rep.get(f), getattr(ev, f))
    for name, value in (books or {}).items():
        eq(f"public book {name}", value, oracle.ledger.get(name))
    return checked, bad


__all__ = ["REPORT_FIELDS", "DEFAULTER_FIELDS", "compare_with_oracle"]
