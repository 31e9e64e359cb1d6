"""The node's incremental bookkeeping (issue 16) gives exactly what the
from-scratch definitions give.

* Replaying the three real ledgers (both variants of the built-in ccp-demo
  scenario, and the ledger with the event kinds they lack) event by event
  through a fresh engine's commit path: after every event the kept rows
  equal ``snapshot(state)``, the kept state hash equals ``state_hash(state)``
  (the definition cycle digests sign), the ledger's stored derived rows equal
  the snapshot, and the pending-trade index equals a scan of all trades; the
  replayed ledger's derived table and head equal the original's; reopening
  gives the same digest, rows and index.
* A failed append or a fold failing halfway leaves the state exactly as it
  was (the undo journal): snapshot, hash, accounts (the same objects),
  trades, seen commitments; the request then succeeds.
* ``pending_for`` and the expiry set equal a full scan after every step of a
  random sequence of submissions, affirmations, receipts and cycle closes,
  and after a reopen.
"""
from __future__ import annotations

import random
import sqlite3

import pytest

from clearing.fold import apply as fold_apply
from clearing.fold.snapshot import snapshot, state_hash
from clearing.node.engine import Engine
from clearing.node.ledger import GENESIS_HASH, Ledger
from clearing.protocol.encoding import canonical
from clearing.protocol.events import parse
from clearing.protocol.fields import PROVER, sha256
from clearing.protocol.messages import affirmation_message
from support import privacy as P
from support.engine import MATRIX, basic_sim


def _scan_pending_for(eng: Engine, member: str) -> list[tuple[dict, bytes]]:
    """``pending_for`` as a scan of every trade (its definition)."""
    out = []
    for tid, t in sorted(eng.state.trades.items()):
        counterparty = t["seller"] if t["side"] == "buy" else t["buyer"]
        if t["status"] != "pending" or counterparty != member or t.get("affirmed"):
            continue
        sealed = eng.ledger.relay_get(tid, member)
        if sealed is not None:
            out.append((dict(t), sealed))
    return out


def _check(eng: Engine) -> None:
    """The engine's kept rows, hash and pending index against a scratch computation."""
    full = snapshot(eng.state)
    rows, index = eng._caches()
    assert rows.rows == full
    assert rows.digest() == state_hash(eng.state) == sha256(canonical(full))
    assert eng.state_digest() == state_hash(eng.state).hex()
    assert eng.ledger.derived() == full
    assert index.pending == {tid for tid, t in eng.state.trades.items() if t["status"] == "pending"}
    for m in eng.state.members:
        assert eng.pending_for(m) == _scan_pending_for(eng, m)
    assert eng.state._journal is None


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tmp_path_factory.mktemp("incremental")


_SIZED: dict = {}


def _sim_of(name: str, base):
    if name == "sized":  # issue 14 §4: df-size and default-insolvency (one run per module)
        from support.df_sizing import sized_ledger_run
        if base not in _SIZED:
            _SIZED[base] = sized_ledger_run(base)
        return _SIZED[base]
    if name == "liquidation":  # issue 14 §2: liquidate (a remainder kept)
        from support.liquidation import liquidation_run
        if ("liq", base) not in _SIZED:
            _SIZED[("liq", base)] = liquidation_run(base)
        return _SIZED[("liq", base)]
    if name == "headroom":  # issue 14 §1: pretrade-refusal, intraday, intraday-batch (the headroom fields)
        from support.headroom import headroom_run
        if ("headroom", base) not in _SIZED:
            _SIZED[("headroom", base)] = headroom_run(base)
        return _SIZED[("headroom", base)]
    return P.extra_ops_run(base) if name == "extra" else P.builtin_run(name, base).sim


@pytest.mark.parametrize("name", ["normal", "harsh", "extra", "sized", "liquidation", "headroom"])
def test_replay_event_by_event_matches_the_scratch_definitions(name, base, tmp_path):
    sim = _sim_of(name, base)
    events = sim.engine.events()
    kinds = {body["kind"] for _, body in events}
    path = str(tmp_path / "replay.db")
    eng = Engine(Ledger(path), sim.node_sk)
    eng.head = GENESIS_HASH
    digests = []
    try:
        for seq, body in events:
            # the node's own commit path: verify, fold under the journal, the changed rows, append
            assert eng._commit(parse(body), None, None)["seq"] == seq
            _check(eng)
            if body["kind"] == "close":
                digests.append(body["digest"])
        assert eng.chain_head() == sim.engine.chain_head()
        assert eng.ledger.derived() == sim.engine.ledger.derived()
        assert eng.state_digest() == sim.engine.state_digest()
        assert eng.status()["digests"] == digests == sim.engine.status()["digests"]
        want = (eng.state_digest(), dict(eng._caches()[0].rows), set(eng._caches()[1].pending))
    finally:
        eng.close()
    again = Engine.open(path, sim.node_sk)
    try:
        assert (again.state_digest(), again._caches()[0].rows, again._caches()[1].pending) == want
        _check(again)
    finally:
        again.close()
    if name == "extra":  # together the ledgers hold every event kind of the fold
        assert kinds | {body["kind"] for _, body in P.builtin_run("harsh", base).sim.engine.events()} \
            | {body["kind"] for _, body in P.builtin_run("normal", base).sim.engine.events()} \
            | {body["kind"] for _, body in _sim_of("sized", base).engine.events()} \
            | {body["kind"] for _, body in _sim_of("liquidation", base).engine.events()} \
            | {body["kind"] for _, body in _sim_of("headroom", base).engine.events()} >= set(fold_apply.FOLDS)


def _state_view(eng: Engine) -> tuple:
    """What a rollback must give back: the snapshot, the hash, the account
    objects, the seen commitments, the cycle's VM and the head."""
    s = eng.state
    return (snapshot(s), state_hash(s), {m: id(a) for m, a in s.members.items()}, set(s.seen_T), dict(s.vm),
            eng.head, s.seq, eng.chain_head())


def test_a_failed_append_or_fold_leaves_the_state_as_it_was(tmp_path, monkeypatch):
    sim = basic_sim(tmp_path)
    eng = sim.engine
    trade, proof, sig, sc, sp, _ = sim.make_trade("t1", "A", "B", "ESX", 10, 500000)

    def disk_full(*args, **kw):
        raise sqlite3.OperationalError("database or disk is full")

    # a submission whose append fails: no trade, T not seen, the request id unused
    before = _state_view(eng)
    monkeypatch.setattr(eng.ledger, "append", disk_full)
    with pytest.raises(sqlite3.OperationalError):
        eng.submit_trade(trade, proof, sig, sc, sp, "sub-1")
    monkeypatch.undo()
    assert _state_view(eng) == before and "t1" not in eng.state.trades
    _check(eng)
    eng.submit_trade(trade, proof, sig, sc, sp, "sub-1")
    sim.sync()
    checked = sim.counterparty_check("B", "t1")
    eng.affirm("t1", "B", sim.members["B"].sign(affirmation_message(checked, "B")), "aff-1")
    sim.sync()
    rsig = sim.witness.receive_opening("t1", eng.relayed("t1", PROVER))
    before = _state_view(eng)
    accounts = {m: (a.cash, list(a.pos), a.version) for m, a in eng.state.members.items()}

    # the novating receipt: its append fails
    monkeypatch.setattr(eng.ledger, "append", disk_full)
    with pytest.raises(sqlite3.OperationalError):
        eng.receipt("t1", rsig, "rcpt-1")
    monkeypatch.undo()
    assert _state_view(eng) == before and eng.state.trades["t1"]["status"] == "pending"
    _check(eng)

    # the fold fails halfway, after it changed both accounts, the VM and the trade
    novate = fold_apply.FOLDS["receipt"]

    def half(state, seq, event, alg):
        novate(state, seq, event, alg)
        assert state.trades["t1"]["status"] == "novated"
        raise KeyError("a fold failing halfway")

    monkeypatch.setitem(fold_apply.FOLDS, "receipt", half)
    with pytest.raises(KeyError):
        eng.receipt("t1", rsig, "rcpt-1")
    monkeypatch.undo()
    assert _state_view(eng) == before and eng.state.trades["t1"]["status"] == "pending"
    for m, a in eng.state.members.items():  # the same objects, their values restored
        cash, pos, version = accounts[m]
        assert a.cash is cash and a.pos == pos and a.version == version
    _check(eng)

    assert eng.receipt("t1", rsig, "rcpt-1")["status"] == "novated"
    sim.sync()
    _check(eng)
    sim.reopen()
    _check(sim.engine)


def test_pending_index_equals_a_scan_over_random_capture_and_closes(tmp_path):
    rng = random.Random(16)
    sim = basic_sim(tmp_path, members=("A", "B", "C", "D"), seed=b"incremental-pending")
    ids = sorted(sim.members)
    n = 0
    for step in range(70):
        eng = sim.engine
        pending = sorted(tid for tid, t in eng.state.trades.items() if t["status"] == "pending")
        unaffirmed = [tid for tid in pending if not eng.state.trades[tid]["affirmed"]]
        unreceipted = [tid for tid in pending if not eng.state.trades[tid]["receipt"]]
        roll = rng.random()
        if roll < 0.4 or not pending:
            n += 1
            buyer, seller = rng.sample(ids, 2)
            side = rng.choice(["buy", "sell"])
            made = sim.make_trade(f"t{n:03d}", buyer, seller, rng.choice(["ESX", "RTX"]), rng.randint(1, 50),
                                  500000 if rng.random() < 0.5 else 200000, side)
            eng.submit_trade(*made[:5], sim.rid("trade"))
        elif roll < 0.65 and unaffirmed:
            tid = rng.choice(unaffirmed)
            t = eng.state.trades[tid]
            cp = t["seller"] if t["side"] == "buy" else t["buyer"]
            checked = sim.counterparty_check(cp, tid)
            eng.affirm(tid, cp, sim.members[cp].sign(affirmation_message(checked, cp)), sim.rid("aff"))
        elif roll < 0.9 and unreceipted:
            tid = rng.choice(unreceipted)
            eng.receipt(tid, sim.witness.receive_opening(tid, eng.relayed(tid, PROVER)), sim.rid("rcpt"))
        else:
            sim.sync()
            sim.settle([i["price0"] for i in sim.config["instruments"]], MATRIX)
            sim.margin()
            sim.close()  # every pending trade expires
            assert not eng._caches()[1].pending
        sim.sync()
        _check(eng)
    kinds = {t["status"] for t in sim.engine.state.trades.values()}
    assert kinds == {"pending", "novated", "expired"}, kinds
    want = {m: sim.engine.pending_for(m) for m in ids}
    assert any(want.values())
    sim.reopen()
    assert {m: sim.engine.pending_for(m) for m in ids} == want
    _check(sim.engine)
