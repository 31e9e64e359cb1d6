"""Reference backend: py_ecc's optimized_bn128 (projective FQ arithmetic).

Slow but independent: every other backend is tested against it.  Points are
py_ecc tuples (FQ, FQ, FQ); they are compared with ``eq()``, never ``==``.
"""
from __future__ import annotations

from py_ecc import optimized_bn128 as bn

from ..field import R as _R


def pyecc_backend():
    class Backend:
        pass

    INF = bn.Z1

    def mul(A, k):
        k %= _R
        if k == 0 or bn.is_inf(A):
            return INF
        return bn.multiply(A, k)

    def msm(points, scalars):
        if len(points) != len(scalars):
            raise ValueError("msm: points and scalars differ in length")
        acc = INF
        for A, k in zip(points, scalars):
            acc = bn.add(acc, mul(A, k))
        return acc

    def to_affine(A):
        if bn.is_inf(A):
            return None
        x, y = bn.normalize(A)
        return (int(x), int(y))

    def from_affine(x, y):
        return (bn.FQ(x), bn.FQ(y), bn.FQ.one())

    class FixedBase:
        __slots__ = ("A",)

        def __init__(self, A, w=None):
            self.A = A

        def mul(self, k):
            return mul(self.A, k)

    B = Backend()
    B.name = "pyecc"
    B.INF = INF
    B.identity = lambda: INF
    B.generator = lambda: bn.G1
    B.is_identity = bn.is_inf
    B.add = bn.add
    B.dbl = bn.double
    B.neg = bn.neg
    B.sub = lambda A, C: bn.add(A, bn.neg(C))
    B.mul = mul
    B.eq = bn.eq
    B.msm = msm
    B.to_affine = to_affine
    B.batch_affine = lambda pts: [to_affine(A) for A in pts]
    B.from_affine = from_affine
    B.fixed_base = FixedBase
    return B
