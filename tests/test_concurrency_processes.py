"""Concurrency through real processes: member processes trading and
affirming at the same time against the clearing node and the prover, each
a ``zkclear serve`` process (:mod:`support.processes`).

Each member is its own OS process (:func:`support.processes.member_main`):
one thread submits, in order, the plan's trades the member initiates, while
a second affirms the plan's trades it is the counterparty of as soon as the
node offers them (checking the plan's terms), every call with an explicit
request id.  The plan is seeded (:func:`plan`): counterparties, instruments,
sides, quantities and prices at random, so every member is at once
initiator and counterparty of many others.

Checked afterwards:

* no client call failed, every planned trade was submitted once and
  affirmed once, by the right member;
* every client's view equals the node's: the seq each SubmitTrade and
  AffirmTrade call reported is the seq of that trade's ``trade`` and
  ``affirm`` event in the public ledger, a reported status is ``pending`` or
  ``novated``, and an affirmation reported ``pending`` (receipt still owed)
  precedes the trade's receipt in the ledger; each member's account
  version as it read it at the end is the node's;
* the ledger holds exactly one trade, one affirmation and one receipt per
  planned trade (nothing lost, nothing doubled), and every trade is novated;
* each member's balances as the prover reports them to the member's own
  process are the plan's: positions the net of its trades, cash moved only
  by the novations' variation margin, default fund untouched; positions
  net to zero per instrument and cash sums to what was deposited;
* the auditor's replay passes and agrees with the node; the service logs
  hold no ERROR line, traceback, INTERNAL or UNKNOWN; both services stop
  cleanly on SIGTERM.

The default suite runs 4 members with 20 trades each initiated (80 trades);
the slow set 8 members and 320 trades, and 8 members and 240 trades while
the node and the prover are killed and restarted (the members then retry
transient failures with the same request ids; the checks are the same).

Two reproductions of bugs found with this harness (they fail until fixed):
:func:`test_first_group_use_from_threads` (a process crashing when two
threads make their first group operation at once) and
:func:`test_balances_read_while_the_account_changes` (the prover's false
divergence alarm).
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from support.processes import Services, configure, member_command
from support.services import CCP, INSTRUMENTS

CASH, DF = 10**9, 10**7
#: Seconds the member processes may take in all.
WORKLOAD_TIMEOUT = 600.0


def plan(members: list[str], per_member: int, seed: int) -> list[dict]:
    """``per_member`` trades initiated by each member, interleaved, with a
    random other member as counterparty and random terms (seeded)."""
    rng = random.Random(seed)
    out = []
    for n in range(per_member):
        for ini in members:
            cp = rng.choice([m for m in members if m != ini])
            inst = rng.choice(INSTRUMENTS)
            side = rng.choice(["buy", "sell"])
            buyer, seller = (ini, cp) if side == "buy" else (cp, ini)
            out.append({"id": f"{ini}-{n}", "initiator": ini, "counterparty": cp, "buyer": buyer, "seller": seller,
                        "instrument": inst["id"], "side": side, "quantity": rng.randint(1, 25),
                        "price": inst["price0"] + inst["tick"] * rng.randint(-40, 40)})
    return out


def expected_balances(trades: list[dict], members: list[str]) -> dict[str, dict]:
    """Each member's opened balances after the plan's trades are novated:
    positions, and cash moved by the novation's variation margin
    (price0 - price) * quantity * multiplier from seller to buyer."""
    ids = [i["id"] for i in INSTRUMENTS]
    out = {m: {"cash": CASH, "df": DF, "pos": [0] * len(ids), "due": 0} for m in members}
    for t in trades:
        k = ids.index(t["instrument"])
        vm = (INSTRUMENTS[k]["price0"] - t["price"]) * t["quantity"] * INSTRUMENTS[k]["multiplier"]
        out[t["buyer"]]["pos"][k] += t["quantity"]
        out[t["seller"]]["pos"][k] -= t["quantity"]
        out[t["buyer"]]["cash"] += vm
        out[t["seller"]]["cash"] -= vm
    return out


def run_members(s: Services, trades: list[dict], members: list[str], work: Path,
                kills: list[tuple[float, str]] = (), before_barrier=lambda: None) -> dict[str, dict]:
    """Start one process per member, wait for their trading, call
    ``before_barrier()``, release the barrier (the members read their final
    views), collect their reports.  ``kills``: (seconds after the start,
    service) -- that service is killed with SIGKILL then and restarted, and
    the members retry transient failures with the same request ids."""
    work.mkdir()
    plan_file, barrier = work / "plan.json", work / "barrier"
    plan_file.write_text(json.dumps(trades))
    procs = {}
    for m in members:
        log = open(work / f"{m}.log", "wb")
        argv, env = member_command("--config", str(s.dir), "--name", m, "--plan", str(plan_file),
                                   "--out", str(work / f"{m}.json"), "--barrier", str(barrier),
                                   "--timeout", str(WORKLOAD_TIMEOUT), *(["--retry"] if kills else []))
        procs[m] = (subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT), log)
    try:
        t0 = time.monotonic()
        end = t0 + WORKLOAD_TIMEOUT
        pending_kills = sorted(kills)
        while not all((work / f"{m}.json").exists() for m in members):
            if pending_kills and time.monotonic() - t0 >= pending_kills[0][0]:
                victim = s.nodes[pending_kills.pop(0)[1]]
                victim.kill9()
                victim.start()
            dead = [m for m, (p, _) in procs.items() if p.poll() is not None and not (work / f"{m}.json").exists()]
            assert not dead, {m: (procs[m][0].returncode, (work / f"{m}.log").read_text()[-2000:]) for m in dead}
            assert time.monotonic() < end, "the member processes did not finish trading"
            time.sleep(0.1)
        before_barrier()
        barrier.touch()
        for m, (p, _) in procs.items():
            assert p.wait(120) == 0, (work / f"{m}.log").read_text()[-2000:]
        return {m: json.loads((work / f"{m}.json").read_text()) for m in members}
    finally:
        for p, log in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(30)
            log.close()


def receipts_booked(s: Services, timeout: float = 60.0) -> None:
    """Wait (at most ``timeout`` seconds) until the node holds a receipt for
    every trade in its ledger: receipts it owed (an affirmation reported
    "pending") are booked in the background; the members' final views are
    read after that."""
    end = time.monotonic() + timeout
    while True:
        kinds = Counter(b["kind"] for _, b in s.events())
        if kinds["receipt"] >= kinds["trade"] or time.monotonic() > end:
            return
        time.sleep(0.2)


def check_concurrent_trading(tmp_path, members: list[str], per_member: int, seed: int,
                             kills: list[tuple[float, str]] = ()) -> dict:
    d = tmp_path / "cfg"
    configure(d, members, INSTRUMENTS, CCP)
    s = Services(d, members).start()
    try:
        s.op.admit_all()
        for m in members:
            s.m(m).deposit(CASH + DF, request_id=f"dep0-{m}")
            s.m(m).fund(DF, request_id=f"df0-{m}")
        s.reopen()
        trades = plan(members, per_member, seed)
        t0 = time.monotonic()
        views = run_members(s, trades, members, tmp_path / "work", kills, lambda: receipts_booked(s))
        elapsed = time.monotonic() - t0
        by_id = {t["id"]: t for t in trades}
        events = s.events()

        # every call succeeded; each trade submitted and affirmed once, by the right member
        assert {m: v["errors"] for m, v in views.items()} == {m: [] for m in members}
        for m, v in views.items():
            assert sorted(v["submitted"]) == sorted(t["id"] for t in trades if t["initiator"] == m), m
            assert sorted(v["affirmed"]) == sorted(t["id"] for t in trades if t["counterparty"] == m), m

        # the ledger: one trade, affirm and receipt per planned trade; all novated
        seqs: dict[str, dict[str, int]] = {}
        for seq, b in events:
            if b["kind"] in ("trade", "affirm", "receipt"):
                tid = b["trade"]["trade_id"] if b["kind"] == "trade" else b["trade_id"]
                assert b["kind"] not in seqs.setdefault(tid, {}), f"{b['kind']} of {tid} twice"
                seqs[tid][b["kind"]] = seq
        assert sorted(seqs) == sorted(by_id)
        assert all(set(x) == {"trade", "affirm", "receipt"} for x in seqs.values())
        for seq, b in events:
            if b["kind"] == "trade":
                t, p = b["trade"], by_id[b["trade"]["trade_id"]]
                assert (t["buyer"], t["seller"], t["instrument"], t["side"], t["price"]) == \
                    (p["buyer"], p["seller"], p["instrument"], p["side"], p["price"])
        assert all(s.trade(tid).status == "novated" for tid in by_id)

        # every client's view equals the node's
        for m, v in views.items():
            for tid, (seq, status) in v["submitted"].items():
                assert seq == seqs[tid]["trade"] and status in ("pending", "novated"), (m, tid)
            for tid, (seq, status) in v["affirmed"].items():
                assert seq == seqs[tid]["affirm"] and status in ("pending", "novated"), (m, tid)
                if status == "pending":
                    assert seqs[tid]["receipt"] > seq, (m, tid)
            assert v["final"]["version"] == s.m(m).account().version, m
            assert v["final"]["status"] == "active", m

        # positions: the plan's, as each member's own process read them from the prover; net zero
        got = {m: v["final"]["balances"] for m, v in views.items()}
        assert got == expected_balances(trades, members)
        assert [sum(b["pos"][k] for b in got.values()) for k in range(len(INSTRUMENTS))] == [0] * len(INSTRUMENTS)
        assert sum(b["cash"] for b in got.values()) == CASH * len(members)

        res = s.audit()
        assert res.ok and res.node_agrees, res.error
        assert s.stop() == {"prover": 0, "clearing": 0}
        problems = s.log_problems()
        assert problems == {"clearing": [], "prover": []}, problems
        pending_reported = sum(st == "pending" for v in views.values() for _, st in v["affirmed"].values())
        return {"members": len(members), "trades": len(trades), "elapsed_s": round(elapsed, 1),
                "trades_per_s": round(len(trades) / elapsed, 1), "affirmations_reported_pending": pending_reported,
                "retries": sum(v["retries"] for v in views.values())}
    finally:
        s.close()


def test_4_member_processes_trade_concurrently(tmp_path):
    stats = check_concurrent_trading(tmp_path, ["A", "B", "C", "D"], per_member=20, seed=7)
    print(stats)


#: A fresh process whose threads make their first group operation at once
#: (what a member process with a submitting and an affirming thread does).
FIRST_USE = """
import threading
from zkp.generators import generators
from zkp.group import Point
start = threading.Barrier(4)
def work():
    start.wait()
    for k in range(100):
        Point.decode(generators().commit(k + 1, 12345 + k).encode())
threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("ok")
"""


def test_first_group_use_from_threads():
    """The group backend is chosen and loaded on first use
    (zkp.group.get_backend); with the native mcl backend, threads making
    their first group operation at the same time crash the process
    (SIGSEGV or SIGABRT in about a third of fresh processes on the
    2-core machine).  Ten fresh processes must all survive."""
    procs = [subprocess.Popen([sys.executable, "-c", FIRST_USE], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL) for _ in range(10)]
    codes = [p.wait(120) for p in procs]
    for p in procs:
        p.stdout.close()
    assert codes == [0] * 10


def test_balances_read_while_the_account_changes(tmp_path):
    """A member reading its balances (GetBalances) while trades with it are
    being novated: every read succeeds and the prover raises no alarm.

    Today the prover replays the ledger to seq N, then asks the node for the
    member's account (GetAccount) and compares; when the node has novated
    another trade of the member in between, the account's version is newer
    than the replay and the prover takes that for a divergence: it raises
    its alarm (persisted) and refuses every proof from then on.  The same
    replay-then-GetAccount comparison guards ProveWithdrawal, ProveFunding
    and the assessment proofs."""
    import threading

    import grpc

    from clearing.api import prover_pb2

    members = ["A", "B"]
    d = tmp_path / "cfg"
    configure(d, members, INSTRUMENTS, CCP)
    s = Services(d, members).start()
    errors: list[str] = []
    try:
        s.op.admit_all()
        for m in members:
            s.m(m).deposit(CASH + DF, request_id=f"dep0-{m}")
            s.m(m).fund(DF, request_id=f"df0-{m}")
        done = threading.Event()
        reads = []

        def read():
            from clearing.clients.participant import Participant
            from clearing.services.pki import load_identity

            with Participant(load_identity(d, "A"), s.roster, s.clearing_target, s.prover_target) as p:
                while not done.is_set():
                    try:
                        reads.append(p.balances())
                    except grpc.RpcError as exc:
                        errors.append(f"{exc.code().name}: {exc.details()}")
                        return

        t = threading.Thread(target=read)
        t.start()
        try:
            for n in range(30):
                s.m("A").trade(f"t{n}", "B", "ESX", "buy", 1, 500000, request_id=f"rq-t{n}")
                s.m("B").affirm(f"t{n}", request_id=f"ra-t{n}")
                if errors:
                    break
        finally:
            done.set()
            t.join(60)
        status = s.m("A").prover.GetProverStatus(prover_pb2.ProverStatusRequest())
        assert (errors, status.alarm_reason) == ([], "")
        assert len(reads) > 1
    finally:
        s.close()


@pytest.mark.slow
def test_8_member_processes_320_trades(tmp_path):
    stats = check_concurrent_trading(tmp_path, ["A", "B", "C", "D", "E", "F", "G", "H"], per_member=40, seed=8)
    assert stats["trades"] >= 300
    print(stats)


@pytest.mark.slow
def test_8_member_processes_trade_while_the_services_are_killed(tmp_path):
    """The same checks while the node and the prover are killed (SIGKILL)
    and restarted, five times in all, during the trading; the members retry
    UNAVAILABLE and the like with the same request ids."""
    kills = [(1.5, "clearing"), (3.0, "prover"), (4.5, "clearing"), (6.0, "prover"), (7.5, "clearing")]
    stats = check_concurrent_trading(tmp_path, ["A", "B", "C", "D", "E", "F", "G", "H"], per_member=30, seed=9,
                                     kills=kills)
    assert stats["retries"] > 0
    print(stats)
