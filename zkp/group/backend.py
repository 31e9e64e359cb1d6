"""The group backend interface: one record of functions per backend.

A backend computes in BN254 G1 over its own *raw* point type (py_ecc tuples
of field elements, Jacobian int tuples, ctypes arrays for MCL).
:class:`GroupBackend` is generic in that raw type, so each backend module is
type-checked against its own representation; every function takes and
returns raw points of that one backend:

==================  ========================================================
``name``            the backend's name (``"pyecc"``, ``"ints"``, ...)
``INF``             the identity, as a raw point
``identity()``      the identity (a fresh raw point where the type is mutable)
``generator()``     the curve's standard generator (1, 2)
``is_identity(A)``  A is the identity
``add(A, B)``, ``sub(A, B)``, ``neg(A)``, ``dbl(A)``
``mul(A, k)``       k*A for any int k (reduced mod r)
``eq(A, B)``        A and B are the same group element
``msm(As, ks)``     sum_i ks[i]*As[i]; ValueError if the lengths differ
``to_affine(A)``    (x, y) as ints, or None for the identity
``batch_affine``    ``to_affine`` of many points (one inversion where possible)
``from_affine``     raw point from affine coordinates; the pure backends
                    trust the caller (:meth:`zkp.group.Point.from_affine`
                    and decoding check the curve equation first)
``fixed_base(A)``   a table with ``mul(k)`` = k*A for a base used often
``msm_rows``        optional: several MSMs over the same points sharing the
                    per-point work (None: one ``msm`` per row)
==================  ========================================================

Outside its backend a raw point is opaque: :data:`RawPoint`, and
:data:`Backend` is a backend whose raw type has been erased to it (what
:mod:`zkp.group` hands out).  The erasure is sound because raw points only
ever reach the backend that made them: :class:`zkp.group.Point` checks that
both operands of an operation share one backend object.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, NewType, Protocol, TypeVar

RawT = TypeVar("RawT")
RawT_co = TypeVar("RawT_co", covariant=True)

#: A raw point of some backend, opaque outside it (never constructed
#: directly: backend functions return it, :attr:`zkp.group.Point.raw` holds it).
RawPoint = NewType("RawPoint", object)

#: Affine coordinates (x, y), both in [0, p).
Affine = tuple[int, int]


class FixedBaseTable(Protocol[RawT_co]):
    """Precomputation for one fixed base A: ``mul(k)`` is k*A (k any int)."""

    def mul(self, k: int, /) -> RawT_co: ...


@dataclass(eq=False, repr=False, kw_only=True)
class GroupBackend(Generic[RawT]):
    """The functions of one backend over its raw point type ``RawT`` (see
    the module docstring for what each computes).  Compared by identity;
    the repr is the plain object repr (no function listing)."""

    name: str
    INF: RawT
    identity: Callable[[], RawT]
    generator: Callable[[], RawT]
    is_identity: Callable[[RawT], bool]
    add: Callable[[RawT, RawT], RawT]
    sub: Callable[[RawT, RawT], RawT]
    neg: Callable[[RawT], RawT]
    dbl: Callable[[RawT], RawT]
    mul: Callable[[RawT, int], RawT]
    eq: Callable[[RawT, RawT], bool]
    msm: Callable[[Sequence[RawT], Sequence[int]], RawT]
    to_affine: Callable[[RawT], Affine | None]
    batch_affine: Callable[[Sequence[RawT]], list[Affine | None]]
    from_affine: Callable[[int, int], RawT]
    fixed_base: Callable[[RawT], FixedBaseTable[RawT]]
    msm_rows: Callable[[Sequence[RawT], Sequence[Sequence[int]]], list[RawT]] | None = None


#: A backend as :mod:`zkp.group` hands it out: raw points are opaque.
Backend = GroupBackend[RawPoint]

__all__ = ["GroupBackend", "Backend", "RawPoint", "Affine", "FixedBaseTable"]
