"""``zkclear bench scale``: cycle time over members, instruments, scenarios.

Grid: M in {10, 30, 100} (only M <= ``--members``), I in {5, 20},
S in {8, 16, 32}; one backend per run (``--backend``, default the current
default backend).  For each (M, I) one clearing house is set up
(:func:`bench.cycle.run_cycles`) and three consecutive cycles run with
S = 8, 16, 32 (the setup does not depend on S).

Results merge into ``DIR/scale.csv`` (rows keyed by backend, M, I, S: a run
replaces its own rows and keeps the others, so backends can be measured in
separate runs) and ``DIR/scale.svg`` is redrawn from the whole CSV: left,
cycle time against members (S = 16); right, against scenarios (largest M
measured for that backend).  Regenerate with::

    zkclear bench scale --backend mcl
    zkclear bench scale --backend gmpy2 --members 30
    zkclear bench scale --plot-only      # redraw scale.svg from scale.csv

Every row carries the 1-minute load average at the end of its cycle: the
machine is shared, compare rows with that in mind.
"""
from __future__ import annotations

import argparse
import csv
import os
from html import escape

from . import machine_description
from .cycle import run_cycles

MEMBERS = (10, 30, 100)
INSTRUMENTS = (5, 20)
SCENARIOS = (8, 16, 32)
DEFAULT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

FIELDS = ["backend", "members", "instruments", "scenarios", "workers", "vm_update_s", "prove_s", "verify_s",
          "close_s", "total_s", "batch_verify_s", "prove_cpu_s", "batch_verify_cpu_s", "idle_estimate_s", "setup_s",
          "ok", "load_1m", "machine"]
_KEY = ("backend", "members", "instruments", "scenarios")


def _row(rep: dict) -> dict:
    ph = rep["phases_s"]
    return {"backend": rep["backend"], "members": rep["members"], "instruments": rep["instruments"],
            "scenarios": rep["scenarios"], "workers": rep["workers"], "vm_update_s": ph["vm_update"],
            "prove_s": ph["prove"], "verify_s": ph["verify"], "close_s": ph["close"], "total_s": rep["total_s"],
            "batch_verify_s": rep["batch_verify_s"], "prove_cpu_s": round(rep["cpu_s"]["prove"], 3),
            "batch_verify_cpu_s": rep["batch_verify_cpu_s"], "idle_estimate_s": rep["idle_estimate_s"],
            "setup_s": rep["setup_s"], "ok": rep["ok"],
            "load_1m": round(os.getloadavg()[0], 2), "machine": machine_description()}


def read_csv(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: str, rows: list[dict]) -> None:
    rows = sorted(rows, key=lambda r: (r["backend"], int(r["instruments"]), int(r["scenarios"]), int(r["members"])))
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in FIELDS})
    os.replace(tmp, path)


def merge(old: list[dict], new: list[dict]) -> list[dict]:
    key = lambda r: tuple(str(r[k]) for k in _KEY)  # noqa: E731
    out = {key(r): r for r in old}
    for r in new:
        out[key(r)] = r
    return list(out.values())


# -- the plot (hand-written SVG) ---------------------------------------------------------

_COLORS = {("mcl", 5): "#1f77b4", ("mcl", 20): "#0b3c6b", ("gmpy2", 5): "#ff7f0e", ("gmpy2", 20): "#a14d00",
           ("ints", 5): "#2ca02c", ("ints", 20): "#17601a"}


def _panel(x0, y0, w, h, series, xlabel, title, xticks):
    """One panel: series = [(label, color, [(x, y), ...], dashed)], linear
    axes; dashed series get no legend entry."""
    pts = [p for _, _, s, _ in series for p in s]
    out = [f'<text x="{x0 + w / 2}" y="{y0 - 12}" text-anchor="middle" font-size="14">{escape(title)}</text>']
    if not pts:
        return out
    xmax = max(xticks)
    ymax = max(y for _, y in pts) * 1.1 or 1.0
    step = _nice(ymax / 5)
    X = lambda x: x0 + x / xmax * w  # noqa: E731
    Y = lambda y: y0 + h - y / ymax * h  # noqa: E731
    out.append(f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#888"/>')
    t = 0.0
    while t <= ymax:
        out.append(f'<line x1="{x0}" y1="{Y(t):.1f}" x2="{x0 + w}" y2="{Y(t):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{x0 - 6}" y="{Y(t) + 4:.1f}" text-anchor="end" font-size="11">{t:g}</text>')
        t += step
    for xt in xticks:
        out.append(f'<text x="{X(xt):.1f}" y="{y0 + h + 16}" text-anchor="middle" font-size="11">{xt}</text>')
    out.append(f'<text x="{x0 + w / 2}" y="{y0 + h + 34}" text-anchor="middle" font-size="12">{escape(xlabel)}</text>')
    out.append(f'<text x="{x0 - 40}" y="{y0 + h / 2}" text-anchor="middle" font-size="12" '
               f'transform="rotate(-90 {x0 - 40} {y0 + h / 2})">cycle time (s)</text>')
    k = 0
    for label, color, s, dashed in series:
        s = sorted(s)
        path = " ".join(f"{'M' if i == 0 else 'L'}{X(x):.1f},{Y(y):.1f}" for i, (x, y) in enumerate(s))
        if dashed:
            out.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="1" stroke-dasharray="4 3" '
                       f'opacity="0.6"/>')
            continue
        out.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in s:
            out.append(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="3" fill="{color}">'
                       f'<title>{escape(label)}: {x} -&gt; {y:.2f} s</title></circle>')
        ly = y0 + 14 + 16 * k
        k += 1
        out.append(f'<line x1="{x0 + 10}" y1="{ly - 4}" x2="{x0 + 30}" y2="{ly - 4}" '
                   f'stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{x0 + 36}" y="{ly}" font-size="11">{escape(label)}</text>')
    return out


def _nice(x: float) -> float:
    import math

    if x <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * e >= x:
            return m * e
    return 10 * e


def render_svg(rows: list[dict]) -> str:
    rows = [r for r in rows if str(r.get("ok")) == "True"]
    backends = sorted({r["backend"] for r in rows})
    left, right = [], []
    for b in backends:
        for inst in INSTRUMENTS:
            color = _COLORS.get((b, inst), "#555")
            sel = [r for r in rows if r["backend"] == b and int(r["instruments"]) == inst]
            if not sel:
                continue
            mmax = max(int(r["members"]) for r in sel)
            for col, dashed in (("idle_estimate_s", False), ("total_s", True)):
                s16 = [(int(r["members"]), float(r[col])) for r in sel if int(r["scenarios"]) == 16 and r.get(col)]
                if s16:
                    left.append((f"{b}, I={inst}, S=16", color, s16, dashed))
                bys = [(int(r["scenarios"]), float(r[col])) for r in sel if int(r["members"]) == mmax and r.get(col)]
                if bys:
                    right.append((f"{b}, I={inst}, M={mmax}", color, bys, dashed))
    W, H = 900, 440
    body = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
            f'font-family="sans-serif">', f'<rect width="{W}" height="{H}" fill="white"/>',
            f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="16">zkclear: one clearing cycle '
            f'(VM update, margin proofs, batch verification, digest)</text>']
    body += _panel(80, 60, 340, 290, left, "members M", "time vs members (S = 16)", MEMBERS)
    body += _panel(530, 60, 340, 290, right, "scenarios S", "time vs scenarios", SCENARIOS)
    body.append(f'<text x="{W / 2}" y="{H - 22}" text-anchor="middle" font-size="10" fill="#666">'
                'solid: idle 2-core estimate from CPU time (parent phases + proving CPU / W); '
                'dashed: wall time on the shared, loaded machine</text>')
    body.append(f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle" font-size="10" fill="#666">'
                'source: bench/results/scale.csv (zkclear bench scale)</text>')
    body.append("</svg>")
    return "\n".join(body) + "\n"


def run_cli(args: argparse.Namespace, log) -> int:
    from zkp.group import get_backend

    out = args.out or DEFAULT_DIR
    os.makedirs(out, exist_ok=True)
    csv_path, svg_path = os.path.join(out, "scale.csv"), os.path.join(out, "scale.svg")
    rows = read_csv(csv_path)
    if not getattr(args, "plot_only", False):
        backend = args.backend or get_backend().name
        ok = True
        for m in [m for m in MEMBERS if m <= args.members]:
            for inst in INSTRUMENTS:
                reps = run_cycles(m, inst, list(SCENARIOS), workers=args.workers, backend=backend, log=log)
                new = [_row(r) for r in reps]
                ok &= all(r["ok"] for r in reps)
                rows = merge(read_csv(csv_path), new)  # re-read: another backend's run may have written
                write_csv(csv_path, rows)  # after every (M, I): a long run keeps what it measured
                with open(svg_path, "w", encoding="utf-8") as fh:
                    fh.write(render_svg(rows))
        if not ok:
            log("some cycle did not pass (see the ok column)")
    with open(svg_path, "w", encoding="utf-8") as fh:
        fh.write(render_svg(rows))
    log(f"wrote {csv_path} and {svg_path}")
    return 0
