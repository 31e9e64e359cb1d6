"""Group commit of the clearing node's ledger (issue 16): the engine thread
runs the calls queued together as one SQLite transaction, each event a
savepoint (clearing.node.ledger, clearing.node.engine, clearing.services.engine_thread).

* a refused call in the middle of a group leaves the others applied and
  itself absent, in the ledger and in the fold;
* a failed commit (SQLITE_FULL) fails every call of the group with
  RESOURCE_EXHAUSTED, applies nothing (database, fold, head marker, ledger
  tail, pending-trade notices) and the node goes on once space returns;
* a real full database (max_page_count) fails calls, never half-applies one;
* a request id recorded in a group replays later in the same group;
* SIGKILL in the middle of groups loses only unanswered calls, and the
  restarted ledger agrees with its head marker.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import Future

import grpc
import pytest

from clearing.node.engine import Engine
from clearing.node.ledger import Ledger
from clearing.node.marker import _check_marker, read_marker
from clearing.protocol.errors import AlreadyExists, InvalidArgument
from clearing.protocol.messages import affirmation_message, deposit_message
from clearing.services import rpc
from clearing.services.engine_thread import EngineThread
from support.engine import basic_sim

S = grpc.StatusCode


def _full_error() -> sqlite3.OperationalError:
    """A genuine SQLITE_FULL error (a database that may not grow)."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x BLOB)")
    db.execute("PRAGMA max_page_count = 2")
    try:
        db.execute("INSERT INTO t VALUES (?)", (bytes(100_000),))
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        db.close()
    raise AssertionError("SQLite did not report a full database")


class _CommitFails:
    """The ledger's connection, except that COMMIT fails with SQLITE_FULL
    (the transaction stays open, as after a real failed commit)."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db
        self.commits = 0

    def execute(self, sql, *args):
        if sql == "COMMIT":
            self.commits += 1
            raise _full_error()
        return self._db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._db, name)


def _thread(sim) -> EngineThread:
    """The sim's engine moved into an engine thread (as the node runs it)."""
    sim.engine.close()
    t = EngineThread(lambda: Engine.open(sim.path, sim.node_sk))
    sim.engine = t.engine
    return t


def _group(t: EngineThread, fns) -> list[Future]:
    """Run ``fns`` as one group: queued behind a call that holds the thread."""
    entered, gate = threading.Event(), threading.Event()
    hold = t.submit(lambda e: (entered.set(), gate.wait(10)))
    assert entered.wait(10)
    groups = t.groups
    futs = [t.submit(fn) for fn in fns]
    gate.set()
    hold.result(10)
    for f in futs:
        f.exception(10)
    assert t.groups == groups + 2  # the holder's group, then these together
    return futs


def _dep(sim, mid: str, amount: int, rid: str, *, sig: bytes | None = None):
    m = sim.members[mid]
    cycle = sim.engine.state.cycle
    sig = m.sign(deposit_message(mid, amount, cycle, rid)) if sig is None else sig
    return lambda e: e.deposit(mid, amount, cycle, sig, rid)


def _view(t: EngineThread) -> tuple:
    """What a failed group must leave as it was."""
    return t.run(lambda e: (e.chain_head(), e.state.seq, e.head, e.state_digest(), dict(e.state.trades),
                            {m: e.account(m) for m in e.state.members}, read_marker(e.ledger.path),
                            e.ledger.derived()))


def _status(exc: BaseException) -> grpc.StatusCode:
    return rpc.status_of(exc)[0]


@pytest.fixture
def sim(tmp_path):
    s = basic_sim(tmp_path, members=("A", "B", "C"), seed=b"group")
    yield s


def _replayed(sim, t: EngineThread) -> None:
    """The live engine's chain head and state equal a fresh replay of the
    database (read through a second connection: what is committed)."""
    live = t.run(lambda e: (e.chain_head(), e.state_digest()))
    other = Engine.open(sim.path, sim.node_sk)
    try:
        assert (other.chain_head(), other.state_digest()) == live
    finally:
        other.ledger.close()


def test_a_refused_call_in_a_group_leaves_the_others_applied(sim, monkeypatch):
    t = _thread(sim)
    try:
        led = t.engine.ledger
        real_write = led._write

        def write_then_full(cur, seq, data, h, rows, request, extra):
            real_write(cur, seq, data, h, rows, request, extra)  # the event, head, rows and id written ...
            if request is not None and request[1] == "c-full":
                raise _full_error()  # ... then the disk is full: back to its savepoint

        monkeypatch.setattr(led, "_write", write_then_full)
        seq0 = t.run(lambda e: e.state.seq)
        before_c = t.run(lambda e: e.account("C"))
        futs = _group(t, [
            _dep(sim, "A", 7, "a-1"),
            _dep(sim, "B", 7, "b-bad", sig=sim.members["A"].sign(deposit_message("B", 7, sim.cycle, "b-bad"))),
            _dep(sim, "C", 7, "c-full"),
            _dep(sim, "A", 9, "a-2"),
        ])
        assert futs[0].result()["seq"] == seq0 + 1
        assert isinstance(futs[1].exception(), InvalidArgument)
        assert _status(futs[2].exception()) == S.RESOURCE_EXHAUSTED
        assert futs[3].result()["seq"] == seq0 + 2
        events = t.run(lambda e: e.events(seq0))
        assert [(b["member"], b["request_id"]) for _, b in events] == [("A", "a-1"), ("A", "a-2")]
        assert t.run(lambda e: (e.recorded("B", "b-bad"), e.recorded("C", "c-full"))) == (None, None)
        assert t.run(lambda e: e.account("C")) == before_c
        assert read_marker(sim.path)[0] == seq0 + 2
        assert t.tail.last == seq0 + 2
        monkeypatch.undo()
        _replayed(sim, t)
        # the refused deposit applies once it is sent again
        assert t.run(_dep(sim, "C", 7, "c-full"))["seq"] == seq0 + 3
        _replayed(sim, t)
    finally:
        t.close()


def test_a_failed_commit_fails_the_whole_group_and_applies_nothing(sim):
    t = _thread(sim)
    published: list = []
    t.engine.on_pending = lambda fresh: t.after_flush(lambda: published.extend(fresh))
    try:
        trade, proof, sig, sc, sp, _ = sim.make_trade("t1", "A", "B", "ESX", 10, 500000)
        calls = [
            _dep(sim, "A", 5, "a-1"),
            lambda e: e.submit_trade(trade, proof, sig, sc, sp, "t1-sub"),
            _dep(sim, "B", 5, "b-1"),
        ]
        before, tail = _view(t), t.tail.last
        real = t.engine.ledger._db
        failing = _CommitFails(real)
        t.engine.ledger._db = failing
        futs = _group(t, calls)
        t.engine.ledger._db = real
        assert failing.commits == 1
        for f in futs:
            assert _status(f.exception()) == S.RESOURCE_EXHAUSTED
        assert _view(t) == before and t.tail.last == tail and published == []
        assert t.run(lambda e: [e.recorded(a, r) for a, r in (("A", "a-1"), ("A", "t1-sub"), ("B", "b-1"))]) \
            == [None, None, None]
        assert t.run(lambda e: e.pending_for("B")) == []
        _replayed(sim, t)
        # space is back: the same requests apply once, in one group
        futs = _group(t, calls)
        seqs = [f.result()["seq"] for f in futs]
        assert seqs == [before[1] + 1, before[1] + 2, before[1] + 3]
        assert published == [("B", "t1")] and t.tail.last == before[1] + 3
        assert read_marker(sim.path)[0] == before[1] + 3
        assert [f.result() for f in _group(t, calls)] == [f.result() for f in futs]  # replayed, not re-applied
        _replayed(sim, t)
    finally:
        t.close()


def test_a_failed_commit_undoes_every_fold_of_the_group(sim):
    """Directly on the engine: a trade, its affirmation, its receipt and a
    deposit in one group -- the same trade and accounts changed by several
    events -- are all undone when the commit fails."""
    eng = sim.engine
    trade, proof, sig, sc, sp, _ = sim.make_trade("t1", "A", "B", "ESX", 10, 500000)
    before = (eng.chain_head(), eng.head, eng.state_digest(), dict(eng.state.trades), sorted(eng.state.seen_T),
              {m: eng.account(m) for m in eng.state.members}, read_marker(sim.path))

    def group():
        eng.begin_group()
        eng.submit_trade(trade, proof, sig, sc, sp, "t1-sub")
        checked = sim.counterparty_check("B", "t1")
        eng.affirm("t1", "B", sim.members["B"].sign(affirmation_message(checked, "B")), "t1-aff")
        sim.witness.follow(eng.events(sim.witness.state.seq))
        rsig = sim.witness.receive_opening("t1", eng.relayed("t1", "prover"))
        eng.receipt("t1", rsig, "t1-rcpt")
        assert eng.state.trades["t1"]["status"] == "novated"
        eng.deposit("A", 3, sim.cycle, sim.members["A"].sign(deposit_message("A", 3, sim.cycle, "a-3")), "a-3")

    real = eng.ledger._db
    eng.ledger._db = _CommitFails(real)
    group()
    with pytest.raises(sqlite3.OperationalError) as err:
        eng.end_group()
    eng.ledger._db = real
    assert _status(err.value) == S.RESOURCE_EXHAUSTED
    assert (eng.chain_head(), eng.head, eng.state_digest(), dict(eng.state.trades), sorted(eng.state.seen_T),
            {m: eng.account(m) for m in eng.state.members}, read_marker(sim.path)) == before
    assert eng.ledger.relay_trades() == [] and eng.pending_for("B") == []
    eng.begin_group()
    eng.submit_trade(trade, proof, sig, sc, sp, "t1-sub")
    eng.end_group()
    assert eng.state.trades["t1"]["status"] == "pending" and read_marker(sim.path)[0] == before[0][0] + 1
    sim.reopen()
    assert sim.engine.state.trades["t1"]["status"] == "pending"


def test_a_full_database_fails_calls_never_half_applies_them(sim):
    t = _thread(sim)
    try:
        pages = t.run(lambda e: e.ledger._db.execute("PRAGMA page_count").fetchone()[0])
        t.run(lambda e: e.ledger._db.execute(f"PRAGMA max_page_count = {pages}"))
        failed, applied = [], []
        for g in range(12):
            rids = [f"full-{g}-{k}" for k in range(6)]
            futs = _group(t, [_dep(sim, "A", 1, rid) for rid in rids])
            for rid, f in zip(rids, futs):
                exc = f.exception()
                if exc is None:
                    applied.append((rid, f.result()))
                else:
                    assert _status(exc) == S.RESOURCE_EXHAUSTED
                    failed.append(rid)
            if failed:
                break
        assert failed, "the database never filled up"
        assert t.run(lambda e: [e.recorded("A", rid) for rid, _ in applied]) == [res for _, res in applied]
        assert t.run(lambda e: [e.recorded("A", rid) for rid in failed]) == [None] * len(failed)
        _replayed(sim, t)
        t.run(lambda e: e.ledger._db.execute("PRAGMA max_page_count = 1073741823"))  # space freed
        seq = t.run(lambda e: e.state.seq)
        futs = _group(t, [_dep(sim, "A", 1, rid) for rid in failed])
        assert [f.result()["seq"] for f in futs] == list(range(seq + 1, seq + 1 + len(failed)))
        _replayed(sim, t)
    finally:
        t.close()


def test_a_request_id_replays_within_its_group(sim):
    t = _thread(sim)
    try:
        seq0 = t.run(lambda e: e.state.seq)
        futs = _group(t, [_dep(sim, "A", 4, "dup"), _dep(sim, "A", 4, "dup"), _dep(sim, "A", 5, "dup")])
        assert futs[0].result() == futs[1].result() == {"seq": seq0 + 1}
        assert isinstance(futs[2].exception(), AlreadyExists)
        assert t.run(lambda e: e.state.seq) == seq0 + 1
        assert t.run(_dep(sim, "A", 4, "dup")) == {"seq": seq0 + 1}
        _replayed(sim, t)
    finally:
        t.close()


_CHILD = textwrap.dedent("""
    import sys, threading
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from clearing.protocol.messages import deposit_message
    from clearing.node.engine import Engine
    from clearing.services.engine_thread import EngineThread
    from support.engine import basic_sim

    sim = basic_sim(Path({dir!r}), members=("A", "B"), seed=b"kill")
    sim.engine.close()
    t = EngineThread(lambda: Engine.open(sim.path, sim.node_sk))
    m, cycle = sim.members["A"], t.engine.state.cycle
    lock = threading.Lock()
    print("ready", flush=True)

    def client(c):
        for k in range(100000):
            rid = f"k-{{c}}-{{k}}"
            res = t.run(lambda e: e.deposit("A", 1, cycle, m.sign(deposit_message("A", 1, cycle, rid)), rid))
            with lock:
                print(rid, res["seq"], flush=True)

    for c in range(8):
        threading.Thread(target=client, args=(c,), daemon=True).start()
    threading.Event().wait()
""")


def test_sigkill_mid_group_loses_only_unanswered_calls(tmp_path):
    tests = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.Popen([sys.executable, "-c", _CHILD.format(tests=tests, dir=str(tmp_path))],
                            stdout=subprocess.PIPE, text=True)
    answered: dict[str, int] = {}
    try:
        assert proc.stdout.readline().strip() == "ready"
        start = time.monotonic()
        while time.monotonic() - start < 1.5 or len(answered) < 40:
            line = proc.stdout.readline()
            if not line:
                break
            rid, seq = line.split()
            answered[rid] = int(seq)
            if time.monotonic() - start > 20:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
    assert len(answered) >= 40
    led = Ledger(str(tmp_path / "ledger.db"))
    try:
        seq, head = led.verify_chain()
        _check_marker(led, seq)  # the ledger holds the marker's event, unchanged
        mseq, mhead = read_marker(led.path)
        assert mseq >= max(answered.values()) and seq >= mseq
        assert led.events_with_hashes(mseq - 1, 1)[0][2].hex() == mhead
        for rid, s in answered.items():  # every answered call is in the ledger, at its seq
            found = led.lookup_request("A", rid)
            assert found is not None and found[1] == s
    finally:
        led.close()
