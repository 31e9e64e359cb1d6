"""``zkclear demo``: a whole clearing house on localhost, one process per party.

What runs
---------
The demo process is only the orchestrator and the **operator** (it holds
the operator's identity and signs prices, scenario sets, default
declarations and close-out results).  Everything else is its own process,
talking gRPC over mutual TLS with certificates from ``zkclear init``:

* the clearing node (``zkclear serve clearing``) -- sees commitments,
  proofs, signatures and public data only;
* the prover service (``zkclear serve prover``) -- custodies the openings
  sealed at rest, proves only what the signed ledger requires;
* one member process per clearing member (:mod:`clearing.demo.participant`),
  which initiates its trades, decrypts and checks the openings relayed to
  it, affirms, cures calls and pays assessments from its own liquidity;
* the auditor (``zkclear serve auditor``), asked at the end for its
  independent re-verification of the public ledger.

``zkclear init`` writes the PKI and the config into a work directory (a
temporary one unless ``--workdir`` is given) with three consecutive free
ports for the nodes (should one be taken by the time a node binds it, the
nodes are started again on other ports); every node and member gets ``ZKCLEAR_BACKEND`` from
``--backend`` (default: ``$ZKCLEAR_BACKEND`` if set, else the fastest group
backend that loads here -- ``mcl`` when installed, else ``gmpy2``).  Node
and member logs go to ``OUT/logs``.

The run
-------
Day d of the scenario variant is ledger cycle d + 1: the day's trades go
through the trade-capture flow between member processes (initiators submit,
then counterparties affirm); the operator publishes the settlement prices
and the scan-scenario matrix; the node collects the prover's margin batch;
each called member is told so and either cures (deposit + re-proof) or
declines, and the operator declares the default; a default event runs
disclosure, the close-out auction (every disclosed position to the public
auction book at the variant's close-out prices) and the waterfall; members
with an assessment pay it or default in turn (a cascade: a new event); the
node closes the cycle and signs its digest.

What the demo checks (exit status 0 only if all hold)
----------------------------------------------------
* **proofs** -- counted on the public ledger, which the demo follows as any
  authenticated reader can (:class:`clearing.demo.ledger_view.LedgerView`):
  every proof the node accepted; a margin entry that did not verify, or a
  request the node refused as INVALID_ARGUMENT, is counted as rejected.
  ``ok`` needs zero rejected.
* **invariants** -- the demo folds the public events itself (no openings)
  and checks DESIGN §4's public invariants before every cycle close
  (:func:`clearing.demo.ledger_view.check_invariants`).
* **auditor** -- the auditor process re-verifies every signature and proof
  and recomputes every decision and digest; its digests must equal the
  digests the node signed at each close and the node must agree.
* **oracle** -- the same scenario run in plaintext
  (:func:`clearing.ccp.oracle.run_oracle`) must give the same public outputs
  (:func:`clearing.demo.oracle_check.compare_with_oracle`): trades booked
  and refused, who was called and how (IM vs payment), cure deposits,
  defaults, and every public field of every default report.
* **accounting identity** -- loss = sum of tranches + rounding residual +
  uncovered loss.

The orchestrator never sees an opening: it learns from the members only
what the node sees anyway (trade ids and statuses, public deposits, "cured"
or "cannot cure"), and its summary shows exactly what the clearing node
knew, cycle by cycle.

Process hygiene
---------------
Every child runs in its own process group and is stopped in order, then
reaped, by :meth:`clearing.demo.processes.Processes.stop_all` (see
:mod:`clearing.demo.processes`), on normal exit, on any error, on SIGINT
and on SIGTERM (both raise KeyboardInterrupt in the orchestrator: exit 130)
and, as a backstop, at interpreter exit; on Linux a child also dies with
the orchestrator.  Children are spawned before the orchestrator opens any
gRPC channel (no threads exist yet when the pre-exec hook runs; only a
restart on other ports spawns later, and the hook then calls nothing but
the pre-resolved ``prctl`` and ``getppid``).

Modules: this one (the command, the run, the day loop),
:mod:`clearing.demo.processes` (children), :mod:`clearing.demo.ledger_view`
(what the node knew, per cycle), :mod:`clearing.demo.oracle_check`,
:mod:`clearing.demo.report` (report.json, the chart, the HTML) and
:mod:`clearing.demo.errors`.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from clearing.demo import df_windows, liquidations, pretrade
from clearing.demo.errors import DemoError, PortTaken
from clearing.demo.ledger_view import LedgerView, check_invariants
from clearing.demo.oracle_check import compare_with_oracle
from clearing.demo.processes import Child, Processes, Signals, free_port_base

DEFAULT_OUT = "zkclear-demo-out"
NODES = ("clearing", "prover", "auditor")
#: seconds a node may take to answer its health check after start
START_TIMEOUT = 90.0
#: attempts at starting the nodes on freshly chosen ports
PORT_ATTEMPTS = 3
#: scenarios of the expected-shortfall set of ``--margin-model es`` (issue 13)
ES_WINDOW = 500


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------
def configure(parser) -> None:
    parser.description = (
        "Run a whole zkclear clearing house on localhost -- clearing node, prover service, one process per "
        "member and an auditor, all over mutual TLS -- through a scenario with a default, and write "
        "report.json, waterfall.svg and report.html.  Exit 0 only when every proof verified, every "
        "invariant held, the auditor agrees and the public outputs equal the plaintext oracle's.")
    parser.add_argument("--variant", default="normal",
                        help="scenario variant (default: normal; demo also has harsh, bad-debt and cover2 severe, "
                             "liquidation shortfall)")
    parser.add_argument("--scenario", metavar="NAME|FILE",
                        help="a packaged scenario (demo, bad-debt, liquidation, cover2, pretrade) or a scenario JSON "
                             "file (default: demo)")
    parser.add_argument("--generate", action="store_true",
                        help="generate a random scenario ending in a default that reaches survivors' contributions")
    parser.add_argument("--members", type=int, default=4, help="with --generate: members (>= 3, default 4)")
    parser.add_argument("--instruments", type=int, default=2, help="with --generate: instruments (default 2)")
    parser.add_argument("--scenarios", type=int, default=6, help="with --generate: margin scenarios (>= 2, default 6)")
    parser.add_argument("--cycles", type=int, default=2,
                        help="with --generate: cycles after day 0, the last one the crash (default 2)")
    parser.add_argument("--seed", type=int, default=1, help="with --generate: random seed (default 1)")
    parser.add_argument("--margin-model", choices=("scan", "es"), default="scan",
                        help="scan (default: the scenario's own set) or es: replace a scan set by an "
                             f"expected-shortfall set of {ES_WINDOW} historical 2-day moves (alpha 0.975, k = "
                             "13) simulated from the scenario's instruments (clearing.ccp.historical)")
    parser.add_argument("--out", metavar="DIR", default=DEFAULT_OUT,
                        help="output directory for report.json, waterfall.svg, report.html, logs "
                             f"(default ./{DEFAULT_OUT})")
    parser.add_argument("--json", metavar="FILE", help="also write report.json to FILE")
    parser.add_argument("--backend", help="group backend for every node (ZKCLEAR_BACKEND: ints, gmpy2, mcl; "
                                          "default: $ZKCLEAR_BACKEND, else the fastest available)")
    parser.add_argument("--workdir", metavar="DIR",
                        help="directory for 'zkclear init' (PKI, config, databases); must not exist or be empty "
                             "(default: a temporary directory, removed at the end)")
    parser.add_argument("--quiet", action="store_true", help="print only the final summary")


def run(args) -> int:
    from clearing.cli import UsageError

    if args.generate and args.scenario:
        raise UsageError("--generate and --scenario are exclusive")
    if args.generate and args.variant != "normal":
        raise UsageError("a generated scenario has one variant, 'normal'")
    opts = DemoOptions(variant=args.variant, scenario=args.scenario, generate=args.generate,
                       members=args.members, instruments=args.instruments, scenarios=args.scenarios,
                       cycles=args.cycles, seed=args.seed, margin_model=args.margin_model, out=Path(args.out),
                       json_path=Path(args.json) if args.json else None, backend=args.backend,
                       workdir=Path(args.workdir) if args.workdir else None, quiet=args.quiet)
    report = run_demo(opts)
    return 0 if report["ok"] else 1


@dataclass
class DemoOptions:
    variant: str = "normal"
    scenario: str | None = None
    generate: bool = False
    members: int = 4
    instruments: int = 2
    scenarios: int = 6
    cycles: int = 2
    seed: int = 1
    margin_model: str = "scan"
    out: Path = Path(DEFAULT_OUT)
    json_path: Path | None = None
    backend: str | None = None
    workdir: Path | None = None
    quiet: bool = False


def fastest_backend() -> str:
    from zkp.group import available_backends

    names = available_backends()
    for name in ("mcl", "gmpy2", "ints"):
        if name in names:
            return name
    return names[-1]


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------
class Progress:
    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.t0 = time.monotonic()

    def __call__(self, msg: str) -> None:
        if not self.quiet:
            print(f"[{time.monotonic() - self.t0:6.1f}s] {msg}", flush=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.t0


def load_demo_scenario(opts: DemoOptions):
    from clearing.ccp.generate import generate_scenario
    from clearing.ccp.historical import es_demo_scenario
    from clearing.ccp.scenario import MODEL_ES, builtin_scenario
    from clearing.demo.scenarios import load_named_scenario

    if opts.generate:
        sc = generate_scenario(opts.members, opts.instruments, opts.scenarios, opts.cycles, opts.seed)
    elif opts.scenario:
        sc = load_named_scenario(opts.scenario)  # a packaged name (clearing.demo.scenarios) or a path
    else:
        sc = builtin_scenario()
    if opts.margin_model == "es" and sc.margin_scenarios.model.kind != MODEL_ES:
        sc = es_demo_scenario(sc, window=ES_WINDOW)
    return sc


def _model_text(sc) -> str:
    m = sc.margin_scenarios.model
    return f"expected shortfall, k = {m.k}" + (f", alpha {m.alpha}" if m.alpha else "") if m.kind == "es" \
        else "worst-case scan"


def _amount(x: int) -> str:
    return f"{x:,}"


def _trades(n: int) -> str:
    return f"{n} trade" + ("" if n == 1 else "s")



def _scenario_and_oracle(opts: DemoOptions):
    """The scenario (checked: its variant exists) and the oracle's plaintext
    run of it; a bad scenario is a DemoError."""
    from clearing.ccp.oracle import run_oracle
    from clearing.ccp.scenario import ScenarioError

    try:
        sc = load_demo_scenario(opts)
        sc.variant(opts.variant)
        return sc, run_oracle(sc, opts.variant)
    except (ScenarioError, ValueError, OSError) as exc:
        raise DemoError(str(exc)) from None


def _backend(opts: DemoOptions) -> str:
    """The group backend every node will use; it must load here."""
    from zkp.group import available_backends

    backend = opts.backend or os.environ.get("ZKCLEAR_BACKEND") or fastest_backend()
    if backend not in available_backends():
        raise DemoError(f"group backend {backend!r} is not available here (available: "
                        f"{', '.join(available_backends())})")
    return backend


def _prepare_out(out: Path) -> None:
    """``out/logs`` exists and the outputs of an earlier run there are gone."""
    (out / "logs").mkdir(parents=True, exist_ok=True)
    outputs = [out / n for n in ("report.json", "waterfall.svg", "report.html")]
    for stale in outputs + list((out / "logs").glob("*.log")):
        stale.unlink(missing_ok=True)


def _work_dir(workdir: Path | None) -> tuple[Path, bool]:
    """(the work directory, whether it is a temporary one to remove at the
    end); a given one must not exist or be empty."""
    if workdir is None:
        return Path(tempfile.mkdtemp(prefix="zkclear-demo-")), True
    if workdir.exists() and any(workdir.iterdir()):
        raise DemoError(f"--workdir {workdir} is not empty")
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir, False


def run_demo(opts: DemoOptions) -> dict:
    """Run the demo; returns the report (also written to ``opts.out``)."""
    say = Progress(opts.quiet)
    sc, oracle = _scenario_and_oracle(opts)
    backend = _backend(opts)
    _prepare_out(opts.out)
    work, temp = _work_dir(opts.workdir)
    procs = Processes()
    atexit.register(procs.stop_all)
    signals = Signals()
    signals.install()
    try:
        say(f"scenario {sc.name}, variant {opts.variant}: {len(sc.members)} members, {len(sc.instruments)} "
            f"instruments, {sc.margin_scenarios.count} margin scenarios ({_model_text(sc)}), "
            f"{sc.variant(opts.variant).days} cycles; group backend {backend}")
        return _Run(opts, sc, oracle, backend, work, procs, say).execute()
    finally:
        signals.ignore()
        try:
            procs.stop_all()
        finally:
            atexit.unregister(procs.stop_all)
            if temp:
                shutil.rmtree(work, ignore_errors=True)
            signals.restore()


class _Run:
    def __init__(self, opts, sc, oracle, backend, work, procs, say):
        self.opts, self.sc, self.oracle, self.backend = opts, sc, oracle, backend
        self.variant = sc.variant(opts.variant)
        self.work, self.procs, self.say = work, procs, say
        self.cfg = work / "config"
        self.logs = opts.out / "logs"
        self.env = dict(os.environ, ZKCLEAR_BACKEND=backend, PYTHONUNBUFFERED="1")
        self.nodes: dict[str, Child] = {}
        self.agents: dict[str, Child] = {}
        self.op = None
        self.ledger = None
        self.digests: list[str] = []
        self.days: list[dict] = []
        self.refused_invalid = 0

    # -- start ------------------------------------------------------------------
    def start(self) -> None:
        from clearing.services.pki import load_identity

        scenario_file = self.work / "scenario.json"
        scenario_file.write_text(self.sc.to_json() + "\n", encoding="utf-8")
        base = free_port_base(3)
        members = [m.id for m in self.sc.members]
        init = subprocess.run(
            [sys.executable, "-m", "clearing.cli", "init", str(self.cfg), "--members", ",".join(members),
             "--scenario", str(scenario_file), "--port-base", str(base)],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        (self.logs / "init.log").write_text(init.stdout, encoding="utf-8")
        if init.returncode != 0:
            raise DemoError(f"zkclear init failed: {init.stdout.strip()}")
        self.say(f"zkclear init: development CA, certificates for 3 nodes, {len(members)} members and the operator "
                 f"in {self.cfg}")
        ident = load_identity(self.cfg, "operator")
        for attempt in range(PORT_ATTEMPTS):
            self._spawn(scenario_file, members)
            try:
                for node in NODES:
                    self._wait_healthy(node, ident)
                break
            except PortTaken as exc:
                if attempt == PORT_ATTEMPTS - 1:
                    raise
                self.say(f"{exc}; starting the nodes again on other ports")
                self.procs.stop_all()
                self._move_ports(free_port_base(3))
        for node in NODES:
            what = {"clearing": "clearing node", "prover": "prover service", "auditor": "auditor"}[node]
            self.say(f"{what} up: pid {self.nodes[node].pid}, {self.targets[node]} (mutual TLS)")
        for m, a in self.agents.items():
            hello = a.call({"op": "hello"}, timeout=START_TIMEOUT)
            if hello.get("member") != m:
                raise DemoError(f"member process for {m} answered as {hello.get('member')!r}")
        self.say("member processes up: " + ", ".join(f"{m} (pid {a.pid})" for m, a in self.agents.items()))

    def _spawn(self, scenario_file: Path, members: list[str]) -> None:
        """Start the nodes and the member processes.  The first time, no gRPC
        channel exists yet (no threads when the pre-exec hook runs)."""
        from clearing.services import config as services_config

        self.targets = {n: services_config.endpoint(self.cfg, n) for n in NODES}
        self.nodes, self.agents = {}, {}
        py = [sys.executable, "-m", "clearing.cli"]
        for node in NODES:
            self.nodes[node] = self.procs.spawn(node, py + ["serve", node, "--config", str(self.cfg)],
                                                self.logs / f"{node}.log", self.env)
        for m in members:
            self.agents[m] = self.procs.spawn(
                f"member {m}", [sys.executable, "-m", "clearing.demo.participant", "--config", str(self.cfg),
                                "--name", m, "--scenario", str(scenario_file), "--variant", self.opts.variant],
                self.logs / f"member-{m}.log", self.env, control=True)

    def _move_ports(self, base: int) -> None:
        """Point services.json at three other consecutive ports."""
        from clearing.services import config as services_config

        path = self.cfg / services_config.SERVICES_FILE
        data = json.loads(path.read_text(encoding="utf-8"))
        data["endpoints"] = {n: f"127.0.0.1:{base + k}" for k, n in enumerate(NODES)}
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    def _wait_healthy(self, node: str, ident) -> None:
        import grpc

        from clearing.services import rpc

        child = self.nodes[node]
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if rpc.health_check(ident, self.targets[node], timeout=2) == "SERVING":
                    return
            except grpc.RpcError:
                pass
            if not child.alive():
                tail = child.log_tail()
                if "cannot listen on" in tail:
                    raise PortTaken(f"{node} node could not listen on {self.targets[node]}")
                raise DemoError(f"{node} node exited at start: {tail}")
            if time.monotonic() > deadline:
                raise DemoError(f"{node} node not serving after {START_TIMEOUT:.0f} s: {child.log_tail()}")
            time.sleep(0.2)

    def broadcast(self, request: dict, members=None) -> dict[str, dict]:
        """Send to every member process at once (they work in parallel), then collect."""
        names = list(members if members is not None else self.agents)
        for m in names:
            self.agents[m].send(request)
        return {m: self.agents[m].receive() for m in names}

    # -- the scenario -------------------------------------------------------------
    def execute(self) -> dict:
        from clearing.clients.operator import Operator
        from clearing.services.pki import load_config, load_identity

        self.start()
        roster = load_config(self.cfg)
        ident = load_identity(self.cfg, "operator")
        self.op = Operator(ident, roster, self.targets["clearing"])
        self.ledger = LedgerView(ident, self.targets["clearing"])
        try:
            admitted = self.op.admit_all()
            self.broadcast({"op": "onboard"})
            self.say(f"onboarding: operator admitted {', '.join(admitted)}; each member deposited publicly "
                     f"and funded its default-fund contribution out of cash (amount hidden, range-proven)")
            df_windows.onboarding_window(self)        # issue 14 §4 (only when the ccp asks for it)
            for d in range(self.variant.days):
                self.day(d)
            df_windows.replenishment_window(self)
            return self.finish()
        finally:
            self.op.close()
            self.ledger.close()

    def _status_of(self, member: str) -> str:
        return self.op.clearing.GetAccount(self._member_req(member)).status

    @staticmethod
    def _member_req(member: str):
        from clearing.api import common_pb2

        return common_pb2.MemberRequest(member=member)

    def day(self, d: int) -> None:
        """Day ``d`` of the variant (the node's current cycle): capture, then
        settlement and margin with its calls, then the default events, then
        the cycle's close and the ledger followed up to it."""
        cycle = self.op.status().cycle
        rec = {"day": d, "cycle": cycle, "booked": [], "refused": [], "calls": [], "cures": [], "defaults": []}
        pretrade.intraday(self, d, rec)  # issue 14 §1 (a variant's intraday marks)
        if any(t.day == d for t in self.sc.trades):
            if pretrade.enabled(self):  # issue 14 §1: one at a time, refusals cured before the next trade
                pretrade.capture_in_order(self, d, cycle, rec)
            else:
                self._capture(d, cycle, rec)
        declared = self._margin(d, cycle, rec)
        while declared:
            declared = self._default_event(rec)
        liquidations.after_events(self, rec)  # issue 14 §2
        digest = self.op.close_cycle()
        self.digests.append(digest)
        self.ledger.pull()
        p = self.ledger.proofs
        self.say(f"cycle {cycle} closed: digest {digest[:16]}...; proofs so far: {p['generated']} generated, "
                 f"{p['verified']} verified, {p['rejected']} rejected")
        self.days.append(rec)

    def _capture(self, d: int, cycle: int, rec: dict) -> None:
        """The day's trades: initiators' processes submit, counterparties' affirm."""
        subs = self.broadcast({"op": "submit", "day": d})
        affs = self.broadcast({"op": "affirm", "day": d})
        submitted = [s for r in subs.values() for s in r["submitted"]]
        refused = [s for r in subs.values() for s in r["refused"]]
        affirmed = [a for r in affs.values() for a in r["affirmed"]]
        refused += [a for r in affs.values() for a in r["refused"]]
        rec["booked"] = sorted(a["id"] for a in affirmed if a["status"] == "novated")
        rec["refused"] = sorted({r["id"] for r in refused} | {t["id"] for t in submitted
                                                               if t["id"] not in rec["booked"]})
        self.refused_invalid += sum(1 for r in refused if str(r.get("error", "")).startswith("INVALID_ARGUMENT"))
        self.say(f"cycle {cycle} (day {d}): {_trades(len(submitted))} submitted by initiators' processes "
                 f"(range proofs), {len(rec['booked'])} affirmed by counterparties' processes and novated"
                 + (f", {len(rec['refused'])} refused" if rec["refused"] else ""))

    def _margin(self, d: int, cycle: int, rec: dict) -> list[str]:
        """Settlement prices and the scenario matrix, the margin batch, and
        each call cured or the member declared in default; returns the
        members declared."""
        from clearing.ccp.scenario import scenario_maintenance, scenario_matrix, scenario_model

        prices = list(self.variant.settlement_prices[d])
        model = scenario_model(self.sc)
        self.op.settle(prices, scenario_matrix(self.sc), model=None if model["kind"] == "scan" else model,
                       maintenance_terms=scenario_maintenance(self.sc), pretrade=pretrade.enabled(self))
        results = self.op.run_margin()
        summary = ", ".join(f"{m} {r}" for m, r in sorted(results.items()))
        self.say(f"cycle {cycle}: settled at {prices}; margin batch verified: {summary}")
        declared = []
        for m, r in sorted(results.items()):
            if r == "pass":
                continue
            if r == "liquidate":  # issue 14 §2: fails maintenance
                liquidations.liquidate(self, m, rec)
                declared.append(m)
                continue
            rec["calls"].append([m, "im" if r == "call" else "payment"])
            reply = self.agents[m].call({"op": "call"})
            if reply.get("cured"):
                rec["cures"].append([m, reply["deposit"]])
                self.say(f"  {m}: {'IM' if r == 'call' else 'payment'} call cured by a deposit of "
                         f"{_amount(reply['deposit'])} and a fresh margin proof")
                continue
            self.op.declare_default(m)
            declared.append(m)
            rec["defaults"].append(m)
            self.say(f"  {m}: could not meet its {'IM' if r == 'call' else 'payment'} call -- "
                     f"operator declares the default")
        return declared

    def _default_event(self, rec: dict) -> list[str]:
        """One default event over the declared defaults (disclosure, close-out,
        waterfall), then the survivors' assessments; returns the members
        declared in default for not paying theirs (the next event's)."""
        index = self.op.open_default()
        ev = self.op.default_event()
        for x in ev.disclosed:
            self.say(f"  default event {index}: {x.member} disclosed (cash {x.cash}, df {x.df}, "
                     f"positions {list(x.positions)}) with proofs against the node's commitments")
        need = self.op.close_out(index, list(self.variant.close_out_prices))
        if need:
            raise DemoError(f"default event {index} did not complete: {need}")
        self.say(f"  default event {index}: lots auctioned at close-out prices "
                 f"{list(self.variant.close_out_prices)}; waterfall applied (pro-rata shares proven)")
        declared = []
        active = [m for m in sorted(self.agents) if self._status_of(m) == "active"]
        for m, reply in self.broadcast({"op": "assessment", "index": index}, active).items():
            if not reply.get("due"):
                continue
            if reply.get("paid") and reply.get("path") == "cash":
                self.say(f"  {m}: assessment settled from its hidden excess cash (margin proof on the result)")
                continue
            if reply.get("paid"):
                self.say(f"  {m}: assessment paid by a tagged deposit of {_amount(reply['deposit'])} "
                         "(rounded up to the grid; proof that it covers the due)")
                continue
            self.op.declare_default(m)
            declared.append(m)
            rec["defaults"].append(m)
            self.say(f"  {m}: cannot pay its assessment -- operator declares the default (cascade)")
        return declared

    def finish(self) -> dict:
        from clearing.api import auditor_pb2, auditor_pb2_grpc
        from clearing.services import rpc
        from clearing.services.pki import load_identity

        reports = self.op.reports()
        ident = load_identity(self.cfg, "operator")
        self.say("asking the auditor process to re-verify the whole public ledger ...")
        with rpc.channel(ident, self.targets["auditor"]) as ch:
            audit = rpc.Client(auditor_pb2_grpc.AuditorServiceStub(ch), 1800.0).Audit(auditor_pb2.AuditRequest())
        auditor_digests = [d.hex() for d in audit.digests]
        ledger_digests = [c["digest"] for c in self.ledger.cycles]
        digest_matches = bool(audit.node_agrees) and auditor_digests == self.digests == ledger_digests
        self.say(f"auditor: {'ok' if audit.ok else 'FAILED: ' + audit.error}; {audit.events} events, "
                 f"{audit.cycles} cycles; node {'agrees' if audit.node_agrees else 'DISAGREES'}; digests "
                 f"{'match' if digest_matches else 'DIFFER'}")
        checked, mismatches = compare_with_oracle(self.days, reports, self.oracle, self.ledger.public_books())
        cover2, cover2_mismatches = df_windows.cover2_outputs(self)
        liquidated, liquidation_mismatches = liquidations.liquidation_outputs(self)
        refusals, pretrade_mismatches = pretrade.pretrade_outputs(self)
        mismatches = list(mismatches) + cover2_mismatches + liquidation_mismatches + pretrade_mismatches
        from clearing.demo.report import assemble_report

        report = assemble_report(
            scenario=self.sc, variant=self.opts.variant, backend=self.backend, days=self.days,
            cycles=self.ledger.cycles, proofs=dict(self.ledger.proofs), refused_invalid=self.refused_invalid,
            invariants=dict(self.ledger.invariants), reports=reports,
            auditor={"ok": bool(audit.ok), "digest_matches": digest_matches, "node_agrees": bool(audit.node_agrees),
                     "events": int(audit.events), "cycles": int(audit.cycles), "error": audit.error,
                     "digests": auditor_digests},
            oracle={"checked": checked, "mismatches": mismatches, "ok": not mismatches},
            elapsed=self.say.elapsed(), cover2=cover2, liquidations=liquidated, pretrade_refusals=refusals,
            processes=[{"name": n, "pid": c.pid, "endpoint": self.targets[n]} for n, c in self.nodes.items()]
            + [{"name": f"member {m}", "pid": c.pid, "endpoint": None} for m, c in self.agents.items()])
        from clearing.demo.report import print_summary, write_outputs

        paths = write_outputs(report, self.opts.out, self.opts.json_path)
        print_summary(report, paths)
        return report


__all__ = ["configure", "run", "run_demo", "DemoOptions", "DemoError", "PortTaken", "Processes", "LedgerView",
           "check_invariants", "compare_with_oracle", "free_port_base", "fastest_backend"]
