"""Every bad input a precise status, never INTERNAL (issue 11, items 6-9,
11 and 12), over real gRPC + mutual TLS:

* integers out of their field's range (``amount`` 0, 2^63, 2^64 - 1;
  ``since`` 2^64 - 1; ...) are INVALID_ARGUMENT before any handler runs;
* undecodable protobuf (garbage, a truncated field, invalid UTF-8, field
  number 0) is INVALID_ARGUMENT -- for our services, health and reflection
  alike -- with no ERROR log record and the node still SERVING;
* client strings echoed in a status are escaped and capped;
* :func:`clearing.services.rpc.status_of` maps every library error to a status that
  means what it says, and INTERNAL is logged without the exception's message;
* a burst of 100 concurrent cheap reads is served (queued, not refused);
* reflection answers over ``grpc.reflection.v1`` as well as v1alpha.
"""
from __future__ import annotations

import errno
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from clearing.api import admin_pb2, admin_pb2_grpc, clearing_pb2, common_pb2, prover_pb2
from clearing.protocol import errors as ce
from clearing.protocol.errors import capped, shown
from clearing.protocol.messages import withdrawal_message
from clearing.services import rpc
from clearing.services.pki import load_identity
from prover.custody.sealed_store import StoreError
from prover.custody.witness import Divergence, Refused
from support.services import MATRIX, P0
from zkp.errors import DecodeError, ProvingError, VerificationError
from zkp.statements import StatementError

S = grpc.StatusCode
U64_MAX = (1 << 64) - 1


def status(fn, *a, **kw) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        fn(*a, **kw)
    return err.value.code(), err.value.details()


def seq(c) -> int:
    return c.operator().status().seq


# -- integer ranges ---------------------------------------------------------------------------
def test_prove_withdrawal_amount_out_of_range(cluster):
    """Signed by the (admitted, funded) member: the prover used to build the
    statement and fail with an unmapped StatementError (INTERNAL)."""
    cluster.onboard()
    cluster.operator().settle(P0, MATRIX)  # a withdrawal is proved against the cycle's scenario set
    a = cluster.member("A")
    cycle = a.ledger_status().cycle
    for amount in (0, 1 << 63, U64_MAX):
        sig = a._sign(withdrawal_message("A", amount, cycle, "w1"))
        req = prover_pb2.ProveWithdrawalRequest(request_id="w1", member="A", amount=amount, cycle=cycle,
                                                signature=sig)
        code, details = status(a.prover.ProveWithdrawal, req)
        assert code == S.INVALID_ARGUMENT and "amount" in details, (amount, code, details)


def test_integers_out_of_range_are_invalid_argument(cluster):
    c = cluster
    before = seq(c)
    a = c.member("A")
    code, details = status(lambda: list(a.clearing.StreamLedger(clearing_pb2.StreamLedgerRequest(since=U64_MAX))))
    assert code == S.INVALID_ARGUMENT and "since" in details
    # the largest in range is fine: nothing after it
    assert list(a.clearing.StreamLedger(clearing_pb2.StreamLedgerRequest(since=(1 << 63) - 1))) == []
    for amount in (0, 1 << 63, U64_MAX):
        assert status(a.clearing.Deposit, clearing_pb2.DepositRequest(
            request_id="d1", member="A", amount=amount, cycle=1, signature=bytes(64)))[0] == S.INVALID_ARGUMENT
    for amount in (1 << 63, U64_MAX):  # a default-fund contribution may be 0
        assert status(a.prover.PrepareFunding, prover_pb2.PrepareFundingRequest(
            request_id="f1", member="A", amount=amount))[0] == S.INVALID_ARGUMENT
    assert status(a.clearing.Withdraw, clearing_pb2.WithdrawRequest(
        request_id="w1", member="A", amount=5, cycle=1, ctx_seq=U64_MAX, proof=b"p",
        signature=bytes(64)))[0] == S.INVALID_ARGUMENT
    op = c.operator()
    admin = admin_pb2_grpc.AdminServiceStub(op._channels[0])
    sig = bytes(64)
    for req, method in (
            (admin_pb2.SettleRequest(request_id="s1", cycle=1, prices=[500000, U64_MAX], operator_signature=sig,
                                     scenario_set=admin_pb2.ScenarioSet(version=0)), admin.Settle),
            (admin_pb2.SettleRequest(request_id="s1", cycle=1, prices=[500000, 200000], operator_signature=sig,
                                     scenario_set=admin_pb2.ScenarioSet(version=U64_MAX)), admin.Settle),
            (admin_pb2.SetCcpParametersRequest(request_id="p1", cycle=1, assessment_cap_multiple=256,
                                               operator_signature=sig), admin.SetCcpParameters),
            (admin_pb2.SetCcpParametersRequest(request_id="p1", cycle=1, skin_in_the_game_1=U64_MAX,
                                               operator_signature=sig), admin.SetCcpParameters),
            (admin_pb2.CloseOutRequest(request_id="c1", cycle=1, index=U64_MAX, operator_signature=sig),
             admin.CloseOut),
            (common_pb2.CycleRequest(request_id="c1", cycle=1 << 63), admin.CloseCycle)):
        code, details = status(method, req, timeout=5)
        assert code == S.INVALID_ARGUMENT and "out of range" in details, (req, code, details)
    assert seq(c) == before


# -- undecodable requests ------------------------------------------------------------------------
_VALID = clearing_pb2.DepositRequest(request_id="abcdef", member="A", amount=5).SerializeToString()
#: Each malformed for every request type called below (field 1 of each is a string).
MALFORMED = {
    "garbage": b"\xff\xff\xff\xff\xff\xff",
    "truncated field": _VALID[:-3],
    "invalid UTF-8 in a string": b"\x0a\x02\xff\xfe",
    "field number 0": b"\x00\x01",
}


def _call(ch, path: str, kind: str, data: bytes):
    if kind == "unary":
        return ch.unary_unary(path)(data, timeout=5)
    if kind == "server-stream":
        return list(ch.unary_stream(path)(data, timeout=5))
    return list(ch.stream_stream(path)(iter([data]), timeout=5))


@pytest.mark.parametrize("what", sorted(MALFORMED))
def test_undecodable_requests_are_invalid_argument(cluster, caplog, what):
    caplog.set_level(logging.INFO)
    ident = load_identity(cluster.dir, "A")
    calls = [
        (cluster.clearing_target, "/zkclear.v1.ClearingService/Deposit", "unary"),
        (cluster.clearing_target, "/zkclear.v1.ClearingService/StreamPendingTrades", "server-stream"),
        (cluster.clearing_target, "/zkclear.v1.AdminService/Settle", "unary"),
        (cluster.clearing_target, "/grpc.health.v1.Health/Check", "unary"),
        (cluster.clearing_target, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "bidi"),
        (cluster.clearing_target, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "bidi"),
        (cluster.prover_target, "/zkclear.v1.ProverService/ProveWithdrawal", "unary"),
        (cluster.prover_target, "/grpc.health.v1.Health/Check", "unary"),
    ]
    for target, path, kind in calls:
        with rpc.channel(ident, target) as ch:
            code, details = status(_call, ch, path, kind, MALFORMED[what])
        assert code == S.INVALID_ARGUMENT, (path, code, details)
        assert "malformed request" in details
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert "Traceback" not in caplog.text
    for target in (cluster.clearing_target, cluster.prover_target):
        assert rpc.health_check(ident, target) == "SERVING"


def test_unknown_fields_are_ignored_and_valid_requests_still_work(cluster):
    ident = load_identity(cluster.dir, "A")
    extra = clearing_pb2.LedgerStatusRequest().SerializeToString() + b"\xa0\x06\x01"  # field 100, varint 1
    with rpc.channel(ident, cluster.clearing_target) as ch:
        raw = ch.unary_unary("/zkclear.v1.ClearingService/GetLedgerStatus")(extra, timeout=5)
    assert clearing_pb2.LedgerStatus.FromString(raw).seq == 1


# -- echoed client strings -----------------------------------------------------------------------
def test_echoed_client_strings_are_escaped_and_capped(cluster):
    c = cluster
    a, b = c.member("A"), c.member("B")
    huge = "x" * 100_000 + "\n\u202e"
    code, details = status(a.clearing.GetAccount, common_pb2.MemberRequest(member=huge))
    assert code == S.NOT_FOUND and len(details) <= ce.MAX_MESSAGE_CHARS
    assert "\n" not in details and "\u202e" not in details
    code, details = status(a.clearing.GetTrade, clearing_pb2.GetTradeRequest(trade_id=huge))
    assert code == S.NOT_FOUND and len(details) <= ce.MAX_MESSAGE_CHARS
    # the rpc layer's own messages show at most SHOWN_CHARS of the value
    code, details = status(lambda: list(b.clearing.StreamPendingTrades(common_pb2.MemberRequest(member=huge))))
    assert code == S.PERMISSION_DENIED and len(details) < 150 and "\n" not in details, details
    # and the connection is still usable
    assert a.ledger_status().seq == 1


def test_shown_and_capped():
    assert shown("A") == "'A'"
    assert shown("it's") == "'it\\'s'"
    assert shown("\n\u202e\x00") == "'\\n\\u202e\\x00'"
    long = shown("y" * 10_000)
    assert long == "'" + "y" * ce.SHOWN_CHARS + "'..."
    assert len(shown("\U0001f600" * 100)) <= ce.SHOWN_CHARS + 5
    assert shown(7) == "7"
    assert capped("a\nb") == "a\\nb"
    assert len(capped("z" * 5000)) == ce.MAX_MESSAGE_CHARS and capped("z" * 5000).endswith("...")
    assert capped("short") == "short"


# -- the one exception -> status map ---------------------------------------------------------
class _Downstream(grpc.RpcError):
    def __init__(self, code):
        self._code = code

    def code(self):
        return self._code

    def details(self):
        return "prover said no"


def _disk_full() -> sqlite3.Error:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x BLOB)")
    db.execute("PRAGMA max_page_count = 2")
    try:
        db.execute("INSERT INTO t VALUES (?)", (bytes(100_000),))
    except sqlite3.Error as exc:
        return exc
    finally:
        db.close()
    raise AssertionError("SQLite did not report a full database")


def _overflow() -> OverflowError:
    db = sqlite3.connect(":memory:")
    try:
        db.execute("SELECT ?", (U64_MAX,))
    except OverflowError as exc:
        return exc
    finally:
        db.close()
    raise AssertionError("SQLite took a 64-bit unsigned integer")


@pytest.mark.parametrize("exc, code", [
    (StatementError("amount out of range [1, 2^63)"), S.INVALID_ARGUMENT),
    (DecodeError("not a point"), S.INVALID_ARGUMENT),
    (VerificationError(), S.INVALID_ARGUMENT),
    (ce.InvalidArgument("x"), S.INVALID_ARGUMENT),
    (ValueError("bad"), S.INVALID_ARGUMENT),
    (ProvingError("no"), S.FAILED_PRECONDITION),
    (Refused("trade 't' is not pending"), S.FAILED_PRECONDITION),
    (Divergence("chain"), S.FAILED_PRECONDITION),
    (ce.FailedPrecondition("x"), S.FAILED_PRECONDITION),
    (ce.AlreadyExists("x"), S.ALREADY_EXISTS),
    (ce.NotFound("x"), S.NOT_FOUND),
    (ce.PermissionDenied("x"), S.PERMISSION_DENIED),
    (ce.LedgerCorrupted("x"), S.DATA_LOSS),
    (StoreError("tampered"), S.DATA_LOSS),
    (OSError(errno.ENOSPC, "No space left on device"), S.RESOURCE_EXHAUSTED),
    (_Downstream(S.FAILED_PRECONDITION), S.FAILED_PRECONDITION),
    (_Downstream(S.INTERNAL), S.UNAVAILABLE),
    (_Downstream(S.UNAUTHENTICATED), S.UNAVAILABLE),
    (RuntimeError("bug"), S.INTERNAL),
], ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else None)
def test_status_of_maps_library_errors(exc, code):
    assert rpc.status_of(exc)[0] == code


def test_status_of_sqlite_errors():
    code, details = rpc.status_of(_disk_full())
    assert code == S.RESOURCE_EXHAUSTED and "disk full" in details
    assert rpc.status_of(_overflow())[0] == S.INVALID_ARGUMENT


def test_status_messages_are_capped_whoever_raised_them():
    code, details = rpc.status_of(rpc.Abort(S.FAILED_PRECONDITION, "w" * 100_000 + "\r\n"))
    assert code == S.FAILED_PRECONDITION and len(details) == ce.MAX_MESSAGE_CHARS
    assert len(rpc.status_of(ce.NotFound("unknown member " + "m" * 50_000))[1]) <= ce.MAX_MESSAGE_CHARS


class _Context:
    def abort(self, code, details):
        raise grpc.RpcError(code, details)


def test_internal_error_is_logged_once_without_its_message(caplog):
    def handler():
        raise RuntimeError("opening 123456789 of member A")  # a message that must not reach the log

    try:
        handler()
    except RuntimeError as exc:
        with pytest.raises(grpc.RpcError) as err:
            rpc._fail(_Context(), "Deposit", None, exc)
    assert err.value.args == (S.INTERNAL, "internal error")
    records = [r for r in caplog.records if r.name == "zkclear.rpc"]
    assert len(records) == 1 and records[0].levelno == logging.ERROR
    text = records[0].getMessage()
    assert "RuntimeError" in text and "test_service_inputs.py" in text and "handler" in text
    assert "123456789" not in caplog.text


# -- load ------------------------------------------------------------------------------------------
def test_a_burst_of_100_concurrent_reads_is_served(cluster):
    ident = load_identity(cluster.dir, "A")
    channels = [rpc.channel(ident, cluster.clearing_target) for _ in range(4)]
    try:
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        from clearing.api import clearing_pb2_grpc

        stubs = [clearing_pb2_grpc.ClearingServiceStub(ch) for ch in channels]
        health_stubs = [health_pb2_grpc.HealthStub(ch) for ch in channels]
        for stub in stubs:  # connect first, so the burst arrives at once
            stub.GetLedgerStatus(clearing_pb2.LedgerStatusRequest(), timeout=10)
        calls = []
        for k in range(100):
            if k % 4 == 3:
                calls.append(health_stubs[k % 4].Check.future(health_pb2.HealthCheckRequest(), timeout=60))
            else:
                calls.append(stubs[k % 4].GetLedgerStatus.future(clearing_pb2.LedgerStatusRequest(), timeout=60))
        failures = []
        for f in calls:
            try:
                f.result()
            except grpc.RpcError as exc:
                failures.append(exc.code())
        assert failures == []
    finally:
        for ch in channels:
            ch.close()


def test_a_burst_of_100_client_threads_is_served(cluster):
    c = cluster
    members = [c.member(m) for m in ("A", "B", "C")]

    def read(k):
        return members[k % 3].ledger_status().seq

    with ThreadPoolExecutor(max_workers=100) as pool:
        assert list(pool.map(read, range(100))) == [1] * 100


# -- reflection v1 -------------------------------------------------------------------------------
def _v1_classes():
    pool = descriptor_pool.Default()
    req = message_factory.GetMessageClass(pool.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionRequest"))
    res = message_factory.GetMessageClass(pool.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionResponse"))
    return req, res


def test_reflection_v1_lists_and_describes_services(cluster):
    ident = load_identity(cluster.dir, "A")
    Request, Response = _v1_classes()
    for target, service in ((cluster.clearing_target, "zkclear.v1.ClearingService"),
                            (cluster.prover_target, "zkclear.v1.ProverService")):
        with rpc.channel(ident, target) as ch:
            info = ch.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                                    request_serializer=Request.SerializeToString,
                                    response_deserializer=Response.FromString)
            replies = list(info(iter([
                Request(list_services=""),
                Request(file_containing_symbol=service),
                Request(file_containing_symbol=rpc.REFLECTION_V1),
            ]), timeout=5))
        names = {s.name for s in replies[0].list_services_response.service}
        assert {service, "grpc.health.v1.Health", rpc.REFLECTION_V1,
                "grpc.reflection.v1alpha.ServerReflection"} <= names
        for reply, symbol in ((replies[1], service), (replies[2], rpc.REFLECTION_V1)):
            files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                     for b in reply.file_descriptor_response.file_descriptor_proto]
            package, _, name = symbol.rpartition(".")
            assert any(f.package == package and name in {s.name for s in f.service} for f in files), symbol


# -- random requests to every RPC --------------------------------------------------------------
_INTS = [0, 1, 5, 255, 256, (1 << 32) - 1, 1 << 40, (1 << 63) - 1, 1 << 63, U64_MAX]
_SINTS = [0, 1, -1, 1 << 52, -(1 << 63), (1 << 63) - 1]
_STRS = ["", "A", "B", "t1", "ESX", "prover", "@auction", "x" * 70, "y" * 5000, "\u00e9\x00\n", "-1", "007"]


def _random_message(cls, rng, depth=0):
    from google.protobuf.descriptor import FieldDescriptor as F

    msg = cls()
    for fd in msg.DESCRIPTOR.fields:
        if rng.random() < 0.3:
            continue
        for _ in range(rng.choice([1, 1, 2, 5]) if fd.is_repeated else 1):
            if fd.type == F.TYPE_MESSAGE:
                if fd.message_type.GetOptions().map_entry:
                    getattr(msg, fd.name)[rng.choice(_STRS)] = rng.choice(_STRS)
                elif depth < 3:
                    sub = message_factory.GetMessageClass(fd.message_type)
                    value = _random_message(sub, rng, depth + 1)
                    if fd.is_repeated:
                        getattr(msg, fd.name).append(value)
                    else:
                        getattr(msg, fd.name).CopyFrom(value)
                continue
            if fd.type == F.TYPE_STRING:
                v = rng.choice(_STRS)
            elif fd.type == F.TYPE_BYTES:
                v = rng.choice([b"", bytes(32), bytes(64), b"\x40" + bytes(31), rng.randbytes(rng.randrange(1, 300))])
            elif fd.type == F.TYPE_BOOL:
                v = rng.random() < 0.5
            elif fd.type == F.TYPE_ENUM:
                v = rng.choice([0, 1, 2, 7])
            elif fd.type in (F.TYPE_SINT64, F.TYPE_INT64):
                v = rng.choice(_SINTS)
            elif fd.type == F.TYPE_UINT32:
                v = rng.choice(_INTS) & 0xFFFFFFFF
            else:
                v = rng.choice(_INTS)
            if fd.is_repeated:
                getattr(msg, fd.name).append(v)
            else:
                setattr(msg, fd.name, v)
    return msg


def test_random_requests_to_every_rpc_never_internal(cluster, caplog):
    """Seeded random messages (huge and empty strings, integers at and past
    every bound, bytes of every length) to every RPC of the three services,
    as a member and as the operator, before and after settlement: no
    INTERNAL or UNKNOWN, no status over the cap, no ERROR log record, the
    nodes still SERVING."""
    import random

    from clearing.api import admin_pb2 as A
    from clearing.api import clearing_pb2 as C
    from clearing.api import prover_pb2 as P

    cluster.onboard()
    rng = random.Random(11)
    targets = {"clearing": cluster.clearing_target, "prover": cluster.prover_target}
    idents = {who: load_identity(cluster.dir, who) for who in ("A", "operator")}
    channels = {(w, t): rpc.channel(idents[w], targets[t]) for w in idents for t in targets}
    methods = [(t, sd.full_name, m) for mod, t in ((C, "clearing"), (A, "clearing"), (P, "prover"))
               for sd in mod.DESCRIPTOR.services_by_name.values() for m in sd.methods]
    bad, calls = [], 0
    try:
        for rnd in range(6):
            if rnd == 3:
                cluster.operator().settle(P0, MATRIX)
            for target, service, m in methods:
                Req = message_factory.GetMessageClass(m.input_type)
                Res = message_factory.GetMessageClass(m.output_type)
                req = _random_message(Req, rng)
                ch = channels[rng.choice(list(idents)), target]
                path = f"/{service}/{m.name}"
                kw = {"request_serializer": Req.SerializeToString, "response_deserializer": Res.FromString}
                calls += 1
                try:
                    if m.server_streaming:
                        list(ch.unary_stream(path, **kw)(req, timeout=30))
                    else:
                        ch.unary_unary(path, **kw)(req, timeout=30)
                except grpc.RpcError as exc:
                    if exc.code() in (S.INTERNAL, S.UNKNOWN) or len(exc.details() or "") > ce.MAX_MESSAGE_CHARS:
                        bad.append((path, exc.code(), (exc.details() or "")[:200]))
    finally:
        for ch in channels.values():
            ch.close()
    assert calls >= 200 and bad == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    for t in targets.values():
        assert rpc.health_check(idents["A"], t) == "SERVING"
