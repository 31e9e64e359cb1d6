"""Benchmarks behind ``zkclear bench``.

Structure
---------
A *suite* is a named group of *cases*; ``zkclear bench [SUITE]`` runs one
suite (default ``crypto``) on every selected group backend and prints a
table, optionally writing JSON.  Modules register cases with the
:func:`case` decorator and are listed under their suite in :data:`SUITES`,
so adding a case is one decorated function, and adding a suite (say
``cycle``) is one entry in :data:`SUITES` plus its module::

    @case("margin_20x16", suite="crypto", order=30)
    def margin(ctx: BenchContext) -> dict:
        ...
        return {"prove_ms": ..., "verify_ms": ..., "size_bytes": ...}

A case function receives a :class:`BenchContext` (backend name, its
generator set, quick mode, repetition counts, per-backend fixtures shared
between cases, a progress logger) and returns its measurements; the runner
adds ``backend`` and ``case``.  Timings are medians over repetitions of
``time.perf_counter_ns`` (:func:`median_ms`); untimed warm-up keeps lazily
built tables (generator vectors, fixed-base tables) out of the numbers.

JSON shape (more keys may be added, none removed)::

    {"machine": "Linux-... | <CPU model> | 2 cores | Python 3.x.y",
     "suite": "crypto", "quick": false, ...,
     "results": [{"backend": "gmpy2", "case": "range_1x64",
                  "prove_ms": 1.0, "verify_ms": 1.0, "size_bytes": 672}, ...]}

Benchmark inputs are derived from fixed seeds (reproducible, not secret).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # zkp is imported when a suite runs, not by `import bench`
    from zkp.generators import GeneratorSet

#: suite name -> modules whose import registers that suite's cases.
SUITES: dict[str, tuple[str, ...]] = {
    "crypto": ("bench.crypto", "bench.statements", "bench.headroom"),
    # whole-cycle suites: their module's run_cli(args, log) runs them
    "cycle": ("bench.cycle",),
    "scale": ("bench.scale",),
    "capture": ("bench.capture",),
}
DEFAULT_SUITE = "crypto"

#: The reference backend is ~100x slower: it runs only when asked for.
SLOW_BACKENDS = ("pyecc",)
KNOWN_BACKENDS = ("pyecc", "ints", "gmpy2", "mcl")


class BenchError(Exception):
    """A benchmark could not run (bad selection, missing component, a proof
    that did not verify).  Printed as one line by the CLI (exit code 1)."""

    exit_code = 1


class BenchUsageError(BenchError):
    """A command-line selection that names nothing runnable (exit code 2)."""

    exit_code = 2


# -- registry ----------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    name: str
    suite: str
    func: Callable[[BenchContext], dict]
    description: str = ""
    order: int = 100


_CASES: dict[str, Case] = {}


def case(name: str, *, suite: str = DEFAULT_SUITE, description: str = "", order: int = 100):
    """Decorator registering a benchmark case (names are unique)."""

    def register(func):
        existing = _CASES.get(name)
        if existing is not None and existing.func is not func:
            raise ValueError(f"benchmark case {name!r} registered twice")
        _CASES[name] = Case(name, suite, func, description or (func.__doc__ or "").strip().split("\n")[0], order)
        return func

    return register


def load_suite(suite: str) -> list[Case]:
    """Import the suite's modules and return its cases in run order."""
    if suite not in SUITES:
        raise BenchUsageError(f"unknown benchmark suite {suite!r} (known: {', '.join(sorted(SUITES))})")
    for module in SUITES[suite]:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise BenchError(f"benchmark suite {suite!r} cannot load {module}: {exc}") from None
    cases = [c for c in _CASES.values() if c.suite == suite]
    return sorted(cases, key=lambda c: (c.order, c.name))


# -- context and timing ----------------------------------------------------------------

@dataclass
class BenchContext:
    """What a case gets: the backend (already current), its generators, the
    mode, fixtures and a progress logger.

    ``fixtures`` live for one backend (they may hold its points);
    ``shared`` lives for the whole run, across backends (backend-neutral
    data only, e.g. proof encodings)."""

    backend: str
    gens: GeneratorSet
    quick: bool
    fixtures: dict = field(default_factory=dict)
    shared: dict = field(default_factory=dict)
    log: Callable[[str], None] = lambda msg: None

    def reps(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def fixture(self, key, build: Callable[[], object]):
        """A per-backend value shared between cases, built on first use."""
        if key not in self.fixtures:
            self.fixtures[key] = build()
        return self.fixtures[key]

    def shared_fixture(self, key, build: Callable[[], object]):
        """A run-wide, backend-neutral value, built on first use."""
        if key not in self.shared:
            self.shared[key] = build()
        return self.shared[key]


def median_ms(fn: Callable[[], object], reps: int) -> tuple[float, list]:
    """Run ``fn`` ``reps`` times; return (median wall time in ms, results)."""
    if reps < 1:
        raise ValueError("reps must be >= 1")
    times = []
    results = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        results.append(fn())
        times.append(time.perf_counter_ns() - t0)
    return round(statistics.median(times) / 1e6, 3), results


# -- machine --------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            info = fh.read()
    except OSError:
        info = ""
    for key in ("model name", "Hardware", "Processor", "cpu model", "uarch"):
        for line in info.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return " ".join(value.split())
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_description() -> str:
    """One line: platform, CPU model, cores, Python version."""
    cores = os.cpu_count() or 1
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = cores
    core_txt = f"{cores} cores" if usable == cores else f"{cores} cores ({usable} usable)"
    return " | ".join([
        platform.platform(),
        cpu_model(),
        core_txt,
        f"{platform.python_implementation()} {platform.python_version()}",
    ])


# -- backends ----------------------------------------------------------------------

def select_backends(requested: str | None) -> tuple[list[str], list[str]]:
    """(backends to run, notes).  All loadable backends except the slow
    reference unless ``requested`` names exactly one."""
    from zkp.errors import BackendError
    from zkp.group import available_backends, use_backend

    if requested:
        try:
            with use_backend(requested):
                pass
        except BackendError as exc:
            raise BenchError(str(exc)) from None
        return [requested], []
    names = available_backends()
    notes = [f"skipping {n} (reference backend, ~100x slower; run it with --backend {n})"
             for n in names if n in SLOW_BACKENDS]
    return [n for n in names if n not in SLOW_BACKENDS], notes


# -- running and reporting ---------------------------------------------------------------

def select_cases(suite: str, names: list[str] | None = None) -> list[Case]:
    """The suite's cases in run order, or the named subset of them."""
    selected = load_suite(suite)
    if names:
        known = {c.name: c for c in selected}
        unknown = [c for c in names if c not in known]
        if unknown:
            raise BenchUsageError(f"unknown benchmark case(s) {', '.join(unknown)} "
                                  f"(suite {suite!r} has: {', '.join(known)})")
        selected = [c for c in selected if c.name in names]
    return selected


def run_suite(suite: str = DEFAULT_SUITE, *, backends: list[str], quick: bool = False,
              cases: list[str] | None = None, log: Callable[[str], None] = lambda m: None) -> dict:
    """Run the suite's cases on each backend; return the report dict."""
    from zkp.generators import generators
    from zkp.group import use_backend

    selected = select_cases(suite, cases)
    if not backends:
        raise BenchError("no group backend available")
    results = []
    shared: dict = {}
    for name in backends:
        with use_backend(name) as backend:
            def backend_log(m: str, _n: str = name) -> None:
                log(f"[{_n}] {m}")

            ctx = BenchContext(name, generators(backend), quick, shared=shared, log=backend_log)
            for c in selected:
                ctx.log(f"{c.name} ...")
                t0 = time.perf_counter()
                row = c.func(ctx)
                ctx.log(f"{c.name} done in {time.perf_counter() - t0:.1f} s")
                results.append({"backend": name, "case": c.name, **row})
    return {
        "machine": machine_description(),
        "suite": suite,
        "quick": quick,
        "created": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "zkclear_version": _version(),
        "results": results,
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zkclear")
    except PackageNotFoundError:
        return "unknown"


COLUMNS = (("backend", "backend"), ("case", "case"), ("prove_ms", "prove ms"),
           ("verify_ms", "verify ms"), ("size_bytes", "size B"))


def format_table(report: dict) -> str:
    """A plain-text table of the report's results (missing values blank)."""
    def cell(v) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:,.1f}" if v >= 100 else f"{v:,.2f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    rows = [[cell(r.get(key)) for key, _ in COLUMNS] for r in report["results"]]
    head = [title for _, title in COLUMNS]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    numeric = [False, False, True, True, True]

    def line(vals):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(vals, widths, numeric)).rstrip()

    out = [report["machine"], "", line(head), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    notes = [f"{r['backend']}/{r['case']}: {r['note']}" for r in report["results"] if r.get("note")]
    if notes:
        out += [""] + notes
    return "\n".join(out)


def write_json(report: dict, path: str) -> None:
    text = json.dumps(report, indent=2) + "\n"
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


# -- command line (used by clearing.cli) -----------------------------------------------------

def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Time proving and verification per group backend (median of "
                          "repetitions) and print a table; --json also writes the results.")
    parser.add_argument("suite", nargs="?", default=DEFAULT_SUITE, choices=sorted(SUITES),
                        help=f"benchmark suite (default: {DEFAULT_SUITE})")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--backend", metavar="NAME", choices=KNOWN_BACKENDS,
                        help="run only this group backend (" + ", ".join(KNOWN_BACKENDS)
                        + "); default: every available one except pyecc")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and fixtures")
    # Hidden: a comma-separated subset of the suite's cases (used by tests).
    parser.add_argument("--cases", help=argparse.SUPPRESS)
    cyc = parser.add_argument_group("cycle / scale suites")
    cyc.add_argument("--members", type=int, default=None,
                     help="cycle: members (default 100); capture: members (default 8, --quick 4)")
    cyc.add_argument("--instruments", type=int, default=20, help="cycle: instruments (default 20)")
    cyc.add_argument("--scenarios", type=int, default=16, help="cycle: scenarios incl. no-move (default 16)")
    cyc.add_argument("--workers", type=int, default=None,
                     help="cycle/scale: prover processes (default: $ZKCLEAR_PROVER_WORKERS or the core count)")
    cyc.add_argument("--dask", metavar="ADDRESS",
                     help="cycle: also prove each cycle on this Dask cluster ('local:N': a TLS LocalCluster)")
    cyc.add_argument("--margin-model", choices=["scan", "es"], default="scan",
                     help="cycle: the scenario set's margin model (default scan; es: historical 2-day moves)")
    cyc.add_argument("--out", metavar="DIR", help="scale: where scale.csv and scale.svg go (default bench/results)")
    cyc.add_argument("--plot-only", action="store_true", help="scale: only redraw scale.svg from scale.csv")
    cap = parser.add_argument_group("capture suite (issue 16: a node and a prover as processes, K client pairs)")
    cap.add_argument("--clients", metavar="K,K,...",
                     help="capture: initiator/counterparty pairs per row (default 1,8,64; --quick 1,4)")
    cap.add_argument("--trades", type=int, default=None, help="capture: trades per row (default 500; --quick 12)")
    cap.add_argument("--modes", metavar="MODE,...", help="capture: preproved, end_to_end (default both)")
    cap.add_argument("--rate", type=float, default=None,
                     help="capture: pace the initiators at this many trades/s in all (default: flat out)")
    cap.add_argument("--half-capacity", action="store_true",
                     help="capture: one more row per mode, paced at half its best trades/s")
    cap.add_argument("--keep", metavar="DIR", help="capture: keep each row's config, databases and logs in DIR")
    cap.add_argument("--window", type=int, default=None,
                     help="capture: calls each initiator and each affirmation desk keeps in flight (default 8)")
    cap.add_argument("--profile", action="store_true", help="capture: py-spy the node over each row (needs --keep)")
    cap.add_argument("--pretrade", action="store_true",
                     help="capture: the pre-trade limit on (issue 14 §1): every trade carries a headroom debit proof")


def run(args: argparse.Namespace) -> int:
    """Entry point for ``zkclear bench``."""
    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.members is None and args.suite in ("cycle", "scale"):
        args.members = 100
    modules = SUITES[args.suite]
    runner = getattr(importlib.import_module(modules[0]), "run_cli", None) if modules else None
    if runner is not None:  # a whole-cycle suite with its own runner
        return runner(args, log)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()] if args.cases else None
    if args.cases is not None and not cases:
        raise BenchUsageError("--cases names no case")
    select_cases(args.suite, cases)  # usage errors before any backend loads
    backends, notes = select_backends(args.backend)
    for note in notes:
        log(note)
    report = run_suite(args.suite, backends=backends, quick=args.quick, cases=cases, log=log)
    print(format_table(report))
    if args.json:
        write_json(report, args.json)
        log(f"wrote {args.json}")
    return 0


__all__ = [
    "SUITES", "DEFAULT_SUITE", "Case", "BenchContext", "BenchError", "BenchUsageError",
    "case", "load_suite", "select_cases", "median_ms", "machine_description", "cpu_model", "select_backends",
    "run_suite", "format_table", "write_json", "configure", "run",
]
