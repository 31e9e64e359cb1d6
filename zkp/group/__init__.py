"""BN254 (alt_bn128) G1: one small group interface, interchangeable backends.

Backends (all computing the same group; ``pyecc`` is the reference oracle):

=========  ===============================================================
``pyecc``  py_ecc's optimized_bn128 -- slow, the reference for tests
``ints``   Jacobian coordinates over plain Python ints
``gmpy2``  the same formulas over gmpy2 integers (the pure default)
``mcl``    optional native backend (``pip install zkclear[mcl]``), about
           8x faster; unavailable if its load-time self-check against
           py_ecc fails
=========  ===============================================================

Default (:func:`default_backend_name`): ``mcl`` when it loads (wheel
installed *and* self-check passed), else ``gmpy2``, else ``ints`` -- the
pure backends are always available.  ``ZKCLEAR_BACKEND`` overrides the
choice, or :func:`set_backend` / :func:`use_backend` in-process.  Protocol code works with
:class:`Point` values (operators ``+ - *``), and with :func:`msm` for
multi-scalar multiplication; hot loops reach the backend's raw functions.
The backend interface (what each function computes, and how raw points are
typed) is :class:`~zkp.group.backend.GroupBackend`; :data:`Backend` and
:data:`RawPoint` are its erased form, what this module hands out.

Encoding (32 bytes, compressed): big-endian x in the low 254 bits; the top
byte carries two flags -- ``0x80`` set iff y is odd, ``0x40`` marks the
identity, whose only encoding is ``0x40`` followed by 31 zero bytes.
Decoding is strict: wrong length, unknown flag combinations, x >= p, x not
on the curve, and (unless explicitly allowed) the identity are rejected with
:class:`~zkp.errors.DecodeError`.  BN254 G1 has cofactor 1, so every curve
point is in the prime-order group.
"""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar, cast

from ..errors import BackendError, DecodeError
from ..field import P, R
from .backend import Affine, Backend, FixedBaseTable, GroupBackend, RawPoint

try:  # optional accelerator for square roots (decoding, hash-to-curve)
    import gmpy2 as _gmpy2
except ImportError:  # pragma: no cover - exercised by monkeypatching in tests
    _gmpy2 = None

POINT_BYTES = 32
_SIGN = 0x80
_INFINITY = 0x40
_X_MASK = (1 << 254) - 1
_B = 3  # y^2 = x^3 + 3
_SQRT_EXP = (P + 1) // 4  # p = 3 (mod 4)

_BACKENDS: dict[str, Backend] = {}

_RawT = TypeVar("_RawT")


def _opaque(backend: GroupBackend[_RawT]) -> Backend:
    # Erase the raw type: a raw point only ever returns to the backend that
    # made it (Point checks backend identity), see zkp.group.backend.
    return cast(Backend, backend)


#: Serialises backend loading: two threads of a fresh process must not run a
#: native library's initialisation and self-check at the same time (mcl
#: crashed with SIGSEGV/SIGABRT when they did).
_LOAD_LOCK = threading.RLock()


def _load(name: str) -> Backend:
    with _LOAD_LOCK:
        return _load_locked(name)


def _load_locked(name: str) -> Backend:
    if name in _BACKENDS:
        return _BACKENDS[name]
    if name not in ("pyecc", "ints", "gmpy2", "mcl"):
        raise BackendError(f"unknown group backend {name!r}")
    try:
        if name == "pyecc":
            from .pyecc_backend import pyecc_backend

            backend = _opaque(pyecc_backend())
        elif name == "ints":
            from .jacobian import ints_backend

            backend = _opaque(ints_backend())
        elif name == "gmpy2":
            from .jacobian import gmpy2_backend

            backend = _opaque(gmpy2_backend())
        else:
            from .mcl_backend import mcl_backend

            backend = _opaque(mcl_backend())
    except ImportError as exc:
        raise BackendError(f"group backend {name!r} is not available: {exc}") from None
    _BACKENDS[name] = backend
    return backend


def available_backends() -> list[str]:
    """Names of the backends that load on this machine (reference first)."""
    names: list[str] = []
    for name in ("pyecc", "ints", "gmpy2", "mcl"):
        try:
            _load(name)
        except BackendError:
            continue
        names.append(name)
    return names


#: Auto-selection order: the native backend when it loads, then the pure ones.
PREFERENCE = ("mcl", "gmpy2", "ints")


def default_backend_name() -> str:
    """``$ZKCLEAR_BACKEND`` if set, else the first of :data:`PREFERENCE` that
    loads.  A refused mcl (wheel absent, or its self-check against py_ecc
    failed) falls through to the pure backends."""
    env = os.environ.get("ZKCLEAR_BACKEND")
    if env:
        return env
    for name in PREFERENCE:
        try:
            _load(name)
            return name
        except BackendError:
            continue
    return "ints"


_current: Backend | None = None


def get_backend() -> Backend:
    """The process-wide backend (chosen by :func:`default_backend_name` on
    first use)."""
    global _current
    if _current is None:
        with _LOAD_LOCK:
            if _current is None:
                _current = _load(default_backend_name())
    return _current


def set_backend(name: str) -> Backend:
    """Make ``name`` the process-wide backend; returns the backend object."""
    global _current
    _current = _load(name)
    return _current


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[Backend]:
    """Make ``name`` the process-wide backend for the ``with`` block."""
    global _current
    previous = _current
    _current = _load(name)
    try:
        yield _current
    finally:
        _current = previous


class Point:
    """An element of BN254 G1 held in one backend's representation."""

    __slots__ = ("b", "raw")

    b: Backend
    raw: RawPoint

    def __init__(self, backend: Backend, raw: RawPoint):
        self.b = backend
        self.raw = raw

    # -- constructors -------------------------------------------------------
    @classmethod
    def identity(cls, backend: Backend | None = None) -> Point:
        b = backend or get_backend()
        return cls(b, b.identity())

    @classmethod
    def generator(cls, backend: Backend | None = None) -> Point:
        """The curve's standard generator (1, 2).  Never used as a
        commitment base -- those come from hash-to-curve."""
        b = backend or get_backend()
        return cls(b, b.generator())

    @classmethod
    def from_affine(cls, x: int, y: int, backend: Backend | None = None) -> Point:
        """Build from affine coordinates, checking the curve equation."""
        if not (0 <= x < P and 0 <= y < P) or (y * y - x * x * x - _B) % P:
            raise DecodeError("point is not on the curve")
        b = backend or get_backend()
        return cls(b, b.from_affine(x, y))

    # -- arithmetic ---------------------------------------------------------
    def _same(self, other: object) -> bool:
        """True for a Point of this backend, False for anything that is not
        a Point (the operator returns NotImplemented); BackendError for a
        Point of another backend."""
        if not isinstance(other, Point):
            return False
        if other.b is not self.b:
            raise BackendError("points from different backends")
        return True

    def __add__(self, other: Point) -> Point:
        if not self._same(other):
            return NotImplemented
        return Point(self.b, self.b.add(self.raw, other.raw))

    def __sub__(self, other: Point) -> Point:
        if not self._same(other):
            return NotImplemented
        return Point(self.b, self.b.sub(self.raw, other.raw))

    def __neg__(self) -> Point:
        return Point(self.b, self.b.neg(self.raw))

    def __mul__(self, k: int) -> Point:
        if not isinstance(k, int):
            return NotImplemented
        return Point(self.b, self.b.mul(self.raw, k % R))

    __rmul__ = __mul__

    def double(self) -> Point:
        return Point(self.b, self.b.dbl(self.raw))

    def is_identity(self) -> bool:
        return bool(self.b.is_identity(self.raw))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Point):
            return NotImplemented
        if other.b is not self.b:
            return self.encode() == other.encode()
        return bool(self.b.eq(self.raw, other.raw))

    def __hash__(self) -> int:
        return hash(self.encode())

    def __repr__(self) -> str:
        return f"Point({self.encode().hex()})"

    # -- conversion ----------------------------------------------------------
    def affine(self) -> Affine | None:
        """(x, y) as ints, or None for the identity."""
        a = self.b.to_affine(self.raw)
        return None if a is None else (int(a[0]), int(a[1]))

    def to_backend(self, backend: Backend) -> Point:
        if backend is self.b:
            return self
        a = self.affine()
        if a is None:
            return Point(backend, backend.identity())
        return Point(backend, backend.from_affine(*a))

    def encode(self) -> bytes:
        return _encode_affine(self.affine())

    @classmethod
    def decode(cls, data: bytes, *, allow_identity: bool = False,
               backend: Backend | None = None) -> Point:
        b = backend or get_backend()
        a = decode_affine(data, allow_identity=allow_identity)
        if a is None:
            return cls(b, b.identity())
        return cls(b, b.from_affine(*a))


def _encode_affine(a: Affine | None) -> bytes:
    if a is None:
        return bytes([_INFINITY]) + bytes(POINT_BYTES - 1)
    x, y = a
    out = bytearray(x.to_bytes(POINT_BYTES, "big"))
    if y & 1:
        out[0] |= _SIGN
    return bytes(out)


def encode_points(points: Sequence[Point]) -> list[bytes]:
    """Encode many points with one field inversion per backend."""
    if not points:
        return []
    b = points[0].b
    if any(pt.b is not b for pt in points):
        return [pt.encode() for pt in points]
    aff = b.batch_affine([pt.raw for pt in points])
    return [_encode_affine(None if a is None else (int(a[0]), int(a[1]))) for a in aff]


def sqrt_fp(a: int) -> int | None:
    """Square root in F_p (p = 3 mod 4), or None when a is not a square.

    y = a^((p+1)/4) satisfies y^2 = a * a^((p-1)/2) = a exactly when a is a
    square (Euler's criterion); the result is checked.  gmpy2's powmod is
    about seven times faster than ``pow`` on ints and is used when present."""
    a %= P
    if _gmpy2 is not None:
        y = int(_gmpy2.powmod(a, _SQRT_EXP, P))
    else:
        y = pow(a, _SQRT_EXP, P)
    return y if y * y % P == a else None


def decode_affine(data: bytes | bytearray | memoryview, *, allow_identity: bool = False) -> Affine | None:
    """Strictly decode 32 bytes into affine (x, y), or None for the identity."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("point must be bytes")
    data = bytes(data)
    if len(data) != POINT_BYTES:
        raise DecodeError(f"point must be {POINT_BYTES} bytes, got {len(data)}")
    flags = data[0] & (_SIGN | _INFINITY)
    if flags & _INFINITY:
        if data != bytes([_INFINITY]) + bytes(POINT_BYTES - 1):
            raise DecodeError("malformed identity encoding")
        if not allow_identity:
            raise DecodeError("identity point not allowed here")
        return None
    x = int.from_bytes(data, "big") & _X_MASK
    if x >= P:
        raise DecodeError("point x-coordinate not canonical (>= p)")
    y = sqrt_fp((x * x * x + _B) % P)
    if y is None:
        raise DecodeError("point is not on the curve")
    if (y & 1) != bool(flags & _SIGN):
        y = P - y
    return (x, y)


def msm(points: Sequence[Point], scalars: Sequence[int]) -> Point:
    """sum_i scalars[i] * points[i] in one multi-scalar multiplication."""
    if len(points) != len(scalars):
        raise ValueError("msm: points and scalars differ in length")
    if not points:
        return Point.identity()
    b = points[0].b
    raws: list[RawPoint] = []
    for pt in points:
        if pt.b is not b:
            raise BackendError("points from different backends")
        raws.append(pt.raw)
    return Point(b, b.msm(raws, [k % R for k in scalars]))


def msm_rows(points: Sequence[Point], rows: Sequence[Sequence[int]]) -> list[Point]:
    """``[msm(points, row) for row in rows]``, sharing the per-point work
    (tables) between rows where the backend can (the pure backends'
    ``msm_rows``); other backends run one MSM per row."""
    if not points:
        return [Point.identity() for _ in rows]
    b = points[0].b
    raws: list[RawPoint] = []
    for pt in points:
        if pt.b is not b:
            raise BackendError("points from different backends")
        raws.append(pt.raw)
    for row in rows:
        if len(row) != len(points):
            raise ValueError("msm_rows: a row and the points differ in length")
    reduced = [[k % R for k in row] for row in rows]
    many = b.msm_rows
    if many is not None:
        return [Point(b, r) for r in many(raws, reduced)]
    return [Point(b, b.msm(raws, row)) for row in reduced]


def point_sum(points: Iterable[Point], backend: Backend | None = None) -> Point:
    """The sum of ``points`` (the identity of ``backend`` when empty)."""
    it = iter(points)
    try:
        acc = next(it)
    except StopIteration:
        return Point.identity(backend)
    raw = acc.raw
    b = acc.b
    for pt in it:
        if pt.b is not b:
            raise BackendError("points from different backends")
        raw = b.add(raw, pt.raw)
    return Point(b, raw)


class FixedBase:
    """Precomputed table for repeated multiplication of one fixed point."""

    __slots__ = ("point", "_table")

    point: Point
    _table: FixedBaseTable[RawPoint]

    def __init__(self, point: Point):
        self.point = point
        self._table = point.b.fixed_base(point.raw)

    def mul(self, k: int) -> Point:
        return Point(self.point.b, self._table.mul(k % R))


__all__ = [
    "Point", "FixedBase", "msm", "msm_rows", "point_sum", "encode_points", "decode_affine",
    "sqrt_fp", "get_backend", "set_backend", "use_backend", "available_backends",
    "default_backend_name", "POINT_BYTES", "Backend", "GroupBackend", "RawPoint", "Affine",
]
