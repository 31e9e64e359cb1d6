"""The demo's outputs: ``report.json``, the waterfall chart and ``report.html``.

* :func:`assemble_report` turns what the demo observed -- the public
  ledger's per-cycle facts, proof counts, the invariants, the node's default
  reports, the auditor's verdict and the oracle cross-check -- into the
  report dict whose keys other tools rely on (issue 6)::

      ok, members, instruments, cycles, proofs{generated, verified, rejected},
      defaults[{member, cycle}], loss, waterfall[{tranche, amount}],
      rounding_residual, uncovered_loss, gross_loss, vm_gains_haircut_rate{U, G},
      invariants{positions_net_zero, vm_zero_sum, cash_conservation},
      auditor{ok, digest_matches}

  plus more (the full default reports, the public facts of every cycle,
  the oracle's verdict).  The waterfall sums every default event of the
  run, tranche by tranche, in the order of DESIGN §6 as issue 14 extends
  it (defaulter's margin, defaulter's default fund, insurance fund, SITG 1,
  survivors' default fund, SITG 2, assessments, VM gains haircut); amounts
  are integers in minor units; ``loss`` = sum of tranches + rounding
  residual + uncovered loss (checked: ``accounting_identity``).
  ``gross_loss`` adds to the net loss the collateral every defaulter posted
  and lost before its default (public deposits less withdrawals, less
  max(0, cash) + df at the disclosure); ``vm_gains_haircut_rate`` is
  {U, G} summed over the events that reached tranche 8 (U the loss the
  assessments left, G the survivors' opened VM gains);
  ``insurance_fund_balance`` {before, after} the fund's public balance
  before the first and after the last default event; ``cover2`` the Cover-2
  adequacy {required, total, met} of every closed funding window (issue 14
  §4; empty unless the scenario's ccp section has a stress set);
  ``liquidations`` [{member, cycle, penalty, remainder}] every maintenance
  liquidation (issue 14 §2; clearing.demo.liquidations).
  ``pretrade_refusals`` [{member, trade_id}] every refusal of a trade for
  lack of pre-trade headroom, per short side (issue 14 §1;
  clearing.demo.pretrade).
* :func:`waterfall_svg` draws the chart by hand as SVG (no plotting
  library): one floating bar per tranche starting where the previous one
  ended, then the rounding residual, the uncovered loss and the total loss.
  Every bar is a ``<rect class="bar">`` carrying ``data-tranche`` and
  ``data-amount`` (the exact integer), so tools and tests can read the chart
  back.  Coordinates are floats; amounts never are.
* :func:`report_html` is one self-contained, well-formed (XHTML-compatible)
  page embedding the chart and the tables.
* :func:`print_summary` is the terminal summary.

Everything here is public data: the report holds no opening and no
blinding -- only what the clearing node, and so any auditor, knows.
"""
from __future__ import annotations

import html
import json
import textwrap
from pathlib import Path
from typing import Any

TRANCHES = ("defaulter_margin", "defaulter_default_fund", "insurance_fund", "skin_in_the_game_1",
            "survivors_default_fund", "skin_in_the_game_2", "assessments", "vm_gains_haircut")
LABELS = {
    "defaulter_margin": "Defaulter's margin",
    "defaulter_default_fund": "Defaulter's default fund",
    "insurance_fund": "Insurance fund",
    "vm_gains_haircut": "VM gains haircut",
    "skin_in_the_game_1": "CCP skin in the game 1",
    "survivors_default_fund": "Survivors' default fund",
    "skin_in_the_game_2": "CCP skin in the game 2",
    "assessments": "Assessments",
    "rounding_residual": "Rounding residual (CCP)",
    "uncovered_loss": "Uncovered loss",
    "loss": "Total loss",
}
COLORS = {
    "defaulter_margin": "#2b6cb0", "defaulter_default_fund": "#3182ce", "skin_in_the_game_1": "#805ad5",
    "survivors_default_fund": "#dd6b20", "skin_in_the_game_2": "#6b46c1", "assessments": "#c53030",
    "insurance_fund": "#2f855a", "vm_gains_haircut": "#b7791f",
    "rounding_residual": "#718096", "uncovered_loss": "#1a202c", "loss": "#4a5568",
}
INVARIANTS = ("positions_net_zero", "vm_zero_sum", "cash_conservation")


def amount(x: int) -> str:
    """An integer amount in minor units with thousands separators."""
    return f"{int(x):,}"


# ---------------------------------------------------------------------------
# report.json
# ---------------------------------------------------------------------------
def assemble_report(*, scenario, variant: str, backend: str, days: list[dict], cycles: list[dict], proofs: dict,
                    refused_invalid: int, invariants: dict, reports: list[dict], auditor: dict, oracle: dict,
                    elapsed: float, processes: list[dict] | None = None, cover2: list[dict] | None = None,
                    liquidations: list[dict] | None = None, pretrade_refusals: list[dict] | None = None) -> dict:
    waterfall: list[dict[str, Any]] = [{"tranche": t, "amount": sum(_tranche(r, t) for r in reports)}
                                       for t in TRANCHES]
    loss = sum(int(r["loss"]) for r in reports)
    residual = sum(int(r["rounding_residual"]) for r in reports)
    uncovered = sum(int(r["uncovered_loss"]) for r in reports)
    identity = loss == sum(w["amount"] for w in waterfall) + residual + uncovered
    cut = [r["vm_gains_haircut_rate"] for r in reports if r.get("vm_gains_haircut_rate", {}).get("U")]
    proofs = {"generated": proofs["generated"] + refused_invalid, "verified": proofs["verified"],
              "rejected": proofs["rejected"] + refused_invalid}
    proofs_ok = proofs["rejected"] == 0 and proofs["verified"] == proofs["generated"] > 0
    invariants = {k: bool(invariants.get(k)) for k in INVARIANTS}
    auditor = dict(auditor)
    ok = (proofs_ok and all(invariants.values()) and bool(auditor.get("ok")) and bool(auditor.get("digest_matches"))
          and bool(oracle.get("ok")) and identity and len(cycles) == len(days))
    return {
        "ok": ok,
        "scenario": scenario.name,
        "variant": variant,
        "backend": backend,
        "members": len(scenario.members),
        "instruments": len(scenario.instruments),
        "cycles": len(cycles),
        "proofs": proofs,
        "defaults": [{"member": d["member"], "cycle": int(r["cycle"])} for r in reports for d in r["defaulters"]],
        "loss": loss,
        "waterfall": waterfall,
        "rounding_residual": residual,
        "uncovered_loss": uncovered,
        "gross_loss": sum(int(r.get("gross_loss", r["loss"])) for r in reports),
        "vm_gains_haircut_rate": {"U": sum(int(c["U"]) for c in cut), "G": sum(int(c["G"]) for c in cut)},
        "insurance_fund_balance": {"before": int(reports[0].get("insurance_fund_before", 0)) if reports else None,
                           "after": int(reports[-1].get("insurance_fund_after", 0)) if reports else None},
        "liquidity_line": sum(int(r.get("liquidity_line", 0)) for r in reports),
        "cover2": [dict(w) for w in cover2 or []],
        "liquidations": [dict(x) for x in liquidations or []],
        "pretrade_refusals": [dict(x) for x in pretrade_refusals or []],
        "accounting_identity": identity,
        "invariants": invariants,
        "auditor": auditor,
        "oracle": dict(oracle),
        "instrument_ids": list(scenario.instrument_ids),
        "member_ids": list(scenario.member_ids),
        "days": days,
        "public_ledger": cycles,
        "default_reports": reports,
        "elapsed_seconds": round(elapsed, 1),
        "processes": list(processes or []),
    }


def _tranche(report: dict, name: str) -> int:
    for t in report["waterfall"]:
        if t["tranche"] == name:
            return int(t["amount"])
    return 0


def write_outputs(report: dict, out_dir: Path, json_path: Path | None = None) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, sort_keys=False) + "\n"
    paths = {"json": out_dir / "report.json", "svg": out_dir / "waterfall.svg", "html": out_dir / "report.html"}
    paths["json"].write_text(text, encoding="utf-8")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(text, encoding="utf-8")
        paths["json_copy"] = json_path
    svg = waterfall_svg(report)
    paths["svg"].write_text(svg, encoding="utf-8")
    paths["html"].write_text(report_html(report, svg), encoding="utf-8")
    return paths


# ---------------------------------------------------------------------------
# the chart
# ---------------------------------------------------------------------------
def _bars(report: dict) -> list[tuple[str, int, int]]:
    """(name, start, amount) of every bar, cumulative like a waterfall."""
    rows = [(w["tranche"], int(w["amount"])) for w in report["waterfall"]]
    rows += [("rounding_residual", int(report["rounding_residual"])), ("uncovered_loss", int(report["uncovered_loss"]))]
    out, start = [], 0
    for name, a in rows:
        out.append((name, start, a))
        start += a
    out.append(("loss", 0, int(report["loss"])))
    return out


def waterfall_svg(report: dict, width: int = 960, height: int = 440) -> str:
    bars = _bars(report)
    top = max([s + a for _, s, a in bars] + [1])
    left, right, upper, lower = 120.0, 20.0, 80.0, 60.0
    plot_w, plot_h = width - left - right, height - upper - lower
    slot = plot_w / len(bars)
    bar_w = slot * 0.62

    def y(v: int) -> float:
        return upper + plot_h - plot_h * v / top

    e = html.escape
    title = "Default waterfall: who absorbed the loss"
    if report.get("defaults"):
        who = ", ".join(sorted({d["member"] for d in report["defaults"]}))
        title += f" (defaulters {who})"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" role="img">',
        f"<title>{e(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2:.1f}" y="24" text-anchor="middle" font-size="16" font-weight="bold">{e(title)}</text>',
        f'<text x="{width / 2:.1f}" y="42" text-anchor="middle" font-size="11" fill="#4a5568">'
        f"loss {e(amount(report['loss']))} (minor units)</text>",
    ]
    for k in range(5):  # grid lines at quarters of the total
        v = top * k // 4
        yy = y(v)
        parts.append(f'<line x1="{left:.1f}" y1="{yy:.1f}" x2="{width - right:.1f}" y2="{yy:.1f}" '
                     f'stroke="#e2e8f0" stroke-width="1"/>')
        parts.append(f'<text x="{left - 8:.1f}" y="{yy + 4:.1f}" text-anchor="end" font-size="10" '
                     f'fill="#4a5568">{e(amount(v))}</text>')
    parts.append(f'<line x1="{left:.1f}" y1="{y(0):.1f}" x2="{width - right:.1f}" y2="{y(0):.1f}" '
                 f'stroke="#1a202c" stroke-width="1"/>')
    prev_end = None
    for k, (name, start, a) in enumerate(bars):
        x = left + k * slot + (slot - bar_w) / 2
        y0, y1 = y(start + a), y(start)
        h = max(y1 - y0, 1.0 if a else 0.0)
        parts.append(f'<rect class="bar" data-tranche="{e(name)}" data-amount="{a}" x="{x:.1f}" '
                     f'y="{y1 - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{COLORS.get(name, "#4a5568")}"/>')
        if prev_end is not None and name != "loss":
            parts.append(f'<line x1="{x - (slot - bar_w):.1f}" y1="{y(prev_end):.1f}" x2="{x:.1f}" '
                         f'y2="{y(prev_end):.1f}" stroke="#a0aec0" stroke-dasharray="3,3"/>')
        prev_end = start + a
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y1 - h - 5:.1f}" text-anchor="middle" '
                     f'font-size="10">{e(amount(a))}</text>')
        # labels wrapped to the slot (about 6.5 px per character at 11 px), at most three lines
        lines = textwrap.wrap(LABELS.get(name, name), width=max(6, int(slot / 6.5)))[:3]
        for j, line in enumerate(lines):
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y(0) + 16 + 13 * j:.1f}" text-anchor="middle" '
                         f'font-size="11">{e(line)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------
# the HTML report
# ---------------------------------------------------------------------------
def _table(headers, rows, num: frozenset = frozenset()) -> str:
    """An HTML table; columns whose index is in ``num`` are right-aligned."""
    e = html.escape

    def cell(tag, k, c):
        cls = ' class="num"' if k in num else ""
        return f"<{tag}{cls}>{c if isinstance(c, _Raw) else e(str(c))}</{tag}>"
    head = "".join(cell("th", k, h) for k, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", k, c) for k, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Raw(str):
    """Already-escaped HTML."""


def _verdict(flag: bool) -> _Raw:
    return _Raw('<span class="ok">yes</span>' if flag else '<span class="bad">NO</span>')


def cycle_facts(c: dict, instrument_ids: list[str], digest_chars: int = 64) -> list[str]:
    """What the clearing node knew in one cycle, as short lines (public data only)."""
    lines = []
    if c.get("prices"):
        ss = c.get("scenario_set") or {}
        lines.append("settlement prices " + ", ".join(f"{i} {p}" for i, p in zip(instrument_ids, c["prices"]))
                     + f"; scenario set v{ss.get('version')} ({ss.get('scenarios')} scenarios)")
    if c.get("deposits"):
        lines.append("public deposits: " + ", ".join(f"{d['member']} {amount(d['amount'])}" for d in c["deposits"]))
    if c.get("funded"):
        lines.append("default-fund funding (amounts hidden, range-proven): " + ", ".join(c["funded"]))
    for r in c.get("intraday", []):  # issue 14 §1: intraday margin runs on operator-signed marks
        res = ", ".join(f"{m} {x}" for m, x in sorted(r.get("results", {}).items()))
        lines.append(f"intraday run {r['run']} at marks " + ", ".join(
            f"{i} {p}" for i, p in zip(instrument_ids, r["marks"])) + (f": {res}" if res else ""))
    for r in c.get("pretrade_refusals", []):
        lines.append(f"pre-trade refusal (prover-signed): trade {r['trade_id']}, short side "
                     + ", ".join(r["members"]))
    if c.get("trades"):
        toks = [f"{t['buyer']} buys from {t['seller']} {t['instrument']} @ {t['price']}" for t in c["trades"]]
        n = len(c["trades"])
        lines.append(f"{n} trade{'' if n == 1 else 's'}, {len(c.get('novated', []))} novated (sizes hidden): "
                     + "; ".join(toks))
    if c.get("margin"):
        lines.append("margin: " + ", ".join(f"{m} {r}" for m, r in sorted(c["margin"].items())))
    for cu in c.get("cures", []):
        lines.append(f"cure: {cu['member']} re-proved margin after its deposit")
    if c.get("defaults"):
        lines.append("default declared (operator-signed): " + ", ".join(c["defaults"]))
    for ev in c.get("default_events", []):
        for m, vals in ev.get("disclosed", {}).items():
            lines.append(f"disclosed account of {m}: " + ", ".join(f"{k} {v}" for k, v in vals.items()))
        lines.append(f"D0 over {ev['survivors']} survivors = {amount(ev['D0'])}"
                     + (f"; close-out prices {ev['close_out_prices']}" if ev.get("close_out_prices") else ""))
    for a in c.get("assessments_paid", []):
        if a.get("from_cash"):
            lines.append(f"assessment settled from hidden cash: {a['member']} (event {a['index']})")
        else:
            lines.append(f"assessment paid by tagged deposit: {a['member']} {amount(a['amount'])} (event {a['index']})")
    p = c.get("proofs", {})
    lines.append(f"proofs: {p.get('generated', 0)} generated, {p.get('verified', 0)} verified, "
                 f"{p.get('rejected', 0)} rejected; signed digest {str(c.get('digest'))[:digest_chars]}")
    return lines


def haircut_rate_text(rate: dict) -> str:
    """U/G of tranche 8 as 'U / G (p.pp %)', the percentage by integer
    arithmetic (floor, basis points); 'not reached' when U is 0."""
    U, G = int(rate.get("U", 0)), int(rate.get("G", 0))
    if not U:
        return "not reached"
    if not G:
        return f"{amount(U)} / 0 (no survivor gained VM)"
    bp = min(U, G) * 10000 // G
    return f"{amount(U)} / {amount(G)} ({bp // 100}.{bp % 100:02d} % of the gains)"


def event_facts(r: dict) -> str:
    """One default event's issue-14 lines: gross and net loss, the insurance
    fund, the VM gains haircut and its rounding residual."""
    return (f"Gross loss {amount(r.get('gross_loss', r['loss']))} (net loss {amount(r['loss'])} plus the "
            f"defaulters' collateral consumed before the default); insurance fund "
            f"{amount(r.get('insurance_fund_before', 0))} -> {amount(r.get('insurance_fund_after', 0))}; "
            f"VM gains haircut rate U/G {haircut_rate_text(r.get('vm_gains_haircut_rate', {}))}, "
            f"rounding residual {amount(r.get('vm_gains_residual', 0))}.")


def report_html(report: dict, svg: str) -> str:
    """The HTML report: one template, kept in one function so the page reads top to bottom."""
    e = html.escape
    ok = report["ok"]
    head = ("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
            "<meta charset=\"utf-8\"/>\n"
            f"<title>zkclear demo: {e(report['scenario'])} / {e(report['variant'])}</title>\n"
            "<style>\nbody{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#1a202c;max-width:1100px}\n"
            "table{border-collapse:collapse;margin:0.5em 0 1.5em}\n"
            "td,th{border:1px solid #cbd5e0;padding:4px 8px;text-align:left;vertical-align:top}\n"
            "td.num,th.num{text-align:right}\n.ok{color:#276749;font-weight:bold}\n"
            ".bad{color:#c53030;font-weight:bold}\ncode,pre{font-size:0.9em}\n</style>\n</head>\n<body>\n")
    badge = '<span class="ok">OK</span>' if ok else '<span class="bad">FAILED</span>'
    body = [f"<h1>zkclear demo: scenario {e(report['scenario'])}, variant {e(report['variant'])}</h1>",
            f"<p>Result: {badge} -- "
            f"{report['members']} members, {report['instruments']} instruments, {report['cycles']} cycles, "
            f"group backend {e(report['backend'])}, {report['elapsed_seconds']} s. "
            "Every node ran as its own process over mutual TLS; all amounts are integers in minor units.</p>"]
    p = report["proofs"]
    checks = [
        ("proofs verified", f"{p['verified']} of {p['generated']} ({p['rejected']} rejected)",
         p["rejected"] == 0 and p["verified"] == p["generated"]),
        *[(f"invariant {k}", "checked before every cycle close", report["invariants"][k]) for k in INVARIANTS],
        ("auditor re-verification", f"{report['auditor'].get('events')} events, "
                                    f"{report['auditor'].get('cycles')} cycles", report["auditor"].get("ok")),
        ("auditor digests match the node's", "every cycle", report["auditor"].get("digest_matches")),
        ("plaintext oracle agrees", f"{report['oracle'].get('checked')} public outputs compared",
         report["oracle"].get("ok")),
        ("loss = tranches + residual + uncovered", amount(report["loss"]), report["accounting_identity"]),
    ]
    body.append("<h2>Checks</h2>")
    body.append(_table(["check", "detail", "holds"], [(a, b, _verdict(bool(c))) for a, b, c in checks]))
    if report["oracle"].get("mismatches"):
        body.append("<ul>" + "".join(f"<li>{e(m)}</li>" for m in report["oracle"]["mismatches"]) + "</ul>")
    body.append("<h2>Default waterfall</h2>")
    body.append(svg)
    rows = [(LABELS[w["tranche"]], amount(w["amount"])) for w in report["waterfall"]]
    rows += [(LABELS["rounding_residual"], amount(report["rounding_residual"])),
             (LABELS["uncovered_loss"], amount(report["uncovered_loss"])),
             (_Raw(f"<b>{LABELS['loss']}</b>"), _Raw(f"<b>{amount(report['loss'])}</b>"))]
    body.append(_table(["tranche (all default events)", "amount"], rows, frozenset({1})))
    body.append(f"<p>Gross loss {amount(report.get('gross_loss', report['loss']))} (net loss "
                f"{amount(report['loss'])}); VM gains haircut rate U/G "
                f"{e(haircut_rate_text(report.get('vm_gains_haircut_rate', {})))}.</p>")
    if report.get("liquidations"):  # issue 14 §2: maintenance liquidations
        body.append("<h3>Liquidations (failed maintenance)</h3>")
        body.append(_table(["member", "cycle", "penalty (into the insurance fund)", "remainder (kept if >= 0)"],
                           [(x["member"], str(x["cycle"]), amount(x["penalty"]), amount(x["remainder"]))
                            for x in report["liquidations"]], frozenset({2, 3})))
    if report.get("pretrade_refusals"):  # issue 14 §1: refusals for lack of pre-trade headroom
        body.append("<h3>Pre-trade refusals (headroom exhausted)</h3>")
        body.append(_table(["member (short side)", "trade"],
                           [(x["member"], x["trade_id"]) for x in report["pretrade_refusals"]]))
    for r in report["default_reports"]:
        body.append(f"<h3>Default event {r['index']} (cycle {r['cycle']})</h3>")
        body.append(f"<p>Defaulters {e(', '.join(d['member'] for d in r['defaulters']))}; survivors "
                    f"{e(', '.join(r['survivors']))}; D0 = {amount(r['D0'])}; disclosure policy "
                    f"{e(str(r.get('disclosure_policy')))}; liquidity line {amount(r.get('liquidity_line', 0))}.</p>")
        body.append(_table(
            ["defaulter", "cash", "df", "positions", "collateral consumed before the default", "close-out loss X",
             "net loss", "margin used", "df used", "residual", "estate surplus"],
            [(d["member"], amount(d["cash"]), amount(d["df"]), d.get("positions"),
              amount(d.get("collateral_consumed", 0)), amount(d["X"]),
              amount(d["loss"]), amount(d["defaulter_margin"]), amount(d["defaulter_default_fund"]),
              amount(d["residual"]), amount(d["estate_surplus"])) for d in r["defaulters"]],
            frozenset({1, 2, 4, 5, 6, 7, 8, 9, 10})))
        body.append(f"<p>{e(event_facts(r))}</p>")
        body.append(_table(["tranche", "amount"], [(LABELS[t["tranche"]], amount(t["amount"])) for t in r["waterfall"]]
                           + [("rounding residual", amount(r["rounding_residual"])),
                              ("uncovered loss", amount(r["uncovered_loss"]))], frozenset({1})))
    body.append("<h2>What the clearing node knew, cycle by cycle (public data only)</h2>")
    body.append("<p>Sizes of trades, positions, cash and default-fund contributions are Pedersen commitments; "
                "the node verified proofs about them. A defaulter's account becomes public at its default.</p>")
    ids = report.get("instrument_ids", [])
    body.append(_table(["cycle", "public facts"],
                       [(c["cycle"], _Raw("<br/>".join(e(x) for x in cycle_facts(c, ids))))
                        for c in report["public_ledger"]]))
    a = report["auditor"]
    body.append("<h2>Auditor</h2>")
    verdict = "ok" if a.get("ok") else e("FAILED: " + str(a.get("error")))
    body.append(f"<p>The auditor process streamed the public ledger, re-checked the hash chain and replayed every "
                f"event, re-verifying every signature and proof: {verdict}; "
                f"node {'agrees' if a.get('node_agrees') else 'disagrees'}.</p>")
    body.append(_table(["cycle", "digest (auditor)"], [(k + 1, d) for k, d in enumerate(a.get("digests", []))]))
    return head + "\n".join(body) + "\n</body>\n</html>\n"


# ---------------------------------------------------------------------------
# the terminal summary
# ---------------------------------------------------------------------------
def print_summary(report: dict, paths: dict) -> None:
    from clearing.node.reports import report_chart, report_table

    out = []
    out.append("")
    out.append("== What the clearing node knew, cycle by cycle (public data only; sizes and balances hidden) ==")
    ids = report.get("instrument_ids", [])
    for c in report["public_ledger"]:
        out.append(f"cycle {c['cycle']}:")
        for line in cycle_facts(c, ids, digest_chars=16):
            out.extend(textwrap.wrap(line, 110, initial_indent="  ", subsequent_indent="      "))
    out.append("")
    out.append("== Default report ==")
    for r in report["default_reports"]:
        out.append(report_table(r))
        out.append(report_chart(r))
    if not report["default_reports"]:
        out.append("no default events")
    out.append("")
    out.append("== Waterfall over the run (minor units) ==")
    w = max(len(n) for n in list(TRANCHES) + ["rounding_residual", "uncovered_loss"])
    for t in report["waterfall"]:
        out.append(f"  {t['tranche'].ljust(w)}  {amount(t['amount']):>20}")
    out.append(f"  {'rounding_residual'.ljust(w)}  {amount(report['rounding_residual']):>20}")
    out.append(f"  {'uncovered_loss'.ljust(w)}  {amount(report['uncovered_loss']):>20}")
    out.append(f"  {'loss'.ljust(w)}  {amount(report['loss']):>20}  "
               f"(identity {'holds' if report['accounting_identity'] else 'FAILS'})")
    out.append(f"  {'gross_loss'.ljust(w)}  {amount(report.get('gross_loss', report['loss'])):>20}  "
               "(net loss + collateral the defaulters consumed before their default)")
    out.append(f"  VM gains haircut rate U/G: {haircut_rate_text(report.get('vm_gains_haircut_rate', {}))}")
    for k, w in enumerate(report.get("cover2", [])):  # issue 14 §4: Cover-2 adequacy per funding window
        state = "met" if w["met"] else f"NOT met, short by {amount(w['required'] - w['total'])}"
        out.append(f"  Cover-2, funding window {k}: fund {amount(w['total'])} vs 2*tau {amount(w['required'])}: "
                   f"{state}")
    for x in report.get("liquidations", []):  # issue 14 §2: maintenance liquidations
        kept = (f"keeps a remainder of {amount(x['remainder'])}" if x["remainder"] >= 0
                else f"leaves bad debt of {amount(-x['remainder'])} for the waterfall")
        out.append(f"  Liquidation of {x['member']} in cycle {x['cycle']}: penalty {amount(x['penalty'])} into the "
                   f"insurance fund; it {kept}")
    for x in report.get("pretrade_refusals", []):  # issue 14 §1: refusals for lack of pre-trade headroom
        out.append(f"  Pre-trade refusal of trade {x['trade_id']}: {x['member']} lacked headroom")
    a, p, o = report["auditor"], report["proofs"], report["oracle"]
    out.append("")
    out.append(f"proofs: {p['generated']} generated, {p['verified']} verified, {p['rejected']} rejected")
    out.append("invariants: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in report["invariants"].items()))
    out.append(f"auditor (independent replay): {'ok' if a.get('ok') else 'FAILED ' + str(a.get('error'))}; "
               f"digests {'match' if a.get('digest_matches') else 'DIFFER'}")
    out.append(f"plaintext oracle: {'agrees' if o.get('ok') else 'DISAGREES'} on {o.get('checked')} public outputs")
    for m in o.get("mismatches", []):
        out.append(f"  mismatch: {m}")
    out.append(f"result: {'OK' if report['ok'] else 'FAILED'} ({report['elapsed_seconds']} s)")
    out.append("wrote " + ", ".join(str(v) for v in paths.values()))
    print("\n".join(out), flush=True)


__all__ = ["assemble_report", "write_outputs", "waterfall_svg", "report_html", "print_summary", "cycle_facts",
           "TRANCHES", "amount", "haircut_rate_text", "event_facts"]
