"""``zkclear bench capture``: real-time trade capture through the services (issue 16).

What runs, per row (one row per mode and K; each row on a fresh house):

setup (untimed)
    A PKI, genesis and services.json in a temporary directory, as ``zkclear
    init`` writes them but on ports picked free; the clearing node and the
    prover started as processes (``python -m clearing.cli serve clearing|prover
    --config DIR``, logging at the default level to ``DIR/logs``) and waited
    for until SERVING; the members admitted (8 by default), each depositing
    10^9 + 10^5 and funding 10^5 (the prover proves the funding).
    The plan: ``trades`` trades split over K initiator/counterparty *pairs*
    spread over the members (:func:`pairs`, :func:`plan`), each trade on one of
    the genesis instruments at its ``price0``, side alternating, quantity 1..7.

the clock
    K initiator threads and one *affirmation desk* per counterparty member,
    each with its own :class:`clearing.clients.participant.Participant` (its
    own mTLS channel).  An initiator submits its pair's trades pipelined
    (:meth:`Participant.pipeline`: up to ``window`` SubmitTrade calls in
    flight, each with its request id and retries; ``--window 1`` is the
    closed loop; the initiators together keep at most :data:`MAX_IN_FLIGHT`
    in flight, so the window is lowered to ``MAX_IN_FLIGHT // K`` when that
    is smaller -- 8, 8 and 1 at K = 1, 8, 64 -- and a row reports the
    window it used).  The venue tells both sides of a trade when it executes:
    the initiator announces each trade just before it submits it.  A desk
    follows its member's pending trades -- one StreamPendingTrades stream in
    follow mode (:meth:`Participant.pending_feed`), each trade pushed once
    as the node captures it, decrypted and checked once -- and affirms each
    announced one with the agreed terms checked
    (:meth:`TradePipeline.affirm`, up to ``window`` in flight), so
    affirmations race the initiator's receipt push, as a venue's would; it
    stops when it has affirmed every trade planned for it.  Two modes:

    ``preproved``   every trade's proof, signature and sealed openings are
                    made before the clock (:meth:`Participant.make_trade`):
                    the initiator only sends the ready SubmitTradeRequest, so
                    the row measures the node and the prover;
    ``end_to_end``  the initiator proves as it goes (:meth:`Participant.make_trade`
                    for the ledger status it read once before the clock: the
                    trade proof, the seals), then submits.

    A trade's latency runs from its start (flat out: when the initiator's
    window has room for it, so an end-to-end trade's proving counts; in a
    paced row its scheduled time, so a late start or a full window counts)
    until both parties have their answers (SubmitTrade and AffirmTrade
    returned).  ``--rate`` /
    ``--half-capacity`` pace the initiators (open loop: trade n of pair k is
    due at n*K/R + k/R seconds) instead of letting them run flat out.

the check (untimed) -- ``ok``
    * every client call succeeded and every planned trade was submitted and
      affirmed;
    * every planned trade is in the ledger exactly once (one ``trade``, one
      ``affirm``, one ``receipt`` event; no other trade) and the node reports
      it novated (GetTrade) -- ``novated`` counts those;
    * every client's view equals the node's: the seq each SubmitTrade and
      AffirmTrade reported is its event's seq in the ledger, the reported
      terms are the ledger's, and the reported status is one the ledger
      allows (an affirmation whose trade already had its receipt must say
      ``novated``; one before the receipt ``pending`` or ``novated``);
    * positions net to zero: every member's positions from the prover
      (GetBalances) equal the plan's, and sum to zero per instrument;
    * the audit passes (:func:`clearing.services.auditor.audit_node`: every
      proof and signature re-verified, the node agreeing on head and state).

CPU: ``node_cpu_ms_per_trade`` / ``prover_cpu_ms_per_trade`` are the
processes' utime + stime (``/proc/<pid>/stat``), with their descendants
(the node's verification workers, the prover's proving pool), over the
clocked window divided by the trades novated (``node_main_cpu_ms_per_trade``:
the node's own process only); ``client_cpu_ms_per_trade`` the same for this
process (every client thread); ``*_cpu_util`` are cores busy over the
window (``others_cpu_util``: the machine's busy time, /proc/stat, less the
three -- other users of a shared machine).  ``node_rpcs`` / ``prover_rpcs``
count the calls each service logged in the window, by method (the node's
include its ledger feed's).  Row keys (more may be added, none removed)::

    {"mode", "clients", "trades", "novated", "trades_per_s", "p50_ms",
     "p99_ms", "node_cpu_ms_per_trade", "prover_cpu_ms_per_trade", "ok",
     "members", "paced_tps", "elapsed_s", "client_cpu_ms_per_trade",
     "client_cpu_util", "machine_cpu_util", "others_cpu_util",
     "affirm_reported_pending", "errors", "problems", "load_avg",
     "node_main_cpu_ms_per_trade", "window", "pending_streams",
     "node_rpcs_per_trade", "node_rpcs", "prover_rpcs"}

``clients`` is K, the number of initiator/counterparty pairs (K initiator
threads; one desk per member that is some pair's counterparty).  Blindings
and keys come from the CSPRNG; the plan is fixed.  The plan, the row and
the checks are pure functions in :mod:`bench.capture_rows`.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import BenchError, BenchUsageError, machine_description, write_json
from .capture_rows import (
    DEFAULT_MEMBERS,
    MAX_PROBLEMS,
    ROW_KEYS,
    Planned,
    Reply,
    count_rpcs,
    expected_positions,
    format_table,
    ledger_problems,
    machine_busy_ms,
    make_row,
    member_names,
    pairs,
    parse_clients,
    percentile,
    plan,
    position_problems,
    proc_cpu_ms,
    self_cpu_ms,
    tree_cpu_ms,
)

MODES = ("preproved", "end_to_end")
DEFAULT_CLIENTS = (1, 8, 64)
DEFAULT_TRADES = 500
QUICK_CLIENTS = (1, 4)
QUICK_TRADES = 12
QUICK_MEMBERS = 4
#: SubmitTrade calls an initiator keeps in flight, and AffirmTrade calls a desk keeps in flight ...
DEFAULT_WINDOW = 8
#: ... but the initiators together at most this many (the per-initiator window is lowered to fit, at least 1).
MAX_IN_FLIGHT = 64
#: Deadline of every client call (seconds): a stall shows up as DEADLINE_EXCEEDED.
CALL_TIMEOUT = 60.0
#: Seconds a clocked row may take before it counts as stalled.
ROW_TIMEOUT = 900.0
#: Seconds a started service gets to report SERVING.
START_TIMEOUT = 60.0
#: Seconds the check waits for receipts the node still owes (booked in the background).
SETTLE_TIMEOUT = 30.0
CASH, DF = 10**9 + 10**5, 10**5

# -- the house as processes ------------------------------------------------------------------

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


class House:
    """A clearing node and a prover as processes on a fresh config in ``directory``."""

    def __init__(self, directory: Path, members: Sequence[str], backend: str):
        from clearing.ccp.scenario import builtin_scenario
        from clearing.services import config as services_config
        from clearing.services.pki import init_pki, load_config, load_identity

        self.dir, self.members, self.backend = Path(directory), list(members), backend
        # what `zkclear init DIR --members ...` writes, on ports picked free
        roster = init_pki(self.dir, self.members)
        sc = builtin_scenario()
        self.instruments: list[dict[str, Any]] = [
            {"id": i.id, "multiplier": i.multiplier, "tick": i.tick, "price0": i.price0} for i in sc.instruments]
        ccp = {"skin_in_the_game_1": sc.ccp.skin_in_the_game_1, "skin_in_the_game_2": sc.ccp.skin_in_the_game_2,
               "assessment_cap_multiple": sc.ccp.assessment_cap_multiple}
        clearing, prover, auditor, feed = free_ports(4)
        services_config.write_service_files(self.dir, roster, load_identity(self.dir, "operator").ed25519_private,
                                            self.instruments, ccp, {"clearing": clearing, "prover": prover,
                                                                    "auditor": auditor, services_config.FEED: feed})
        self.roster = load_config(self.dir)
        self.target = {n: services_config.endpoint(self.dir, n) for n in ("clearing", "prover")}
        self.procs: dict[str, subprocess.Popen] = {}
        (self.dir / "logs").mkdir(exist_ok=True)

    def start(self) -> None:
        from clearing.services import rpc
        from clearing.services.pki import load_identity

        env = dict(os.environ, ZKCLEAR_BACKEND=self.backend)
        ident = load_identity(self.dir, "auditor")
        for node in ("clearing", "prover"):
            with open(self.dir / "logs" / f"{node}.log", "ab") as log:
                self.procs[node] = subprocess.Popen(
                    [sys.executable, "-m", "clearing.cli", "serve", node, "--config", str(self.dir)],
                    stdout=log, stderr=subprocess.STDOUT, env=env)
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                with contextlib.suppress(Exception):
                    if rpc.health_check(ident, self.target[node], timeout=1) == "SERVING":
                        break
                if self.procs[node].poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"the {node} node did not start; its log: {self.dir / 'logs' / node}.log")
                time.sleep(0.05)

    def pid(self, node: str) -> int:
        return self.procs[node].pid

    def log_size(self, node: str) -> int:
        return (self.dir / "logs" / f"{node}.log").stat().st_size

    def log_text(self, node: str, offset: int = 0) -> str:
        """The service's log from byte ``offset`` on."""
        with open(self.dir / "logs" / f"{node}.log", "rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")

    def identity(self, name: str):
        from clearing.services.pki import load_identity

        return load_identity(self.dir, name)

    def participant(self, name: str, *, prover: bool = False):
        from clearing.clients.participant import Participant

        return Participant(self.identity(name), self.roster, self.target["clearing"],
                           self.target["prover"] if prover else None, timeout=CALL_TIMEOUT,
                           prove_timeout=CALL_TIMEOUT)

    def operator(self):
        from clearing.clients.operator import Operator

        return Operator(self.identity("operator"), self.roster, self.target["clearing"], timeout=CALL_TIMEOUT)

    def onboard(self, pretrade: bool = False) -> None:
        """Admit every member; each deposits and funds the default fund.
        ``pretrade`` (issue 14 §1): 100 times the cash, then a settlement at
        price0 with the built-in scan set and the pre-trade limit on, a
        margin run (every member's headroom committed) and the cycle closed:
        every trade of the row then carries a headroom debit proof."""
        with self.operator() as op:
            op.admit_all()
        for m in self.members:
            with self.participant(m, prover=True) as p:
                p.deposit(CASH * (100 if pretrade else 1), request_id=f"dep-{m}")
                p.fund(DF, request_id=f"df-{m}")
        if pretrade:
            from clearing.ccp.scenario import builtin_scenario, scenario_matrix

            with self.operator() as op:
                op.settle([i["price0"] for i in self.instruments], scenario_matrix(builtin_scenario()),
                          pretrade=True)
                op.run_margin()
                op.close_cycle()

    def stop(self) -> None:
        for node in ("prover", "clearing"):
            p = self.procs.get(node)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(30)


# -- the clients ---------------------------------------------------------------------------

class Workload:
    """The clocked part of one row: K initiator threads and one affirmation
    desk per counterparty member over ``house`` (module docstring)."""

    def __init__(self, house: House, mode: str, trade_plan: list[list[Planned]], *,
                 rate: float | None = None, window: int = DEFAULT_WINDOW, log: Callable[[str], None] = lambda m: None):
        self.house, self.mode, self.rate, self.window, self.log = house, mode, rate, window, log
        self.pairs = trade_plan
        self.lock = threading.Lock()
        self.errors: list[str] = []
        self.start: dict[str, float] = {}
        self.done: dict[str, list[float]] = {}  # tid -> return times of SubmitTrade / AffirmTrade
        self.submitted: dict[str, Reply] = {}
        self.affirmed: dict[str, Reply] = {}
        self.venue: dict[str, Planned] = {}  # the trades announced to their counterparties
        self.ready: dict[str, Any] = {}  # tid -> SubmitTradeRequest (preproved)
        self.initiators: list[Any] = []
        self.desks: dict[str, Any] = {}  # counterparty member -> its Participant
        self.feeds: dict[str, Any] = {}  # member -> its desk's PendingFeed
        #: trades whose submission failed for good (their desk does not wait for them)
        self.submit_failed: set[str] = set()
        #: affirmations each desk has sent
        self.desk_sent: dict[str, int] = {}
        #: pending-trade streams opened by the desks (1 each unless one was reopened)
        self.streams_opened = 0
        self.t0 = 0.0
        self.deadline = 0.0

    # -- before the clock --
    def prepare(self) -> None:
        """Open every client's channel; in ``preproved`` mode make every
        trade's request (proof, signature, sealed openings)."""
        from clearing.api import clearing_pb2

        def connected(name: str):
            c = self.house.participant(name)
            c.clearing.GetLedgerStatus(clearing_pb2.LedgerStatusRequest())  # connect now (mTLS handshake)
            return c

        for trades in self.pairs:
            self.initiators.append(connected(trades[0].initiator))
            cp = trades[0].counterparty
            if cp not in self.desks:
                self.desks[cp] = connected(cp)
        if self.mode == "preproved":
            makers: dict[str, Any] = {}
            for trades in self.pairs:
                for t in trades:
                    p = makers.get(t.initiator) or makers.setdefault(t.initiator, self.house.participant(t.initiator))
                    req, _ = p.make_trade(t.tid, t.counterparty, t.instrument, t.side, t.quantity, t.price,
                                          request_id=f"rq-{t.tid}")
                    self.ready[t.tid] = req
            for p in makers.values():
                p.close()
        else:  # build the proving tables lazily built on first use: one trade made, not sent
            t = self.pairs[0][0]
            with self.house.participant(t.initiator) as p:
                p.make_trade("warm-up", t.counterparty, t.instrument, t.side, t.quantity, t.price)

    # -- the threads --
    def _fail(self, role: str, tid: str, exc: BaseException) -> None:
        import grpc

        code = exc.code().name if isinstance(exc, grpc.RpcError) else type(exc).__name__
        with self.lock:
            self.errors.append(f"{role} {tid}: {code}")

    def _answered(self, role: str, t: Planned, fut) -> None:
        """A SubmitTrade / AffirmTrade future's outcome, recorded."""
        exc = fut.exception()
        if exc is not None:
            self._fail(role, t.tid, exc)
            if role == "submit":
                with self.lock:
                    self.submit_failed.add(t.tid)
            return
        res = fut.result()
        now = time.perf_counter()
        with self.lock:
            self.done.setdefault(t.tid, []).append(now)
            (self.submitted if role == "submit" else self.affirmed)[t.tid] = Reply(
                res.seq, res.status, res.trade.commitment.hex())

    def initiator(self, k: int, p, barrier: threading.Barrier) -> None:
        """Submit pair ``k``'s trades, up to ``window`` in flight (end to end:
        proving each for the ledger status read once, before the clock)."""
        trades = self.pairs[k]
        status = p.ledger_status()
        pipe = p.pipeline(self.window)
        barrier.wait()
        n_pairs = len(self.pairs)
        for n, t in enumerate(trades):
            if self.rate:  # a trade starts when it is due; waiting for the window counts
                due = self.t0 + (n * n_pairs + k) / self.rate
                time.sleep(max(0.0, due - time.perf_counter()))
                start = due
                pipe.reserve()
            else:  # flat out: a trade starts when the window has room for it
                pipe.reserve()
                start = time.perf_counter()
            if time.perf_counter() > self.deadline:
                pipe.window.release_reserved()
                self._fail("submit", t.tid, TimeoutError())
                with self.lock:
                    self.submit_failed.add(t.tid)
                continue
            with self.lock:
                self.start[t.tid] = start
                self.venue[t.tid] = t  # the venue tells the counterparty first
            try:
                req = self.ready[t.tid] if self.mode == "preproved" else p.make_trade(
                    t.tid, t.counterparty, t.instrument, t.side, t.quantity, t.price, request_id=f"rq-{t.tid}",
                    status=status)[0]
            except Exception as exc:  # noqa: BLE001 - recorded; the row is not ok
                pipe.window.release_reserved()
                self._fail("submit", t.tid, exc)
                with self.lock:
                    self.submit_failed.add(t.tid)
                continue
            try:
                fut = pipe.submit(req, reserved=True)
            except Exception as exc:  # noqa: BLE001 - recorded; the row is not ok
                self._fail("submit", t.tid, exc)
                with self.lock:
                    self.submit_failed.add(t.tid)
                continue
            fut.add_done_callback(lambda f, t=t: self._answered("submit", t, f))
        pipe.drain()

    def _expected(self, member: str) -> int:
        return sum(1 for trades in self.pairs for t in trades if t.counterparty == member)

    def desk(self, member: str, p, barrier: threading.Barrier) -> None:
        """Member ``member``'s affirmations: it follows its pending trades
        (one stream) and affirms each announced one, up to ``window`` in
        flight, until it has affirmed every trade planned for it (or every
        one whose submission did not fail)."""
        expected = self._expected(member)
        feed = p.pending_feed(timeout=max(self.deadline - time.perf_counter(), 1.0) + 60)
        with self.lock:
            self.feeds[member] = feed
            self.desk_sent[member] = 0
        pipe = p.pipeline(self.window)
        barrier.wait()
        sent = 0
        try:
            for c in feed:
                with self.lock:
                    t = self.venue.get(c.trade["trade_id"])
                if t is None:
                    self._fail("affirm", c.trade["trade_id"], LookupError("offered but never announced"))
                    continue
                try:
                    fut = pipe.affirm(c, expect=t.expect(), request_id=f"ra-{t.tid}")
                except Exception as exc:  # noqa: BLE001 - recorded; the row is not ok
                    self._fail("affirm", t.tid, exc)
                else:
                    fut.add_done_callback(lambda f, t=t: self._answered("affirm", t, f))
                sent += 1
                with self.lock:
                    self.desk_sent[member] = sent
                if sent == expected:
                    break
        except Exception as exc:  # noqa: BLE001 - recorded; the row is not ok
            self._fail("pending", member, exc)
        finally:
            feed.cancel()
            pipe.drain()
            with self.lock:
                self.streams_opened += feed.opened
        with self.lock:
            failed = sum(1 for tid in self.submit_failed if self.venue[tid].counterparty == member)
        if sent + failed < expected:
            self._fail("affirm", member, TimeoutError(f"{expected - sent - failed} trades never offered"))

    def _guarded(self, fn: Callable[..., None], *args: Any) -> None:
        """``fn(*args)``, a crash recorded as an error (the row is then not ok)."""
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - recorded; the row is not ok
            self._fail(f"{fn.__name__} crashed", "", exc)

    def run(self, timeout: float = ROW_TIMEOUT) -> float:
        """Start the clients together; the seconds until the last one ends
        (a stall past ``timeout`` is recorded as an error)."""
        self.deadline = time.perf_counter() + timeout + 60  # until the clock starts
        barrier = threading.Barrier(len(self.pairs) + len(self.desks) + 1)
        threads = [threading.Thread(target=self._guarded, args=(self.initiator, k, c, barrier), daemon=True)
                   for k, c in enumerate(self.initiators)]
        threads += [threading.Thread(target=self._guarded, args=(self.desk, m, c, barrier), daemon=True)
                    for m, c in self.desks.items()]
        for t in threads:
            t.start()
        self.t0 = time.perf_counter()
        self.deadline = self.t0 + timeout
        barrier.wait()
        for t in threads[:len(self.pairs)]:  # the initiators
            t.join(max(self.deadline - time.perf_counter(), 0.1))
        while any(t.is_alive() for t in threads):  # the desks: until each has what was submitted
            with self.lock:
                for m, feed in self.feeds.items():
                    failed = sum(1 for tid in self.submit_failed if self.venue[tid].counterparty == m)
                    if self.desk_sent.get(m, 0) + failed >= self._expected(m) or time.perf_counter() > self.deadline:
                        feed.cancel()  # nothing more will come: stop following
            time.sleep(0.02)
            if time.perf_counter() > self.deadline + 5:
                break
        elapsed = time.perf_counter() - self.t0
        if any(t.is_alive() for t in threads):
            with self.lock:
                self.errors.append(f"stalled: clients still running after {timeout:.0f} s")
        return elapsed

    def latencies_ms(self) -> list[float]:
        with self.lock:
            return [(max(ts) - self.start[tid]) * 1000 for tid, ts in self.done.items() if len(ts) == 2]

    def close(self) -> None:
        for c in self.initiators + list(self.desks.values()):
            c.close()


# -- one row -------------------------------------------------------------------------------

def check_row(house: House, trade_plan: list[list[Planned]], w: Workload) -> tuple[int, list[str]]:
    """The untimed check of a row (module docstring): (novated, problems)."""
    from clearing.api import clearing_pb2, clearing_pb2_grpc
    from clearing.services import rpc
    from clearing.services.auditor import audit_node, fetch_events

    planned = [t for ts in trade_plan for t in ts]
    problems = list(w.errors)
    problems += [f"{t.tid}: never submitted" for t in planned if t.tid not in w.submitted]
    problems += [f"{t.tid}: never affirmed" for t in planned if t.tid not in w.affirmed]
    node_status: dict[str, str] = {}
    with house.operator() as op:
        t_end = time.monotonic() + SETTLE_TIMEOUT
        while True:  # receipts the node still owes are booked in the background
            for t in planned:
                if node_status.get(t.tid) != "novated":
                    with contextlib.suppress(Exception):
                        node_status[t.tid] = op.clearing.GetTrade(
                            clearing_pb2.GetTradeRequest(trade_id=t.tid)).status
            if all(node_status.get(t.tid) == "novated" for t in planned) or time.monotonic() > t_end:
                break
            time.sleep(0.2)
    ident = house.identity("auditor")
    with rpc.channel(ident, house.target["clearing"]) as ch:
        events = fetch_events(rpc.Client(clearing_pb2_grpc.ClearingServiceStub(ch), CALL_TIMEOUT))
    novated, more = ledger_problems(events, planned, w.submitted, w.affirmed, node_status)
    problems += more
    seen = {}
    for m in house.members:
        with house.participant(m, prover=True) as p:
            seen[m] = p.balances()["pos"]
    problems += position_problems(seen, expected_positions(planned, house.members,
                                                           [i["id"] for i in house.instruments]))
    audit = audit_node(ident, house.roster, house.target["clearing"])
    if not (audit.ok and audit.node_agrees):
        problems.append(f"audit: ok={audit.ok} node_agrees={audit.node_agrees} {audit.error}")
    return novated, problems


def run_row(mode: str, clients: int, trades: int, *, members: int = DEFAULT_MEMBERS, backend: str,
            rate: float | None = None, window: int = DEFAULT_WINDOW, keep: str | None = None,
            timeout: float = ROW_TIMEOUT, profile: bool = False, pretrade: bool = False,
            log: Callable[[str], None] = lambda m: None) -> dict:
    """One row on a fresh house (``keep``: a directory to leave its config,
    databases and logs in, else a temporary one, removed; ``profile``: the
    node sampled by py-spy over the clocked window into ``<row>/node.pyspy``
    -- collapsed stacks of the thread holding the GIL, 100 samples a second:
    the node's Python time; its share of the samples is how busy the GIL was)."""
    if mode not in MODES:
        raise BenchUsageError(f"unknown capture mode {mode!r} (known: {', '.join(MODES)})")
    if window < 1:
        raise BenchUsageError("--window must be positive")
    names = member_names(members)
    window = max(1, min(window, MAX_IN_FLIGHT // clients))
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="zkclear-capture-"))
    work.mkdir(parents=True, exist_ok=True)
    house = House(work / (f"{mode}-k{clients}-w{window}" + (f"-r{rate:.0f}" if rate else "")
                          + ("-pretrade" if pretrade else "")), names, backend)
    trade_plan = plan(trades, clients, names, house.instruments)
    w = Workload(house, mode, trade_plan, rate=rate, window=window, log=log)
    try:
        house.start()
        house.onboard(pretrade)
        log(f"capture {mode} K={clients} window {window}: {trades} trades, {members} members"
            + (", pre-trade limit on" if pretrade else "")
            + (f", paced at {rate:.1f}/s" if rate else "") + " ...")
        w.prepare()
        load = os.getloadavg()
        spy = _start_profile(house) if profile else None
        logs = {n: house.log_size(n) for n in ("clearing", "prover")}
        pids = {"node": house.pid("clearing"), "prover": house.pid("prover")}
        cpu0 = {k: tree_cpu_ms(pid) for k, pid in pids.items()}
        cpu0.update(node_main=proc_cpu_ms(pids["node"]), client=self_cpu_ms(), machine=machine_busy_ms())
        elapsed = w.run(timeout)
        cpu1 = {k: tree_cpu_ms(pid) for k, pid in pids.items()}
        cpu1.update(node_main=proc_cpu_ms(pids["node"]), client=self_cpu_ms(), machine=machine_busy_ms())
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        calls = {n: count_rpcs(house.log_text(n, logs[n])) for n in logs}
        w.close()
        novated, problems = check_row(house, trade_plan, w)
        row = make_row(mode, clients, trades, novated=novated, elapsed_s=elapsed, latencies_ms=w.latencies_ms(),
                       cpu_ms={k: cpu1[k] - cpu0[k] for k in cpu0}, problems=problems, errors=len(w.errors),
                       affirm_pending=sum(r.status != "novated" for r in w.affirmed.values()),
                       members=members, paced_tps=rate, load_avg=load)
        per = max(novated, 1)
        row.update(window=window, pending_streams=w.streams_opened, pretrade=pretrade,
                   node_rpcs_per_trade=round(sum(calls["clearing"].values()) / per, 2),
                   node_rpcs=dict(sorted(calls["clearing"].items())),
                   prover_rpcs=dict(sorted(calls["prover"].items())))
        log(f"capture {mode} K={clients} window {window}: {row['trades_per_s']} trades/s, p50 {row['p50_ms']} ms, "
            f"p99 {row['p99_ms']} ms, node {row['node_cpu_ms_per_trade']} ms/trade, ok={row['ok']}")
        return row
    finally:
        w.close()
        house.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def _start_profile(house: House) -> subprocess.Popen:
    """py-spy sampling the node (``--profile``)."""
    exe = shutil.which("py-spy")
    if exe is None:
        raise BenchUsageError("--profile needs py-spy (pip install py-spy)")
    out = house.dir / "node.pyspy"
    spy = subprocess.Popen([exe, "record", "--pid", str(house.pid("clearing")), "--format", "raw", "--gil",
                            "--threads", "--rate", "100", "--output", str(out)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached before the clock
    return spy


def run_capture(*, modes: Sequence[str] = MODES, clients: Sequence[int] = DEFAULT_CLIENTS,
                trades: int = DEFAULT_TRADES, members: int = DEFAULT_MEMBERS, backend: str | None = None,
                rate: float | None = None, half_capacity: bool = False, keep: str | None = None,
                window: int = DEFAULT_WINDOW, profile: bool = False, pretrade: bool = False,
                log: Callable[[str], None] = lambda m: None) -> dict:
    """Every row (``modes`` x ``clients``); with ``half_capacity`` one more row
    per mode, paced at half the best trades/s measured in that mode, at the K
    that reached it.  Returns the report."""
    from zkp.group import default_backend_name, use_backend

    backend = backend or default_backend_name()
    for m in modes:
        if m not in MODES:
            raise BenchUsageError(f"unknown capture mode {m!r} (known: {', '.join(MODES)})")
    member_names(members)
    for k in clients:
        if k < 1:
            raise BenchUsageError("--clients must be positive")
        if trades < k:
            raise BenchUsageError(f"{trades} trades cannot keep {k} client pairs busy (need trades >= clients)")
    rows: list[dict] = []
    with use_backend(backend):  # loaded here, before any client thread
        _rows(rows, modes, clients, trades, dict(members=members, backend=backend, window=window, keep=keep,
                                                 profile=profile, pretrade=pretrade, log=log), rate,
              half_capacity)
    return {"machine": machine_description(), "suite": "capture", "backend": backend,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": _commit(),
            "members": members, "window": window, "results": rows}


def _rows(rows: list[dict], modes: Sequence[str], clients: Sequence[int], trades: int, kw: dict,
          rate: float | None, half_capacity: bool) -> None:
    for mode in modes:
        mine = [run_row(mode, k, trades, rate=rate, **kw) for k in clients]
        rows += mine
        if half_capacity and not rate:
            best = max(mine, key=lambda r: r["trades_per_s"] or 0)
            if best["trades_per_s"]:
                rows.append(run_row(mode, best["clients"], trades, rate=best["trades_per_s"] / 2, **kw))


def _commit() -> str:
    """The repository's HEAD (``+dirty`` when tracked files differ), or "unknown"."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


__all__ = [  # with the helpers of bench.capture_rows this module uses
    "MODES", "DEFAULT_CLIENTS", "DEFAULT_WINDOW", "DEFAULT_TRADES", "QUICK_CLIENTS", "QUICK_TRADES", "QUICK_MEMBERS",
    "House", "Workload", "check_row", "run_row", "run_capture", "run_cli",
    "DEFAULT_MEMBERS", "MAX_PROBLEMS", "ROW_KEYS", "Planned", "Reply", "expected_positions", "format_table",
    "ledger_problems", "make_row", "member_names", "pairs", "parse_clients", "percentile", "plan",
    "position_problems",
]


def run_cli(args: argparse.Namespace, log: Callable[[str], None]) -> int:
    quick = args.quick
    clients = parse_clients(args.clients) if args.clients else list(QUICK_CLIENTS if quick else DEFAULT_CLIENTS)
    trades = args.trades if args.trades is not None else (QUICK_TRADES if quick else DEFAULT_TRADES)
    members = args.members if args.members is not None else (QUICK_MEMBERS if quick else DEFAULT_MEMBERS)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()] if args.modes else list(MODES)
    if args.rate is not None and args.rate <= 0:
        raise BenchUsageError("--rate must be positive")
    window = getattr(args, "window", None) or DEFAULT_WINDOW
    report = run_capture(modes=modes, clients=clients, trades=trades, members=members, backend=args.backend,
                         rate=args.rate, half_capacity=args.half_capacity, keep=args.keep, window=window,
                         profile=bool(getattr(args, "profile", False)),
                         pretrade=bool(getattr(args, "pretrade", False)), log=log)
    report["quick"] = quick
    print(format_table(report))
    if args.json:
        write_json(report, args.json)
        log(f"wrote {args.json}")
    counts = Counter(r["ok"] for r in report["results"])
    return 0 if not counts[False] else 1
