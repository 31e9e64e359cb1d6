"""Group backends against the py_ecc reference.

Every fast backend (ints, gmpy2, mcl when installed) must compute exactly
what py_ecc computes: the same encodings for sums, negations, doublings,
scalar multiples (edge scalars included), MSMs on both sides of the
Straus/Pippenger threshold (repeated points, zero scalars, identity points,
cancellations), and fixed-base tables.  The GLV constants and lattice are
re-derived here from first principles.
"""
from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.backends import AVAILABLE_BACKENDS, FAST_BACKENDS
from zkp.errors import BackendError
from zkp.field import P, R, SeededRng
from zkp.group import (
    FixedBase,
    Point,
    _load,
    available_backends,
    default_backend_name,
    get_backend,
    msm,
    point_sum,
    set_backend,
    use_backend,
)
from zkp.group.glv import (
    BN_U,
    GLV_BETA,
    GLV_BITS,
    GLV_LAMBDA,
    GLV_V1,
    GLV_V2,
    glv_split,
    pippenger_window,
    wnaf_positions,
)
from zkp.group.jacobian import STRAUS_MAX

REF = _load("pyecc")
JACOBIAN = [n for n in FAST_BACKENDS if n in ("ints", "gmpy2")]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EDGE_SCALARS = [0, 1, 2, 3, R - 1, R - 2, R, R + 1, 2 * R - 1, R // 2, R // 2 + 1,
                2**127 - 1, 2**127, 2**128, 2**253, 2**254, GLV_LAMBDA, R - GLV_LAMBDA,
                -1, -5]


def ref_point(k: int) -> Point:
    return Point.generator(REF) * k


def enc(pt: Point) -> str:
    return pt.encode().hex()


def rand_scalars(seed, n):
    rng = SeededRng(seed)
    return [rng.randbelow(R) for _ in range(n)]


# -- basic arithmetic ------------------------------------------------------------

def test_reference_is_listed_first():
    names = available_backends()
    assert names[0] == "pyecc" and "ints" in names
    assert names == AVAILABLE_BACKENDS


def test_generator_and_identity(backend_name):
    b = get_backend()
    assert b.name == backend_name
    G = Point.generator()
    assert G.affine() == (1, 2)
    O = Point.identity()
    assert O.is_identity() and not G.is_identity()
    assert O.affine() is None
    assert G + O == G and O + G == G and O + O == O
    assert O.double() == O and -O == O and O - O == O
    assert G - G == O and (G + (-G)).is_identity()
    assert G * 0 == O and O * 5 == O


@pytest.mark.parametrize("name", FAST_BACKENDS)
def test_add_sub_neg_dbl_match_reference(name):
    b = _load(name)
    ks = rand_scalars(b"addsub" + name.encode(), 8)
    for a, c in zip(ks[0::2], ks[1::2]):
        A, C = Point.generator(b) * a, Point.generator(b) * c
        rA, rC = ref_point(a), ref_point(c)
        assert enc(A) == enc(rA)
        assert enc(A + C) == enc(rA + rC)
        assert enc(A - C) == enc(rA - rC)
        assert enc(-A) == enc(-rA)
        assert enc(A.double()) == enc(rA.double()) == enc(A + A)
        assert (A + (-A)).is_identity() and (A - A).is_identity()
        assert A + C == C + A
        assert A != -A and A != C and A != Point.identity(b)
        assert not b.eq(A.raw, b.neg(A.raw)) and not b.eq(b.identity(), A.raw)
        # raw API with Jacobian (non-normalised) operands
        raw = b.add(b.add(A.raw, C.raw), b.neg(C.raw))
        assert b.eq(raw, A.raw) and not b.eq(raw, C.raw)
        assert b.eq(b.sub(A.raw, A.raw), b.identity())
        assert b.eq(b.dbl(A.raw), b.add(A.raw, A.raw))


@pytest.mark.parametrize("name", FAST_BACKENDS)
def test_add_when_operands_are_equal_in_jacobian_form(name):
    """P + P through add() with P held in two different projective forms."""
    b = _load(name)
    A = Point.generator(b) * 12345
    A2 = Point(b, b.add(b.add(A.raw, A.raw), b.neg(A.raw)))  # same point, other Z
    assert enc(A + A2) == enc(ref_point(24690))
    assert (A - A2).is_identity()


@pytest.mark.parametrize("name", FAST_BACKENDS)
def test_scalar_edges_match_reference(name):
    b = _load(name)
    base = Point.generator(b) * 987654321
    rbase = ref_point(987654321)
    for k in EDGE_SCALARS:
        assert enc(base * k) == enc(rbase * k), k
        assert b.eq(b.mul(base.raw, k), (base * k).raw)
    assert (base * R).is_identity() and (base * 0).is_identity()
    assert base * (R - 1) == -base
    assert (Point.identity(b) * 7).is_identity()


@pytest.mark.parametrize("name", FAST_BACKENDS)
def test_random_scalar_mul_matches_reference(name):
    b = _load(name)
    ks = rand_scalars(b"mul" + name.encode(), 6)
    G = Point.generator(b)
    for a, k in zip(ks, reversed(ks)):
        assert enc((G * a) * k) == enc(ref_point(a * k % R))


def test_mixed_backends_are_refused():
    A = Point.generator(_load("ints"))
    B = Point.generator(REF)
    with pytest.raises(BackendError):
        A + B
    with pytest.raises(BackendError):
        msm([A, B], [1, 2])
    assert A == B  # equality compares encodings across backends
    assert A.to_backend(REF) == B and B.to_backend(_load("ints")).b is A.b
    assert Point.identity(REF).to_backend(_load("ints")).is_identity()


def test_point_sum(backend_name):
    G = Point.generator()
    pts = [G * k for k in (1, 2, 3, 4)]
    assert point_sum(pts) == G * 10
    assert point_sum([]).is_identity()


# -- MSM -------------------------------------------------------------------------

def _dlog_points(b, seed, n):
    """n points with known discrete logs (base (1, 2))."""
    logs = rand_scalars(seed, n)
    G = Point.generator(b)
    return logs, [G * a for a in logs]


def _check_msm(b, logs, pts, ks, *, raw_fn=None):
    expect = enc(ref_point(sum(a * k for a, k in zip(logs, ks)) % R))
    assert enc(msm(pts, ks)) == expect
    if raw_fn is not None:
        assert enc(Point(b, raw_fn([p.raw for p in pts], ks))) == expect


@pytest.mark.parametrize("name", FAST_BACKENDS)
@pytest.mark.parametrize("n", [1, 2, 3, 7, 19, 20, 21, STRAUS_MAX - 1, STRAUS_MAX, STRAUS_MAX + 1, 64, 150])
def test_msm_sizes_match_reference(name, n):
    b = _load(name)
    # crosses the Straus/Pippenger threshold of every Jacobian backend
    assert getattr(b, "straus_max", 20) in (20, STRAUS_MAX)
    logs, pts = _dlog_points(b, b"msm-pts", n)
    ks = rand_scalars(b"msm-ks%d" % n, n)
    _check_msm(b, logs, pts, ks, raw_fn=b.msm)


@pytest.mark.parametrize("name", FAST_BACKENDS)
def test_msm_degenerate_inputs(name):
    b = _load(name)
    logs, pts = _dlog_points(b, b"msm-degen", 40)
    O = Point.identity(b)
    G = pts[0]
    ks = rand_scalars(b"msm-degen-ks", 40)
    assert msm([], []).is_identity()
    with pytest.raises(ValueError):
        msm(pts[:2], [1])
    with pytest.raises(ValueError):
        b.msm([G.raw], [1, 2])
    for size in (3, 40):
        # zero scalars (and scalars = r) everywhere or in places
        assert msm(pts[:size], [0] * size).is_identity()
        assert msm(pts[:size], [R] * size).is_identity()
        ks0 = [0 if i % 3 == 0 else k for i, k in enumerate(ks[:size])]
        _check_msm(b, logs[:size], pts[:size], ks0)
        # identity points
        assert msm([O] * size, ks[:size]).is_identity()
        pts_o = [O if i % 4 == 1 else p for i, p in enumerate(pts[:size])]
        logs_o = [0 if i % 4 == 1 else a for i, a in enumerate(logs[:size])]
        _check_msm(b, logs_o, pts_o, ks[:size])
        # repeated points, cancelling pairs, negative scalars
        _check_msm(b, [logs[0]] * size, [G] * size, ks[:size])
        _check_msm(b, [logs[0]] * size, [G] * size, [1] * size)
        cancel = [ks[i // 2] if i % 2 == 0 else R - ks[i // 2] for i in range(size - size % 2)]
        assert msm([G] * len(cancel), cancel).is_identity()
        _check_msm(b, logs[:size], pts[:size], [-k for k in ks[:size]])
        # a point and its negation with equal scalars
        assert msm([G, -G] * (size // 2), [ks[0]] * (2 * (size // 2))).is_identity()


@pytest.mark.parametrize("name", JACOBIAN)
@pytest.mark.parametrize("glv", [True, False])
def test_pippenger_windows_and_straus_paths(name, glv):
    b = _load(name)
    logs, pts = _dlog_points(b, b"pip", 24)
    ks = rand_scalars(b"pip-ks", 24)
    ks[3] = 0
    ks[4] = R - ks[5]
    pts[4] = pts[5]
    logs[4] = logs[5]
    pts[6] = Point.identity(b)
    logs[6] = 0
    pts[7] = pts[8] = pts[9]
    logs[7] = logs[8] = logs[9]
    for c in (2, 3, 4, 6, 8, 9):  # 8: byte-wise digits
        _check_msm(b, logs, pts, ks, raw_fn=lambda P_, K_: b.msm_pippenger(P_, K_, c, glv))
    _check_msm(b, logs, pts, ks, raw_fn=b.msm_straus)
    # small scalars -> few windows; identical points in one bucket summing to the identity
    G = pts[0]
    for c in (2, 3, 5, 8):
        assert b.eq(b.msm_pippenger([G.raw] * 4, [5, 5, R - 5, R - 5], c, glv), b.identity())
        assert enc(Point(b, b.msm_pippenger([G.raw] * 3, [1, 1, 1], c, glv))) == enc(ref_point(3 * logs[0]))


@given(st.integers(min_value=1, max_value=3000))
def test_pippenger_window_choice_is_sane(n):
    for bits in (GLV_BITS, 254):
        c = pippenger_window(n, bits)
        assert 2 <= c <= 16


# -- fixed-base tables -------------------------------------------------------------

@pytest.mark.parametrize("name", FAST_BACKENDS)
def test_fixed_base_matches_reference(name):
    b = _load(name)
    A = Point.generator(b) * 31337
    rA = ref_point(31337)
    table = FixedBase(A)
    for k in EDGE_SCALARS + rand_scalars(b"fb" + name.encode(), 4):
        assert enc(table.mul(k)) == enc(rA * k), k
    assert FixedBase(Point.identity(b)).mul(5).is_identity()


@pytest.mark.parametrize("name", JACOBIAN)
@pytest.mark.parametrize("w", [2, 3, 5, 7])
def test_fixed_base_window_widths(name, w):
    b = _load(name)
    A = Point.generator(b) * 4242
    table = b.fixed_base(A.raw, w)
    for k in [0, 1, 2, R - 1, R // 3] + rand_scalars(b"fbw%d" % w, 2):
        assert enc(Point(b, table.mul(k))) == enc(ref_point(4242 * k % R)), (w, k)


@pytest.mark.parametrize("name", JACOBIAN)
def test_fixed_base_rejects_bad_width(name):
    b = _load(name)
    with pytest.raises(ValueError):
        b.fixed_base(b.generator(), 1)
    with pytest.raises(ValueError):
        b.fixed_base(b.generator(), 17)


# -- batched affine arithmetic (Jacobian backends) ----------------------------------

@pytest.mark.parametrize("name", JACOBIAN)
def test_batch_add_and_batch_affine_special_cases(name):
    b = _load(name)
    G = Point.generator(b)
    P1, P2, P3 = G * 11, G * 22, G * 33
    a1, a2, a3 = (b.to_affine(X.raw) for X in (P1, P2, P3))
    neg1 = b.to_affine(b.neg(P1.raw))
    sums = b.batch_add([(a1, a2), (a1, a1), (a1, neg1), (a3, a1)])
    assert sums[2] is None
    assert [enc(Point(b, b.from_affine(*s))) for s in (sums[0], sums[1], sums[3])] == [
        enc(ref_point(33)), enc(ref_point(22)), enc(ref_point(44))]
    assert b.batch_add([]) == []
    mixed = [P1.raw, b.identity(), b.add(P2.raw, P3.raw), G.raw]
    aff = b.batch_affine(mixed)
    assert aff[1] is None
    assert [(int(x), int(y)) for x, y in (aff[0], aff[2], aff[3])] == [
        ref_point(11).affine(), ref_point(55).affine(), (1, 2)]
    assert b.batch_affine([b.identity(), b.identity()]) == [None, None]
    # explicit projective representatives (X*z^2, Y*z^3, z) of one point
    x, y = ref_point(11).affine()
    num = type(b.generator()[0])  # int or gmpy2.mpz
    for z in (1, 2, 3, P - 1):
        rep = (num(x * z * z % P), num(y * z**3 % P), num(z))
        assert [int(c) for c in b.to_affine(rep)] == [x, y], z
        assert [int(c) for c in b.batch_affine([rep, P1.raw])[0]] == [x, y], z
        assert b.eq(rep, P1.raw)


# -- GLV ---------------------------------------------------------------------------

def _cube_roots_of_unity(m):
    """The two primitive cube roots of unity mod a prime m = 1 (mod 3)."""
    for g in range(2, 1000):
        c = pow(g, (m - 1) // 3, m)
        if c != 1:
            return sorted({c, c * c % m})
    raise AssertionError("no cube root found")


def test_glv_constants_derived_from_scratch():
    assert (P - 1) % 3 == 0 and (R - 1) % 3 == 0
    assert GLV_BETA in _cube_roots_of_unity(P)
    assert GLV_LAMBDA in _cube_roots_of_unity(R)
    # BN254: p and r as polynomials in u
    u = BN_U
    assert P == 36 * u**4 + 36 * u**3 + 24 * u**2 + 6 * u + 1
    assert R == 36 * u**4 + 36 * u**3 + 18 * u**2 + 6 * u + 1
    # phi(x, y) = (beta*x, y) is multiplication by lambda (and not by lambda^2)
    G = Point.generator(REF)
    for k in (1, 0xDEADBEEF):
        x, y = (G * k).affine()
        phi = Point.from_affine(GLV_BETA * x % P, y, backend=REF)
        assert phi == G * (k * GLV_LAMBDA)
        assert phi != G * (k * GLV_LAMBDA * GLV_LAMBDA)


def _eea_short_basis(n, lam):
    """Gallant-Lambert-Vanstone: short lattice basis from extended Euclid."""
    rows = [(n, 0), (lam, 1)]
    while rows[-1][0]:
        (r0, t0), (r1, t1) = rows[-2], rows[-1]
        q = r0 // r1
        rows.append((r0 - q * r1, t0 - q * t1))
    m = max(i for i, (ri, _t) in enumerate(rows) if ri >= math.isqrt(n))
    v1 = (rows[m + 1][0], -rows[m + 1][1])
    cands = [(rows[m][0], -rows[m][1]), (rows[m + 2][0], -rows[m + 2][1])]
    v2 = min(cands, key=lambda v: v[0] ** 2 + v[1] ** 2)
    return v1, v2


def test_glv_lattice_basis():
    for a, b_ in (GLV_V1, GLV_V2):
        assert (a + b_ * GLV_LAMBDA) % R == 0
        assert max(abs(a), abs(b_)) < 2**GLV_BITS
    assert abs(GLV_V1[0] * GLV_V2[1] - GLV_V1[1] * GLV_V2[0]) == R
    v1, v2 = _eea_short_basis(R, GLV_LAMBDA)
    assert {v1, v2} == {GLV_V1, GLV_V2} or {tuple(-c for c in v1), v2} == {GLV_V1, GLV_V2}


# Babai rounding keeps (k1, k2) in the half-parallelogram spanned by v1, v2.
K1_BOUND = (abs(GLV_V1[0]) + abs(GLV_V2[0])) // 2 + 1
K2_BOUND = (abs(GLV_V1[1]) + abs(GLV_V2[1])) // 2 + 1


def _check_split(k):
    k1, k2 = glv_split(k)
    assert (k1 + k2 * GLV_LAMBDA - k) % R == 0
    assert abs(k1) <= K1_BOUND and abs(k2) <= K2_BOUND
    assert abs(k1) < 2**GLV_BITS and abs(k2) < 2**GLV_BITS


@pytest.mark.parametrize("k", [0, 1, 2, R - 1, R // 2, GLV_LAMBDA, R - GLV_LAMBDA, 2**127, 2**253])
def test_glv_split_edges(k):
    _check_split(k)


@given(st.integers(min_value=0, max_value=R - 1))
def test_glv_split_property(k):
    _check_split(k)


def test_glv_split_many():
    for k in rand_scalars(b"glv-many", 300):
        _check_split(k)


@given(st.integers(min_value=1, max_value=2**256), st.integers(min_value=2, max_value=8))
def test_wnaf_positions_property(k, w):
    digits = wnaf_positions(k, w)
    assert sum(d << pos for pos, d in digits) == k
    for pos, d in digits:
        assert d % 2 == 1 and abs(d) < 1 << (w - 1)
    positions = [pos for pos, _d in digits]
    assert all(b_ - a >= w for a, b_ in zip(positions, positions[1:]))


@pytest.mark.parametrize("name", JACOBIAN)
def test_phi_raw_is_lambda_multiplication(name):
    b = _load(name)
    A = (Point.generator(b) * 777).raw
    assert b.eq(b.phi(A), b.mul(A, GLV_LAMBDA))


# -- hypothesis: homomorphism ------------------------------------------------------

scalars = st.one_of(
    st.integers(min_value=0, max_value=R - 1),
    st.sampled_from([0, 1, 2, R - 1, R - 2, R // 2, 2**127, GLV_LAMBDA]),
)


@pytest.mark.parametrize("name", FAST_BACKENDS)
@given(a=scalars, c=scalars)
def test_scalar_mul_homomorphism(name, a, c):
    b = _load(name)
    Pt = Point.generator(b) * 0x1F2E3D4C5B6A
    assert Pt * ((a + c) % R) == Pt * a + Pt * c
    assert (Pt * c) * a == Pt * (a * c % R)
    assert Pt * a - Pt * a == Point.identity(b)


@pytest.mark.parametrize("name", FAST_BACKENDS)
@given(st.lists(st.tuples(scalars, scalars), min_size=1, max_size=5), scalars)
def test_msm_linearity(name, pairs, t):
    b = _load(name)
    G = Point.generator(b)
    pts = [G * (i + 3) for i in range(len(pairs))]
    a = [x for x, _ in pairs]
    c = [y for _, y in pairs]
    lhs = msm(pts, [(x + y) % R for x, y in zip(a, c)])
    assert lhs == msm(pts, a) + msm(pts, c)
    assert msm(pts, [x * t % R for x in a]) == msm(pts, a) * t
    assert msm(pts, a) == point_sum([p * x for p, x in zip(pts, a)], backend=b)


# -- backend selection ---------------------------------------------------------------

def test_use_backend_restores_previous():
    before = get_backend()
    with use_backend("ints") as b:
        assert get_backend() is b and b.name == "ints"
        with use_backend("pyecc"):
            assert get_backend().name == "pyecc"
        assert get_backend() is b
    assert get_backend() is before


def test_set_backend_and_unknown_names():
    before = get_backend()
    try:
        assert set_backend("ints").name == "ints"
        assert get_backend().name == "ints"
    finally:
        set_backend(before.name)
    with pytest.raises(BackendError):
        _load("nope")
    with pytest.raises(BackendError):
        set_backend("openssl")


def test_default_backend_follows_environment(monkeypatch):
    monkeypatch.setenv("ZKCLEAR_BACKEND", "ints")
    assert default_backend_name() == "ints"
    monkeypatch.delenv("ZKCLEAR_BACKEND")
    expected = next(n for n in ("mcl", "gmpy2", "ints") if n in AVAILABLE_BACKENDS)
    assert default_backend_name() == expected  # mcl preferred when it loads


def test_default_falls_back_to_pure_when_mcl_refused(monkeypatch):
    """mcl absent or refused by its self-check: the pure backend is chosen."""
    import zkp.group as g

    def refuse(name, real=g._load):
        if name == "mcl":
            raise BackendError("group backend 'mcl' is not available: simulated")
        return real(name)

    monkeypatch.delenv("ZKCLEAR_BACKEND", raising=False)
    monkeypatch.setattr(g, "_load", refuse)
    assert default_backend_name() == ("gmpy2" if "gmpy2" in AVAILABLE_BACKENDS else "ints")


def _run(code: str, env_extra=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("ZKCLEAR_BACKEND", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_without_gmpy2_everything_falls_back_to_ints():
    code = """
import sys
sys.modules['gmpy2'] = None          # make 'import gmpy2' fail
sys.modules['mclbn256'] = None       # and no native backend either
from zkp.group import available_backends, default_backend_name, Point, get_backend, sqrt_fp
from zkp.generators import hash_to_curve_affine
assert 'gmpy2' not in available_backends(), available_backends()
assert default_backend_name() == 'ints' and get_backend().name == 'ints'
G = Point.generator()
A = G * 123456789
assert Point.decode(A.encode()) == A
assert sqrt_fp(4) in (2, %d - 2) and sqrt_fp(%d - 1) is None
print(hash_to_curve_affine(b'bp.G', 0)[0])
""" % (P, P)
    out = _run(code)
    assert out.returncode == 0, out.stderr
    from zkp.generators import hash_to_curve_affine
    assert int(out.stdout.split()[-1]) == hash_to_curve_affine(b"bp.G", 0)[0]


def test_environment_selects_backend_in_fresh_process():
    out = _run("from zkp.group import get_backend; print(get_backend().name)",
               {"ZKCLEAR_BACKEND": "ints"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ints"


# -- MCL loader ------------------------------------------------------------------------

def test_mcl_unavailable_is_reported_cleanly():
    code = """
import sys
sys.modules['mclbn256'] = None       # wheel not installed
from zkp.errors import BackendError
from zkp.group import available_backends, _load
assert 'mcl' not in available_backends()
from zkp.group import default_backend_name, get_backend
assert default_backend_name() in ('gmpy2', 'ints') and get_backend().name != 'mcl'
try:
    _load('mcl')
except BackendError as exc:
    print('refused:', exc)
else:
    raise SystemExit('mcl loaded without the wheel')
"""
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert "refused" in out.stdout


def test_mcl_loads_when_the_wheel_is_installed():
    """A refusal at load time would silently drop mcl from every cross-check;
    with the wheel present it must load (and so pass its self-check)."""
    if importlib.util.find_spec("mclbn256") is None:
        pytest.skip("mclbn256 not installed")
    assert "mcl" in AVAILABLE_BACKENDS


@pytest.mark.skipif("mcl" not in AVAILABLE_BACKENDS, reason="mclbn256 not installed")
def test_mcl_refuses_the_wrong_curve():
    """Initialised for the wheel's default curve instead of BN_SNARK1, the
    self-check must fail and the loader must report mcl unavailable."""
    code = """
from zkp.group import mcl_backend, available_backends, _load
from zkp.errors import BackendError
mcl_backend.MCL_BN_SNARK1 = 0        # the wheel's default BN curve
assert 'mcl' not in available_backends()
from zkp.group import default_backend_name
assert default_backend_name() in ('gmpy2', 'ints')   # a refused mcl is never the default
try:
    _load('mcl')
except BackendError as exc:
    print('refused:', exc)
"""
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert "refused" in out.stdout


@pytest.mark.skipif("mcl" not in AVAILABLE_BACKENDS, reason="mclbn256 not installed")
def test_mcl_is_selectable_and_agrees():
    b = _load("mcl")
    assert b.name == "mcl"
    G = Point.generator(b)
    assert enc(G * 0xABCDEF) == enc(ref_point(0xABCDEF))
    assert Point.decode(G.encode(), backend=b) == G
    # raw msm leaves its inputs untouched
    pts = [G * 3, G * 5]
    before = [bytes(p.raw) for p in pts]
    b.msm([p.raw for p in pts], [7, 11])
    assert [bytes(p.raw) for p in pts] == before
