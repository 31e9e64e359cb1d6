"""The auditor: AuditorService over mutual TLS, and the checks it makes on
what the node streams -- the hash chain over the received bytes, canonical
JSON, and the full re-verification by the engine's auditor function."""
from __future__ import annotations

import copy
import json

import pytest

from clearing.api import auditor_pb2, auditor_pb2_grpc, clearing_pb2
from clearing.protocol.encoding import canonical
from clearing.protocol.errors import LedgerCorrupted
from clearing.services import auditor as A
from clearing.services import rpc
from clearing.services.pki import load_identity
from support.services import MATRIX, P0


@pytest.fixture
def one_cycle(cluster):
    cluster.onboard()
    cluster.trade("t1", "A", "B", "ESX", "buy", 3, 500000)
    op = cluster.operator()
    op.settle(P0, MATRIX)
    op.run_margin()
    cluster.digest = op.close_cycle()
    return cluster


def test_auditor_service_over_tls(one_cycle):
    c = one_cycle
    srv, port = A.create_server(c.dir, clearing_target=c.clearing_target)
    try:
        with rpc.channel(load_identity(c.dir, "C"), f"127.0.0.1:{port}") as ch:
            rep = auditor_pb2_grpc.AuditorServiceStub(ch).Audit(auditor_pb2.AuditRequest(), timeout=60)
        assert rep.ok and rep.node_agrees and rep.cycles == 1
        assert [d.hex() for d in rep.digests] == [c.digest]
        assert rpc.health_check(load_identity(c.dir, "A"), f"127.0.0.1:{port}", "zkclear.v1.AuditorService") \
            == "SERVING"
    finally:
        srv.stop(0)


class FakeStub:
    """Stands in for the node's stub: replays a given list of LedgerEvents."""

    def __init__(self, events):
        self.events = events

    def StreamLedger(self, request):
        return iter(self.events)


def _stream(c):
    ch = c.member("A").clearing
    return list(ch.StreamLedger(clearing_pb2.StreamLedgerRequest(since=0)))


def test_chain_and_encoding_checked_on_received_bytes(one_cycle):
    events = _stream(one_cycle)
    assert len(A.fetch_events(FakeStub(events))) == len(events)
    # an event edited in transit: the chain breaks
    bad = [clearing_pb2.LedgerEvent() for _ in events]
    for b, e in zip(bad, events):
        b.CopyFrom(e)
    body = json.loads(bad[5].body)
    body["amount"] = body.get("amount", 0) + 1
    bad[5].body = canonical(body)
    with pytest.raises(LedgerCorrupted, match="chain"):
        A.fetch_events(FakeStub(bad))
    # a non-canonical encoding of the same event
    bad[5].CopyFrom(events[5])
    bad[5].body = json.dumps(json.loads(events[5].body), indent=1).encode()
    with pytest.raises(LedgerCorrupted, match="canonical"):
        A.fetch_events(FakeStub(bad))


def test_replay_detects_a_rewritten_history(one_cycle):
    events = A.fetch_events(FakeStub(_stream(one_cycle)))
    good = A.audit_events(events, None)
    assert good.ok and good.cycles == 1
    # a node that rewrote a deposit and recomputed the chain is caught by the signatures
    forged = copy.deepcopy(events)
    k = next(i for i, (_, b) in enumerate(forged) if b["kind"] == "deposit")
    forged[k][1]["amount"] += 1
    res = A.audit_events(forged, None)
    assert not res.ok and "does not verify" in res.error
    # dropping an event is caught too
    res = A.audit_events(events[:3] + events[4:], None)
    assert not res.ok


def test_watermark_alarms_when_the_ledger_goes_backwards_or_forks(tmp_path):
    mark = tmp_path / "auditor.head"
    hashes = [bytes([k]) * 32 for k in range(1, 6)]
    A.check_watermark(mark, hashes[:3])
    A.check_watermark(mark, hashes)  # grew: fine, the mark moves to 5
    with pytest.raises(LedgerCorrupted, match="backwards"):
        A.check_watermark(mark, hashes[:4])
    forked = hashes[:4] + [b"\xee" * 32]
    with pytest.raises(LedgerCorrupted, match="forked"):
        A.check_watermark(mark, forked)
    A.check_watermark(mark, hashes + [b"\x07" * 32])
    mark.write_text("not json")
    with pytest.raises(LedgerCorrupted, match="unreadable"):
        A.check_watermark(mark, hashes)
