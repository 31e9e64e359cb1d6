"""GLV scalar decomposition and digit helpers for the Jacobian backend
(:mod:`zkp.group.jacobian`): the BN254 endomorphism constants, the split
k = k1 + k2*lambda into two half-length scalars, width-w NAF digits and the
Pippenger window choice.

GLV endomorphism
----------------
p = 1 (mod 3), so F_p holds a primitive cube root of unity beta, and
phi(x, y) = (beta*x, y) maps the curve to itself.  phi is a group
endomorphism with phi^3 = 1, so on the cyclic group it acts as
multiplication by a cube root of unity lambda of F_r:  phi(P) = lambda*P.
Of the two (beta, lambda) pairings, :data:`GLV_BETA` / :data:`GLV_LAMBDA`
is the one that matches (checked against the reference in the tests).

The lattice L = {(a, b) in Z^2 : a + b*lambda = 0 (mod r)} has determinant r
and, for BN curves with parameter u (here u = 4965661367192848881), the
short basis

    v1 = (a1, b1) = (2u + 1, -(6u^2 + 2u)),
    v2 = (a2, b2) = (6u^2 + 4u + 1, 2u + 1),

all four entries below 2^127 in absolute value (the extended-Euclid construction of Gallant,
Lambert and Vanstone finds the same vectors; the tests rebuild it).  To split
k, write (k, 0) = beta1*v1 + beta2*v2 over Q (beta1 = k*b2/r,
beta2 = -k*b1/r), round to the nearest integers c1, c2, and take
(k1, k2) = (k, 0) - c1*v1 - c2*v2.  Then k = k1 + k2*lambda (mod r) and
(k1, k2) = e1*v1 + e2*v2 with |e1|, |e2| <= 1/2 (the rounding errors), so
|k1| <= (|a1| + |a2|)/2 and |k2| <= (|b1| + |b2|)/2, both below 2^127, and
k*P = k1*P + k2*phi(P): two half-length scalars sharing one doubling chain.
"""
from __future__ import annotations

from ..field import R as _R

#: Primitive cube root of unity in F_p used by phi(x, y) = (beta*x, y).
GLV_BETA = 0x59E26BCEA0D48BACD4F263F1ACDB5C4F5763473177FFFFFE
#: The matching cube root of unity in F_r: phi(P) = GLV_LAMBDA * P.
GLV_LAMBDA = 0xB3C4D79D41A917585BFC41088D8DAAA78B17EA66B99C90DD
#: BN parameter u of BN254 (p and r are polynomials in u).
BN_U = 4965661367192848881
#: Short basis of {(a, b) : a + b*lambda = 0 mod r}.
GLV_V1 = (2 * BN_U + 1, -(6 * BN_U * BN_U + 2 * BN_U))
GLV_V2 = (6 * BN_U * BN_U + 4 * BN_U + 1, 2 * BN_U + 1)
#: |k1|, |k2| produced by :func:`glv_split` are below 2^GLV_BITS.
GLV_BITS = 127

_HALF_R = _R // 2
_A1, _B1 = GLV_V1
_A2, _B2 = GLV_V2
_NB1 = -_B1


def glv_split(k: int) -> tuple[int, int]:
    """(k1, k2) with k = k1 + k2*GLV_LAMBDA (mod r) and |k1|, |k2| < 2^127.

    ``k`` must be in [0, r).  Babai rounding against the basis (v1, v2);
    see the module docstring for the bound."""
    c1 = (_B2 * k + _HALF_R) // _R
    c2 = (_NB1 * k + _HALF_R) // _R
    return k - c1 * _A1 - c2 * _A2, -c1 * _B1 - c2 * _B2


def wnaf_positions(k: int, w: int) -> list[tuple[int, int]]:
    """Width-w NAF of k > 0 as (bit position, odd digit) pairs, low first.

    Digits are odd, |d| < 2^(w-1), and any two non-zero digits are at least
    w positions apart; sum d * 2^pos == k."""
    out = []
    pos = 0
    full = 1 << w
    half = full >> 1
    mask = full - 1
    while k:
        tz = (k & -k).bit_length() - 1
        k >>= tz
        pos += tz
        d = k & mask
        if d >= half:
            d -= full
        out.append((pos, d))
        k = (k - d) >> w
        pos += w
    return out


def pippenger_window(n: int, bits: int = GLV_BITS) -> int:
    """Window width c for a signed-digit Pippenger over n points with
    ``bits``-bit scalars: minimises windows * (n + 1.5 * 2^c), the bucket
    additions plus the bucket reduction (2 additions per bucket, done in
    smaller batches).  c = 8 gets a 5% discount: its digits are bytes."""
    best_c: int = 2
    best: float | None = None
    for c in range(2, 17):
        nwin = -(-(bits + 2) // c)
        cost = nwin * (n + 1.5 * (1 << c)) * (0.95 if c == 8 else 1.0)
        if best is None or cost < best:
            best_c, best = c, cost
    return best_c


__all__ = ["BN_U", "GLV_BETA", "GLV_BITS", "GLV_LAMBDA", "GLV_V1", "GLV_V2", "glv_split", "pippenger_window",
           "wnaf_positions"]
