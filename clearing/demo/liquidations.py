"""The demo's maintenance liquidations (issue 14 §2): the operator liquidates
at once every member the margin batch marks "liquidate" (it failed both IM
and maintenance), the default event that follows discloses and closes it
out; a member that keeps a remainder is active again and is no default of
the day.  ``liquidation_outputs`` gives the report's ``liquidations``
[{member, cycle, penalty, remainder}] from the public ledger (the fold's
``books["liquidations"]``) and compares them with the oracle's
(:mod:`clearing.ccp.oracle_liquidation`; cycle = the day's cycle)."""
from __future__ import annotations

from typing import Any


def liquidate(run: Any, member: str, rec: dict) -> None:
    """The operator's liquidation of ``member``; it counts as a default of
    the day until its close-out shows a remainder kept (:func:`after_events`)."""
    run.op.liquidate(member)
    rec.setdefault("liquidated", []).append(member)
    rec["defaults"].append(member)
    run.say(f"  {member}: fails maintenance -- liquidated at once by the operator (its account will be "
            "disclosed and closed out)")


def after_events(run: Any, rec: dict) -> None:
    """After the day's default events: a liquidated member that kept a
    remainder is active, not a default."""
    for m in rec.get("liquidated", []):
        if run._status_of(m) == "active":
            rec["defaults"].remove(m)
            run.say(f"  {m}: liquidation complete -- penalty paid into the insurance fund, it keeps its "
                    "remainder and its default-fund contribution")


def liquidation_outputs(run: Any) -> tuple[list[dict], list[str]]:
    """(report rows from the public ledger, mismatches against the oracle)."""
    rows = [dict(r) for r in run.ledger.core.state.books.get("liquidations", [])]
    cycle_of = {rec["day"]: rec["cycle"] for rec in run.days}
    expected = [{"member": r["member"], "cycle": cycle_of.get(r["day"]), "penalty": r["penalty"],
                 "remainder": r["remainder"]} for r in run.oracle.liquidations]
    return rows, ([] if rows == expected else [f"liquidations: node {rows} != oracle {expected}"])


__all__ = ["liquidate", "after_events", "liquidation_outputs"]
