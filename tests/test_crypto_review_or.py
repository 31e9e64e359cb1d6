"""Crypto review (issue 14): the CDS OR-proof of zkp/sigma_or.py.

* Special soundness, executed: two accepting proofs with the same (A_0, A_1)
  and different challenges (a rewound prover: same randomness, another
  transcript prefix) differ in the real branch's c_b, and (z_b - z_b') /
  (c_b - c_b') is the witness -- C_b = rho*H.  The simulated branch keeps
  (c_s, z_s), so the extraction names the real branch: the challenge split
  is what binds the prover to one branch.
* No branch bit in the encoding: on a statement where both branches hold,
  the proofs of either branch have the same layout (A_i, c_i, z_i always
  belong to C_i), every c_i and z_i is a fresh-looking scalar (never 0,
  never equal across the two proofs), and each verifies.
"""
from __future__ import annotations

import pytest

from prover.sigma_or import prove_or_zero
from verifier.sigma_or import verify_or_zero
from zkp.errors import VerificationError
from zkp.field import R, SeededRng, from_int
from zkp.generators import generators
from zkp.transcript import Transcript


def T(prefix: bytes) -> Transcript:
    t = Transcript(b"zkclear.test/crypto-review-or")
    t.append_message(b"prefix", prefix)
    return t


@pytest.fixture(scope="module")
def gens():
    return generators()


def _pair(gens, g, vm, rg=4242, rv=777):
    Cg, Cvm = gens.commit(from_int(g), rg), gens.commit(from_int(vm), rv)
    return Cg - Cvm, Cg, (rg - rv) % R, rg


@pytest.mark.parametrize("branch", [0, 1])
def test_special_soundness_extracts_the_real_branch(gens, branch):
    C0, C1, r0, r1 = _pair(gens, 900, 900) if branch == 0 else _pair(gens, 0, -900)
    rho = (r0, r1)[branch]
    p = prove_or_zero(T(b"one"), C0, C1, branch, rho, gens=gens, rng=SeededRng(b"rewind"))
    q = prove_or_zero(T(b"two"), C0, C1, branch, rho, gens=gens, rng=SeededRng(b"rewind"))
    verify_or_zero(T(b"one"), C0, C1, p, gens=gens)
    verify_or_zero(T(b"two"), C0, C1, q, gens=gens)
    assert (p.A0, p.A1) == (q.A0, q.A1)          # same first message, two challenges
    cs = ((p.c0, q.c0), (p.c1, q.c1))
    zs = ((p.z0, q.z0), (p.z1, q.z1))
    s = 1 - branch
    assert cs[s][0] == cs[s][1] and zs[s][0] == zs[s][1]   # the simulated branch is fixed
    (c, c2), (z, z2) = cs[branch], zs[branch]
    assert c != c2
    extracted = (z - z2) * pow(c - c2, -1, R) % R
    assert extracted == rho % R
    assert gens.H * extracted == (C0, C1)[branch]
    # the proofs are not interchangeable between the two transcripts
    with pytest.raises(VerificationError):
        verify_or_zero(T(b"two"), C0, C1, p, gens=gens)


def test_no_branch_bit_in_the_encoding(gens):
    C0, C1, r0, r1 = _pair(gens, 0, 0)   # vm = 0: both branches hold
    proofs = [prove_or_zero(T(b"x"), C0, C1, b, r, gens=gens, rng=SeededRng(b"wi-%d" % b))
              for b, r in ((0, r0), (1, r1))]
    for p in proofs:
        verify_or_zero(T(b"x"), C0, C1, p, gens=gens)
        assert len(p.to_bytes()) == 192
        for A, c, z, C in ((p.A0, p.c0, p.z0, C0), (p.A1, p.c1, p.z1, C1)):
            assert gens.H * z == A + C * c        # position i always answers C_i
            assert 0 < c < R and 0 < z < R
    a, b = proofs
    assert len({a.c0, a.c1, b.c0, b.c1, a.z0, a.z1, b.z0, b.z1}) == 8

