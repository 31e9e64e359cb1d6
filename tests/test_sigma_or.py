"""The CDS OR-proof ("C0 commits to zero OR C1 commits to zero"):
completeness on either branch, the prover's refusal when the named branch is
false, forgeries (neither branch true, both branches simulated, challenges
that do not sum), transcript binding (other statement, swapped statement,
other context), every field tampered, strict encodings."""
from __future__ import annotations

import pytest

from prover.sigma_or import prove_or_zero
from verifier.sigma_or import verify_or_zero
from zkp.errors import DecodeError, ProvingError, VerificationError
from zkp.field import R, SeededRng, encode_scalar, from_int, random_scalar
from zkp.generators import generators
from zkp.group import Point
from zkp.sigma_or import OR_ZERO_PROOF_BYTES, OrZeroProof, or_zero_challenge
from zkp.transcript import Transcript


def T(label: bytes = b"zkclear.test/sigma-or", cycle: int = 7) -> Transcript:
    t = Transcript(label)
    t.append_u64(b"cycle", cycle)
    return t


@pytest.fixture(scope="module")
def gens():
    return generators()


@pytest.fixture
def rng():
    return SeededRng(b"sigma-or-tests")


def _gain_pair(gens, g: int, vm: int, rg: int = 1111, rv: int = 2222):
    """(C_g - C_vm, C_g) as the VM-gains statement uses them."""
    Cg, Cvm = gens.commit(from_int(g), rg), gens.commit(from_int(vm), rv)
    return Cg - Cvm, Cg, rg - rv, rg


@pytest.mark.parametrize("branch", [0, 1])
def test_completeness_either_branch(gens, rng, branch):
    # branch 0: g = vm = 500 (C0 commits to zero); branch 1: g = 0, vm = -500
    C0, C1, r0, r1 = _gain_pair(gens, 500, 500) if branch == 0 else _gain_pair(gens, 0, -500)
    proof = prove_or_zero(T(), C0, C1, branch, r0 if branch == 0 else r1, gens=gens, rng=rng)
    verify_or_zero(T(), C0, C1, proof, gens=gens)
    assert len(proof.to_bytes()) == OR_ZERO_PROOF_BYTES
    verify_or_zero(T(), C0, C1, OrZeroProof.from_bytes(proof.to_bytes()), gens=gens)


def test_both_true_and_transcripts_in_sync(gens, rng):
    C0, C1, r0, r1 = _gain_pair(gens, 0, 0)  # vm = 0: both branches hold
    for b, r in ((0, r0), (1, r1)):
        tp, tv = T(), T()
        verify_or_zero(tv, C0, C1, prove_or_zero(tp, C0, C1, b, r, gens=gens, rng=rng), gens=gens)
        assert tp.challenge_scalar(b"next") == tv.challenge_scalar(b"next")


def test_prover_refuses_a_false_branch(gens, rng):
    C0, C1, r0, r1 = _gain_pair(gens, 300, 500)  # g != vm and g != 0: neither branch
    for b, r in ((0, r0), (1, r1)):
        with pytest.raises(ProvingError):
            prove_or_zero(T(), C0, C1, b, r, gens=gens, rng=rng)
    with pytest.raises(ProvingError):
        prove_or_zero(T(), C0, C1, 2, r0, gens=gens, rng=rng)


def _simulate(gens, C, rng):
    c, z = random_scalar(rng), random_scalar(rng)
    return gens.H_table.mul(z) - C * c, c, z


def test_neither_branch_true_forgery_fails(gens, rng):
    """A cheating prover with neither witness: simulate one branch, and for
    the other pick A honestly with a *wrong* blinding (the value is not 0)."""
    C0, C1, r0, r1 = _gain_pair(gens, 300, 500)
    A1, c1, z1 = _simulate(gens, C1, rng)
    k = random_scalar(rng)
    A0 = gens.H_table.mul(k)
    c = or_zero_challenge(T(), gens, C0, C1, A0, A1)
    c0 = (c - c1) % R
    forged = OrZeroProof(A0, A1, c0, c1, (k + c0 * r0) % R, z1)
    with pytest.raises(VerificationError):
        verify_or_zero(T(), C0, C1, forged, gens=gens)


def test_both_branches_simulated_fails(gens, rng):
    C0, C1, _, _ = _gain_pair(gens, 300, 500)
    A0, c0, z0 = _simulate(gens, C0, rng)
    A1, c1, z1 = _simulate(gens, C1, rng)
    with pytest.raises(VerificationError):
        verify_or_zero(T(), C0, C1, OrZeroProof(A0, A1, c0, c1, z0, z1), gens=gens)


def test_challenges_that_do_not_sum_fail(gens, rng):
    """Each branch's relation holds on its own, but c0 + c1 != c."""
    C0, C1, r0, _ = _gain_pair(gens, 500, 500)
    p = prove_or_zero(T(), C0, C1, 0, r0, gens=gens, rng=rng)
    # shift the simulated branch's challenge and re-simulate it consistently
    c1 = (p.c1 + 1) % R
    A1 = gens.H_table.mul(p.z1) - C1 * c1
    with pytest.raises(VerificationError):
        verify_or_zero(T(), C0, C1, OrZeroProof(p.A0, A1, p.c0, c1, p.z0, p.z1), gens=gens)


@pytest.fixture
def honest(gens, rng):
    C0, C1, r0, _ = _gain_pair(gens, 500, 500)
    return C0, C1, prove_or_zero(T(), C0, C1, 0, r0, gens=gens, rng=rng)


def test_transcript_binding(gens, honest):
    C0, C1, p = honest
    other = gens.commit(0, 4242)
    bad = [
        lambda: verify_or_zero(T(), C1, C0, p, gens=gens),              # statement swapped
        lambda: verify_or_zero(T(), C0, other, p, gens=gens),           # other statement
        lambda: verify_or_zero(T(), other, C1, p, gens=gens),
        lambda: verify_or_zero(T(), C0 + gens.G, C1, p, gens=gens),
        lambda: verify_or_zero(T(cycle=8), C0, C1, p, gens=gens),       # other context
        lambda: verify_or_zero(T(b"zkclear.test/other"), C0, C1, p, gens=gens),
    ]
    for check in bad:
        with pytest.raises(VerificationError):
            check()


def test_every_field_tampered(gens, honest):
    C0, C1, p = honest
    d = p.__dict__
    variants = [{"A0": p.A0 + gens.G}, {"A1": p.A1 + gens.H}, {"A0": p.A1, "A1": p.A0},
                {"c0": (p.c0 + 1) % R}, {"c1": (p.c1 + 1) % R}, {"c0": p.c1, "c1": p.c0},
                {"z0": (p.z0 + 1) % R}, {"z1": (p.z1 - 1) % R}, {"z0": p.z1, "z1": p.z0}]
    for v in variants:
        with pytest.raises(VerificationError):
            verify_or_zero(T(), C0, C1, OrZeroProof(**{**d, **v}), gens=gens)


def test_out_of_range_and_wrong_types_fail(gens, honest):
    C0, C1, p = honest
    d = p.__dict__
    for v in ({"c0": p.c0 + R}, {"z1": R}, {"z0": -1}, {"c1": True}, {"A0": Point.identity(gens.backend)},
              {"A1": "point"}):
        with pytest.raises(VerificationError):
            verify_or_zero(T(), C0, C1, OrZeroProof(**{**d, **v}), gens=gens)
    with pytest.raises(VerificationError):
        verify_or_zero(T(), C0, C1, p.to_bytes(), gens=gens)  # type: ignore[arg-type]


def test_strict_decoding(honest):
    _, _, p = honest
    raw = p.to_bytes()
    identity = bytes([0x40]) + bytes(31)
    bad_x = b"\xff" * 32  # x >= p (also sets the flag bits)
    off_curve = None
    for x in range(1, 50):  # an x whose x^3 + 3 is not a square mod p
        enc = x.to_bytes(32, "big")
        try:
            Point.decode(enc)
        except DecodeError:
            off_curve = enc
            break
    assert off_curve is not None
    cases = [raw[:-1], raw + b"\x00", b"", identity + raw[32:], raw[:32] + identity + raw[64:],
             off_curve + raw[32:], bad_x + raw[32:],
             raw[:64] + encode_scalar(0)[:0] + R.to_bytes(32, "big") + raw[96:],
             raw[:160] + (R + 5).to_bytes(32, "big")]
    for data in cases:
        with pytest.raises(DecodeError):
            OrZeroProof.from_bytes(data)
    with pytest.raises(DecodeError):
        OrZeroProof.from_bytes("00" * 192)  # type: ignore[arg-type]


def test_encoding_refuses_bad_fields(honest, gens):
    _, _, p = honest
    for v in ({"A0": Point.identity(gens.backend)}, {"z0": R}, {"c1": -1}):
        with pytest.raises(ValueError):
            OrZeroProof(**{**p.__dict__, **v}).to_bytes()


def test_general_a_or_b(gens, rng):
    """"C opens to a OR to b" is the OR-proof on (C - a*G, C - b*G)."""
    rho = 777
    C = gens.commit(from_int(-9), rho)
    a, b = gens.G * from_int(-9), gens.G * 4
    p = prove_or_zero(T(), C - a, C - b, 0, rho, gens=gens, rng=rng)
    verify_or_zero(T(), C - a, C - b, p, gens=gens)
    with pytest.raises(VerificationError):
        verify_or_zero(T(), C - gens.G * 5, C - b, p, gens=gens)
