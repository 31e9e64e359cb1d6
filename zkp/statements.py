"""Clearing statements: what is public, what the verifier derives, what the
transcript binds -- defined once, used by ``prover/`` and ``verifier/``.

Every statement here reduces to "these *derived* commitments open to values in
[0, 2^n)", plus (for two of them) reveal proofs.  A derived commitment is a
public **linear form** over the statement's *source* commitments:

    D_k = const_k * G + sum_j coeff_{k,j} * S_j

The prover applies the forms to its openings (:func:`derive_openings`); the
verifier never takes a derived commitment from the prover: it computes the
D_k itself from the sources and public coefficients (:func:`derive_commitments`)
or -- for the margin family, whose forms can be S x I terms -- folds them
into the range proof's check without computing any D_k (zkp.statement_base,
"Derived commitments and folding").  Aggregated Bulletproofs then show every
D_k opens in [0, 2^n).  This module re-exports the shared machinery
(zkp.statement_base) and the margin family (zkp.margin).

Statements and their relations (v(C) is the value committed in C)
-----------------------------------------------------------------
TradeValidity        T = C(q):  q - 1 in [0, 2^32)            (1 <= q <= 2^32)
Margin               scan: E_s = cash + sum_i A[s][i] pos_i in [0, 2^64) for
                     all s (scenario 0 = no move: solvency); es: expected
                     shortfall over k tail scenarios (Rockafellar-Uryasev,
                     prover's T, E_s) -- see zkp.margin
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
  * |A[s][i]| = |shock| * mult < 2^40 * 2^24 = 2^64, S <= 2^11, I <= 2^12;
  * |cash| < 2^116 (public deposits < 2^63 each, VM per cycle bounded by
    prices < 2^40 * mult < 2^24 * |pos| < 2^52; the clearing engine bounds
    cycles) -- all far below 2^250;
  * margin family (scan and ES, all bounds re-derived in zkp.margin):
    |P&L_s| < 2^12 * 2^64 * 2^52 = 2^128, every checked integer < 2^141
    << r/2, so a range proof mod r proves the *integer* statement.
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
The margin family binds its public matrix by the scenario set id (never
element by element), its model and k, and proves on bound chunk transcripts
without absorbing the derived commitments: zkp.margin, zkp.statement_base.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import DecodeError
from .generators import GeneratorSet
from .group import Point, point_sum
from .margin import (
    MODEL_ES,
    MODEL_SCAN,
    SCAN,
    AssessmentFromCash,
    Margin,
    MarginModel,
    MarginProof,
    ScenarioMatrix,
    Withdrawal,
    check_matrix,
    matrix_digest,
)
from .sigma import ZeroProof
from .statement_base import (
    AMOUNT_BITS,
    CURVE_ID,
    MAX_CAP_MULTIPLE,
    MAX_COEFF,
    MAX_DF_TOTAL,
    MAX_INSTRUMENTS,
    MAX_MULTIPLIER,
    MAX_PRICE,
    MAX_PUBLIC_AMOUNT,
    MAX_REVEAL,
    MAX_SCENARIOS,
    PROTOCOL,
    QTY_BITS,
    SHARES_PER_PROOF,
    VALUES_PER_PROOF,
    Context,
    LinearForm,
    Statement,
    StatementError,
    StatementProof,
    _check_int,
    _check_point,
    _member_bytes,
    chunk_transcript,
    derive_commitments,
    derive_openings,
    fold_forms,
    range_chunks,
    seeded_chunk_transcript,
    statement_seed,
)
from .transcript import Transcript


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

    def range_chunks(self) -> list[list[int]]:
        return [[3 * j + k for j in ch for k in range(3)] for ch in self.chunks()]

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


__all__ = [
    # bounds and machinery (zkp.statement_base)
    "PROTOCOL", "CURVE_ID", "MAX_PUBLIC_AMOUNT", "MAX_PRICE", "MAX_MULTIPLIER", "MAX_COEFF", "MAX_SCENARIOS",
    "MAX_INSTRUMENTS", "MAX_DF_TOTAL", "QTY_BITS", "AMOUNT_BITS", "MAX_REVEAL", "SHARES_PER_PROOF",
    "VALUES_PER_PROOF", "MAX_CAP_MULTIPLE", "StatementError", "Context", "LinearForm", "Statement",
    "StatementProof", "derive_commitments", "derive_openings", "fold_forms", "range_chunks", "chunk_transcript",
    "statement_seed", "seeded_chunk_transcript", "_check_int", "_check_point", "_member_bytes",
    # the margin family (zkp.margin)
    "MODEL_SCAN", "MODEL_ES", "SCAN", "MarginModel", "ScenarioMatrix", "check_matrix", "matrix_digest",
    "Margin", "Withdrawal", "AssessmentFromCash", "MarginProof",
    # this module
    "TradeValidity", "DefaultFunding", "AssessmentSettlement", "ProRataShares", "Disclosure",
    "AggregateOpening", "RevealProofs", "reveal_items", "item_transcript",
]
