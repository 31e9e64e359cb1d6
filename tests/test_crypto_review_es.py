"""Crypto review (issue 13): the expected-shortfall statement's no-wrap
argument and its reference forms.

* The bounds of zkp.margin's docstring re-derived from the constants (S <=
  2^11, I <= 2^12, |A| < 2^64, |pos| < 2^52, |cash| < 2^116; t any field
  element): every integer in the argument stays below r/2.
* A cheating prover with its range checks off, at the extremes (entries
  +-(2^64 - 1), positions +-(2^52 - 1)), tries field-element witnesses that
  would pass if arithmetic wrapped: t near r/2 (both sides), t = r - small,
  e_s = r - small, e_s chosen so that x_s wraps, f wrapping through k*t --
  none verifies, and the same helper verifies the honest witness of a true
  statement (so it can pass).
* The reference forms equal the fast paths for every variant, including an
  ES set's solvency-only statement whose row 0 is not the no-move row (the
  reference used to add row 0's P&L to cash there: verify_unfolded refused
  an honest proof that verify accepted).
"""
from __future__ import annotations

import random

import pytest

from prover import statements as P
from support.statement_fixtures import commit_values
from verifier import statements as V
from zkp.errors import VerificationError
from zkp.field import R, SeededRng
from zkp.generators import generators
from zkp.margin import Margin, MarginModel, MarginProof
from zkp.pedersen import Opening
from zkp.statement_base import (
    MAX_COEFF,
    MAX_INSTRUMENTS,
    MAX_PUBLIC_AMOUNT,
    MAX_SCENARIOS,
    Context,
    derive_openings,
    fold_forms,
)

RNG = SeededRng(b"crypto-review-es")
TOP = (1 << 64) - 1
POS = (1 << 52) - 1


def committed(values):
    return commit_values(values, RNG)


def test_no_wrap_bounds_from_the_constants():
    half = R // 2
    S, I = MAX_SCENARIOS, MAX_INSTRUMENTS
    A, pos, cash = MAX_COEFF, 1 << 52, 1 << 116
    pnl = I * A * pos                      # |P&L_s| < 2^128
    assert pnl <= 1 << 128
    cash_p = cash + MAX_PUBLIC_AMOUNT + (1 << 64)  # cash - w or cash - due
    assert cash_p < 1 << 117
    assert cash_p + pnl < 1 << 129 < half        # scan E_s
    t_star = (1 << 64) + (1 << 64) + pnl   # x_0 - e_0 - P&L_0
    assert t_star < 1 << 129
    assert (1 << 64) + pnl + t_star < 1 << 130 < half  # e_s + P&L_s + t*
    f = S * (1 << 64) + S * t_star + S * (1 << 64)
    assert f < 1 << 141 < half


def cheat_prove(st, openings, t, e):
    """Commit (t, e_s) -- any field elements -- and prove whatever the derived
    values are with the prover's range checks off (values wrapped mod r)."""
    import prover.rangeproof as prover_mod

    gens = generators()
    aux_ops = [Opening(t % R, RNG.randbelow(R))] + [Opening(x % R, RNG.randbelow(R)) for x in e]
    full = st.with_aux([gens.commit(o.value, o.blinding) for o in aux_ops])
    derived = [Opening(d.value % R, d.blinding % R) for d in full.derive_values(list(openings) + aux_ops)]
    saved = prover_mod._check_witness
    prover_mod._check_witness = lambda *a: None
    try:
        proofs = tuple(P.prove_chunk(j, gens=gens, rng=RNG) for j in P.chunk_jobs(full, derived, gens=gens))
    finally:
        prover_mod._check_witness = saved
    return MarginProof(proofs, full.aux)


def test_cheating_prover_at_the_extremes():
    matrix = [[TOP, -TOP], [-TOP, -TOP], [TOP - 1, TOP], [-TOP, TOP]]
    positions = [POS, -POS]
    k = 2
    losses = [-(a * positions[0] + b * positions[1]) for a, b in matrix]
    top = sorted(losses, reverse=True)
    need = -(-(top[0] + top[1]) // k)
    assert need > 1 << 64                  # no member with cash' < 2^64 passes
    cash = (1 << 64) - 1                   # the most cash' the statement can show
    (C_cash,), (o_cash,) = committed([cash])
    C_pos, o_pos = committed(positions)
    st = Margin(Context(8, 1, b"X"), C_cash, tuple(C_pos), matrix, b"set-x", model=MarginModel("es", k))
    ops = [o_cash, *o_pos]
    t_k = top[k - 1]
    honest_e = [max(0, L - t_k) for L in losses]
    half = R // 2
    attempts = {
        "honest witness": (t_k, honest_e),
        "t = floor(r/2)": (half, [0] * 4),
        "t = floor(r/2) + 1": (half + 1, [0] * 4),
        "t = -floor(r/2)": (-half, [0] * 4),
        "t = r - 1": (R - 1, [0] * 4),
        "t near r/2, e_s = r - small": (half, [R - 1, R - 2, R - 3, R - 4]),
        "e_s wraps x_s into range": (t_k, [(L - t_k) % R if L > t_k else 0 for L in losses]),
        "e_s = r - (P&L_s + t)": (0, [(L - 0) % R for L in losses]),
        "x_s zero everywhere": (t_k, [(L - t_k) % R for L in losses]),
        "k*t wraps f": (pow(k, -1, R) * (k * cash) % R, [0] * 4),
        "t = max loss": (top[0], [0] * 4),
    }
    for name, (t, e) in attempts.items():
        with pytest.raises(VerificationError):
            V.verify(st, cheat_prove(st, ops, t, e))
        assert name
    # the helper can pass: a true statement at the same extremes (a portfolio
    # that gains in every scenario by the most, cash' at its upper end)
    small = [[TOP, 1], [TOP - 1, 1], [TOP, 2], [TOP - 3, 0]]
    pos2 = [1, 0]
    (C2,), (o2,) = committed([5])
    Cp, op = committed(pos2)
    st2 = Margin(Context(8, 1, b"X"), C2, tuple(Cp), small, b"set-x", model=MarginModel("es", 1))
    # t = 0 (not the honest k-th loss, which would put f above 2^64): x_s = P&L_s <= 2^64 - 1
    V.verify(st2, cheat_prove(st2, [o2, *op], 0, [0] * 4))


# -- the reference forms equal the fast paths ---------------------------------------------
def _variants(rnd):
    S, I = 5, 3
    es_mat = [[rnd.randint(-50, 50) for _ in range(I)] for _ in range(S)]
    es_mat[0] = [3, -4, 7]                 # an ES set's row 0 need not be no-move
    scan_mat = [[0] * I] + es_mat[1:]
    (C_cash,), (o_cash,) = committed([10**6])
    C_pos, o_pos = committed([rnd.randint(-9, 9) for _ in range(I)])
    ctx = Context(2, 3, b"R")
    out = []
    for mat, model in ((scan_mat, MarginModel()), (es_mat, MarginModel("es", 2))):
        for solvency_only in (False, True):
            out.append((Margin(ctx, C_cash, tuple(C_pos), mat, b"s", solvency_only, model=model),
                        [o_cash, *o_pos]))
    return out


def test_reference_forms_equal_the_fast_paths_for_every_variant():
    rnd = random.Random(5)
    for st, ops in _variants(rnd):
        full, all_ops, derived = P.margin_witness(st, ops, rng=RNG)
        ref = derive_openings(all_ops, full.forms())
        assert [(d.value % R, d.blinding % R) for d in derived] == [(d.value, d.blinding) for d in ref]
        w = [rnd.randrange(R) for _ in range(full.num_forms())]
        assert full.fold(w) == fold_forms(full.forms(), len(full.sources()), w)


def test_es_solvency_only_verifies_folded_and_unfolded():
    rnd = random.Random(6)
    st, ops = next(v for v in _variants(rnd) if v[0].model.kind == "es" and v[0].solvency_only)
    assert any(st.mat.rows[0])
    _, proof = P.prove_margin(st, ops, rng=RNG)
    V.verify(st, proof)
    V.verify_unfolded(st, proof)
