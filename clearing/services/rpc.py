"""Server and channel plumbing shared by every zkclear gRPC service.

Transport.  Every server listens with mutual TLS only
(:meth:`clearing.services.pki.Identity.server_credentials`: ``require_client_auth``, a
client without a certificate from our CA fails the handshake).  Every client
channel presents its own certificate and trusts only our CA.  Message sizes
are bounded on both sides; a larger message is refused by gRPC itself with
RESOURCE_EXHAUSTED before any handler runs (a server answering with one
fails the call with RESOURCE_EXHAUSTED on its side):

* requests: every server receives and every client sends at most
  :data:`MAX_MESSAGE_BYTES` (4 MiB) -- what a member (or anyone) may send
  to the node, the prover or the auditor.  The largest request is a
  member's withdrawal or a filing with a few proofs of at most
  clearing.protocol.fields.MAX_PROOF_BYTES (262,338 bytes) each.
* bulk answers: the internal flows that carry a whole cycle's batch may
  carry up to :data:`MAX_BULK_BYTES` (256 MiB) -- the prover's ProveMargin
  answer to the node (a MarginBatch: every member's margin proof) and the
  ledger's StreamLedger events (the margin-batch event carries every
  proof, hex-encoded in canonical JSON) from the node's ledger feed to the
  prover and from the node's ClearingService to the auditor.  Those servers
  (:func:`build_server` ``bulk=True``: the node's two, the prover's) may
  *send* that much, and only the clients of those flows (:func:`channel` /
  :class:`LazyClient` ``bulk=True``: the node's channel to the prover, the
  prover's to the ledger feed, the auditor's to the node) *receive* that
  much; every other channel keeps receiving at most 4 MiB.  The bound: an
  expected-shortfall margin proof at S = 2,048 is 134,154 bytes
  (clearing.protocol.fields.margin_proof_bytes), 268,308 in hex, plus under
  1 KB of fields per member, so 256 MiB carries a margin batch of ~990
  members at S = 2,048 as a ledger event and ~2,000 as a protobuf
  MarginBatch (~2,000 / ~4,000 members at S = 1,000; 200 members at
  S = 2,048 are ~54 MB).  It stays far below gRPC's int32 limit and bounds
  the memory a received batch may take (held whole, a few times over, while
  it is decoded) to about 1 GB.  A larger batch fails with
  RESOURCE_EXHAUSTED (the cycle's margin is not recorded; the node answers
  as for any prover failure): CCPs beyond ~1,000 members at S = 2,048 need
  the batch split, which this version does not do.  The settle event (the
  S x I matrix in canonical JSON, 8.2 MB at I = S = 1,000) is bulk too:
  only the bulk channels stream a ledger with CCP-size scenario sets.
* the one large request, the operator's Settle (the S x I matrix as sint64
  varints, ~3.6 bytes per entry for a historical set), is held to the
  4 MiB request bound: 3.6 MB at I = S = 1,000 passes, but ~30 MB at
  S = 2,048 x I = 4,096 is refused (RESOURCE_EXHAUSTED at the operator's
  channel).  Raising it would raise what every member may send to the
  node's server too (gRPC bounds per server, not per method or caller); a
  CCP-size set needs an operator-only endpoint or a chunked upload (not
  done).

Identity.  The caller is its certificate: :func:`authenticate` reads the
TLS-verified peer certificate (parsed by :func:`clearing.services.pki.certificate_identity`)
and checks that role, name *and* Ed25519 identity key match the roster of the
configuration, so a certificate for the same name with another key (an old
PKI, a forged one from another CA never gets this far) is UNAUTHENTICATED.
That check runs once per certificate, not once per call: the resulting
:class:`Caller` is cached (:class:`IdentityCache`) keyed by the exact
certificate bytes the TLS handshake verified and by the roster it was
checked against.  The caller is a pure function of those two, so a hit
decides exactly what the full check would; a certificate not in the cache
(another client, a new connection with another certificate) is checked in
full, and a refused one is never cached -- it is refused on every call.
Each RPC then decides what the :class:`Caller` may do (a member only for
itself, the operator only on admin RPCs, the clearing node only for
node-driven prover steps) and raises :class:`Denied` otherwise.

Requests.  Every service is registered through :func:`build_server`, which
replaces the generated request deserializers: a request that does not decode
(garbage, a truncated field, invalid UTF-8 in a string, field number 0) or
whose integers are out of range (:func:`clearing.api.convert.check_integers`:
``since = 2^64 - 1``, ``amount = 0``, ...) becomes an :class:`Undecodable`
value instead of grpc's INTERNAL "Exception deserializing request!" with an
ERROR traceback; the handler answers INVALID_ARGUMENT (after authenticating
the caller, for the wrapped servicer methods; at once for health and
reflection).  A method a servicer leaves to the generated base class (the
node's ledger feed serves three of ClearingService's) answers UNIMPLEMENTED,
logged at INFO, instead of raising the base's NotImplementedError, which
grpc logs at ERROR with a traceback.

Handlers.  :func:`unary` and :func:`server_stream` wrap servicer methods:
they authenticate, log one line per call (method, caller, status -- never a
request field), and map exceptions to status codes that mean what they say.
:func:`status_of` is the one place that does it:

=====================================  ===================
exception                              status
=====================================  ===================
:class:`Abort` (explicit code)         its code
pki.AuthError                          UNAUTHENTICATED
clearing.protocol.errors.InvalidArgument        INVALID_ARGUMENT
(convert's ConversionError, an
:class:`Undecodable` request), zkp
DecodeError / VerificationError,
statements' StatementError, signing's
SignatureError / EncodingError /
KeyFormatError, relay's RelayError /
OpeningError, scenario errors,
OverflowError, any other ValueError
clearing.protocol.errors.FailedPrecondition,    FAILED_PRECONDITION
zkp ProvingError (the witness store's
Refused and Divergence)
clearing.protocol.errors.AlreadyExists          ALREADY_EXISTS
clearing.protocol.errors.PermissionDenied,      PERMISSION_DENIED
:class:`Denied`
clearing.protocol.errors.NotFound               NOT_FOUND
clearing.protocol.errors.LedgerCorrupted,       DATA_LOSS
the sealed store's StoreError,
a corrupt SQLite file
a full disk (SQLite's SQLITE_FULL,     RESOURCE_EXHAUSTED "disk full"
ENOSPC, EDQUOT), MemoryError
SQLite busy or I/O error               UNAVAILABLE
grpc.RpcError of a downstream call     its code, "downstream call failed:
                                       <details>"; INTERNAL, UNKNOWN,
                                       CANCELLED, UNIMPLEMENTED and the
                                       downstream's auth refusals become
                                       UNAVAILABLE (the caller did nothing
                                       wrong; the service's dependency failed)
anything else                          INTERNAL "internal error"
=====================================  ===================

Every message goes out through :func:`clearing.protocol.errors.capped` (control
characters escaped, at most 1,000 characters), whoever raised it; values
the client chose appear in messages only through
:func:`clearing.protocol.errors.shown`.  A bare ValueError is INVALID_ARGUMENT
"invalid argument" with its location logged (WARNING), and INTERNAL is
logged once at ERROR with the exception type and the traceback's frames
(file, line, function) -- never the exception's message, which might hold a
value.  A failing proof is reported with the engine's generic message (zkp's
VerificationError never says why).  :func:`require_time` aborts with
DEADLINE_EXCEEDED when the caller's deadline leaves less than the expected
cost of the work, *before* doing it.

Clients.  :class:`Client` wraps a stub so that every call carries a
deadline (a default per client, overridable per call); :class:`LazyClient`
opens one on first use (a node's client of another node).

Servers.  :func:`build_server` creates the server with health checking
(``grpc.health.v1``) and reflection for the given services -- both
``grpc.reflection.v1`` and ``grpc.reflection.v1alpha`` (grpcio-reflection
ships only v1alpha; the v1 protocol is the same messages under another
package, so the same servicer answers both) -- and binds the port (0 = any
free port; the bound port is returned), so tests start real servers
in-process.

Load.  A server runs ``max_workers`` handler threads and accepts up to
:data:`MAX_PENDING_RPCS` calls at once: calls beyond the workers wait in
the executor's queue (FIFO) and are served in turn, slower but served;
only a call beyond :data:`MAX_PENDING_RPCS` in flight is refused at once
with RESOURCE_EXHAUSTED ("Concurrent RPC limit exceeded!").  A streaming
call holds its worker until its stream ends.

Shutdown.  :func:`serve_forever` runs a server until SIGTERM/SIGINT and then
shuts down gracefully: health goes NOT_SERVING, new calls are refused, calls
in flight get ``grace`` seconds.
"""
from __future__ import annotations

import errno
import functools
import logging
import os
import signal
import sqlite3
import threading
import traceback
from collections.abc import Callable, Iterable
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

from clearing.api.convert import check_integers
from clearing.ccp.scenario import ScenarioError
from clearing.protocol import errors as ce
from clearing.protocol.relay import OpeningError, RelayError
from clearing.protocol.signing import EncodingError, KeyFormatError, SignatureError
from clearing.services.identity_cache import IdentityCache
from clearing.services.pki import AuthError, PkiError, Roster, certificate_identity
from zkp.errors import DecodeError, ProvingError, VerificationError
from zkp.statements import StatementError

log = logging.getLogger("zkclear.rpc")

#: Largest request a server accepts or a client sends, and largest answer a
#: non-bulk channel receives (bytes; module docstring).
MAX_MESSAGE_BYTES = 4 << 20
#: Largest answer on the internal bulk flows: a bulk server sends and a bulk
#: channel receives at most this (bytes; the bound is argued in the module
#: docstring).
MAX_BULK_BYTES = 256 << 20
#: Default deadline of a client call (seconds).
DEFAULT_TIMEOUT = 30.0
#: Grace period for calls in flight at shutdown (seconds).
SHUTDOWN_GRACE = 5.0
#: Calls a server accepts at once (running + queued for a worker); one more
#: is refused with RESOURCE_EXHAUSTED.
MAX_PENDING_RPCS = 256
#: Full name of the v1 reflection service (served next to v1alpha).
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"



def server_options(bulk: bool = False) -> list[tuple[str, int]]:
    """gRPC options of a server: requests up to MAX_MESSAGE_BYTES; answers
    up to MAX_BULK_BYTES when ``bulk`` (module docstring)."""
    return [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_BULK_BYTES if bulk else MAX_MESSAGE_BYTES)]


def channel_options(bulk: bool = False) -> list[tuple[str, int]]:
    """gRPC options of a client channel: requests up to MAX_MESSAGE_BYTES;
    answers up to MAX_BULK_BYTES when ``bulk`` (module docstring)."""
    return [("grpc.max_receive_message_length", MAX_BULK_BYTES if bulk else MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]


class Abort(Exception):
    """Raised by handler code to answer with an explicit status code."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


class Denied(Abort):
    """The authenticated caller may not perform this request."""

    def __init__(self, message: str):
        super().__init__(grpc.StatusCode.PERMISSION_DENIED, message)


class Undecodable:
    """What a request that could not be decoded (or whose integers are out of
    range) is handed to its handler as; ``reason`` names the message type or
    the field, never a value."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"Undecodable({self.reason!r})"


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

    def require_member(self, member: str, *, also: tuple[str, ...] = ()) -> None:
        """The caller is the member ``member`` itself, or a node/operator
        named in ``also`` (e.g. ``("node/clearing",)``)."""
        if self.role == "member" and self.name == member:
            return
        if f"{self.role}/{self.name}" in also:
            return
        raise Denied(f"{self!r} may not act for member {ce.shown(member)}")

    def require(self, *allowed: str) -> None:
        """The caller is one of ``allowed`` ("operator", "node/clearing", ...)."""
        who = f"{self.role}/{self.name}"
        if who in allowed or (self.role == "operator" and "operator" in allowed):
            return
        raise Denied(f"{who} may not call this RPC")


#: The process's authenticated callers (every server of the process shares it).
IDENTITIES = IdentityCache()


def _peer_pem(context: grpc.ServicerContext) -> bytes:
    """The client certificate the TLS handshake verified (PEM), else AuthError."""
    try:
        auth = context.auth_context()
    except Exception:  # noqa: BLE001 - any failure to read it means "no identity"
        raise AuthError("no authentication context") from None
    pems = auth.get("x509_pem_cert") if isinstance(auth, dict) else None
    if not pems or len(pems) != 1 or not isinstance(pems[0], (bytes, bytearray)):
        raise AuthError("caller presented no client certificate")
    return bytes(pems[0])


def check_identity(pem: bytes, roster: Roster) -> Caller:
    """The full check of a peer certificate against the roster (role, name
    and Ed25519 identity key), uncached; AuthError when it fails."""
    ident = certificate_identity(pem)
    try:
        party = roster.party(ident.name)
    except PkiError:
        raise AuthError("certificate names a party outside the configuration") from None
    if party.role != ident.role or party.ed25519_public != ident.ed25519_public:
        raise AuthError("certificate does not match the configured party")
    return Caller(ident.role, ident.name, ident.ed25519_public)


def authenticate(context: grpc.ServicerContext, roster: Roster, cache: IdentityCache | None = None) -> Caller:
    """The caller's identity from its TLS certificate, checked against the
    roster once per certificate (``cache``, default :data:`IDENTITIES`)."""
    cache = IDENTITIES if cache is None else cache
    pem = _peer_pem(context)
    caller = cache.get(roster, pem)
    if caller is None:
        caller = check_identity(pem, roster)
        cache.put(roster, pem, caller)
    return caller


_PASSED_DOWNSTREAM = frozenset(grpc.StatusCode[n] for n in (
    "INVALID_ARGUMENT", "FAILED_PRECONDITION", "NOT_FOUND", "ALREADY_EXISTS", "DEADLINE_EXCEEDED",
    "RESOURCE_EXHAUSTED", "ABORTED", "OUT_OF_RANGE", "DATA_LOSS", "UNAVAILABLE"))
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_INPUT_ERRORS = (StatementError, EncodingError, KeyFormatError, OpeningError, ScenarioError)


def _status(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    S = grpc.StatusCode
    if isinstance(exc, Abort):
        return exc.code, str(exc)
    if isinstance(exc, AuthError):
        return S.UNAUTHENTICATED, str(exc)
    if isinstance(exc, ce.InvalidArgument):
        return S.INVALID_ARGUMENT, str(exc)
    if isinstance(exc, VerificationError):
        return S.INVALID_ARGUMENT, "proof verification failed"
    if isinstance(exc, SignatureError):
        return S.INVALID_ARGUMENT, "signature verification failed"
    if isinstance(exc, RelayError):
        return S.INVALID_ARGUMENT, "sealed message rejected"
    if isinstance(exc, DecodeError):
        return S.INVALID_ARGUMENT, f"malformed input: {exc}"
    if isinstance(exc, _INPUT_ERRORS):
        return S.INVALID_ARGUMENT, str(exc)
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
    if type(exc).__name__ == "StoreError" and type(exc).__module__ == "prover.custody.sealed_store":
        return S.DATA_LOSS, "the prover's sealed store is unusable"
    if isinstance(exc, sqlite3.Error):
        return _sqlite_status(exc)
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        return S.RESOURCE_EXHAUSTED, "disk full (retry with the same request id once space is freed)"
    if isinstance(exc, MemoryError):
        return S.RESOURCE_EXHAUSTED, "out of memory"
    if isinstance(exc, OverflowError):
        return S.INVALID_ARGUMENT, "an integer is out of range"
    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        code = exc.code()
        details = exc.details() if hasattr(exc, "details") else ""
        if code in _PASSED_DOWNSTREAM:
            return code, f"downstream call failed: {details}"
        return S.UNAVAILABLE, f"downstream call failed ({getattr(code, 'name', code)}): {details}"
    if isinstance(exc, ValueError):
        return S.INVALID_ARGUMENT, "invalid argument"
    return S.INTERNAL, "internal error"


def _sqlite_status(exc: sqlite3.Error) -> tuple[grpc.StatusCode, str]:
    """A SQLite error by its primary result code (Python >= 3.11)."""
    S = grpc.StatusCode
    code = getattr(exc, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    if primary == sqlite3.SQLITE_FULL:
        return S.RESOURCE_EXHAUSTED, "disk full (retry with the same request id once space is freed)"
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN):
        return S.UNAVAILABLE, "a database is unavailable (busy or I/O error); retry"
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return S.DATA_LOSS, "a database is damaged"
    if isinstance(exc, sqlite3.DataError):  # e.g. an integer too large for SQLite
        return S.INVALID_ARGUMENT, "a value is out of range"
    return S.INTERNAL, "internal error"


def status_of(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and message answering an exception (table above); the
    message capped by :func:`clearing.protocol.errors.capped`."""
    code, message = _status(exc)
    return code, ce.capped(message)


def where(exc: BaseException, depth: int = 8) -> str:
    """The innermost ``depth`` frames of ``exc``'s traceback as
    "file:line function" (what a log may say about an unexpected error: no
    message, no values)."""
    frames = traceback.extract_tb(exc.__traceback__)[-depth:]
    return " < ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in reversed(frames))


def _fail(context, method: str, caller, exc: BaseException):
    code, message = status_of(exc)
    if code == grpc.StatusCode.INTERNAL:
        log.error("%s by %r: internal error: %s at %s", method, caller, type(exc).__name__, where(exc))
    elif type(exc) is ValueError:
        log.warning("%s by %r: INVALID_ARGUMENT (ValueError at %s)", method, caller, where(exc, 3))
    else:
        log.info("%s by %r: %s", method, caller, code.name)
    context.abort(code, message)


def _decoded(request):
    """``request``, or InvalidArgument when it did not decode."""
    if isinstance(request, Undecodable):
        raise ce.InvalidArgument(request.reason)
    return request


def unary(fn: Callable) -> Callable:
    """Wrap a unary servicer method ``fn(self, request, context, caller)``."""
    @functools.wraps(fn)
    def wrapper(self, request, context):
        caller = None
        try:
            caller = authenticate(context, self.roster)
            result = fn(self, _decoded(request), context, caller)
        except Exception as exc:  # noqa: BLE001 - every exception becomes a status
            _fail(context, fn.__name__, caller, exc)
        log.info("%s by %r: OK", fn.__name__, caller)
        return result
    return _checks_requests(wrapper)


def server_stream(fn: Callable) -> Callable:
    """Wrap a server-streaming servicer method (a generator)."""
    @functools.wraps(fn)
    def wrapper(self, request, context):
        caller = None
        try:
            caller = authenticate(context, self.roster)
            yield from fn(self, _decoded(request), context, caller)
        except Exception as exc:  # noqa: BLE001
            _fail(context, fn.__name__, caller, exc)
        log.info("%s by %r: OK", fn.__name__, caller)
    return _checks_requests(wrapper)


def _checks_requests(wrapper: Any) -> Callable:
    """Mark ``wrapper`` as refusing :class:`Undecodable` requests itself
    (:func:`_guarded` then serves it as it is)."""
    wrapper.checks_requests = True
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
def _request_decoder(parse: Callable[[bytes], Any], check: Callable[[Any], None] | None):
    """A request deserializer that never raises: the message, or an
    :class:`Undecodable` naming the message type (or, from ``check``, the
    field out of range)."""
    desc = getattr(getattr(parse, "__self__", None), "DESCRIPTOR", None)
    what = f"malformed request: not a valid {desc.full_name if desc is not None else 'request'} message"

    def decode(data: bytes):
        try:
            msg = parse(data)
        except Exception:  # noqa: BLE001 - protobuf's DecodeError and anything a parser may raise
            return Undecodable(what)
        if check is not None:
            try:
                check(msg)
            except ce.InvalidArgument as exc:
                return Undecodable(str(exc))
        return msg
    return decode


def _generated_default(fn) -> bool:
    """``fn`` is a generated servicer base method, i.e. a method of the
    service this servicer does not implement (it would raise
    NotImplementedError, which grpc logs at ERROR with a traceback)."""
    return getattr(getattr(fn, "__func__", fn), "__module__", "").endswith("_pb2_grpc")


def _unimplemented(method: str) -> Callable:
    def behavior(request, context):
        log.info("%s: UNIMPLEMENTED (not served here)", method)
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "method not implemented by this server")
    return behavior


def _refuse_undecodable(context, method: str, reason: str) -> None:
    log.info("%s: INVALID_ARGUMENT (undecodable request)", method)
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, ce.capped(reason))


def _guarded(handler: grpc.RpcMethodHandler, check, method: str) -> grpc.RpcMethodHandler:
    """``handler`` with a request deserializer that never raises
    (:func:`_request_decoder`); a behavior that does not check for
    :class:`Undecodable` itself (health, reflection) answers INVALID_ARGUMENT
    for one; a method the servicer leaves to the generated base class (the
    ledger feed serves three of ClearingService's) answers UNIMPLEMENTED
    without the base method's exception."""
    streaming_in, streaming_out = handler.request_streaming, handler.response_streaming
    fn = {(False, False): handler.unary_unary, (False, True): handler.unary_stream,
          (True, False): handler.stream_unary, (True, True): handler.stream_stream}[streaming_in, streaming_out]
    if handler.request_deserializer is None or fn is None:  # the generated code always sets both
        raise TypeError(f"{method}: a method handler needs a request deserializer and a behavior")
    decode = _request_decoder(handler.request_deserializer, check)
    if not streaming_in and _generated_default(fn):
        behavior = _unimplemented(method)
    elif streaming_in:
        def behavior(requests, context):
            def checked():
                for r in requests:
                    if isinstance(r, Undecodable):
                        _refuse_undecodable(context, method, r.reason)
                    yield r
            return fn(checked(), context)
    elif getattr(fn, "checks_requests", False):
        behavior = fn
    else:
        def behavior(request, context):
            if isinstance(request, Undecodable):
                _refuse_undecodable(context, method, request.reason)
            return fn(request, context)
    make = {(False, False): grpc.unary_unary_rpc_method_handler, (False, True): grpc.unary_stream_rpc_method_handler,
            (True, False): grpc.stream_unary_rpc_method_handler,
            (True, True): grpc.stream_stream_rpc_method_handler}[streaming_in, streaming_out]
    return make(behavior, request_deserializer=decode, response_serializer=handler.response_serializer)


class _Collector:
    """Stands in for the server while a generated ``add_XServicer_to_server``
    runs: collects its method handlers per service instead of registering
    them (the generated code registers the same handlers both ways)."""

    def __init__(self):
        self.services: dict[str, dict[str, grpc.RpcMethodHandler]] = {}

    def add_generic_rpc_handlers(self, handlers) -> None:
        pass

    def add_registered_method_handlers(self, service: str, handlers: dict) -> None:
        self.services[service] = dict(handlers)


def _register(server: grpc.Server, service: str, handlers: dict, check) -> None:
    guarded = {m: _guarded(h, check, m) for m, h in handlers.items()}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, guarded),))
    server.add_registered_method_handlers(service, guarded)


def _add(server: grpc.Server, add: Callable, servicer, check) -> list[str]:
    """Register ``add(servicer, server)``'s services with guarded
    deserializers; returns the service names."""
    collector = _Collector()
    add(servicer, collector)
    if not collector.services:
        raise RuntimeError(f"{getattr(add, '__name__', add)} registered no method handlers")
    for service, handlers in collector.services.items():
        _register(server, service, handlers, check)
    return list(collector.services)


def _reflection_v1_file() -> None:
    """Put ``grpc/reflection/v1/reflection.proto`` into the default descriptor
    pool (so reflection describes the v1 service too): v1alpha's file with
    the package renamed -- the two protocols have the same messages and
    field numbers."""
    try:  # a grpcio-reflection that ships v1 registers the real file
        import grpc_reflection.v1.reflection_pb2  # noqa: F401
    except ImportError:
        pass
    pool = descriptor_pool.Default()
    name = "grpc/reflection/v1/reflection.proto"
    try:
        pool.FindFileByName(name)
        return
    except KeyError:
        pass
    old, new = ".grpc.reflection.v1alpha.", ".grpc.reflection.v1."
    fdp = descriptor_pb2.FileDescriptorProto.FromString(reflection_pb2.DESCRIPTOR.serialized_pb)
    fdp.name, fdp.package = name, "grpc.reflection.v1"
    fdp.ClearField("options")

    def rename(messages):
        for m in messages:
            for f in m.field:
                if f.type_name.startswith(old):
                    f.type_name = new + f.type_name[len(old):]
            rename(m.nested_type)
    rename(fdp.message_type)
    for svc in fdp.service:
        for m in svc.method:
            m.input_type = new + m.input_type[len(old):]
            m.output_type = new + m.output_type[len(old):]
    pool.Add(fdp)


def _enable_reflection(server: grpc.Server, names: list[str]) -> None:
    """Reflection v1alpha and v1 (one servicer, the same wire messages)."""
    _reflection_v1_file()
    servicer = reflection.ReflectionServicer(names + [reflection.SERVICE_NAME, REFLECTION_V1])
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString)
    for service in (reflection.SERVICE_NAME, REFLECTION_V1):
        _register(server, service, {"ServerReflectionInfo": handler}, None)


def build_server(identity, services: Iterable[tuple[Callable, Any, str]], *, host: str = "127.0.0.1",
                 port: int = 0, max_workers: int = 8, max_pending: int = MAX_PENDING_RPCS,
                 bulk: bool = False) -> tuple[grpc.Server, int, health.HealthServicer]:
    """A started mTLS server with health and reflection.

    ``services``: (add_XServicer_to_server, servicer, full service name);
    each is registered with guarded request deserializers (module
    docstring).  ``max_workers`` handler threads, at most ``max_pending``
    calls accepted at once; answers up to MAX_BULK_BYTES when ``bulk``
    (requests always up to MAX_MESSAGE_BYTES).  Returns (server, bound
    port, health servicer)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc"),
                         options=server_options(bulk), maximum_concurrent_rpcs=max_pending)
    names = []
    for add, servicer, name in services:
        registered = _add(server, add, servicer, check_integers)
        if name not in registered:
            raise RuntimeError(f"{name} is not among the services registered: {registered}")
        names.append(name)
    health_servicer = health.HealthServicer()
    _add(server, health_pb2_grpc.add_HealthServicer_to_server, health_servicer, None)
    _enable_reflection(server, names + [health.SERVICE_NAME])
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
                  on_stop: Callable[[], None] | None = None, on_signal: Callable[[], None] | None = None) -> None:
    """Block until SIGTERM or SIGINT, then stop gracefully (``on_signal()``
    first: e.g. end the streams that would otherwise hold the grace period;
    ``on_stop()`` once the server stopped)."""
    stopping = threading.Event()

    def stop(signum, frame):
        if stopping.is_set():
            return
        stopping.set()
        log.info("signal %d: shutting down (grace %.1fs)", signum, grace)
        health_servicer.enter_graceful_shutdown()
        if on_signal is not None:
            on_signal()
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
        hub = getattr(self.resource, "hub", None)
        if hub is not None:  # end the long-lived streams now, not after the grace period
            hub.close()
        self.grpc_server.stop(grace).wait()
        self.resource.close()

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        return self.grpc_server.wait_for_termination(timeout)

    def __repr__(self) -> str:
        return f"Server(port={self.port})"



# -- clients ------------------------------------------------------------------------
def channel(identity, target: str, *, bulk: bool = False) -> grpc.Channel:
    """An mTLS channel to ``target`` ("host:port") as ``identity``; it
    receives answers up to MAX_BULK_BYTES when ``bulk`` (module docstring)."""
    return grpc.secure_channel(target, identity.channel_credentials(), options=channel_options(bulk))


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

    ``LazyClient(identity, stub_class, target, timeout, what, bulk=False)``;
    ``what`` names the service in that error; ``bulk``: the channel receives
    answers up to MAX_BULK_BYTES.  ``retarget`` points it at another
    address (a restarted service), closing the old channel."""

    def __init__(self, identity, stub_class, target: str | None, timeout: float, what: str, *,
                 bulk: bool = False):
        self.identity = identity
        self.bulk = bulk
        self.stub_class = stub_class
        self.target = target
        self.timeout = timeout
        self.what = what
        self._channel: grpc.Channel | None = None
        self._client: Client | None = None

    def __repr__(self) -> str:
        return f"LazyClient({self.what!r}, target={self.target!r})"

    def get(self) -> Client:
        if self._client is None:
            if self.target is None:
                raise Abort(grpc.StatusCode.UNAVAILABLE, f"no {self.what} configured")
            self._channel = channel(self.identity, self.target, bulk=self.bulk)
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
        stub: Any = health_pb2_grpc.HealthStub(ch)  # types-grpcio-health-checking omits its methods
        res = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(res.status)


__all__ = [
    "MAX_MESSAGE_BYTES", "MAX_BULK_BYTES", "server_options", "channel_options", "DEFAULT_TIMEOUT",
    "MAX_PENDING_RPCS", "REFLECTION_V1", "Abort", "Denied", "Undecodable",
    "Caller", "IdentityCache", "IDENTITIES", "authenticate", "check_identity", "status_of", "where",
    "unary", "server_stream", "require_time", "build_server", "Server", "serve_forever", "channel", "Client",
    "LazyClient", "health_check",
]
