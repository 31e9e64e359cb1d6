"""Margin proving on a Dask cluster (prover/distributed.py, issue 13 §3).

One TLS ``distributed.LocalCluster`` with two worker processes (certificates
of the prover's Dask CA, :func:`clearing.services.pki.dask_tls`) is shared by
the module.  A cycle proven through it has the local pool's public outcome;
a worker's wrong result (a tampered proof, another member's proof, a false
"insolvent") is caught by the prover's check and never signed; a killed
worker's jobs complete elsewhere; the deadline leaves members unproven (no
entry: the node's payment-default path, as for any member without a proof);
a member's zkclear certificate cannot join the cluster; the prover service
proves a cycle through ``dask: local:2`` of services.json.  Timings are
never asserted."""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

pytest.importorskip("distributed")

from bench.cycle import CycleSim
from clearing.services import config as services_config
from clearing.services.pki import PkiError, dask_tls, init_pki
from prover.distributed import (
    DaskConfigError,
    DaskProver,
    claim_ok,
    dask_prove_job,
    parse_address,
    tls_security,
    verify_results,
)
from prover.pool import decode_job, encode_job, shared_pool, solvency_statement
from support.engine import Sim
from support.services import CCP, INSTRUMENTS, MATRIX, Cluster, make_config
from zkp.group import get_backend

#: seed 12: M000/M002/M005 pass, M001 is called (solvency only), M003/M004
#: are insolvent after the settlement (payment default candidates)
SEED = 12
THIN = {"M001": 10**5, "M003": 1, "M004": 1}


@pytest.fixture(scope="module")
def dask_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("dask")


@pytest.fixture(scope="module")
def prover(dask_dir):
    tls = dask_tls(dask_dir)
    dp = DaskProver("local:2", tls_security(tls.ca_file, tls.cert_file, tls.key_file), deadline=120)
    dp.start()
    try:
        yield dp
    finally:
        dp.close()


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    s = CycleSim(str(tmp_path_factory.mktemp("cycle") / "ledger.db"), 2, workers=2, seed=SEED)
    s.populate(6, cash=THIN)
    s.settle(4)
    yield s
    s.close()


@pytest.fixture
def fresh(prover):
    """``prover`` with its knobs restored after the test."""
    saved = (prover.task, prover.task_chunk, prover.deadline, prover.attempts, prover.not_after, prover.chunks)
    yield prover
    (prover.task, prover.task_chunk, prover.deadline, prover.attempts, prover.not_after,
     prover.chunks) = saved


def _batch(sim, executor):
    sim.witness.executor = executor
    try:
        entries, sig = sim.witness.margin_batch(sim.cycle, sim.accounts())
    finally:
        sim.witness.executor = None
    return entries, sig


def _jobs(sim):
    from clearing.protocol.statements import margin_statement
    w = sim.witness
    out = []
    for mid in sorted(w.state.members):
        a = w.state.members[mid]
        cash, pos = w._commitments(a)
        out.append((margin_statement(sim.cycle, a.version, mid, cash, pos, w.state.scenario_set), [a.cash, *a.pos]))
    return out


def _public(entries):
    return [(e["member"], e["solvency_only"], e["ctx_seq"]) for e in entries]


# -- the outcome ------------------------------------------------------------------------

def test_dask_cycle_has_the_local_pools_public_outcome(sim, prover):
    e_local, _ = _batch(sim, shared_pool(2))
    e_dask, sig = _batch(sim, prover)
    r_local = sim.engine.margin_results(sim.cycle, e_local)
    assert sorted(set(r_local.values())) == ["call", "pass", "payment"]
    assert _public(e_dask) == _public(e_local)
    assert sim.engine.margin_results(sim.cycle, e_dask) == r_local
    assert prover.last_unproven == frozenset() and prover.last_stats.jobs == 6
    assert prover.last_stats.rejected == 0 and prover.last_stats.cpu_s > 0
    # signed by the prover over the cycle's entries, as a local batch
    from clearing.protocol import signing
    from clearing.protocol.messages import margin_batch_message
    signing.verify(sim.witness.public_key, *margin_batch_message(sim.cycle, e_dask), sig)


# -- the prover checks what a worker returns -----------------------------------------------

def test_wrong_worker_results_are_resubmitted_then_unproven(sim, fresh):
    """A worker that lies about two members every time: a flipped proof byte
    for M000, "insolvent" for the solvent M002.  Each is rejected and
    submitted again, up to ``attempts``; then the member is unproven (no
    entry), never a signed bad proof; the others are unaffected."""
    target_flip, target_none = b"M000", b"M002"

    def lying(payload, backend):
        out, cpu, pid = dask_prove_job(payload, backend)
        member = decode_job(payload)[0].context.member
        if member == target_flip and out is not None:
            pb = bytearray(out[1])
            pb[-3] ^= 1
            out = (out[0], bytes(pb))
        elif member == target_none:
            out = None
        return out, cpu, pid

    fresh.task, fresh.attempts = lying, 2
    entries, _ = _batch(sim, fresh)
    members = [e["member"] for e in entries]
    assert "M000" not in members and "M002" not in members
    assert {"M001", "M005"} <= set(members)
    assert fresh.last_stats.rejected == 4 and fresh.last_stats.resubmitted == 2
    ids = sorted(sim.witness.state.members)
    assert fresh.last_unproven == frozenset({ids.index("M000"), ids.index("M002")})
    assert ("margin", "M000", sim.cycle, "unproven: no proof by the deadline") in sim.witness.log
    res = sim.engine.margin_results(sim.cycle, entries)
    assert res["M000"] == res["M002"] == "payment" and res["M005"] == "pass"


def test_claims_and_proofs_are_checked_against_the_statement(sim):
    """The checks the prover applies to each worker result, one at a time."""
    jobs = _jobs(sim)
    ids = sorted(sim.witness.state.members)
    backend = get_backend().name
    j = dict(zip(ids, jobs))
    good = {m: dask_prove_job(encode_job(*j[m]), backend)[0] for m in ids}
    assert good["M003"] is None and good["M001"][0] is True and good["M000"][0] is False
    for m in ids:  # honest claims pass
        assert claim_ok(*j[m], good[m])
    # negative claims are checked against the openings
    assert not claim_ok(*j["M000"], None)  # "insolvent" for a solvent member
    assert not claim_ok(*j["M001"], None)  # called, but solvent
    assert not claim_ok(*j["M000"], (True, good["M001"][1]))  # "solvency only" for a passing member
    solv = solvency_statement(j["M003"][0])
    assert not claim_ok(solv, j["M003"][1], (False, good["M000"][1]))  # a full proof of a solvency-only job
    # proofs must verify on the member's own statement
    assert verify_results([(j[m][0], good[m][1]) for m in ("M000", "M005")]) == set()
    assert verify_results([(j["M000"][0], good["M005"][1]), (j["M005"][0], good["M005"][1])]) == {0}
    assert verify_results([(j["M000"][0], b"\x00garbage")]) == {0}
    assert verify_results([(j["M001"][0], good["M001"][1])]) == {0}  # a solvency proof as a full one


def test_es_statements_through_dask(sim, prover):
    """Expected-shortfall statements (aux commitments in the proof) go the
    same way: the outcomes of the in-process prover, proofs that verify."""
    import dataclasses

    from prover.statements import prove_margin_or_solvency
    from zkp.errors import ProvingError
    from zkp.margin import MarginModel
    jobs = [(dataclasses.replace(st, model=MarginModel("es", 2)), ops) for st, ops in _jobs(sim)]
    want = []
    for st, ops in jobs:
        try:
            want.append(prove_margin_or_solvency(st, ops)[0].solvency_only)
        except ProvingError:
            want.append(None)
    assert {True, False, None} <= set(want)
    got = prover.prove_margins(jobs)
    assert [None if g is None else g[0].solvency_only for g in got] == want
    assert prover.last_unproven == frozenset() and prover.last_stats.rejected == 0
    proved = [g for g in got if g is not None]
    assert all(len(st.aux) == (0 if st.solvency_only else 5) for st, _ in proved)
    assert verify_results([(dataclasses.replace(st, aux=()), pb) for st, pb in proved]) == set()


def test_chunk_jobs_for_few_large_members(sim, fresh):
    """ES statements of several range proofs, few members: one Dask job per
    range proof (the parent computes the witness), assembled and verified
    by the prover; a worker's bad chunk makes the member's chunks go again,
    then, with no attempts left, the member is unproven."""
    import dataclasses
    import random

    from prover.statements import prove_margin_or_solvency
    from zkp.errors import ProvingError
    from zkp.margin import MarginModel
    rnd = random.Random(5)
    matrix = [[rnd.randint(-2000, 2000) * 50, rnd.randint(-2000, 2000) * 20] for _ in range(33)]
    base = _jobs(sim)
    jobs = [(dataclasses.replace(st, matrix=matrix, model=MarginModel("es", 2)), ops)
            for st, ops in (base[0], base[1], base[3])]  # pass, call, insolvent
    want = []
    for st, ops in jobs:
        try:
            want.append(prove_margin_or_solvency(st, ops)[0].solvency_only)
        except ProvingError:
            want.append(None)
    assert want == [False, True, None]
    fresh.chunks = "always"
    got = fresh.prove_margins(jobs)
    assert [None if g is None else g[0].solvency_only for g in got] == want
    assert fresh.last_stats.submitted == 2 + 1 and fresh.last_unproven == frozenset()  # 68 values: 2 proofs
    assert verify_results([(dataclasses.replace(st, aux=()), pb) for st, pb in got[:2]]) == set()

    from prover.distributed import dask_prove_chunk

    def flip(payload, backend):
        pb, cpu, pid = dask_prove_chunk(payload, backend)
        return pb[:-2] + bytes([pb[-2] ^ 1]) + pb[-1:], cpu, pid

    fresh.task_chunk, fresh.attempts = flip, 2
    got = fresh.prove_margins(jobs[1:])
    assert got == [None, None]  # the called member unproven (rejected twice), the insolvent one decided
    assert fresh.last_unproven == frozenset({0}) and fresh.last_stats.rejected == 2


# -- failures: the deadline, a lost worker ----------------------------------------------

def test_deadline_leaves_members_unproven_and_the_cycle_ends(sim, fresh):
    """M000's job hangs (a worker stuck for longer than the deadline): the
    batch ends at the deadline, M000 gets no entry (the node's payment path),
    the others are proven, and the stuck job is cancelled."""

    def stuck(payload, backend):
        if decode_job(payload)[0].context.member == b"M000":
            time.sleep(6)
        return dask_prove_job(payload, backend)

    fresh.task, fresh.deadline = stuck, 3.0
    t0 = time.monotonic()
    entries, _ = _batch(sim, fresh)
    assert time.monotonic() - t0 < 6  # did not wait for the stuck job
    ids = sorted(sim.witness.state.members)
    unproven = {ids[k] for k in fresh.last_unproven}
    # M000 for sure; a job queued behind it on the stuck worker may share its fate
    assert "M000" in unproven and len(unproven) == fresh.last_stats.unproven < 6
    assert {e["member"] for e in entries} == {"M000", "M001", "M002", "M005"} - unproven
    for m in unproven:
        assert ("margin", m, sim.cycle, "unproven: no proof by the deadline") in sim.witness.log
    assert sim.engine.margin_results(sim.cycle, entries)["M000"] == "payment"
    # the caller's deadline (not_after) applies too: already passed -> nothing proven
    fresh.task, fresh.deadline, fresh.not_after = dask_prove_job, 60.0, time.monotonic()
    entries, _ = _batch(sim, fresh)
    assert entries == [] and fresh.last_unproven == frozenset(range(6))


def test_a_killed_workers_jobs_complete_elsewhere(sim, fresh):
    """SIGKILL a worker process while it runs jobs: the scheduler runs them
    again on a live worker; every member is proven and every proof verifies."""

    def slow(payload, backend):
        time.sleep(0.7)
        return dask_prove_job(payload, backend)

    fresh.task = slow
    pids = fresh.worker_pids()
    out: dict = {}
    t = threading.Thread(target=lambda: out.update(batch=_batch(sim, fresh)))
    t.start()
    victim = None
    deadline = time.monotonic() + 30
    while victim is None and time.monotonic() < deadline:
        busy = [a for a, keys in fresh.client.processing().items() if keys and a in pids]
        if busy:
            victim = pids[busy[0]]
            os.kill(victim, signal.SIGKILL)
        else:
            time.sleep(0.05)
    t.join(120)
    assert victim is not None and not t.is_alive()
    entries, _ = out["batch"]
    assert fresh.last_unproven == frozenset()
    assert len(entries) == 4  # M003/M004 insolvent, as before
    live = set(fresh.worker_pids().values())
    assert victim not in live and set(fresh.last_stats.workers) - {victim}
    res = sim.engine.margin_results(sim.cycle, entries)
    assert res["M000"] == "pass" and res["M001"] == "call"


# -- trust: TLS with the prover's own Dask CA ---------------------------------------------

def test_a_members_zkclear_certificate_cannot_join_the_cluster(tmp_path, prover, dask_dir):
    """Dask checks only the chain to its CA file; the cluster's CA is the
    prover's own, so a member's certificate (development CA) is refused even
    when it trusts the Dask CA."""
    from distributed import Client
    init_pki(tmp_path / "pki", ["A"])
    member = tmp_path / "pki" / "member" / "A"
    tls = dask_tls(dask_dir)
    bad = tls_security(tls.ca_file, member / "tls.crt", member / "tls.key")
    with pytest.raises((OSError, TimeoutError)):
        Client(prover.scheduler_address, security=bad, timeout=2, set_as_default=False)
    # control: the cluster certificate connects
    ok = Client(prover.scheduler_address, security=tls_security(tls.ca_file, tls.cert_file, tls.key_file),
                timeout=10, set_as_default=False)
    ok.close()


def test_addresses_and_tls_are_required():
    assert parse_address("local:2") == ("local", 2)
    assert parse_address("tls://10.0.0.5:8786") == ("tls", "tls://10.0.0.5:8786")
    for bad in ("tcp://127.0.0.1:8786", "local:0", "local:x", "tls://host", "tls://:1", "inproc://x", ""):
        with pytest.raises(DaskConfigError):
            parse_address(bad)
    with pytest.raises(DaskConfigError):
        DaskProver("local:2", None)
    from distributed.security import Security
    with pytest.raises(DaskConfigError):
        DaskProver("local:2", Security(require_encryption=False))


def test_dask_tls_files(tmp_path):
    t = dask_tls(tmp_path)
    assert t.ca_file.parent == tmp_path / "node" / "prover" / "dask"
    assert oct(t.key_file.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "node" / "prover" / "dask" / "ca.key").stat().st_mode & 0o777) == "0o600"
    assert dask_tls(tmp_path) == t and t.cert_file.read_bytes() == dask_tls(tmp_path).cert_file.read_bytes()
    w = dask_tls(tmp_path, "worker-1", hosts=("10.0.0.7", "gpu1.example"))
    assert w.ca_file == t.ca_file and w.cert_file != t.cert_file
    from cryptography import x509
    cert = x509.load_pem_x509_certificate(w.cert_file.read_bytes())
    ca = x509.load_pem_x509_certificate(t.ca_file.read_bytes())
    cert.verify_directly_issued_by(ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "gpu1.example" in san.get_values_for_type(x509.DNSName)
    for bad in ("ca", "../x", "", "a b"):
        with pytest.raises(PkiError):
            dask_tls(tmp_path, bad)


def test_services_config_and_cli_flags(tmp_path, capsys):
    d = tmp_path / "cfg"
    make_config(d, ("A", "B"))
    assert services_config.dask_address(d) is None and services_config.dask_deadline(d) is None
    _set_services(d, dask="tls://127.0.0.1:8786", dask_deadline=30)
    assert services_config.dask_address(d) == "tls://127.0.0.1:8786" and services_config.dask_deadline(d) == 30.0
    for key, value in (("dask", 5), ("dask", ""), ("dask_deadline", 0), ("dask_deadline", "30"),
                       ("dask_deadline", True)):
        _set_services(d, **{key: value})
        with pytest.raises(PkiError):
            (services_config.dask_address if key == "dask" else services_config.dask_deadline)(d)
    from clearing import cli
    assert cli.main(["serve", "clearing", "--config", str(d), "--dask", "local:2"]) != 0
    assert "apply to 'serve prover' only" in capsys.readouterr().err
    _set_services(d, dask=None, dask_deadline=None)
    # plain TCP is refused before the prover serves anything (openings travel only over TLS)
    assert cli.main(["serve", "prover", "--config", str(d), "--port", "0", "--dask", "tcp://127.0.0.1:1"]) != 0
    assert "Dask: the Dask address must be 'tls://HOST:PORT' or 'local:N'" in capsys.readouterr().err


def _set_services(d, **kw):
    path = d / services_config.SERVICES_FILE
    data = json.loads(path.read_text())
    data.update(kw)
    path.write_text(json.dumps(data))


# -- the prover service ----------------------------------------------------------------------

CASH = {"A": 10**9, "B": 2 * 10**7, "C": 10**6}
DF = 10**5
TRADES = [("t1", "A", "B", "ESX", "buy", 10, 500025), ("t2", "C", "A", "RTX", "buy", 5, 200010)]
PRICES = [533000, 184990]


def _reference(tmp_path):
    sim = Sim(tmp_path / "ref.db", INSTRUMENTS, CCP, seed=b"ref")
    for m, c in CASH.items():
        sim.admit(m)
        sim.deposit(m, c + DF)
        sim.fund(m, DF)
    for tid, ini, cp, inst, side, q, p in TRADES:
        buyer, seller = (ini, cp) if side == "buy" else (cp, ini)
        sim.trade(tid, buyer, seller, inst, q, p, side=side)
    sim.settle(PRICES, MATRIX)
    out = sim.margin()
    sim.engine.close()
    return out


def test_prover_service_proves_a_cycle_through_dask_local_2(tmp_path):
    """services.json ``dask: local:2``: the prover service starts a TLS
    LocalCluster and RunMargin's batch is proven there, with the same results
    as the in-process engine harness (local pool)."""
    ref = _reference(tmp_path)
    assert sorted(set(ref.values())) == ["call", "pass", "payment"]
    d = tmp_path / "cfg"
    make_config(d, tuple(CASH))
    _set_services(d, dask="local:2", dask_deadline=120)
    c = Cluster(d, members=tuple(CASH), init=False)
    try:
        executor = c.prover.resource.witness.executor
        assert isinstance(executor, DaskProver) and len(executor.worker_pids()) == 2
        op = c.operator()
        op.admit_all()
        for m, cash in CASH.items():
            c.member(m).deposit(cash + DF)
            c.member(m).fund(DF)
        for tid, ini, cp, inst, side, q, p in TRADES:
            assert c.trade(tid, ini, cp, inst, side, q, p).status == "novated"
        op.settle(PRICES, MATRIX)
        assert op.run_margin() == ref
        assert executor.last_stats.jobs == 3 and executor.last_unproven == frozenset()
        assert executor.not_after is not None  # bounded by RunMargin's deadline
    finally:
        c.stop()
    assert c.prover.resource.witness.executor.client is None  # closed with the service


@pytest.mark.slow
def test_bench_cycle_dask_row(tmp_path, capsys):
    """``zkclear bench cycle --dask local:2``: the Dask row with the local
    pool's prove phase beside it, both cycles ok."""
    from clearing import cli
    out = tmp_path / "cycle.json"
    assert cli.main(["bench", "cycle", "--members", "3", "--instruments", "1", "--scenarios", "2",
                     "--workers", "2", "--dask", "local:2", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep["executor"] == "dask local:2" and rep["ok"] is True and rep["margin_model"] == "scan"
    assert rep["vs_local_pool"]["ok"] is True and rep["vs_local_pool"]["throughput_ratio"] > 0
    assert rep["dask"]["jobs"] == 3 and rep["dask"]["unproven"] == 0
    assert set(rep["phases_s"]) == {"vm_update", "prove", "verify", "close"}
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["executor"] == "dask local:2"
