"""Fast pure-Python BN254 G1 arithmetic: Jacobian coordinates over ints.

Field elements are either plain Python ints or ``gmpy2.mpz`` (about twice as
fast on 254-bit operands); the same formulas serve both, chosen by the
``num`` constructor passed to :func:`make_backend`.

Curve: y^2 = x^3 + 3 over F_p (a = 0).  A point is a tuple (X, Y, Z) with
affine coordinates (X/Z^2, Y/Z^3); Z = 0 is the identity.  The group has
prime order r and cofactor 1, so y = 0 never occurs on a valid point and a
doubling never meets the point at infinity except from the identity.

Formulas (Explicit-Formulas Database, a = 0):
  doubling      dbl-2009-l style: M = 3X^2, S = 4XY^2, X3 = M^2 - 2S,
                Y3 = M(S - X3) - 8Y^4, Z3 = 2YZ
  addition      add-1998-cmo-2, falling back to doubling when P == Q
  mixed add     the same with Z2 = 1 (second operand affine)

Scalar multiplication uses width-5 wNAF; multi-scalar multiplication uses
Straus (interleaved wNAF) for small n and signed-digit Pippenger buckets for
large n; fixed bases get a precomputed comb table (no doublings at all).
"""
from __future__ import annotations

from ..field import P as _P, R as _R


def make_backend(name: str, num):
    p = num(_P)
    zero = num(0)
    one = num(1)
    INF = (one, one, zero)

    def is_inf(A):
        return not A[2]

    def dbl(A):
        X, Y, Z = A
        if not Z:
            return A
        YY = Y * Y % p
        S = 4 * X * YY % p
        M = 3 * X * X % p
        X3 = (M * M - 2 * S) % p
        return (X3, (M * (S - X3) - 8 * YY * YY) % p, 2 * Y * Z % p)

    def add(A, B):
        X1, Y1, Z1 = A
        X2, Y2, Z2 = B
        if not Z1:
            return B
        if not Z2:
            return A
        Z1Z1 = Z1 * Z1 % p
        Z2Z2 = Z2 * Z2 % p
        U1 = X1 * Z2Z2 % p
        S1 = Y1 * Z2 * Z2Z2 % p
        H = (X2 * Z1Z1 - U1) % p
        Rr = (Y2 * Z1 * Z1Z1 - S1) % p
        if not H:
            if not Rr:
                return dbl(A)
            return INF
        HH = H * H % p
        HHH = H * HH % p
        V = U1 * HH % p
        X3 = (Rr * Rr - HHH - 2 * V) % p
        return (X3, (Rr * (V - X3) - S1 * HHH) % p, Z1 * Z2 * H % p)

    def madd(A, x2, y2):
        """A + (x2, y2) with the second point affine and not the identity."""
        X1, Y1, Z1 = A
        if not Z1:
            return (x2, y2, one)
        Z1Z1 = Z1 * Z1 % p
        H = (x2 * Z1Z1 - X1) % p
        Rr = (y2 * Z1 * Z1Z1 - Y1) % p
        if not H:
            if not Rr:
                return dbl(A)
            return INF
        HH = H * H % p
        HHH = H * HH % p
        V = X1 * HH % p
        X3 = (Rr * Rr - HHH - 2 * V) % p
        return (X3, (Rr * (V - X3) - Y1 * HHH) % p, Z1 * H % p)

    def neg(A):
        X, Y, Z = A
        return (X, (-Y) % p, Z)

    def eq(A, B):
        X1, Y1, Z1 = A
        X2, Y2, Z2 = B
        if not Z1 or not Z2:
            return (not Z1) and (not Z2)
        Z1Z1 = Z1 * Z1 % p
        Z2Z2 = Z2 * Z2 % p
        if (X1 * Z2Z2 - X2 * Z1Z1) % p:
            return False
        return (Y1 * Z2 * Z2Z2 - Y2 * Z1 * Z1Z1) % p == 0

    def batch_affine(points):
        """Affine (x, y) for each point (None for the identity); one inversion."""
        zs = [Pt[2] for Pt in points]
        acc = one
        prefix = []
        for z in zs:
            prefix.append(acc)
            if z:
                acc = acc * z % p
        inv = num(pow(int(acc), -1, _P)) if acc != 1 else one
        out = [None] * len(points)
        for i in range(len(points) - 1, -1, -1):
            z = zs[i]
            if not z:
                continue
            zi = inv * prefix[i] % p
            inv = inv * z % p
            zi2 = zi * zi % p
            X, Y, _ = points[i]
            out[i] = (X * zi2 % p, Y * zi2 * zi % p)
        return out

    def to_affine(A):
        if not A[2]:
            return None
        return batch_affine([A])[0]

    def from_affine(x, y):
        return (num(x), num(y), one)

    def wnaf(k, w):
        """Width-w non-adjacent form, least significant digit first."""
        digits = []
        half = 1 << (w - 1)
        full = 1 << w
        while k:
            if k & 1:
                d = k & (full - 1)
                if d >= half:
                    d -= full
                k -= d
            else:
                d = 0
            digits.append(d)
            k >>= 1
        return digits

    def odd_multiples_affine(A, count):
        """Affine [A, 3A, 5A, ...] (count entries)."""
        two = dbl(A)
        mult = [A]
        for _ in range(count - 1):
            mult.append(add(mult[-1], two))
        return batch_affine(mult)

    def mul(A, k):
        k %= _R
        if not k or not A[2]:
            return INF
        w = 5
        table = odd_multiples_affine(A, 1 << (w - 2))
        digits = wnaf(k, w)
        acc = INF
        for d in reversed(digits):
            acc = dbl(acc)
            if d > 0:
                x, y = table[d >> 1]
                acc = madd(acc, x, y)
            elif d < 0:
                x, y = table[(-d) >> 1]
                acc = madd(acc, x, p - y)
        return acc

    def msm_straus(points, scalars, w=4):
        tables = []
        nafs = []
        for A, k in zip(points, scalars):
            k %= _R
            if not k or not A[2]:
                continue
            tables.append(odd_multiples_affine(A, 1 << (w - 2)))
            nafs.append(wnaf(k, w))
        if not nafs:
            return INF
        length = max(len(d) for d in nafs)
        acc = INF
        for bit in range(length - 1, -1, -1):
            acc = dbl(acc)
            for table, digits in zip(tables, nafs):
                if bit < len(digits):
                    d = digits[bit]
                    if d > 0:
                        x, y = table[d >> 1]
                        acc = madd(acc, x, y)
                    elif d < 0:
                        x, y = table[(-d) >> 1]
                        acc = madd(acc, x, p - y)
        return acc

    def pippenger_window(n):
        if n < 32:
            return 3
        if n < 128:
            return 5
        if n < 512:
            return 6
        if n < 2048:
            return 8
        if n < 8192:
            return 9
        return 10

    def msm_pippenger(points, scalars):
        pts = []
        ks = []
        for A, k in zip(points, scalars):
            k %= _R
            if k and A[2]:
                pts.append(A)
                ks.append(k)
        if not pts:
            return INF
        aff = batch_affine(pts)
        n = len(aff)
        c = pippenger_window(n)
        mask = (1 << c) - 1
        half = 1 << (c - 1)
        full = 1 << c
        # signed digits in [-2^(c-1), 2^(c-1)), windows least significant first
        nwin = (_R.bit_length() + c) // c + 1
        digit_rows = []
        for k in ks:
            row = []
            carry = 0
            for _ in range(nwin):
                d = (k & mask) + carry
                k >>= c
                if d >= half:
                    d -= full
                    carry = 1
                else:
                    carry = 0
                row.append(d)
            digit_rows.append(row)
        neg_y = [(x, p - y) for (x, y) in aff]
        result = INF
        for win in range(nwin - 1, -1, -1):
            if result[2]:
                for _ in range(c):
                    result = dbl(result)
            buckets = [INF] * (half + 1)
            for i in range(n):
                d = digit_rows[i][win]
                if d > 0:
                    x, y = aff[i]
                    buckets[d] = madd(buckets[d], x, y)
                elif d < 0:
                    x, y = neg_y[i]
                    buckets[-d] = madd(buckets[-d], x, y)
            running = INF
            total = INF
            for j in range(half, 0, -1):
                running = add(running, buckets[j])
                total = add(total, running)
            result = add(result, total)
        return result

    def msm(points, scalars):
        if len(points) != len(scalars):
            raise ValueError("msm: points and scalars differ in length")
        n = len(points)
        if n == 0:
            return INF
        if n == 1:
            return mul(points[0], scalars[0])
        if n <= 16:
            return msm_straus(points, scalars)
        return msm_pippenger(points, scalars)

    class FixedBase:
        """Comb table for a fixed base: table[i][j] = j * 2^(w*i) * A (affine).

        k*A = sum_i table[i][digit_i(k)]: ceil(254/w) mixed additions, no
        doublings.
        """

        __slots__ = ("rows", "w")

        def __init__(self, A, w=8):
            self.w = w
            nrows = (_R.bit_length() + w - 1) // w
            rows_jac = []
            base = A
            for _ in range(nrows):
                row = [INF, base]
                for _j in range(2, 1 << w):
                    row.append(add(row[-1], base))
                rows_jac.append(row)
                for _ in range(w):
                    base = dbl(base)
            flat = [pt for row in rows_jac for pt in row]
            aff = batch_affine(flat)
            size = 1 << w
            self.rows = [aff[i * size:(i + 1) * size] for i in range(nrows)]

        def mul(self, k):
            k %= _R
            acc = INF
            w = self.w
            mask = (1 << w) - 1
            for row in self.rows:
                d = k & mask
                k >>= w
                if d:
                    x, y = row[d]
                    acc = madd(acc, x, y)
                if not k:
                    break
            return acc

    class Backend:
        pass

    B = Backend()
    B.name = name
    B.INF = INF
    B.identity = lambda: INF
    B.generator = lambda: (num(1), num(2), one)
    B.is_identity = is_inf
    B.add = add
    B.dbl = dbl
    B.neg = neg
    B.sub = lambda A, C: add(A, neg(C))
    B.mul = mul
    B.eq = eq
    B.msm = msm
    B.msm_straus = msm_straus
    B.msm_pippenger = msm_pippenger
    B.to_affine = to_affine
    B.batch_affine = batch_affine
    B.from_affine = from_affine
    B.fixed_base = FixedBase
    return B


def ints_backend():
    return make_backend("ints", int)


def gmpy2_backend():
    import gmpy2  # noqa: F401  (ImportError -> backend unavailable)

    return make_backend("gmpy2", gmpy2.mpz)
