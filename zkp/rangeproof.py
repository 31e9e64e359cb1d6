r"""Aggregated Bulletproofs range proofs (Bünz et al. 2018, sections 4.2-4.3
and 6.2) -- the shared half: parameters, the proof type and its encoding,
the transcript steps and the scalar helpers that prover and verifier both use.

Proof generation lives in :mod:`prover.rangeproof`; single and batch
verification in :mod:`verifier.rangeproof`.  Both sides absorb the statement
and every prover message through the ``transcript_*`` functions below, so the
order cannot drift between them.

Relation
========
For a public bit size n in {8, 16, 32, 64} and public commitments
V_0 .. V_{m-1} (1 <= m <= 64)::

    { (V_j ; v_j, gamma_j)_j :  V_j = v_j*G + gamma_j*H,  0 <= v_j < 2^n }

G, H are the Pedersen bases; G_vec = (G_0 .. G_{N-1}), H_vec and the
inner-product base U come from :mod:`zkp.generators`.  m is padded to M, the
next power of two, with identity commitments (v = 0, gamma = 0) on both sides;
N = n*M.  Index convention: i in [0, N), i = j*n + k is bit k of value j.

Notation: <a, b> inner product, a o b entry-wise product, k^N the vector
(1, k, .., k^{N-1}), 1^N all ones, 2^n = (1, 2, .., 2^{n-1}); arithmetic mod r.
For the challenges y, z write

    zz_i = z^{2+j} * 2^k            (i = j*n + k)

Message flow (Fiat-Shamir; "->" the prover sends, "<-" a challenge)
====================================================================
1. a_L = the bits of all v_j (a_L[j*n + k] = bit k of v_j), a_R = a_L - 1^N;
   alpha, rho, s_L, s_R (and tau1, tau2 of step 2) random -- the prover
   draws them in the order alpha, rho, s_L, s_R, tau1, tau2::

       -> A = alpha*H + <a_L, G_vec> + <a_R, H_vec>
       -> S = rho*H   + <s_L, G_vec> + <s_R, H_vec>
       <- y, z

2. The polynomials (vectors of polynomials in X)::

       l(X) = (a_L - z*1^N) + s_L*X
       r(X) = y^N o (a_R + z*1^N + s_R*X) + zz
       t(X) = <l(X), r(X)> = t0 + t1*X + t2*X^2

   Because a_L o a_R = 0, a_L - a_R = 1^N and <a_L[block j], 2^n> = v_j::

       t0 = sum_j z^{2+j} v_j + delta(y, z)
       delta(y, z) = (z - z^2)*<1^N, y^N> - sum_{j<M} z^{3+j}*<1^n, 2^n>
       t1 = <l0, r1> + <l1, r0>,      t2 = <l1, r1>

   ::

       -> T1 = t1*G + tau1*H,  T2 = t2*G + tau2*H
       <- x

3. ::

       -> t_hat = <l(x), r(x)>
          tau_x = tau2*x^2 + tau1*x + sum_j z^{2+j}*gamma_j
          mu    = alpha + rho*x
       <- w;   Q = w*U

4. Inner-product argument (IPA) for
   P = <l, G_vec> + <r, H'> + <l, r>*Q with H'_i = y^{-i}*H_i, l = l(x),
   r = r(x).  While the vectors (a, b) = (l, r) have length 2h > 1, split every
   vector into halves lo = [0, h), hi = [h, 2h)::

       -> L = <a_lo, G_hi> + <b_hi, H_lo> + <a_lo, b_hi>*Q
       -> R = <a_hi, G_lo> + <b_lo, H_hi> + <a_hi, b_lo>*Q
       <- u
          a' = u*a_lo + u^{-1}*a_hi        b' = u^{-1}*b_lo + u*b_hi
          G' = u^{-1}*G_lo + u*G_hi        H' = u*H_lo + u^{-1}*H_hi

   so that <a', G'> + <b', H'> + <a', b'>*Q = P + u^2*L + u^{-2}*R.  After
   log2(N) rounds the vectors have length one:  -> a, b.

Verification
============
The verifier replays the transcript for every challenge and checks

  (i)  t_hat*G + tau_x*H == sum_j z^{2+j}*V_j + delta(y,z)*G + x*T1 + x^2*T2
  (ii) A + x*S - z*<1, G_vec> + <z*y^N + zz, H'> - mu*H + t_hat*Q
         + sum_j (u_j^2*L_j + u_j^{-2}*R_j)
       == a*<s, G_vec> + b*<s', H'> + a*b*Q

where s_i = prod_j u_j^(+-1): the exponent for round j (the first round is
j = 0) is +1 when bit (log2(N) - 1 - j) of i is set and -1 otherwise -- the
coefficient of the original G_i in the fully folded G.  Likewise s'_i =
1/s_i = s_{N-1-i} for H, so the folded generators are never computed.  With a
random weight c, (ii) + c*(i) becomes one multi-scalar multiplication that
must be the identity::

    A + x*S + sum_j u_j^2*L_j + sum_j u_j^{-2}*R_j + c*x*T1 + c*x^2*T2
      + sum_j c*z^{2+j}*V_j
      + sum_i (-z - a*s_i)*G_i
      + sum_i (z + y^{-i}*(zz_i - b*s_{N-1-i}))*H_i
      + c*(delta(y,z) - t_hat)*G + (-mu - c*tau_x)*H + w*(t_hat - a*b)*U

Batch verification sums such equations with independent random weights
(:mod:`verifier.rangeproof`).

Transcript order (exactly)
==========================
The caller's transcript already holds the statement's context.  Then::

    domain_sep(b"bulletproofs.range.v1", m=M, n=n)   (parameters sorted by name)
    b"gens"  generator-set id (32 bytes)
    b"V"     the M padded commitments (append_points: count, then each)
    b"A", b"S"                   -> challenge b"y", then b"z"
    b"T1", b"T2"                 -> challenge b"x"
    b"t_hat", b"tau_x", b"mu"    -> challenge b"w"
    each round: b"L", b"R"       -> challenge b"u"

Bound statements
================
When the caller's transcript is a :class:`BoundTranscript`, step "V" is
replaced: the domain separator is ``bulletproofs.range.bound.v1`` (with the
same n and m=M) and the V_j are not absorbed.  This is sound when the
caller's statement transcript already binds data of which every V_j is a
deterministic function (Fiat-Shamir needs every statement input hashed
before the first challenge; hashing an injective description of the V_j
is as binding as hashing the V_j).  The clearing statements use it for
V_j = const_j*G + sum_src coeff_{j,src}*src with the sources and the forms'
definition bound (zkp.statement_base, zkp.margin), and the verifier then
evaluates sum_j c*z^{2+j}*V_j as one fold over the sources.

Encoding
========
A, S, T1, T2 (points), t_hat, tau_x, mu (scalars), L_0, R_0, .., L_{k-1},
R_{k-1} (points, k = log2(N)), a, b (scalars); 32 bytes each, (2k + 9)*32
bytes in all: 672 bytes for one 64-bit value, 928 for sixteen.  Decoding is
strict: exact length for (n, m), canonical scalars < r, points on the curve
and never the identity.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import DecodeError
from .field import SCALAR_BYTES, R, batch_inv, decode_scalar, encode_scalar
from .group import POINT_BYTES, Backend, Point, encode_points, get_backend
from .transcript import Transcript

if TYPE_CHECKING:  # annotations only (challenges_for imports generators lazily)
    from .generators import GeneratorSet

#: Bit sizes a range proof supports.
SUPPORTED_BITS = (8, 16, 32, 64)
#: Largest number of values in one aggregated proof.
MAX_VALUES = 64
#: The protocol's domain separator in the transcript.
DOMAIN_LABEL = b"bulletproofs.range.v1"
#: The domain separator on a :class:`BoundTranscript` (V_j bound by the statement).
BOUND_DOMAIN_LABEL = b"bulletproofs.range.bound.v1"


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def padded_m(m: int) -> int:
    """Number of values after padding: the next power of two >= m (1..64)."""
    if not _is_int(m) or not 1 <= m <= MAX_VALUES:
        raise ValueError(f"number of values must be an int in [1, {MAX_VALUES}]")
    return 1 << (m - 1).bit_length()


def check_bits(n: int) -> int:
    """``n`` itself if it is a supported bit size; ValueError otherwise."""
    if not _is_int(n) or n not in SUPPORTED_BITS:
        raise ValueError(f"bit size must be one of {SUPPORTED_BITS}")
    return n


def num_rounds(n: int, m: int) -> int:
    """Rounds of the inner-product argument: log2(n * padded_m(m))."""
    return (check_bits(n) * padded_m(m)).bit_length() - 1


def proof_size(n: int, m: int) -> int:
    """Encoded size in bytes: (2*log2(n*padded_m(m)) + 9) * 32."""
    return (2 * num_rounds(n, m) + 9) * 32


@dataclass(frozen=True)
class RangeProof:
    """An aggregated range proof.  Public data (see the module docstring)."""

    A: Point
    S: Point
    T1: Point
    T2: Point
    t_hat: int
    tau_x: int
    mu: int
    L: tuple[Point, ...]
    R: tuple[Point, ...]
    a: int
    b: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "L", tuple(self.L))
        object.__setattr__(self, "R", tuple(self.R))

    def __repr__(self) -> str:
        return f"RangeProof(rounds={len(self.L)})"

    def points(self) -> list[Point]:
        """A, S, T1, T2, L_0, R_0, .., L_{k-1}, R_{k-1} (encoding order)."""
        pts = [self.A, self.S, self.T1, self.T2]
        for Lj, Rj in zip(self.L, self.R):
            pts.append(Lj)
            pts.append(Rj)
        return pts

    def to_bytes(self) -> bytes:
        """Fixed-order encoding, 32 bytes per point and scalar."""
        if len(self.L) != len(self.R):
            raise ValueError("RangeProof: L and R differ in length")
        encs = encode_points(self.points())
        parts = encs[:4]
        parts += [encode_scalar(self.t_hat), encode_scalar(self.tau_x), encode_scalar(self.mu)]
        parts += encs[4:]
        parts += [encode_scalar(self.a), encode_scalar(self.b)]
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes, n: int, m: int, *, backend: Backend | None = None) -> RangeProof:
        """Strictly decode a proof for m values of n bits.

        Raises :class:`~zkp.errors.DecodeError` for unsupported (n, m), a
        length other than ``proof_size(n, m)``, scalars >= r, points off the
        curve or the identity.  ``backend``: the group backend of the points
        (default: the current one)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DecodeError("range proof must be bytes")
        data = bytes(data)
        try:
            k = num_rounds(n, m)
        except ValueError as exc:
            raise DecodeError(f"unsupported range proof parameters: {exc}") from None
        size = (2 * k + 9) * 32
        if len(data) != size:
            raise DecodeError(f"range proof for n={n}, m={m} must be {size} bytes, got {len(data)}")
        b = backend or get_backend()
        chunks = [data[i:i + POINT_BYTES] for i in range(0, size, SCALAR_BYTES)]

        def point(c: bytes) -> Point:
            return Point.decode(c, allow_identity=False, backend=b)

        A, S, T1, T2 = (point(c) for c in chunks[:4])
        t_hat, tau_x, mu = (decode_scalar(c) for c in chunks[4:7])
        lr = [point(c) for c in chunks[7:7 + 2 * k]]
        a = decode_scalar(chunks[7 + 2 * k])
        bb = decode_scalar(chunks[8 + 2 * k])
        proof = cls(A, S, T1, T2, t_hat, tau_x, mu, tuple(lr[0::2]), tuple(lr[1::2]), a, bb)
        # the canonical encodings just decoded, in points() order, for the
        # verifier's transcript (decoding is strict, so they equal
        # re-encoding); not a field: dataclasses.replace() drops it
        object.__setattr__(proof, "_enc", tuple(chunks[:4] + chunks[7:7 + 2 * k]))
        return proof



# -- transcript steps (shared by prover and verifier) --------------------------

def pad_commitments(commitments: Sequence[Point], M: int, backend: Backend | None) -> list[Point]:
    """The commitments followed by identity points up to M entries."""
    out = list(commitments)
    out.extend(Point.identity(backend) for _ in range(M - len(out)))
    return out


class BoundTranscript(Transcript):
    """A transcript whose statement already binds everything the V_j are a
    deterministic function of (the source commitments and the public linear
    forms, zkp.statement_base).  A range proof on it absorbs the domain
    separator :data:`BOUND_DOMAIN_LABEL` instead of :data:`DOMAIN_LABEL` and
    no V_j, so the verifier may check sum_j z^(2+j)*V_j folded over the
    sources without ever computing a V_j (module docstring, "Bound
    statements")."""

    __slots__ = ()

    def clone(self) -> BoundTranscript:
        t = BoundTranscript.__new__(BoundTranscript)
        t._h = self._h.copy()
        return t


def transcript_statement(transcript: Transcript, n: int, M: int, set_id: bytes, padded: Sequence[Point]) -> None:
    """Domain separator with (n, M), the generator-set id, the padded V_j
    (for a :class:`BoundTranscript`: the bound label, no V_j)."""
    if isinstance(transcript, BoundTranscript):
        transcript.domain_sep(BOUND_DOMAIN_LABEL, n=n, m=M)
        transcript.append_message(b"gens", set_id)
        return
    transcript.domain_sep(DOMAIN_LABEL, n=n, m=M)
    transcript.append_message(b"gens", set_id)
    transcript.append_points(b"V", padded)


def transcript_AS(transcript: Transcript, A: Point, S: Point) -> tuple[int, int]:
    transcript.append_point(b"A", A)
    transcript.append_point(b"S", S)
    y = transcript.challenge_scalar(b"y")
    z = transcript.challenge_scalar(b"z")
    return y, z


def transcript_T(transcript: Transcript, T1: Point, T2: Point) -> int:
    transcript.append_point(b"T1", T1)
    transcript.append_point(b"T2", T2)
    return transcript.challenge_scalar(b"x")


def transcript_openings(transcript: Transcript, t_hat: int, tau_x: int, mu: int) -> int:
    transcript.append_scalar(b"t_hat", t_hat)
    transcript.append_scalar(b"tau_x", tau_x)
    transcript.append_scalar(b"mu", mu)
    return transcript.challenge_scalar(b"w")


def transcript_round(transcript: Transcript, L: Point, R_: Point) -> int:
    transcript.append_point(b"L", L)
    transcript.append_point(b"R", R_)
    return transcript.challenge_scalar(b"u")


@dataclass(frozen=True)
class RangeChallenges:
    """The Fiat-Shamir challenges of one proof (public values)."""

    y: int
    z: int
    x: int
    w: int
    u: tuple[int, ...]


def replay_challenges(transcript: Transcript, n: int, M: int, set_id: bytes, padded: Sequence[Point],
                      proof: RangeProof, enc: Sequence[bytes] | None = None) -> RangeChallenges:
    """Absorb the statement and the proof into ``transcript`` in protocol
    order and return every challenge.  ``len(proof.L)`` rounds are replayed;
    the caller checks it equals log2(n*M).  ``enc``: the canonical
    encodings of ``proof.points()`` when already known (a decoded proof's)."""
    if enc is None or len(enc) != 4 + 2 * len(proof.L):
        enc = encode_points(proof.points())
    transcript_statement(transcript, n, M, set_id, padded)
    transcript.append_message(b"A", enc[0])
    transcript.append_message(b"S", enc[1])
    y = transcript.challenge_scalar(b"y")
    z = transcript.challenge_scalar(b"z")
    transcript.append_message(b"T1", enc[2])
    transcript.append_message(b"T2", enc[3])
    x = transcript.challenge_scalar(b"x")
    w = transcript_openings(transcript, proof.t_hat, proof.tau_x, proof.mu)
    us = []
    for j in range(len(proof.L)):
        transcript.append_message(b"L", enc[4 + 2 * j])
        transcript.append_message(b"R", enc[5 + 2 * j])
        us.append(transcript.challenge_scalar(b"u"))
    return RangeChallenges(y, z, x, w, tuple(us))


def challenges_for(transcript: Transcript, commitments: Sequence[Point], proof: RangeProof, n: int,
                   *, gens: GeneratorSet | None = None) -> RangeChallenges:
    """Convenience for tests and vectors: the challenges a verifier derives
    for ``proof`` on ``commitments`` (absorbs into ``transcript``)."""
    from .generators import generators

    gens = gens or generators()
    M = padded_m(len(commitments))
    return replay_challenges(transcript, n, M, gens.set_id,
                             pad_commitments(commitments, M, gens.backend), proof)


# -- scalar helpers (plain ints mod r) -----------------------------------------

def powers(base: int, count: int) -> list[int]:
    """[1, base, base^2, .., base^(count-1)] mod r."""
    out = [1] * count
    acc = 1
    for i in range(1, count):
        acc = acc * base % R
        out[i] = acc
    return out


def zz_vector(z: int, n: int, M: int) -> list[int]:
    """zz_i = z^(2+j) * 2^k for i = j*n + k (length n*M)."""
    two = [1 << k for k in range(n)]  # n <= 64, so 2^k < r
    out: list[int] = []
    zj = z * z % R
    for _ in range(M):
        out.extend(zj * t % R for t in two)
        zj = zj * z % R
    return out


def delta(y: int, z: int, n: int, M: int) -> int:
    """delta(y, z) = (z - z^2)*<1^N, y^N> - sum_{j<M} z^(3+j)*<1^n, 2^n>."""
    N = n * M
    if y == 1:  # <1, y^N> by the geometric-series formula needs y != 1
        sum_y = N % R
    else:
        sum_y = (pow(y, N, R) - 1) * pow(y - 1, -1, R) % R
    z2 = z * z % R
    z_sum = 0
    zj = z2 * z % R
    for _ in range(M):
        z_sum += zj
        zj = zj * z % R
    return ((z - z2) * sum_y - z_sum * ((1 << n) - 1)) % R


def s_vector(us: Sequence[int], scale: int = 1) -> list[int]:
    """s_i = prod_j u_j^(+1 if bit (k-1-j) of i is set else -1), k = len(us)
    (times ``scale``, for free: it multiplies the first entry only).

    Built lowest bit first: bit t of i belongs to round k-1-t, and setting it
    multiplies by u_(k-1-t)^2.  N field multiplications and one inversion."""
    k = len(us)
    inv_all = batch_inv(list(us))
    s0 = scale
    for ui in inv_all:
        s0 = s0 * ui % R
    s = [s0]
    for t in range(k):
        u = us[k - 1 - t]
        sq = u * u % R
        s = s + [v * sq % R for v in s]
    return s


__all__ = [
    "SUPPORTED_BITS", "MAX_VALUES", "DOMAIN_LABEL", "BOUND_DOMAIN_LABEL", "BoundTranscript", "padded_m",
    "check_bits", "num_rounds",
    "proof_size", "RangeProof", "RangeChallenges", "pad_commitments", "transcript_statement",
    "transcript_AS", "transcript_T", "transcript_openings", "transcript_round",
    "replay_challenges", "challenges_for", "powers", "zz_vector", "delta", "s_vector",
]
