"""Server and channel plumbing shared by every zkclear gRPC service.

Transport.  Every server listens with mutual TLS only
(:meth:`clearing.pki.Identity.server_credentials`: ``require_client_auth``, a
client without a certificate from our CA fails the handshake).  Every client
channel presents its own certificate and trusts only our CA.  Message sizes
are bounded on both sides (:data:`MAX_MESSAGE_BYTES`); a larger message is
refused by gRPC itself with RESOURCE_EXHAUSTED before any handler runs.

Identity.  The caller is its certificate: :func:`authenticate` reads the
TLS-verified peer certificate (:func:`clearing.pki.peer_certificate_identity`)
and checks that role, name *and* Ed25519 identity key match the roster of the
configuration, so a certificate for the same name with another key (an old
PKI, a forged one from another CA never gets this far) is UNAUTHENTICATED.
Each RPC then decides what the :class:`Caller` may do (a member only for
itself, the operator only on admin RPCs, the clearing node only for
node-driven prover steps) and raises :class:`Denied` otherwise.

Handlers.  :func:`unary` and :func:`server_stream` wrap servicer methods:
they authenticate, log one line per call (method, caller, status -- never a
request field), and map exceptions to status codes that mean what they say:

=====================================  ===================
exception                              status
=====================================  ===================
clearing.errors.InvalidArgument,       INVALID_ARGUMENT
zkp DecodeError / VerificationError
clearing.errors.FailedPrecondition,    FAILED_PRECONDITION
zkp ProvingError (prover refusals)
clearing.errors.AlreadyExists          ALREADY_EXISTS
clearing.errors.PermissionDenied,      PERMISSION_DENIED
:class:`Denied`
pki.AuthError                          UNAUTHENTICATED
clearing.errors.NotFound               NOT_FOUND
clearing.errors.LedgerCorrupted        DATA_LOSS
:class:`Abort` (explicit code)         its code
grpc.RpcError of a downstream call     its code, "<service>: <details>"
anything else                          INTERNAL "internal error"
=====================================  ===================

A failing proof is reported with the engine's generic message (zkp's
VerificationError never says why).  :func:`require_time` aborts with
DEADLINE_EXCEEDED when the caller's deadline leaves less than the expected
cost of the work, *before* doing it.

Clients.  :class:`Client` wraps a stub so that every call carries a
deadline (a default per client, overridable per call); :class:`LazyClient`
opens one on first use (a node's client of another node).

Servers.  :func:`build_server` creates the server with health checking
(``grpc.health.v1``) and reflection for the given services and binds the
port (0 = any free port; the bound port is returned), so tests start real
servers in-process.  :func:`serve_forever` runs one until SIGTERM/SIGINT and
then shuts down gracefully: health goes NOT_SERVING, new calls are refused,
calls in flight get ``grace`` seconds.
"""
from __future__ import annotations

import functools
import logging
import signal
import threading
from concurrent import futures
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from zkp.errors import DecodeError, ProvingError, VerificationError

from . import errors as ce
from .pki import AuthError, PkiError, Roster, peer_certificate_identity

log = logging.getLogger("zkclear.rpc")

#: Largest message a server or client accepts or sends (bytes).
MAX_MESSAGE_BYTES = 4 << 20
#: Default deadline of a client call (seconds).
DEFAULT_TIMEOUT = 30.0
#: Grace period for calls in flight at shutdown (seconds).
SHUTDOWN_GRACE = 5.0

_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]


class Abort(Exception):
    """Raised by handler code to answer with an explicit status code."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


class Denied(Abort):
    """The authenticated caller may not perform this request."""

    def __init__(self, message: str):
        super().__init__(grpc.StatusCode.PERMISSION_DENIED, message)


@dataclass(frozen=True)
class Caller:
    role: str
    name: str
    ed25519_public: bytes

    def __repr__(self) -> str:
        return f"{self.role}/{self.name}"

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    def is_node(self, name: str) -> bool:
        return self.role == "node" and self.name == name

    def require_member(self, member: str, *, also: tuple[str, ...] = ()) -> None:
        """The caller is the member ``member`` itself, or a node/operator
        named in ``also`` (e.g. ``("node/clearing",)``)."""
        if self.role == "member" and self.name == member:
            return
        if f"{self.role}/{self.name}" in also:
            return
        raise Denied(f"{self!r} may not act for member {member!r}")

    def require(self, *allowed: str) -> None:
        """The caller is one of ``allowed`` ("operator", "node/clearing", ...)."""
        who = f"{self.role}/{self.name}"
        if who in allowed or (self.role == "operator" and "operator" in allowed):
            return
        raise Denied(f"{who} may not call this RPC")


def authenticate(context: grpc.ServicerContext, roster: Roster) -> Caller:
    """The caller's identity from its TLS certificate, checked against the roster."""
    ident = peer_certificate_identity(context)
    try:
        party = roster.party(ident.name)
    except PkiError:
        raise AuthError("certificate names a party outside the configuration") from None
    if party.role != ident.role or party.ed25519_public != ident.ed25519_public:
        raise AuthError("certificate does not match the configured party")
    return Caller(ident.role, ident.name, ident.ed25519_public)


def status_of(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and message answering an exception (table above)."""
    S = grpc.StatusCode
    if isinstance(exc, Abort):
        return exc.code, str(exc)
    if isinstance(exc, AuthError):
        return S.UNAUTHENTICATED, str(exc)
    if isinstance(exc, ce.InvalidArgument):
        return S.INVALID_ARGUMENT, str(exc)
    if isinstance(exc, VerificationError):
        return S.INVALID_ARGUMENT, "proof verification failed"
    if isinstance(exc, DecodeError):
        return S.INVALID_ARGUMENT, f"malformed input: {exc}"
    if isinstance(exc, ce.FailedPrecondition):
        return S.FAILED_PRECONDITION, str(exc)
    if isinstance(exc, ce.AlreadyExists):
        return S.ALREADY_EXISTS, str(exc)
    if isinstance(exc, ce.PermissionDenied):
        return S.PERMISSION_DENIED, str(exc)
    if isinstance(exc, ce.NotFound):
        return S.NOT_FOUND, str(exc)
    if isinstance(exc, ce.LedgerCorrupted):
        return S.DATA_LOSS, str(exc)
    if isinstance(exc, ProvingError):
        return S.FAILED_PRECONDITION, f"prover refused: {exc}"
    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        return exc.code(), f"downstream call failed: {exc.details()}"
    return S.INTERNAL, "internal error"


def _fail(context, method: str, caller, exc: BaseException):
    code, message = status_of(exc)
    if code == grpc.StatusCode.INTERNAL:
        log.exception("%s by %r: internal error (%s)", method, caller, type(exc).__name__)
    else:
        log.info("%s by %r: %s", method, caller, code.name)
    context.abort(code, message)


def unary(fn: Callable) -> Callable:
    """Wrap a unary servicer method ``fn(self, request, context, caller)``."""
    @functools.wraps(fn)
    def wrapper(self, request, context):
        caller = None
        try:
            caller = authenticate(context, self.roster)
            result = fn(self, request, context, caller)
        except Exception as exc:  # noqa: BLE001 - every exception becomes a status
            _fail(context, fn.__name__, caller, exc)
        log.info("%s by %r: OK", fn.__name__, caller)
        return result
    return wrapper


def server_stream(fn: Callable) -> Callable:
    """Wrap a server-streaming servicer method (a generator)."""
    @functools.wraps(fn)
    def wrapper(self, request, context):
        caller = None
        try:
            caller = authenticate(context, self.roster)
            yield from fn(self, request, context, caller)
        except Exception as exc:  # noqa: BLE001
            _fail(context, fn.__name__, caller, exc)
        log.info("%s by %r: OK", fn.__name__, caller)
    return wrapper


def require_time(context: grpc.ServicerContext, seconds: float) -> None:
    """DEADLINE_EXCEEDED now if the caller's deadline leaves less than
    ``seconds`` -- checked before expensive work (proof verification or
    generation), so an impatient caller costs nothing."""
    remaining = context.time_remaining()
    if remaining is not None and remaining < seconds:
        raise Abort(grpc.StatusCode.DEADLINE_EXCEEDED,
                    f"deadline too short for this request (needs ~{seconds:g}s)")


# -- servers ------------------------------------------------------------------------
def build_server(identity, services: Iterable[tuple[Callable, Any, str]], *, host: str = "127.0.0.1",
                 port: int = 0, max_workers: int = 8) -> tuple[grpc.Server, int, health.HealthServicer]:
    """A started mTLS server with health and reflection.

    ``services``: (add_XServicer_to_server, servicer, full service name).
    Returns (server, bound port, health servicer)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc"),
                         options=_OPTIONS, maximum_concurrent_rpcs=4 * max_workers)
    names = []
    for add, servicer, name in services:
        add(servicer, server)
        names.append(name)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(names + [health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    try:
        bound = server.add_secure_port(f"{host}:{port}", identity.server_credentials())
    except RuntimeError:
        bound = 0
    if bound == 0:
        server.stop(None)
        raise OSError(f"cannot listen on {host}:{port} (address in use or not local)")
    server.start()
    for name in names + [""]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, bound, health_servicer


def serve_forever(server: grpc.Server, health_servicer, *, grace: float = SHUTDOWN_GRACE,
                  on_stop: Callable[[], None] | None = None) -> None:
    """Block until SIGTERM or SIGINT, then stop gracefully."""
    stopping = threading.Event()

    def stop(signum, frame):
        if stopping.is_set():
            return
        stopping.set()
        log.info("signal %d: shutting down (grace %.1fs)", signum, grace)
        health_servicer.enter_graceful_shutdown()
        server.stop(grace)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.wait_for_termination()
    if on_stop is not None:
        on_stop()


class Server:
    """A running service: the gRPC server plus what it owns.  ``stop()``
    stops serving (grace for calls in flight) and closes the resources."""

    def __init__(self, server: grpc.Server, port: int, health, resource):
        self.grpc_server = server
        self.port = port
        self.health = health
        self.resource = resource

    def stop(self, grace: float | None = SHUTDOWN_GRACE) -> None:
        self.health.enter_graceful_shutdown()
        self.grpc_server.stop(grace).wait()
        self.resource.close()

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        return self.grpc_server.wait_for_termination(timeout)

    def __repr__(self) -> str:
        return f"Server(port={self.port})"



# -- clients ------------------------------------------------------------------------
def channel(identity, target: str) -> grpc.Channel:
    """An mTLS channel to ``target`` ("host:port") as ``identity``."""
    return grpc.secure_channel(target, identity.channel_credentials(), options=_OPTIONS)


class Client:
    """A stub whose every call has a deadline.

    ``Client(stub, timeout)``; ``client.Method(request)`` calls with
    ``timeout`` unless the call passes its own."""

    def __init__(self, stub, timeout: float = DEFAULT_TIMEOUT):
        self._stub = stub
        self._timeout = timeout

    def __getattr__(self, name: str):
        method = getattr(self._stub, name)

        def call(request, timeout: float | None = None, **kw):
            return method(request, timeout=self._timeout if timeout is None else timeout, **kw)
        return call


class LazyClient:
    """A :class:`Client` of another service, over a channel opened on first
    use (``get()``); UNAVAILABLE while no target is configured.

    ``LazyClient(identity, stub_class, target, timeout, what)``; ``what``
    names the service in that error.  ``retarget`` points it at another
    address (a restarted service), closing the old channel."""

    def __init__(self, identity, stub_class, target: str | None, timeout: float, what: str):
        self.identity = identity
        self.stub_class = stub_class
        self.target = target
        self.timeout = timeout
        self.what = what
        self._channel = None
        self._client = None

    def __repr__(self) -> str:
        return f"LazyClient({self.what!r}, target={self.target!r})"

    def get(self) -> Client:
        if self._client is None:
            if self.target is None:
                raise Abort(grpc.StatusCode.UNAVAILABLE, f"no {self.what} configured")
            self._channel = channel(self.identity, self.target)
            self._client = Client(self.stub_class(self._channel), self.timeout)
        return self._client

    def retarget(self, target: str) -> None:
        old = self._channel
        self.target, self._client, self._channel = target, None, None
        if old is not None:
            old.close()

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()


def health_check(identity, target: str, service: str = "", timeout: float = 5.0) -> str:
    """The health status name of ``service`` at ``target``."""
    with channel(identity, target) as ch:
        res = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=service),
                                                   timeout=timeout)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(res.status)


__all__ = [
    "MAX_MESSAGE_BYTES", "DEFAULT_TIMEOUT", "Abort", "Denied", "Caller", "authenticate", "status_of",
    "unary", "server_stream", "require_time", "build_server", "Server", "serve_forever", "channel", "Client",
    "LazyClient", "health_check",
]
