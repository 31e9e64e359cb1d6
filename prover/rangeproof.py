r"""Aggregated Bulletproofs range proofs -- proof generation.

Relation, message flow, transcript order and encoding: see
:mod:`zkp.rangeproof` (shared with the verifier).  In short, for
V_j = v_j*G + gamma_j*H (j < m) the prover shows 0 <= v_j < 2^n for every j
with one proof of (2*log2(n*M) + 9)*32 bytes, M = next power of two >= m.

Randomness: alpha, rho, s_L (N scalars), s_R (N scalars), tau1, tau2 are
drawn in this order with :func:`zkp.field.random_scalar` (``secrets``; tests
and known-answer vectors inject :class:`zkp.field.SeededRng`).

Cost notes (where the time goes -- group work, the field work is noise):

* A = alpha*H + <a_L, G_vec> + <a_R, H_vec> has 0/1 and 0/-1 coefficients:
  it is N point additions, not a multi-scalar multiplication.
* S is one MSM of size 2N + 1; T1, T2 use the fixed-base tables of G and H.
* The inner-product argument works on *scaled* generators: every current
  generator is kept as f_i * P_i with the scalar f_i set aside.  The first
  round's H'_i = y^{-i} H_i is then free (f_i = y^{-i}, P_i = H_i), and each
  fold costs one scalar multiplication instead of two::

      u^{-1} f_lo G_lo + u f_hi G_hi = (u^{-1} f_lo) * (G_lo + (u^2 f_hi / f_lo) * G_hi)
      u f_lo H_lo + u^{-1} f_hi H_hi = (u f_lo)      * (H_lo + (u^{-2} f_hi / f_lo) * H_hi)

  L and R are MSMs whose scalars absorb the factors (a_lo,i * f_hi,i, ...).
  The hot loop uses the backend's raw functions, no Point wrappers.
"""
from __future__ import annotations

from typing import Sequence

from zkp.errors import ProvingError
from zkp.field import R, batch_inv, inv, random_scalar
from zkp.generators import generators
from zkp.group import Point
from zkp.rangeproof import (
    MAX_VALUES, RangeProof, check_bits, pad_commitments, padded_m, powers, transcript_AS,
    transcript_openings, transcript_round, transcript_statement, transcript_T, zz_vector,
)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_witness(values: Sequence[int], blindings: Sequence[int], n: int) -> None:
    try:
        check_bits(n)
    except ValueError as exc:
        raise ProvingError(str(exc)) from None
    m = len(values)
    if not 1 <= m <= MAX_VALUES:
        raise ProvingError(f"a range proof covers 1 to {MAX_VALUES} values")
    if len(blindings) != m:
        raise ProvingError("values and blindings differ in length")
    bound = 1 << n
    for j, v in enumerate(values):
        # The message names the index, never the secret value.
        if not _is_int(v) or not 0 <= v < bound:
            raise ProvingError(f"value {j} is not an int in [0, 2^{n})")
    for j, g in enumerate(blindings):
        if not _is_int(g):
            raise ProvingError(f"blinding {j} is not an int")


def prove_range(transcript, values, blindings, n, *, gens=None, rng=None) -> RangeProof:
    """Prove that the commitments values[j]*G + blindings[j]*H hold n-bit values.

    ``transcript`` must already hold the caller's statement; this function
    extends it (see :mod:`zkp.rangeproof` for the order).  The verifier needs
    the same commitments, n, and a transcript in the same state.  Raises
    :class:`~zkp.errors.ProvingError` for values outside [0, 2^n), n not in
    SUPPORTED_BITS, or 0 or more than 64 values."""
    values = list(values)
    blindings = list(blindings)
    _check_witness(values, blindings, n)
    gens = gens or generators()
    b = gens.backend
    m = len(values)
    M = padded_m(m)
    N = n * M
    if N > gens.capacity:
        raise ProvingError("generator set too small for this proof")
    gammas = [g % R for g in blindings] + [0] * (M - m)
    vals = values + [0] * (M - m)

    # -- statement ----------------------------------------------------------
    V = [gens.commit(v, g) for v, g in zip(values, gammas)]
    transcript_statement(transcript, n, M, gens.set_id, pad_commitments(V, M, b))

    alpha = random_scalar(rng)
    rho = random_scalar(rng)
    s_L = [random_scalar(rng) for _ in range(N)]
    s_R = [random_scalar(rng) for _ in range(N)]
    tau1 = random_scalar(rng)
    tau2 = random_scalar(rng)

    G_raw = [pt.raw for pt in gens.G_vec(N)]
    H_raw = [pt.raw for pt in gens.H_vec(N)]
    a_L = [(vals[i // n] >> (i % n)) & 1 for i in range(N)]

    # -- A, S -> y, z ---------------------------------------------------------
    add = b.add
    neg = b.neg
    A = gens.H_table.mul(alpha).raw
    for i in range(N):
        A = add(A, G_raw[i]) if a_L[i] else add(A, neg(H_raw[i]))
    S = b.msm(G_raw + H_raw + [gens.H.raw], s_L + s_R + [rho])
    A_pt, S_pt = Point(b, A), Point(b, S)
    y, z = transcript_AS(transcript, A_pt, S_pt)

    # -- t(X) = <l(X), r(X)>; T1, T2 -> x ---------------------------------------
    y_pow = powers(y, N)
    zz = zz_vector(z, n, M)
    l0 = [(ai - z) % R for ai in a_L]
    r0 = [(yi * (ai - 1 + z) + zzi) % R for yi, ai, zzi in zip(y_pow, a_L, zz)]
    r1 = [yi * si % R for yi, si in zip(y_pow, s_R)]
    t1 = (sum(p * q for p, q in zip(l0, r1)) + sum(p * q for p, q in zip(s_L, r0))) % R
    t2 = sum(p * q for p, q in zip(s_L, r1)) % R
    T1 = gens.commit(t1, tau1)
    T2 = gens.commit(t2, tau2)
    x = transcript_T(transcript, T1, T2)

    # -- t_hat, tau_x, mu -> w ------------------------------------------------------
    l_vec = [(p + x * q) % R for p, q in zip(l0, s_L)]
    r_vec = [(p + x * q) % R for p, q in zip(r0, r1)]
    t_hat = sum(p * q for p, q in zip(l_vec, r_vec)) % R
    z_pow = powers(z, M + 2)
    tau_x = (tau2 * x % R * x + tau1 * x + sum(z_pow[2 + j] * gammas[j] for j in range(M))) % R
    mu = (alpha + rho * x) % R
    w = transcript_openings(transcript, t_hat, tau_x, mu)
    Q = b.mul(gens.U.raw, w)

    # -- inner-product argument on G_vec, H'_i = y^{-i} H_i -------------------------
    Ls, Rs, a, bb = _inner_product(transcript, b, G_raw, [1] * N, H_raw, powers(inv(y), N),
                                   l_vec, r_vec, Q)
    return RangeProof(A_pt, S_pt, T1, T2, t_hat, tau_x, mu, tuple(Ls), tuple(Rs), a, bb)


def _inner_product(transcript, b, G, gf, H, hf, a, bv, Q):
    """The IPA prover for P = <a, G~> + <bv, H~> + <a, bv>*Q where the
    generators are G~_i = gf_i*G_i and H~_i = hf_i*H_i (raw points; the
    factors are kept aside, see the module docstring).  Returns
    (L list, R list, a, b) as Points and scalars."""
    msm = b.msm
    mul = b.mul
    add = b.add
    Ls, Rs = [], []
    n = len(a)
    while n > 1:
        h = n // 2
        a_lo, a_hi = a[:h], a[h:]
        b_lo, b_hi = bv[:h], bv[h:]
        g_lo, g_hi = gf[:h], gf[h:]
        h_lo, h_hi = hf[:h], hf[h:]
        c_L = sum(p * q for p, q in zip(a_lo, b_hi)) % R
        c_R = sum(p * q for p, q in zip(a_hi, b_lo)) % R
        L = msm(G[h:] + H[:h] + [Q],
                [p * q % R for p, q in zip(a_lo, g_hi)] + [p * q % R for p, q in zip(b_hi, h_lo)] + [c_L])
        R_ = msm(G[:h] + H[h:] + [Q],
                 [p * q % R for p, q in zip(a_hi, g_lo)] + [p * q % R for p, q in zip(b_lo, h_hi)] + [c_R])
        L_pt, R_pt = Point(b, L), Point(b, R_)
        Ls.append(L_pt)
        Rs.append(R_pt)
        u = transcript_round(transcript, L_pt, R_pt)
        u_inv = inv(u)
        a = [(u * p + u_inv * q) % R for p, q in zip(a_lo, a_hi)]
        bv = [(u_inv * p + u * q) % R for p, q in zip(b_lo, b_hi)]
        if h > 1:
            u2 = u * u % R
            ui2 = u_inv * u_inv % R
            g_lo_inv = batch_inv(g_lo)
            h_lo_inv = batch_inv(h_lo)
            G = [add(G[i], mul(G[h + i], u2 * g_hi[i] % R * g_lo_inv[i] % R)) for i in range(h)]
            H = [add(H[i], mul(H[h + i], ui2 * h_hi[i] % R * h_lo_inv[i] % R)) for i in range(h)]
            gf = [u_inv * f % R for f in g_lo]
            hf = [u * f % R for f in h_lo]
        n = h
    return Ls, Rs, a[0], bv[0]


__all__ = ["prove_range"]
