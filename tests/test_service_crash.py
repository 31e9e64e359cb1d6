"""kill -9 of the clearing node at several points of a cycle (and an
abandoned prover service), restart from the database, finish the cycle: the
signed cycle digest and the state equal those of an uninterrupted run with
the same inputs.  (kill -9 of the prover as a process is in
test_service_process.py: nothing lost, audit passes.)  Reproducibility comes
from seeded randomness in the test only (the prover service in-process with
a seeded RNG, members' blindings seeded, explicit request ids); the clearing
node runs as a real subprocess.  Also: SIGTERM lets a call in flight finish
(graceful shutdown) and the restarted node replays its recorded result."""
from __future__ import annotations

import shutil
import signal
import threading
import time

import grpc
import pytest

from clearing.services import config as services_config
from clearing.services import rpc
from clearing.services.pki import load_identity
from support.processes import Proc, configure, ledger_status, onboard, open_clients
from support.services import CCP, INSTRUMENTS, MATRIX


def _reproducible_run(d, kill_at: int | None, victim: str = "clearing"):
    """One cycle with reproducible randomness: the prover service in-process
    with a seeded RNG, members with seeded blindings and explicit request ids,
    the clearing node as a subprocess -- killed with -9 and restarted from its
    database after step ``kill_at`` when given.  Returns (digest, state hash)."""
    from clearing.services import prover_service
    from zkp.field import SeededRng

    clearing = Proc(d, "clearing")
    port = int(services_config.endpoint(d, "prover").rsplit(":", 1)[1])
    prover_rng = SeededRng(b"prover")
    prover, _ = prover_service.create_server(d, port=port, clearing_target=services_config.endpoint(d, "clearing"),
                                             rng=prover_rng)
    op, ms = open_clients(d)
    rng = SeededRng(b"members")
    steps = [
        lambda: onboard(op, ms),
        lambda: ms["A"].trade("t1", "B", "ESX", "buy", 10, 500025, request_id="rq-t1", rng=rng),
        lambda: ms["B"].affirm("t1", request_id="rq-a1"),
        lambda: ms["C"].trade("t2", "A", "RTX", "sell", 5, 200010, request_id="rq-t2", rng=rng),
        lambda: ms["A"].affirm("t2", request_id="rq-a2"),
        lambda: ms["B"].deposit(12345, request_id="rq-d1"),
        lambda: op.settle([501000, 199990], MATRIX),
        lambda: op.run_margin(),
    ]
    try:
        for k, step in enumerate(steps):
            step()
            if k == kill_at and victim == "clearing":
                before = ledger_status(op)
                clearing.kill9()
                clearing = Proc(d, "clearing")
                assert ledger_status(op) == before
            elif k == kill_at:
                # the prover dies without closing anything (its store is whatever
                # was committed); a new one starts from the same database and key,
                # continuing the same seeded RNG so the run stays reproducible
                prover.grpc_server.stop(None)
                prover, _ = prover_service.create_server(
                    d, port=port, clearing_target=services_config.endpoint(d, "clearing"), rng=prover_rng)
                for p in ms.values():
                    p.close()
                op.close()
                op, ms = open_clients(d)
        digest = op.close_cycle()
        return digest, op.status().state_hash
    finally:
        op.close()
        for p in ms.values():
            p.close()
        prover.stop(0)
        assert clearing.terminate() == 0


def test_kill9_clearing_digest_equals_uninterrupted_run(tmp_path):
    base = tmp_path / "base"
    configure(base, ("A", "B", "C"), INSTRUMENTS, CCP)
    runs = {}
    for name, kill_at, victim in (("clean", None, None), ("after-trades", 3, "clearing"),
                                  ("after-settle", 6, "clearing"), ("prover-after-trades", 4, "prover")):
        d = tmp_path / name
        shutil.copytree(base, d)  # same keys and genesis, fresh data
        runs[name] = _reproducible_run(d, kill_at, victim or "clearing")
    assert runs["clean"] == runs["after-trades"] == runs["after-settle"] == runs["prover-after-trades"]


def test_sigterm_lets_a_call_in_flight_finish(procs):
    """Synchronised on explicit signals, not on log lines or sleeps: the
    prover runs in-process with its margin step gated, so the test knows
    when the node's RunMargin is in flight (the prover has read every
    account from the node and the node waits for its answer), sends SIGTERM,
    waits until the node refuses a new connection (its graceful shutdown has
    begun), and only then lets the prover answer."""
    from clearing.services import prover_service

    d, start = procs
    clearing = Proc(d, "clearing", "--grace", "120")
    port = int(services_config.endpoint(d, "prover").rsplit(":", 1)[1])
    prover, _ = prover_service.create_server(d, port=port, clearing_target=services_config.endpoint(d, "clearing"))
    witness = prover.resource.witness
    entered, release = threading.Event(), threading.Event()
    margin_batch = witness.margin_batch

    def gated(*a, **kw):  # called once the prover has read every account it needs from the node
        entered.set()
        if not release.wait(120):
            raise RuntimeError("the test never released the margin step")
        return margin_batch(*a, **kw)

    witness.margin_batch = gated
    op, ms = open_clients(d)
    auditor = load_identity(d, "auditor")
    target = services_config.endpoint(d, "clearing")
    try:
        onboard(op, ms)
        op.settle(P0_TEST, MATRIX)
        out = {}

        def margin():
            try:
                out["results"] = op.run_margin()
            except grpc.RpcError as exc:
                out["error"] = exc.code()

        t = threading.Thread(target=margin)
        t.start()
        assert entered.wait(120), "the node never asked the prover for the margin batch"
        clearing.p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        while True:  # until a new call is refused: the server is stopping, RunMargin still in flight
            try:
                rpc.health_check(auditor, target, timeout=2)
            except grpc.RpcError:
                break
            assert time.monotonic() < deadline, "the node did not begin its graceful shutdown"
        assert clearing.p.poll() is None and "results" not in out
        release.set()
        assert clearing.p.wait(150) == 0
        t.join(30)
        assert out.get("results") == {"A": "pass", "B": "pass", "C": "pass"}, out
        # new calls are refused once it is down; a restart resumes after the batch
        with pytest.raises(grpc.RpcError) as err:
            op.status()
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        start("clearing")
        op.close()  # the old channel is in reconnect backoff after the refusal
        op, extra = open_clients(d)
        for p in extra.values():
            p.close()
        st = op.status()
        assert st.phase == "margin"
        assert op.run_margin() == out["results"]  # the same request id replays the result
    finally:
        release.set()
        op.close()
        for p in ms.values():
            p.close()
        prover.stop(0)
        clearing.close()


P0_TEST = [500000, 200000]
