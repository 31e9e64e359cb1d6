"""Sigma proofs: completeness, soundness against tampering, Fiat-Shamir
binding (Frozen Heart), prover-side witness checks, strict encodings."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prover.sigma import prove_equality, prove_opening, prove_reveal, prove_zero
from verifier.sigma import verify_equality, verify_opening, verify_reveal, verify_zero
from zkp.errors import DecodeError, ProvingError, VerificationError
from zkp.field import P, R, SeededRng, encode_scalar, from_int, inv
from zkp.generators import GeneratorSet, generators
from zkp.group import Point, use_backend
from zkp.sigma import (
    DOMAIN_REVEAL,
    EQUALITY_PROOF_BYTES,
    OPENING_PROOF_BYTES,
    ZERO_PROOF_BYTES,
    EqualityProof,
    OpeningProof,
    ZeroProof,
    equality_challenge,
    opening_challenge,
    reveal_challenge,
    zero_challenge,
)
from zkp.transcript import Transcript

LABEL = b"zkclear.test/sigma"


def T(label: bytes = LABEL) -> Transcript:
    t = Transcript(label)
    t.append_u64(b"cycle", 7)
    return t


@pytest.fixture(scope="module")
def gens():
    return generators()


@pytest.fixture
def rng():
    return SeededRng(b"sigma-tests")


# -- statements -------------------------------------------------------------------
# Each case: (name, make(gens, rng) -> (prove(t) -> proof, verify(t, proof)),
# and a list of *wrong* verifiers that change one public input.)

def _opening_case(gens, rng, value=-123456789):
    rho = 0xABCDEF
    C = gens.commit(from_int(value), rho)
    other = gens.commit(from_int(value + 1), rho)
    prove = lambda t: prove_opening(t, C, value, rho, gens=gens, rng=rng)  # noqa: E731
    verify = lambda t, p: verify_opening(t, C, p, gens=gens)  # noqa: E731
    wrong = [lambda t, p: verify_opening(t, other, p, gens=gens)]
    return prove, verify, wrong


def _zero_case(gens, rng):
    rho = 0x1234567
    C = gens.commit(0, rho)
    prove = lambda t: prove_zero(t, C, rho, gens=gens, rng=rng)  # noqa: E731
    verify = lambda t, p: verify_zero(t, C, p, gens=gens)  # noqa: E731
    wrong = [lambda t, p: verify_zero(t, gens.commit(0, rho + 1), p, gens=gens),
             lambda t, p: verify_zero(t, C + gens.G, p, gens=gens)]
    return prove, verify, wrong


def _equality_case(gens, rng):
    v, r1, r2 = 5000, 111, 222
    C1, C2 = gens.commit(v, r1), gens.commit(v, r2)
    C3 = gens.commit(v, 333)
    prove = lambda t: prove_equality(t, C1, C2, r1, r2, gens=gens, rng=rng)  # noqa: E731
    verify = lambda t, p: verify_equality(t, C1, C2, p, gens=gens)  # noqa: E731
    wrong = [lambda t, p: verify_equality(t, C2, C1, p, gens=gens),  # swapped
             lambda t, p: verify_equality(t, C1, C3, p, gens=gens),
             lambda t, p: verify_equality(t, C3, C2, p, gens=gens)]
    return prove, verify, wrong


def _reveal_case(gens, rng, value=-42):
    rho = 987654321
    C = gens.commit(from_int(value), rho)
    prove = lambda t: prove_reveal(t, C, value, rho, gens=gens, rng=rng)  # noqa: E731
    verify = lambda t, p: verify_reveal(t, C, value, p, gens=gens)  # noqa: E731
    wrong = [lambda t, p: verify_reveal(t, C, value + 1, p, gens=gens),
             lambda t, p: verify_reveal(t, C, value - 1, p, gens=gens),
             lambda t, p: verify_reveal(t, C, -value, p, gens=gens),
             lambda t, p: verify_reveal(t, C + gens.G, value + 1, p, gens=gens),
             lambda t, p: verify_reveal(t, gens.commit(from_int(value), rho + 1), value, p, gens=gens)]
    return prove, verify, wrong


CASES = {
    "opening": _opening_case,
    "zero": _zero_case,
    "equality": _equality_case,
    "reveal": _reveal_case,
}

PROOF_TYPES = {"opening": OpeningProof, "zero": ZeroProof, "equality": EqualityProof, "reveal": ZeroProof}


@pytest.fixture(params=sorted(CASES))
def case(request, gens, rng):
    return request.param, *CASES[request.param](gens, rng)


# -- completeness -------------------------------------------------------------------

def test_completeness(case):
    name, prove, verify, _ = case
    proof = prove(T())
    assert type(proof) is PROOF_TYPES[name]
    verify(T(), proof)


def test_transcripts_stay_in_sync(case):
    _, prove, verify, _ = case
    tp, tv = T(), T()
    proof = prove(tp)
    verify(tv, proof)
    assert tp.challenge_scalar(b"next") == tv.challenge_scalar(b"next")


@pytest.mark.parametrize("value", [0, 1, -1, 2**63, -(2**64 - 1), 2**64 - 1, R - 1, 10**30])
def test_opening_completeness_values(gens, rng, value):
    rho = 31337
    C = gens.commit(from_int(value), rho)
    verify_opening(T(), C, prove_opening(T(), C, value, rho, gens=gens, rng=rng), gens=gens)


@pytest.mark.parametrize("value", [0, 1, -1, 2**63, 2**64 - 1, -(2**64 - 1)])
def test_reveal_completeness_values(gens, rng, value):
    rho = 271828
    C = gens.commit(from_int(value), rho)
    verify_reveal(T(), C, value, prove_reveal(T(), C, value, rho, gens=gens, rng=rng), gens=gens)


def test_reveal_of_public_amount_with_zero_blinding(gens, rng):
    # A public amount a enters the ledger as a*G (blinding 0); revealing it works.
    C = gens.G_table.mul(1_000_000)
    verify_reveal(T(), C, 1_000_000, prove_reveal(T(), C, 1_000_000, 0, gens=gens, rng=rng), gens=gens)


def test_equality_of_identical_commitments(gens, rng):
    C = gens.commit(9, 10)
    verify_equality(T(), C, C, prove_equality(T(), C, C, 10, 10, gens=gens, rng=rng), gens=gens)


def test_default_generators_and_secrets_rng(gens):
    C = gens.commit(77, 88)
    p1 = prove_opening(T(), C, 77, 88)
    p2 = prove_opening(T(), C, 77, 88)
    verify_opening(T(), C, p1)
    verify_opening(T(), C, p2)
    assert p1.A != p2.A  # fresh nonces


def test_known_answer_vector(gens):
    """Pins the transcript order and encodings: changing either breaks this."""
    C = gens.commit(from_int(-5), 123)
    proof = prove_opening(T(), C, -5, 123, gens=gens, rng=SeededRng(b"kat"))
    assert proof.to_bytes().hex() == KAT_OPENING
    zproof = prove_reveal(T(), C, -5, 123, gens=gens, rng=SeededRng(b"kat"))
    assert zproof.to_bytes().hex() == KAT_REVEAL


KAT_OPENING = (
    "9ddb2fcc681911dfb21246977db9c150dbe9b789714dbbe89c81361e2016195f"
    "0c1b36372c2d7382270aac003df61deefe1288d2da3bf410500170fcfca8130b"
    "0f13629b7508d9d6c642fde21af66083a82cf008bff16cec0beea6230b88b8db"
)
KAT_REVEAL = (
    "a8e5eebc7956f3da6ee206cc262e7bac1e85a0258ffb9a82674c4e555c9fc39f"
    "089d6a8afdf074b1b5e978bee81f30945a4678d11255601436aa7514bf0e53bc"
)


# -- soundness: tampering -------------------------------------------------------------

def _tampered(proof, gens):
    """Every field changed in turn (A moved, each response +1 / -1)."""
    fields = ["A"] + [f for f in ("z_v", "z_r", "z") if hasattr(proof, f)]
    out = []
    for f in fields:
        if f == "A":
            out.append(("A+G", type(proof)(**{**proof.__dict__, "A": proof.A + gens.G})))
            out.append(("A+H", type(proof)(**{**proof.__dict__, "A": proof.A + gens.H})))
            out.append(("-A", type(proof)(**{**proof.__dict__, "A": -proof.A})))
        else:
            z = getattr(proof, f)
            out.append((f + "+1", type(proof)(**{**proof.__dict__, f: (z + 1) % R})))
            out.append((f + "-1", type(proof)(**{**proof.__dict__, f: (z - 1) % R})))
    return out


def test_tamper_each_field(case, gens):
    _, prove, verify, _ = case
    proof = prove(T())
    verify(T(), proof)
    tampered = _tampered(proof, gens)
    assert len(tampered) >= 5
    for what, bad in tampered:
        with pytest.raises(VerificationError):
            verify(T(), bad)
        assert what  # names the mutation in the traceback


def test_tamper_every_byte(case, gens):
    """Flip one bit in every byte of the encoding: the result either fails to
    decode or fails to verify -- never verifies, never crashes."""
    name, prove, verify, _ = case
    proof = prove(T())
    data = proof.to_bytes()
    cls = PROOF_TYPES[name]
    for i in range(len(data)):
        for bit in (0x01, 0x80):
            mutated = bytearray(data)
            mutated[i] ^= bit
            try:
                bad = cls.from_bytes(bytes(mutated))
            except DecodeError:
                continue
            with pytest.raises(VerificationError):
                verify(T(), bad)


def test_out_of_range_fields_rejected(case, gens):
    _, prove, verify, _ = case
    proof = prove(T())
    d = proof.__dict__
    bads = [type(proof)(**{**d, "A": Point.identity(gens.backend)}),
            type(proof)(**{**d, "A": "not a point"})]
    for f in ("z_v", "z_r", "z"):
        if f in d:
            bads += [type(proof)(**{**d, f: d[f] + R}),
                     type(proof)(**{**d, f: d[f] - R}),
                     type(proof)(**{**d, f: float(d[f])}),
                     type(proof)(**{**d, f: None})]
    for bad in bads:
        with pytest.raises(VerificationError):
            verify(T(), bad)


def test_wrong_proof_type_rejected(gens, rng):
    C = gens.commit(0, 55)
    zp = prove_zero(T(), C, 55, gens=gens, rng=rng)
    verify_zero(T(), C, zp, gens=gens)
    as_eq = EqualityProof(zp.A, zp.z)
    with pytest.raises(VerificationError):
        verify_zero(T(), C, as_eq, gens=gens)
    with pytest.raises(VerificationError):
        verify_opening(T(), C, zp, gens=gens)


# -- soundness: wrong statement / Frozen Heart ------------------------------------------

def test_wrong_statement(case):
    _, prove, verify, wrong = case
    proof = prove(T())
    verify(T(), proof)
    for w in wrong:
        with pytest.raises(VerificationError):
            w(T(), proof)


def test_other_transcript_label(case):
    _, prove, verify, _ = case
    proof = prove(T())
    with pytest.raises(VerificationError):
        verify(T(b"zkclear.test/other"), proof)


def test_extra_statement_item(case):
    _, prove, verify, _ = case
    proof = prove(T())
    t = T()
    t.append_u64(b"member", 3)
    with pytest.raises(VerificationError):
        verify(t, proof)
    # ... and the other way round: the prover's transcript held more.
    tp = T()
    tp.append_u64(b"member", 3)
    proof = prove(tp)
    with pytest.raises(VerificationError):
        verify(T(), proof)


def test_changed_public_input_in_callers_statement(case):
    _, prove, verify, _ = case
    proof = prove(T())
    t = Transcript(LABEL)
    t.append_u64(b"cycle", 8)
    with pytest.raises(VerificationError):
        verify(t, proof)


def test_generator_set_id_is_bound(gens, rng):
    """Same G and H, different generator-set id: the proof must not verify."""
    other = GeneratorSet(gens.backend, capacity=2)
    assert other.G == gens.G and other.H == gens.H and other.set_id != gens.set_id
    C = gens.commit(3, 4)
    proof = prove_opening(T(), C, 3, 4, gens=gens, rng=rng)
    verify_opening(T(), C, proof, gens=gens)
    with pytest.raises(VerificationError):
        verify_opening(T(), C, proof, gens=other)


def test_domains_are_separated(gens, rng):
    """A zero proof is not a reveal of 0, and an equality proof of (C, O) ... is
    not a zero proof of C, even though the algebraic relation is the same."""
    rho = 4242
    C = gens.commit(0, rho)
    zp = prove_zero(T(), C, rho, gens=gens, rng=rng)
    verify_zero(T(), C, zp, gens=gens)
    with pytest.raises(VerificationError):
        verify_reveal(T(), C, 0, zp, gens=gens)
    rp = prove_reveal(T(), C, 0, rho, gens=gens, rng=rng)
    verify_reveal(T(), C, 0, rp, gens=gens)
    with pytest.raises(VerificationError):
        verify_zero(T(), C, rp, gens=gens)
    O = Point.identity(gens.backend)
    ep = prove_equality(T(), C, O, rho, 0, gens=gens, rng=rng)
    verify_equality(T(), C, O, ep, gens=gens)
    with pytest.raises(VerificationError):
        verify_zero(T(), C, ZeroProof(ep.A, ep.z), gens=gens)


def test_frozen_heart_forgery_fails(gens, rng):
    """Classic Frozen Heart attack: choose A and z first, derive c, then solve
    for the statement C = c^-1 (z*H - A).  Because C is absorbed before c, the
    forged C changes the challenge and the proof fails."""
    k, z = 1111, 2222
    A = gens.H * k
    dummy = gens.H * 5
    c = zero_challenge(T(), gens, dummy, A)
    C_forged = (gens.H * z - A) * inv(c)
    # The forgery satisfies the algebra for the challenge it was built on ...
    assert gens.H * z == A + C_forged * c
    # ... but the verifier's challenge binds C_forged, so it is rejected.
    with pytest.raises(VerificationError):
        verify_zero(T(), C_forged, ZeroProof(A, z), gens=gens)


def _forge_point(c, lhs, A):
    """The statement point X that makes lhs == A + c*X hold."""
    return (lhs - A) * inv(c)


def test_frozen_heart_forgery_every_statement_point(gens):
    """The same attack against every statement point of every proof type:
    fix the other public inputs, derive c with a placeholder for the target
    point, solve for it.  Each forgery satisfies the verification equation
    for the placeholder's challenge, and must still be rejected."""
    A = gens.H * 777
    B = gens.G * 555 + gens.H * 444  # opening nonce commitment
    dummy = gens.H * 5
    fixed = gens.commit(3, 33)
    z, z_v, z_r = 1234, 5678, 9012

    # opening: C
    c = opening_challenge(T(), gens, dummy, B)
    C = _forge_point(c, gens.G * z_v + gens.H * z_r, B)
    with pytest.raises(VerificationError):
        verify_opening(T(), C, OpeningProof(B, z_v, z_r), gens=gens)
    # zero: C
    c = zero_challenge(T(), gens, dummy, A)
    C = _forge_point(c, gens.H * z, A)
    with pytest.raises(VerificationError):
        verify_zero(T(), C, ZeroProof(A, z), gens=gens)
    # equality: C2 with C1 fixed (D = C1 - C2), and C1 with C2 fixed
    c = equality_challenge(T(), gens, fixed, dummy, A)
    C2 = fixed - _forge_point(c, gens.H * z, A)
    assert gens.H * z == A + (fixed - C2) * c
    with pytest.raises(VerificationError):
        verify_equality(T(), fixed, C2, EqualityProof(A, z), gens=gens)
    c = equality_challenge(T(), gens, dummy, fixed, A)
    C1 = fixed + _forge_point(c, gens.H * z, A)
    with pytest.raises(VerificationError):
        verify_equality(T(), C1, fixed, EqualityProof(A, z), gens=gens)
    # reveal: C for a chosen value
    c = reveal_challenge(T(), gens, dummy, 10, A)
    C = gens.G * 10 + _forge_point(c, gens.H * z, A)
    with pytest.raises(VerificationError):
        verify_reveal(T(), C, 10, ZeroProof(A, z), gens=gens)


def test_identity_nonce_commitment_rejected_even_if_relation_holds(gens):
    """A = O with z = c*w satisfies every verification equation; the
    verifier still rejects it (A must be a non-identity point)."""
    O = Point.identity(gens.backend)
    rho = 8080
    C = gens.commit(0, rho)
    c = zero_challenge(T(), gens, C, O)
    assert gens.H * (c * rho % R) == O + C * c
    with pytest.raises(VerificationError):
        verify_zero(T(), C, ZeroProof(O, c * rho % R), gens=gens)
    D = gens.commit(6, 7)
    c = opening_challenge(T(), gens, D, O)
    with pytest.raises(VerificationError):
        verify_opening(T(), D, OpeningProof(O, 6 * c % R, 7 * c % R), gens=gens)
    C2 = gens.commit(6, 7 - rho)
    c = equality_challenge(T(), gens, D, C2, O)
    with pytest.raises(VerificationError):
        verify_equality(T(), D, C2, EqualityProof(O, rho * c % R), gens=gens)
    c = reveal_challenge(T(), gens, D, 6, O)
    with pytest.raises(VerificationError):
        verify_reveal(T(), D, 6, ZeroProof(O, 7 * c % R), gens=gens)


# -- reveal value bounds -----------------------------------------------------------------

def _handmade_reveal(gens, C, value, rho, k=99):
    """A reveal proof computed by hand for any integer value, bypassing both
    the prover's and zkp.sigma's range checks (same transcript layout)."""
    t = T()
    t.domain_sep(DOMAIN_REVEAL)
    t.append_message(b"curve", b"BN254-G1")
    t.append_message(b"gens", gens.set_id)
    t.append_point(b"C", C)
    t.append_int(b"value", value)
    A = gens.H * k
    t.append_point(b"A", A)
    c = t.challenge_scalar(b"c")
    return ZeroProof(A, (k + c * rho) % R)


def test_handmade_reveal_matches_prover(gens):
    # Validates the helper below: in range, it produces a verifying proof.
    C = gens.commit(from_int(-7), 8)
    verify_reveal(T(), C, -7, _handmade_reveal(gens, C, -7, 8), gens=gens)


@pytest.mark.parametrize("value", [2**64, -(2**64), 2**64 + 5, 2**200])
def test_reveal_value_out_of_range(gens, rng, value):
    rho = 5
    C = gens.commit(from_int(value), rho)
    with pytest.raises(ProvingError):
        prove_reveal(T(), C, value, rho, gens=gens, rng=rng)
    proof = _handmade_reveal(gens, C, value, rho)
    # the relation itself holds; only the range rule rejects it
    assert gens.H * proof.z == proof.A + (C - gens.G * from_int(value)) * _reveal_c(gens, C, value, proof.A)
    with pytest.raises(VerificationError):
        verify_reveal(T(), C, value, proof, gens=gens)


def _reveal_c(gens, C, value, A):
    t = T()
    t.domain_sep(DOMAIN_REVEAL)
    t.append_message(b"curve", b"BN254-G1")
    t.append_message(b"gens", gens.set_id)
    t.append_point(b"C", C)
    t.append_int(b"value", value)
    t.append_point(b"A", A)
    return t.challenge_scalar(b"c")


@pytest.mark.parametrize("value", [True, 1.0, "1", None])
def test_reveal_value_must_be_int(gens, rng, value):
    C = gens.commit(1, 6)
    proof = prove_reveal(T(), C, 1, 6, gens=gens, rng=rng)
    with pytest.raises(VerificationError):
        verify_reveal(T(), C, value, proof, gens=gens)
    with pytest.raises(ProvingError):
        prove_reveal(T(), C, value, 6, gens=gens, rng=rng)


def test_reveal_value_congruent_mod_r_is_rejected(gens, rng):
    """v and v + r are the same scalar; only the in-range integer is accepted."""
    C = gens.commit(3, 6)
    proof = prove_reveal(T(), C, 3, 6, gens=gens, rng=rng)
    with pytest.raises(VerificationError):
        verify_reveal(T(), C, 3 + R, proof, gens=gens)


# -- the prover refuses bad witnesses --------------------------------------------------

def test_prover_refuses_bad_witness(gens, rng):
    C = gens.commit(10, 20)
    with pytest.raises(ProvingError):
        prove_opening(T(), C, 11, 20, gens=gens, rng=rng)
    with pytest.raises(ProvingError):
        prove_opening(T(), C, 10, 21, gens=gens, rng=rng)
    with pytest.raises(ProvingError):
        prove_zero(T(), C, 20, gens=gens, rng=rng)  # C commits to 10, not 0
    with pytest.raises(ProvingError):
        prove_zero(T(), gens.commit(0, 20), 21, gens=gens, rng=rng)
    C2 = gens.commit(11, 30)
    with pytest.raises(ProvingError):
        prove_equality(T(), C, C2, 20, 30, gens=gens, rng=rng)  # 10 != 11
    with pytest.raises(ProvingError):
        prove_equality(T(), C, gens.commit(10, 30), 20, 31, gens=gens, rng=rng)
    with pytest.raises(ProvingError):
        prove_reveal(T(), C, 9, 20, gens=gens, rng=rng)
    with pytest.raises(ProvingError):
        prove_reveal(T(), C, 10, 19, gens=gens, rng=rng)
    with pytest.raises(ProvingError):
        prove_opening(T(), C, 10.0, 20, gens=gens, rng=rng)


def test_refused_witness_leaves_transcript_untouched(gens, rng):
    t = T()
    with pytest.raises(ProvingError):
        prove_zero(t, gens.commit(1, 2), 2, gens=gens, rng=rng)
    assert t.challenge_scalar(b"x") == T().challenge_scalar(b"x")


# -- strict encodings -----------------------------------------------------------------

def _off_curve_x() -> bytes:
    x = 0
    while True:
        x += 1
        rhs = (x ** 3 + 3) % P
        if pow(rhs, (P - 1) // 2, P) != 1:
            return x.to_bytes(32, "big")


@pytest.mark.parametrize("cls,size,nz", [(OpeningProof, OPENING_PROOF_BYTES, 2),
                                         (ZeroProof, ZERO_PROOF_BYTES, 1),
                                         (EqualityProof, EQUALITY_PROOF_BYTES, 1)])
def test_malformed_encodings(gens, cls, size, nz):
    good_A = (gens.G * 12345).encode()
    good = good_A + encode_scalar(7) * nz
    assert len(good) == size == 32 + 32 * nz
    assert cls.from_bytes(good).to_bytes() == good
    bad = {
        "empty": b"",
        "truncated": good[:-1],
        "truncated A": good[:31],
        "over-long": good + b"\x00",
        "double": good + good,
        "off-curve A": _off_curve_x() + good[32:],
        "identity A": bytes([0x40]) + bytes(31) + good[32:],
        "malformed identity": bytes([0x40]) + bytes(30) + b"\x01" + good[32:],
        "x >= p": P.to_bytes(32, "big") + good[32:],
        "both flags": bytes([good_A[0] | 0xC0]) + good_A[1:] + good[32:],
    }
    for i in range(nz):
        for k in (R, R + 1, 2**256 - 1):
            s = bytearray(good)
            s[32 + 32 * i:64 + 32 * i] = k.to_bytes(32, "big")
            bad[f"scalar {i} = {k}"] = bytes(s)
    for what, data in bad.items():
        with pytest.raises(DecodeError):
            cls.from_bytes(data)
        assert what
    for not_bytes in ("ab" * size, None, list(good)):
        with pytest.raises(DecodeError):
            cls.from_bytes(not_bytes)


def test_to_bytes_refuses_invalid_fields(gens):
    A = gens.G * 3
    for bad in (OpeningProof(Point.identity(gens.backend), 1, 1), OpeningProof(A, R, 1),
                OpeningProof(A, 1, -1), ZeroProof(A, R), EqualityProof(Point.identity(gens.backend), 0)):
        with pytest.raises(ValueError):
            bad.to_bytes()


def test_decode_accepts_bytearray_and_memoryview(gens):
    data = ZeroProof(gens.H * 9, 10).to_bytes()
    assert ZeroProof.from_bytes(bytearray(data)) == ZeroProof.from_bytes(memoryview(data))


@settings(deadline=None, max_examples=25)
@given(k=st.integers(1, R - 1), z1=st.integers(0, R - 1), z2=st.integers(0, R - 1))
def test_encoding_round_trip(k, z1, z2):
    gens = generators()
    A = gens.G_table.mul(k)
    for proof in (OpeningProof(A, z1, z2), ZeroProof(A, z1), EqualityProof(A, z2)):
        data = proof.to_bytes()
        back = type(proof).from_bytes(data)
        assert back == proof
        assert back.to_bytes() == data


@settings(deadline=None, max_examples=40)
@given(data=st.binary(min_size=64, max_size=64))
def test_random_bytes_decode_canonically_or_fail(data):
    """Any 64 bytes either raise DecodeError or decode to a proof whose
    encoding is exactly those bytes (one encoding per proof)."""
    try:
        proof = ZeroProof.from_bytes(data)
    except DecodeError:
        return
    assert proof.to_bytes() == data


# -- other backends ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ints", "pyecc"])
def test_completeness_on_backend(name):
    with use_backend(name) as backend:
        g = generators(backend)
        rng = SeededRng(name)
        C = g.commit(from_int(-9), 10)
        verify_opening(T(), C, prove_opening(T(), C, -9, 10, gens=g, rng=rng), gens=g)
        verify_reveal(T(), C, -9, prove_reveal(T(), C, -9, 10, gens=g, rng=rng), gens=g)
        proof = prove_equality(T(), C, g.commit(from_int(-9), 11), 10, 11, gens=g, rng=rng)
        data = proof.to_bytes()
    # Proof made on one backend verifies on the default one (same bytes).
    gd = generators()
    Cd = gd.commit(from_int(-9), 10)
    verify_equality(T(), Cd, gd.commit(from_int(-9), 11), EqualityProof.from_bytes(data), gens=gd)


def test_same_proof_bytes_on_every_backend():
    out = set()
    for name in ("ints", "gmpy2", "pyecc"):
        with use_backend(name) as backend:
            g = generators(backend)
            C = g.commit(12, 13)
            out.add(prove_zero(T(), g.commit(0, 13), 13, gens=g, rng=SeededRng(b"x")).to_bytes()
                    + prove_opening(T(), C, 12, 13, gens=g, rng=SeededRng(b"x")).to_bytes())
    assert len(out) == 1
