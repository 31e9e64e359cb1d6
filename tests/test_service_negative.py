"""Negative cases over real gRPC + mutual TLS: who may call what, malformed
input, failing proofs, oversized messages, wrong cycles, duplicate request
ids, deadlines -- each with the status code it must produce, and with the
ledger unchanged where nothing may be applied."""
from __future__ import annotations

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from clearing.api import (
    admin_pb2,
    admin_pb2_grpc,
    clearing_pb2,
    clearing_pb2_grpc,
    common_pb2,
    prover_pb2,
    prover_pb2_grpc,
)
from clearing.protocol.messages import admission_message, scenario_set_id, settlement_message
from clearing.services import rpc
from clearing.services.pki import init_pki, load_identity
from support.services import MATRIX, P0
from zkp.field import R

S = grpc.StatusCode


def code_of(fn, *a, **kw) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        fn(*a, **kw)
    return err.value.code()


def seq(c) -> int:
    return c.operator().status().seq


@pytest.fixture
def onboarded(cluster):
    cluster.onboard()
    return cluster


def test_no_client_certificate_is_refused(cluster):
    ident = load_identity(cluster.dir, "A")
    creds = grpc.ssl_channel_credentials(root_certificates=ident.ca_cert_pem)
    with grpc.secure_channel(cluster.clearing_target, creds) as ch:
        stub = clearing_pb2_grpc.ClearingServiceStub(ch)
        assert code_of(stub.GetLedgerStatus, clearing_pb2.LedgerStatusRequest(), timeout=5) == S.UNAVAILABLE
    with grpc.secure_channel(cluster.prover_target, creds) as ch:
        stub = prover_pb2_grpc.ProverServiceStub(ch)
        assert code_of(stub.GetProverStatus, prover_pb2.ProverStatusRequest(), timeout=5) == S.UNAVAILABLE


def test_certificate_of_another_ca_is_refused(cluster, tmp_path):
    init_pki(tmp_path / "other", ["A"])
    foreign = load_identity(tmp_path / "other", "A")
    with rpc.channel(foreign, cluster.clearing_target) as ch:
        stub = clearing_pb2_grpc.ClearingServiceStub(ch)
        assert code_of(stub.GetLedgerStatus, clearing_pb2.LedgerStatusRequest(), timeout=5) == S.UNAVAILABLE


def test_member_may_act_only_for_itself(onboarded):
    c = onboarded
    before = seq(c)
    b = c.member("B")
    # B's certificate, A's deposit (even with a signature B made)
    req = clearing_pb2.DepositRequest(request_id="x1", member="A", amount=5, cycle=1, signature=bytes(64))
    assert code_of(b.clearing.Deposit, req) == S.PERMISSION_DENIED
    # B asks for the opening relayed to A, and for A's balances at the prover
    assert code_of(lambda: list(b.clearing.StreamPendingTrades(common_pb2.MemberRequest(member="A")))) \
        == S.PERMISSION_DENIED
    assert code_of(b.prover.GetBalances, common_pb2.MemberRequest(member="A")) == S.PERMISSION_DENIED
    # B initiates a trade in A's name
    req, _ = c.member("A").make_trade("tx", "C", "ESX", "buy", 1, 500000)
    assert code_of(b.clearing.SubmitTrade, req) == S.PERMISSION_DENIED
    # B affirms as A
    assert code_of(b.clearing.AffirmTrade, clearing_pb2.AffirmTradeRequest(
        request_id="x2", trade_id="tx", member="A", signature=bytes(64))) == S.PERMISSION_DENIED
    assert seq(c) == before


def test_participant_may_not_use_admin_or_node_rpcs(onboarded):
    c = onboarded
    before = seq(c)
    a = c.member("A")
    ch = a._channels[0]
    admin = admin_pb2_grpc.AdminServiceStub(ch)
    sid = scenario_set_id(0, ["ESX", "RTX"], MATRIX)
    fake_sig = a._sign(settlement_message(1, P0, sid))
    req = admin_pb2.SettleRequest(request_id="s1", cycle=1, prices=P0, operator_signature=fake_sig,
                                  scenario_set=admin_pb2.ScenarioSet(version=0, rows=[
                                      admin_pb2.ScenarioSet.Row(pnl=r) for r in MATRIX]))
    assert code_of(admin.Settle, req, timeout=5) == S.PERMISSION_DENIED
    assert code_of(admin.CloseCycle, common_pb2.CycleRequest(request_id="c1", cycle=1), timeout=5) \
        == S.PERMISSION_DENIED
    # the prover's node-only steps
    assert code_of(a.prover.ProveMargin, prover_pb2.ProveMarginRequest(cycle=1)) == S.PERMISSION_DENIED
    assert code_of(a.prover.ProveCure, common_pb2.MemberRequest(member="A")) == S.PERMISSION_DENIED
    assert code_of(a.prover.ProveDefaultOpen, prover_pb2.ProveDefaultOpenRequest(cycle=1)) == S.PERMISSION_DENIED
    assert code_of(a.prover.PushOpening, prover_pb2.PushOpeningRequest(trade_id="t", sealed=b"x")) \
        == S.PERMISSION_DENIED
    # only the clearing node may ask the prover for default steps: not the operator either
    op_ident = load_identity(c.dir, "operator")
    with rpc.channel(op_ident, c.prover_target) as pch:
        p = prover_pb2_grpc.ProverServiceStub(pch)
        assert code_of(p.ProveDefaultShares, prover_pb2.ProveDefaultSharesRequest(purpose="x"), timeout=5) \
            == S.PERMISSION_DENIED
    assert seq(c) == before


def test_malformed_point_and_scalar_and_tampered_proof(onboarded):
    c = onboarded
    a = c.member("A")
    before = seq(c)
    req, _ = a.make_trade("t1", "B", "ESX", "buy", 3, 500000)

    bad = clearing_pb2.SubmitTradeRequest()
    bad.CopyFrom(req)
    bad.trade.commitment = b"\x05" + bytes(31)  # x = 5 * 2^248...: not a canonical point on the curve
    assert code_of(a.clearing.SubmitTrade, bad) == S.INVALID_ARGUMENT
    bad.trade.commitment = req.trade.commitment[:31]  # truncated
    assert code_of(a.clearing.SubmitTrade, bad) == S.INVALID_ARGUMENT

    # the proof's last 32 bytes are a scalar: replace it by r (non-canonical)
    bad.CopyFrom(req)
    bad.proof = req.proof[:-32] + R.to_bytes(32, "big")
    with pytest.raises(grpc.RpcError) as err:
        a.clearing.SubmitTrade(bad)
    assert err.value.code() == S.INVALID_ARGUMENT and "scalar" in err.value.details()

    # a canonical but wrong scalar: the proof fails with a generic message
    bad.proof = req.proof[:-1] + bytes([req.proof[-1] ^ 1])
    with pytest.raises(grpc.RpcError) as err:
        a.clearing.SubmitTrade(bad)
    assert err.value.code() == S.INVALID_ARGUMENT
    assert "verif" in err.value.details() and "scalar" not in err.value.details()

    # a df commitment that is the identity, on FundDefault
    assert code_of(a.clearing.FundDefault, clearing_pb2.FundDefaultRequest(
        request_id="f1", member="A", df=b"\x40" + bytes(31), epoch=0, ctx_seq=1, proof=b"p",
        signature=bytes(64))) == S.INVALID_ARGUMENT
    assert seq(c) == before
    # the untampered request goes through
    assert a.clearing.SubmitTrade(req).status == "pending"


def test_oversized_message_is_refused(onboarded):
    c = onboarded
    a = c.member("A")
    before = seq(c)
    req = clearing_pb2.DepositRequest(request_id="big", member="A", amount=5, cycle=1,
                                      signature=bytes(rpc.MAX_MESSAGE_BYTES + 1))
    assert code_of(a.clearing.Deposit, req) == S.RESOURCE_EXHAUSTED
    # within the transport bound but not a 64-byte signature
    req.signature = bytes(1000)
    assert code_of(a.clearing.Deposit, req) == S.INVALID_ARGUMENT
    assert seq(c) == before


def test_wrong_cycle_is_failed_precondition(onboarded):
    c = onboarded
    a = c.member("A")
    before = seq(c)
    assert code_of(a.deposit, 100, cycle=2) == S.FAILED_PRECONDITION
    op = c.operator()
    assert code_of(op.run_margin, cycle=1) == S.FAILED_PRECONDITION  # not settled yet
    assert code_of(op.close_cycle, cycle=1) == S.FAILED_PRECONDITION
    assert code_of(op.settle, P0, MATRIX, cycle=2) == S.FAILED_PRECONDITION
    assert seq(c) == before


def test_duplicate_request_id_is_applied_once(onboarded):
    c = onboarded
    a = c.member("A")
    s1 = a.deposit(777, request_id="dup-1")
    version = a.account().version
    s2 = a.deposit(777, request_id="dup-1")
    assert s1 == s2 == seq(c)
    assert a.account().version == version
    assert a.balances()["cash"] == 10**9 + 777
    # the same id for a different request
    assert code_of(a.deposit, 778, request_id="dup-1") == S.ALREADY_EXISTS
    assert a.balances()["cash"] == 10**9 + 777
    # operator cycle control is idempotent too
    op = c.operator()
    op.settle(P0, MATRIX, request_id="settle-x")
    assert op.settle(P0, MATRIX, request_id="settle-x") == seq(c)
    r1 = op.run_margin(request_id="m-x")
    n = seq(c)
    assert op.run_margin(request_id="m-x") == r1 and seq(c) == n


def test_deadline_too_short_is_refused_before_work(onboarded):
    c = onboarded
    a = c.member("A")
    before = seq(c)
    req, _ = a.make_trade("t9", "B", "ESX", "buy", 3, 500000)
    assert code_of(a.clearing.SubmitTrade, req, timeout=0.05) == S.DEADLINE_EXCEEDED
    assert seq(c) == before


def test_unauthenticated_party_outside_roster(cluster, tmp_path):
    """A certificate from our CA for a name the roster does not have."""
    from clearing.services import pki

    ca_dir = cluster.dir
    # re-issue with the same CA: build a leaf for an unknown member
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    ca_key = serialization.load_pem_private_key((ca_dir / "ca" / "ca.key").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate((ca_dir / "ca" / "ca.crt").read_bytes())
    from clearing.protocol import signing
    ed = signing.generate_identity_key()
    key, cert = pki._make_leaf(ca_key, ca_cert, "member", "Zed", signing.public_key_bytes(ed),
                               datetime.datetime.now(datetime.UTC), 1)
    creds = grpc.ssl_channel_credentials(
        root_certificates=(ca_dir / "ca" / "ca.crt").read_bytes(),
        private_key=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()),
        certificate_chain=cert.public_bytes(serialization.Encoding.PEM))
    with grpc.secure_channel(cluster.clearing_target, creds) as ch:
        stub = clearing_pb2_grpc.ClearingServiceStub(ch)
        assert code_of(stub.GetLedgerStatus, clearing_pb2.LedgerStatusRequest(), timeout=5) == S.UNAUTHENTICATED


def test_health_and_reflection(cluster):
    ident = load_identity(cluster.dir, "A")
    for target, service in ((cluster.clearing_target, "zkclear.v1.ClearingService"),
                            (cluster.prover_target, "zkclear.v1.ProverService")):
        assert rpc.health_check(ident, target, service) == "SERVING"
        with rpc.channel(ident, target) as ch:
            stub = reflection_pb2_grpc.ServerReflectionStub(ch)
            replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                                timeout=5)
            names = {s.name for r in replies for s in r.list_services_response.service}
        assert service in names and "grpc.health.v1.Health" in names


def test_register_only_for_itself_with_its_certificate_key(cluster):
    from clearing.api import clearing_pb2 as C

    c = cluster
    op = c.operator()
    me = c.roster.party("A")
    op_sig = op._sign(admission_message("A", me.ed25519_public, me.x25519_public))
    req = C.RegisterRequest(request_id="reg-A", member="A", identity_key=me.ed25519_public,
                            relay_key=me.x25519_public, relay_signature=me.x25519_binding, operator_signature=op_sig)
    b = c.member("B")
    assert code_of(b.clearing.Register, req) == S.PERMISSION_DENIED
    other = C.RegisterRequest()
    other.CopyFrom(req)
    other.identity_key = c.roster.party("B").ed25519_public
    assert code_of(c.member("A").clearing.Register, other) == S.PERMISSION_DENIED
    forged = C.RegisterRequest()
    forged.CopyFrom(req)
    forged.operator_signature = bytes(64)
    assert code_of(c.member("A").clearing.Register, forged) == S.INVALID_ARGUMENT
    assert c.member("A").register(op_sig, request_id="reg-A") == 2
    assert list(op.status().members) == ["A"]


def test_epoch_opening_through_the_services(onboarded):
    c = onboarded
    op = c.operator()
    a = c.member("A")
    # funding happens once per member and epoch
    assert code_of(a.fund, 5) == S.FAILED_PRECONDITION
    # only the operator closes an epoch; the node obtains D from the prover
    assert code_of(admin_pb2_grpc.AdminServiceStub(a._channels[0]).OpenEpoch,
                   common_pb2.CycleRequest(request_id="e0", cycle=1), timeout=5) == S.PERMISSION_DENIED
    n = op.open_epoch(request_id="epoch-0")
    assert op.open_epoch(request_id="epoch-0") == n  # a retry is applied once
    assert op.status().epoch == 1
    a.fund(10**7 + 250)  # the new total, filed in the new window
    assert a.balances()["df"] == 10**7 + 250
    # the window closes only when every member has filed: the prover refuses to open D now
    assert code_of(op.open_epoch, request_id="epoch-1") == S.FAILED_PRECONDITION
    for m in c.members:
        if m != "A":
            c.member(m).fund(10**7)  # unchanged, re-randomised
    op.open_epoch(request_id="epoch-1b")
    assert op.status().epoch == 2
