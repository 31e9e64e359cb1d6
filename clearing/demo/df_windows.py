"""The demo's funding windows for default-fund sizing and Cover-2 (issue 14
§4; rules in :mod:`clearing.ccp.oracle_df_sizing`): with a scenario whose
ccp section asks for them, window 0 closes after the onboarding (every
member files its sizing / Cover-2 filing after its funding) and window 1 --
the replenishment -- after the last day (every member not in default
re-files its scenario contribution).  The node's public Cover-2 report is
compared with the oracle's windows; report.json's ``cover2`` lists
{required, total, met} per window (empty without Cover-2)."""
from __future__ import annotations

from typing import Any


def enabled(sc) -> bool:
    return sc.ccp.df_sizing is not None or sc.ccp.cover2_tau is not None


def onboarding_window(run: Any) -> None:
    if not enabled(run.sc):
        return
    run.broadcast({"op": "size", "epoch": 0})
    run.op.open_epoch(request_id="epoch-0")
    run.say("funding window 0: every member filed its sizing and Cover-2 proofs; the operator closed it "
            "(the group total D opened once)")


def replenishment_window(run: Any) -> None:
    if not enabled(run.sc):
        return
    done = run.broadcast({"op": "replenish"})
    run.op.open_epoch(request_id="epoch-1")
    filed = sorted(m for m, r in done.items() if not r.get("skipped"))
    run.say(f"replenishment window: {', '.join(filed)} restored their contributions (sized, Cover-2 proven); "
            "the window closed")


def cover2_outputs(run: Any) -> tuple[list[dict], list[str]]:
    """(report rows from the node, mismatches against the oracle's windows)."""
    from clearing.api import clearing_pb2
    from clearing.ccp.oracle_df_sizing import DfSizingError, scenario_windows

    if not enabled(run.sc):
        return [], []
    node = [{"required": int(w.required), "total": int(w.total), "met": bool(w.met)}
            for w in run.op.clearing.GetCover2Report(clearing_pb2.Cover2ReportRequest()).windows]
    try:
        expected = [{"required": w["required"], "total": w["total"], "met": w["met"]}
                    for w in scenario_windows(run.sc, run.oracle.final) if "required" in w]
    except DfSizingError as exc:
        return node, [f"cover2: the oracle finds the replenishment infeasible: {exc}"]
    return node, ([] if node == expected else [f"cover2: node {node} != oracle {expected}"])


__all__ = ["enabled", "onboarding_window", "replenishment_window", "cover2_outputs"]
