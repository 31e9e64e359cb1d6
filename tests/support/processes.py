"""Harness for tests that run the services as real OS processes.

* :func:`configure` -- a PKI, genesis and services.json in a directory, with
  four ports picked free at the same moment (clearing node, prover,
  auditor, the node's ledger feed) so no two services share one.
* :class:`Service` -- one ``python -m clearing.cli serve clearing|prover``
  process: started and waited for until its health check says SERVING,
  stopped with SIGKILL (:meth:`Service.kill9`) or SIGTERM
  (:meth:`Service.terminate`), restarted on the same config and data.  Its
  stdout/stderr go to ``<dir>/logs/<node>.log`` (appended across restarts).
* :class:`Services` -- the clearing node and the prover together, with the
  operator's and the members' Python clients (:meth:`Services.reopen`
  replaces every client: a channel that saw its server die waits out gRPC's
  reconnect backoff), the public ledger as the auditor streams it
  (:meth:`Services.events`), the auditor's replay (:meth:`Services.audit`)
  and the node logs' unexpected lines (:meth:`Services.log_problems`).

* :class:`Proc`, :func:`open_clients`, :func:`onboard`,
  :func:`ledger_status` -- a lighter one-shot service process and the
  clients of the CLI and kill -9 tests (the ``procs`` fixture of
  tests/conftest.py).

Run as a module, this is a member process of the concurrency test
(:func:`member_main`; :func:`member_command` builds its command line):
``python -m support.processes member --config DIR --name M --plan PLAN.json
--out OUT.json --barrier FILE [--retry]`` with tests/ on ``PYTHONPATH``.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc

from clearing.api import clearing_pb2, clearing_pb2_grpc
from clearing.clients.operator import Operator
from clearing.clients.participant import Participant
from clearing.services import config as services_config
from clearing.services import rpc
from clearing.services.auditor import audit_node, fetch_events
from clearing.services.pki import init_pki, load_config, load_identity
from zkp.group import get_backend

#: tests/, the directory that holds this package (``support``).
TESTS_DIR = Path(__file__).resolve().parent.parent

#: Seconds a started or restarted service gets to report SERVING.
START_TIMEOUT = 60.0
#: Deadline of the clients' calls in these tests (seconds).
CALL_TIMEOUT = 60.0


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports free right now (bound together, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def configure(directory: Path, members, instruments, ccp) -> None:
    """PKI, genesis and services.json in ``directory`` (created), on free ports."""
    roster = init_pki(directory, list(members))
    op = load_identity(directory, "operator")
    clearing, prover, auditor, feed = free_ports(4)
    services_config.write_service_files(directory, roster, op.ed25519_private, instruments, ccp,
                                        {"clearing": clearing, "prover": prover, "auditor": auditor,
                                         services_config.FEED: feed})


class Service:
    """One service process (``node`` = "clearing" or "prover") on ``directory``'s config."""

    def __init__(self, directory: Path, node: str):
        self.dir, self.node = Path(directory), node
        self.target = services_config.endpoint(self.dir, node)
        (self.dir / "logs").mkdir(exist_ok=True)
        self.log_path = self.dir / "logs" / f"{node}.log"
        self.p: subprocess.Popen | None = None
        self.starts = 0

    def __repr__(self) -> str:
        return f"Service({self.node!r}, pid={None if self.p is None else self.p.pid})"

    def start(self) -> Service:
        """Start the process and wait until it reports SERVING."""
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts} ---\n".encode())
            log.flush()
            self.p = subprocess.Popen([sys.executable, "-m", "clearing.cli", "serve", self.node,
                                       "--config", str(self.dir)], stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        ident = load_identity(self.dir, "auditor")
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if rpc.health_check(ident, self.target, timeout=1) == "SERVING":
                    return self
            except grpc.RpcError:
                pass
            if self.p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.node} did not start (exit {self.p.poll()}): "
                                   f"{self.log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)

    def alive(self) -> bool:
        return self.p is not None and self.p.poll() is None

    def kill9(self) -> None:
        """SIGKILL, and reap the process."""
        if self.alive():
            self.p.send_signal(signal.SIGKILL)
        self.p.wait(30)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM (graceful shutdown); the exit code."""
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
        return self.p.wait(timeout)

    def close(self) -> None:
        """Kill the process if it still runs (test teardown)."""
        if self.alive():
            self.p.kill()
            self.p.wait(30)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def log_problems(text: str) -> list[str]:
    """Lines of a service log that no run should produce: an ERROR or
    CRITICAL record, a traceback, an INTERNAL or UNKNOWN status."""
    bad = (" ERROR ", " CRITICAL ", "Traceback", "INTERNAL", "UNKNOWN")
    return [line for line in text.splitlines() if any(b in line for b in bad)]


class Services:
    """The clearing node and the prover as processes, with clients."""

    def __init__(self, directory: Path, members):
        self.dir = Path(directory)
        self.members = list(members)
        self.roster = load_config(self.dir)
        self.nodes = {"clearing": Service(self.dir, "clearing"), "prover": Service(self.dir, "prover")}
        self.clearing_target = self.nodes["clearing"].target
        self.prover_target = self.nodes["prover"].target
        self._clients: dict[str, object] = {}
        self._lock = threading.Lock()

    def start(self) -> Services:
        self.nodes["clearing"].start()
        self.nodes["prover"].start()
        return self

    def restart(self, node: str) -> None:
        """Start ``node`` again (after a kill) on the same config and data."""
        self.nodes[node].start()

    # -- clients ------------------------------------------------------------------
    @property
    def op(self) -> Operator:
        with self._lock:
            if "@op" not in self._clients:
                self._clients["@op"] = Operator(load_identity(self.dir, "operator"), self.roster,
                                                self.clearing_target, timeout=CALL_TIMEOUT)
            return self._clients["@op"]

    def m(self, name: str) -> Participant:
        with self._lock:
            if name not in self._clients:
                self._clients[name] = Participant(load_identity(self.dir, name), self.roster, self.clearing_target,
                                                  self.prover_target, timeout=CALL_TIMEOUT,
                                                  prove_timeout=CALL_TIMEOUT)
            return self._clients[name]

    def reopen(self) -> None:
        """Close every client; the next use opens fresh channels."""
        with self._lock:
            clients, self._clients = self._clients, {}
        for c in clients.values():
            c.close()

    # -- the public record ----------------------------------------------------------
    def events(self) -> list[tuple[int, dict]]:
        """The public ledger as the auditor streams it: (seq, body), chain checked."""
        with rpc.channel(load_identity(self.dir, "auditor"), self.clearing_target) as ch:
            return fetch_events(rpc.Client(clearing_pb2_grpc.ClearingServiceStub(ch), CALL_TIMEOUT))

    def audit(self):
        return audit_node(load_identity(self.dir, "auditor"), self.roster, self.clearing_target)

    def trade(self, trade_id: str) -> clearing_pb2.TradeStatus:
        return self.op.clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id=trade_id))

    def log_problems(self) -> dict[str, list[str]]:
        return {n: log_problems(s.log_text()) for n, s in self.nodes.items()}

    def stop(self) -> dict[str, int]:
        """Close the clients, SIGTERM the prover then the node; their exit codes."""
        self.reopen()
        codes = {}
        for n in ("prover", "clearing"):
            s = self.nodes[n]
            if s.alive():
                try:
                    codes[n] = s.terminate()
                except subprocess.TimeoutExpired:
                    s.close()
                    codes[n] = None
        return codes

    def close(self) -> None:
        self.reopen()
        for s in self.nodes.values():
            s.close()


class Proc:
    """One ``serve`` process started in the constructor (``extra``: more CLI
    arguments) and waited for until SERVING; its output goes to
    ``<dir>/<node>.log``.  A lighter :class:`Service`, used by
    tests/test_service_process.py and tests/test_service_crash.py."""

    def __init__(self, directory, node: str, *extra: str):
        self.dir, self.node = directory, node
        self.log = open(directory / f"{node}.log", "ab")
        self.p = subprocess.Popen([sys.executable, "-m", "clearing.cli", "serve", node, "--config", str(directory),
                                   *extra],
                                  stdout=self.log, stderr=subprocess.STDOUT)
        ident = load_identity(directory, "auditor")
        target = services_config.endpoint(directory, node)
        deadline = time.monotonic() + 30
        while True:
            try:
                if rpc.health_check(ident, target, timeout=1) == "SERVING":
                    return
            except grpc.RpcError:
                pass
            if self.p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{node} did not start: {(directory / f'{node}.log').read_text()[-2000:]}")
            time.sleep(0.1)

    def kill9(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(10)

    def terminate(self, timeout=15) -> int:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        return self.p.wait(timeout)

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(10)
        self.log.close()


def open_clients(d, members=("A", "B", "C")) -> tuple[Operator, dict[str, Participant]]:
    """The operator's and the members' clients on ``d``'s endpoints."""
    roster = load_config(d)
    ct, pt = services_config.endpoint(d, "clearing"), services_config.endpoint(d, "prover")
    op = Operator(load_identity(d, "operator"), roster, ct)
    ms = {m: Participant(load_identity(d, m), roster, ct, pt) for m in members}
    return op, ms


def onboard(op: Operator, ms: dict[str, Participant]) -> None:
    """Admit everyone; each member deposits 10^9 + 10^5 and funds 10^5."""
    op.admit_all()
    for m, p in ms.items():
        p.deposit(10**9 + 10**5, request_id=f"dep-{m}")
        p.fund(10**5, request_id=f"df-{m}")


def ledger_status(op: Operator) -> tuple:
    """(seq, head, state hash) as the node reports them."""
    st = op.status()
    return st.seq, st.head, st.state_hash


# ---------------------------------------------------------------------------
# A member process (the concurrency test)
# ---------------------------------------------------------------------------
def member_command(*args: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a member process
    (:func:`member_main` with ``args``): this module run with ``-m`` and
    tests/ first on ``PYTHONPATH``, so it imports as in the tests."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), *filter(None, [env.get("PYTHONPATH")])])
    return [sys.executable, "-m", "support.processes", "member", *args], env


def _code(exc: BaseException) -> str:
    return exc.code().name if isinstance(exc, grpc.RpcError) else type(exc).__name__


#: Failures a member process retries (same request id) with ``--retry``.
TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                       grpc.StatusCode.CANCELLED, grpc.StatusCode.RESOURCE_EXHAUSTED})


def member_main(argv=None) -> int:
    """One member as its own process: submits the plan's trades it initiates
    (in order, request id ``rq-<id>``) while a second thread affirms, as soon
    as they are offered, the plan's trades it is the counterparty of (the
    plan's terms as the expected terms; request id ``ra-<id>``).  Writes
    ``{"submitted": {id: [seq, status]}, "affirmed": {...}, "errors": [...],
    "retries": n}`` to ``--out``; then waits for the ``--barrier`` file
    (every member done) and adds its final view: its account from the node
    and its balances from the prover.  With ``--retry``, a call failing with
    a :data:`TRANSIENT` status (a service restarting) is sent again with the
    same request id, over fresh channels, until ``--timeout``; without, every
    failure is an error."""
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["member"])
    ap.add_argument("--config", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--plan", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--barrier", required=True)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--retry", action="store_true")
    args = ap.parse_args(argv)
    d, me = Path(args.config), args.name
    plan = json.loads(Path(args.plan).read_text())
    deadline = time.monotonic() + args.timeout
    roster = load_config(d)
    ident = load_identity(d, me)
    ct, pt = services_config.endpoint(d, "clearing"), services_config.endpoint(d, "prover")
    mine = [t for t in plan if t["initiator"] == me]
    to_affirm = {t["id"]: t for t in plan if t["counterparty"] == me}
    out = {"member": me, "submitted": {}, "affirmed": {}, "errors": [], "retries": 0}
    lock = threading.Lock()

    class Client:
        """A participant whose channels are replaced after a transient failure."""

        def __init__(self):
            self.p = Participant(ident, roster, ct, pt, timeout=CALL_TIMEOUT, prove_timeout=CALL_TIMEOUT)

        def call(self, what: str, tid: str, fn):
            """``fn(participant)``; None after a failure (recorded)."""
            while True:
                try:
                    return fn(self.p)
                except Exception as exc:  # noqa: BLE001 - recorded; the test fails on it
                    transient = isinstance(exc, grpc.RpcError) and exc.code() in TRANSIENT
                    if not (args.retry and transient and time.monotonic() < deadline):
                        with lock:
                            out["errors"].append([what, tid, _code(exc)])
                        return None
                with lock:
                    out["retries"] += 1
                self.p.close()
                time.sleep(0.2)
                self.p = Participant(ident, roster, ct, pt, timeout=CALL_TIMEOUT, prove_timeout=CALL_TIMEOUT)

    def submit():
        c = Client()
        for t in mine:
            res = c.call("submit", t["id"], lambda p, t=t: p.trade(
                t["id"], t["counterparty"], t["instrument"], t["side"], t["quantity"], t["price"],
                request_id=f"rq-{t['id']}"))
            if res is not None:
                with lock:
                    out["submitted"][t["id"]] = [res.seq, res.status]
        c.p.close()

    def affirm():
        c = Client()
        while to_affirm and time.monotonic() < deadline:
            offered = c.call("pending", "", lambda p: p.pending()) or []
            ready = [x.trade["trade_id"] for x in offered if x.trade["trade_id"] in to_affirm]
            for tid in ready:
                t = to_affirm.pop(tid)
                expect = {"quantity": t["quantity"], "price": t["price"], "instrument": t["instrument"],
                          "counterparty": t["initiator"]}
                res = c.call("affirm", tid, lambda p, tid=tid, expect=expect: p.affirm(
                    tid, expect=expect, request_id=f"ra-{tid}"))
                if res is not None:
                    with lock:
                        out["affirmed"][tid] = [res.seq, res.status]
            if not ready:
                time.sleep(0.02)
        c.p.close()
        if to_affirm:
            with lock:
                out["errors"].append(["affirm", "never offered", sorted(to_affirm)[:5]])

    # The group backend is loaded on first use, and that load is not
    # thread-safe with the native mcl backend: two threads making their
    # first group operation at once crash the process (SIGSEGV/SIGABRT;
    # test_concurrency_processes.test_first_group_use_from_threads).  Load
    # it here, before the threads, until zkp.group loads it under a lock.
    get_backend()
    threads = [threading.Thread(target=submit), threading.Thread(target=affirm)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _write(Path(args.out), out)
    barrier = Path(args.barrier)
    while not barrier.exists():
        if time.monotonic() > deadline:
            out["errors"].append(["barrier", "", "timeout"])
            _write(Path(args.out), out)
            return 1
        time.sleep(0.05)
    with Participant(ident, roster, ct, pt, timeout=CALL_TIMEOUT, prove_timeout=CALL_TIMEOUT) as p:
        acct = p.account()
        out["final"] = {"balances": p.balances(), "status": acct.status, "version": acct.version}
    _write(Path(args.out), out)
    return 0


def _write(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True))
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(member_main())
