"""Restart: drop the engine object between any two events, reopen the
database, and get the identical state, state hash and cycle digests; request
ids survive the restart; a replay with full verification agrees."""
from __future__ import annotations

import pytest

from clearing.node.audit import audit
from clearing.node.engine import Engine
from clearing.protocol import signing
from clearing.protocol.errors import PermissionDenied
from clearing.protocol.messages import deposit_message
from support.engine import MATRIX, basic_sim


def _fingerprint(engine):
    return (engine.state.seq, engine.head, engine.state_digest(),
            {m: engine.account(m) for m in engine.state.members}, list(engine.state.digests))


def test_reopen_between_every_event(tmp_path):
    sim = basic_sim(tmp_path, members=("A", "B"), seed=b"restart")
    steps = [
        lambda: sim.trade("t1", "A", "B", "ESX", 7, 500025),
        lambda: sim.trade("t2", "B", "A", "RTX", 3, 200000, side="sell"),
        lambda: sim.settle([501000, 199000], MATRIX),
        lambda: sim.margin(),
        lambda: sim.close(),
        lambda: sim.deposit("B", 1000),
        lambda: sim.withdraw("A", 999),
    ]
    seen = set()
    for step in steps:
        step()
        before = _fingerprint(sim.engine)
        sim.reopen()
        assert _fingerprint(sim.engine) == before
        seen.add(before[0])
        # the prover follows the reopened engine with no divergence
        sim.sync()
        for m, acct in sim.accounts().items():
            sim.witness.check(m, acct)
    assert len(seen) == len(steps)

    # a request repeated after the restart returns the original result
    m = sim.members["B"]
    rid = "dep-after-restart"
    sig = m.sign(deposit_message("B", 42, sim.cycle, rid))
    first = sim.engine.deposit("B", 42, sim.cycle, sig, rid)
    sim.reopen()
    again = sim.engine.deposit("B", 42, sim.cycle, sig, rid)
    assert again == first
    assert sim.engine.state.seq == first["seq"]

    # full re-verification on open agrees with the fast replay and the auditor
    fp = _fingerprint(sim.engine)
    sim.engine.close()
    full = Engine.open(sim.path, sim.node_sk, verify_proofs=True)
    assert _fingerprint(full) == fp
    rep = audit(full.events())
    assert rep.head == full.head.hex() and rep.digests == full.state.digests
    full.close()

    # another node key cannot open this ledger
    with pytest.raises(PermissionDenied):
        Engine.open(sim.path, signing.generate_identity_key())
