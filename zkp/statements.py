"""Clearing statements: what is public, what the verifier derives, what the
transcript binds -- defined once, used by ``prover/`` and ``verifier/``.

Every statement here reduces to "these *derived* commitments open to values in
[0, 2^n)", plus (for two of them) reveal proofs.  A derived commitment is a
public **linear form** over the statement's *source* commitments:

    D_k = const_k * G + sum_j coeff_{k,j} * S_j

The verifier computes D_k itself from the sources and public coefficients (it
never takes a derived commitment from the prover); the prover applies the very
same form to its openings (:func:`derive_openings`), so the two sides cannot
drift.  One aggregated Bulletproof then shows every D_k opens in [0, 2^n).

Statements and their relations (v(C) is the value committed in C)
-----------------------------------------------------------------
TradeValidity        T = C(q):  q - 1 in [0, 2^32)            (1 <= q <= 2^32)
Margin               E_s = cash + sum_i A[s][i] pos_i in [0, 2^64) for all s
                     (scenario 0 = no move: solvency; the others: IM)
Withdrawal           the same with cash - w*G for the public amount w
AssessmentFromCash   the same with cash - due for the committed payable due
DefaultFunding       df' in [0, 2^64) and cash + df - df' in [0, 2^64): the new
                     contribution df' replaces df and the account stays solvent
AssessmentSettlement d*G - due in [0, 2^64)    (public deposit d covers due)
ProRataShares        for each survivor j, with public R and D0 and the
                     prover's C_c[j]:  c_j, rem_j = R*df_j - D0*c_j and
                     D0 - 1 - rem_j all in [0, 2^64)
Disclosure           each revealed C opens to its public value (reveal proofs)
AggregateOpening     sum_j C_j opens to a public value, over the full set only

No wrap-around (the bound argument, DESIGN §4)
-----------------------------------------------
Arithmetic is mod r (~2^253.6); it equals integer arithmetic while every true
value stays below r/2 in absolute value.  Entry checks guarantee:
  * quantities 1 <= q <= 2^32 (range-proven), at most MAX_TRADES = 2^20 trades
    per member and instrument, so |pos_i| < 2^52;
  * |A[s][i]| = |shock| * mult < 2^40 * 2^24 = 2^64 (checked below), I <= 64;
  * |cash| < 2^100 (public deposits < 2^63 each, VM per cycle bounded by
    prices < 2^40 * mult < 2^24 * |pos| < 2^52 -> < 2^116 per cycle; the
    clearing engine bounds cycles) -- all far below 2^250;
  * so |E_s| <= |cash| + 64 * 2^64 * 2^52 < 2^123 << r/2: a proof that E_s is
    in [0, 2^64) mod r proves the *integer* E_s is in [0, 2^64).
  * Pro-rata: R < 2^63 and df_j < 2^64 (range-proven at funding), D0 < 2^64 *
    (number of members <= 2^16) = 2^80; R*df_j < 2^127 and D0*c_j < 2^144,
    so R*df_j = D0*c_j + rem_j holds over the integers; with 0 <= rem_j <= D0-1
    this forces c_j = floor(R*df_j / D0) exactly, and so c_j <= df_j when
    R <= D0 (tranche 4) and c_j <= a*df_j when R < a*D0 (assessments).
  * Trade quantities: T - G in [0, 2^32) proves 1 <= q <= 2^32 (the entry
    rule q < 2^32 is the member's obligation; the proof's bound is what the
    no-wrap argument uses).
Public inputs are range-checked here, at construction (:class:`StatementError`),
so e.g. a withdrawal of r - 10^6 can never become a deposit.

Transcript order (every statement)
----------------------------------
    Transcript(b"zkclear.v1/" + KIND)
    "curve"        b"BN254-G1"
    "gens"         generator-set id
    "context"      cycle id (u64), ledger sequence number (u64), member id
    statement-specific public data, in the order listed in each class's
    ``_bind`` (dimensions first, then every source commitment, every public
    coefficient and amount, the signed request bytes)
    -- then the proof protocol appends its own domain separator, the derived
    commitments and the prover's messages (see zkp/rangeproof.py, zkp/sigma.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import ZkclearError
from .field import R, from_int
from .generators import GeneratorSet, generators
from .group import Point, msm_rows, point_sum
from .pedersen import Opening
from .sigma import REVEAL_BOUND, ZeroProof
from .transcript import Transcript

if TYPE_CHECKING:  # annotations only (StatementProof.from_bytes imports it lazily)
    from .rangeproof import RangeProof

PROTOCOL = b"zkclear.v1/"
CURVE_ID = b"BN254-G1"

# Public-input bounds (DESIGN §4).
MAX_PUBLIC_AMOUNT = 1 << 63      # deposits, withdrawals, R, losses
MAX_PRICE = 1 << 40
MAX_MULTIPLIER = 1 << 24
MAX_COEFF = 1 << 64              # |A[s][i]| = |shock| * multiplier
MAX_SCENARIOS = 64
MAX_INSTRUMENTS = 64
MAX_DF_TOTAL = 1 << 80           # D0: up to 2^16 members x 2^64
QTY_BITS = 32
AMOUNT_BITS = 64
#: Reveal proofs (disclosure, aggregates) accept public values with
#: |v| < 2^64 -- the bound of the Sigma reveal proof (zkp.sigma.REVEAL_BOUND).
MAX_REVEAL = REVEAL_BOUND
#: Survivors per aggregated pro-rata range proof: 3 values each, m <= 64.
SHARES_PER_PROOF = 21
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
    """The verifier's side: compute each derived commitment from public data.

    All forms range over the same points (the sources and G), so they are
    evaluated together as rows of one :func:`zkp.group.msm_rows` call: for a
    margin statement the S scenario equities E_s = cash + sum_i A[s][i] pos_i
    share the per-point precomputation.  Same points as one MSM per form."""
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


class Statement:
    """Base class: a public statement that can be bound to a transcript.

    Subclasses define ``KIND``, ``BITS``, ``sources()`` (the commitments the
    statement is about), ``forms()`` (the derived linear forms to range-prove)
    and ``_bind(t)`` (their public data, in transcript order)."""

    KIND: bytes = b""
    BITS: int = AMOUNT_BITS
    context: Context

    def sources(self) -> list[Point]:
        raise StatementError("statement defines no sources")

    def forms(self) -> list[LinearForm]:
        return []

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


# ---------------------------------------------------------------------------
# 1. Trade validity (DESIGN §5.2)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TradeValidity(Statement):
    """T commits a quantity q with 1 <= q <= 2^32: T - G in [0, 2^32).

    ``trade_tuple`` is the canonical encoding of the signed trade tuple
    (trade id, cycle, buyer, seller, instrument, side, price, T); it is bound
    into the transcript so the proof cannot be moved to another trade."""

    KIND = b"trade-validity"
    BITS = QTY_BITS
    context: Context
    T: Point
    trade_tuple: bytes

    def __post_init__(self) -> None:
        _check_point("T", self.T)
        if not isinstance(self.trade_tuple, (bytes, bytearray)) or not self.trade_tuple:
            raise StatementError("trade tuple must be non-empty bytes")

    def sources(self) -> list[Point]:
        return [self.T]

    def forms(self) -> list[LinearForm]:
        return [LinearForm(-1, ((0, 1),))]

    def _bind(self, t: Transcript) -> None:
        t.append_message(b"trade-tuple", self.trade_tuple)
        t.append_point(b"T", self.T)


# ---------------------------------------------------------------------------
# 2./3. Margin sufficiency with solvency; withdrawal
# ---------------------------------------------------------------------------
def check_matrix(matrix: object) -> tuple[tuple[int, ...], ...]:
    """Validate a per-contract P&L array A[s][i] (S x I, |A| < 2^64)."""
    if not isinstance(matrix, (list, tuple)) or not matrix:
        raise StatementError("scenario matrix must be a non-empty list of rows")
    S = len(matrix)
    if S > MAX_SCENARIOS:
        raise StatementError(f"at most {MAX_SCENARIOS} scenarios")
    I = len(matrix[0]) if isinstance(matrix[0], (list, tuple)) else -1
    if not 1 <= I <= MAX_INSTRUMENTS:
        raise StatementError(f"1..{MAX_INSTRUMENTS} instruments per scenario row")
    rows = []
    for s, row in enumerate(matrix):
        if not isinstance(row, (list, tuple)) or len(row) != I:
            raise StatementError(f"scenario row {s} has the wrong length")
        rows.append(tuple(_check_int(f"A[{s}][{i}]", a, -MAX_COEFF + 1, MAX_COEFF) for i, a in enumerate(row)))
    return tuple(rows)


@dataclass(frozen=True)
class Margin(Statement):
    """Every scenario equity E_s = cash + sum_i A[s][i]*pos_i is in [0, 2^64).

    ``matrix`` is the operator-signed per-contract P&L array (row 0 must be
    "no move", all zeros, so E_0 = cash: solvency).  ``scenario_set_id``
    names the signed scenario set (its hash); ``solvency_only`` proves row 0
    alone, which lets the node tell an IM call from a payment default."""

    KIND = b"margin"
    context: Context
    cash: Point
    positions: tuple[Point, ...]
    matrix: tuple[tuple[int, ...], ...]
    scenario_set_id: bytes = b""
    solvency_only: bool = False

    def __post_init__(self) -> None:
        _check_point("cash", self.cash)
        object.__setattr__(self, "positions", tuple(self.positions))
        object.__setattr__(self, "matrix", check_matrix(self.matrix))
        for i, p in enumerate(self.positions):
            _check_point(f"positions[{i}]", p)
        if len(self.positions) != len(self.matrix[0]):
            raise StatementError("positions and scenario matrix disagree on the number of instruments")
        if any(self.matrix[0]):
            raise StatementError("scenario 0 must be the no-move scenario (all zeros)")
        if not isinstance(self.scenario_set_id, (bytes, bytearray)) or len(self.scenario_set_id) > 64:
            raise StatementError("scenario set id must be at most 64 bytes")

    @property
    def rows(self) -> tuple[tuple[int, ...], ...]:
        return self.matrix[:1] if self.solvency_only else self.matrix

    def _cash_const(self) -> int:
        return 0

    def sources(self) -> list[Point]:
        return [self.cash, *self.positions]

    def forms(self) -> list[LinearForm]:
        const = self._cash_const()
        return [
            LinearForm(const, ((0, 1),) + tuple((i + 1, a) for i, a in enumerate(row) if a))
            for row in self.rows
        ]

    def _bind(self, t: Transcript) -> None:
        t.append_u64(b"solvency-only", int(self.solvency_only))
        t.append_u64(b"S", len(self.matrix))
        t.append_u64(b"I", len(self.positions))
        t.append_message(b"scenario-set", bytes(self.scenario_set_id))
        for row in self.matrix:
            for a in row:
                t.append_int(b"A", a)
        t.append_point(b"cash", self.cash)
        t.append_points(b"pos", self.positions)
        self._bind_extra(t)

    def _bind_extra(self, t: Transcript) -> None:
        pass


@dataclass(frozen=True)
class Withdrawal(Margin):
    """Margin on cash - w*G: the member stays margin-sufficient after
    withdrawing the public amount w (0 < w < 2^63).  ``request`` is the
    canonical encoding of the member's signed withdrawal request."""

    KIND = b"withdrawal"
    amount: int = 0
    request: bytes = b""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_int("withdrawal amount", self.amount, 1, MAX_PUBLIC_AMOUNT)
        if self.solvency_only:
            raise StatementError("a withdrawal needs the full margin proof")
        if not isinstance(self.request, (bytes, bytearray)) or not self.request:
            raise StatementError("withdrawal request must be non-empty bytes")

    def _cash_const(self) -> int:
        return -self.amount

    def _bind_extra(self, t: Transcript) -> None:
        t.append_u64(b"withdraw", self.amount)
        t.append_message(b"request", bytes(self.request))


@dataclass(frozen=True)
class AssessmentFromCash(Margin):
    """Margin on cash - due: the member settles its committed assessment
    payable from hidden excess cash (DESIGN §6.4) and stays margin-sufficient
    (every scenario equity, solvency included) afterwards:

        E_s' = cash - due + sum_i A[s][i] pos_i  in [0, 2^64)  for every s

    then the fold sets cash <- cash - due and clears the payable.  Nothing
    public moves: the node learns only that the payable is settled and that
    the member's excess covered it.  Sources: (cash, pos_1..pos_I, due);
    ``request`` is the canonical encoding of the member's signed settlement
    request.  No wrap: 0 <= due < 2^64 (it is a pro-rata share or a*df_j,
    both range-bound), so |E_s'| < 2^124 as for Margin."""

    KIND = b"assessment-from-cash"
    due: Point | None = None
    request: bytes = b""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_point("due", self.due)
        if self.solvency_only:
            raise StatementError("settling from cash needs the full margin proof")
        if not isinstance(self.request, (bytes, bytearray)) or not self.request:
            raise StatementError("settlement request must be non-empty bytes")

    def sources(self) -> list[Point]:
        return [self.cash, *self.positions, _check_point("due", self.due)]

    def forms(self) -> list[LinearForm]:
        due = len(self.positions) + 1
        return [LinearForm(f.const, f.terms + ((due, -1),)) for f in super().forms()]

    def _bind_extra(self, t: Transcript) -> None:
        t.append_point(b"due", _check_point("due", self.due))
        t.append_message(b"request", bytes(self.request))


# ---------------------------------------------------------------------------
# 7. Default-fund funding; 8. assessment settlement
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DefaultFunding(Statement):
    """A funding-window filing (DESIGN §5.1): the member's *new* contribution
    df' replaces its old one df, and the account stays solvent:

        df' in [0, 2^64)        and        cash + df - df' in [0, 2^64)

    after which the fold sets cash <- cash + df - df', df <- df' (a fresh,
    re-randomised commitment even when the amount is unchanged, so the node
    cannot tell who changed what).  Sources: (df', cash, df); ``previous`` is
    the old df commitment (the identity for a member that never funded).

    No wrap: |cash| < 2^144 and 0 <= df, df' < 2^64 (range-proven at every
    filing), so |cash + df - df'| < 2^145 << r/2 and the range proof shows the
    *integer* post-funding cash is >= 0.  A member cannot move more than its
    cash into the fund, nor take more than its contribution out of it."""

    KIND = b"default-funding"
    context: Context
    cash: Point
    df: Point
    epoch: int = 0
    previous: Point | None = None

    def __post_init__(self) -> None:
        _check_point("cash", self.cash)
        _check_point("df", self.df)
        _check_int("epoch", self.epoch, 0, 1 << 64)
        if self.previous is None:
            object.__setattr__(self, "previous", Point.identity())
        _check_point("previous df", self.previous)

    def sources(self) -> list[Point]:
        return [self.df, self.cash, _check_point("previous df", self.previous)]

    def forms(self) -> list[LinearForm]:
        return [LinearForm(0, ((0, 1),)), LinearForm(0, ((1, 1), (2, 1), (0, -1)))]

    def _bind(self, t: Transcript) -> None:
        t.append_u64(b"epoch", self.epoch)
        t.append_point(b"cash", self.cash)
        t.append_point(b"previous-df", _check_point("previous df", self.previous))
        t.append_point(b"df", self.df)


@dataclass(frozen=True)
class AssessmentSettlement(Statement):
    """A public tagged deposit d covers the committed payable: d - due >= 0
    (and < 2^64); the rest, d*G - C_due, goes to the member's cash."""

    KIND = b"assessment-settlement"
    context: Context
    due: Point
    deposit: int
    tag: bytes

    def __post_init__(self) -> None:
        _check_point("due", self.due)
        _check_int("deposit", self.deposit, 0, MAX_PUBLIC_AMOUNT)
        if not isinstance(self.tag, (bytes, bytearray)) or not self.tag:
            raise StatementError("assessment tag must be non-empty bytes")

    def sources(self) -> list[Point]:
        return [self.due]

    def forms(self) -> list[LinearForm]:
        return [LinearForm(self.deposit, ((0, -1),))]

    def _bind(self, t: Transcript) -> None:
        t.append_message(b"tag", bytes(self.tag))
        t.append_u64(b"deposit", self.deposit)
        t.append_point(b"due", self.due)


# ---------------------------------------------------------------------------
# 5. Pro-rata shares (tranche 4 and assessments, DESIGN §6.4)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ProRataShares(Statement):
    """c_j = floor(R * df_j / D0) for every survivor j, from commitments.

    Public: R (the loss to allocate, 0 < R < cap*D0 -- when R >= cap*D0 every
    survivor pays cap*df_j in full and no proof is needed), D0 (the snapshot
    total), the cap multiple (1 for tranche 4; the assessment cap a for
    tranche 6, where R may exceed D0 and c_j up to a*df_j < 2^64), the
    survivors' ids and snapshot commitments C_df[j], and the prover's C_c[j].
    The verifier derives C_rem[j] = R*C_df[j] - D0*C_c[j] and
    (D0 - 1)*G - C_rem[j]; range proofs over chunks of SHARES_PER_PROOF
    survivors show c_j, rem_j and D0 - 1 - rem_j in [0, 2^64).  ``purpose``
    separates tranche 4 (b"default-fund") from assessments (b"assessment")."""

    KIND = b"pro-rata"
    context: Context
    purpose: bytes
    R_amount: int
    D0: int
    members: tuple[bytes, ...]
    df: tuple[Point, ...]
    shares: tuple[Point, ...]
    cap_multiple: int = 1

    def __post_init__(self) -> None:
        if self.purpose not in (b"default-fund", b"assessment"):
            raise StatementError("purpose must be b'default-fund' or b'assessment'")
        _check_int("cap multiple", self.cap_multiple, 1, MAX_CAP_MULTIPLE + 1)
        if self.purpose == b"default-fund" and self.cap_multiple != 1:
            raise StatementError("the default-fund tranche has cap multiple 1")
        _check_int("D0", self.D0, 1, MAX_DF_TOTAL)
        _check_int("R", self.R_amount, 1, min(self.cap_multiple * self.D0, MAX_PUBLIC_AMOUNT))
        object.__setattr__(self, "members", tuple(_member_bytes(m) for m in self.members))
        object.__setattr__(self, "df", tuple(self.df))
        object.__setattr__(self, "shares", tuple(self.shares))
        n = len(self.members)
        if n == 0 or len(self.df) != n or len(self.shares) != n:
            raise StatementError("members, df and shares must have the same non-zero length")
        if len(set(self.members)) != n:
            raise StatementError("duplicate survivor id")
        for i, p in enumerate(self.df):
            _check_point(f"df[{i}]", p)
        for i, p in enumerate(self.shares):
            _check_point(f"shares[{i}]", p)

    def sources(self) -> list[Point]:
        return [*self.df, *self.shares]

    def forms_for(self, j: int) -> list[LinearForm]:
        n = len(self.members)
        dfj, cj = j, n + j
        return [
            LinearForm(0, ((cj, 1),)),
            LinearForm(0, ((dfj, self.R_amount), (cj, -self.D0))),
            LinearForm(self.D0 - 1, ((dfj, -self.R_amount), (cj, self.D0))),
        ]

    def forms(self) -> list[LinearForm]:
        return [f for j in range(len(self.members)) for f in self.forms_for(j)]

    def chunks(self) -> list[range]:
        n = len(self.members)
        return [range(a, min(n, a + SHARES_PER_PROOF)) for a in range(0, n, SHARES_PER_PROOF)]

    def _bind(self, t: Transcript) -> None:
        t.append_message(b"purpose", self.purpose)
        t.append_u64(b"cap", self.cap_multiple)
        t.append_u64(b"R", self.R_amount)
        t.append_int(b"D0", self.D0)
        t.append_u64(b"N", len(self.members))
        for m in self.members:
            t.append_message(b"survivor", m)
        t.append_points(b"df", self.df)
        t.append_points(b"shares", self.shares)


# ---------------------------------------------------------------------------
# 4. Default disclosure; 6. aggregate opening (reveal proofs)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Disclosure(Statement):
    """After an operator-signed default declaration: each of the defaulter's
    commitments (positions, cash, df) opens to its public value, each shown
    by a commits-to-zero proof on C - v*G against the node's own commitment.
    ``labels`` name the accounts (e.g. b"pos:ESX", b"cash", b"df")."""

    KIND = b"disclosure"
    context: Context
    declaration: bytes
    labels: tuple[bytes, ...]
    commitments: tuple[Point, ...]
    values: tuple[int, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.declaration, (bytes, bytearray)) or not self.declaration:
            raise StatementError("default declaration must be non-empty bytes")
        object.__setattr__(self, "labels", tuple(bytes(x) for x in self.labels))
        object.__setattr__(self, "commitments", tuple(self.commitments))
        object.__setattr__(self, "values", tuple(self.values))
        n = len(self.labels)
        if n == 0 or len(self.commitments) != n or len(self.values) != n:
            raise StatementError("labels, commitments and values must have the same non-zero length")
        if len(set(self.labels)) != n:
            raise StatementError("duplicate disclosure label")
        for i, (c, v) in enumerate(zip(self.commitments, self.values)):
            _check_point(f"commitments[{i}]", c)
            _check_int(f"values[{i}]", v, -MAX_REVEAL + 1, MAX_REVEAL)

    def _bind(self, t: Transcript) -> None:
        t.append_message(b"declaration", bytes(self.declaration))
        t.append_u64(b"N", len(self.labels))
        for lab, c, v in zip(self.labels, self.commitments, self.values):
            t.append_message(b"label", lab)
            t.append_point(b"C", c)
            t.append_int(b"value", v)


@dataclass(frozen=True)
class AggregateOpening(Statement):
    """sum_j C_j opens to the public ``value`` (a reveal proof on the sum).

    Only over a *full* population (all survivors, or all members): the
    statement carries ``population`` and refuses any other member set, so
    the prover cannot be used to open a subset and isolate one member."""

    KIND = b"aggregate-opening"
    context: Context
    purpose: bytes
    members: tuple[bytes, ...]
    commitments: tuple[Point, ...]
    value: int
    population: tuple[bytes, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", tuple(_member_bytes(m) for m in self.members))
        object.__setattr__(self, "population", tuple(_member_bytes(m) for m in self.population))
        object.__setattr__(self, "commitments", tuple(self.commitments))
        if not self.members or len(self.commitments) != len(self.members):
            raise StatementError("members and commitments must have the same non-zero length")
        if len(set(self.members)) != len(self.members):
            raise StatementError("duplicate member in aggregate")
        if set(self.members) != set(self.population):
            raise StatementError("aggregate openings are allowed over the full population only")
        for i, c in enumerate(self.commitments):
            _check_point(f"commitments[{i}]", c)
        _check_int("value", self.value, -MAX_REVEAL + 1, MAX_REVEAL)
        if not isinstance(self.purpose, (bytes, bytearray)) or not self.purpose:
            raise StatementError("purpose must be non-empty bytes")

    def total(self) -> Point:
        return point_sum(self.commitments)

    def _bind(self, t: Transcript) -> None:
        t.append_message(b"purpose", bytes(self.purpose))
        t.append_u64(b"N", len(self.members))
        for m, c in sorted(zip(self.members, self.commitments), key=lambda mc: mc[0]):
            t.append_message(b"member", m)
            t.append_point(b"C", c)
        t.append_int(b"value", self.value)


# ---------------------------------------------------------------------------
# Proof containers (shared by prover and verifier)
# ---------------------------------------------------------------------------
def range_chunks(st: Statement) -> list[list[int]]:
    """Indices into ``st.forms()`` covered by each aggregated range proof."""
    if isinstance(st, ProRataShares):
        return [[3 * j + k for j in ch for k in range(3)] for ch in st.chunks()]
    return [list(range(len(st.forms())))]


def chunk_transcript(st: Statement, index: int, base: Transcript | None = None,
                     gens: GeneratorSet | None = None) -> Transcript:
    """Each chunk is proved on its own fork of the statement transcript."""
    t = (base or st.transcript(gens)).clone()
    t.append_u64(b"chunk", index)
    return t


@dataclass(frozen=True)
class StatementProof:
    """Aggregated range proofs, one per chunk of a range statement."""

    proofs: tuple[RangeProof, ...]

    def to_bytes(self) -> bytes:
        out = bytearray(len(self.proofs).to_bytes(2, "big"))
        for p in self.proofs:
            b = p.to_bytes()
            out += len(b).to_bytes(4, "big") + b
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes, st: Statement) -> StatementProof:
        from .errors import DecodeError
        from .rangeproof import RangeProof

        data = bytes(data)
        chunks = range_chunks(st)
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
        return cls(tuple(proofs))


@dataclass(frozen=True)
class RevealProofs:
    """One commits-to-zero proof per revealed commitment."""

    proofs: tuple[ZeroProof, ...]

    def to_bytes(self) -> bytes:
        out = bytearray(len(self.proofs).to_bytes(2, "big"))
        for p in self.proofs:
            out += p.to_bytes()
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes, count: int) -> RevealProofs:
        from .errors import DecodeError

        data = bytes(data)
        if len(data) < 2 or int.from_bytes(data[:2], "big") != count:
            raise DecodeError("reveal proofs: wrong count")
        body = data[2:]
        if count == 0 or len(body) % count:
            raise DecodeError("reveal proofs: wrong length")
        size = len(body) // count
        return cls(tuple(ZeroProof.from_bytes(body[i * size:(i + 1) * size]) for i in range(count)))


def reveal_items(st: Statement) -> list[tuple[Point, int]]:
    """(commitment, public value) pairs a reveal statement opens."""
    if isinstance(st, Disclosure):
        return list(zip(st.commitments, st.values))
    if isinstance(st, AggregateOpening):
        return [(st.total(), st.value)]
    raise StatementError("not a reveal statement")


def item_transcript(st: Statement, index: int, base: Transcript | None = None,
                    gens: GeneratorSet | None = None) -> Transcript:
    t = (base or st.transcript(gens)).clone()
    t.append_u64(b"item", index)
    return t
