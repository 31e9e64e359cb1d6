"""Negative cases: every rejected request raises the right engine error and
changes nothing (same sequence number, same state hash)."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pytest

from clearing.node.audit import audit
from clearing.node.engine import Engine
from clearing.protocol import signing
from clearing.protocol.contracts import DefaultOpening
from clearing.protocol.encoding import GENESIS_HASH, canonical, chain_hash
from clearing.protocol.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    LedgerCorrupted,
    NotFound,
    PermissionDenied,
)
from clearing.protocol.fields import PROVER
from clearing.protocol.messages import (
    affirmation_message,
    closeout_message,
    default_message,
    deposit_message,
    margin_batch_message,
    margin_proof_message,
    receipt_message,
    trade_message,
    trade_tuple,
    withdrawal_message,
)
from clearing.protocol.relay import seal_opening
from clearing.protocol.statements import margin_statement, trade_statement
from prover.custody.witness import Divergence, Refused
from prover.statements import prove
from support.engine import INSTRUMENTS, MATRIX, basic_sim
from zkp.errors import ProvingError
from zkp.field import random_scalar
from zkp.generators import generators
from zkp.pedersen import Opening
from zkp.statements import Context, Margin

P0 = [i["price0"] for i in INSTRUMENTS]


class Unchanged:
    """Context manager: the engine's sequence number and state hash do not move."""

    def __init__(self, sim):
        self.sim = sim

    def __enter__(self):
        self.before = (self.sim.engine.state.seq, self.sim.engine.state_digest())

    def __exit__(self, *exc):
        assert (self.sim.engine.state.seq, self.sim.engine.state_digest()) == self.before
        return False


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return basic_sim(tmp_path_factory.mktemp("neg"), members=("A", "B", "C"), seed=b"negative")


def test_affirmation_by_non_counterparty_is_denied(sim):
    trade, proof, sig, sc, sp, _ = sim.make_trade("n-aff", "A", "B", "ESX", 2, 500000)
    sim.engine.submit_trade(trade, proof, sig, sc, sp, "n-aff-sub")
    sim.sync()
    with Unchanged(sim), pytest.raises(PermissionDenied):
        sim.engine.affirm("n-aff", "C", sim.members["C"].sign(affirmation_message(trade, "C")), "n-aff-c")
    with Unchanged(sim), pytest.raises(PermissionDenied):  # the initiator cannot affirm its own trade
        sim.engine.affirm("n-aff", "A", sim.members["A"].sign(affirmation_message(trade, "A")), "n-aff-a")
    with Unchanged(sim), pytest.raises(InvalidArgument):  # right member, someone else's signature
        sim.engine.affirm("n-aff", "B", sim.members["C"].sign(affirmation_message(trade, "B")), "n-aff-b")
    with Unchanged(sim), pytest.raises(InvalidArgument):  # a receipt not signed by the prover
        sim.engine.receipt("n-aff", sim.members["A"].sign(receipt_message(trade)), "n-aff-r")


def test_forged_relay_opening_is_refused_and_never_novated(sim):
    gens = generators()
    rho = random_scalar(sim.rng)
    T = gens.commit(5, rho)
    trade = {"trade_id": "n-forge", "cycle": sim.cycle, "buyer": "A", "seller": "B", "instrument": "ESX",
             "side": "buy", "price": 500000, "T": T.encode().hex()}
    tup = trade_tuple(trade)
    st = trade_statement(sim.cycle, sim.engine.state.cycle_seq, "A", T, tup)
    proof = prove(st, [Opening(5, rho)], rng=sim.rng).to_bytes()
    # the initiator relays an opening of 50, not of the committed 5
    sc = seal_opening(sim.members["B"].rpk, 50, rho, tup)
    sp = seal_opening(sim.witness.relay_public, 50, rho, tup)
    sim.engine.submit_trade(trade, proof, sim.members["A"].sign(trade_message(trade)), sc, sp, "n-forge")
    sim.sync()
    with pytest.raises(ValueError):
        sim.counterparty_check("B", "n-forge")
    with pytest.raises(Refused):
        sim.witness.receive_opening("n-forge", sim.engine.relayed("n-forge", PROVER))
    # a ciphertext flipped in transit, or the counterparty's copy, is refused too
    bad = bytearray(sim.engine.relayed("n-forge", PROVER))
    bad[-1] ^= 1
    with pytest.raises(Refused):
        sim.witness.receive_opening("n-forge", bytes(bad))
    with pytest.raises(Refused):
        sim.witness.receive_opening("n-forge", sc)
    assert sim.engine.trade("n-forge")["status"] == "pending"
    assert sim.witness.log[-1][3].startswith("refused")


def test_bad_trades_rejected(sim):
    trade, proof, sig, sc, sp, _ = sim.make_trade("n-bad", "A", "B", "ESX", 1, 500000)
    with Unchanged(sim), pytest.raises(InvalidArgument):  # signature by the counterparty
        sim.engine.submit_trade(trade, proof, sim.members["B"].sign(trade_message(trade)), sc, sp, "n-bad-1")
    other = dict(trade, price=500025)
    with Unchanged(sim), pytest.raises(InvalidArgument):  # proof bound to another tuple
        sim.engine.submit_trade(other, proof, sim.members["A"].sign(trade_message(other)), sc, sp, "n-bad-2")
    wrong = dict(trade, cycle=sim.cycle + 1)
    with Unchanged(sim), pytest.raises(FailedPrecondition):  # wrong cycle
        sim.engine.submit_trade(wrong, proof, sim.members["A"].sign(trade_message(wrong)), sc, sp, "n-bad-3")
    tick = dict(trade, price=500001)
    with Unchanged(sim), pytest.raises(InvalidArgument):
        sim.engine.submit_trade(tick, proof, sim.members["A"].sign(trade_message(tick)), sc, sp, "n-bad-4")
    with Unchanged(sim), pytest.raises(NotFound):
        sim.engine.submit_trade(dict(trade, instrument="XXX"), proof, sig, sc, sp, "n-bad-5")
    # a quantity of zero cannot be proven (T - G must be in [0, 2^32))
    rho = random_scalar(sim.rng)
    T0 = generators().commit(0, rho)
    zero = dict(trade, trade_id="n-zero", T=T0.encode().hex())
    st = trade_statement(sim.cycle, sim.engine.state.cycle_seq, "A", T0, trade_tuple(zero))
    with pytest.raises(ProvingError, match="statement is false"):
        prove(st, [Opening(0, rho)])
    sim.engine.submit_trade(trade, proof, sig, sc, sp, "n-bad-ok")
    dup_id = dict(trade, T=T0.encode().hex())
    with Unchanged(sim), pytest.raises(AlreadyExists):
        sim.engine.submit_trade(dup_id, proof, sim.members["A"].sign(trade_message(dup_id)), sc, sp, "n-bad-6")
    dup_T = dict(trade, trade_id="n-bad-T")
    with Unchanged(sim), pytest.raises(AlreadyExists):
        sim.engine.submit_trade(dup_T, proof, sim.members["A"].sign(trade_message(dup_T)), sc, sp, "n-bad-7")
    sim.sync()


def test_duplicate_request_id_applies_once(sim):
    m = sim.members["A"]
    cyc = sim.cycle
    sig = m.sign(deposit_message("A", 777, cyc, "dup-1"))
    before = sim.engine.state.flows["deposits"]
    r1 = sim.engine.deposit("A", 777, cyc, sig, "dup-1")
    with Unchanged(sim):
        r2 = sim.engine.deposit("A", 777, cyc, sig, "dup-1")
    assert r1 == r2
    assert sim.engine.state.flows["deposits"] == before + 777
    sig2 = m.sign(deposit_message("A", 778, cyc, "dup-1"))
    with Unchanged(sim), pytest.raises(AlreadyExists):
        sim.engine.deposit("A", 778, cyc, sig2, "dup-1")
    # the same request id of another actor is a different request
    sigb = sim.members["B"].sign(deposit_message("B", 5, cyc, "dup-1"))
    sim.engine.deposit("B", 5, cyc, sigb, "dup-1")
    # a replayed signature under a new request id does not verify
    with Unchanged(sim), pytest.raises(InvalidArgument):
        sim.engine.deposit("A", 777, cyc, sig, "dup-2")
    sim.sync()


def test_margin_proof_for_wrong_cycle(sim):
    sim.settle(P0, MATRIX)
    a = sim.witness.state.members["A"]
    cash, pos = sim.witness._commitments(a)
    acct = sim.engine.account("A")
    good = margin_statement(sim.cycle, acct["version"], "A", cash, pos, sim.engine.state.scenario_set)
    wrong = Margin(Context(sim.cycle + 1, acct["version"], b"A"), good.cash, good.positions, good.matrix,
                   good.scenario_set_id)
    proof = prove(wrong, [a.cash, *a.pos], rng=sim.rng).to_bytes()
    entries, _ = sim.witness.margin_batch(sim.cycle, sim.accounts())
    entries = [dict(e, proof=proof.hex()) if e["member"] == "A" else e for e in entries]
    sig = signing.sign(sim.prover_sk, *margin_batch_message(sim.cycle, entries))
    with Unchanged(sim), pytest.raises(InvalidArgument):  # signed by someone else
        sim.engine.submit_margin_batch(sim.cycle, entries, sim.members["A"].sign(
            margin_batch_message(sim.cycle, entries)), "mb-bad")
    with Unchanged(sim), pytest.raises(FailedPrecondition):
        sim.engine.submit_margin_batch(sim.cycle + 1, entries, sig, "mb-wrong-cycle")
    res = sim.engine.submit_margin_batch(sim.cycle, entries, sig, "mb-1")["results"]
    # the batch names exactly the culprit
    assert res == {"A": "payment", "B": "pass", "C": "pass"}
    sim.sync()
    # a cure proof for the wrong cycle is rejected, the right one accepted
    kw = sim.witness.cure_proof("A", sim.engine.account("A"))
    bad = replace(kw, proof=proof, sig=signing.sign(sim.prover_sk, *margin_proof_message(
        kw.cycle, "A", False, kw.ctx_seq, proof)))
    with Unchanged(sim), pytest.raises(InvalidArgument):
        sim.engine.cure(bad, "cure-bad")
    with Unchanged(sim), pytest.raises(FailedPrecondition):
        sim.engine.cure(replace(kw, cycle=kw.cycle + 1), "cure-bad2")
    sim.engine.cure(kw, "cure-ok")
    assert sim.engine.account("A")["status"] == "active"
    sim.sync()


def test_prover_refuses_on_divergence_and_unrequired_work(sim):
    acct = dict(sim.engine.account("B"))
    acct["cash"] = sim.engine.account("A")["cash"]
    with pytest.raises(Divergence):
        sim.witness.check("B", acct)
    with pytest.raises(Refused):  # margin batch already submitted this cycle
        sim.witness.margin_batch(sim.cycle, sim.accounts())
    with pytest.raises(Refused):  # B is not called
        sim.witness.cure_proof("B", sim.engine.account("B"))
    with pytest.raises(Refused):  # withdrawal not signed by the member
        sim.witness.prove_withdrawal("B", 10, sim.cycle, "w-1", b"\0" * 64, sim.engine.account("B"))


def test_withdrawal_checks(sim):
    m = sim.members["C"]
    cyc = sim.cycle
    sig = m.sign(withdrawal_message("C", 100, cyc, "wd-1"))
    ctx, proof = sim.witness.prove_withdrawal("C", 100, cyc, "wd-1", sig, sim.engine.account("C"))
    with Unchanged(sim), pytest.raises(InvalidArgument):  # proof for another amount
        sim.engine.withdraw("C", 101, cyc, ctx, proof, m.sign(withdrawal_message("C", 101, cyc, "wd-1")), "wd-1")
    with Unchanged(sim), pytest.raises(FailedPrecondition):  # stale account version
        sim.engine.withdraw("C", 100, cyc, ctx - 1, proof, sig, "wd-1")
    sim.engine.withdraw("C", 100, cyc, ctx, proof, sig, "wd-1")
    sim.sync()
    # more than the excess cannot be proven
    huge = 2 * 10**9
    sig = m.sign(withdrawal_message("C", huge, cyc, "wd-2"))
    with pytest.raises(ProvingError, match="statement is false"):  # not Refused: the proof itself fails
        sim.witness.prove_withdrawal("C", huge, cyc, "wd-2", sig, sim.engine.account("C"))
    sim.engine.check_invariants()


def test_default_declaration_needs_operator_and_a_call(sim):
    with Unchanged(sim), pytest.raises(FailedPrecondition):  # B is not called
        sim.declare_default("B")
    with Unchanged(sim), pytest.raises(InvalidArgument):
        sim.engine.declare_default(sim.cycle, "B", sim.members["A"].sign(default_message(sim.cycle, "B")), "d-x")


def _tamper(path, sql, args=()):
    db = sqlite3.connect(path)
    db.execute(sql, args)
    db.commit()
    db.close()


def test_tampered_event_log_detected_at_replay(tmp_path):
    sim = basic_sim(tmp_path, members=("A", "B"), seed=b"tamper")
    sim.trade("t1", "A", "B", "ESX", 4, 500000)
    sim.engine.close()
    path = sim.path
    Engine.open(path, sim.node_sk).close()  # untouched: opens fine

    db = sqlite3.connect(path)
    rows = db.execute("SELECT seq, body, hash FROM events ORDER BY seq").fetchall()
    derived = db.execute("SELECT key, value FROM derived").fetchall()
    db.close()
    dep = next(r for r in rows if '"kind":"deposit"' in r[1])

    # 1. an edited event (deposit amount) breaks the hash chain
    edited = dep[1].replace('"amount":', '"amount":1')
    _tamper(path, "UPDATE events SET body = ? WHERE seq = ?", (edited, dep[0]))
    with pytest.raises(LedgerCorrupted, match="hash chain"):
        Engine.open(path, sim.node_sk)
    _tamper(path, "UPDATE events SET body = ? WHERE seq = ?", (dep[1], dep[0]))
    Engine.open(path, sim.node_sk).close()

    # 2. a deleted event leaves a gap
    last = rows[-1]
    _tamper(path, "DELETE FROM events WHERE seq = ?", (last[0],))
    with pytest.raises(LedgerCorrupted):
        Engine.open(path, sim.node_sk)
    _tamper(path, "INSERT INTO events (seq, body, hash) VALUES (?, ?, ?)", last)

    # 3. an edited derived row differs from the replay
    key, value = next(kv for kv in derived if kv[0] == "member/A")
    _tamper(path, "UPDATE derived SET value = ? WHERE key = ?", (value.replace('"funded":true', '"funded":false'), key))
    with pytest.raises(LedgerCorrupted, match="derived"):
        Engine.open(path, sim.node_sk)
    _tamper(path, "UPDATE derived SET value = ? WHERE key = ?", (value, key))
    Engine.open(path, sim.node_sk).close()

    # 4. an attacker who rewrites the event *and* the whole chain and head is
    #    caught by the replay (derived state) and, with proofs, by the auditor
    body = canonical(dict(json.loads(dep[1]), amount=1)).decode()
    _tamper(path, "UPDATE events SET body = ? WHERE seq = ?", (body, dep[0]))
    db = sqlite3.connect(path)
    h = GENESIS_HASH
    for seq, b in db.execute("SELECT seq, body FROM events ORDER BY seq").fetchall():
        h = chain_hash(h, seq, json.loads(b))
        db.execute("UPDATE events SET hash = ? WHERE seq = ?", (h, seq))
    db.execute("UPDATE meta SET value = ? WHERE key = 'hash'", (h,))
    db.commit()
    events = [(s, json.loads(b)) for s, b in db.execute("SELECT seq, body FROM events ORDER BY seq")]
    db.close()
    with pytest.raises(LedgerCorrupted, match="derived"):
        Engine.open(path, sim.node_sk)
    with pytest.raises(LedgerCorrupted, match="does not verify"):
        audit(events)



def test_prover_refuses_default_steps_without_declaration(sim):
    with pytest.raises(Refused):
        sim.witness.default_open(sim.cycle, sim.accounts())
    with pytest.raises(Refused):
        sim.witness.default_shares("default-fund")
    with Unchanged(sim), pytest.raises(FailedPrecondition):  # no declared default
        sim.engine.dm_open(DefaultOpening(sim.cycle, (), ("A", "B", "C"), 0, b"", {}, b"\0" * 64), "dm-x")
    with Unchanged(sim), pytest.raises(FailedPrecondition):
        sim.engine.dm_closeout(sim.cycle, 0, P0, [], sim.op(closeout_message(sim.cycle, 0, P0, [])), "dm-y")


def test_auditor_rejects_forged_decisions_and_digests(tmp_path):
    """The auditor replays the public ledger: a margin decision, a close
    digest or a signature changed after the fact is caught."""
    sim = basic_sim(tmp_path, members=("A", "B"), seed=b"audit")
    sim.settle(P0, MATRIX)
    sim.margin()
    sim.close()
    events = sim.engine.events()
    node_pk = signing.public_key_bytes(sim.node_sk)
    assert audit(events, operator_key=sim.op_pk, node_key=node_pk).head == sim.engine.head.hex()
    with pytest.raises(LedgerCorrupted, match="trusted operator"):
        audit(events, operator_key=sim.members["A"].pk)
    with pytest.raises(LedgerCorrupted, match="trusted node"):
        audit(events, node_key=sim.op_pk)
    k = next(i for i, (_, b) in enumerate(events) if b["kind"] == "margin-batch")
    forged = [(s, dict(b)) for s, b in events]
    forged[k][1]["results"] = dict(forged[k][1]["results"], B="call")
    with pytest.raises(LedgerCorrupted, match="margin results"):
        audit(forged)
    forged = [(s, dict(b)) for s, b in events]
    d = next(i for i, (_, b) in enumerate(forged) if b["kind"] == "deposit")
    forged[d][1]["amount"] += 1  # the member's signature no longer matches
    with pytest.raises(LedgerCorrupted, match="signature"):
        audit(forged)
    forged = [(s, dict(b)) for s, b in events]
    forged[-1][1]["digest"] = "00" * 32
    with pytest.raises(LedgerCorrupted, match="digest"):
        audit(forged)
    with pytest.raises(LedgerCorrupted, match="missing"):
        audit(events[:3] + events[4:])
