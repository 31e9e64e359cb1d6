"""Fast pure-Python BN254 G1 arithmetic: Jacobian coordinates over ints.

Field elements are either plain Python ints or ``gmpy2.mpz`` (roughly twice
as fast on 254-bit operands); the same formulas serve both, chosen by the
``num`` constructor passed to :func:`make_backend`.  In CPython the cost of a
formula is close to its count of interpreter operations (a ``%`` costs about
two multiplications, an addition about two thirds of one), so the formulas
below are arranged to minimise reductions and temporaries rather than to
trade multiplications for squarings.

Curve and points
----------------
y^2 = x^3 + 3 over F_p (a = 0), group order r (prime), cofactor 1.  A point
is a tuple (X, Y, Z) with affine coordinates (X/Z^2, Y/Z^3); Z = 0 is the
identity.  Since the order is odd, y = 0 never occurs on a group element, so
a doubling never produces the identity from a non-identity point.

Formulas (Explicit-Formulas Database, a = 0):

  doubling     S = 4*X*Y^2, M = 3*X^2, X3 = M^2 - 2S,
               Y3 = M*(S - X3) - 8*Y^4, Z3 = 2*Y*Z          (dbl-2009-l shape)
  addition     add-1998-cmo-2 (U1, U2, S1, S2, H = U2 - U1, R = S2 - S1),
               falling back to doubling when H = R = 0 and to the identity
               when H = 0, R != 0
  mixed add    the same with Z2 = 1 (second operand affine)
  affine add   lambda = (y2 - y1)/(x2 - x1) (or 3x^2/2y when doubling),
               x3 = lambda^2 - x1 - x2, y3 = lambda*(x1 - x3) - y1;
               many independent additions share one inversion through
               Montgomery's trick (prefix products, one inversion, then
               peel the inverses off backwards: 3 multiplications each).

GLV endomorphism
----------------
phi(x, y) = (beta*x, y) = lambda*P; scalars are split k = k1 + k2*lambda
with |k1|, |k2| < 2^127 (:mod:`zkp.group.glv`, with the lattice argument).

Algorithms
----------
* Scalar multiplication and small MSMs (Straus): GLV-split every scalar,
  width-5 wNAF digits for each half, tables of the odd multiples
  P, 3P, ..., 15P in affine form (phi of a table is the table with x scaled
  by beta, negation flips y), then one shared chain of about 128 doublings
  with a mixed addition per non-zero digit.
* Large MSMs (Pippenger, signed digits): scalars are cut into c-bit windows
  with digits in [-2^(c-1), 2^(c-1)); adding h = 2^(c-1) * sum_i 2^(c*i)
  first makes every window of k + h an unsigned value u, and u - 2^(c-1) is
  the signed digit, with no carry loop.  A digit d sends +P (d > 0) or -P
  (d < 0) to bucket |d| of its window, so each window has 2^(c-1) buckets.
  Buckets of *all* windows are summed as affine pairwise trees, one
  Montgomery-batched inversion per tree level; each window's
  sum_j j*B_j is the sum of its running suffix sums (computed for all
  windows in lock-step, again batched), and windows are combined by c
  doublings each (Horner).  With GLV the MSM has twice as many points but
  half as many windows, which halves the bucket-reduction work.
* Fixed bases: a signed comb, table[i][j-1] = j * 2^(w*i) * A for
  j = 1..2^(w-1) in affine form (built with batched affine additions);
  k*A = sum_i sign_i * table[i][|d_i|-1] -- ceil(256/w) mixed additions and
  no doublings.

Types
-----
Coordinates are typed ``int``: the formulas use only the integer operators
(``+ - * % << >>``, comparisons, truth value), which ``gmpy2.mpz``
implements with the same meaning, so one set of annotations covers both
number types.  A point is :data:`Jac`, an affine point :data:`Aff`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from ..field import P as _P
from ..field import R as _R
from .backend import Affine, GroupBackend
from .glv import GLV_BETA, glv_split, pippenger_window, wnaf_positions

#: A Jacobian point (X, Y, Z); Z = 0 is the identity.
Jac = tuple[int, int, int]
#: An affine point (x, y), never the identity.
Aff = Affine


#: Up to this many (non-trivial) terms the gmpy2 backend's :func:`msm` uses
#: Straus (measured crossover; plain ints cross over earlier, at about 20).
STRAUS_MAX = 32


class MsmPippenger(Protocol):
    """``msm_pippenger(points, scalars, c=None, glv=True)``: Pippenger with
    window ``c`` (None: :func:`pippenger_window`), with or without GLV."""

    def __call__(self, points: Sequence[Jac], scalars: Sequence[int], c: int | None = None,
                 glv: bool = True) -> Jac: ...


@dataclass(eq=False, repr=False, kw_only=True)
class JacobianBackend(GroupBackend[Jac]):
    """A pure backend: the :class:`~zkp.group.backend.GroupBackend`
    functions plus the internals the tests and benchmarks reach.

    ``madd(A, x2, y2)`` adds an affine non-identity point; ``phi`` is the
    GLV endomorphism; ``batch_add`` adds affine pairs with one inversion
    (None for a sum that is the identity); ``msm_straus`` and
    ``msm_pippenger(points, scalars, c=None, glv=True)`` force one MSM
    algorithm; MSMs of at most ``straus_max`` terms use Straus."""

    straus_max: int
    madd: Callable[[Jac, int, int], Jac]
    phi: Callable[[Jac], Jac]
    batch_add: Callable[[Sequence[tuple[Aff, Aff]]], list[Aff | None]]
    msm_straus: Callable[[Sequence[Jac], Sequence[int]], Jac]
    msm_pippenger: MsmPippenger


def make_backend(name: str, num: Callable[[int], int], invert: Callable[[int], int],
                 straus_max: int = STRAUS_MAX) -> JacobianBackend:
    """Build a backend over the number type ``num``; ``invert(a)`` returns
    a^-1 mod p for a non-zero ``num``; MSMs of at most ``straus_max``
    terms use Straus, larger ones Pippenger.

    Long by design: a closure factory -- every group operation of the backend is a nested function
    over the same number type and precomputed constants, so the hot paths stay free of attribute
    lookups.
    """
    p = num(_P)
    zero = num(0)
    one = num(1)
    beta = num(GLV_BETA)
    INF: Jac = (one, one, zero)

    def is_inf(A: Jac) -> bool:
        return not A[2]

    # -- single-point formulas ------------------------------------------------
    def dbl(A: Jac) -> Jac:
        X, Y, Z = A
        if not Z:
            return A
        YY = Y * Y % p
        S = (X * YY % p) << 2
        M = X * X * 3 % p
        X3 = (M * M - (S << 1)) % p
        return (X3, (M * (S - X3) - (YY * YY << 3)) % p, (Y * Z << 1) % p)

    def add(A: Jac, B: Jac) -> Jac:
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
        X3 = (Rr * Rr - HHH - (V << 1)) % p
        return (X3, (Rr * (V - X3) - S1 * HHH) % p, Z1 * Z2 % p * H % p)

    def madd(A: Jac, x2: int, y2: int) -> Jac:
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
        X3 = (Rr * Rr - HHH - (V << 1)) % p
        return (X3, (Rr * (V - X3) - Y1 * HHH) % p, Z1 * H % p)

    def neg(A: Jac) -> Jac:
        X, Y, Z = A
        return (X, (-Y) % p, Z)

    def sub(A: Jac, B: Jac) -> Jac:
        X, Y, Z = B
        return add(A, (X, (-Y) % p, Z))

    def eq(A: Jac, B: Jac) -> bool:
        X1, Y1, Z1 = A
        X2, Y2, Z2 = B
        if not Z1 or not Z2:
            return (not Z1) and (not Z2)
        Z1Z1 = Z1 * Z1 % p
        Z2Z2 = Z2 * Z2 % p
        if (X1 * Z2Z2 - X2 * Z1Z1) % p:
            return False
        return (Y1 * Z2 * Z2Z2 - Y2 * Z1 * Z1Z1) % p == 0

    # -- affine conversion ---------------------------------------------------
    def batch_affine(points: Sequence[Jac]) -> list[Aff | None]:
        """Affine (x, y) for each point (None for the identity); one inversion."""
        n = len(points)
        pref = [one] * n
        acc = one
        for i, A in enumerate(points):
            z = A[2]
            pref[i] = acc
            if z and z != 1:
                acc = acc * z % p
        inv = invert(acc) if acc != 1 else one
        out: list[Aff | None] = [None] * n
        for i in range(n - 1, -1, -1):
            X, Y, z = points[i]
            if not z:
                continue
            if z == 1:
                out[i] = (X, Y)
                continue
            zi = inv * pref[i] % p
            inv = inv * z % p
            zi2 = zi * zi % p
            out[i] = (X * zi2 % p, Y * zi2 * zi % p)
        return out

    # batch_affine of points that are never the identity (filtered, or odd
    # multiples of a non-identity point: the group order is odd) -- no None.
    batch_affine_nz = cast("Callable[[Sequence[Jac]], list[Aff]]", batch_affine)

    def to_affine(A: Jac) -> Aff | None:
        X, Y, Z = A
        if not Z:
            return None
        if Z == 1:
            return (X, Y)
        zi = invert(Z)
        zi2 = zi * zi % p
        return (X * zi2 % p, Y * zi2 * zi % p)

    def from_affine(x: int, y: int) -> Jac:
        return (num(x), num(y), one)

    def phi(A: Jac) -> Jac:
        X, Y, Z = A
        return (beta * X % p, Y, Z)

    # -- batched affine additions --------------------------------------------
    def batch_add(pairs: Sequence[tuple[Aff, Aff]]) -> list[Aff | None]:
        """[a + b for a, b in pairs] for affine non-identity a, b; a sum that
        is the identity comes back as None.  One inversion for the batch."""
        n = len(pairs)
        if not n:
            return []
        ds = [b[0] - a[0] for a, b in pairs]
        if not all(ds):
            return _batch_add_general(pairs)
        pref: list[int] = []
        app = pref.append
        acc = one
        for d in ds:
            app(acc)
            acc = acc * d % p
        inv = invert(acc % p)
        out: list[Aff | None] = []
        push = out.append
        # walk backwards: inv = (d_0 ... d_i)^-1, so inv * prefix_i = d_i^-1
        for ((x1, y1), (x2, y2)), pr, d in zip(reversed(pairs), reversed(pref), reversed(ds)):
            lam = (y2 - y1) * inv * pr % p
            inv = inv * d % p
            x3 = (lam * lam - x1 - x2) % p
            push((x3, (lam * (x1 - x3) - y1) % p))
        out.reverse()
        return out

    def _batch_add_general(pairs: Sequence[tuple[Aff, Aff]]) -> list[Aff | None]:
        """batch_add when some pair has x1 == x2 (P + P or P + (-P))."""
        nums: list[int | None] = []
        dens: list[int] = []
        for (x1, y1), (x2, y2) in pairs:
            if x1 != x2:
                nums.append(y2 - y1)
                dens.append(x2 - x1)
            elif y1 == y2:
                nums.append(x1 * x1 * 3)  # tangent: 3x^2 / 2y
                dens.append(y1 << 1)
            else:
                nums.append(None)  # P + (-P): the identity
                dens.append(one)
        n = len(pairs)
        pref = [one] * n
        acc = one
        for i, d in enumerate(dens):
            pref[i] = acc
            acc = acc * d % p
        inv = invert(acc % p)
        out: list[Aff | None] = [None] * n
        for i in range(n - 1, -1, -1):
            di = inv * pref[i] % p
            inv = inv * dens[i] % p
            nu = nums[i]
            if nu is None:
                continue
            (x1, y1), (x2, _y2) = pairs[i]
            lam = nu * di % p
            x3 = (lam * lam - x1 - x2) % p
            out[i] = (x3, (lam * (x1 - x3) - y1) % p)
        return out

    def tree_sum_lists(lists: list[list[Aff]]) -> None:
        """Replace every list of affine points by [its sum] (or [] when the
        sum is the identity), pairing neighbours level by level; each level
        of all lists together costs one inversion."""
        work = [L for L in lists if len(L) > 1]
        while work:
            pairs: list[tuple[Aff, Aff]] = []
            for L in work:
                pairs.extend(zip(L[0::2], L[1::2]))
            sums = batch_add(pairs)
            holes = None in sums
            nxt: list[list[Aff]] = []
            off = 0
            for L in work:
                m = len(L) >> 1
                S = sums[off:off + m]
                off += m
                if len(L) & 1:
                    S.append(L[-1])
                if holes:
                    L[:] = [s for s in S if s is not None]
                else:  # no sum in this level is the identity
                    L[:] = cast("list[Aff]", S)
                if len(L) > 1:
                    nxt.append(L)
            work = nxt

    # -- tables ----------------------------------------------------------------
    def odd_multiples(affs: Sequence[Aff], count: int) -> list[list[Aff]]:
        """For each affine point A: affine [A, 3A, ..., (2*count-1)A]."""
        twos = batch_affine_nz([dbl((x, y, one)) for x, y in affs])
        jac: list[Jac] = []
        for (x, y), (tx, ty) in zip(affs, twos):
            cur = (x, y, one)
            jac.append(cur)
            for _ in range(count - 1):
                cur = madd(cur, tx, ty)
                jac.append(cur)
        flat = batch_affine_nz(jac)
        return [flat[i:i + count] for i in range(0, len(flat), count)]

    # -- multi-scalar multiplication -----------------------------------------
    def _prepare(points: Sequence[Jac], scalars: Sequence[int]) -> tuple[list[Aff], list[int]]:
        """Drop zero scalars and identity points; affine points, reduced k."""
        jac: list[Jac] = []
        ks: list[int] = []
        for A, k in zip(points, scalars):
            k %= _R
            if k and A[2]:
                jac.append(A)
                ks.append(k)
        return batch_affine_nz(jac), ks

    def straus(affs: Sequence[Aff], ks: Sequence[int], w: int = 5) -> Jac:
        """sum k_i * A_i (affine A_i, 0 < k_i < r): GLV + interleaved wNAF."""
        return _straus_eval(odd_multiples(affs, 1 << (w - 2)), ks, [None] * len(ks), w)

    def msm_rows(points: Sequence[Jac], rows: Sequence[Sequence[int]], w: int = 5) -> list[Jac]:
        """[sum_i rows[s][i] * points[i] for each s]: several MSMs over the
        same points (e.g. the scenario equities E_s = cash + sum_i A[s][i]
        pos_i of one member).  The work that depends only on the points --
        affine conversion, the odd-multiple tables [A, 3A, .., 15A] and
        their phi images -- is done once and shared by every row; each row
        then runs the Straus ladder (GLV + interleaved wNAF) alone.  For
        I+1 = 21 points and 64-bit coefficients the tables are ~40 % of a
        lone Straus call."""
        keep = [i for i, A in enumerate(points) if A[2]]
        affs = batch_affine_nz([points[i] for i in keep])
        tables = odd_multiples(affs, 1 << (w - 2))
        phis: list[list[Aff] | None] = [None] * len(tables)
        out: list[Jac] = []
        for row in rows:
            if len(row) != len(points):
                raise ValueError("msm_rows: a row and the points differ in length")
            sel: list[int] = []
            ks: list[int] = []
            for t, i in enumerate(keep):
                k = row[i] % _R
                if k:
                    sel.append(t)
                    ks.append(k)
            out.append(_straus_eval([tables[t] for t in sel], ks, phis, w, sel) if ks else INF)
        return out

    def _straus_eval(tables: Sequence[list[Aff]], ks: Sequence[int], phis: list[list[Aff] | None],
                     w: int, sel: Sequence[int] | None = None) -> Jac:
        """The Straus ladder over prepared odd-multiple tables; ``phis``
        caches the phi images of the tables (index ``sel[j]`` or ``j``).

        One ladder loop; kept whole for the MSM's hot path.
        """
        halves: list[tuple[list[Aff], int]] = []
        for j, (table, k) in enumerate(zip(tables, ks)):
            k1, k2 = glv_split(k)
            if k1:
                halves.append((table, k1))
            if k2:  # phi of the table: x scaled by beta
                t = j if sel is None else sel[j]
                ph = phis[t]
                if ph is None:
                    ph = phis[t] = [(beta * x % p, y) for x, y in table]
                halves.append((ph, k2))
        nbits = max(abs(kk) for _t, kk in halves).bit_length() if halves else 0
        sched: list[list[Aff]] = [[] for _ in range(nbits + 2)]
        for table, kk in halves:
            flip = kk < 0
            if flip:
                kk = -kk
            for pos, d in wnaf_positions(kk, w):
                if d < 0:
                    x, y = table[(-d) >> 1]
                    negate = not flip
                else:
                    x, y = table[d >> 1]
                    negate = flip
                sched[pos].append((x, p - y) if negate else (x, y))
        top = len(sched) - 1
        while top >= 0 and not sched[top]:
            top -= 1
        if top < 0:
            return INF
        X, Y, Z = INF
        for pos in range(top, -1, -1):
            if Z:
                # doubling, inlined
                YY = Y * Y % p
                S = (X * YY % p) << 2
                M = X * X * 3 % p
                X = (M * M - (S << 1)) % p
                Z = (Y * Z << 1) % p
                Y = (M * (S - X) - (YY * YY << 3)) % p
            for x2, y2 in sched[pos]:
                # mixed addition, inlined
                if not Z:
                    X, Y, Z = x2, y2, one
                    continue
                ZZ = Z * Z % p
                H = (x2 * ZZ - X) % p
                Rr = (y2 * ZZ * Z - Y) % p
                if not H:
                    if Rr:
                        X, Y, Z = INF
                    else:
                        X, Y, Z = dbl((X, Y, Z))
                    continue
                HH = H * H % p
                HHH = H * HH % p
                V = X * HH % p
                X = (Rr * Rr - HHH - (V << 1)) % p
                Y = (Rr * (V - X) - Y * HHH) % p
                Z = Z * H % p
        return (X, Y, Z)

    def pippenger(affs: Sequence[Aff], ks: Sequence[int], c: int | None = None, glv: bool = True) -> Jac:
        """sum k_i * A_i (affine A_i, 0 < k_i < r): signed-digit buckets,
        batched affine bucket sums.

        Kept in one piece (a single pass: digit recoding, bucket accumulation with batched affine
        additions, the running-sum reduction) because splitting it would cost calls in the MSM's hot
        loop.
        """
        pts: list[Aff] = []
        negs: list[Aff] = []
        scal: list[int] = []
        if glv:
            for (x, y), k in zip(affs, ks):
                k1, k2 = glv_split(k)
                ny = p - y
                if k1:
                    if k1 > 0:
                        pts.append((x, y))
                        negs.append((x, ny))
                        scal.append(k1)
                    else:
                        pts.append((x, ny))
                        negs.append((x, y))
                        scal.append(-k1)
                if k2:
                    bx = beta * x % p
                    if k2 > 0:
                        pts.append((bx, y))
                        negs.append((bx, ny))
                        scal.append(k2)
                    else:
                        pts.append((bx, ny))
                        negs.append((bx, y))
                        scal.append(-k2)
        else:
            pts = list(affs)
            negs = [(x, p - y) for x, y in affs]
            scal = list(ks)
        if not pts:
            return INF
        bits = max(scal).bit_length()
        if c is None:
            c = pippenger_window(len(pts), bits)
        nwin = -(-(bits + 2) // c)
        half = 1 << (c - 1)
        mask = (1 << c) - 1
        h = 0
        for _ in range(nwin):
            h = (h << c) | half
        buckets: list[list[Aff]] = [[] for _ in range(nwin * half)]
        # bucket index of window w, digit d = u - half != 0: w*half + |d| - 1
        if c == 8:  # the windows of k + h are its bytes
            nbytes = nwin
            for pt, npt, k in zip(pts, negs, scal):
                base = -half - 1
                for u in (k + h).to_bytes(nbytes, "little"):
                    if u > half:
                        buckets[base + u].append(pt)
                    elif u < half:
                        buckets[base + (half << 1) - u].append(npt)
                    base += half
        else:
            for pt, npt, k in zip(pts, negs, scal):
                kk = k + h
                base = -half - 1
                for _ in range(nwin):
                    u = kk & mask
                    kk >>= c
                    if u > half:
                        buckets[base + u].append(pt)
                    elif u < half:
                        buckets[base + (half << 1) - u].append(npt)
                    base += half
        tree_sum_lists(buckets)
        # sum_j j*B_j per window = sum over j of the suffix sums
        # running_j = B_half + ... + B_j (all windows in lock-step).
        running: list[Aff | None] = [None] * nwin
        partial: list[list[Aff]] = [[] for _ in range(nwin)]
        for j in range(half - 1, -1, -1):
            pairs: list[tuple[Aff, Aff]] = []
            idx: list[int] = []
            for w in range(nwin):
                L = buckets[w * half + j]
                if L:
                    cur = running[w]
                    if cur is None:
                        running[w] = L[0]
                    else:
                        pairs.append((cur, L[0]))
                        idx.append(w)
            if pairs:
                for w, s in zip(idx, batch_add(pairs)):
                    running[w] = s
            for w in range(nwin):
                cur = running[w]
                if cur is not None:
                    partial[w].append(cur)
        tree_sum_lists(partial)
        acc = INF
        for w in range(nwin - 1, -1, -1):
            if acc[2]:
                for _ in range(c):
                    acc = dbl(acc)
            if partial[w]:
                x, y = partial[w][0]
                acc = madd(acc, x, y)
        return acc

    def msm(points: Sequence[Jac], scalars: Sequence[int]) -> Jac:
        if len(points) != len(scalars):
            raise ValueError("msm: points and scalars differ in length")
        affs, ks = _prepare(points, scalars)
        if not ks:
            return INF
        if len(ks) <= straus_max:
            return straus(affs, ks)
        return pippenger(affs, ks)

    def msm_straus(points: Sequence[Jac], scalars: Sequence[int]) -> Jac:
        affs, ks = _prepare(points, scalars)
        return straus(affs, ks) if ks else INF

    def msm_pippenger(points: Sequence[Jac], scalars: Sequence[int], c: int | None = None,
                      glv: bool = True) -> Jac:
        affs, ks = _prepare(points, scalars)
        return pippenger(affs, ks, c, glv) if ks else INF

    def mul(A: Jac, k: int) -> Jac:
        k %= _R
        if not k:
            return INF
        a = to_affine(A)
        if a is None:
            return INF
        return straus([a], [k])

    class FixedBase:
        """Signed comb for a fixed base A (see the module docstring).

        ``rows[i][j-1] = j * 2^(w*i) * A`` (affine), j = 1..2^(w-1)."""

        __slots__ = ("rows", "w", "_h")

        rows: list[list[Aff]] | None
        w: int
        _h: int

        def __init__(self, A: Jac, w: int = 8):
            if not 2 <= w <= 16:
                raise ValueError("fixed-base window must be in [2, 16]")
            self.w = w
            half = 1 << (w - 1)
            nrows = -(-(_R.bit_length() + 2) // w)
            h = 0
            for _ in range(nrows):
                h = (h << w) | half
            self._h = h
            if not A[2]:
                self.rows = None
                return
            # 2^j * A for j < w*nrows: rows need 2^(w*i) A and 2^(w*i+1) A
            chain: list[Jac] = []
            cur = A
            for _ in range(w * nrows):
                chain.append(cur)
                cur = dbl(cur)
            aff = batch_affine_nz(chain)
            rows = [[aff[w * i]] for i in range(nrows)]
            if half >= 2:
                for i in range(nrows):
                    rows[i].append(aff[w * i + 1])
            for _j in range(3, half + 1):
                # (j-1)*2^(w*i)*A + 2^(w*i)*A is never the identity (j < r): no None
                sums = cast("list[Aff]", batch_add([(row[-1], row[0]) for row in rows]))
                for row, s in zip(rows, sums):
                    row.append(s)
            self.rows = rows

        def mul(self, k: int) -> Jac:
            k %= _R
            if not k or self.rows is None:
                return INF
            kk = k + self._h
            w = self.w
            half = 1 << (w - 1)
            mask = (1 << w) - 1
            X, Y, Z = INF
            for row in self.rows:
                u = kk & mask
                kk >>= w
                if u == half:
                    continue
                if u > half:
                    x2, y2 = row[u - half - 1]
                else:
                    x2, y2 = row[half - u - 1]
                    y2 = p - y2
                if not Z:
                    X, Y, Z = x2, y2, one
                    continue
                ZZ = Z * Z % p
                H = (x2 * ZZ - X) % p
                Rr = (y2 * ZZ * Z - Y) % p
                if not H:
                    if Rr:
                        X, Y, Z = INF
                    else:
                        X, Y, Z = dbl((X, Y, Z))
                    continue
                HH = H * H % p
                HHH = H * HH % p
                V = X * HH % p
                X = (Rr * Rr - HHH - (V << 1)) % p
                Y = (Rr * (V - X) - Y * HHH) % p
                Z = Z * H % p
            return (X, Y, Z)

    def identity() -> Jac:
        return INF

    def generator() -> Jac:
        return (num(1), num(2), one)

    return JacobianBackend(
        name=name,
        straus_max=straus_max,
        INF=INF,
        identity=identity,
        generator=generator,
        is_identity=is_inf,
        add=add,
        madd=madd,
        dbl=dbl,
        neg=neg,
        sub=sub,
        mul=mul,
        eq=eq,
        phi=phi,
        msm=msm,
        msm_straus=msm_straus,
        msm_rows=msm_rows,
        msm_pippenger=msm_pippenger,
        batch_add=batch_add,
        to_affine=to_affine,
        batch_affine=batch_affine,
        from_affine=from_affine,
        fixed_base=FixedBase,
    )


def ints_backend() -> JacobianBackend:
    def invert(a: int) -> int:
        return pow(a, -1, _P)

    return make_backend("ints", int, invert, straus_max=20)


def gmpy2_backend() -> JacobianBackend:
    import gmpy2  # ImportError -> backend unavailable

    p = gmpy2.mpz(_P)
    ginvert = gmpy2.invert

    def invert(a: int) -> int:
        inverse: int = ginvert(a, p)  # an mpz (see "Types" above)
        return inverse

    return make_backend("gmpy2", gmpy2.mpz, invert)
