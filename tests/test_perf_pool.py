"""Parallel margin proving (prover/pool.py), the cycle's batch verification
with its fallback naming the culprit, and the ``bench cycle`` JSON shape.

Timings are never asserted: only that the parallel path proves the same
public decisions as the serial one and that bad proofs are named exactly."""
from __future__ import annotations

import json

import pytest

from bench.cycle import CycleSim
from clearing import cli
from prover.pool import ProverPool, decode_job, encode_job, prove_job, shared_pool
from verifier.rangeproof import BatchVerificationError
from verifier.statements import verify, verify_many
from zkp.group import use_backend
from zkp.statements import StatementProof


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """Five members, two instruments; M001 is thinly capitalised so that a
    stress scenario sinks it (an IM call), the others pass."""
    s = CycleSim(str(tmp_path_factory.mktemp("cycle") / "ledger.db"), 2, workers=2, seed=11)
    s.populate(5, cash={"M001": 10**5})
    s.settle(4)
    yield s
    s.close()


def _decisions(sim, workers):
    sim.witness.workers = workers
    entries, sig = sim.witness.margin_batch(sim.cycle, sim.accounts())
    return entries, sig, sim.engine.margin_results(sim.cycle, entries)


def test_parallel_proofs_verify_and_match_serial_decisions(sim):
    e1, _, r1 = _decisions(sim, 1)
    e2, sig2, r2 = _decisions(sim, 2)
    assert r1 == r2
    assert r1["M001"] in ("call", "payment") and r1["M000"] == "pass"
    assert [(e["member"], e["solvency_only"], e["ctx_seq"]) for e in e1] == \
        [(e["member"], e["solvency_only"], e["ctx_seq"]) for e in e2]
    # fresh randomness in every proving run: same decisions, different proofs
    assert all(a["proof"] != b["proof"] for a, b in zip(e1, e2))
    res = sim.engine.submit_margin_batch(sim.cycle, e2, sig2, sim.rid("margin"))
    assert res["results"] == r2


def test_one_bad_proof_in_a_cycle_is_named(tmp_path):
    s = CycleSim(str(tmp_path / "ledger.db"), 2, workers=2, seed=5)
    try:
        s.populate(8)
        s.settle(4)
        entries, _ = s.witness.margin_batch(s.cycle, s.accounts())
        assert len(entries) == 8
        good = s.engine.margin_results(s.cycle, entries)
        assert set(good.values()) == {"pass"}
        # M005 submits M002's (valid, but other-member) proof: only M005 fails
        bad = [dict(e) for e in entries]
        bad[5]["proof"] = entries[2]["proof"]
        res = s.engine.margin_results(s.cycle, bad)
        assert res == dict(good, M005="payment")
        # a flipped byte inside a proof: named as well, nobody else affected
        bad = [dict(e) for e in entries]
        pb = bytearray.fromhex(bad[3]["proof"])
        pb[-5] ^= 1
        bad[3]["proof"] = pb.hex()
        assert s.engine.margin_results(s.cycle, bad) == dict(good, M003="payment")
    finally:
        s.close()


def _jobs(sim, solvency_only=False):
    from clearing.protocol.statements import margin_statement
    w = sim.witness
    jobs = []
    for mid in sorted(w.state.members)[:3]:
        a = w.state.members[mid]
        cash, pos = w._commitments(a)
        st = margin_statement(sim.cycle, a.version, mid, cash, pos, w.state.scenario_set, solvency_only)
        jobs.append((st, [a.cash, *a.pos]))
    return jobs


def test_job_encoding_round_trips(sim):
    st, ops = _jobs(sim)[0]
    st2, ops2 = decode_job(encode_job(st, ops))
    assert st2 == st and ops2 == ops


def test_pool_batch_verifies_as_one_batch_and_names_culprits(sim):
    jobs = _jobs(sim, solvency_only=True)
    outs = shared_pool(2).prove_margins(jobs)
    items = [(st, StatementProof.from_bytes(pb, st)) for st, pb in outs]
    verify_many(items)
    swapped = [items[0], (items[1][0], items[2][1]), items[2]]
    with pytest.raises(BatchVerificationError) as exc:
        verify_many(swapped)
    assert exc.value.failed == [1]


def test_pool_on_the_pure_backend(sim):
    """The workers use the parent's backend; the pure one stays covered."""
    with use_backend("gmpy2") as b:
        jobs = [(st, ops) for st, ops in _jobs(sim, solvency_only=True)[:2]]
        from zkp.group import Point

        jobs = [(type(st)(st.context, st.cash.to_backend(b), tuple(Point.to_backend(p, b) for p in st.positions),
                          st.matrix, st.scenario_set_id, True), ops) for st, ops in jobs]
        pool = ProverPool(2)
        try:
            outs = pool.prove_margins(jobs)
        finally:
            pool.close()
        for st, pb in outs:
            assert st.cash.b is b
            verify(st, StatementProof.from_bytes(pb, st))


def test_insolvent_job_gives_none(sim):
    from zkp.pedersen import Opening

    st, ops = _jobs(sim, solvency_only=True)[0]
    # openings that do not open the commitments: refused like a false statement, no proof
    assert prove_job(encode_job(st, [Opening(1, 1)] * len(ops))) is None


def test_bench_cycle_json_shape(tmp_path, capsys):
    out = tmp_path / "cycle.json"
    assert cli.main(["bench", "cycle", "--members", "2", "--instruments", "1", "--scenarios", "2",
                     "--workers", "1", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert isinstance(rep["backend"], str)
    assert (rep["members"], rep["instruments"], rep["scenarios"], rep["workers"]) == (2, 1, 2, 1)
    assert set(rep["phases_s"]) == {"vm_update", "prove", "verify", "close"}
    assert all(isinstance(v, float) and v >= 0 for v in rep["phases_s"].values())
    assert rep["total_s"] == pytest.approx(sum(rep["phases_s"].values()), abs=1e-3)
    assert rep["ok"] is True
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ok"] is True


@pytest.mark.parametrize("backend", ["gmpy2"])
def test_whole_cycle_on_a_pure_backend(backend):
    """The cycle end to end (engine + prover pool) on a pure backend, even
    when mcl is installed and would be the default."""
    from bench.cycle import run_cycles
    from zkp.group import available_backends

    if backend not in available_backends():
        pytest.skip(f"{backend} not available")
    (rep,) = run_cycles(3, 1, [2], workers=2, backend=backend)
    assert rep["backend"] == backend and rep["ok"] is True


def test_a_dead_worker_does_not_break_margin_proving(sim):
    """A worker killed (SIGKILL, out of memory) broke the executor for good:
    every later batch failed until the prover restarted.  The pool now drops
    the broken executor and proves the batch on a fresh one."""
    import os
    import signal
    import time

    pool = ProverPool(2)
    try:
        jobs = _jobs(sim)
        first = pool.prove_margins(jobs)
        victim = next(iter(pool._executor._processes))
        os.kill(victim, signal.SIGKILL)
        time.sleep(0.3)
        again = pool.prove_margins(jobs)
        assert [o is None for o in again] == [o is None for o in first]
        for (st, _), out in zip(jobs, again):
            if out is not None:
                verify(out[0], StatementProof.from_bytes(out[1], out[0]))
    finally:
        pool.close()

