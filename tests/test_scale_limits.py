"""The protocol's size limits at CCP scale (issue 13 §2): the proof-size bound
derived from the zkp limits (clearing.protocol.fields.MAX_PROOF_BYTES), the
genesis's instrument count (1..zkp.statements.MAX_INSTRUMENTS), and the gRPC
message limits (clearing.services.rpc): requests at most 4 MiB everywhere,
answers up to MAX_BULK_BYTES only on the internal bulk flows -- the prover's
ProveMargin answer to the node and StreamLedger from the node's ledger feed
(to the prover) and from its ClearingService (to the auditor).

The bulk flows are exercised through a real :class:`support.services.Cluster`
(mTLS on 127.0.0.1) with a > 4 MiB answer injected where the batch is made
(the prover's witness store, the engine's event tail), so the test stays
fast; tests/test_es_services_scale.py runs a real ES cycle at I = S = 1,000."""
from __future__ import annotations

import grpc
import pytest

from clearing.api import clearing_pb2, clearing_pb2_grpc, prover_pb2, prover_pb2_grpc
from clearing.node.checks_onboarding import _check_instruments
from clearing.protocol import fields
from clearing.protocol.encoding import canonical
from clearing.protocol.errors import InvalidArgument
from clearing.services import rpc
from clearing.services.pki import load_identity
from support.engine import Sim
from zkp.rangeproof import proof_size
from zkp.statements import MAX_INSTRUMENTS, MAX_SCENARIOS

# -- the proof-size bound --------------------------------------------------------------

def test_proof_bound_is_the_largest_proof_at_the_zkp_limits():
    # ES at S = 2,048: 4,098 values = 64 full chunks + one of 2; aux T, E_1..E_S
    es = 4 + 32 * 2049 + 2 + 64 * (4 + proof_size(64, 64)) + (4 + proof_size(64, 2))
    assert fields.margin_proof_bytes(MAX_SCENARIOS) == es == 134_154
    assert fields.margin_proof_bytes(1000) == 65_894
    # a defaulter's disclosure at I = 4,096: cash, df, due, every position
    assert fields.disclosure_proof_bytes(MAX_INSTRUMENTS) == 2 + 64 * 4099 == 262_338
    assert fields.MAX_PROOF_BYTES == 262_338
    for bad in (0, MAX_SCENARIOS + 1, True, 2.0):
        with pytest.raises(ValueError):
            fields.margin_proof_bytes(bad)
    for bad in (0, MAX_INSTRUMENTS + 1, True):
        with pytest.raises(ValueError):
            fields.disclosure_proof_bytes(bad)


def test_proof_of_the_bound_is_accepted_one_byte_more_refused():
    largest = bytes(fields.MAX_PROOF_BYTES)
    assert fields._hexbytes("proof", largest) == largest
    assert fields._hexbytes("proof", largest.hex()) == largest
    assert fields._hexbytes("proof", bytes(fields.margin_proof_bytes(MAX_SCENARIOS))) is not None
    for too_long in (bytes(fields.MAX_PROOF_BYTES + 1), bytes(fields.MAX_PROOF_BYTES + 1).hex()):
        with pytest.raises(InvalidArgument, match="proof too long"):
            fields._hexbytes("proof", too_long)


def test_es_proofs_have_the_computed_size(tmp_path):
    """A real ES margin run (S = 70: 142 values, chunks of 64, 64 and 14):
    every full proof in the margin-batch event is margin_proof_bytes(S)."""
    import random

    insts = [{"id": f"I{i}", "multiplier": 10, "tick": 1, "price0": 100_000} for i in range(3)]
    sim = Sim(tmp_path / "l.db", insts, seed=b"size")
    for m in ("A", "B"):
        sim.admit(m)
        sim.deposit(m, 10**12 + 10**5)
        sim.fund(m, 10**5)
    sim.trade("t1", "A", "B", "I0", 7, 100_000)
    rnd = random.Random(3)
    matrix = [[0, 0, 0]] + [[rnd.randint(-5000, 5000) * 10 for _ in insts] for _ in range(69)]
    sim.settle([100_000] * 3, matrix, model={"kind": "es", "k": 3})
    assert set(sim.margin().values()) == {"pass"}
    batch = [body for _, body in sim.engine.events() if body.get("kind") == "margin-batch"][-1]
    sizes = {len(bytes.fromhex(e["proof"])) for e in batch["entries"]}
    sim.close()
    assert sizes == {fields.margin_proof_bytes(70)}


# -- instruments at genesis -------------------------------------------------------------

def _instruments(n: int) -> list[dict]:
    return [{"id": f"X{i}", "multiplier": 10, "tick": 1, "price0": 1000} for i in range(n)]


def test_genesis_takes_1_to_max_instruments():
    _check_instruments(_instruments(1))
    _check_instruments(_instruments(MAX_INSTRUMENTS))
    for n in (0, MAX_INSTRUMENTS + 1):
        with pytest.raises(InvalidArgument, match=f"1..{MAX_INSTRUMENTS} instruments"):
            _check_instruments(_instruments(n))


# -- message limits ---------------------------------------------------------------------

def test_channel_and_server_options():
    req, bulk = rpc.MAX_MESSAGE_BYTES, rpc.MAX_BULK_BYTES
    assert (req, bulk) == (4 << 20, 256 << 20)
    assert dict(rpc.server_options()) == {"grpc.max_receive_message_length": req,
                                          "grpc.max_send_message_length": req}
    assert dict(rpc.server_options(bulk=True)) == {"grpc.max_receive_message_length": req,
                                                   "grpc.max_send_message_length": bulk}
    assert dict(rpc.channel_options()) == {"grpc.max_receive_message_length": req,
                                           "grpc.max_send_message_length": req}
    assert dict(rpc.channel_options(bulk=True)) == {"grpc.max_receive_message_length": bulk,
                                                    "grpc.max_send_message_length": req}
    # the bound carries a 200-member margin batch at S = 2,048, hex-encoded in an event
    assert 200 * (2 * fields.margin_proof_bytes(MAX_SCENARIOS) + 1024) < bulk


#: a batch answer above the 4 MiB request limit: 40 ES proofs at S = 2,048
BIG_ENTRIES = [{"member": f"M{k:03d}", "solvency_only": False, "ctx_seq": 1,
                "proof": bytes([k]) * fields.margin_proof_bytes(MAX_SCENARIOS)} for k in range(40)]


def test_prove_margin_answer_above_4_mib_reaches_the_node_only(cluster, monkeypatch):
    """The prover sends a > 4 MiB MarginBatch; the node's (bulk) channel takes
    it, a default channel as the node refuses it with RESOURCE_EXHAUSTED."""
    entries = [dict(e, proof=e["proof"].hex()) for e in BIG_ENTRIES]
    monkeypatch.setattr(cluster.prover.resource.witness, "margin_batch", lambda cycle, accounts: (entries, b"s" * 64))
    req = prover_pb2.ProveMarginRequest(cycle=0)
    got = cluster.clearing.resource.prover.ProveMargin(req, timeout=60)
    assert got.ByteSize() > rpc.MAX_MESSAGE_BYTES
    assert [e.proof for e in got.entries] == [e["proof"] for e in BIG_ENTRIES]
    with rpc.channel(load_identity(cluster.dir, "clearing"), cluster.prover_target) as ch, \
            pytest.raises(grpc.RpcError) as exc:
        prover_pb2_grpc.ProverServiceStub(ch).ProveMargin(req, timeout=60)
    assert exc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def _big_event(seq: int):
    body = {"kind": "margin-batch", "cycle": 0, "entries": [dict(e, proof=e["proof"].hex()) for e in BIG_ENTRIES]}
    return [(seq, canonical(body), bytes(32))]


def _stream(identity, target, bulk):
    with rpc.channel(identity, target, bulk=bulk) as ch:
        stub = clearing_pb2_grpc.ClearingServiceStub(ch)
        return list(stub.StreamLedger(clearing_pb2.StreamLedgerRequest(since=0), timeout=60))


def test_stream_ledger_above_4_mib_reaches_prover_and_auditor(cluster, monkeypatch):
    """A > 4 MiB ledger event (a CCP-size margin batch) streams from the
    ledger feed to the prover and from the node to the auditor over bulk
    channels; a default channel refuses it with RESOURCE_EXHAUSTED."""
    node = cluster.clearing.resource
    monkeypatch.setattr(node.engine.tail, "after", lambda since, n: _big_event(since + 1) if since == 0 else [])
    prover, auditor = load_identity(cluster.dir, "prover"), load_identity(cluster.dir, "auditor")
    for ident, target in ((prover, cluster.feed_target), (auditor, cluster.clearing_target)):
        got = _stream(ident, target, bulk=True)
        assert len(got) == 1 and got[0].ByteSize() > rpc.MAX_MESSAGE_BYTES
        with pytest.raises(grpc.RpcError) as exc:
            _stream(ident, target, bulk=False)
        assert exc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_requests_stay_bounded_at_4_mib_on_bulk_servers(cluster):
    """A bulk server still refuses a request above MAX_MESSAGE_BYTES, even
    from a bulk channel (the member-facing limit)."""
    big = clearing_pb2.StreamLedgerRequest(since=0)  # an unknown field 15 of 4 MiB
    big.ParseFromString(b"\x7a" + _varint(rpc.MAX_MESSAGE_BYTES) + bytes(rpc.MAX_MESSAGE_BYTES))
    # a client that would send it (ours never does: channel_options caps sends at 4 MiB)
    options = [("grpc.max_send_message_length", rpc.MAX_BULK_BYTES)]
    for name, target in (("A", cluster.clearing_target), ("prover", cluster.feed_target)):
        ident = load_identity(cluster.dir, name)
        with grpc.secure_channel(target, ident.channel_credentials(), options=options) as ch, \
                pytest.raises(grpc.RpcError) as exc:
            list(clearing_pb2_grpc.ClearingServiceStub(ch).StreamLedger(big, timeout=30))
        assert exc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    with rpc.channel(load_identity(cluster.dir, "A"), cluster.clearing_target, bulk=True) as ch, \
            pytest.raises(grpc.RpcError) as exc:  # refused by our own channel before sending
        list(clearing_pb2_grpc.ClearingServiceStub(ch).StreamLedger(big, timeout=30))
    assert exc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)
