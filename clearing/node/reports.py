"""Text renderings of a default report (table and bar chart)."""
from __future__ import annotations


def report_table(report: dict) -> str:
    """The default report of DESIGN §6.5 as a human-readable table."""
    lines = [f"Default event {report['index']} (cycle {report['cycle']}): "
             f"defaulters {', '.join(r['member'] for r in report['defaulters'])}; "
             f"survivors {len(report['survivors'])}, D0 = {report['D0']}; disclosure {report['disclosure_policy']}"]
    for r in report["defaulters"]:
        lines.append(f"  {r['member']}: cash {r['cash']}, df {r['df']}, close-out loss X {r['X']}, "
                     f"loss {r['loss']}, residual {r['residual']}, estate surplus {r['estate_surplus']}")
    w = max(len(t["tranche"]) for t in report["waterfall"])
    lines.append(f"  {'tranche'.ljust(w)}  {'amount':>16}")
    for t in report["waterfall"]:
        lines.append(f"  {t['tranche'].ljust(w)}  {t['amount']:>16}")
    for name in ("rounding_residual", "uncovered_loss", "liquidity_line"):
        lines.append(f"  {name.ljust(w)}  {report[name]:>16}")
    lines.append(f"  total loss {report['loss']}; SITG1 {report['skin_in_the_game_1_before']} -> "
                 f"{report['skin_in_the_game_1_after']}, SITG2 {report['skin_in_the_game_2_before']} -> "
                 f"{report['skin_in_the_game_2_after']}")
    return "\n".join(lines)


def report_chart(report: dict, width: int = 40) -> str:
    """A text waterfall chart of a default report: one bar per tranche (and
    the rounding residual and the uncovered loss), scaled to the total loss;
    integer arithmetic only."""
    rows = [(t["tranche"], t["amount"]) for t in report["waterfall"]]
    rows += [("rounding_residual", report["rounding_residual"]), ("uncovered_loss", report["uncovered_loss"])]
    total = max(1, report["loss"])
    w = max(len(n) for n, _ in rows)
    out, start = [], 0
    for name, amount in rows:
        a, b = start * width // total, (start + amount) * width // total
        bar = "#" * max(b - a, 1 if amount else 0)
        out.append(f"{name.ljust(w)} |{' ' * a}{bar}{' ' * max(0, width - b)}| {amount}")
        start += amount
    return "\n".join(out)
