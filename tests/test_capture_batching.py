"""Batched trade capture (issue 16): trade proofs verified in batches off the
engine thread, and the head marker written once per group of engine calls.

* a batch holding one bad proof names exactly it; the others are vouched
  for, and through the service the bad one alone is refused with the
  engine's own INVALID_ARGUMENT;
* the engine never takes a proof on trust: a good proof verified by the
  batcher is taken without a second verification, but a bad one submitted
  directly (or vouched for another statement) is verified and refused;
* 16 concurrent SubmitTrade calls (and their 16 concurrent retries) land
  exactly once each, and the head marker ends at the ledger's head.
"""
from __future__ import annotations

import threading

import grpc
import pytest

import clearing.node.checks_capture as checks_capture
from clearing.node.checks_capture import VerifiedProofs, proof_key
from clearing.node.marker import read_marker
from clearing.protocol.errors import InvalidArgument
from clearing.protocol.messages import trade_tuple
from clearing.services.trade_batcher import TradeBatcher
from support.services import Cluster

MEMBERS = ("A", "B", "C", "D")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("batching") / "cfg", members=MEMBERS)
    try:
        c.onboard()
        yield c
    finally:
        c.stop()


def _requests(c: Cluster, prefix: str, n: int) -> list:
    """``n`` trade submissions, initiators and counterparties spread over the members."""
    out = []
    for k in range(n):
        ini, cp = MEMBERS[k % 4], MEMBERS[(k + 1) % 4]
        req, _ = c.member(ini).make_trade(f"{prefix}{k}", cp, "ESX", "buy", 1 + k % 5, 500000)
        out.append((ini, req))
    return out


def _swap_proof(req, other):
    """``req`` with ``other``'s proof: well formed, signed, but not for its statement."""
    bad = type(req)()
    bad.CopyFrom(req)
    bad.proof = other.proof
    return bad


def _state(c: Cluster):
    return c.clearing.resource.run(lambda e: (e.state.cycle, e.state.cycle_seq))


def _trade_events(c: Cluster) -> list[str]:
    events = c.clearing.resource.run(lambda e: e.events())
    return [b["trade"]["trade_id"] for _, b in events if b["kind"] == "trade"]


def test_batch_names_exactly_the_bad_proof(cluster):
    from clearing.api import convert

    reqs = _requests(cluster, "bb", 6)
    reqs[3] = (reqs[3][0], _swap_proof(reqs[3][1], reqs[4][1]))
    cycle, cseq = _state(cluster)
    cache = VerifiedProofs()
    batcher = TradeBatcher(cache, window=1.0, max_batch=6)  # all six in one batch
    try:
        items = [batcher.prepare(cycle, cseq, ini, convert.trade(r.trade), r.proof) for ini, r in reqs]
        assert all(it is not None for it in items)
        verdicts = batcher.verify([it for it in items if it is not None])
    finally:
        batcher.close()
    assert verdicts == [True, True, True, False, True, True]
    assert batcher.batches == 1 and batcher.rejected == 1
    assert len(cache) == 5
    assert not cache.take(items[3].key)  # type: ignore[union-attr]
    assert all(cache.take(it.key) for k, it in enumerate(items) if k != 3 and it is not None)


def test_service_refuses_only_the_bad_proof(cluster):
    reqs = _requests(cluster, "sb", 4)
    reqs[1] = (reqs[1][0], _swap_proof(reqs[1][1], reqs[2][1]))
    results: dict[int, object] = {}

    def send(k):
        ini, req = reqs[k]
        try:
            results[k] = cluster.member(ini).clearing.SubmitTrade(req, timeout=30)
        except grpc.RpcError as exc:
            results[k] = exc

    threads = [threading.Thread(target=send, args=(k,)) for k in range(len(reqs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    bad = results[1]
    assert isinstance(bad, grpc.RpcError)
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "trade validity proof does not verify" in bad.details()
    for k in (0, 2, 3):
        assert not isinstance(results[k], grpc.RpcError), results[k]
    assert sorted(t for t in _trade_events(cluster) if t.startswith("sb")) == ["sb0", "sb2", "sb3"]


def test_engine_takes_a_batched_proof_without_verifying_again(cluster, monkeypatch):
    calls = []
    real = checks_capture.verify
    monkeypatch.setattr(checks_capture, "verify", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    ini, req = _requests(cluster, "fp", 1)[0]
    res = cluster.member(ini).clearing.SubmitTrade(req, timeout=30)
    assert res.trade.trade_id == "fp0"
    assert calls == []  # the batcher's verdict was taken, for exactly this statement
    assert len(cluster.clearing.resource.verified) == 0  # and used up


def test_engine_refuses_an_unverified_bad_proof(cluster):
    from clearing.api import convert

    (ini, good), (_, other) = _requests(cluster, "eu", 2)
    node = cluster.clearing.resource
    trade = convert.trade(good.trade)
    cycle, cseq = _state(cluster)
    # a key vouching for the good proof of this trade does not vouch for another proof of it
    node.verified.add(proof_key(cycle, cseq, ini, trade["T"], trade_tuple(trade), good.proof.hex()))

    def direct(e):
        return e.submit_trade(trade, other.proof, convert.signature(good.signature), good.sealed_counterparty,
                              good.sealed_prover, good.request_id)

    with pytest.raises(InvalidArgument, match="trade validity proof does not verify"):
        node.run(direct)
    assert "eu0" not in _trade_events(cluster)


def test_sixteen_concurrent_submissions_land_once(cluster):
    reqs = _requests(cluster, "cc", 16)
    node = cluster.clearing.resource
    seqs: dict[tuple[int, int], object] = {}
    barrier = threading.Barrier(16)

    def send(k, rnd):
        ini, req = reqs[k]
        barrier.wait(30)
        try:
            seqs[(rnd, k)] = cluster.member(ini).clearing.SubmitTrade(req, timeout=60).seq
        except grpc.RpcError as exc:
            seqs[(rnd, k)] = exc.code()

    for rnd in (0, 1):  # the second round retries every request id
        threads = [threading.Thread(target=send, args=(k, rnd)) for k in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    first = [seqs[(0, k)] for k in range(16)]
    assert all(isinstance(s, int) and s > 0 for s in first), first
    assert [seqs[(1, k)] for k in range(16)] == first  # the retries get the recorded results
    assert len(set(first)) == 16
    assert sorted(t for t in _trade_events(cluster) if t.startswith("cc")) == sorted(f"cc{k}" for k in range(16))
    # every acknowledged event is covered by the head marker
    seq, head = node.run(lambda e: e.chain_head())
    assert read_marker(node.engine.engine.ledger.path) == (seq, head.hex())
