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
  authenticated reader can (StreamLedger): every proof the node accepted
  (trade range proofs, funding, margin entries, cures, disclosures, D0,
  pro-rata shares, assessment settlements); a margin entry that did not
  verify, or a request the node refused as INVALID_ARGUMENT, is counted as
  rejected.  ``ok`` needs zero rejected.
* **invariants** -- the demo folds the public events itself
  (:class:`clearing.node.core.Core`, no openings) and checks, before every
  cycle close, that positions net to zero per instrument, that the cycle's
  VM commitments sum to zero and that cash + default fund equal the public
  flows (and the public books balance).
* **auditor** -- the auditor process re-verifies every signature and proof
  and recomputes every decision and digest; its digests must equal the
  digests the node signed at each close and the node must agree.
* **oracle** -- the same scenario run in plaintext
  (:func:`clearing.ccp.oracle.run_oracle`) must give the same public outputs:
  trades booked and refused, who was called and how (IM vs payment), cure
  deposits, defaults, and every public field of every default report.
* **accounting identity** -- loss = sum of tranches + rounding residual +
  uncovered loss.

The orchestrator never sees an opening: it learns from the members only
what the node sees anyway (trade ids and statuses, public deposits, "cured"
or "cannot cure"), and its summary shows exactly what the clearing node
knew, cycle by cycle.

Process hygiene
---------------
Every child starts in its own session (its own process group), so a
terminal's Ctrl-C reaches only the orchestrator, which then stops the
children in order: members' control pipes are closed and every group gets
SIGTERM (graceful gRPC shutdown), then SIGKILL after a timeout, and every
child is reaped.  The same runs on normal exit, on any error, on SIGINT and
on SIGTERM (both raise KeyboardInterrupt in the orchestrator: exit 130) and,
as a backstop, at interpreter exit.  On Linux each child also asks the
kernel for SIGTERM when the orchestrator dies (PR_SET_PDEATHSIG), so even a
``kill -9`` of the demo leaves no node listening.  Children are spawned
before the orchestrator opens any gRPC channel (no threads exist yet when
the pre-exec hook runs; only a restart on other ports spawns later, and the
hook then calls nothing but the pre-resolved ``prctl`` and ``getppid``).
"""
from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_OUT = "zkclear-demo-out"
NODES = ("clearing", "prover", "auditor")
#: seconds a node may take to answer its health check after start
START_TIMEOUT = 90.0
#: seconds a member process may take for one request (proofs on a busy machine)
AGENT_TIMEOUT = 1800.0
#: seconds between SIGTERM and SIGKILL at shutdown
STOP_TIMEOUT = 10.0


class DemoError(Exception):
    """The demo could not run (one line, exit 1)."""

    exit_code = 1


class PortTaken(DemoError):
    """A node could not listen on its port (taken since it was found free)."""


#: attempts at starting the nodes on freshly chosen ports
PORT_ATTEMPTS = 3


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
                        help="scenario variant (default: normal; ccp-demo also has harsh)")
    parser.add_argument("--scenario", metavar="FILE", help="scenario JSON file (default: the packaged ccp-demo)")
    parser.add_argument("--generate", action="store_true",
                        help="generate a random scenario ending in a default that reaches survivors' contributions")
    parser.add_argument("--members", type=int, default=4, help="with --generate: members (>= 3, default 4)")
    parser.add_argument("--instruments", type=int, default=2, help="with --generate: instruments (default 2)")
    parser.add_argument("--scenarios", type=int, default=6, help="with --generate: margin scenarios (>= 2, default 6)")
    parser.add_argument("--cycles", type=int, default=2,
                        help="with --generate: cycles after day 0, the last one the crash (default 2)")
    parser.add_argument("--seed", type=int, default=1, help="with --generate: random seed (default 1)")
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
                       cycles=args.cycles, seed=args.seed, out=Path(args.out),
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
    out: Path = Path(DEFAULT_OUT)
    json_path: Path | None = None
    backend: str | None = None
    workdir: Path | None = None
    quiet: bool = False


# ---------------------------------------------------------------------------
# child processes
# ---------------------------------------------------------------------------
def _load_prctl():
    """libc's prctl on Linux, loaded in the parent (the pre-exec hook imports nothing)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _pre_exec(parent: int):
    """Run in the child before exec: die with the orchestrator (Linux)."""
    prctl = _load_prctl()

    def hook():
        if prctl is not None:
            prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # the orchestrator died before the hook ran
                os._exit(1)
    return hook


@dataclass
class Child:
    name: str
    popen: subprocess.Popen
    log_path: Path
    control: bool = False
    log_offset: int = 0
    _buf: bytes = b""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, n: int = 1500) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(self.log_offset)
                text = fh.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(text[-n:].strip().splitlines()[-6:])

    # -- the member control channel (JSON lines over the pipes) ---------------
    def send(self, request: dict) -> None:
        if self.popen.stdin is None:
            raise DemoError(f"{self.name} has no control channel")
        try:
            self.popen.stdin.write((json.dumps(request) + "\n").encode())
            self.popen.stdin.flush()
        except (BrokenPipeError, OSError):
            raise DemoError(f"{self.name} is gone ({self.log_tail()})") from None

    def receive(self, timeout: float = AGENT_TIMEOUT) -> dict:
        if self.popen.stdout is None:
            raise DemoError(f"{self.name} has no control channel")
        fd = self.popen.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DemoError(f"{self.name} did not answer within {timeout:.0f} s")
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise DemoError(f"{self.name} exited (status {self.popen.poll()}): {self.log_tail()}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        reply = json.loads(line)
        if not reply.get("ok"):
            raise DemoError(f"{self.name}: {reply.get('error', 'request failed')}")
        return reply

    def call(self, request: dict, timeout: float = AGENT_TIMEOUT) -> dict:
        self.send(request)
        return self.receive(timeout)


class Processes:
    """Every child the demo started; ``stop_all`` is idempotent."""

    def __init__(self):
        self.children: list[Child] = []
        self._lock = threading.Lock()

    def spawn(self, name: str, argv: list[str], log_path: Path, env: dict, *, control: bool = False) -> Child:
        with open(log_path, "ab") as log:  # the child has its own copy of the descriptor
            offset = log.tell()
            popen = subprocess.Popen(
                argv, env=env, stdout=subprocess.PIPE if control else log, stderr=log,
                stdin=subprocess.PIPE if control else subprocess.DEVNULL,
                start_new_session=True, preexec_fn=_pre_exec(os.getpid()), close_fds=True)
        child = Child(name, popen, log_path, control, offset)
        self.children.append(child)
        return child

    def stop_all(self, timeout: float = STOP_TIMEOUT) -> None:
        with self._lock:
            children, self.children = self.children, []
        members = [c for c in children if c.control]
        for c in members:  # members first: the end of their control channel makes them exit
            if c.popen.stdin is not None:
                try:
                    c.popen.stdin.close()
                except OSError:
                    pass
        deadline = time.monotonic() + min(2.0, timeout)
        for c in members:
            try:
                c.popen.wait(max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for c in reversed(children):
            if c.popen.poll() is None:
                self._signal(c, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for c in children:
            try:
                c.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for c in children:
            # whatever is left of its process group, leader or not (e.g. a
            # prover's worker processes); a group with no process left is gone
            self._signal(c, signal.SIGKILL)
            try:
                c.popen.wait(5)
            except subprocess.TimeoutExpired:
                pass
            if c.popen.stdout is not None:
                c.popen.stdout.close()

    @staticmethod
    def _signal(c: Child, sig) -> None:
        try:
            os.killpg(c.popen.pid, sig)  # the child leads its own group (new session)
        except (ProcessLookupError, PermissionError):
            pass


def free_port_base(count: int = 3) -> int:
    """``count`` consecutive free TCP ports on 127.0.0.1 (bound and released)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count > 65535:
            continue
        socks = []
        try:
            for k in range(count):
                t = socket.socket()
                socks.append(t)
                t.bind(("127.0.0.1", base + k))
            return base
        except OSError:
            continue
        finally:
            for t in socks:
                t.close()
    raise DemoError("no free ports on 127.0.0.1")


def fastest_backend() -> str:
    from zkp.group import available_backends

    names = available_backends()
    for name in ("mcl", "gmpy2", "ints"):
        if name in names:
            return name
    return names[-1]


# ---------------------------------------------------------------------------
# following the public ledger
# ---------------------------------------------------------------------------
def _proof_fields(body: dict) -> int:
    return sum(1 for k, v in body.items() if (k == "proof" or k.endswith("_proof")) and isinstance(v, str) and v)


def check_invariants(core) -> dict[str, bool]:
    """DESIGN §4's public invariants on a fold of the public events (commitments only)."""
    s, alg = core.state, core.alg
    members = [s.members[m] for m in sorted(s.members)]
    pos_ok = True
    for i in range(len(s.instrument_ids())):
        total = alg.public(s.books["auction_pos"][i])
        for a in members:
            total = total + a.pos[i]
        pos_ok = pos_ok and total.is_identity()
    vm = alg.zero()
    for v in s.vm.values():
        vm = vm + v
    total = alg.zero() if s.residue is None else s.residue
    for a in members:
        total = total + a.cash + a.df
        if a.due is not None:
            total = total - a.due
    f, b = s.flows, s.books
    cash_ok = (total == alg.public(f["deposits"] - f["withdrawals"] - f["charges"])
               and b["auction_cash"] + b["default_account"] == f["charges"] + b["ccp_capital"])
    return {"positions_net_zero": bool(pos_ok), "vm_zero_sum": bool(vm.is_identity()),
            "cash_conservation": bool(cash_ok)}


def _new_cycle(cycle: int) -> dict:
    return {"cycle": cycle, "prices": [], "scenario_set": None, "deposits": [], "funded": [], "trades": [],
            "novated": [], "margin": {}, "cures": [], "defaults": [], "default_events": [],
            "assessments_paid": [], "withdrawals": [], "proofs": {"generated": 0, "verified": 0, "rejected": 0},
            "digest": None, "events": 0}


class LedgerView:
    """The public ledger as the demo reads it (any authenticated party may):
    per-cycle public facts, proof counts, and the invariants checked on its
    own fold of the events before every cycle close."""

    def __init__(self, identity, target: str):
        from clearing.api import clearing_pb2_grpc
        from clearing.node.core import Core
        from clearing.services import rpc

        self._ch = rpc.channel(identity, target)
        self.stub = rpc.Client(clearing_pb2_grpc.ClearingServiceStub(self._ch), 300.0)
        self.core = Core()
        self.seq = 0
        self.cycles: list[dict] = []
        self.cur = _new_cycle(1)
        self.invariants = {"positions_net_zero": True, "vm_zero_sum": True, "cash_conservation": True}
        self.proofs = {"generated": 0, "verified": 0, "rejected": 0}

    def close(self) -> None:
        self._ch.close()

    def public_books(self) -> dict:
        """The public flows and default-management books of the fold, in the
        oracle's terms (``OracleResult.ledger``)."""
        s = self.core.state
        f, b = s.flows, s.books
        return {"deposits": f["deposits"], "withdrawals": f["withdrawals"], "public_charges": f["charges"],
                "ccp_capital": b["ccp_capital"], "default_account": b["default_account"],
                "auction_cash": b["auction_cash"],
                "auction_positions": dict(zip(s.instrument_ids(), b["auction_pos"])),
                "skin_in_the_game_1_left": b["sitg1"], "skin_in_the_game_2_left": b["sitg2"]}

    def pull(self) -> None:
        from clearing.api import clearing_pb2

        for ev in self.stub.StreamLedger(clearing_pb2.StreamLedgerRequest(since=self.seq)):
            if ev.seq != self.seq + 1:
                raise DemoError(f"ledger stream skipped from event {self.seq} to {ev.seq}")
            self._observe(ev.seq, json.loads(ev.body))
            self.seq = ev.seq

    def _count(self, generated: int, verified: int) -> None:
        for d in (self.proofs, self.cur["proofs"]):
            d["generated"] += generated
            d["verified"] += verified
            d["rejected"] += generated - verified

    def _observe(self, seq: int, b: dict) -> None:
        from clearing.protocol.events import parse

        kind, c = b.get("kind"), self.cur
        c["events"] += 1
        if kind == "margin-batch":
            ok = sum(1 for e in b["entries"] if b["results"].get(e["member"]) in ("pass", "call"))
            self._count(len(b["entries"]), ok)
            c["margin"] = dict(b["results"])
        else:
            n = _proof_fields(b) + (len(b["disclosures"]) if kind == "dm-open" else 0)
            self._count(n, n)
        if kind == "deposit":
            c["deposits"].append({"member": b["member"], "amount": b["amount"]})
        elif kind == "df-fund":
            c["funded"].append(b["member"])
        elif kind == "trade":
            t = b["trade"]
            c["trades"].append({k: t[k] for k in ("trade_id", "instrument", "buyer", "seller", "side", "price")})
        elif kind == "settle":
            c["prices"] = list(b["prices"])
            c["scenario_set"] = {"version": b["scenario_set"].get("version"), "id": b["scenario_set"].get("id"),
                                 "scenarios": len(b["scenario_set"].get("matrix", []))}
        elif kind == "margin-cure":
            c["cures"].append({"member": b["member"], "solvency_only": b["solvency_only"]})
        elif kind == "withdraw":
            c["withdrawals"].append({"member": b["member"], "amount": b["amount"]})
        elif kind == "default":
            c["defaults"].append(b["member"])
        elif kind == "dm-open":


            ids = self.core.state.instrument_ids()
            from clearing.protocol.statements import disclosure_labels
            disclosed = {m: dict(zip((x.decode() for x in disclosure_labels(self.core.state.members[m], ids)),
                                     d["values"])) for m, d in b["disclosures"].items()}
            c["default_events"].append({"defaulters": list(b["defaulters"]), "survivors": len(b["survivors"]),
                                        "D0": b["D0"], "disclosed": disclosed})
        elif kind == "dm-closeout" and c["default_events"]:
            c["default_events"][-1].update(close_out_prices=list(b["prices"]), lots=list(b["lots"]))
        elif kind == "assessment-pay":
            c["assessments_paid"].append({"member": b["member"], "index": b["index"], "amount": b["amount"]})
        elif kind == "assessment-settle":
            c["assessments_paid"].append({"member": b["member"], "index": b["index"], "amount": None,
                                          "from_cash": True})
        if kind == "close":
            c["invariants"] = check_invariants(self.core)
            for k, v in c["invariants"].items():
                self.invariants[k] = self.invariants[k] and v
        self.core.apply(seq, parse(b))  # the one parse step: the fold takes typed events
        if kind in ("affirm", "receipt"):
            t = self.core.state.trades.get(b["trade_id"], {})
            if t.get("status") == "novated" and b["trade_id"] not in c["novated"]:
                c["novated"].append(b["trade_id"])
        if kind == "close":
            c["digest"] = b["digest"]
            self.cycles.append(c)
            self.cur = _new_cycle(c["cycle"] + 1)


# ---------------------------------------------------------------------------
# the oracle cross-check (public outputs only)
# ---------------------------------------------------------------------------
REPORT_FIELDS = ("D0", "loss", "R", "survivors_default_fund_in_full", "assessments_capped", "default_fund_residual",
                 "assessment_residual", "rounding_residual", "uncovered_loss", "liquidity_line",
                 "skin_in_the_game_1_before", "skin_in_the_game_1_after", "skin_in_the_game_2_before",
                 "skin_in_the_game_2_after", "disclosure_policy")
DEFAULTER_FIELDS = ("cash", "df", "X", "unpaid_vm", "unpaid_assessment", "loss", "defaulter_margin",
                    "defaulter_default_fund", "residual", "estate_surplus")


def compare_with_oracle(days: list[dict], reports: list[dict], oracle,
                        books: dict | None = None) -> tuple[int, list[str]]:
    """(number of public outputs compared, mismatches).  ``days`` are the
    demo's per-day records (trades booked/refused, calls, cures, defaults),
    ``reports`` the node's default reports, ``books`` the public books of
    the ledger (:meth:`LedgerView.public_books`)."""
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
        eq(f"event {k} survivors", rep.get("survivors"), ev.survivors)
        eq(f"event {k} waterfall", rep.get("waterfall"),
           [{"tranche": t.tranche, "amount": t.amount} for t in ev.waterfall])
        for f in REPORT_FIELDS:
            eq(f"event {k} {f}", rep.get(f), getattr(ev, f))
    for name, value in (books or {}).items():
        eq(f"public book {name}", value, oracle.ledger.get(name))
    return checked, bad


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
    from clearing.ccp.scenario import builtin_scenario, load_scenario

    if opts.generate:
        return generate_scenario(opts.members, opts.instruments, opts.scenarios, opts.cycles, opts.seed)
    if opts.scenario:
        return load_scenario(opts.scenario)
    return builtin_scenario()


def _amount(x: int) -> str:
    return f"{x:,}"


def _trades(n: int) -> str:
    return f"{n} trade" + ("" if n == 1 else "s")


def run_demo(opts: DemoOptions) -> dict:
    """Run the demo; returns the report (also written to ``opts.out``)."""
    from clearing.ccp.oracle import run_oracle
    from clearing.ccp.scenario import ScenarioError

    say = Progress(opts.quiet)
    try:
        sc = load_demo_scenario(opts)
        sc.variant(opts.variant)
        oracle = run_oracle(sc, opts.variant)
    except (ScenarioError, ValueError, OSError) as exc:
        raise DemoError(str(exc)) from None
    backend = opts.backend or os.environ.get("ZKCLEAR_BACKEND") or fastest_backend()
    from zkp.group import available_backends

    if backend not in available_backends():
        raise DemoError(f"group backend {backend!r} is not available here (available: "
                        f"{', '.join(available_backends())})")
    out = opts.out
    (out / "logs").mkdir(parents=True, exist_ok=True)
    outputs = [out / n for n in ("report.json", "waterfall.svg", "report.html")]
    for stale in outputs + list((out / "logs").glob("*.log")):
        stale.unlink(missing_ok=True)  # outputs of an earlier run in the same directory
    temp = opts.workdir is None
    if opts.workdir is None:
        work = Path(tempfile.mkdtemp(prefix="zkclear-demo-"))
    else:
        work = opts.workdir
        if work.exists() and any(work.iterdir()):
            raise DemoError(f"--workdir {work} is not empty")
        work.mkdir(parents=True, exist_ok=True)
    procs = Processes()
    atexit.register(procs.stop_all)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = {}
    if main_thread:
        def on_term(signum, frame):
            raise KeyboardInterrupt
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        say(f"scenario {sc.name}, variant {opts.variant}: {len(sc.members)} members, {len(sc.instruments)} "
            f"instruments, {len(sc.margin_scenarios.shocks)} margin scenarios, {sc.variant(opts.variant).days} "
            f"cycles; group backend {backend}")
        run = _Run(opts, sc, oracle, backend, work, procs, say)
        report = run.execute()
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            procs.stop_all()
        finally:
            atexit.unregister(procs.stop_all)
            if temp:
                shutil.rmtree(work, ignore_errors=True)
            if main_thread:
                for s, h in previous.items():
                    signal.signal(s, h)
    return report


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
            for d in range(self.variant.days):
                self.day(d)
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
        from clearing.ccp.scenario import scenario_matrix

        cycle = self.op.status().cycle
        rec = {"day": d, "cycle": cycle, "booked": [], "refused": [], "calls": [], "cures": [], "defaults": []}
        if any(t.day == d for t in self.sc.trades):
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
        prices = list(self.variant.settlement_prices[d])
        self.op.settle(prices, scenario_matrix(self.sc))
        results = self.op.run_margin()
        summary = ", ".join(f"{m} {r}" for m, r in sorted(results.items()))
        self.say(f"cycle {cycle}: settled at {prices}; margin batch verified: {summary}")
        declared = []
        for m, r in sorted(results.items()):
            if r == "pass":
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
        while declared:
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
        digest = self.op.close_cycle()
        self.digests.append(digest)
        self.ledger.pull()
        p = self.ledger.proofs
        self.say(f"cycle {cycle} closed: digest {digest[:16]}...; proofs so far: {p['generated']} generated, "
                 f"{p['verified']} verified, {p['rejected']} rejected")
        self.days.append(rec)

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
        from clearing.demo.report import assemble_report

        report = assemble_report(
            scenario=self.sc, variant=self.opts.variant, backend=self.backend, days=self.days,
            cycles=self.ledger.cycles, proofs=dict(self.ledger.proofs), refused_invalid=self.refused_invalid,
            invariants=dict(self.ledger.invariants), reports=reports,
            auditor={"ok": bool(audit.ok), "digest_matches": digest_matches, "node_agrees": bool(audit.node_agrees),
                     "events": int(audit.events), "cycles": int(audit.cycles), "error": audit.error,
                     "digests": auditor_digests},
            oracle={"checked": checked, "mismatches": mismatches, "ok": not mismatches},
            elapsed=self.say.elapsed(),
            processes=[{"name": n, "pid": c.pid, "endpoint": self.targets[n]} for n, c in self.nodes.items()]
            + [{"name": f"member {m}", "pid": c.pid, "endpoint": None} for m, c in self.agents.items()])
        from clearing.demo.report import print_summary, write_outputs

        paths = write_outputs(report, self.opts.out, self.opts.json_path)
        print_summary(report, paths)
        return report


__all__ = ["configure", "run", "run_demo", "DemoOptions", "DemoError", "Processes", "LedgerView",
           "check_invariants", "compare_with_oracle", "free_port_base", "fastest_backend"]
