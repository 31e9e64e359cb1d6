"""The VM-gains statements (zkp/vm_gains.py): the honest proof, soundness
against a cheating prover (range checks off, any g_j != max(0, vm_j)),
every public input changed, tampering and strict decoding of the proof
container, chunking over more than GAINS_PER_PROOF survivors, and the
haircut shares."""
from __future__ import annotations

import pytest

import prover.rangeproof as prover_range
from prover.sigma_or import prove_or_zero
from prover.vm_gains import prove_vm_gains, vm_gains_haircut
from verifier.statements import verify
from verifier.vm_gains import verify_vm_gains
from zkp.errors import DecodeError, ProvingError, VerificationError
from zkp.field import R, SeededRng, from_int, random_scalar
from zkp.generators import generators
from zkp.pedersen import Opening
from zkp.sigma_or import OrZeroProof
from zkp.statements import Context, StatementError, StatementProof, chunk_transcript, derive_openings, range_chunks
from zkp.vm_gains import GAINS_PER_PROOF, VmGainsProof, VmGainsShares, vm_gains_statements

RNG = SeededRng(b"vm-gains-tests")


def ctx(cycle: int = 3, seq: int = 40) -> Context:
    return Context(cycle, seq, b"ccp")


def members(n: int) -> list[bytes]:
    return [f"m{k:03d}".encode() for k in range(n)]


def vm_setup(vms):
    gens = generators()
    ops = [Opening(from_int(v), random_scalar(RNG)) for v in vms]
    return [gens.commit(o.value, o.blinding) for o in ops], ops


def test_honest_proof_verifies():
    vms = [500, -300, 0, 12_345_678, -1]
    Cvm, ops = vm_setup(vms)
    gains, gops, proof = prove_vm_gains(ctx(), 1000, members(5), Cvm, ops, rng=RNG)
    assert [o.value for o in gops] == [500, 0, 0, 12_345_678, 0]
    sts = vm_gains_statements(ctx(), 1000, members(5), Cvm, gains)
    verify_vm_gains(sts, proof)
    verify_vm_gains(sts, VmGainsProof.from_bytes(proof.to_bytes(), sts))


def test_chunks_over_many_survivors():
    n = GAINS_PER_PROOF + 3
    Cvm, ops = vm_setup([(-1) ** k * (k * 1000 + 7) for k in range(n)])
    gains, _, proof = prove_vm_gains(ctx(), 5, members(n), Cvm, ops, rng=RNG)
    sts = vm_gains_statements(ctx(), 5, members(n), Cvm, gains)
    assert [len(s.gains) for s in sts] == [GAINS_PER_PROOF, 3]
    verify_vm_gains(sts, VmGainsProof.from_bytes(proof.to_bytes(), sts))
    # a chunk's proof does not move to the other chunk
    swapped = VmGainsProof(proof.ranges[::-1], proof.ors)
    with pytest.raises(VerificationError):
        verify_vm_gains(sts, swapped)


@pytest.fixture(scope="module")
def honest():
    Cvm, ops = vm_setup([700, -200, 50])
    gains, gops, proof = prove_vm_gains(ctx(), 400, members(3), Cvm, ops, rng=RNG)
    return Cvm, ops, gains, gops, proof


def test_every_public_input_changed_fails(honest):
    Cvm, _, gains, _, proof = honest
    gens = generators()
    ms = members(3)
    variants = [
        vm_gains_statements(ctx(cycle=4), 400, ms, Cvm, gains),
        vm_gains_statements(ctx(seq=41), 400, ms, Cvm, gains),
        vm_gains_statements(Context(3, 40, b"m000"), 400, ms, Cvm, gains),
        vm_gains_statements(ctx(), 401, ms, Cvm, gains),
        vm_gains_statements(ctx(), 400, [b"x", *ms[1:]], Cvm, gains),
        vm_gains_statements(ctx(), 400, ms[::-1], Cvm, gains),
        vm_gains_statements(ctx(), 400, ms, [Cvm[0] + gens.G, *Cvm[1:]], gains),
        vm_gains_statements(ctx(), 400, ms, Cvm, [gains[0], gains[1] + gens.H, gains[2]]),
        vm_gains_statements(ctx(), 400, ms, Cvm[::-1], gains),
        vm_gains_statements(ctx(), 400, ms, Cvm, [gains[1], gains[0], gains[2]]),
    ]
    for sts in variants:
        with pytest.raises(VerificationError):
            verify_vm_gains(sts, proof)


def test_tampered_parts_fail(honest):
    Cvm, _, gains, _, proof = honest
    sts = vm_gains_statements(ctx(), 400, members(3), Cvm, gains)
    o = proof.ors
    for ors in ((o[1], o[0], o[2]), (OrZeroProof(**{**o[0].__dict__, "z1": (o[0].z1 + 1) % R}), o[1], o[2])):
        with pytest.raises(VerificationError):
            verify_vm_gains(sts, VmGainsProof(proof.ranges, ors))
    with pytest.raises(VerificationError):
        verify_vm_gains(sts, VmGainsProof(proof.ranges, o[:2]))
    with pytest.raises(VerificationError):
        verify_vm_gains(sts, VmGainsProof((), o))
    raw = bytearray(proof.to_bytes())
    raw[10] ^= 1  # inside the range proof
    with pytest.raises((VerificationError, DecodeError)):
        verify_vm_gains(sts, VmGainsProof.from_bytes(bytes(raw), sts))


def test_strict_decoding(honest):
    Cvm, _, gains, _, proof = honest
    sts = vm_gains_statements(ctx(), 400, members(3), Cvm, gains)
    raw = proof.to_bytes()
    bad = [raw[:-1], raw + b"\x00", raw[:3], b"", b"\x00\x04" + raw[2:], raw[:2] + b"\x00\x02" + raw[4:],
           raw[:-192] + bytes([0x40]) + bytes(191)]
    for data in bad:
        with pytest.raises(DecodeError):
            VmGainsProof.from_bytes(data, sts)
    with pytest.raises(DecodeError):
        VmGainsProof.from_bytes(raw.hex(), sts)  # type: ignore[arg-type]


def test_statement_bounds():
    Cvm, _ = vm_setup([1, 2])
    with pytest.raises(StatementError):
        vm_gains_statements(ctx(), 0, members(2), Cvm, Cvm)      # U >= 1
    with pytest.raises(StatementError):
        vm_gains_statements(ctx(), 1, members(2), Cvm[:1], Cvm)
    with pytest.raises(StatementError):
        vm_gains_statements(ctx(), 1, [b"a", b"a"], Cvm, Cvm)
    with pytest.raises(StatementError):
        vm_gains_statements(ctx(), 1, [], [], [])


# -- soundness: a cheating prover ------------------------------------------------------
def _cheat(U, vms, gs):
    """A cheating prover that commits the gains ``gs`` of its choice, proves
    the range part with the range check switched off (values wrap mod r),
    and the OR part honestly where a branch holds, else by simulating both
    branches (the only thing it can do without a witness)."""
    gens = generators()
    Cvm, vops = vm_setup(vms)
    gops = [Opening(from_int(g), random_scalar(RNG)) for g in gs]
    gains = [gens.commit(o.value, o.blinding) for o in gops]
    sts = vm_gains_statements(ctx(), U, members(len(vms)), Cvm, gains)
    saved = prover_range._check_witness
    prover_range._check_witness = lambda *a: None
    try:
        ranges = []
        for st in sts:
            derived = derive_openings(vops + gops, st.forms())
            base = st.transcript(gens)
            ranges.append(StatementProof(tuple(prover_range.prove_range(
                chunk_transcript(st, k, base, gens), [derived[i].value for i in idx],
                [derived[i].blinding for i in idx], st.BITS, gens=gens, rng=RNG)
                for k, idx in enumerate(range_chunks(st)))))
    finally:
        prover_range._check_witness = saved
    ors = []
    st = sts[0]
    base = st.transcript(gens)
    for j, (v, g) in enumerate(zip(vms, gs)):
        C0, C1 = st.or_statement(j)
        if g == v:
            ors.append(prove_or_zero(st.or_transcript(j, base), C0, C1, 0, gops[j].blinding - vops[j].blinding,
                                     gens=gens, rng=RNG))
        elif g == 0:
            ors.append(prove_or_zero(st.or_transcript(j, base), C0, C1, 1, gops[j].blinding, gens=gens, rng=RNG))
        else:
            c0, z0, c1, z1 = (random_scalar(RNG) for _ in range(4))
            ors.append(OrZeroProof(gens.H_table.mul(z0) - C0 * c0, gens.H_table.mul(z1) - C1 * c1, c0, c1, z0, z1))
    return sts, VmGainsProof(tuple(ranges), tuple(ors))


def test_cheating_helper_is_sound_on_true_statements():
    sts, proof = _cheat(10, [40, -5, 0], [40, 0, 0])
    verify_vm_gains(sts, proof)


@pytest.mark.parametrize("vms,gs", [
    ([40, -5, 9], [0, 0, 9]),        # hides a positive gain (g = 0 < vm): g - vm < 0
    ([40, -5, 9], [40, -5, 9]),      # claims a loss as a gain of its own sign (g = vm < 0)
    ([40, -5, 9], [20, 0, 9]),       # any g in (0, vm): both ranges hold, the OR does not
    ([40, -5, 9], [40, 3, 9]),       # a gain for a loser (g > 0 > vm): the OR does not hold
    ([40, -5, 9], [41, 0, 9]),       # over-charging a gainer: the OR does not hold
])
def test_cheating_prover_cannot_pass_a_wrong_gain(vms, gs):
    sts, proof = _cheat(10, vms, gs)
    with pytest.raises(VerificationError):
        verify_vm_gains(sts, proof)


def test_honest_prover_refuses_bad_openings_and_huge_gains():
    Cvm, ops = vm_setup([5, 6])
    with pytest.raises(ProvingError):
        prove_vm_gains(ctx(), 1, members(2), Cvm, [ops[1], ops[0]], rng=RNG)
    Cbig, big = vm_setup([1 << 64, 1])
    with pytest.raises(ProvingError):
        prove_vm_gains(ctx(), 1, members(2), Cbig, big, rng=RNG)


# -- the haircut shares ----------------------------------------------------------------
def test_haircut_shares(honest):
    _, _, gains, gops, _ = honest
    G = 750
    st, proof, hops = vm_gains_haircut(ctx(), 400, G, members(3), gains, gops, rng=RNG)
    assert [o.value for o in hops] == [400 * 700 // 750, 0, 400 * 50 // 750]
    verify(st, proof)
    verify(st, StatementProof.from_bytes(proof.to_bytes(), st))
    for other in (VmGainsShares(ctx(), b"vm-gains-haircut", 401, G, tuple(members(3)), tuple(gains), st.shares),
                  VmGainsShares(ctx(), b"vm-gains-haircut", 400, G + 1, tuple(members(3)), tuple(gains), st.shares),
                  VmGainsShares(ctx(seq=9), b"vm-gains-haircut", 400, G, tuple(members(3)), tuple(gains), st.shares)):
        with pytest.raises(VerificationError):
            verify(other, proof)
    with pytest.raises(StatementError):
        VmGainsShares(ctx(), b"assessment", 400, G, tuple(members(3)), tuple(gains), st.shares)
    with pytest.raises(StatementError):
        VmGainsShares(ctx(), b"vm-gains-haircut", G, G, tuple(members(3)), tuple(gains), st.shares)  # U < G


def test_absent_vm_is_the_identity():
    """A survivor with no VM booked in the cycle has the identity as its VM
    commitment (the fold's zero); its gain 0 is proven like any other."""
    gens = generators()
    ops = [Opening(0, 0), Opening(5, 7), Opening(from_int(-3), 9)]
    Cvm = [gens.commit(o.value, o.blinding) for o in ops]
    assert Cvm[0].is_identity()
    gains, gops, proof = prove_vm_gains(ctx(), 3, members(3), Cvm, ops, rng=RNG)
    assert [o.value for o in gops] == [0, 5, 0]
    sts = vm_gains_statements(ctx(), 3, members(3), Cvm, gains)
    verify_vm_gains(sts, VmGainsProof.from_bytes(proof.to_bytes(), sts))
