"""Aggregated Bulletproofs range proofs: completeness, the prover's refusals,
soundness against tampering, Frozen-Heart binding of the statement, strict
encodings, an independent textbook re-check of both verification equations
(vector algebra over galois GF(r)), and a cross-backend run."""
from __future__ import annotations

import dataclasses
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prover import rangeproof as prover_mod
from prover.rangeproof import prove_range
from verifier.rangeproof import verify_range
from zkp.errors import DecodeError, ProvingError, VerificationError
from zkp.field import GF, P, R, SeededRng, encode_scalar, inv
from zkp.generators import GeneratorSet, generators
from zkp.group import Point, get_backend, msm, sqrt_fp, use_backend
from zkp.rangeproof import (
    MAX_VALUES,
    SUPPORTED_BITS,
    RangeProof,
    challenges_for,
    delta,
    padded_m,
    proof_size,
    s_vector,
)
from zkp.transcript import Transcript

LABEL = b"zkclear.test/rangeproof"


def _transcript(label: bytes = LABEL, statement: bytes = b"margin-check-1") -> Transcript:
    t = Transcript(label)
    t.append_message(b"statement", statement)
    return t


def _blindings(seed: str, m: int) -> list[int]:
    rng = SeededRng(f"blindings/{seed}")
    return [rng.randbelow(R) for _ in range(m)]


@cache
def _proof(n: int, values: tuple, seed: str = "s"):
    """(commitments, proof) for the values; deterministic and cached."""
    gens = generators()
    blinds = _blindings(seed, len(values))
    proof = prove_range(_transcript(), list(values), blinds, n, rng=SeededRng(seed))
    V = tuple(gens.commit(v, g) for v, g in zip(values, blinds))
    return V, proof


def _verify(V, proof, n, transcript=None) -> None:
    verify_range(transcript or _transcript(), list(V), proof, n)


def _verify_bytes(V, data: bytes, n: int, m: int | None = None) -> None:
    """Decode first, then verify (the order a node uses)."""
    proof = RangeProof.from_bytes(data, n, len(V) if m is None else m)
    _verify(V, proof, n)


def _other_point(pt: Point) -> Point:
    return pt + generators().G


# -- parameters and sizes ------------------------------------------------------------

def test_padded_m():
    assert [padded_m(m) for m in (1, 2, 3, 4, 5, 8, 9, 16, 17, 33, 64)] == [1, 2, 4, 4, 8, 8, 16, 16, 32, 64, 64]
    for bad in (0, -1, 65, 128, True, 2.0, "4"):
        with pytest.raises(ValueError):
            padded_m(bad)


def test_proof_size_formula():
    assert proof_size(64, 1) == 672
    assert proof_size(64, 16) == 928
    assert proof_size(8, 1) == (2 * 3 + 9) * 32
    assert proof_size(8, 3) == proof_size(8, 4) == (2 * 5 + 9) * 32
    assert proof_size(64, 64) == (2 * 12 + 9) * 32
    for n, m in ((7, 1), (128, 1), (8, 0), (8, 65)):
        with pytest.raises(ValueError):
            proof_size(n, m)


# -- completeness ----------------------------------------------------------------------

@pytest.mark.parametrize("n,values", [
    (8, (0,)),
    (8, (255, 0)),
    (8, (1, 2, 3)),
    (8, (17, 0, 255, 128)),
    (8, tuple(range(0, 256, 16))),          # m = 16
    (16, (0, 65535)),
    (16, (12345, 1, 2)),
    (32, (0, 2**32 - 1)),
    (32, (123456789,)),
    (64, (2**64 - 1,)),
    (64, (0,)),
])
def test_completeness_and_roundtrip(n, values):
    V, proof = _proof(n, values)
    m = len(values)
    data = proof.to_bytes()
    assert len(data) == proof_size(n, m)
    assert len(proof.L) == len(proof.R) == (n * padded_m(m)).bit_length() - 1
    again = RangeProof.from_bytes(data, n, m)
    assert again == proof and again.to_bytes() == data
    _verify(V, proof, n)
    _verify_bytes(V, data, n)


@pytest.mark.slow
@pytest.mark.parametrize("n,m", [(64, 2), (64, 3), (64, 16), (32, 16)])
def test_completeness_large(n, m):
    values = tuple((2**n - 1 - 3 * j) if j % 2 else j for j in range(m))
    V, proof = _proof(n, values)
    assert len(proof.to_bytes()) == proof_size(n, m)
    _verify(V, proof, n)


def test_deterministic_with_seeded_rng_and_randomised_without():
    V, proof = _proof(8, (7, 9))
    blinds = _blindings("s", 2)
    again = prove_range(_transcript(), [7, 9], blinds, 8, rng=SeededRng("s"))
    assert again.to_bytes() == proof.to_bytes()
    fresh = prove_range(_transcript(), [7, 9], blinds, 8)
    assert fresh.to_bytes() != proof.to_bytes()
    _verify(V, fresh, 8)


@pytest.mark.parametrize("group", [2, 8, 1 << 12])
def test_fold_schedule_does_not_change_the_proof(monkeypatch, group):
    """Deferred folding is an implementation choice: materialising the
    generators every round (2), every 3 rounds (8) or never (4096) gives
    the same proof bytes as the default schedule."""
    V, proof = _proof(8, (1, 2, 3))               # N = 32, 5 rounds
    monkeypatch.setattr(prover_mod, "FOLD_GROUP", group)
    again = prove_range(_transcript(), [1, 2, 3], _blindings("s", 3), 8, rng=SeededRng("s"))
    assert again.to_bytes() == proof.to_bytes()


def test_transcripts_end_in_the_same_state():
    V, proof = _proof(8, (3,))
    tp = _transcript()
    prove_range(tp, [3], _blindings("s", 1), 8, rng=SeededRng("s"))
    tv = _transcript()
    _verify(V, proof, 8, transcript=tv)
    assert tp.challenge_scalar(b"next") == tv.challenge_scalar(b"next")


def test_ints_backend_completeness_and_same_bytes():
    values, blinds = [200, 3], _blindings("ints", 2)
    ref = prove_range(_transcript(), values, blinds, 8, rng=SeededRng("ints"))
    with use_backend("ints") as b:
        gens = generators(b)
        proof = prove_range(_transcript(), values, blinds, 8, gens=gens, rng=SeededRng("ints"))
        V = [gens.commit(v, g) for v, g in zip(values, blinds)]
        assert proof.A.b is b
        verify_range(_transcript(), V, proof, 8, gens=gens)
        assert RangeProof.from_bytes(proof.to_bytes(), 8, 2, backend=b) == proof
    assert proof.to_bytes() == ref.to_bytes()


# -- an independent textbook check of both equations -----------------------------------

def test_textbook_equations_hold_separately():
    """Re-check (i) the t_hat equation and (ii) the inner-product equation
    one by one, with galois vector algebra and Point arithmetic, not the
    verifier's merged MSM: the single check must agree with the paper."""
    F = GF()
    gens = generators()
    n, values = 8, (5, 250)
    V, proof = _proof(n, values)
    M = padded_m(len(values))
    N = n * M
    ch = challenges_for(_transcript(), list(V), proof, n)
    z, x, w, us = F(ch.z), F(ch.x), F(ch.w), [F(u) for u in ch.u]
    y_n = F([pow(ch.y, i, R) for i in range(N)])
    two_n = F([1 << k for k in range(n)])
    z_j = [z ** (2 + j) for j in range(M)]
    zz = F([int(z_j[i // n]) * (1 << (i % n)) % R for i in range(N)])
    d = (z - z * z) * y_n.sum() - sum((zj * z for zj in z_j), F(0)) * two_n.sum()
    assert int(d) == delta(ch.y, ch.z, n, M)

    # (i) t_hat*G + tau_x*H == sum z^{2+j} V_j + delta*G + x*T1 + x^2*T2
    lhs = gens.G * proof.t_hat + gens.H * proof.tau_x
    rhs = msm(list(V) + [gens.G, proof.T1, proof.T2],
              [int(z_j[j]) for j in range(len(V))] + [int(d), int(x), int(x * x)])
    assert lhs == rhs

    # (ii) the inner-product equation, s_i built bit by bit
    k = N.bit_length() - 1
    s = []
    for i in range(N):
        acc = F(1)
        for j in range(k):
            acc *= us[j] if (i >> (k - 1 - j)) & 1 else us[j] ** -1
        s.append(acc)
    s = F([int(v) for v in s])
    assert [int(v) for v in s] == s_vector(ch.u)
    y_inv_n = y_n ** -1
    G_vec, H_vec = gens.G_vec(N), gens.H_vec(N)
    Q = gens.U * int(w)
    P_ = (proof.A + proof.S * int(x) + msm(G_vec, [int(-z)] * N)
          + msm(H_vec, [int(v) for v in (z * y_n + zz) * y_inv_n]) - gens.H * proof.mu + Q * proof.t_hat)
    folded = P_ + msm(list(proof.L) + list(proof.R), [int(u * u) for u in us] + [int(u ** -2) for u in us])
    a, b = F(proof.a), F(proof.b)
    expected = (msm(G_vec, [int(v) for v in a * s])
                + msm(H_vec, [int(v) for v in b * (s ** -1) * y_inv_n]) + Q * int(a * b))
    assert folded == expected


# -- the prover refuses ---------------------------------------------------------------------

@pytest.mark.parametrize("n", SUPPORTED_BITS)
def test_prover_refuses_out_of_range(n):
    for bad in (2**n, -1, 2**n + 5, -(2**n)):
        with pytest.raises(ProvingError):
            prove_range(_transcript(), [1, bad], [3, 4], n)


def test_prover_refuses_bad_arguments():
    cases = [
        dict(values=[1], blindings=[1], n=7),
        dict(values=[1], blindings=[1], n=128),
        dict(values=[1], blindings=[1], n=8.0),
        dict(values=[], blindings=[], n=8),
        dict(values=[1] * (MAX_VALUES + 1), blindings=[1] * (MAX_VALUES + 1), n=8),
        dict(values=[1, 2], blindings=[1], n=8),
        dict(values=[True], blindings=[1], n=8),
        dict(values=[1.0], blindings=[1], n=8),
        dict(values=["1"], blindings=[1], n=8),
        dict(values=[1], blindings=[1.5], n=8),
    ]
    for kw in cases:
        with pytest.raises(ProvingError):
            prove_range(_transcript(), kw["values"], kw["blindings"], kw["n"])


def test_refusal_message_does_not_leak_the_value():
    secret = 2**8 + 123456
    with pytest.raises(ProvingError) as exc:
        prove_range(_transcript(), [secret], [1], 8)
    assert str(secret) not in str(exc.value)


@pytest.mark.parametrize("bad", [2**8, 2**8 + 1, -1, 2**9 - 1])
def test_cheating_prover_with_out_of_range_witness_is_rejected(monkeypatch, bad):
    """Skip the prover's own check: a proof for v outside [0, 2^n) must not
    verify against the commitment to v."""
    monkeypatch.setattr(prover_mod, "_check_witness", lambda *a: None)
    gens = generators()
    blinds = [11, 12]
    proof = prove_range(_transcript(), [5, bad], blinds, 8, rng=SeededRng("cheat"))
    V = [gens.commit(5, 11), gens.commit(bad % R, 12)]
    with pytest.raises(VerificationError):
        _verify(V, proof, 8)


def test_proof_for_v_does_not_verify_other_commitments():
    gens = generators()
    V, proof = _proof(8, (42,))
    g = _blindings("s", 1)[0]
    for other in (gens.commit(2**8, g), gens.commit(43, g), gens.commit(42, g + 1),
                  gens.commit(42 + 2**8, g), V[0] + gens.G, -V[0], Point.identity()):
        with pytest.raises(VerificationError):
            _verify([other], proof, 8)
    _verify(V, proof, 8)  # the genuine statement still verifies


# -- tampering with the proof --------------------------------------------------------------

def _field_variants(proof: RangeProof):
    """Every single-field replacement: (name, tampered proof)."""
    for name in ("A", "S", "T1", "T2"):
        yield name, dataclasses.replace(proof, **{name: _other_point(getattr(proof, name))})
    for name in ("t_hat", "tau_x", "mu", "a", "b"):
        yield name, dataclasses.replace(proof, **{name: (getattr(proof, name) + 1) % R})
    for name in ("L", "R"):
        vec = getattr(proof, name)
        for j in range(len(vec)):
            changed = list(vec)
            changed[j] = _other_point(vec[j])
            yield f"{name}[{j}]", dataclasses.replace(proof, **{name: tuple(changed)})
    yield "L<->R", dataclasses.replace(proof, L=proof.R, R=proof.L)
    yield "a<->b", dataclasses.replace(proof, a=proof.b, b=proof.a)
    yield "A<->S", dataclasses.replace(proof, A=proof.S, S=proof.A)


@pytest.mark.parametrize("n,values", [(8, (77,)), (8, (1, 200, 3))])
def test_replacing_any_field_is_rejected(n, values):
    V, proof = _proof(n, values)
    seen = 0
    for name, bad in _field_variants(proof):
        with pytest.raises(VerificationError):
            _verify(V, bad, n)
        # and through the wire format
        with pytest.raises((DecodeError, VerificationError)):
            _verify_bytes(V, bad.to_bytes(), n)
        seen += 1
    assert seen == 9 + 2 * len(proof.L) + 3


def test_bit_flips_in_every_field_are_rejected():
    V, proof = _proof(8, (77, 5))
    data = proof.to_bytes()
    for off in range(0, len(data), 32):
        for byte_in_field, bit in ((31, 0), (16, 3), (1, 7)):
            bad = bytearray(data)
            bad[off + byte_in_field] ^= 1 << bit
            with pytest.raises((DecodeError, VerificationError)):
                _verify_bytes(V, bytes(bad), 8)


def test_structurally_bad_proof_objects_rejected():
    V, proof = _proof(8, (9,))
    ident = Point.identity()
    bad_objects = [
        dataclasses.replace(proof, A=ident),
        dataclasses.replace(proof, S=ident),
        dataclasses.replace(proof, T1=ident),
        dataclasses.replace(proof, T2=ident),
        dataclasses.replace(proof, L=(ident,) + proof.L[1:]),
        dataclasses.replace(proof, R=proof.R[:-1] + (ident,)),
        dataclasses.replace(proof, L=proof.L[:-1], R=proof.R[:-1]),
        dataclasses.replace(proof, L=proof.L + proof.L[:1], R=proof.R + proof.R[:1]),
        dataclasses.replace(proof, L=proof.L[:-1]),
        dataclasses.replace(proof, t_hat=proof.t_hat + R),
        dataclasses.replace(proof, a=-1),
        dataclasses.replace(proof, b=True),
        dataclasses.replace(proof, mu=float(1)),
        dataclasses.replace(proof, A=b"\x00" * 32),
        proof.to_bytes(),
        None,
    ]
    for bad in bad_objects:
        with pytest.raises(VerificationError):
            _verify(V, bad, 8)
    for commitments in ([], list(V) * (MAX_VALUES + 1), [V[0].encode()], None):
        with pytest.raises(VerificationError):
            verify_range(_transcript(), commitments, proof, 8)
    for n in (7, 9, 0, True, 8.0, "8"):
        with pytest.raises(VerificationError):
            _verify(V, proof, n)


def test_identity_in_an_otherwise_valid_proof_is_rejected(monkeypatch):
    """A prover choosing s_L = 0 and tau2 = 0 makes T2 the identity in a proof
    that satisfies both equations; the verifier must still refuse it."""
    n, values, blinds = 8, [9], [4]
    N = 8
    real = SeededRng("zero-T2")
    plan = iter([real.randbelow(R - 1) + 1 for _ in range(2)]      # alpha, rho
                + [0] * N                                          # s_L
                + [real.randbelow(R - 1) + 1 for _ in range(N + 1)]  # s_R, tau1
                + [0])                                             # tau2
    monkeypatch.setattr(prover_mod, "random_scalar", lambda rng=None: next(plan))
    proof = prove_range(_transcript(), values, blinds, n)
    assert proof.T2.is_identity()
    V = [generators().commit(9, 4)]
    with pytest.raises(VerificationError):
        _verify(V, proof, n)
    with pytest.raises(DecodeError):
        RangeProof.from_bytes(proof.to_bytes(), n, 1)


# -- the statement is bound (Frozen Heart) ------------------------------------------------

def test_swapped_commitments_rejected():
    V, proof = _proof(8, (1, 200, 3))
    for i, j in ((0, 1), (1, 2), (0, 2)):
        swapped = list(V)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        with pytest.raises(VerificationError):
            _verify(swapped, proof, 8)


def test_other_m_rejected():
    gens = generators()
    V, proof = _proof(8, (1, 200, 3))          # m = 3, padded to 4
    with pytest.raises(VerificationError):      # m = 2: another number of rounds
        _verify(V[:2], proof, 8)
    with pytest.raises(VerificationError):      # m = 4 with a real 4th commitment
        _verify(list(V) + [gens.commit(0, 1)], proof, 8)
    with pytest.raises(VerificationError):      # m = 5: another number of rounds
        _verify(list(V) + [Point.identity()] * 2, proof, 8)
    # Padding is part of the protocol: an explicit identity 4th commitment is
    # the same statement (value 0, blinding 0), so it verifies.
    _verify(list(V) + [Point.identity()], proof, 8)


def test_other_n_rejected():
    V, proof = _proof(16, (300, 7))             # N = 32
    with pytest.raises(VerificationError):
        _verify(V, proof, 8)                    # another number of rounds
    with pytest.raises(VerificationError):
        _verify(V[:1], proof, 32)               # same N = 32, other statement
    with pytest.raises(VerificationError):
        _verify(V, proof, 32)
    V8, proof8 = _proof(8, (1, 2, 3, 4))        # N = 32 as well
    with pytest.raises(VerificationError):
        _verify(V8[:2], proof8, 16)


def test_frozen_heart_statement_is_bound():
    V, proof = _proof(8, (33, 44))
    other_label = _transcript(label=b"zkclear.test/other")
    other_statement = _transcript(statement=b"margin-check-2")
    extra = _transcript()
    extra.append_u64(b"cycle", 1)
    bare = Transcript(LABEL)
    for t in (other_label, other_statement, extra, bare):
        with pytest.raises(VerificationError):
            _verify(V, proof, 8, transcript=t)
    _verify(V, proof, 8)


def test_other_generator_set_rejected():
    """Same points, other generator-set id: the id is in the transcript."""
    gens = generators()
    other = GeneratorSet(get_backend(), capacity=64)
    assert other.set_id != gens.set_id
    V, proof = _proof(8, (5,))
    with pytest.raises(VerificationError):
        verify_range(_transcript(), list(V), proof, 8, gens=other)
    proof2 = prove_range(_transcript(), [5], _blindings("s", 1), 8, gens=other, rng=SeededRng("s"))
    verify_range(_transcript(), list(V), proof2, 8, gens=other)
    with pytest.raises(VerificationError):
        _verify(V, proof2, 8)


# -- strict decoding ------------------------------------------------------------------------

def _off_curve_encoding() -> bytes:
    x = 1
    while sqrt_fp((x ** 3 + 3) % P) is not None:
        x += 1
    return x.to_bytes(32, "big")


def test_malformed_encodings():
    V, proof = _proof(8, (77,))
    data = proof.to_bytes()
    n, m = 8, 1
    size = proof_size(n, m)
    ident = bytes([0x40]) + bytes(31)
    x_ge_p = P.to_bytes(32, "big")
    bad = {
        "empty": b"",
        "truncated by 1": data[:-1],
        "truncated by 32": data[:-32],
        "over-long by 1": data + b"\x00",
        "over-long by 32": data + data[-32:],
        "off-curve A": _off_curve_encoding() + data[32:],
        "x >= p in S": data[:32] + x_ge_p + data[64:],
        "identity A": ident + data[32:],
        "identity T2": data[:96] + ident + data[128:],
        "identity L0": data[:224] + ident + data[256:],
        "identity R_last": data[:size - 96] + ident + data[size - 64:],
        "bad identity flags": data[:32] + bytes([0x40]) + bytes(30) + b"\x01" + data[64:],
        "both flags": bytes([0xC0]) + data[1:],
        "t_hat = r": data[:128] + encode_scalar_raw(R) + data[160:],
        "mu = 2^256-1": data[:192] + b"\xff" * 32 + data[224:],
        "a = r + 1": data[:size - 64] + encode_scalar_raw(R + 1) + data[size - 32:],
        "b = 2^255": data[:size - 32] + encode_scalar_raw(1 << 255),
    }
    assert len(bad["t_hat = r"]) == size
    for name, blob in bad.items():
        with pytest.raises(DecodeError):
            RangeProof.from_bytes(blob, n, m)
    assert RangeProof.from_bytes(data, n, m) == proof


def encode_scalar_raw(k: int) -> bytes:
    return k.to_bytes(32, "big")


def test_decode_rejects_wrong_parameters_and_types():
    V, proof = _proof(8, (77,))
    data = proof.to_bytes()
    for n, m in ((7, 1), (8, 0), (8, 65), (True, 1), (8, 1.0)):
        with pytest.raises(DecodeError):
            RangeProof.from_bytes(data, n, m)
    with pytest.raises(DecodeError):            # right n, other m: other length
        RangeProof.from_bytes(data, 8, 2)
    with pytest.raises(DecodeError):
        RangeProof.from_bytes(data, 16, 1)
    for blob in (None, data.hex(), list(data)):
        with pytest.raises(DecodeError):
            RangeProof.from_bytes(blob, 8, 1)
    assert RangeProof.from_bytes(bytearray(data), 8, 1) == proof
    assert RangeProof.from_bytes(memoryview(data), 8, 1) == proof


def test_repr_is_short():
    _, proof = _proof(8, (77,))
    assert repr(proof) == "RangeProof(rounds=3)"


def test_to_bytes_refuses_out_of_range_scalars():
    _, proof = _proof(8, (77,))
    with pytest.raises(ValueError):
        dataclasses.replace(proof, t_hat=R).to_bytes()
    with pytest.raises(ValueError):
        dataclasses.replace(proof, L=proof.L[:-1]).to_bytes()


def test_encode_scalar_helper_matches_field_encoding():
    assert encode_scalar_raw(12345) == encode_scalar(12345)


# -- property-based ----------------------------------------------------------------------------

@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_random_witnesses_roundtrip_and_verify(data):
    n = data.draw(st.sampled_from((8, 16)))
    m = data.draw(st.integers(min_value=1, max_value=3))
    values = data.draw(st.lists(st.integers(min_value=0, max_value=2**n - 1), min_size=m, max_size=m))
    blinds = data.draw(st.lists(st.integers(min_value=0, max_value=R - 1), min_size=m, max_size=m))
    gens = generators()
    proof = prove_range(_transcript(), values, blinds, n)
    V = [gens.commit(v, g) for v, g in zip(values, blinds)]
    decoded = RangeProof.from_bytes(proof.to_bytes(), n, m)
    assert decoded == proof
    _verify(V, decoded, n)


def test_inverse_helper_sanity():
    # s_vector relies on s_i * s_{N-1-i} = 1; a cheap guard for the identity.
    us = [3, 5, 7]
    s = s_vector(us)
    assert all(s[i] * s[len(s) - 1 - i] % R == 1 for i in range(len(s)))
    assert s[0] == inv(3 * 5 * 7)
