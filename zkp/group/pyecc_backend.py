"""Reference backend: py_ecc's optimized_bn128 (projective FQ arithmetic).

Slow but independent: every other backend is tested against it.  Points are
py_ecc tuples (FQ, FQ, FQ); they are compared with ``eq()``, never ``==``.
"""
from __future__ import annotations

from collections.abc import Sequence

from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.optimized_bn128 import optimized_curve as bn

from ..field import R as _R
from .backend import Affine, GroupBackend

#: A py_ecc projective point over F_p: (X, Y, Z).
PyeccPoint = tuple[FQ, FQ, FQ]


def pyecc_backend() -> GroupBackend[PyeccPoint]:
    """The reference backend record over py_ecc (a closure factory: one nested function per group
    operation)."""
    INF: PyeccPoint = bn.Z1

    def mul(A: PyeccPoint, k: int) -> PyeccPoint:
        k %= _R
        if k == 0 or bn.is_inf(A):
            return INF
        return bn.multiply(A, k)

    def msm(points: Sequence[PyeccPoint], scalars: Sequence[int]) -> PyeccPoint:
        if len(points) != len(scalars):
            raise ValueError("msm: points and scalars differ in length")
        acc = INF
        for A, k in zip(points, scalars):
            acc = bn.add(acc, mul(A, k))
        return acc

    def to_affine(A: PyeccPoint) -> Affine | None:
        if bn.is_inf(A):
            return None
        x, y = bn.normalize(A)
        return (int(x), int(y))

    def from_affine(x: int, y: int) -> PyeccPoint:
        return (FQ(x), FQ(y), FQ.one())

    class FixedBase:
        __slots__ = ("A",)

        def __init__(self, A: PyeccPoint, w: int | None = None):
            self.A = A

        def mul(self, k: int) -> PyeccPoint:
            return mul(self.A, k)

    def generator() -> PyeccPoint:
        return bn.G1

    def sub(A: PyeccPoint, C: PyeccPoint) -> PyeccPoint:
        return bn.add(A, bn.neg(C))

    def batch_affine(pts: Sequence[PyeccPoint]) -> list[Affine | None]:
        return [to_affine(A) for A in pts]

    return GroupBackend(
        name="pyecc",
        INF=INF,
        identity=lambda: INF,
        generator=generator,
        is_identity=bn.is_inf,
        add=bn.add,
        dbl=bn.double,
        neg=bn.neg,
        sub=sub,
        mul=mul,
        eq=bn.eq,
        msm=msm,
        to_affine=to_affine,
        batch_affine=batch_affine,
        from_affine=from_affine,
        fixed_base=FixedBase,
    )
