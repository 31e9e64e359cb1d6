"""Blinding hygiene (DESIGN §5.2): the prover service refuses a trade whose
blinding rho it has seen before (T1 - T2 = (q1 - q2) G would give the node the
difference of two hidden sizes), also after a restart; rho = 0 stays refused."""
from __future__ import annotations

import pytest

import support.engine as S
from clearing.protocol.fields import PROVER
from prover.custody.witness import Refused, WitnessStore
from support.engine import basic_sim


def _fixed_rho(monkeypatch, rho: int) -> None:
    monkeypatch.setattr(S, "random_scalar", lambda rng=None: rho)


def _submit(sim, tid, qty):
    trade, proof, sig, sc, sp, _ = sim.make_trade(tid, "A", "B", "ESX", qty, 500000)
    sim.engine.submit_trade(trade, proof, sig, sc, sp, sim.rid("trade"))
    sim.sync()
    return sim.engine.relayed(tid, PROVER)


def test_prover_refuses_a_reused_blinding_also_after_restart(tmp_path, monkeypatch):
    sim = basic_sim(tmp_path, seed=b"rho-reuse")
    _fixed_rho(monkeypatch, 123456789123456789)
    sim.witness.receive_opening("t1", _submit(sim, "t1", 500))
    sealed = _submit(sim, "t2", 150)  # same rho, another size: T differs, T1 - T2 = 350 G
    with pytest.raises(Refused, match="blinding"):
        sim.witness.receive_opening("t2", sealed)
    assert sim.witness.log[-1][3] == "refused: blinding seen before"
    # a restarted prover reloads its sealed openings and still refuses
    again = WitnessStore(sim.prover_sk, sim.prover_relay, sim.op_pk)
    again.adopt_openings(dict(sim.witness._known))
    again.follow(sim.engine.events())
    with pytest.raises(Refused, match="blinding"):
        again.receive_opening("t2", sealed)


def test_a_blinding_of_zero_cannot_even_be_sealed(tmp_path, monkeypatch):
    from clearing.protocol.relay import OpeningError
    sim = basic_sim(tmp_path, seed=b"rho-zero")
    _fixed_rho(monkeypatch, 0)
    with pytest.raises(OpeningError):
        sim.make_trade("t0", "A", "B", "ESX", 7, 500000)


def test_a_fresh_blinding_is_accepted(tmp_path):
    sim = basic_sim(tmp_path, seed=b"rho-fresh")
    sim.witness.receive_opening("t1", _submit(sim, "t1", 500))
    sim.witness.receive_opening("t2", _submit(sim, "t2", 150))
