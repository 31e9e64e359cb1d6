"""Clients that scale (issue 16): counterparties affirm from a stream of their
pending trades, initiators pipeline their submissions, and the node checks a
peer's certificate once.

* following StreamPendingTrades: the current set, then each trade pushed as
  it is captured, once; a counterparty affirms N trades from one stream
  with no re-read of its pending set (a client that fails on any re-read,
  and a count of the node's pending-set reads); a cancelled or disconnected
  stream frees its subscription; limits and shutdown answer precise codes;
  a lagging subscription resyncs;
* pipelined SubmitTrade (a window of calls in flight): every trade novated
  exactly once, also when every request is sent twice at once; the call
  window retries a transient failure with the same request and never has
  more than its size in flight;
* the identity cache: one full check per certificate; another certificate
  is checked in full; a certificate the roster does not match is refused on
  every call and never cached;
* the ledger's in-memory tail serves exactly the events the engine would.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import grpc
import pytest

from clearing.api import clearing_pb2, common_pb2
from clearing.clients.retry import CallWindow
from clearing.services import rpc
from clearing.services.engine_thread import EventTail
from clearing.services.pending_stream import FOLLOW_METADATA, Pending, PendingHub, Subscription
from clearing.services.pki import AuthError, init_pki, load_config
from support.services import Cluster

MEMBERS = ("A", "B", "C")
S = grpc.StatusCode


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("streaming") / "cfg", members=MEMBERS)
    try:
        c.onboard()
        yield c
    finally:
        c.stop()


def _node(c: Cluster):
    return c.clearing.resource


def _wait(cond, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def _trade_events(c: Cluster) -> list[str]:
    return [b["trade"]["trade_id"] for _, b in _node(c).run(lambda e: e.events()) if b["kind"] == "trade"]


class _NoReads:
    """A client's Retrying stub that fails the test on any read of the pending set."""

    def __init__(self, inner):
        self._inner = inner
        self.reads = 0

    def __getattr__(self, name):
        if name == "StreamPendingTrades":
            def refuse(*a, **kw):
                self.reads += 1
                raise AssertionError("the pending set was read again")
            return refuse
        return getattr(self._inner, name)


class _CountingPushes:
    """Counts the node's PushOpening calls to the prover, per trade."""

    def __init__(self, node):
        self.node, self.calls = node, {}

    def __enter__(self):
        self.inner = self.node._prover.get()
        outer = self

        class Proxy:
            def __getattr__(self, name):
                fn = getattr(outer.inner, name)
                if name != "PushOpening":
                    return fn

                def counted(request, **kw):
                    outer.calls[request.trade_id] = outer.calls.get(request.trade_id, 0) + 1
                    return fn(request, **kw)
                return counted

        self.node._prover._client = Proxy()
        return self

    def __exit__(self, *exc):
        self.node._prover._client = self.inner


class _CountingReads:
    """Counts the engine's pending-set reads (``pending_for``)."""

    def __init__(self, engine):
        self.engine, self.calls = engine, 0
        self._orig = engine.pending_for

    def __enter__(self):
        def counted(member):
            self.calls += 1
            return self._orig(member)
        self.engine.pending_for = counted
        return self

    def __exit__(self, *exc):
        del self.engine.pending_for


# -- following StreamPendingTrades --------------------------------------------------------

def test_counterparty_affirms_n_trades_from_one_stream_without_rereading(cluster):
    a, b = cluster.member("A"), cluster.member("B")
    node = _node(cluster)
    n = 8
    # one trade pending before the stream opens: it comes in the current set
    a.trade("s-0", "B", "ESX", "buy", 1, 500000, request_id="rq-s-0")
    saved, b.clearing = b.clearing, _NoReads(b.clearing)
    got: list[str] = []
    try:
        with _CountingReads(node.engine.engine) as reads, _CountingPushes(node) as pushes:
            feed = b.pending_feed(timeout=60)

            def desk():
                for c in feed:
                    got.append(c.trade["trade_id"])
                    b.affirm_checked(c, expect={"price": 500000, "counterparty": "A"},
                                     request_id=f"ra-{c.trade['trade_id']}")
                    if len(got) == n:
                        feed.cancel()

            th = threading.Thread(target=desk)
            th.start()
            assert _wait(lambda: node.hub.count("B") == 1)
            for k in range(1, n):
                a.trade(f"s-{k}", "B", "ESX", "sell" if k % 2 else "buy", 1 + k, 500000, request_id=f"rq-s-{k}")
            th.join(60)
            assert not th.is_alive()
        assert reads.calls == 1  # the current set, read once for the stream
        # one push of each opening to the prover, though SubmitTrade and AffirmTrade race for it
        assert pushes.calls == {f"s-{k}": 1 for k in range(1, n)}
    finally:
        b.clearing = saved
    assert got == [f"s-{k}" for k in range(n)]  # each once, in capture order
    assert feed.opened == 1 and not feed.rejected
    status = {k: a.clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id=f"s-{k}")).status for k in range(n)}
    assert set(status.values()) == {"novated"}
    assert _wait(lambda: node.hub.count() == 0)


def test_cancelled_or_disconnected_stream_frees_its_subscription(cluster):
    node = _node(cluster)
    c = cluster.member("C")
    feed = c.pending_feed(timeout=60)
    items = []
    th = threading.Thread(target=lambda: items.extend(feed))
    th.start()
    assert _wait(lambda: node.hub.count("C") == 1)
    feed.cancel()
    th.join(10)
    assert not th.is_alive()
    assert _wait(lambda: node.hub.count("C") == 0)
    # a client whose channel goes away without cancelling
    ch = rpc.channel(cluster.member("C").identity, cluster.clearing_target)
    from clearing.api import clearing_pb2_grpc

    call = clearing_pb2_grpc.ClearingServiceStub(ch).StreamPendingTrades(
        common_pb2.MemberRequest(member="C"), metadata=(FOLLOW_METADATA,), timeout=60)
    codes = []

    def read():
        try:
            list(call)
        except grpc.RpcError as exc:
            codes.append(exc.code())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert _wait(lambda: node.hub.count("C") == 1)
    ch.close()
    assert _wait(lambda: node.hub.count("C") == 0)
    reader.join(10)
    assert codes == [S.CANCELLED]


def test_stream_limits_and_member_checks(cluster):
    node = _node(cluster)
    from clearing.api import clearing_pb2_grpc

    stub = clearing_pb2_grpc.ClearingServiceStub(cluster.member("C")._channels[0])
    node.hub.per_member = 1
    try:
        first = stub.StreamPendingTrades(common_pb2.MemberRequest(member="C"), metadata=(FOLLOW_METADATA,),
                                         timeout=30)
        codes = []

        def read():
            try:
                list(first)
            except grpc.RpcError as exc:
                codes.append(exc.code())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert _wait(lambda: node.hub.count("C") == 1)
        second = stub.StreamPendingTrades(common_pb2.MemberRequest(member="C"), metadata=(FOLLOW_METADATA,),
                                          timeout=30)
        with pytest.raises(grpc.RpcError) as err:
            list(second)
        assert err.value.code() == S.RESOURCE_EXHAUSTED
        first.cancel()
        reader.join(10)
        assert codes == [S.CANCELLED]
    finally:
        node.hub.per_member = 4
    # a member follows only its own pending trades
    with pytest.raises(grpc.RpcError) as err:
        list(stub.StreamPendingTrades(common_pb2.MemberRequest(member="A"), metadata=(FOLLOW_METADATA,), timeout=10))
    assert err.value.code() == S.PERMISSION_DENIED
    assert _wait(lambda: node.hub.count() == 0)


def test_finite_form_unchanged(cluster):
    """Without the follow metadata the stream is the current set and ends."""
    a = cluster.member("A")
    a.trade("fin-1", "C", "RTX", "buy", 2, 200000, request_id="rq-fin-1")
    got = [p.trade.trade_id for p in cluster.member("C").clearing.StreamPendingTrades(
        common_pb2.MemberRequest(member="C"))]
    assert "fin-1" in got
    cluster.member("C").affirm("fin-1", expect={"quantity": 2})


def test_subscription_lags_then_resyncs_and_hub_shutdown():
    sub = Subscription("A", capacity=2)
    items = [Pending(k, {"trade_id": f"t{k}"}, b"x") for k in (1, 2, 3)]
    sub.offer(items[0])
    sub.offer(items[1])
    assert sub.take(0.01) == ("items", items[:2])
    for it in items:
        sub.offer(it)  # the third overflows: the queue is dropped, the stream must reread
    assert sub.take(0.01) == ("resync", [])
    assert sub.take(0.01) == ("items", [])
    hub = PendingHub(per_member=2, total=3)
    subs = [hub.subscribe("A"), hub.subscribe("A"), hub.subscribe("B")]
    with pytest.raises(rpc.Abort) as err:
        hub.subscribe("A")
    assert err.value.code == S.RESOURCE_EXHAUSTED
    with pytest.raises(rpc.Abort) as err:
        hub.subscribe("C")
    assert err.value.code == S.RESOURCE_EXHAUSTED
    hub.publish("A", items[0])
    assert subs[0].take(0.01) == ("items", [items[0]]) and subs[2].take(0.01) == ("items", [])
    hub.close()
    assert all(s.take(0.01) == ("closed", []) and s.reason for s in subs)
    with pytest.raises(rpc.Abort) as err:
        hub.subscribe("B")
    assert err.value.code == S.UNAVAILABLE


# -- pipelined submissions -------------------------------------------------------------------

def test_pipelined_trades_novated_exactly_once_with_duplicate_sends(cluster):
    a, b = cluster.member("A"), cluster.member("B")
    status = a.ledger_status()  # read once for every trade of the pipeline
    reqs = [a.make_trade(f"p-{k}", "B", "ESX", "buy", 1 + k % 3, 500000, request_id=f"rq-p-{k}", status=status)[0]
            for k in range(6)]
    pipe = a.pipeline(window=4)
    futs = [(r.trade.trade_id, pipe.submit(r)) for r in reqs for _ in range(2)]  # every request twice at once
    pipe.drain()
    seqs: dict[str, set[int]] = {}
    for tid, f in futs:
        seqs.setdefault(tid, set()).add(f.result(timeout=30).seq)
    assert all(len(s) == 1 for s in seqs.values())  # a duplicate gets the recorded result
    bpipe = b.pipeline(window=4)
    checked = {c.trade["trade_id"]: c for c in b.pending() if c.trade["trade_id"].startswith("p-")}
    assert sorted(checked) == sorted(seqs)
    aff = [bpipe.affirm(c, expect={"counterparty": "A"}, request_id=f"ra-{tid}") for tid, c in checked.items()]
    bpipe.drain()
    assert all(f.result(timeout=30).status in ("pending", "novated") for f in aff)
    events = _trade_events(cluster)
    assert all(events.count(tid) == 1 for tid in seqs)
    assert _wait(lambda: all(a.clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id=t)).status == "novated"
                             for t in seqs))
    assert all(c.trade["T"] in b.seen_T for c in checked.values())


class _FakeCall:
    """A unary multicallable whose futures fail with the given codes first."""

    def __init__(self, failures: list[grpc.StatusCode], delay: float = 0.01):
        self.failures, self.delay = list(failures), delay
        self.requests: list = []
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()

    def future(self, request, timeout=None):
        out: Future = Future()
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            code = self.failures.pop(0) if self.failures else None

        def finish():
            with self._lock:
                self.in_flight -= 1
            if code is None:
                out.set_result(("ok", request))
            else:
                out.set_exception(_RpcError(code))
        threading.Timer(self.delay, finish).start()
        return out


class _RpcError(grpc.RpcError):
    def __init__(self, code):
        self._code = code

    def code(self):
        return self._code

    def details(self):
        return "fake"


def test_call_window_retries_transient_failures_with_the_same_request():
    call = _FakeCall([S.UNAVAILABLE, S.RESOURCE_EXHAUSTED])
    w = CallWindow(2)
    f = w.call(call, "req-1", timeout=10)
    assert f.result(timeout=10) == ("ok", "req-1")
    assert call.requests == ["req-1"] * 3 and w.retries == 2
    bad = CallWindow(2).call(_FakeCall([S.INVALID_ARGUMENT]), "req-2", timeout=10)
    with pytest.raises(grpc.RpcError) as err:
        bad.result(timeout=10)
    assert err.value.code() == S.INVALID_ARGUMENT


def test_call_window_bounds_calls_in_flight():
    call = _FakeCall([], delay=0.05)
    w = CallWindow(3)
    futs = [w.call(call, k, timeout=10) for k in range(12)]
    w.drain()
    assert [f.result() for f in futs] == [("ok", k) for k in range(12)]
    assert call.max_in_flight == 3


# -- identity once per certificate ---------------------------------------------------------------

class _Ctx:
    def __init__(self, pem: bytes):
        self.pem = pem

    def auth_context(self):
        return {"x509_pem_cert": [self.pem]}


def _leaf(ca_dir, role: str, name: str):
    """(TLS key, certificate) from our CA for ``role``/``name`` with a fresh identity key."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from clearing.protocol import signing
    from clearing.services import pki

    ca_key = serialization.load_pem_private_key((ca_dir / "ca" / "ca.key").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate((ca_dir / "ca" / "ca.crt").read_bytes())
    return pki._make_leaf(ca_key, ca_cert, role, name, signing.public_key_bytes(signing.generate_identity_key()),
                          datetime.datetime.now(datetime.UTC), 1)


def _pem(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def test_identity_checked_once_per_certificate(tmp_path):
    init_pki(tmp_path, ["A", "B"])
    roster = load_config(tmp_path)
    cache = rpc.IdentityCache()
    pem_a, pem_b = roster.party("A").cert_pem, roster.party("B").cert_pem
    for _ in range(3):
        assert rpc.authenticate(_Ctx(pem_a), roster, cache).name == "A"
    assert (cache.checks, cache.hits) == (1, 2)
    # another client certificate (a new connection): checked in full, its own identity
    caller = rpc.authenticate(_Ctx(pem_b), roster, cache)
    assert (caller.role, caller.name, caller.ed25519_public) == ("member", "B", roster.party("B").ed25519_public)
    assert cache.checks == 2
    # a certificate from our CA the roster does not know, or for a known name with another key:
    # refused on every call, never cached
    for pem in (_pem(_leaf(tmp_path, "member", "Zed")[1]), _pem(_leaf(tmp_path, "member", "A")[1])):
        for _ in range(2):
            with pytest.raises(AuthError):
                rpc.authenticate(_Ctx(pem), roster, cache)
    assert cache.checks == 2 and len(cache) == 2
    # the same certificate against another roster (a reloaded configuration) is checked again
    rpc.authenticate(_Ctx(pem_a), load_config(tmp_path), cache)
    assert cache.checks == 3


def test_identity_cache_through_the_service(cluster):
    """After cached calls by A, B on its own channel is B (it may not act for
    A), and a certificate the roster does not match is still refused."""
    cluster.member("A").ledger_status()
    b = cluster.member("B")
    with pytest.raises(grpc.RpcError) as err:
        list(b.clearing.StreamPendingTrades(common_pb2.MemberRequest(member="A")))
    assert err.value.code() == S.PERMISSION_DENIED
    from cryptography.hazmat.primitives import serialization

    key, cert = _leaf(cluster.dir, "member", "A")  # A's name, another identity key
    creds = grpc.ssl_channel_credentials(
        root_certificates=(cluster.dir / "ca" / "ca.crt").read_bytes(),
        private_key=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()),
        certificate_chain=_pem(cert))
    from clearing.api import clearing_pb2_grpc

    with grpc.secure_channel(cluster.clearing_target, creds) as ch:
        stub = clearing_pb2_grpc.ClearingServiceStub(ch)
        for _ in range(2):
            with pytest.raises(grpc.RpcError) as err:
                stub.GetLedgerStatus(clearing_pb2.LedgerStatusRequest(), timeout=5)
            assert err.value.code() == S.UNAUTHENTICATED


# -- the ledger's tail ---------------------------------------------------------------------------

def test_ledger_tail_serves_what_the_engine_would(cluster):
    from clearing.protocol.encoding import canonical

    node = _node(cluster)
    cluster.member("A").deposit(5, request_id="tail-dep")
    tail = node.engine.tail
    engine_view = node.run(lambda e: [(s, canonical(b), h) for s, b, h in e.events_with_hashes(0)])
    assert tail.last == engine_view[-1][0]
    since = tail.last - 3
    assert tail.after(since, 256) == engine_view[since:]
    assert tail.after(tail.last, 256) == []
    t = EventTail(10, capacity=3)
    t.extend([(11, b"a", b"h"), (12, b"b", b"h"), (13, b"c", b"h"), (14, b"d", b"h")])
    assert t.after(10, 9) is None  # 11 fell out: read through the engine
    assert t.after(11, 9) == [(12, b"b", b"h"), (13, b"c", b"h"), (14, b"d", b"h")]
    assert t.after(12, 1) == [(13, b"c", b"h")]
    with pytest.raises(ValueError):
        t.extend([(16, b"e", b"h")])


def test_call_window_reserved_places():
    call = _FakeCall([], delay=0.05)
    w = CallWindow(2)
    w.reserve()
    w.reserve()  # the window is full of reserved places: no third call may start
    started = threading.Event()

    def third():
        w.call(call, "c", timeout=10)
        started.set()

    th = threading.Thread(target=third, daemon=True)
    th.start()
    assert not started.wait(0.2)
    first = w.call(call, "a", timeout=10, reserved=True)
    w.release_reserved()  # the second place is given back unused
    assert started.wait(5)
    assert first.result(timeout=5) == ("ok", "a")
    w.drain()
    assert call.max_in_flight <= 2 and call.requests == ["a", "c"]
