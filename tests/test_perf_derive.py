"""Shared-precomputation MSMs (zkp.group.msm_rows) and the derived
commitments built on them: identical points to one MSM per row, on every
backend, and equal to the py_ecc reference."""
from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from support.backends import FAST_BACKENDS
from zkp.field import R
from zkp.generators import generators
from zkp.group import Point, msm, msm_rows, use_backend
from zkp.statements import Context, LinearForm, Margin, derive_commitments

_SCALARS = st.one_of(st.just(0), st.just(1), st.just(-1), st.integers(-(1 << 63), 1 << 63),
                     st.integers(0, R - 1))


@given(rows=st.lists(st.lists(_SCALARS, min_size=5, max_size=5), min_size=1, max_size=4),
       seeds=st.lists(st.integers(1, R - 1), min_size=4, max_size=4))
def test_msm_rows_matches_msm_per_row(rows, seeds):
    for name in FAST_BACKENDS:
        with use_backend(name):
            g = generators()
            pts = [g.G * k for k in seeds] + [Point.identity()]
            assert msm_rows(pts, rows) == [msm(pts, r) for r in rows], name


def test_msm_rows_agrees_with_pyecc(fast_backend_name):
    rnd = random.Random(5)
    seeds = [rnd.randrange(1, R) for _ in range(6)]
    rows = [[rnd.randrange(-(1 << 64), 1 << 64) for _ in seeds] for _ in range(3)] + [[0] * 6]
    with use_backend("pyecc") as ref:
        g = generators(ref)
        want = [p.encode() for p in msm_rows([g.H * k for k in seeds], rows)]
    g = generators()
    assert [p.encode() for p in msm_rows([g.H * k for k in seeds], rows)] == want


def test_margin_scenario_equities(fast_backend_name):
    """E_s = cash + sum_i A[s][i] pos_i, computed together, equal the
    one-MSM-per-scenario values (and so the transcript is unchanged)."""
    rnd = random.Random(9)
    g = generators()
    I, S = 5, 6
    cash = g.commit(10**9, rnd.randrange(R))
    pos = tuple(g.commit(rnd.randint(-50, 50), rnd.randrange(R)) for _ in range(I))
    matrix = [[0] * I] + [[rnd.randint(-10**6, 10**6) for _ in range(I)] for _ in range(S - 1)]
    st_ = Margin(Context(1, 2, b"m"), cash, pos, matrix, b"set")
    got = st_.derived(g)
    want = [msm([cash, *pos], [1, *[a % R for a in row]]) for row in matrix]
    assert got == want
    # a form with a constant and a repeated source
    f = LinearForm(-7, ((0, 2), (1, 3), (0, -1)))
    assert derive_commitments([cash, pos[0]], [f], g) == [cash + pos[0] * 3 - g.G * 7]
