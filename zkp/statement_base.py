"""The statement machinery shared by every clearing statement: public-input
bounds, the ledger :class:`Context`, public :class:`LinearForm` s over
commitments, the :class:`Statement` base class, chunk transcripts and the
:class:`StatementProof` container.

The statements themselves, their relations and the no-wrap argument are in
:mod:`zkp.statements` (and :mod:`zkp.margin` for the margin family); every
name here is re-exported from :mod:`zkp.statements`.

Derived commitments and folding
-------------------------------
A statement is "these derived commitments open to values in [0, 2^BITS)",
each derived commitment a public linear form over the statement's source
commitments, D_f = const_f*G + sum_j coeff_{f,j}*S_j.  In the aggregated
range proof's verification equation the D_f of one chunk appear only as
sum_f c*z^(2+f)*D_f, so for weights W_f (summed over chunks, see
:mod:`verifier.rangeproof`) the verifier needs only

    sum_f W_f*D_f = (sum_f W_f*const_f)*G + sum_j (sum_f W_f*coeff_{f,j})*S_j

-- :meth:`Statement.fold` -- never the D_f themselves.  A statement with
``FOLDED = True`` is verified that way; its range proofs then bind, instead
of the D_f, only their number (zkp.rangeproof.BoundTranscript), so its
statement transcript must bind everything the D_f are a deterministic
function of: the source commitments and the forms' definition.

Chunks
------
Aggregated range proofs take at most 64 values; a statement with more
forms is split into chunks (:meth:`Statement.range_chunks`), each proved on
its own fork of the statement transcript (:func:`chunk_transcript`): for an
unfolded statement the clone of the statement transcript with
("chunk", index) appended; for a folded one a fresh
:class:`~zkp.rangeproof.BoundTranscript` ("zkclear.v1/chunk") absorbing a
64-byte digest squeezed once from the statement transcript
(:func:`statement_seed`), then ("chunk", index) -- so a chunk can be proved
in another process from (seed, index, values, blindings) alone.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import DecodeError, ZkclearError
from .field import R, from_int
from .generators import GeneratorSet, generators
from .group import Point, msm_rows
from .pedersen import Opening
from .rangeproof import BoundTranscript, RangeProof
from .sigma import REVEAL_BOUND
from .transcript import Transcript

PROTOCOL = b"zkclear.v1/"
CURVE_ID = b"BN254-G1"

# Public-input bounds (DESIGN §4).
MAX_PUBLIC_AMOUNT = 1 << 63      # deposits, withdrawals, R, losses
MAX_PRICE = 1 << 40
MAX_MULTIPLIER = 1 << 24
MAX_COEFF = 1 << 64              # |A[s][i]| = |shock| * multiplier
MAX_SCENARIOS = 2048             # S <= 2^11 (issue 13)
MAX_INSTRUMENTS = 4096           # I <= 2^12 (issue 13)
MAX_DF_TOTAL = 1 << 80           # D0: up to 2^16 members x 2^64
QTY_BITS = 32
AMOUNT_BITS = 64
#: Reveal proofs (disclosure, aggregates) accept public values with
#: |v| < 2^64 -- the bound of the Sigma reveal proof (zkp.sigma.REVEAL_BOUND).
MAX_REVEAL = REVEAL_BOUND
#: Survivors per aggregated pro-rata range proof: 3 values each, m <= 64.
SHARES_PER_PROOF = 21
#: Values per aggregated range proof of a chunked statement (margin family).
VALUES_PER_PROOF = 64
#: Assessment cap multiple a (cap * df_j must stay below 2^64).
MAX_CAP_MULTIPLE = 255


class StatementError(ZkclearError, ValueError):
    """A statement's public inputs are malformed or out of bounds."""


def _check_int(name: str, v: object, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise StatementError(f"{name} must be an integer")
    if not lo <= v < hi:
        raise StatementError(f"{name} out of range [{lo}, {hi})")
    return v


def _check_point(name: str, p: object) -> Point:
    if not isinstance(p, Point):
        raise StatementError(f"{name} must be a Point")
    return p


def _member_bytes(member: object) -> bytes:
    if isinstance(member, str):
        member = member.encode()
    if not isinstance(member, (bytes, bytearray)) or not 0 < len(member) <= 256:
        raise StatementError("member id must be 1..256 bytes")
    return bytes(member)


@dataclass(frozen=True)
class Context:
    """Where a statement lives in the ledger: cycle, sequence number, member."""

    cycle: int
    seq: int
    member: bytes

    def __post_init__(self) -> None:
        _check_int("cycle", self.cycle, 0, 1 << 64)
        _check_int("seq", self.seq, 0, 1 << 64)
        object.__setattr__(self, "member", _member_bytes(self.member))

    def bind(self, t: Transcript) -> None:
        t.append_u64(b"cycle", self.cycle)
        t.append_u64(b"seq", self.seq)
        t.append_message(b"member", self.member)


@dataclass(frozen=True)
class LinearForm:
    """D = const*G + sum_j coeffs[j] * sources[index[j]] (signed ints)."""

    const: int
    terms: tuple[tuple[int, int], ...]  # (source index, coefficient)


def derive_commitments(sources: Sequence[Point], forms: Sequence[LinearForm],
                       gens: GeneratorSet | None = None) -> list[Point]:
    """The reference derivation: compute each derived commitment from public data.

    All forms range over the same points (the sources and G), so they are
    evaluated together as rows of one :func:`zkp.group.msm_rows` call.
    Folded statements never need this on the verifier's path (see the module
    docstring); it remains the reference the folded check is tested against."""
    gens = gens or generators()
    if not forms:
        return []
    pts = list(sources) + [gens.G]
    rows: list[list[int]] = []
    for f in forms:
        row = [0] * len(pts)
        for j, c in f.terms:
            row[j] = (row[j] + from_int(c)) % R
        row[-1] = from_int(f.const) if f.const else 0
        rows.append(row)
    if not sources:
        return [gens.G * row[-1] for row in rows]
    return msm_rows(pts, rows)


def derive_openings(openings: Sequence[Opening], forms: Sequence[LinearForm]) -> list[Opening]:
    """The prover's side: the same forms applied to the openings."""
    out: list[Opening] = []
    for f in forms:
        v = f.const
        b = 0
        for j, c in f.terms:
            v += c * openings[j].value
            b += c * openings[j].blinding
        out.append(Opening(v % R, b % R))
    return out


def fold_forms(forms: Sequence[LinearForm], n_sources: int, weights: Sequence[int]) -> tuple[list[int], int]:
    """Generic fold: (sum_f W_f*coeff_{f,j} mod r for every source j,
    sum_f W_f*const_f mod r)."""
    if len(weights) != len(forms):
        raise StatementError("one weight per form")
    coeff = [0] * n_sources
    const = 0
    for f, w in zip(forms, weights):
        if not w:
            continue
        const += w * f.const
        for j, c in f.terms:
            coeff[j] += w * c
    return [c % R for c in coeff], const % R


class Statement:
    """Base class: a public statement that can be bound to a transcript.

    Subclasses define ``KIND``, ``BITS``, ``sources()`` (the commitments the
    statement is about), ``forms()`` (the derived linear forms to range-prove)
    and ``_bind(t)`` (their public data, in transcript order).  Statements
    with many forms override :meth:`num_forms`, :meth:`derive_values` and
    :meth:`fold` with equivalent fast versions, and :meth:`range_chunks`."""

    KIND: bytes = b""
    BITS: int = AMOUNT_BITS
    #: verified by folding (module docstring); the statement binds its forms
    FOLDED: bool = False
    context: Context

    def sources(self) -> list[Point]:
        raise StatementError("statement defines no sources")

    def forms(self) -> list[LinearForm]:
        return []

    def num_forms(self) -> int:
        return len(self.forms())

    def derive_values(self, openings: Sequence[Opening]) -> list[Opening]:
        """The derived openings, one per form (prover side)."""
        return derive_openings(openings, self.forms())

    def fold(self, weights: Sequence[int]) -> tuple[list[int], int]:
        """(per-source coefficient, G coefficient) of sum_f weights[f]*D_f."""
        return fold_forms(self.forms(), len(self.sources()), weights)

    def range_chunks(self) -> list[list[int]]:
        """Indices into the forms covered by each aggregated range proof."""
        return [list(range(self.num_forms()))]

    def _bind(self, t: Transcript) -> None:
        raise StatementError("statement defines no binding")

    def transcript(self, gens: GeneratorSet | None = None) -> Transcript:
        gens = gens or generators()
        t = Transcript(PROTOCOL + self.KIND)
        t.append_message(b"curve", CURVE_ID)
        t.append_message(b"gens", gens.set_id)
        self.context.bind(t)
        self._bind(t)
        return t

    def derived(self, gens: GeneratorSet | None = None) -> list[Point]:
        return derive_commitments(self.sources(), self.forms(), gens)


def range_chunks(st: Statement) -> list[list[int]]:
    """Indices into ``st.forms()`` covered by each aggregated range proof."""
    return st.range_chunks()


def statement_seed(st: Statement, base: Transcript | None = None, gens: GeneratorSet | None = None) -> bytes:
    """Folded statements: the 64-byte digest their chunk transcripts start from."""
    return (base or st.transcript(gens)).clone().challenge_bytes(b"chunk-seed", 64)


def seeded_chunk_transcript(seed: bytes, index: int) -> Transcript:
    """The chunk transcript of a folded statement from its seed alone."""
    t = BoundTranscript(PROTOCOL + b"chunk")
    t.append_message(b"statement", seed)
    t.append_u64(b"chunk", index)
    return t


def chunk_transcript(st: Statement, index: int, base: Transcript | None = None,
                     gens: GeneratorSet | None = None) -> Transcript:
    """Each chunk is proved on its own fork of the statement transcript
    (module docstring)."""
    if st.FOLDED:
        return seeded_chunk_transcript(statement_seed(st, base, gens), index)
    t = (base or st.transcript(gens)).clone()
    t.append_u64(b"chunk", index)
    return t


@dataclass(frozen=True)
class StatementProof:
    """Aggregated range proofs, one per chunk of a range statement.

    Encoding: u16 number of proofs, then per proof u32 length and the
    range proof (zkp.rangeproof).  Margin-family statements wrap it in
    :class:`zkp.margin.MarginProof` (decoded through :meth:`from_bytes` too)."""

    proofs: tuple[RangeProof, ...]

    def to_bytes(self) -> bytes:
        out = bytearray(len(self.proofs).to_bytes(2, "big"))
        for p in self.proofs:
            b = p.to_bytes()
            out += len(b).to_bytes(4, "big") + b
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes, st: Statement) -> StatementProof:
        """Strict decoding for statement ``st`` (counts and sizes checked)."""
        decode = getattr(st, "decode_proof", None)
        if decode is not None:
            proof: StatementProof = decode(data)
            return proof
        return cls.decode_body(data, st)

    @classmethod
    def decode_body(cls, data: bytes | bytearray | memoryview, st: Statement) -> StatementProof:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DecodeError("statement proof must be bytes")
        data = bytes(data)
        chunks = st.range_chunks()
        if len(data) < 2 or int.from_bytes(data[:2], "big") != len(chunks):
            raise DecodeError("statement proof: wrong number of range proofs")
        pos = 2
        proofs = []
        for ch in chunks:
            if len(data) < pos + 4:
                raise DecodeError("statement proof truncated")
            ln = int.from_bytes(data[pos:pos + 4], "big")
            pos += 4
            if len(data) < pos + ln:
                raise DecodeError("statement proof truncated")
            proofs.append(RangeProof.from_bytes(data[pos:pos + ln], st.BITS, len(ch)))
            pos += ln
        if pos != len(data):
            raise DecodeError("statement proof has trailing bytes")
        return StatementProof(tuple(proofs))

