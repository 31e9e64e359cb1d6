r"""Aggregated Bulletproofs range proofs -- verification, single and batched.

Relation, message flow, transcript order and the verification equation: see
:mod:`zkp.rangeproof`.  Pure: no I/O, never imports :mod:`prover`.

Single verification (:func:`verify_range`)
------------------------------------------
The verifier replays the transcript for y, z, x, w, u_1..u_k, then checks
the t_hat equation and the inner-product argument together as ONE
multi-scalar multiplication (weight c on the t_hat equation, c a fresh
128-bit value from ``os.urandom``)::

    A + x*S + sum u_j^2*L_j + sum u_j^{-2}*R_j + c*x*T1 + c*x^2*T2
      + sum_j c*z^{2+j}*V_j + sum_i g_i*G_i + sum_i h_i*H_i
      + c*(delta(y,z) - t_hat)*G + (-mu - c*tau_x)*H + w*(t_hat - a*b)*U  ==  0
    g_i = -z - a*s_i,   h_i = z + y^{-i}*(zz_i - b*s_{N-1-i})

A proof is structurally checked first (L and R have exactly log2(n*M)
entries; A, S, T1, T2, L_j, R_j are group elements other than the identity;
scalars are ints in [0, r)).  Every failure raises the same
:class:`~zkp.errors.VerificationError`.

Folded commitments
------------------
A :class:`RangeCheck` may carry a :class:`FoldedValues` instead of its
commitments (on a :class:`~zkp.rangeproof.BoundTranscript` only): the chunk
holds values offset..offset+m-1 of a statement's :class:`FoldGroup`.  The
term sum_j c*z^{2+j}*V_j is then not built per proof; the batch check sums
the weights w_k*c*z^{2+j} of every chunk per statement value and asks the
group once for sum_f W_f*V_f as terms over the statement's sources (one
fold per statement and check, its points merged into the one MSM).

Batch verification (:func:`batch_verify`)
-----------------------------------------
Each proof's equation is computed once as *terms*: scalars for the shared
generators (G_vec, H_vec prefixes, G, H, U) and (point, scalar) pairs for
its own points, all multiplied by the proof's own weight w_k, a fresh
128-bit value from ``os.urandom`` drawn once when its terms are built (folded
into the vectors for free: into the first entry of s, and into b/a), never
revealed.  The batch equation is sum_k w_k * (terms_k), evaluated as ONE MSM
in which every shared generator appears once with its scalars summed across
proofs -- adding the cached weighted terms is all the per-proof work of a
check.  Proofs
of different n and m mix freely (a proof of size N uses the prefixes
G_0..G_{N-1}, H_0..H_{N-1}).  A wrong proof makes the sum non-zero except
with probability about 2^-128.

When the batch fails, bisection names the failing proofs: a failing set is
split in halves and each half is re-checked, reusing the cached weighted
terms (no transcript is replayed twice).  Every subset check is a random
linear combination of its proofs' equations with independent secret
weights, so a subset holding a bad proof passes with probability about
2^-128 (union bound over the at most 2n checks of a bisection).  When the left half passes,
the right half is known to contain a failure and is split without a check of
its own.  Singletons that fail are exactly the bad proofs, so one bad proof
never gets the others rejected.  :class:`BatchVerificationError` carries
``.failed``, the sorted list of their indices.
"""
from __future__ import annotations

import operator
import os
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import add, sub
from typing import Protocol

from zkp.errors import TranscriptError, VerificationError
from zkp.field import R, batch_inv
from zkp.generators import GeneratorSet, generators
from zkp.group import Backend, Point, RawPoint
from zkp.rangeproof import (
    MAX_VALUES,
    SUPPORTED_BITS,
    BoundTranscript,
    RangeProof,
    delta,
    pad_commitments,
    padded_m,
    powers,
    replay_challenges,
)
from zkp.transcript import Transcript


class BatchVerificationError(VerificationError):
    """A batch did not verify; ``failed`` lists exactly the failing indices."""

    def __init__(self, failed: Sequence[int]) -> None:
        super().__init__()
        self.failed = sorted(failed)


class FoldGroup(Protocol):
    """The derived commitments of one statement, never computed: for weights
    W_f (one per derived value, summed over the statement's chunks)
    :meth:`fold` returns the terms of sum_f W_f*V_f as (raw points, scalars,
    coefficient of G) -- e.g. the statement's source commitments with
    sum_f W_f*coeff_{f,src} and sum_f W_f*const_f."""

    n_values: int

    def fold(self, weights: list[int]) -> tuple[list[RawPoint], list[int], int]: ...


@dataclass
class FoldedValues:
    """Stands for the commitments of one chunk: values ``offset`` ..
    ``offset + m - 1`` of ``group``.  Only on a
    :class:`~zkp.rangeproof.BoundTranscript` (the statement binds them)."""

    group: FoldGroup
    offset: int
    m: int


@dataclass
class RangeCheck:
    """One proof to check in a batch: the caller's transcript (holding the
    statement), the commitments (or a :class:`FoldedValues`), the proof and
    the bit size."""

    transcript: Transcript
    commitments: Sequence[Point] | FoldedValues
    proof: RangeProof
    n: int


def _weight() -> int:
    """A fresh non-zero 128-bit weight from the OS CSPRNG."""
    while True:
        w = int.from_bytes(os.urandom(16), "big")
        if w:
            return w


try:  # optional speed-up for the vector arithmetic; plain ints otherwise
    from gmpy2 import f_mod as _f_mod
    from gmpy2 import mpz as _mpz
    # Typed as int: mpz supports every int operation used here, and the
    # scalars handed to the MSM are converted back with int().
    _num: Callable[[int], int] = _mpz
    # gmpy2's f_mod (floor modulo, as %) is markedly faster than % on mpz
    _mod: Callable[[int, int], int] = _f_mod
except ImportError:  # pragma: no cover - gmpy2 is a dependency
    _num = int
    _mod = operator.mod
_RN = _num(R)


def _s_vector(us: Sequence[int], scale: int, u_inv: Sequence[int] | None = None) -> list[int]:
    """zkp.rangeproof.s_vector(us, scale) in gmpy2 arithmetic (``u_inv``:
    the inverses of ``us`` when already known)."""
    k = len(us)
    s0 = _num(scale)
    for ui in (batch_inv(list(us)) if u_inv is None else u_inv):
        s0 = _mod(s0 * ui, _RN)
    s = [s0]
    for t in range(k):
        u = _num(us[k - 1 - t])
        sq = _mod(u * u, _RN)
        if t == k - 1:  # the last half stays unreduced (< r^2): only ever multiplied and summed
            s += [v * sq for v in s]
        else:
            s += [_mod(v * sq, _RN) for v in s]
    return s


def _geometric(start: int, ratio: int, count: int) -> list[int]:
    """[start, start*ratio, .., start*ratio^(count-1)] mod r, built by
    doubling the list (list comprehensions, one multiplication each)."""
    out = [_mod(_num(start), _RN)]
    step = _mod(_num(ratio), _RN)           # ratio^len(out)
    while 2 * len(out) < count:
        out += [_mod(v * step, _RN) for v in out]
        step = _mod(step * step, _RN)
    # the last doubling stays unreduced (< r^2): only ever multiplied and summed
    out += [v * step for v in out[:count - len(out)]]
    return out[:count]


class _Invalid(Exception):
    """Internal: a proof is structurally unusable (reported as a failure)."""


# Raw generator lists per generator set (Point wrappers stripped once).
_RawVectors = tuple[list[RawPoint], list[RawPoint]]
_RAW: weakref.WeakKeyDictionary[GeneratorSet, _RawVectors] = weakref.WeakKeyDictionary()


def _raw_gens(gens: GeneratorSet, N: int) -> _RawVectors:
    cached = _RAW.get(gens)
    if cached is None or len(cached[0]) < N:
        cached = ([pt.raw for pt in gens.G_vec(N)], [pt.raw for pt in gens.H_vec(N)])
        _RAW[gens] = cached
    return cached


@dataclass
class _Terms:
    """One proof's verification equation, already multiplied by the proof's
    secret random batch weight rho: the sum below is the identity iff the
    proof is accepted (for this proof's random c and rho).

        sum_i (-z - sa_i)*G_i + sum_i (z + e_i)*H_i + sG*G + sH*H + sU*U
          + sum points[k]*scalars[k]

    (with the weight folded in: z = rho*z, sa_i = rho*a*s_i, e_i =
    rho*y^{-i}*(zz_i - b*s_{N-1-i})); a batch check only adds them up."""

    N: int
    z: int
    sa: list[int]  # rho*a*s_0 .. rho*a*s_{N-1}
    e: list[int]   # e_0..e_{N-1} (not reduced mod r)
    sG: int        # scalar of the Pedersen base G
    sH: int        # scalar of the Pedersen base H
    sU: int        # scalar of the inner-product base U
    points: list[RawPoint]  # raw points of the proof and its commitments
    scalars: list[int]
    #: folded commitments: (group, offset, rho*c*z^(2+j) for j < m), else None
    fold: tuple[FoldGroup, int, list[int]] | None = field(default=None)


def _point(pt: object, b: Backend, *, allow_identity: bool) -> Point:
    if not isinstance(pt, Point):
        raise _Invalid
    if pt.b is not b:
        pt = pt.to_backend(b)
    if not allow_identity and pt.is_identity():
        raise _Invalid
    return pt


def _scalar(k: object) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < R:
        raise _Invalid
    return k


def _terms(transcript: Transcript, commitments: Sequence[Point] | FoldedValues, proof: RangeProof, n: int,
           gens: GeneratorSet) -> _Terms:
    """Replay the transcript and build this proof's MSM terms (or _Invalid).

    Follows the verification equation term by term in transcript order, so it is kept as one
    function a reviewer can read against the module docstring.
    """
    if not isinstance(proof, RangeProof) or not isinstance(n, int) or isinstance(n, bool) \
            or n not in SUPPORTED_BITS:
        raise _Invalid
    b = gens.backend
    folded: FoldedValues | None = None
    V: list[Point] = []
    if isinstance(commitments, FoldedValues):
        folded = commitments
        if not isinstance(transcript, BoundTranscript):
            raise _Invalid  # nothing would bind the folded commitments
        m = folded.m
        if not isinstance(m, int) or not 0 <= folded.offset <= folded.group.n_values - m:
            raise _Invalid
    else:
        try:
            listed = list(commitments)
        except TypeError:
            raise _Invalid from None
        m = len(listed)
        V = [_point(C, b, allow_identity=True) for C in listed]
    if not 1 <= m <= MAX_VALUES:
        raise _Invalid
    M = padded_m(m)
    N = n * M
    k = N.bit_length() - 1
    if N > gens.capacity or len(proof.L) != k or len(proof.R) != k:
        raise _Invalid
    A, S, T1, T2 = (_point(p, b, allow_identity=False) for p in (proof.A, proof.S, proof.T1, proof.T2))
    Ls = [_point(p, b, allow_identity=False) for p in proof.L]
    Rs = [_point(p, b, allow_identity=False) for p in proof.R]
    t_hat, tau_x, mu, a, bb = (_scalar(v) for v in (proof.t_hat, proof.tau_x, proof.mu, proof.a, proof.b))
    enc = getattr(proof, "_enc", None)  # a decoded proof's own canonical encodings
    proof = RangeProof(A, S, T1, T2, t_hat, tau_x, mu, tuple(Ls), tuple(Rs), a, bb)

    padded = [] if folded is not None else pad_commitments(V, M, b)  # bound: the V_j are not absorbed
    ch = replay_challenges(transcript, n, M, gens.set_id, padded, proof, enc)
    y, z, x, w, us = ch.y, ch.z, ch.x, ch.w, ch.u
    c = _weight()
    rho = _weight()  # this proof's batch weight, drawn once (module docstring)

    # Vectors of length N in gmpy2 integers when available (about twice as
    # fast as ints at this size); every scalar handed to the MSM is an int.
    # rho*a is folded into s (its first entry).  The b-part of e needs
    # w_i = y^{-i} * s_{N-1-i}: bit t of i contributes y^{-2^t} to y^{-i} and
    # turns u_{k-1-t} into u_{k-1-t}^{-1} in s_{N-1-i}, so
    #   w_i = s_{N-1} * prod_{t in bits(i)} y^{-2^t} * u_{k-1-t}^{-2},
    # built by doubling like s (rho*b folded into its first entry).
    zN = _num(z)
    y_inv = _num(batch_inv([y])[0])
    u_inv = batch_inv(list(us))
    rounds = len(us)
    sa = _s_vector(us, rho * a % R, u_inv)
    s_last = _num(rho * bb % R)
    for u in us:
        s_last = _mod(s_last * u, _RN)
    w_vec = [s_last]
    y_pow = y_inv                                    # y^{-2^t}
    for t in range(rounds):
        ui = _num(u_inv[rounds - 1 - t])
        f = _mod(_mod(ui * ui, _RN) * y_pow, _RN)
        if t == rounds - 1:  # the last half stays unreduced (< r^2): only ever summed
            w_vec += [v * f for v in w_vec]
        else:
            w_vec += [_mod(v * f, _RN) for v in w_vec]
        y_pow = _mod(y_pow * y_pow, _RN)
    y_inv_n = _geometric(_num(1), y_inv, n + 1)        # y^{-k}, k <= n
    T = [(1 << k) * y_inv_n[k] % _RN for k in range(n)]  # 2^k * y^{-k}
    Z = _geometric(zN * zN * rho % _RN, zN * y_inv_n[n] % _RN, M)  # rho * z^{2+j} * y^{-j*n}
    e = list(map(sub, [Zj * t for Zj in Z for t in T], w_vec))  # rho*y^{-i}*(zz_i - b*s_{N-1-i})

    u_sq = [u * u % R * rho % R for u in us]
    u_inv_sq = [ui * ui % R * rho % R for ui in u_inv]
    z_pow = powers(z, m + 2)
    rc = rho * c % R
    points = [A.raw, S.raw, T1.raw, T2.raw]
    scalars = [rho, rho * x % R, rc * x % R, rc * x % R * x % R]
    for Lj, Rj, us2, ui2 in zip(Ls, Rs, u_sq, u_inv_sq):
        points.append(Lj.raw)
        scalars.append(us2)
        points.append(Rj.raw)
        scalars.append(ui2)
    for j, Vj in enumerate(V):  # padded entries are the identity: no term
        points.append(Vj.raw)
        scalars.append(rc * z_pow[2 + j] % R)
    sG = rc * (delta(y, z, n, M) - t_hat) % R
    sH = rho * (-mu - c * tau_x) % R
    sU = rho * w % R * (t_hat - a * bb) % R
    fold = None
    if folded is not None:
        fold = (folded.group, folded.offset, [rc * z_pow[2 + j] % R for j in range(m)])
    return _Terms(N, zN * rho % _RN, sa, e, sG, sH, sU, points, scalars, fold)


def _scaled(t: _Terms, w: int) -> _Terms:
    fold = None if t.fold is None else (t.fold[0], t.fold[1], [w * v % R for v in t.fold[2]])
    return _Terms(t.N, w * t.z % _RN, [w * v % _RN for v in t.sa], [w * v for v in t.e], w * t.sG % R,
                  w * t.sH % R, w * t.sU % R, t.points, [w * v % R for v in t.scalars], fold)


class _Acc:
    """Running sums of weighted terms (:class:`_Terms`), checked with one MSM."""

    def __init__(self) -> None:
        self.as_acc: list[int] = []      # sum_k rho_k a_k s_k,i
        self.e_acc: list[int] = []       # sum_k e_k,i
        self.z_by_N: dict[int, int] = {}   # sum_k rho_k z_k over proofs of size N
        self.sG = self.sH = self.sU = 0
        self.folds: dict[int, tuple[FoldGroup, list[int]]] = {}
        self.points: list[RawPoint] = []
        self.scalars: list[int] = []

    def add(self, t: _Terms) -> None:
        N = t.N
        if N > len(self.as_acc):
            grow = N - len(self.as_acc)
            self.as_acc += [0] * grow
            self.e_acc += [0] * grow
        self.as_acc[:N] = list(map(add, self.as_acc, t.sa))
        self.e_acc[:N] = list(map(add, self.e_acc, t.e))
        self.z_by_N[N] = self.z_by_N.get(N, 0) + t.z
        self.sG += t.sG
        self.sH += t.sH
        self.sU += t.sU
        self.points.extend(t.points)
        self.scalars.extend(t.scalars)
        if t.fold is not None:
            group, off, fw = t.fold
            acc = self.folds.get(id(group))
            if acc is None:
                acc = self.folds[id(group)] = (group, [0] * group.n_values)
            acc[1][off:off + len(fw)] = list(map(add, acc[1][off:off + len(fw)], fw))

    def check(self, gens: GeneratorSet) -> bool:
        b = gens.backend
        Nmax = len(self.as_acc)
        G_raw, H_raw = _raw_gens(gens, Nmax)
        points, scalars, sG = list(self.points), list(self.scalars), self.sG
        # folded commitments: one term per source of each statement (FoldGroup)
        for group, acc_w in self.folds.values():
            f_pts, f_sc, f_g = group.fold([v % R for v in acc_w])
            points.extend(f_pts)
            scalars.extend(f_sc)
            sG += f_g
        # G_i and H_i take -z / +z from every proof with N > i.
        g_sc = [0] * Nmax
        h_sc = [0] * Nmax
        zc = 0
        hi = Nmax
        for N in sorted(self.z_by_N, reverse=True) + [0]:
            if N < hi:
                g_sc[N:hi] = [int(_mod(-zc - q, _RN)) for q in self.as_acc[N:hi]]
                h_sc[N:hi] = [int(_mod(zc + q, _RN)) for q in self.e_acc[N:hi]]
                hi = N
            zc += self.z_by_N.get(N, 0)
        all_points = G_raw[:Nmax] + H_raw[:Nmax] + [gens.G.raw, gens.H.raw, gens.U.raw] + points
        all_scalars = g_sc + h_sc + [int(sG % R), int(self.sH % R), int(self.sU % R)] + scalars
        return bool(b.is_identity(b.msm(all_points, all_scalars)))


def _check(terms: Sequence[_Terms], weights: Sequence[int], gens: GeneratorSet) -> bool:
    """Is sum_k weights[k]*terms[k] the identity (terms already carry their
    proof's random weight; ``weights`` are extra factors, 1 in every check
    of this module)?  One MSM in which every shared generator appears once
    with its scalars summed over the proofs, and every folded statement once
    per source."""
    acc = _Acc()
    for t, w in zip(terms, weights):
        acc.add(t if w == 1 else _scaled(t, w))
    return acc.check(gens)


def verify_range(transcript: Transcript, commitments: Sequence[Point], proof: RangeProof, n: int, *,
                 gens: GeneratorSet | None = None) -> None:
    """Verify ``proof`` that every commitment holds a value in [0, 2^n).

    ``transcript`` must be in the state the prover's was in (holding the same
    statement); it is extended.  Raises
    :class:`~zkp.errors.VerificationError` on any failure."""
    gens = gens or generators()
    try:
        terms = _terms(transcript, commitments, proof, n, gens)
    except (_Invalid, TranscriptError):
        raise VerificationError() from None
    if not _check([terms], [1], gens):
        raise VerificationError()


#: Above this many vector entries in a batch (sum of the proofs' N), the
#: per-proof terms are summed as they are built and not kept; a failing batch
#: then replays the failing subsets' transcripts (from saved clones).
STREAM_ABOVE = 1 << 18


def _size(chk: RangeCheck) -> int:
    try:
        m = chk.commitments.m if isinstance(chk.commitments, FoldedValues) else len(chk.commitments)
        return int(chk.n) * padded_m(m)
    except (TypeError, ValueError):
        return 0


def batch_verify(checks: Sequence[RangeCheck], *, gens: GeneratorSet | None = None) -> None:
    """Verify many range proofs together (one MSM when all are valid).

    Raises :class:`BatchVerificationError` whose ``failed`` names exactly the
    indices of the proofs that do not verify.  An empty batch passes.
    Batches above :data:`STREAM_ABOVE` vector entries keep no per-proof
    vectors (memory O(max N), not O(sum N))."""
    checks = list(checks)
    if not checks:
        return
    gens = gens or generators()
    if sum(_size(c) for c in checks) > STREAM_ABOVE:
        _batch_streaming(checks, gens)
        return
    failed: list[int] = []
    cached: dict[int, _Terms] = {}
    for idx, chk in enumerate(checks):
        try:
            cached[idx] = _terms(chk.transcript, chk.commitments, chk.proof, chk.n, gens)
        except (_Invalid, TranscriptError):
            failed.append(idx)
    candidates = sorted(cached)

    def ok(indices: Sequence[int]) -> bool:
        return _subset_ok(indices, cached, gens)

    if candidates and not ok(candidates):
        failed.extend(_bisect(candidates, ok))
    if failed:
        raise BatchVerificationError(failed)


def _batch_streaming(checks: list[RangeCheck], gens: GeneratorSet) -> None:
    saved = [c.transcript.clone() for c in checks]
    failed: list[int] = []
    good: list[int] = []
    acc = _Acc()
    for idx, chk in enumerate(checks):
        try:
            acc.add(_terms(chk.transcript, chk.commitments, chk.proof, chk.n, gens))
        except (_Invalid, TranscriptError):
            failed.append(idx)
            continue
        good.append(idx)

    def ok(indices: Sequence[int]) -> bool:
        sub = _Acc()
        for i in indices:
            c = checks[i]
            sub.add(_terms(saved[i].clone(), c.commitments, c.proof, c.n, gens))
        return sub.check(gens)

    if good and not acc.check(gens):
        failed.extend(_bisect(good, ok))
    if failed:
        raise BatchVerificationError(sorted(failed))


def _subset_ok(indices: Sequence[int], cached: Mapping[int, _Terms], gens: GeneratorSet) -> bool:
    return _check([cached[i] for i in indices], [1] * len(indices), gens)


def _bisect(indices: list[int], ok: Callable[[Sequence[int]], bool]) -> list[int]:
    """``indices`` is known to contain at least one failing proof."""
    if len(indices) == 1:
        return list(indices)
    mid = len(indices) // 2
    left, right = indices[:mid], indices[mid:]
    bad: list[int] = []
    if ok(left):
        return _bisect(right, ok)
    bad.extend(_bisect(left, ok))
    if not ok(right):
        bad.extend(_bisect(right, ok))
    return bad


__all__ = ["verify_range", "batch_verify", "RangeCheck", "BatchVerificationError", "FoldGroup", "FoldedValues"]
