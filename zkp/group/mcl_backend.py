"""Optional native backend: herumi's MCL through the ``mclbn256`` wheel (MIT).

Install with ``pip install zkclear[mcl]``; once installed it is the default
backend whenever it loads (``ZKCLEAR_BACKEND`` or
:func:`zkp.group.set_backend` still choose another).

What the wheel gives and how it is used
---------------------------------------
``mclbn256`` ships MCL as a shared library and a thin ``ctypes`` layer.  Its
import initialises MCL for *its* default curve, ``mclBn_CurveFp254BNb`` --
a different BN curve (y^2 = x^3 + 2 over another p), so nothing here would
be BN254 without re-initialising.  This module therefore calls
``mclBn_init(MCL_BN_SNARK1 = 4, MCLBN_COMPILED_TIME_VAR = 44)``, which makes
MCL's G1 the alt_bn128 / BN254 group of py_ecc: y^2 = x^3 + 3 over the
same p, order r.  The initialisation is process-wide: any other user of
``mclbn256`` in the same process then sees BN254 too.

Before the backend is handed out, :func:`_self_check` compares MCL with
py_ecc: curve type, field characteristic and group order; the generator
(1, 2) is on the curve; a fixed multiple of it, a doubling, -(1, 2) via
(r-1)*(1, 2), and a two-term MSM all equal py_ecc's values.  Any mismatch
raises :class:`ImportError`, so the loader reports the backend unavailable
instead of computing in the wrong group.

Pairings are never called: the wheel's Python pairing helpers keep a
precompute buffer sized for its default curve, which overflows after the
switch to BN_SNARK1 (a segfault), and this project needs no pairing.

Raw representation
------------------
A point is a ``ctypes`` array of 12 ``uint64`` -- MCL's ``mclBnG1``: Jacobian
(X, Y, Z), each coordinate an ``mclBnFp`` of 4 limbs in Montgomery form.
The all-zero array (Z = 0) is the identity.  Values are treated as
immutable: every operation writes a fresh array.  Coordinates cross the
boundary only through MCL's own little-endian getters and setters
(``mclBnFp_getLittleEndian`` / ``mclBnFp_setLittleEndianMod``); scalars
through ``mclBnFr_setLittleEndianMod`` after reduction mod r in Python.

Multi-scalar multiplication is MCL's native ``mclBnG1_mulVec`` (its own
GLV + Pippenger); inputs are copied into fresh contiguous arrays because
some MCL versions normalise the input points in place.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from ctypes import CDLL, Array, byref, c_char, c_int, c_int64, c_size_t, c_uint64, create_string_buffer

from ..errors import BackendError, DecodeError
from ..field import P as _P
from ..field import R as _R
from .backend import Affine, GroupBackend

MCL_BN_SNARK1 = 4
_FP_UNIT_SIZE = 4
_COMPILED_TIME_VAR = _FP_UNIT_SIZE * 10 + _FP_UNIT_SIZE
_FP_BYTES = 32
_G1_BYTES = 3 * _FP_BYTES

_G1 = c_uint64 * (3 * _FP_UNIT_SIZE)
_FR = c_uint64 * _FP_UNIT_SIZE

#: A raw point: MCL's mclBnG1, 12 uint64 limbs.
G1 = Array[c_uint64]
#: A C function of the library: ctypes converts its result by ``restype``
#: (an int for the integer types, None for ``restype=None``).
CFunction = Callable[..., "int | None"]

_STATE: dict[str, CDLL] = {}


def _library() -> CDLL:
    """The wheel's library handle, initialised for BN_SNARK1 (once)."""
    if "lib" in _STATE:
        return _STATE["lib"]
    try:
        from mclbn256 import mclbn256 as _wheel
    except ImportError:
        raise
    except Exception as exc:  # noqa: BLE001 - the wheel runs self-tests at import time
        raise ImportError(f"mclbn256 failed to load: {exc!r}") from None
    lib: CDLL = _wheel.lib
    try:
        init = lib["mclBn_init"]
    except AttributeError as exc:
        raise ImportError(f"mclbn256 library lacks mclBn_init: {exc}") from None
    rc = init(MCL_BN_SNARK1, _COMPILED_TIME_VAR)
    if rc != 0:
        raise ImportError(f"mclBn_init(BN_SNARK1) failed with code {rc}")
    _STATE["lib"] = lib
    return lib


def _fn(lib: CDLL, name: str, restype: type[c_int] | type[c_size_t] | None = None) -> CFunction:
    """A private function object (the wheel's own attributes stay untouched)."""
    try:
        f = lib[name]
    except AttributeError:
        raise ImportError(f"mclbn256 library lacks {name}") from None
    f.restype = restype
    return f


def mcl_backend() -> GroupBackend[G1]:
    """The backend record over mclbn256. Long by design: a closure factory binding each native
    function once (ctypes lookups off the hot path), then the initialisation self-check against
    py_ecc."""
    lib = _library()

    g1_add = _fn(lib, "mclBnG1_add")
    g1_sub = _fn(lib, "mclBnG1_sub")
    g1_dbl = _fn(lib, "mclBnG1_dbl")
    g1_neg = _fn(lib, "mclBnG1_neg")
    g1_mul = _fn(lib, "mclBnG1_mul")
    g1_mulvec = _fn(lib, "mclBnG1_mulVec")
    g1_normalize = _fn(lib, "mclBnG1_normalize")
    g1_is_zero = _fn(lib, "mclBnG1_isZero", c_int)
    g1_is_equal = _fn(lib, "mclBnG1_isEqual", c_int)
    g1_is_valid = _fn(lib, "mclBnG1_isValid", c_int)
    fp_set = _fn(lib, "mclBnFp_setLittleEndianMod", c_int)
    fp_get = _fn(lib, "mclBnFp_getLittleEndian", c_size_t)
    fp_set_int = _fn(lib, "mclBnFp_setInt")
    fr_set = _fn(lib, "mclBnFr_setLittleEndianMod", c_int)
    curve_type = _fn(lib, "mclBn_getCurveType", c_int)
    curve_order = _fn(lib, "mclBn_getCurveOrder", c_size_t)
    field_order = _fn(lib, "mclBn_getFieldOrder", c_size_t)

    SIZE_FP = c_size_t(_FP_BYTES)
    ONE = c_int64(1)
    INF = _G1()

    def identity() -> G1:
        return _G1()

    def is_identity(A: G1) -> bool:
        return bool(g1_is_zero(A))

    def add(A: G1, B: G1) -> G1:
        C = _G1()
        g1_add(C, A, B)
        return C

    def sub(A: G1, B: G1) -> G1:
        C = _G1()
        g1_sub(C, A, B)
        return C

    def dbl(A: G1) -> G1:
        C = _G1()
        g1_dbl(C, A)
        return C

    def neg(A: G1) -> G1:
        C = _G1()
        g1_neg(C, A)
        return C

    def eq(A: G1, B: G1) -> bool:
        return bool(g1_is_equal(A, B))

    def _fr(k: int) -> Array[c_uint64]:
        f = _FR()
        fr_set(f, (k % _R).to_bytes(32, "little"), SIZE_FP)
        return f

    def mul(A: G1, k: int) -> G1:
        C = _G1()
        k %= _R
        if k:
            g1_mul(C, A, _fr(k))
        return C

    def msm(points: Sequence[G1], scalars: Sequence[int]) -> G1:
        n = len(points)
        if n != len(scalars):
            raise ValueError("msm: points and scalars differ in length")
        C = _G1()
        if not n:
            return C
        xs = (_G1 * n).from_buffer_copy(b"".join(map(bytes, points)))
        ys = (_FR * n)()
        for i, k in enumerate(scalars):
            fr_set(byref(ys, 32 * i), (k % _R).to_bytes(32, "little"), SIZE_FP)
        g1_mulvec(C, xs, ys, c_size_t(n))
        return C

    def _coord(A: G1, offset: int, buf: Array[c_char]) -> int:
        n = fp_get(buf, SIZE_FP, byref(A, offset))
        if not n:
            raise BackendError("mclBnFp_getLittleEndian failed")
        return int.from_bytes(buf.raw[:n], "little")

    def to_affine(A: G1) -> Affine | None:
        if g1_is_zero(A):
            return None
        N = _G1()
        g1_normalize(N, A)
        buf = create_string_buffer(_FP_BYTES)
        return (_coord(N, 0, buf), _coord(N, _FP_BYTES, buf))

    def batch_affine(points: Sequence[G1]) -> list[Affine | None]:
        return [to_affine(A) for A in points]

    def from_affine(x: int, y: int) -> G1:
        x = int(x)
        y = int(y)
        if not (0 <= x < _P and 0 <= y < _P):
            raise DecodeError("point is not on the curve")
        A = _G1()
        fp_set(byref(A, 0), x.to_bytes(32, "little"), SIZE_FP)
        fp_set(byref(A, _FP_BYTES), y.to_bytes(32, "little"), SIZE_FP)
        fp_set_int(byref(A, 2 * _FP_BYTES), ONE)
        if not g1_is_valid(A):
            raise DecodeError("point is not on the curve")
        return A

    def generator() -> G1:
        return from_affine(1, 2)

    class FixedBase:
        """MCL's windowed GLV multiplication is already faster than any
        table lookup through ctypes; the 'table' is the normalised base."""

        __slots__ = ("A",)

        def __init__(self, A: G1, w: int | None = None):
            N = _G1()
            g1_normalize(N, A)
            self.A = N

        def mul(self, k: int) -> G1:
            return mul(self.A, k)

    def self_check() -> None:
        if curve_type() != MCL_BN_SNARK1:
            raise ImportError("MCL is not initialised for BN_SNARK1")
        buf = create_string_buffer(128)
        n = curve_order(buf, c_size_t(128))
        if buf.raw[:n] != str(_R).encode():
            raise ImportError("MCL group order is not BN254's r")
        n = field_order(buf, c_size_t(128))
        if buf.raw[:n] != str(_P).encode():
            raise ImportError("MCL field is not BN254's F_p")
        from py_ecc.fields import optimized_bn128_FQ as FQ
        from py_ecc.optimized_bn128 import optimized_curve as bn

        def ref(pt: tuple[FQ, FQ, FQ]) -> Affine:
            x, y = bn.normalize(pt)
            return (int(x), int(y))

        G = generator()
        k = 0x2B1C5E0D3F8A79460C1E9B7D5A3F2E1D0C9B8A7F6E5D4C3B2A190817263544
        checks = [
            (to_affine(G), (1, 2)),
            (to_affine(mul(G, k)), ref(bn.multiply(bn.G1, k))),
            (to_affine(dbl(G)), ref(bn.double(bn.G1))),
            (to_affine(add(G, G)), ref(bn.double(bn.G1))),
            (to_affine(mul(G, _R - 1)), ref(bn.neg(bn.G1))),
            (to_affine(msm([G, dbl(G)], [k, 3])), ref(bn.multiply(bn.G1, (k + 6) % _R))),
        ]
        for got, want in checks:
            if got != want:
                raise ImportError("mclbn256 does not compute BN254 G1 like py_ecc; refusing to load")
        if not is_identity(add(G, neg(G))) or to_affine(add(G, neg(G))) is not None:
            raise ImportError("mclbn256 identity handling differs from py_ecc; refusing to load")

    try:
        self_check()
    except ImportError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. (1, 2) rejected as off-curve: wrong curve
        raise ImportError(f"mclbn256 failed the BN254 self-check: {exc!r}") from None

    return GroupBackend(
        name="mcl",
        INF=INF,
        identity=identity,
        generator=generator,
        is_identity=is_identity,
        add=add,
        dbl=dbl,
        neg=neg,
        sub=sub,
        mul=mul,
        eq=eq,
        msm=msm,
        to_affine=to_affine,
        batch_affine=batch_affine,
        from_affine=from_affine,
        fixed_base=FixedBase,
    )
