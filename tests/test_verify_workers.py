"""Trade-proof verification in worker processes (issue 16): the node's batch
verifier hands batches to a forkserver pool, so verification leaves the
node's GIL.

* a batch holding one bad proof, verified in a worker, names exactly it;
  the others are vouched for; an undecodable proof is named too;
* through a node with a verifier pool, the bad proof alone is refused with
  the engine's own INVALID_ARGUMENT, the others are captured;
* the workers exit when the pool closes, and when the node process stops --
  gracefully (SIGTERM) or killed (SIGKILL, no cleanup at all).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import grpc
import pytest

from clearing.api import convert
from clearing.node.checks_capture import VerifiedProofs
from clearing.services import clearing_service
from clearing.services.trade_batcher import TradeBatcher, verify_batch
from support.services import Cluster

MEMBERS = ("A", "B", "C", "D")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _descendants(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open(f"/proc/{e}/stat") as f:
                    kids.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(int(e))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


def _gone(pids, timeout: float = 15.0) -> list[int]:
    end = time.monotonic() + timeout
    while time.monotonic() < end and any(_alive(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    directory = tmp_path_factory.mktemp("verify-workers") / "cfg"
    c = Cluster(directory, members=MEMBERS)
    # the same house, its node rebuilt with one verification worker process
    c.clearing.stop(0)
    c.clearing, c.clearing_port = clearing_service.create_server(c.dir, verify_workers=1)
    c.prover.stop(0)
    from clearing.services import prover_service

    c.prover, c.prover_port = prover_service.create_server(c.dir, clearing_target=c.feed_target)
    c.clearing.resource.set_prover_target(c.prover_target)
    try:
        c.onboard()
        yield c
    finally:
        c.stop()


def _requests(c: Cluster, prefix: str, n: int) -> list:
    out = []
    for k in range(n):
        ini, cp = MEMBERS[k % 4], MEMBERS[(k + 1) % 4]
        req, _ = c.member(ini).make_trade(f"{prefix}{k}", cp, "ESX", "buy", 1 + k % 5, 500000)
        out.append((ini, req))
    return out


def _swap_proof(req, other):
    bad = type(req)()
    bad.CopyFrom(req)
    bad.proof = other.proof
    return bad


def test_worker_batch_names_exactly_the_bad_proof(cluster):
    reqs = _requests(cluster, "wb", 6)
    reqs[2] = (reqs[2][0], _swap_proof(reqs[2][1], reqs[3][1]))
    cycle, cseq = cluster.clearing.resource.run(lambda e: (e.state.cycle, e.state.cycle_seq))
    cache = VerifiedProofs()
    batcher = TradeBatcher(cache, window=1.0, max_batch=6, workers=1)
    try:
        pids = batcher.pool.start()
        items = [batcher.prepare(cycle, cseq, ini, convert.trade(r.trade), r.proof) for ini, r in reqs]
        assert all(it is not None for it in items)
        verdicts = batcher.verify([it for it in items if it is not None], timeout=60)
    finally:
        batcher.close()
    assert verdicts == [True, True, False, True, True, True]
    assert batcher.batches == 1 and batcher.rejected == 1
    assert len(cache) == 5
    assert pids and os.getpid() not in pids
    assert not _gone(pids), "verification workers outlived the closed pool"


def test_verify_batch_names_undecodable_and_wrong_proofs(cluster):
    reqs = _requests(cluster, "vb", 3)
    cycle, cseq = cluster.clearing.resource.run(lambda e: (e.state.cycle, e.state.cycle_seq))
    cache = VerifiedProofs()
    b = TradeBatcher(cache)
    try:
        raws = [b.prepare(cycle, cseq, ini, convert.trade(r.trade), r.proof).raw for ini, r in reqs]
    finally:
        b.close()
    assert verify_batch(raws) == []
    garbled = raws[1][:5] + (raws[1][5][:-3],)
    wrong_cycle = (raws[2][0] + 1,) + raws[2][1:]
    assert verify_batch([raws[0], garbled, wrong_cycle]) == [1, 2]


def test_node_with_worker_pool_refuses_the_bad_proof_alone(cluster):
    node = cluster.clearing.resource
    assert node.batcher.pool is not None
    reqs = _requests(cluster, "wn", 4)
    bad = _swap_proof(reqs[1][1], reqs[2][1])
    before = node.batcher.batches
    with pytest.raises(grpc.RpcError) as err:
        cluster.member(reqs[1][0]).clearing.SubmitTrade(bad)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "trade validity proof does not verify" in err.value.details()
    for ini, r in (reqs[0], reqs[2], reqs[3]):
        assert cluster.member(ini).clearing.SubmitTrade(r).status == "pending"
    assert node.batcher.batches > before
    tids = [b["trade"]["trade_id"] for _, b in node.run(lambda e: e.events()) if b["kind"] == "trade"]
    assert [t for t in tids if t.startswith("wn")] == ["wn0", "wn2", "wn3"]


def _serve_node(directory) -> tuple[subprocess.Popen, list[int]]:
    """A clearing node process with 2 verification workers; (process, worker pids)."""
    from bench.capture import House

    house = House(directory, list(MEMBERS), "mcl" if _has_mcl() else "pure")
    env = dict(os.environ, ZKCLEAR_VERIFY_WORKERS="2", ZKCLEAR_BACKEND=house.backend)
    log = open(house.dir / "logs" / "clearing.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "clearing.cli", "serve", "clearing", "--config", str(house.dir)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()
    end = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < end:
        text = (house.dir / "logs" / "clearing.log").read_text(errors="replace")
        if "clearing node listening" in text:
            workers = _descendants(proc.pid)
            break
        assert proc.poll() is None, text[-2000:]
        time.sleep(0.1)
    return proc, workers


def _has_mcl() -> bool:
    from zkp.group import available_backends

    return "mcl" in available_backends()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_workers_exit_with_the_node(tmp_path, sig):
    from bench.capture_rows import proc_cpu_ms, tree_cpu_ms

    proc, workers = _serve_node(tmp_path / "house")
    try:
        assert len(workers) >= 3, "expected the forkserver and two workers"  # forkserver + 2 workers
        # the bench counts the node's CPU with its workers'
        own, theirs = proc_cpu_ms(proc.pid), sum(proc_cpu_ms(w) for w in workers)
        assert theirs > 0 and tree_cpu_ms(proc.pid) >= own + theirs  # read last: CPU times only grow
        proc.send_signal(sig)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert not _gone(workers), "verification workers outlived the node"
