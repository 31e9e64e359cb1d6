"""The blind clearing node: a deterministic state machine over commitments.

The engine is the CCP's logic (DESIGN §4-§5) with no network in it.  It holds
commitments, proofs, signatures and public market data -- never an opening --
and it imports nothing from ``prover/``.  Every request is checked *before*
anything is written: signatures (Ed25519 over the canonical tuples below),
proofs (``verifier.statements``), public bounds and the ledger state; an
invalid request raises an exception from :mod:`clearing.errors` and changes
nothing.  A valid request becomes one event in the hash-chained log
(:mod:`clearing.ledger`) and the state is the fold of all events.

Structure
---------
:class:`Core`   the state and the two pure steps every event goes through:
                ``verify_event`` (all checks, against the state before the
                event) and ``apply_event`` (the fold).  ``apply_event`` is
                written over an abstract *value algebra*: the node runs it on
                Pedersen commitments (:class:`PointAlgebra`), the prover
                service (``prover.witness``) runs the very same code on the
                openings, so the two cannot drift and any divergence shows up
                as a commitment mismatch.
:class:`Engine` the node: Core + the SQLite ledger + the request API.
:func:`audit`   replays a public event list through ``verify_event`` +
                ``apply_event`` from scratch: every signature and proof is
                re-verified, every margin decision recomputed, every cycle
                digest recomputed and its node signature checked.

Accounts (DESIGN §4)
--------------------
Per member: ``pos[i]`` per instrument (signed quantity), ``cash`` (equity:
collateral plus realised VM; signed), ``df`` (default-fund contribution), all
commitments; a status (``active``, ``call`` = IM call, ``payment`` = no valid
solvency proof, i.e. a payment-default candidate, ``defaulted``) and a
*version*: the sequence number of the last event that changed the account.
Margin, withdrawal and funding proofs are bound to Context(cycle, version,
member), so a proof about a stale account never verifies.

Cycle k (DESIGN §5.3)
---------------------
``trading``  trades (§5.2), deposits, withdrawals, default funding in
             *funding windows* (§5.1): in each window every member not in
             default files one ``df-fund`` -- a fresh commitment to its new
             contribution, re-randomised even when unchanged, replacing the
             old one (cash += df_old - df_new) with a proof that df_new is in
             [0, 2^64) and the account stays solvent; ``df-epoch`` closes the
             window only when every member not in default has filed, and
             opens the group total D once, over that full set.  Contributions
             are frozen while a default is declared or in progress.  So no
             two openings of D differ by one member's change: every member
             re-files between two openings and nobody can tell who changed;
``settle``   the operator-signed prices P_k and scenario set (versioned,
             identified by a hash); every account gets
             cash += sum_i (P_k,i - P_k-1,i) * mult_i * pos_i (one MSM per
             member); phase becomes ``margin``;
``margin``   the prover service's batch of margin proofs is verified with
             ``verify_many`` (failures bisected to name the culprits); a
             member whose full proof verifies passes, whose solvency-only
             proof verifies gets an IM call, with neither becomes a payment
             default candidate.  Called members cure by deposit + re-proof;
             the operator signs default declarations; trading goes on.
``close``    needs the margin batch, no open call, no unfinished default
             event and no unpaid assessment; expires unaffirmed trades (their
             relayed ciphertexts are deleted); checks the public invariants;
             the node signs the cycle digest (SHA-256 over the cycle number,
             the previous digest, the hash-chain head before the close event
             -- which covers every commitment, proof, signature and decision
             of the cycle -- and the hash of the full derived state); cycle
             k+1 opens in phase ``trading``.

Novation (§5.2) happens in the fold when a trade has both the counterparty's
affirmation and the prover service's receipt: buyer pos += T, seller pos -= T,
and the trade's VM from its price p to the *latest published* settlement
price P (the previous settlement for the next mark):
buyer cash += (P - p) * mult * T, seller the negative -- so every position is
marked exactly once.  The cycle's VM commitments (novation VM plus settlement
VM) are accumulated per member; they sum to the identity.

Default management (DESIGN §6)
------------------------------
``ccp-params``    operator-signed new SITG 1, SITG 2 (the amounts left from
                  now on) and assessment cap multiple; refused while a default
                  is declared or its event is in progress;
``default``       operator-signed declaration of a called member (or of one
                  that did not pay an assessment: the cascade);
``dm-open``       the prover service discloses every declared defaulter (cash,
                  df, unpaid payable, positions: reveal proofs against the
                  node's own commitments, bound to the declaration) and opens
                  the survivors' snapshot total D0 over the full survivor set;
                  the survivors' df commitments are snapshotted;
``dm-closeout``   operator-signed close-out prices c and auction lots: the
                  defaulters' positions go to the house as public positions and
                  on to the winners at c -- members (public lots, their VM
                  booked from c to the last settlement) or the public auction
                  book (winners outside the member set) -- leaving the house
                  flat; tranches 1-2 per defaulter and the public
                  sizes of tranches 3-6 come from the oracle's pure helpers
                  (``defaulter_tranches``, ``mutual_waterfall`` on D0); tranche 4
                  in full and capped assessments are applied homomorphically;
``dm-shares``     otherwise the prover's ProRataShares proof plus the opening of
                  the shares' sum (the rounding residual, < #survivors, is
                  absorbed by the CCP); tranche 4 debits df, tranche 6 creates
                  committed payables ``due``;
``assessment-settle`` the member pays its payable from hidden cash
                  (cash -= due) with a margin proof on the result: nothing
                  public but "settled" (its client's first choice);
``assessment-pay`` a member-signed tagged deposit d with the proof d - due >= 0;
                  the rest goes to cash (the client rounds d up to the
                  public deposit grid).  An unpaid payable blocks the close
                  until the operator declares that member in default (its
                  disclosed payable joins its own tranche 1).
The completed event's report (``default_reports``, ``report_table``) carries
every tranche, the residuals, the uncovered loss, the liquidity line (VM the
defaulters did not pay), SITG before/after, the disclosure policy
("individual" with fewer than three survivors, DESIGN §2) and proof hashes.

Called members and risk (DESIGN §5.3.5)
--------------------------------------
A called (``call``/``payment``) member may not withdraw and may not enter new
trades, neither as initiator nor as affirming counterparty; a defaulted member
may do neither.  Why not "only risk-reducing trades": the node sees a trade's
side, price and instrument but neither its size nor the member's positions,
so it cannot judge the trade; and "risk-reducing" for a SPAN-style
requirement max_s(-sum_i A[s][i] pos_i) is not a linear relation -- a trade
reduces the requirement iff every scenario loss after the trade is at most
the worst loss before it, which needs the (hidden) worst scenario as a
witness: a one-of-many / OR proof over scenarios, which ``zkp`` does not
have.  (Shrinking |pos_i| alone, provable as pos_i - T in [0, 2^64), is not
risk-reducing: it can remove a hedge.)  So the engine enforces the stricter
rule: a called member's only ways out are deposit + re-proof (cure) or the
operator's default declaration; its trades already pending stay pending and
cannot be novated while it is called.

Public invariants (checked at every cycle close, and by the auditor)
-------------------------------------------------------------------
* per instrument, every member's pos[i] plus the auction book's public
  position (times G) sum to the identity;
* the cycle's VM commitments (members, plus the auction book's public VM)
  sum to the identity;
* sum_j (cash_j + df_j - due_j) + residue == G * (deposits - withdrawals -
  public charges), the residue being the zero-commitments left by moving
  opened committed totals into the public books (State.residue);
* auction cash + default account == public charges + CCP capital used.

Bounds (no wrap-around, DESIGN §4; see also zkp/statements.py)
-------------------------------------------------------------
Public amounts are in [1, 2^63), prices in [1, 2^40), multipliers in
[1, 2^24), quantities are range-proven in [1, 2^32], at most MAX_TRADES
novations per member and instrument (|pos| < 2^52) and at most MAX_CYCLES
cycles.  VM per cycle and member is below 64 * 2^40 * 2^24 * 2^52 = 2^122,
so over MAX_CYCLES = 2^20 cycles |cash| < 2^143, deposits add < 2^63 each;
all values stay far below r/2 ~ 2^252.6, so commitments' mod-r arithmetic is
the integers' arithmetic.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from zkp.errors import DecodeError, VerificationError, ZkclearError
from zkp.generators import generators
from zkp.group import Point, msm
from zkp.field import from_int
from zkp.pedersen import public
from zkp.statements import (
    MAX_MULTIPLIER, MAX_PRICE, MAX_PUBLIC_AMOUNT, AggregateOpening, AssessmentFromCash, AssessmentSettlement, Context,
    DefaultFunding, Disclosure, Margin, ProRataShares, RevealProofs, StatementError, StatementProof,
    TradeValidity, Withdrawal, check_matrix,
)
from verifier.statements import BatchVerificationError, verify, verify_many, verify_reveals
from .oracle import closeout_loss, defaulter_tranches, mutual_waterfall, vm as public_vm

from . import signing
from .errors import (
    shown, AlreadyExists, FailedPrecondition, InvalidArgument, LedgerCorrupted, NotFound, PermissionDenied,
)
from .ledger import Ledger, canonical, content_hash

MAX_CYCLES = 1 << 20
MAX_TRADES = 1 << 20
MAX_MEMBERS = 1 << 16
MAX_PROOF_BYTES = 1 << 16
#: Relay ciphertext bound (a sealed trade opening is 89 bytes).
MAX_SEALED_BYTES = 4096
#: key of the auction book's (public) VM among the cycle's VM entries; member
#: ids cannot start with "@"
AUCTION = "@auction"
PROVER = "prover"
OPERATOR = "operator"
NODE = "node"

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_RESERVED = {PROVER, OPERATOR, NODE}

STATUS_ACTIVE = "active"
STATUS_CALL = "call"
STATUS_PAYMENT = "payment"
STATUS_DEFAULTED = "defaulted"


# ---------------------------------------------------------------------------
# Small checked conversions (all raise InvalidArgument)
# ---------------------------------------------------------------------------
def _int(name: str, v, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise InvalidArgument(f"{name} must be an integer")
    if not lo <= v < hi:
        raise InvalidArgument(f"{name} out of range [{lo}, {hi})")
    return v


def _ident(name: str, v) -> str:
    if not isinstance(v, str) or _ID_RE.fullmatch(v) is None:
        raise InvalidArgument(f"{name} must match [A-Za-z0-9][A-Za-z0-9._-]{{0,63}}")
    return v


def _hexbytes(name: str, v, size: int | None = None, max_size: int = MAX_PROOF_BYTES) -> bytes:
    if isinstance(v, (bytes, bytearray)):
        b = bytes(v)
    elif isinstance(v, str):
        try:
            b = bytes.fromhex(v)
        except ValueError:
            raise InvalidArgument(f"{name} is not hex") from None
    else:
        raise InvalidArgument(f"{name} must be bytes or hex")
    if size is not None and len(b) != size:
        raise InvalidArgument(f"{name} must be {size} bytes")
    if len(b) > max_size:
        raise InvalidArgument(f"{name} too long")
    return b


def _point(name: str, v, allow_identity: bool = False) -> Point:
    if isinstance(v, Point):
        v = v.encode()
    try:
        return Point.decode(_hexbytes(name, v, 32), allow_identity=allow_identity)
    except DecodeError as exc:
        raise InvalidArgument(f"{name}: {exc}") from None


def _h(b: bytes) -> str:
    return bytes(b).hex()


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


# ---------------------------------------------------------------------------
# Signed message formats (canonical tuples, clearing.signing)
# ---------------------------------------------------------------------------
def genesis_message(config: dict):
    return "genesis", [("config", canonical(config))]


def admission_message(member: str, key: bytes, relay_key: bytes):
    return "admission", [("member", member), ("key", bytes(key)), ("relay-key", bytes(relay_key))]


def deposit_message(member: str, amount: int, cycle: int, request_id: str):
    return "deposit", [("member", member), ("amount", amount), ("cycle", cycle), ("request-id", request_id)]


def funding_message(member: str, epoch: int, df: bytes, request_id: str):
    return "default-funding", [("member", member), ("epoch", epoch), ("df", bytes(df)), ("request-id", request_id)]


TRADE_FIELDS = ("trade_id", "cycle", "buyer", "seller", "instrument", "side", "price", "T")


def trade_message(trade: dict):
    """The signed trade tuple (DESIGN §5.2): trade id, cycle, buyer, seller,
    instrument, side (the initiator's), price, T."""
    return "trade", [
        ("trade-id", trade["trade_id"]), ("cycle", trade["cycle"]), ("buyer", trade["buyer"]),
        ("seller", trade["seller"]), ("instrument", trade["instrument"]), ("side", trade["side"]),
        ("price", trade["price"]), ("T", _hexbytes("T", trade["T"], 32)),
    ]


def trade_tuple(trade: dict) -> bytes:
    """Canonical bytes of the trade tuple: signed by the initiator, bound into
    the TradeValidity transcript and used as the relay's associated data."""
    return signing.encode_tuple(*trade_message(trade))


def affirmation_message(trade: dict, member: str):
    return "affirmation", [("trade-id", trade["trade_id"]), ("member", member), ("trade", sha256(trade_tuple(trade)))]


def receipt_message(trade: dict):
    return "prover-receipt", [("trade-id", trade["trade_id"]), ("trade", sha256(trade_tuple(trade)))]


def scenario_set_id(version: int, instruments: Sequence[str], matrix) -> bytes:
    """The hash naming an operator's scenario set."""
    return sha256(signing.encode_tuple("scenario-set", [
        ("version", version), ("instruments", list(instruments)), ("matrix", [list(r) for r in matrix]),
    ]))


def settlement_message(cycle: int, prices: Sequence[int], set_id: bytes):
    return "settlement", [("cycle", cycle), ("prices", list(prices)), ("scenario-set", bytes(set_id))]


def margin_batch_message(cycle: int, entries: Sequence[dict]):
    return "margin-batch", [("cycle", cycle), ("entries", [
        [e["member"], bool(e["solvency_only"]), e["ctx_seq"], sha256(_hexbytes("proof", e["proof"]))]
        for e in entries
    ])]


def margin_proof_message(cycle: int, member: str, solvency_only: bool, ctx_seq: int, proof: bytes):
    return "margin-proof", [
        ("cycle", cycle), ("member", member), ("solvency-only", bool(solvency_only)),
        ("ctx-seq", ctx_seq), ("proof", sha256(bytes(proof))),
    ]


def withdrawal_message(member: str, amount: int, cycle: int, request_id: str):
    return "withdrawal", [("member", member), ("amount", amount), ("cycle", cycle), ("request-id", request_id)]


def default_message(cycle: int, member: str):
    return "default-declaration", [("cycle", cycle), ("member", member)]


def ccp_parameters_message(cycle: int, sitg1: int, sitg2: int, cap: int, request_id: str):
    """The operator's new skin-in-the-game tranches and assessment cap
    multiple (bound to the request id, so a signature is used once)."""
    return "ccp-parameters", [("cycle", cycle), ("skin-in-the-game-1", sitg1), ("skin-in-the-game-2", sitg2),
                              ("assessment-cap-multiple", cap), ("request-id", request_id)]


def digest_message(cycle: int, digest: bytes):
    return "cycle-digest", [("cycle", cycle), ("digest", bytes(digest))]


def dm_open_message(cycle: int, defaulters, survivors, D0: int, disclosures: dict, D0_proof: bytes):
    return "default-open", [
        ("cycle", cycle), ("defaulters", list(defaulters)), ("survivors", list(survivors)), ("D0", D0),
        ("disclosures", [[m, list(disclosures[m]["values"]), sha256(_hexbytes("proof", disclosures[m]["proof"]))]
                         for m in defaulters]),
        ("D0-proof", sha256(bytes(D0_proof))),
    ]


def epoch_message(cycle: int, epoch: int, members: Sequence[str], D: int, proof: bytes):
    return "default-fund-epoch", [("cycle", cycle), ("epoch", epoch), ("members", list(members)), ("D", D),
                                  ("proof", sha256(bytes(proof)))]


def closeout_message(cycle: int, index: int, prices: Sequence[int], lots: Sequence[dict]):
    """The operator's close-out and auction result: prices c and the public
    lots (winner, instrument, signed quantity = the winner's position change)."""
    return "close-out", [("cycle", cycle), ("event", index), ("prices", list(prices)),
                         ("lots", [[lot["winner"], lot["instrument"], lot["quantity"]] for lot in lots])]


def book_lots(disclosed_positions: dict, instrument_ids: Sequence[str]) -> list[dict]:
    """Every defaulter position to the public auction book (the oracle's model
    of winners outside the member set): one lot per instrument."""
    totals = [sum(p[i] for p in disclosed_positions.values()) for i in range(len(instrument_ids))]
    return [{"winner": AUCTION, "instrument": iid, "quantity": q} for iid, q in zip(instrument_ids, totals) if q]


def shares_message(cycle: int, index: int, purpose: str, R: int, shares: Sequence[str], total: int,
                   proof: bytes, total_proof: bytes):
    return "pro-rata-shares", [
        ("cycle", cycle), ("event", index), ("purpose", purpose), ("R", R),
        ("shares", [bytes.fromhex(h) for h in shares]), ("total", total),
        ("proof", sha256(bytes(proof))), ("total-proof", sha256(bytes(total_proof))),
    ]


def assessment_payment_message(member: str, index: int, amount: int, cycle: int, request_id: str):
    return "assessment-payment", [("member", member), ("event", index), ("amount", amount), ("cycle", cycle),
                                  ("request-id", request_id)]


def assessment_settlement_message(member: str, index: int, cycle: int, request_id: str):
    """The member's request to settle its assessment payable from hidden cash."""
    return "assessment-from-cash", [("member", member), ("event", index), ("cycle", cycle),
                                    ("request-id", request_id)]


#: the CCP's parameters: genesis ``config.ccp`` keys and ``ccp-params`` fields
CCP_PARAMETERS = ("skin_in_the_game_1", "skin_in_the_game_2", "assessment_cap_multiple")


def _check_ccp_parameters(p: dict) -> None:
    """Bounds of the CCP's parameters (genesis and ``ccp-params``)."""
    _int("skin_in_the_game_1", p["skin_in_the_game_1"], 0, MAX_PUBLIC_AMOUNT)
    _int("skin_in_the_game_2", p["skin_in_the_game_2"], 0, MAX_PUBLIC_AMOUNT)
    _int("assessment_cap_multiple", p["assessment_cap_multiple"], 0, 1 << 8)


def _verify_sig(key_hex: str, msg, sig_hex, who: str) -> None:
    kind, fields = msg
    try:
        signing.verify(bytes.fromhex(key_hex), kind, fields, _hexbytes("signature", sig_hex, 64))
    except (signing.SignatureError, signing.KeyFormatError, signing.EncodingError):
        raise InvalidArgument(f"signature of {who} does not verify") from None


# ---------------------------------------------------------------------------
# Statements the node and the prover build identically
# ---------------------------------------------------------------------------
def margin_statement(cycle: int, version: int, member: str, cash: Point, positions: Sequence[Point],
                     scenario_set: dict, solvency_only: bool = False) -> Margin:
    return Margin(Context(cycle, version, member.encode()), cash, tuple(positions),
                  scenario_set["matrix"], bytes.fromhex(scenario_set["id"]), solvency_only)


def withdrawal_statement(cycle: int, version: int, member: str, cash: Point, positions: Sequence[Point],
                         scenario_set: dict, amount: int, request: bytes) -> Withdrawal:
    return Withdrawal(Context(cycle, version, member.encode()), cash, tuple(positions),
                      scenario_set["matrix"], bytes.fromhex(scenario_set["id"]), False, amount, request)


def funding_statement(cycle: int, version: int, member: str, cash: Point, df: Point, epoch: int,
                      previous: Point) -> DefaultFunding:
    """A funding-window filing: the new contribution ``df`` replaces
    ``previous`` and the account stays solvent (see DefaultFunding)."""
    return DefaultFunding(Context(cycle, version, member.encode()), cash, df, epoch, previous)


def assessment_cash_statement(cycle: int, version: int, member: str, cash: Point, positions: Sequence[Point],
                              scenario_set: dict, due: Point, request: bytes) -> AssessmentFromCash:
    """Settling an assessment payable from hidden cash: margin on cash - due."""
    return AssessmentFromCash(Context(cycle, version, member.encode()), cash, tuple(positions),
                              scenario_set["matrix"], bytes.fromhex(scenario_set["id"]), False, due, request)


def trade_statement(cycle: int, cycle_seq: int, initiator: str, T: Point, tuple_bytes: bytes) -> TradeValidity:
    """Trade validity is bound to Context(cycle, seq of the cycle's opening
    event, initiator) and to the full trade tuple (unique trade id)."""
    return TradeValidity(Context(cycle, cycle_seq, initiator.encode()), T, tuple_bytes)


CCP_CONTEXT = b"ccp"


def disclosure_labels(acct, instrument_ids: Sequence[str]) -> list[bytes]:
    """Labels of a defaulter's disclosed accounts, in value order: cash, df,
    the unpaid assessment payable if any, then every position."""
    return [b"cash", b"df"] + ([b"due"] if acct.due is not None else []) + [b"pos:" + i.encode() for i in instrument_ids]


def disclosure_commitments(acct) -> list:
    return [acct.cash, acct.df] + ([acct.due] if acct.due is not None else []) + list(acct.pos)


def disclosed_values(acct, values: Sequence[int]) -> dict:
    """The public account of a defaulter from its disclosed values."""
    k = 3 if acct.due is not None else 2
    out = {"cash": values[0], "df": values[1], "pos": list(values[k:])}
    if acct.due is not None:
        out["due"] = values[2]
    return out


def disclosure_statement(cycle: int, member: str, acct, commitments, values, instrument_ids) -> Disclosure:
    """Bound to Context(cycle, account version, member) and to the operator's
    signed default declaration."""
    decl = signing.encode_tuple(*default_message(cycle, member))
    return Disclosure(Context(cycle, acct.version, member.encode()), decl,
                      tuple(disclosure_labels(acct, instrument_ids)), tuple(commitments), tuple(values))


def snapshot_statement(cycle: int, seq: int, survivors: Sequence[str], dfs, D0: int) -> AggregateOpening:
    """D0 = the survivors' snapshot total, opened over the full survivor set."""
    ms = tuple(m.encode() for m in survivors)
    return AggregateOpening(Context(cycle, seq, CCP_CONTEXT), b"default-fund-snapshot", ms, tuple(dfs), D0, ms)


def epoch_statement(epoch: int, window_seq: int, members: Sequence[str], dfs, D: int) -> AggregateOpening:
    """The group total D of a funding window, opened over every member not in
    default.  Bound to Context(epoch, seq of the event that opened the window,
    ccp) rather than to the cycle and the ledger head: the answer depends
    only on the window and on the (bound) df commitments, so the prover's
    recorded answer stays valid if unrelated events land before the node
    books it."""
    ms = tuple(m.encode() for m in members)
    return AggregateOpening(Context(epoch, window_seq, CCP_CONTEXT), b"default-fund-window", ms, tuple(dfs), D, ms)


def shares_statement(cycle: int, open_seq: int, purpose: str, R: int, D0: int, survivors, dfs, shares) -> ProRataShares:
    return ProRataShares(Context(cycle, open_seq, CCP_CONTEXT), purpose.encode(), R, D0,
                         tuple(m.encode() for m in survivors), tuple(dfs), tuple(shares))


def shares_total_statement(cycle: int, open_seq: int, purpose: str, survivors, shares, total: int) -> AggregateOpening:
    ms = tuple(m.encode() for m in survivors)
    return AggregateOpening(Context(cycle, open_seq, CCP_CONTEXT), purpose.encode() + b"-total", ms,
                            tuple(shares), total, ms)


def assessment_statement(cycle: int, version: int, member: str, due, amount: int, tag: bytes) -> AssessmentSettlement:
    return AssessmentSettlement(Context(cycle, version, member.encode()), due, amount, tag)


def _proof(st, data) -> StatementProof:
    try:
        return StatementProof.from_bytes(_hexbytes("proof", data), st)
    except (DecodeError, StatementError, ValueError) as exc:
        raise InvalidArgument(f"malformed proof: {exc}") from None


# ---------------------------------------------------------------------------
# Value algebra: the fold runs on commitments (node) or openings (prover)
# ---------------------------------------------------------------------------
class PointAlgebra:
    """Pedersen commitments: the clearing node's values."""

    def zero(self):
        return Point.identity(generators().backend)

    def public(self, amount: int):
        return public(amount)

    def commitment(self, hexstr: str, what: str):
        return Point.decode(bytes.fromhex(hexstr), allow_identity=False)

    def lincomb(self, values, coeffs):
        vs = [v for v, c in zip(values, coeffs) if c]
        cs = [from_int(c) for c in coeffs if c]
        return msm(vs, cs) if vs else self.zero()

    def encode(self, v) -> str:
        return v.encode().hex()


@dataclass
class Account:
    """One member's account; values are commitments (node) or openings (prover)."""

    key: str
    relay_key: str
    cash: Any
    df: Any
    pos: list
    status: str = STATUS_ACTIVE
    version: int = 0
    funded: bool = False
    trades: list = field(default_factory=list)  # novations per instrument (bound MAX_TRADES)
    due: Any = None  # committed assessment payable (DESIGN §6.4), None when there is none

    def copy(self) -> "Account":
        return Account(self.key, self.relay_key, self.cash, self.df, list(self.pos), self.status,
                       self.version, self.funded, list(self.trades), self.due)


@dataclass
class State:
    """Everything the fold derives from the events."""

    seq: int = 0
    config: dict | None = None
    cycle: int = 0
    cycle_seq: int = 0
    phase: str = "trading"
    prices: list = field(default_factory=list)
    scenario_set: dict | None = None
    members: dict = field(default_factory=dict)
    trades: dict = field(default_factory=dict)
    seen_T: set = field(default_factory=set)
    vm: dict = field(default_factory=dict)
    flows: dict = field(default_factory=lambda: {"deposits": 0, "withdrawals": 0, "charges": 0})
    margin: dict = field(default_factory=dict)
    margin_done: bool = False
    digests: list = field(default_factory=list)
    #: public books of default management: the auction book (winners of the
    #: close-out auctions, outside the member set), the default account, the
    #: CCP capital used, and the skin-in-the-game tranches left
    books: dict = field(default_factory=dict)
    pending_defaults: list = field(default_factory=list)
    dm: dict | None = None          # the default event in progress (public data)
    dm_snapshot: dict = field(default_factory=dict)  # survivor -> snapshot df value
    reports: list = field(default_factory=list)      # completed default events
    #: sum over pro-rata allocations of (sum_j C_c_j - total*G): each term is
    #: proven to commit to zero (the aggregate opening of the shares), and
    #: carries the shares' blindings out of the member accounts
    residue: Any = None
    #: default-fund funding window (DESIGN §5.1): every member not in default
    #: files one ``df-fund`` in the window; ``df-epoch`` closes it and opens
    #: the group total D once; ``epoch_seq`` is the seq of the event that
    #: opened the current window (genesis or the previous ``df-epoch``)
    epoch: int = 0
    epoch_seq: int = 0
    #: snapshot cache: trade id -> (trade record object, its canonical row)
    _rows: dict = field(default_factory=dict, repr=False, compare=False)

    def copy(self) -> "State":
        s = State(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        s.prices = list(self.prices)
        s.members = {k: a.copy() for k, a in self.members.items()}
        s.trades = dict(self.trades)  # trade records are replaced, never mutated in place
        s._rows = dict(self._rows)
        s.seen_T = set(self.seen_T)
        s.vm = dict(self.vm)
        s.flows = dict(self.flows)
        s.margin = dict(self.margin)
        s.digests = list(self.digests)
        s.books = {k: (list(v) if isinstance(v, list) else v) for k, v in self.books.items()}
        s.pending_defaults = list(self.pending_defaults)
        s.dm = None if self.dm is None else _deepcopy_json(self.dm)
        s.dm_snapshot = dict(self.dm_snapshot)
        s.reports = list(self.reports)
        return s

    # -- helpers used by the engine and the prover -------------------------
    def instrument_ids(self) -> list[str]:
        return [i["id"] for i in self.config["instruments"]]

    def instrument_index(self, inst: str) -> int:
        ids = self.instrument_ids()
        if inst not in ids:
            raise NotFound(f"unknown instrument {shown(inst)}")
        return ids.index(inst)

    def account(self, member: str) -> Account:
        acct = self.members.get(member)
        if acct is None:
            raise NotFound(f"unknown member {shown(member)}")
        return acct


def _deepcopy_json(v):
    if isinstance(v, dict):
        return {k: _deepcopy_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_deepcopy_json(x) for x in v]
    return v


# ---------------------------------------------------------------------------
# The fold
# ---------------------------------------------------------------------------
def apply_event(state: State, seq: int, body: dict, alg) -> None:
    """Apply one (already verified) event to ``state`` in place.

    Deterministic and total for every event ``verify_event`` accepted; it is
    the only code that changes accounts, and it runs unchanged on commitments
    (node, auditor) and on openings (prover service)."""
    kind = body["kind"]
    state.seq = seq
    if kind == "genesis":
        state.config = body["config"]
        state.cycle, state.cycle_seq, state.phase = 1, seq, "trading"
        state.epoch_seq = seq
        state.prices = [i["price0"] for i in state.config["instruments"]]
        ccp = state.config["ccp"]
        state.books = {"auction_pos": [0] * len(state.prices), "auction_cash": 0, "default_account": 0,
                       "ccp_capital": 0, "sitg1": ccp["skin_in_the_game_1"], "sitg2": ccp["skin_in_the_game_2"],
                       "epochs": []}
        return
    if kind == "admit":
        n = len(state.config["instruments"])
        state.members[body["member"]] = Account(
            body["key"], body["relay_key"], alg.zero(), alg.zero(), [alg.zero()] * n,
            version=seq, trades=[0] * n)
        return
    if kind == "deposit":
        a = state.members[body["member"]]
        a.cash = a.cash + alg.public(body["amount"])
        a.version = seq
        state.flows["deposits"] += body["amount"]
        return
    if kind == "df-fund":
        # the new contribution replaces the old one: cash += df_old - df_new
        a = state.members[body["member"]]
        df = alg.commitment(body["df"], "df")
        a.cash = a.cash + a.df - df
        a.df = df
        a.funded = True
        a.version = seq
        return
    if kind == "trade":
        t = dict(body["trade"])
        t.update(status="pending", affirmed=False, receipt=False)
        state.trades[t["trade_id"]] = t
        state.seen_T.add(t["T"])
        return
    if kind in ("affirm", "receipt"):
        t = dict(state.trades[body["trade_id"]])
        state.trades[body["trade_id"]] = t
        t["affirmed" if kind == "affirm" else "receipt"] = True
        if t["affirmed"] and t["receipt"]:
            _novate(state, seq, t, alg)
        return
    if kind == "settle":
        mults = [i["multiplier"] for i in state.config["instruments"]]
        coeffs = [(p - q) * m for p, q, m in zip(body["prices"], state.prices, mults)]
        for mid in sorted(state.members):
            a = state.members[mid]
            vm = alg.lincomb(a.pos, coeffs)
            a.cash = a.cash + vm
            state.vm[mid] = state.vm.get(mid, alg.zero()) + vm
            a.version = seq
        # the auction book's public VM (paid by / to the members through the CCP)
        avm = public_vm(state.prices, body["prices"], mults, state.books["auction_pos"])
        state.books["auction_cash"] += avm
        state.flows["charges"] += avm
        state.vm[AUCTION] = state.vm.get(AUCTION, alg.zero()) + alg.public(avm)
        state.prices = list(body["prices"])
        state.scenario_set = dict(body["scenario_set"])
        state.phase = "margin"
        state.margin, state.margin_done = {}, False
        return
    if kind == "margin-batch":
        for mid, res in sorted(body["results"].items()):
            a = state.members[mid]
            if a.status != STATUS_DEFAULTED:
                a.status = {"pass": STATUS_ACTIVE, "call": STATUS_CALL, "payment": STATUS_PAYMENT}[res]
        state.margin = dict(body["results"])
        state.margin_done = True
        return
    if kind == "margin-cure":
        a = state.members[body["member"]]
        a.status = STATUS_CALL if body["solvency_only"] else STATUS_ACTIVE
        return
    if kind == "withdraw":
        a = state.members[body["member"]]
        a.cash = a.cash - alg.public(body["amount"])
        a.version = seq
        state.flows["withdrawals"] += body["amount"]
        return
    if kind == "default":
        state.members[body["member"]].status = STATUS_DEFAULTED
        state.pending_defaults.append(body["member"])
        return
    if kind == "ccp-params":
        # SITG 1/2 as they stand now (what later default events draw on) and the
        # cap multiple; the config's ccp section names the parameters in force
        state.books["sitg1"], state.books["sitg2"] = body["skin_in_the_game_1"], body["skin_in_the_game_2"]
        state.config = dict(state.config, ccp={k: body[k] for k in CCP_PARAMETERS})
        return
    if kind == "df-epoch":
        state.books["epochs"].append({"epoch": body["epoch"], "D": body["D"], "members": list(body["members"])})
        state.epoch += 1
        state.epoch_seq = seq
        for a in state.members.values():
            a.funded = False
        return
    if kind in ("dm-open", "dm-closeout", "dm-shares", "assessment-pay", "assessment-settle"):
        _apply_default_management(state, seq, body, alg)
        return
    if kind == "close":
        for tid in [tid for tid, t in state.trades.items() if t["status"] == "pending"]:
            state.trades[tid] = dict(state.trades[tid], status="expired")
        state.vm = {}
        state.digests.append(body["digest"])
        state.cycle += 1
        state.cycle_seq = seq
        state.phase = "trading"
        state.margin, state.margin_done = {}, False
        return
    raise LedgerCorrupted(f"unknown event kind {shown(kind)}")


def _novate(state: State, seq: int, t: dict, alg) -> None:
    i = state.instrument_index(t["instrument"])
    mult = state.config["instruments"][i]["multiplier"]
    T = alg.commitment(t["T"], "T")
    vm_coeff = (state.prices[i] - t["price"]) * mult
    buyer, seller = state.members[t["buyer"]], state.members[t["seller"]]
    vm = alg.lincomb([T], [vm_coeff])
    buyer.pos[i] = buyer.pos[i] + T
    seller.pos[i] = seller.pos[i] - T
    buyer.cash = buyer.cash + vm
    seller.cash = seller.cash - vm
    state.vm[t["buyer"]] = state.vm.get(t["buyer"], alg.zero()) + vm
    state.vm[t["seller"]] = state.vm.get(t["seller"], alg.zero()) - vm
    buyer.trades[i] += 1
    seller.trades[i] += 1
    buyer.version = seller.version = seq
    t["status"] = "novated"


TRANCHE_NAMES = ("defaulter_margin", "defaulter_default_fund", "skin_in_the_game_1",
                 "survivors_default_fund", "skin_in_the_game_2", "assessments")


def _apply_default_management(state: State, seq: int, body: dict, alg) -> None:
    """The default-management part of the fold (DESIGN §6).

    dm-open      the prover's disclosure of every defaulter (values now public)
                 and the survivors' snapshot total D0: the event starts and
                 every survivor's df value is snapshotted.
    dm-closeout  the operator's close-out prices: positions to the auction book
                 at c, then tranches 1-2 per defaulter (public arithmetic with
                 the oracle's helpers, applied to the defaulter's commitments
                 as public amounts), the estate surplus released, and the
                 mutual tranches: SITG 1, survivors' df (in full homomorphically,
                 or pending a pro-rata proof), SITG 2, assessments (a*df in
                 full homomorphically, else pending a pro-rata proof), uncovered.
    dm-shares    a verified pro-rata allocation: tranche 4 debits df_j by C_c_j;
                 assessments create payables due_j = m*df_j + C_c_j (m = the
                 whole multiples of D0 in the assessed amount); the rounding
                 residual Sum - R is absorbed by the CCP.
    assessment-pay  a tagged deposit d settles due_j: cash += d*G - C_due.
    assessment-settle  due_j is paid from hidden cash: cash -= C_due (with a
                 margin proof on the result); nothing public moves.

    Bookkeeping (all public ints): ``flows.charges`` is the net amount moved
    from member commitments into the CCP's public books, with an outstanding
    payable counted as already moved; so at all times
        sum_j (cash_j + df_j - due_j) = G*(deposits - withdrawals - charges)
        auction_cash + default_account   = charges + ccp_capital.
    """
    kind = body["kind"]
    books = state.books
    if kind == "dm-open":
        state.dm = {
            "index": len(state.reports), "cycle": body["cycle"], "open_seq": seq,
            "defaulters": list(body["defaulters"]), "survivors": list(body["survivors"]), "D0": body["D0"],
            "disclosed": {m: disclosed_values(state.members[m], body["disclosures"][m]["values"])
                          for m in body["defaulters"]}, "stage": "disclosed",
            "proofs": {"disclosure": sha256(canonical(body["disclosures"])).hex(),
                       "D0": sha256(bytes.fromhex(body["D0_proof"])).hex()},
        }
        state.dm_snapshot = {m: state.members[m].df for m in body["survivors"]}
        state.pending_defaults = []
        return
    ev = state.dm
    if kind == "dm-closeout":
        mults = [i["multiplier"] for i in state.config["instruments"]]
        c, P = body["prices"], state.prices
        rows = []
        for m in ev["defaulters"]:
            d = ev["disclosed"][m]
            a = state.members[m]
            X = closeout_loss(c, P, mults, d["pos"])
            u = d.get("due", 0)
            t = defaulter_tranches(X, d["cash"], d["df"], u)
            for i, q in enumerate(d["pos"]):
                a.pos[i] = a.pos[i] - alg.public(q)  # to the house, as a public position
            # close-out: the defaulter pays X (to the auction book; member winners' share below)
            a.cash = a.cash - alg.public(X)
            books["auction_cash"] += X
            state.flows["charges"] += X
            # an unpaid assessment: the payable is cleared against the defaulter's cash
            if a.due is not None:
                a.cash = a.cash - a.due  # value u: keeps sum(cash + df - due) and its blinding
                a.due = None
            # tranche 2: own df to cash; the residual R2 is taken over by the default account
            a.df = a.df - alg.public(t.defaulter_default_fund)
            a.cash = a.cash + alg.public(t.defaulter_default_fund) + alg.public(t.residual)
            books["default_account"] -= t.residual
            state.flows["charges"] -= t.residual
            cash_left = d["cash"] - X - u + t.defaulter_default_fund + t.residual
            df_left = d["df"] - t.defaulter_default_fund
            if cash_left < 0 or cash_left + df_left != t.estate_surplus:
                raise LedgerCorrupted(f"defaulter {m}: tranches 1-2 do not add up")
            # the estate surplus is released (a public withdrawal)
            a.cash = a.cash - alg.public(cash_left)
            a.df = a.df - alg.public(df_left)
            state.flows["withdrawals"] += cash_left + df_left
            a.version = seq
            rows.append({"member": m, "cash": d["cash"], "df": d["df"], "positions": list(d["pos"]), "X": X,
                         "unpaid_vm": max(0, -d["cash"]), "unpaid_assessment": u, "loss": t.loss,
                         "defaulter_margin": t.defaulter_margin,
                         "defaulter_default_fund": t.defaulter_default_fund, "residual": t.residual,
                         "estate_surplus": t.estate_surplus})
        # the auction result: public lots novated to the winners at c, each
        # winner's VM booked from c to the last settlement P; the house is flat
        for lot in body["lots"]:
            i = state.instrument_index(lot["instrument"])
            q = lot["quantity"]
            if lot["winner"] == AUCTION:
                books["auction_pos"][i] += q
                continue
            w = state.members[lot["winner"]]
            lot_vm = (P[i] - c[i]) * mults[i] * q
            w.pos[i] = w.pos[i] + alg.public(q)
            w.cash = w.cash + alg.public(lot_vm)
            books["auction_cash"] -= lot_vm
            state.flows["charges"] -= lot_vm
            w.trades[i] += 1
            w.version = seq
        R = sum(r["residual"] for r in rows)
        D0 = ev["D0"]
        cap = state.config["ccp"]["assessment_cap_multiple"]
        # The public sizes of tranches 3-6 come from the oracle's mutual_waterfall run on
        # the survivors' *total* D0 as one contribution: every public amount (SITG 1 and 2,
        # the tranche-4 and tranche-6 totals before rounding, "in full"/"capped", the
        # uncovered loss) depends on the contributions only through D0.  The per-survivor
        # split and its rounding residual come from the pro-rata proofs (dm-shares).
        mw = mutual_waterfall(R, [D0] if D0 else [], books["sitg1"], books["sitg2"], cap)
        sitg1_before, sitg2_before = books["sitg1"], books["sitg2"]
        books["sitg1"] -= mw.skin_in_the_game_1
        books["sitg2"] -= mw.skin_in_the_game_2
        capital = mw.skin_in_the_game_1 + mw.skin_in_the_game_2
        books["ccp_capital"] += capital
        books["default_account"] += capital
        ev.update(stage="closed-out", prices=list(c), lots=[dict(lot) for lot in body["lots"]], rows=rows, R=R,
                  need={}, k4=0, k6=0,
                  sitg1=[sitg1_before, books["sitg1"]], sitg2=[sitg2_before, books["sitg2"]],
                  tranches={"defaulter_margin": sum(r["defaulter_margin"] for r in rows),
                            "defaulter_default_fund": sum(r["defaulter_default_fund"] for r in rows),
                            "skin_in_the_game_1": mw.skin_in_the_game_1, "survivors_default_fund": 0,
                            "skin_in_the_game_2": mw.skin_in_the_game_2, "assessments": 0},
                  df_in_full=mw.default_fund_in_full, capped=mw.assessments_capped,
                  uncovered=mw.uncovered_loss, assess_multiple=0)
        rem4 = R - mw.skin_in_the_game_1
        if D0 and mw.default_fund_in_full:
            for m in ev["survivors"]:
                a = state.members[m]
                a.df = a.df - state.dm_snapshot[m]
                a.version = seq
            _book_charge(state, D0)
            _move_residue(state, alg, [state.dm_snapshot[m] for m in ev["survivors"]], D0, 1)
            ev["tranches"]["survivors_default_fund"] = D0
        elif D0 and rem4 > 0:
            ev["need"]["default-fund"] = rem4
        if D0 and mw.assessments_capped and cap:
            for m in ev["survivors"]:
                _add_due(state, m, alg.lincomb([state.dm_snapshot[m]], [cap]), seq, alg)
            _book_charge(state, cap * D0)
            _move_residue(state, alg, [state.dm_snapshot[m] for m in ev["survivors"]], D0, cap)
            ev["tranches"]["assessments"] = cap * D0
        elif D0 and not mw.assessments_capped:
            rem6 = mw.assessments  # the single-contribution run has no rounding
            whole, part = divmod(rem6, D0)
            ev["assess_multiple"] = whole
            if whole:
                for m in ev["survivors"]:
                    _add_due(state, m, alg.lincomb([state.dm_snapshot[m]], [whole]), seq, alg)
                _book_charge(state, whole * D0)
                _move_residue(state, alg, [state.dm_snapshot[m] for m in ev["survivors"]], D0, whole)
                ev["tranches"]["assessments"] = whole * D0
            if part:
                ev["need"]["assessment"] = part
        _finish_if_done(state)
        return
    if kind == "dm-shares":
        purpose, Rp, total = body["purpose"], body["R"], body["total"]
        shares = [alg.commitment(h, "pro-rata share") for h in body["shares"]]
        for m, cj in zip(ev["survivors"], shares):
            a = state.members[m]
            if purpose == "default-fund":
                a.df = a.df - cj
            else:
                _add_due(state, m, cj, seq, alg)
            a.version = seq
        _book_charge(state, total)
        _move_residue(state, alg, shares, total, 1)
        k = Rp - total
        books["ccp_capital"] += k
        books["default_account"] += k
        if purpose == "default-fund":
            ev["tranches"]["survivors_default_fund"] += total
            ev["k4"] = k
        else:
            ev["tranches"]["assessments"] += total
            ev["k6"] = k
        ev["proofs"][purpose] = sha256(bytes.fromhex(body["proof"]) + bytes.fromhex(body["total_proof"])).hex()
        del ev["need"][purpose]
        _finish_if_done(state)
        return
    if kind == "assessment-pay":
        a = state.members[body["member"]]
        a.cash = a.cash + alg.public(body["amount"]) - a.due
        a.due = None
        a.version = seq
        state.flows["deposits"] += body["amount"]
        return
    if kind == "assessment-settle":
        a = state.members[body["member"]]
        a.cash = a.cash - a.due  # paid from hidden cash: sum(cash + df - due) is unchanged
        a.due = None
        a.version = seq
        return


def _book_charge(state: State, amount: int) -> None:
    """``amount`` moves from member commitments to the default account."""
    state.books["default_account"] += amount
    state.flows["charges"] += amount


def _move_residue(state: State, alg, commitments, opened_total: int, k: int) -> None:
    """k * (sum of ``commitments`` - opened_total*G) joins the residue.

    Used whenever committed amounts whose sum was opened in public (D0 by the
    snapshot's aggregate opening, a pro-rata total by its own) move into the
    public books: the term commits to zero (that is what the opening proved)
    and carries the moved commitments' blindings, so the conservation
    invariant keeps holding on commitments."""
    moved = alg.lincomb(list(commitments) + [alg.public(1)], [k] * len(commitments) + [-k * opened_total])
    state.residue = moved if state.residue is None else state.residue + moved


def _add_due(state: State, member: str, value, seq: int, alg) -> None:
    a = state.members[member]
    a.due = value if a.due is None else a.due + value
    a.version = seq


def _finish_if_done(state: State) -> None:
    ev = state.dm
    if ev["need"]:
        return
    tr = ev["tranches"]
    loss = sum(r["loss"] for r in ev["rows"])
    residual = ev["k4"] + ev["k6"]
    if loss != sum(tr.values()) + residual + ev["uncovered"]:
        raise LedgerCorrupted(f"default event {ev['index']}: the waterfall does not add up")
    report = {
        "index": ev["index"], "cycle": ev["cycle"], "defaulters": ev["rows"], "survivors": ev["survivors"],
        "D0": ev["D0"], "loss": loss, "R": ev["R"], "close_out_prices": ev["prices"], "lots": ev["lots"],
        "waterfall": [{"tranche": n, "amount": tr[n]} for n in TRANCHE_NAMES],
        "survivors_default_fund_in_full": ev["df_in_full"], "assessments_capped": ev["capped"],
        "default_fund_residual": ev["k4"], "assessment_residual": ev["k6"], "rounding_residual": residual,
        "uncovered_loss": ev["uncovered"], "liquidity_line": sum(r["unpaid_vm"] for r in ev["rows"]),
        "skin_in_the_game_1_before": ev["sitg1"][0], "skin_in_the_game_1_after": ev["sitg1"][1],
        "skin_in_the_game_2_before": ev["sitg2"][0], "skin_in_the_game_2_after": ev["sitg2"][1],
        "disclosure_policy": "individual" if len(ev["survivors"]) < 3 else "aggregate",
        "proofs": dict(ev["proofs"]),
    }
    state.reports.append(report)
    state.dm = None
    state.dm_snapshot = {}


def snapshot(state: State, alg=None) -> dict[str, str]:
    """The derived state as key -> canonical JSON (node values only)."""
    alg = alg or PointAlgebra()
    out: dict[str, str] = {}
    if state.config is None:
        return out
    enc = lambda v: alg.encode(v)  # noqa: E731
    out["config"] = canonical(state.config).decode()
    out["cycle"] = canonical({
        "seq": state.seq, "cycle": state.cycle, "cycle_seq": state.cycle_seq, "phase": state.phase,
        "epoch": state.epoch, "epoch_seq": state.epoch_seq,
        "prices": state.prices, "scenario_set": state.scenario_set, "flows": state.flows,
        "margin": state.margin, "margin_done": state.margin_done, "digests": state.digests,
        "vm": {m: enc(v) for m, v in sorted(state.vm.items())},
    }).decode()
    out["default"] = canonical({
        "books": state.books, "pending": state.pending_defaults, "event": state.dm,
        "snapshot": {m: enc(v) for m, v in sorted(state.dm_snapshot.items())},
        "residue": None if state.residue is None else enc(state.residue),
    }).decode()
    for k, rep in enumerate(state.reports):
        out[f"report/{k}"] = canonical(rep).decode()
    for mid, a in state.members.items():
        out["member/" + mid] = canonical({
            "key": a.key, "relay_key": a.relay_key, "cash": enc(a.cash), "df": enc(a.df),
            "pos": [enc(p) for p in a.pos], "status": a.status, "version": a.version,
            "funded": a.funded, "trades": a.trades, "due": None if a.due is None else enc(a.due),
        }).decode()
    rows = state._rows
    for tid, t in state.trades.items():
        cached = rows.get(tid)
        if cached is None or cached[0] is not t:
            cached = rows[tid] = (t, canonical(t).decode())
        out["trade/" + tid] = cached[1]
    return out


def state_hash(state: State) -> bytes:
    return sha256(canonical(snapshot(state)))


def cycle_digest(cycle: int, prev_digest: bytes, chain_head: bytes, st_hash: bytes) -> bytes:
    """Digest of cycle k: the hash chain head before the close event covers
    every event of the cycle (commitments, proofs, signatures, decisions);
    the state hash covers every derived commitment at close."""
    return sha256(b"zkclear.v1/cycle-digest" + cycle.to_bytes(8, "big") + prev_digest + chain_head + st_hash)


# ---------------------------------------------------------------------------
# Core: verification + fold on commitments
# ---------------------------------------------------------------------------
class Core:
    """State on commitments plus the verification of every event kind.

    ``verify_event(body)`` checks an event against the current state and
    raises an engine error if it is not acceptable; ``margin-batch`` results
    and ``close`` digests are recomputed and must equal the event's."""

    def __init__(self):
        self.alg = PointAlgebra()
        self.state = State()
        self._batch_cache = None
        self.head = b""  # chain hash of the last event (set by the owner)

    # -- generic -----------------------------------------------------------
    def _cfg(self) -> dict:
        if self.state.config is None:
            raise FailedPrecondition("the ledger has no genesis event")
        return self.state.config

    def _member(self, mid) -> Account:
        _ident("member", mid)
        if mid in _RESERVED:
            raise InvalidArgument("reserved member id")
        return self.state.account(mid)

    def _check_cycle(self, cycle) -> None:
        _int("cycle", cycle, 1, MAX_CYCLES)
        if cycle != self.state.cycle:
            raise FailedPrecondition(f"request is for cycle {cycle}, the ledger is in cycle {self.state.cycle}")

    def verify_event(self, body: dict) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("kind"), str):
            raise InvalidArgument("an event is a dict with a kind")
        fn = getattr(self, "_v_" + body["kind"].replace("-", "_"), None)
        if fn is None:
            raise InvalidArgument(f"unknown event kind {shown(body['kind'])}")
        if body["kind"] != "genesis":
            self._cfg()
        fn(body)

    def apply(self, seq: int, body: dict) -> None:
        apply_event(self.state, seq, body, self.alg)

    # -- per-kind verification ------------------------------------------------
    def _v_genesis(self, b):
        if self.state.config is not None:
            raise FailedPrecondition("genesis already happened")
        cfg = b.get("config")
        if not isinstance(cfg, dict):
            raise InvalidArgument("genesis needs a config")
        insts = cfg.get("instruments")
        if not isinstance(insts, list) or not 1 <= len(insts) <= 64:
            raise InvalidArgument("1..64 instruments")
        ids = set()
        for k, inst in enumerate(insts):
            if not isinstance(inst, dict) or set(inst) != {"id", "multiplier", "tick", "price0"}:
                raise InvalidArgument(f"instrument {k} needs exactly id, multiplier, tick, price0")
            ids.add(_ident("instrument id", inst["id"]))
            _int("multiplier", inst["multiplier"], 1, MAX_MULTIPLIER)
            _int("tick", inst["tick"], 1, MAX_PRICE)
            _int("price0", inst["price0"], 1, MAX_PRICE)
        if len(ids) != len(insts):
            raise InvalidArgument("duplicate instrument id")
        ccp = cfg.get("ccp")
        if not isinstance(ccp, dict) or set(ccp) != set(CCP_PARAMETERS):
            raise InvalidArgument("ccp needs skin_in_the_game_1, skin_in_the_game_2, assessment_cap_multiple")
        _check_ccp_parameters(ccp)
        keys = cfg.get("keys")
        if not isinstance(keys, dict) or set(keys) != {"operator", "prover", "prover_relay", "prover_relay_sig", "node"}:
            raise InvalidArgument("keys needs operator, prover, prover_relay, prover_relay_sig, node")
        for k in ("operator", "prover", "prover_relay", "node"):
            _hexbytes(f"{k} key", keys[k], 32)
        try:
            signing.verify_kem_key(bytes.fromhex(keys["prover"]), PROVER, bytes.fromhex(keys["prover_relay"]),
                                   _hexbytes("prover relay signature", keys["prover_relay_sig"], 64))
        except (signing.SignatureError, signing.KeyFormatError):
            raise InvalidArgument("the prover's relay key is not signed by its identity") from None
        if set(b) != {"kind", "config", "op_sig"}:
            raise InvalidArgument("genesis fields")
        _verify_sig(keys["operator"], genesis_message(cfg), b["op_sig"], "the operator")

    def _v_admit(self, b):
        if set(b) != {"kind", "member", "key", "relay_key", "relay_sig", "op_sig"}:
            raise InvalidArgument("admit fields")
        mid = _ident("member", b["member"])
        if mid in _RESERVED:
            raise InvalidArgument("reserved member id")
        if mid in self.state.members:
            raise AlreadyExists(f"member {shown(mid)} already admitted")
        if len(self.state.members) >= MAX_MEMBERS:
            raise FailedPrecondition("member limit reached")
        key = _hexbytes("key", b["key"], 32)
        relay = _hexbytes("relay key", b["relay_key"], 32)
        if any(a.key == key.hex() for a in self.state.members.values()):
            raise AlreadyExists("identity key already admitted")
        _verify_sig(self._cfg()["keys"]["operator"], admission_message(mid, key, relay), b["op_sig"], "the operator")
        try:
            signing.verify_kem_key(key, mid, relay, _hexbytes("relay signature", b["relay_sig"], 64))
        except (signing.SignatureError, signing.KeyFormatError):
            raise InvalidArgument("the member's relay key is not signed by its identity") from None

    def _check_deposit_total(self, amount: int) -> None:
        """All public deposits together stay below 2^63, so every balance a
        default may have to disclose stays within the reveal proof's bound
        (|v| < 2^64) whatever VM it earned (see the bounds above)."""
        if self.state.flows["deposits"] + amount >= MAX_PUBLIC_AMOUNT:
            raise FailedPrecondition("the ledger's public deposits would reach 2^63 minor units")

    def _v_deposit(self, b):
        if set(b) != {"kind", "member", "amount", "cycle", "request_id", "sig"}:
            raise InvalidArgument("deposit fields")
        a = self._member(b["member"])
        _int("amount", b["amount"], 1, MAX_PUBLIC_AMOUNT)
        self._check_cycle(b["cycle"])
        _ident("request id", b["request_id"])
        if a.status == STATUS_DEFAULTED:
            raise FailedPrecondition("member is in default")
        self._check_deposit_total(b["amount"])
        _verify_sig(a.key, deposit_message(b["member"], b["amount"], b["cycle"], b["request_id"]), b["sig"], b["member"])

    def _v_df_fund(self, b):
        if set(b) != {"kind", "member", "epoch", "df", "ctx_seq", "proof", "request_id", "sig"}:
            raise InvalidArgument("default funding fields")
        mid = b["member"]
        a = self._member(mid)
        _int("epoch", b["epoch"], 0, 1 << 64)
        _ident("request id", b["request_id"])
        if a.status != STATUS_ACTIVE:
            raise FailedPrecondition("only an active member may fund its default-fund contribution")
        if b["epoch"] != self.state.epoch:
            raise FailedPrecondition(f"funding is for epoch {b['epoch']}, the current epoch is {self.state.epoch}")
        if a.funded:
            raise FailedPrecondition("this member already filed its contribution in this funding window; "
                                     "contributions change only in the next window")
        if self.state.phase != "trading":
            raise FailedPrecondition("default funding is allowed in the trading phase only")
        if self.state.dm is not None or self.state.pending_defaults:
            raise FailedPrecondition("a default event is in progress: contributions are frozen")
        df = _point("df", b["df"])
        if df == a.df or df.is_identity():
            raise InvalidArgument("a funding needs a fresh commitment (re-randomised even when unchanged)")
        if b["ctx_seq"] != a.version:
            raise FailedPrecondition("funding proof is for a stale account version")
        _verify_sig(a.key, funding_message(mid, b["epoch"], df.encode(), b["request_id"]), b["sig"], mid)
        st = funding_statement(self.state.cycle, a.version, mid, a.cash, df, b["epoch"], a.df)
        try:
            verify(st, _proof(st, b["proof"]))
        except VerificationError:
            raise InvalidArgument("default-funding proof does not verify") from None

    def _check_trade(self, t) -> dict:
        if not isinstance(t, dict) or set(t) != set(TRADE_FIELDS):
            raise InvalidArgument(f"a trade has exactly the fields {TRADE_FIELDS}")
        _ident("trade id", t["trade_id"])
        self._check_cycle(t["cycle"])
        if t["buyer"] == t["seller"]:
            raise InvalidArgument("buyer and seller must differ")
        for side in ("buyer", "seller"):
            a = self._member(t[side])
            if a.status != STATUS_ACTIVE:
                raise FailedPrecondition(
                    f"{side} {shown(t[side])} is {a.status}: called or defaulted members may not enter new trades")
        i = self.state.instrument_index(t["instrument"])
        inst = self._cfg()["instruments"][i]
        _int("price", t["price"], 1, MAX_PRICE)
        if t["price"] % inst["tick"]:
            raise InvalidArgument("price is not a multiple of the instrument's tick")
        if t["side"] not in ("buy", "sell"):
            raise InvalidArgument("side must be 'buy' or 'sell'")
        if not isinstance(t["T"], str) or _point("T", t["T"]).encode().hex() != t["T"]:
            raise InvalidArgument("T must be the canonical lower-case hex encoding of a point")
        return inst

    def _v_trade(self, b):
        if set(b) != {"kind", "trade", "proof", "request_id", "sig"}:
            raise InvalidArgument("trade fields")
        t = b["trade"]
        self._check_trade(t)
        _ident("request id", b["request_id"])
        if t["trade_id"] in self.state.trades:
            raise AlreadyExists(f"trade id {shown(t['trade_id'])} already used")
        if t["T"] in self.state.seen_T:
            raise AlreadyExists("trade commitment T already used")
        initiator = t["buyer"] if t["side"] == "buy" else t["seller"]
        a = self.state.members[initiator]
        for side in ("buyer", "seller"):
            if self.state.members[t[side]].trades[self.state.instrument_index(t["instrument"])] >= MAX_TRADES:
                raise FailedPrecondition("trade count bound reached for this member and instrument")
        _verify_sig(a.key, trade_message(t), b["sig"], initiator)
        st = trade_statement(self.state.cycle, self.state.cycle_seq, initiator, _point("T", t["T"]), trade_tuple(t))
        try:
            verify(st, _proof(st, b["proof"]))
        except VerificationError:
            raise InvalidArgument("trade validity proof does not verify") from None

    def _pending(self, tid) -> dict:
        _ident("trade id", tid)
        t = self.state.trades.get(tid)
        if t is None:
            raise NotFound(f"unknown trade {shown(tid)}")
        if t["status"] != "pending":
            raise FailedPrecondition(f"trade {shown(tid)} is {t['status']}")
        trade = {k: t[k] for k in TRADE_FIELDS}
        for side in ("buyer", "seller"):
            if self.state.members[t[side]].status != STATUS_ACTIVE:
                raise FailedPrecondition(f"{side} {shown(t[side])} is called or defaulted; the trade cannot be novated")
        return trade

    def _v_affirm(self, b):
        if set(b) != {"kind", "trade_id", "member", "request_id", "sig"}:
            raise InvalidArgument("affirmation fields")
        t = self._pending(b["trade_id"])
        _ident("request id", b["request_id"])
        counterparty = t["seller"] if t["side"] == "buy" else t["buyer"]
        a = self._member(b["member"])
        if b["member"] != counterparty:
            raise PermissionDenied(f"{shown(b['member'])} is not the counterparty of trade {shown(t['trade_id'])}")
        if self.state.trades[t["trade_id"]]["affirmed"]:
            raise AlreadyExists("trade already affirmed")
        _verify_sig(a.key, affirmation_message(t, b["member"]), b["sig"], b["member"])

    def _v_receipt(self, b):
        if set(b) != {"kind", "trade_id", "request_id", "sig"}:
            raise InvalidArgument("receipt fields")
        t = self._pending(b["trade_id"])
        _ident("request id", b["request_id"])
        if self.state.trades[t["trade_id"]]["receipt"]:
            raise AlreadyExists("trade already has the prover's receipt")
        _verify_sig(self._cfg()["keys"]["prover"], receipt_message(t), b["sig"], "the prover service")

    def _v_settle(self, b):
        if set(b) != {"kind", "cycle", "prices", "scenario_set", "request_id", "op_sig"}:
            raise InvalidArgument("settlement fields")
        self._check_cycle(b["cycle"])
        _ident("request id", b["request_id"])
        if self.state.phase != "trading":
            raise FailedPrecondition("this cycle is already settled")
        insts = self._cfg()["instruments"]
        prices = b["prices"]
        if not isinstance(prices, list) or len(prices) != len(insts):
            raise InvalidArgument("one settlement price per instrument")
        for p, inst in zip(prices, insts):
            _int("price", p, 1, MAX_PRICE)
            if p % inst["tick"]:
                raise InvalidArgument("settlement price is not a multiple of the tick")
        ss = b["scenario_set"]
        if not isinstance(ss, dict) or set(ss) != {"version", "matrix", "id"}:
            raise InvalidArgument("scenario set needs version, matrix, id")
        _int("scenario set version", ss["version"], 0, 1 << 32)
        try:
            matrix = check_matrix(ss["matrix"])
        except StatementError as exc:
            raise InvalidArgument(str(exc)) from None
        if len(matrix[0]) != len(insts):
            raise InvalidArgument("scenario matrix has the wrong number of instruments")
        if any(matrix[0]):
            raise InvalidArgument("scenario 0 must be the no-move scenario")
        cur = self.state.scenario_set
        if cur is not None and ss["version"] < cur["version"]:
            raise InvalidArgument("scenario set versions never go back")
        if cur is not None and ss["version"] == cur["version"] and ss["matrix"] != cur["matrix"]:
            raise InvalidArgument("a scenario set version names one matrix only")
        set_id = scenario_set_id(ss["version"], [i["id"] for i in insts], matrix)
        if ss["id"] != set_id.hex():
            raise InvalidArgument("scenario set id is not the hash of the set")
        _verify_sig(self._cfg()["keys"]["operator"], settlement_message(b["cycle"], prices, set_id),
                    b["op_sig"], "the operator")

    def margin_results(self, cycle: int, entries: list) -> dict:
        """Verify a cycle's margin proofs as one batch; name the culprits.

        Returns {member: "pass" | "call" | "payment"} for every member that is
        not in default: full proof verified -> pass; solvency-only proof
        verified -> call; no (valid) proof -> payment default candidate."""
        items, owners = [], []
        for e in entries:
            a = self.state.members[e["member"]]
            if e["ctx_seq"] != a.version:
                continue  # stale: treated as no proof
            st = margin_statement(cycle, a.version, e["member"], a.cash, a.pos, self.state.scenario_set,
                                  e["solvency_only"])
            try:
                pr = StatementProof.from_bytes(bytes.fromhex(e["proof"]), st)
            except (DecodeError, StatementError, ValueError):
                continue
            items.append((st, pr))
            owners.append(e)
        failed: set[int] = set()
        if items:
            try:
                verify_many(items)
            except BatchVerificationError as exc:
                failed = set(exc.failed)
            except VerificationError:
                failed = set(range(len(items)))
        res = {m: "payment" for m, a in self.state.members.items() if a.status != STATUS_DEFAULTED}
        for k, e in enumerate(owners):
            if k not in failed and e["member"] in res:
                res[e["member"]] = "call" if e["solvency_only"] else "pass"
        return dict(sorted(res.items()))

    def _v_margin_batch(self, b):
        if set(b) != {"kind", "cycle", "entries", "results", "request_id", "sig"}:
            raise InvalidArgument("margin batch fields")
        self._check_cycle(b["cycle"])
        _ident("request id", b["request_id"])
        if self.state.phase != "margin" or self.state.margin_done:
            raise FailedPrecondition("margin proofs are collected once per cycle, after settlement")
        entries = b["entries"]
        if not isinstance(entries, list):
            raise InvalidArgument("entries must be a list")
        seen = set()
        for e in entries:
            if not isinstance(e, dict) or set(e) != {"member", "solvency_only", "ctx_seq", "proof"}:
                raise InvalidArgument("each entry has member, solvency_only, ctx_seq, proof")
            a = self._member(e["member"])
            if e["member"] in seen:
                raise InvalidArgument("one margin proof per member")
            seen.add(e["member"])
            if a.status == STATUS_DEFAULTED:
                raise FailedPrecondition(f"member {shown(e['member'])} is in default")
            if not isinstance(e["solvency_only"], bool):
                raise InvalidArgument("solvency_only must be a boolean")
            _int("ctx_seq", e["ctx_seq"], 0, 1 << 64)
            _hexbytes("proof", e["proof"])
        _verify_sig(self._cfg()["keys"]["prover"], margin_batch_message(b["cycle"], entries), b["sig"],
                    "the prover service")
        cached = self._batch_cache
        self._batch_cache = None
        if cached is not None and cached[0] == (self.state.seq, content_hash(entries)):
            results = cached[1]  # computed by submit_margin_batch on this very state
        else:
            results = self.margin_results(b["cycle"], entries)
        if b["results"] != results:
            raise InvalidArgument("margin results do not match the verified proofs")

    def _v_margin_cure(self, b):
        if set(b) != {"kind", "cycle", "member", "solvency_only", "ctx_seq", "proof", "request_id", "sig"}:
            raise InvalidArgument("margin proof fields")
        self._check_cycle(b["cycle"])
        _ident("request id", b["request_id"])
        a = self._member(b["member"])
        if a.status not in (STATUS_CALL, STATUS_PAYMENT):
            raise FailedPrecondition(f"member {shown(b['member'])} is not called")
        if not isinstance(b["solvency_only"], bool):
            raise InvalidArgument("solvency_only must be a boolean")
        if b["solvency_only"] and a.status != STATUS_PAYMENT:
            raise FailedPrecondition("a solvency-only proof only turns a payment default into an IM call")
        if b["ctx_seq"] != a.version:
            raise FailedPrecondition("margin proof is for a stale account version")
        proof = _hexbytes("proof", b["proof"])
        _verify_sig(self._cfg()["keys"]["prover"],
                    margin_proof_message(b["cycle"], b["member"], b["solvency_only"], b["ctx_seq"], proof),
                    b["sig"], "the prover service")
        st = margin_statement(b["cycle"], a.version, b["member"], a.cash, a.pos, self.state.scenario_set,
                              b["solvency_only"])
        try:
            verify(st, _proof(st, proof))
        except VerificationError:
            raise InvalidArgument("margin proof does not verify") from None

    def _v_withdraw(self, b):
        if set(b) != {"kind", "member", "amount", "cycle", "ctx_seq", "proof", "request_id", "sig"}:
            raise InvalidArgument("withdrawal fields")
        mid = b["member"]
        a = self._member(mid)
        _int("amount", b["amount"], 1, MAX_PUBLIC_AMOUNT)
        self._check_cycle(b["cycle"])
        _ident("request id", b["request_id"])
        if a.status != STATUS_ACTIVE:
            raise FailedPrecondition(f"member {shown(mid)} is {a.status} and may not withdraw")
        if self.state.scenario_set is None:
            raise FailedPrecondition("no scenario set published yet")
        if a.due is not None:
            raise FailedPrecondition(f"member {shown(mid)} has an unpaid assessment")
        if b["ctx_seq"] != a.version:
            raise FailedPrecondition("withdrawal proof is for a stale account version")
        msg = withdrawal_message(mid, b["amount"], b["cycle"], b["request_id"])
        _verify_sig(a.key, msg, b["sig"], mid)
        st = withdrawal_statement(b["cycle"], a.version, mid, a.cash, a.pos, self.state.scenario_set,
                                  b["amount"], signing.encode_tuple(*msg))
        try:
            verify(st, _proof(st, b["proof"]))
        except VerificationError:
            raise InvalidArgument("withdrawal proof does not verify") from None

    def _v_default(self, b):
        if set(b) != {"kind", "cycle", "member", "request_id", "op_sig"}:
            raise InvalidArgument("default declaration fields")
        self._check_cycle(b["cycle"])
        _ident("request id", b["request_id"])
        a = self._member(b["member"])
        _verify_sig(self._cfg()["keys"]["operator"], default_message(b["cycle"], b["member"]), b["op_sig"],
                    "the operator")
        if a.status not in (STATUS_CALL, STATUS_PAYMENT) and not (a.status == STATUS_ACTIVE and a.due is not None):
            raise FailedPrecondition("only a called member or one with an unpaid assessment can be declared in default")
        if self.state.dm is not None:
            raise FailedPrecondition("a default event is in progress; finish it first")

    def _v_ccp_params(self, b):
        if set(b) != {"kind", "cycle", *CCP_PARAMETERS, "request_id", "op_sig"}:
            raise InvalidArgument("ccp parameter fields")
        self._check_cycle(b["cycle"])
        _ident("request id", b["request_id"])
        _check_ccp_parameters(b)
        _verify_sig(self._cfg()["keys"]["operator"],
                    ccp_parameters_message(b["cycle"], *(b[k] for k in CCP_PARAMETERS), b["request_id"]),
                    b["op_sig"], "the operator")
        if self.state.dm is not None or self.state.pending_defaults:
            raise FailedPrecondition("a default event is in progress; finish it first")

    # -- default management (DESIGN §6) ------------------------------------------
    def _dm(self, index) -> dict:
        ev = self.state.dm
        if ev is None or index != ev["index"]:
            raise FailedPrecondition("no such default event in progress")
        return ev

    def _v_dm_open(self, b):
        if set(b) != {"kind", "cycle", "defaulters", "survivors", "D0", "D0_proof", "disclosures", "request_id", "sig"}:
            raise InvalidArgument("default-open fields")
        self._check_cycle(b["cycle"])
        _ident("request id", b["request_id"])
        s = self.state
        if s.dm is not None or not s.pending_defaults:
            raise FailedPrecondition("no declared default waiting to be processed")
        open_calls = sorted(m for m, a in s.members.items() if a.status in (STATUS_CALL, STATUS_PAYMENT))
        if open_calls:
            raise FailedPrecondition(f"open margin calls {open_calls}: cure or declare them before the default event")
        if b["defaulters"] != sorted(s.pending_defaults):
            raise InvalidArgument("the event must cover exactly the declared defaulters")
        survivors = sorted(m for m, a in s.members.items() if a.status != STATUS_DEFAULTED)
        if b["survivors"] != survivors:
            raise InvalidArgument("the survivors are every member not in default")
        if not isinstance(b["disclosures"], dict) or sorted(b["disclosures"]) != b["defaulters"]:
            raise InvalidArgument("one disclosure per defaulter")
        ids = s.instrument_ids()
        for m in b["defaulters"]:
            a = s.members[m]
            d = b["disclosures"][m]
            if not isinstance(d, dict) or set(d) != {"values", "proof"} or not isinstance(d["values"], list):
                raise InvalidArgument("a disclosure has values and proof")
            if len(d["values"]) != len(disclosure_labels(a, ids)):
                raise InvalidArgument("a disclosure reveals every account of the defaulter")
            for v in d["values"]:
                _int("disclosed value", v, -MAX_PUBLIC_AMOUNT + 1, MAX_PUBLIC_AMOUNT)
            try:
                st = disclosure_statement(b["cycle"], m, a, disclosure_commitments(a), d["values"], ids)
                verify_reveals(st, RevealProofs.from_bytes(_hexbytes("proof", d["proof"]), len(d["values"])))
            except (VerificationError, DecodeError, StatementError):
                raise InvalidArgument(f"disclosure of {shown(m)} does not verify") from None
        _int("D0", b["D0"], 0, MAX_PUBLIC_AMOUNT)
        proof = _hexbytes("D0 proof", b["D0_proof"])
        if survivors:
            try:
                st = snapshot_statement(b["cycle"], s.seq, survivors, [s.members[m].df for m in survivors], b["D0"])
                verify_reveals(st, RevealProofs.from_bytes(proof, 1))
            except (VerificationError, DecodeError, StatementError):
                raise InvalidArgument("the opening of D0 does not verify") from None
        elif b["D0"] != 0 or proof:
            raise InvalidArgument("with no survivors D0 is 0 and has no proof")
        _verify_sig(self._cfg()["keys"]["prover"],
                    dm_open_message(b["cycle"], b["defaulters"], survivors, b["D0"], b["disclosures"], proof),
                    b["sig"], "the prover service")

    def _v_df_epoch(self, b):
        if set(b) != {"kind", "cycle", "epoch", "members", "D", "proof", "request_id", "sig"}:
            raise InvalidArgument("epoch fields")
        self._check_cycle(b["cycle"])
        _ident("request id", b["request_id"])
        s = self.state
        if b["epoch"] != s.epoch:
            raise FailedPrecondition(f"the current epoch is {s.epoch}")
        if s.dm is not None or s.pending_defaults:
            raise FailedPrecondition("a default event is in progress")
        members = sorted(m for m, a in s.members.items() if a.status != STATUS_DEFAULTED)
        if not members or b["members"] != members:
            raise InvalidArgument("the epoch total is opened over every member not in default")
        unfiled = [m for m in members if not s.members[m].funded]
        if unfiled:
            raise FailedPrecondition(f"the funding window is open: {len(unfiled)} member(s) not in default have "
                                     "not filed their contribution yet")
        _int("D", b["D"], 0, MAX_PUBLIC_AMOUNT)
        proof = _hexbytes("proof", b["proof"])
        try:
            st = epoch_statement(s.epoch, s.epoch_seq, members, [s.members[m].df for m in members], b["D"])
            verify_reveals(st, RevealProofs.from_bytes(proof, 1))
        except (VerificationError, DecodeError, StatementError):
            raise InvalidArgument("the opening of the epoch total does not verify") from None
        _verify_sig(self._cfg()["keys"]["prover"], epoch_message(b["cycle"], b["epoch"], members, b["D"], proof),
                    b["sig"], "the prover service")

    def _v_dm_closeout(self, b):
        if set(b) != {"kind", "cycle", "index", "prices", "lots", "request_id", "op_sig"}:
            raise InvalidArgument("close-out fields")
        self._check_cycle(b["cycle"])
        _ident("request id", b["request_id"])
        ev = self._dm(b["index"])
        if ev["stage"] != "disclosed":
            raise FailedPrecondition("this default event is already closed out")
        insts = self._cfg()["instruments"]
        if not isinstance(b["prices"], list) or len(b["prices"]) != len(insts):
            raise InvalidArgument("one close-out price per instrument")
        for p, inst in zip(b["prices"], insts):
            _int("close-out price", p, 1, MAX_PRICE)
            if p % inst["tick"]:
                raise InvalidArgument("close-out price is not a multiple of the tick")
        lots = b["lots"]
        if not isinstance(lots, list) or len(lots) > 4096:
            raise InvalidArgument("lots must be a list")
        ids = self.state.instrument_ids()
        moved = [0] * len(ids)
        for lot in lots:
            if not isinstance(lot, dict) or set(lot) != {"winner", "instrument", "quantity"}:
                raise InvalidArgument("a lot has winner, instrument, quantity")
            if lot["winner"] != AUCTION:
                w = self._member(lot["winner"])
                if w.status != STATUS_ACTIVE:
                    raise FailedPrecondition(f"auction winner {shown(lot['winner'])} is not an active member")
            i = self.state.instrument_index(lot["instrument"])
            _int("lot quantity", lot["quantity"], -(1 << 52) + 1, 1 << 52)
            if lot["quantity"] == 0:
                raise InvalidArgument("a lot has a non-zero quantity")
            moved[i] += lot["quantity"]
        expected = [sum(ev["disclosed"][m]["pos"][i] for m in ev["defaulters"]) for i in range(len(ids))]
        if moved != expected:
            raise InvalidArgument("the lots must take over exactly the defaulters' positions (house left flat)")
        _verify_sig(self._cfg()["keys"]["operator"], closeout_message(b["cycle"], b["index"], b["prices"], lots),
                    b["op_sig"], "the operator")

    def _v_dm_shares(self, b):
        if set(b) != {"kind", "cycle", "index", "purpose", "R", "shares", "total", "proof", "total_proof",
                      "request_id", "sig"}:
            raise InvalidArgument("pro-rata share fields")
        self._check_cycle(b["cycle"])
        _ident("request id", b["request_id"])
        ev = self._dm(b["index"])
        if b["purpose"] not in ev.get("need", {}):
            raise FailedPrecondition(f"no {shown(b['purpose'])} allocation is pending in this default event")
        if b["R"] != ev["need"][b["purpose"]]:
            raise InvalidArgument("the allocated amount differs from the pending tranche")
        n = len(ev["survivors"])
        if not isinstance(b["shares"], list) or len(b["shares"]) != n:
            raise InvalidArgument("one share per survivor")
        shares = [_point("share", h, allow_identity=True) for h in b["shares"]]
        if [p.encode().hex() for p in shares] != b["shares"]:
            raise InvalidArgument("shares must be canonical lower-case hex")
        _int("total", b["total"], 0, b["R"] + 1)
        if b["R"] - b["total"] >= n:
            raise InvalidArgument("the rounding residual must be smaller than the number of survivors")
        dfs = [self.state.dm_snapshot[m] for m in ev["survivors"]]
        proof = _hexbytes("proof", b["proof"])
        total_proof = _hexbytes("total proof", b["total_proof"])
        try:
            st = shares_statement(b["cycle"], ev["open_seq"], b["purpose"], b["R"], ev["D0"], ev["survivors"], dfs, shares)
            verify(st, StatementProof.from_bytes(proof, st))
            tst = shares_total_statement(b["cycle"], ev["open_seq"], b["purpose"], ev["survivors"], shares, b["total"])
            verify_reveals(tst, RevealProofs.from_bytes(total_proof, 1))
        except (VerificationError, DecodeError, StatementError):
            raise InvalidArgument("the pro-rata shares do not verify") from None
        _verify_sig(self._cfg()["keys"]["prover"],
                    shares_message(b["cycle"], b["index"], b["purpose"], b["R"], b["shares"], b["total"], proof,
                                   total_proof), b["sig"], "the prover service")

    def _v_assessment_pay(self, b):
        if set(b) != {"kind", "member", "index", "amount", "cycle", "ctx_seq", "proof", "request_id", "sig"}:
            raise InvalidArgument("assessment payment fields")
        self._check_cycle(b["cycle"])
        _ident("request id", b["request_id"])
        a = self._member(b["member"])
        if a.due is None or a.status != STATUS_ACTIVE:
            raise FailedPrecondition(f"member {shown(b['member'])} has no assessment to pay")
        _int("event", b["index"], 0, len(self.state.reports))
        _int("amount", b["amount"], 1, MAX_PUBLIC_AMOUNT)
        self._check_deposit_total(b["amount"])
        if b["ctx_seq"] != a.version:
            raise FailedPrecondition("assessment proof is for a stale account version")
        msg = assessment_payment_message(b["member"], b["index"], b["amount"], b["cycle"], b["request_id"])
        _verify_sig(a.key, msg, b["sig"], b["member"])
        st = assessment_statement(b["cycle"], a.version, b["member"], a.due, b["amount"], signing.encode_tuple(*msg))
        try:
            verify(st, _proof(st, b["proof"]))
        except VerificationError:
            raise InvalidArgument("the assessment settlement proof does not verify") from None

    def _v_assessment_settle(self, b):
        """Settlement of the payable from hidden cash (DESIGN §6.4): a margin
        proof on cash - due; nothing public moves."""
        if set(b) != {"kind", "member", "index", "cycle", "ctx_seq", "proof", "request_id", "sig"}:
            raise InvalidArgument("assessment settlement fields")
        self._check_cycle(b["cycle"])
        _ident("request id", b["request_id"])
        a = self._member(b["member"])
        if a.due is None or a.status != STATUS_ACTIVE:
            raise FailedPrecondition(f"member {shown(b['member'])} has no assessment to pay")
        _int("event", b["index"], 0, len(self.state.reports))
        if self.state.scenario_set is None:
            raise FailedPrecondition("no scenario set has been published yet")
        if b["ctx_seq"] != a.version:
            raise FailedPrecondition("assessment proof is for a stale account version")
        msg = assessment_settlement_message(b["member"], b["index"], b["cycle"], b["request_id"])
        _verify_sig(a.key, msg, b["sig"], b["member"])
        st = assessment_cash_statement(b["cycle"], a.version, b["member"], a.cash, a.pos, self.state.scenario_set,
                                       a.due, signing.encode_tuple(*msg))
        try:
            verify(st, _proof(st, b["proof"]))
        except VerificationError:
            raise InvalidArgument("the proof that cash covers the assessment does not verify") from None

    def check_invariants(self) -> None:
        """The public invariants of DESIGN §4 on the current state:
        positions (members plus the public auction book) net to zero per
        instrument; the cycle's VM (members plus the auction book's public
        VM) sums to zero; sum_j (cash_j + df_j - due_j) + residue equals
        G*(deposits - withdrawals - charges), where the residue is the sum of
        the pro-rata shares' zero-commitments (see State.residue); the public
        books balance."""
        s = self.state
        zero = self.alg.zero()
        members = [s.members[m] for m in sorted(s.members)]
        for i, inst in enumerate(s.instrument_ids()):
            total = self.alg.public(s.books["auction_pos"][i])
            for a in members:
                total = total + a.pos[i]
            if not total.is_identity():
                raise LedgerCorrupted(f"positions in {inst} do not net to zero")
        vm = zero
        for v in s.vm.values():
            vm = vm + v
        if not vm.is_identity():
            raise LedgerCorrupted("the cycle's VM commitments do not sum to zero")
        total = zero if s.residue is None else s.residue
        for a in members:
            total = total + a.cash + a.df
            if a.due is not None:
                total = total - a.due
        f, b = s.flows, s.books
        if total != self.alg.public(f["deposits"] - f["withdrawals"] - f["charges"]):
            raise LedgerCorrupted("cash and default fund do not match public deposits and withdrawals")
        if b["auction_cash"] + b["default_account"] != f["charges"] + b["ccp_capital"]:
            raise LedgerCorrupted("the public default-management books do not balance")

    def expected_digest(self) -> bytes:
        prev = bytes.fromhex(self.state.digests[-1]) if self.state.digests else bytes(32)
        return cycle_digest(self.state.cycle, prev, self.head, state_hash(self.state))

    def _v_close(self, b):
        if set(b) != {"kind", "cycle", "digest", "request_id", "node_sig"}:
            raise InvalidArgument("close fields")
        self._check_cycle(b["cycle"])
        _ident("request id", b["request_id"])
        if self.state.phase != "margin" or not self.state.margin_done:
            raise FailedPrecondition("a cycle closes after settlement and the margin batch")
        open_calls = sorted(m for m, a in self.state.members.items() if a.status in (STATUS_CALL, STATUS_PAYMENT))
        if open_calls:
            raise FailedPrecondition(f"open margin calls: {open_calls}; cure or declare default first")
        if self.state.pending_defaults or self.state.dm is not None:
            raise FailedPrecondition("a default event is not finished")
        unpaid = sorted(m for m, a in self.state.members.items() if a.due is not None and a.status == STATUS_ACTIVE)
        if unpaid:
            raise FailedPrecondition(f"unpaid assessments: {unpaid}; settle them or declare default first")
        self.check_invariants()
        if b["digest"] != self.expected_digest().hex():
            raise InvalidArgument("cycle digest does not match the ledger")
        _verify_sig(self._cfg()["keys"]["node"], digest_message(b["cycle"], bytes.fromhex(b["digest"])),
                    b["node_sig"], "the clearing node")


# ---------------------------------------------------------------------------
# The durable head marker: no silent loss of acknowledged events
# ---------------------------------------------------------------------------
def marker_path(db_path) -> Path:
    """The node's head marker beside its database: ``<db>.head``."""
    return Path(str(db_path) + ".head")


def read_marker(db_path) -> tuple[int, str] | None:
    """(seq, chain head hex) of the last event this node acknowledged, or
    None when there is no marker (a new node)."""
    p = marker_path(db_path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        seq, head = data["seq"], data["head"]
        if not isinstance(seq, int) or not isinstance(head, str) or len(head) != 64:
            raise ValueError
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise LedgerCorrupted(f"the head marker {p.name} is unreadable; restore it or the ledger from a backup") \
            from None
    return seq, head


def write_marker(db_path, seq: int, head: bytes) -> None:
    """Record (seq, head) durably: write a temporary file, fsync it, rename it
    over the marker and fsync the directory -- after the SQLite commit
    (synchronous=FULL) and before the request is acknowledged."""
    p = marker_path(db_path)
    tmp = p.with_name(p.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps({"seq": seq, "head": head.hex()}).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, p)
    dfd = os.open(p.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _check_marker(led: Ledger, seq: int) -> None:
    """Refuse a ledger that is shorter than, or forks from, what this node
    acknowledged (a deleted, truncated or replaced database, a lost WAL)."""
    mark = read_marker(led.path)
    if mark is None:
        return
    mseq, mhead = mark
    if mseq > seq:
        raise LedgerCorrupted(f"the ledger holds {seq} events but this node acknowledged {mseq}: the database "
                              "(or its WAL) was lost or replaced; restore it from a backup")
    rows = led.events_with_hashes(mseq - 1, 1) if mseq > 0 else []
    if mseq > 0 and (not rows or rows[0][2].hex() != mhead):
        raise LedgerCorrupted(f"the ledger's event {mseq} differs from the one this node acknowledged "
                              "(a forked or replaced database); restore it from a backup")


# ---------------------------------------------------------------------------
# The engine: Core + persistence + request API
# ---------------------------------------------------------------------------
class Engine(Core):
    """The blind clearing node, persisted in one SQLite database.

    Open with :meth:`create` (new ledger, operator-signed genesis) or
    :meth:`open` (replays the log, checks the chain and the stored derived
    state).  ``node_key`` is the node's Ed25519 private key; it signs cycle
    digests and is never stored in the database.

    Every mutating method takes a ``request_id``: (actor, request id) is
    unique; repeating a request returns the original result and changes
    nothing, the same id with different content is AlreadyExists.  Each
    returns a dict with at least ``seq`` (the event's sequence number)."""

    def __init__(self, ledger: Ledger, node_key):
        super().__init__()
        self.ledger = ledger
        self._node_key = node_key

    def __repr__(self) -> str:
        return f"Engine(path={self.ledger.path!r}, seq={self.state.seq}, cycle={self.state.cycle})"

    @classmethod
    def create(cls, path: str, config: dict, op_sig: bytes, node_key) -> "Engine":
        led = Ledger(path)
        if led.head()[0] != 0:
            led.close()
            raise FailedPrecondition("database already holds a ledger; use Engine.open")
        try:
            _check_marker(led, 0)
        except BaseException:
            led.close()
            raise
        eng = cls(led, node_key)
        eng.head = led.head()[1]
        eng._commit({"kind": "genesis", "config": config, "op_sig": _h(op_sig)}, None, None)
        return eng

    @classmethod
    def open(cls, path: str, node_key, *, verify_proofs: bool = False) -> "Engine":
        """Reopen: verify the hash chain, replay every event through the fold
        (with ``verify_proofs`` also through every check, as the auditor
        does), compare with the stored derived state.  LedgerCorrupted if
        anything disagrees."""
        from .ledger import GENESIS_HASH, chain_hash

        led = Ledger(path)
        try:
            _, head_hash = led.verify_chain()
            eng = cls(led, node_key)
            eng.head = GENESIS_HASH
            for seq, body in led.events():
                if verify_proofs:
                    try:
                        eng.verify_event(body)
                    except ZkclearError as exc:
                        raise LedgerCorrupted(f"event {seq} does not verify: {exc}") from None
                try:
                    eng.apply(seq, body)
                except (KeyError, TypeError, ValueError, IndexError, AttributeError, DecodeError) as exc:
                    raise LedgerCorrupted(f"event {seq} cannot be replayed: {type(exc).__name__}") from None
                eng.head = chain_hash(eng.head, seq, body)
            if eng.head != head_hash:
                raise LedgerCorrupted("replayed chain head differs from the stored head")
            led.check_derived(snapshot(eng.state))
            _check_marker(led, eng.state.seq)
            stale = [t for t in led.relay_trades() if eng.state.trades.get(t, {}).get("status") != "pending"]
            led.relay_drop(stale)
        except BaseException:
            led.close()
            raise
        if eng.state.config is not None and eng.state.config["keys"]["node"] != _node_pub(node_key):
            led.close()
            raise PermissionDenied("node key does not match the ledger's genesis")
        return eng

    def close(self) -> None:
        self.ledger.close()

    # -- internals -----------------------------------------------------------
    def _commit(self, body: dict, request: tuple[str, str, Any] | None, result_fn, extra=None) -> dict:
        """verify -> fold on a copy -> append atomically -> swap state."""
        self.verify_event(body)
        new = self.state.copy()
        seq = self.state.seq + 1
        apply_event(new, seq, body, self.alg)
        result = {"seq": seq}
        if result_fn is not None:
            result.update(result_fn(new))
        req = None
        if request is not None:
            actor, rid, chash = request
            req = (actor, rid, chash, result)
        _, h = self.ledger.append(body, snapshot(new), req, extra)
        self.state, self.head = new, h
        if self.ledger.path != ":memory:":
            write_marker(self.ledger.path, seq, h)
        return result

    def _idempotent(self, actor: str, request_id, content: dict):
        """(stored result, None) for a repeated request, else (None, request
        tuple).  ``content`` is what the client sent (not derived fields), so
        a retry after the ledger moved on is still recognised."""
        _ident("request id", request_id)
        chash = content_hash(content)
        found = self.ledger.lookup_request(actor, request_id)
        if found is not None:
            if found[0] != chash:
                raise AlreadyExists(f"request id {shown(request_id)} was used for a different request")
            return found[2], None
        return None, (actor, request_id, chash)

    def _run(self, actor: str, request_id, body: dict, result_fn=None, extra=None, content=None) -> dict:
        done, req = self._idempotent(actor, request_id, body if content is None else content)
        if done is not None:
            return done
        return self._commit(body, req, result_fn, extra)

    # -- requests --------------------------------------------------------------
    def admit(self, member: str, key: bytes, relay_key: bytes, relay_sig: bytes, op_sig: bytes, request_id: str) -> dict:
        """Operator-signed admission of a member's identity key and its
        identity-signed X25519 relay key."""
        body = {"kind": "admit", "member": member, "key": _h(key), "relay_key": _h(relay_key),
                "relay_sig": _h(relay_sig), "op_sig": _h(op_sig)}
        return self._run(OPERATOR, request_id, body)

    def deposit(self, member: str, amount: int, cycle: int, sig: bytes, request_id: str) -> dict:
        """A member-signed public deposit: cash += amount*G.  The signature
        covers (member, amount, cycle, request id), so it cannot be replayed."""
        body = {"kind": "deposit", "member": member, "amount": amount, "cycle": cycle,
                "request_id": request_id, "sig": _h(sig)}
        return self._run(member, request_id, body)

    def fund_default(self, member: str, df, epoch: int, ctx_seq: int, proof: bytes, sig: bytes,
                     request_id: str) -> dict:
        """Default-fund funding out of cash: cash -= C_df, df = C_df, with a
        DefaultFunding range proof bound to the account version ``ctx_seq``."""
        df_hex = df.encode().hex() if isinstance(df, Point) else _h(_hexbytes("df", df, 32))
        body = {"kind": "df-fund", "member": member, "epoch": epoch, "df": df_hex, "ctx_seq": ctx_seq,
                "proof": _h(proof), "request_id": request_id, "sig": _h(sig)}
        return self._run(member, request_id, body)

    def submit_trade(self, trade: dict, proof: bytes, sig: bytes, sealed_counterparty: bytes,
                     sealed_prover: bytes, request_id: str) -> dict:
        """The initiator's trade: T, its validity proof, its signature over the
        trade tuple, and the opening sealed to the counterparty and to the
        prover service (stored in the relay table, outside the ledger)."""
        trade = dict(trade)
        if isinstance(trade.get("T"), Point):
            trade["T"] = trade["T"].encode().hex()
        if not isinstance(trade.get("side"), str) or trade["side"] not in ("buy", "sell"):
            raise InvalidArgument("side must be 'buy' or 'sell'")
        initiator = trade.get("buyer") if trade["side"] == "buy" else trade.get("seller")
        counterparty = trade.get("seller") if trade["side"] == "buy" else trade.get("buyer")
        _ident("initiator", initiator)
        _ident("counterparty", counterparty)
        sc = _hexbytes("sealed opening", sealed_counterparty, max_size=MAX_SEALED_BYTES)
        sp = _hexbytes("sealed opening", sealed_prover, max_size=MAX_SEALED_BYTES)
        body = {"kind": "trade", "trade": trade, "proof": _h(proof), "request_id": request_id, "sig": _h(sig)}
        content = dict(body, sealed=[_h(sc), _h(sp)])
        tid = trade.get("trade_id")

        def relay(cur):
            cur.execute("INSERT OR REPLACE INTO relay (trade_id, recipient, sealed) VALUES (?, ?, ?)",
                        (tid, counterparty, sc))
            cur.execute("INSERT OR REPLACE INTO relay (trade_id, recipient, sealed) VALUES (?, ?, ?)",
                        (tid, PROVER, sp))

        return self._run(initiator, request_id, body, extra=relay, content=content)

    def relayed(self, trade_id: str, recipient: str) -> bytes:
        """The sealed opening waiting for ``recipient`` (counterparty id or
        "prover"); NotFound once the trade is novated or expired."""
        sealed = self.ledger.relay_get(trade_id, recipient)
        if sealed is None:
            raise NotFound(f"no relayed opening of trade {shown(trade_id)} for {shown(recipient)}")
        return sealed

    def trade(self, trade_id: str) -> dict:
        """The public record of a trade (terms, T, status)."""
        t = self.state.trades.get(trade_id)
        if t is None:
            raise NotFound(f"unknown trade {shown(trade_id)}")
        return dict(t)

    def _after_trade_step(self, tid):
        def fn(new: State):
            return {"status": new.trades[tid]["status"]}
        return fn

    def affirm(self, trade_id: str, member: str, sig: bytes, request_id: str) -> dict:
        """The counterparty's signed affirmation (after it decrypted and
        checked the opening).  Novates when the prover's receipt is in too;
        the relayed ciphertexts are then dropped."""
        body = {"kind": "affirm", "trade_id": trade_id, "member": member, "request_id": request_id, "sig": _h(sig)}
        res = self._run(member, request_id, body, self._after_trade_step(trade_id))
        self._drop_relay(trade_id)
        return res

    def receipt(self, trade_id: str, sig: bytes, request_id: str) -> dict:
        """The prover service's signed receipt: it holds an opening of T."""
        body = {"kind": "receipt", "trade_id": trade_id, "request_id": request_id, "sig": _h(sig)}
        res = self._run(PROVER, request_id, body, self._after_trade_step(trade_id))
        self._drop_relay(trade_id)
        return res

    def _drop_relay(self, trade_id: str) -> None:
        t = self.state.trades.get(trade_id)
        if t is not None and t["status"] != "pending":
            self.ledger.relay_drop([trade_id])

    def settle(self, cycle: int, prices: Sequence[int], scenario_set: dict, op_sig: bytes, request_id: str) -> dict:
        """Operator-signed settlement prices and scenario set; applies VM."""
        body = {"kind": "settle", "cycle": cycle, "prices": list(prices), "scenario_set": dict(scenario_set),
                "request_id": request_id, "op_sig": _h(op_sig)}
        return self._run(OPERATOR, request_id, body)

    def submit_margin_batch(self, cycle: int, entries: Sequence[dict], sig: bytes, request_id: str) -> dict:
        """The prover service's margin proofs for the cycle, verified as one
        batch.  Returns {"seq", "results": {member: pass|call|payment}}."""
        entries = [dict(e, proof=_h(_hexbytes("proof", e.get("proof")))) for e in entries]
        content = {"kind": "margin-batch", "cycle": cycle, "entries": entries, "request_id": request_id,
                   "sig": _h(sig)}
        done, req = self._idempotent(PROVER, request_id, content)
        if done is not None:
            return done
        self._check_cycle(cycle)
        if self.state.phase != "margin" or self.state.margin_done:
            raise FailedPrecondition("margin proofs are collected once per cycle, after settlement")
        for e in entries:
            if set(e) != {"member", "solvency_only", "ctx_seq", "proof"}:
                raise InvalidArgument("each entry has member, solvency_only, ctx_seq, proof")
            self._member(e["member"])
            if not isinstance(e["ctx_seq"], int) or not isinstance(e["solvency_only"], bool):
                raise InvalidArgument("each entry has member, solvency_only, ctx_seq, proof")
        results = self.margin_results(cycle, entries)
        self._batch_cache = ((self.state.seq, content_hash(entries)), results)
        body = dict(content, results=results)
        return self._commit(body, req, lambda new: {"results": results})

    def cure(self, cycle: int, member: str, solvency_only: bool, ctx_seq: int, proof: bytes, sig: bytes,
             request_id: str) -> dict:
        """A called member's re-proof (after a cure deposit), submitted by the
        prover service: a full proof clears the call; a solvency-only proof
        turns a payment default candidate into an IM call."""
        body = {"kind": "margin-cure", "cycle": cycle, "member": member, "solvency_only": solvency_only,
                "ctx_seq": ctx_seq, "proof": _h(proof), "request_id": request_id, "sig": _h(sig)}
        return self._run(PROVER, request_id, body)

    def withdraw(self, member: str, amount: int, cycle: int, ctx_seq: int, proof: bytes, sig: bytes,
                 request_id: str) -> dict:
        """A member-signed withdrawal with the prover's Withdrawal proof
        (margin on cash - w); refused for called or defaulted members."""
        body = {"kind": "withdraw", "member": member, "amount": amount, "cycle": cycle,
                "ctx_seq": ctx_seq, "proof": _h(proof), "request_id": request_id, "sig": _h(sig)}
        return self._run(member, request_id, body)

    def set_ccp_parameters(self, cycle: int, sitg1: int, sitg2: int, cap: int, op_sig: bytes,
                           request_id: str) -> dict:
        """Operator-signed new skin-in-the-game tranches (SITG 1, SITG 2, what
        is left of each from now on) and assessment cap multiple; refused while
        a default event is declared or in progress."""
        body = {"kind": "ccp-params", "cycle": cycle, "skin_in_the_game_1": sitg1, "skin_in_the_game_2": sitg2,
                "assessment_cap_multiple": cap, "request_id": request_id, "op_sig": _h(op_sig)}
        return self._run(OPERATOR, request_id, body)

    def declare_default(self, cycle: int, member: str, op_sig: bytes, request_id: str) -> dict:
        """The operator-signed default declaration of a called member."""
        body = {"kind": "default", "cycle": cycle, "member": member, "request_id": request_id, "op_sig": _h(op_sig)}
        return self._run(OPERATOR, request_id, body)

    def close_cycle(self, cycle: int, request_id: str) -> dict:
        """Close the cycle: invariants, digest signed by the node, next cycle.

        The digest covers the chain head before the close event and the full
        derived state; the close event records it with the node's signature."""
        done, req = self._idempotent(NODE, request_id, {"kind": "close", "cycle": cycle})
        if done is not None:
            return done
        self._check_cycle(cycle)
        if self.state.phase != "margin" or not self.state.margin_done:
            raise FailedPrecondition("a cycle closes after settlement and the margin batch")
        digest = self.expected_digest()
        sig = signing.sign(self._node_key, *digest_message(cycle, digest))
        body = {"kind": "close", "cycle": cycle, "digest": digest.hex(), "request_id": request_id, "node_sig": sig.hex()}
        expired = [tid for tid, t in self.state.trades.items() if t["status"] == "pending"]
        res = self._commit(body, req, lambda new: {"cycle": cycle, "digest": digest.hex()})
        self.ledger.relay_drop(expired)
        return res

    def open_epoch_total(self, cycle: int, epoch: int, members, D: int, proof: bytes, sig: bytes,
                         request_id: str) -> dict:
        """The prover's opening of the epoch's default-fund total D over all
        members not in default; closes the epoch (funding reopens, for
        top-ups and replenishment, in the next one)."""
        body = {"kind": "df-epoch", "cycle": cycle, "epoch": epoch, "members": list(members), "D": D,
                "proof": _h(proof), "request_id": request_id, "sig": _h(sig)}
        return self._run(PROVER, request_id, body)

    # -- default management ------------------------------------------------------
    def dm_open(self, cycle: int, defaulters, survivors, D0: int, D0_proof: bytes, disclosures: dict, sig: bytes,
                request_id: str) -> dict:
        """The prover service opens the default event: every defaulter's
        accounts disclosed (reveal proofs against the node's commitments) and
        the survivors' snapshot total D0 (aggregate opening)."""
        body = {"kind": "dm-open", "cycle": cycle, "defaulters": list(defaulters), "survivors": list(survivors),
                "D0": D0, "D0_proof": _h(D0_proof),
                "disclosures": {m: {"values": list(d["values"]), "proof": _h(d["proof"])} for m, d in disclosures.items()},
                "request_id": request_id, "sig": _h(sig)}
        return self._run(PROVER, request_id, body, lambda new: {"index": len(new.reports) if new.dm is None
                                                                 else new.dm["index"]})

    def dm_closeout(self, cycle: int, index: int, prices: Sequence[int], lots: Sequence[dict], op_sig: bytes,
                    request_id: str) -> dict:
        """The operator-signed close-out prices and auction lots (see
        ``closeout_message``; ``book_lots`` gives everything to the public
        auction book); runs the public tranches.  Returns the pending pro-rata
        allocations ({purpose: amount}) if any."""
        body = {"kind": "dm-closeout", "cycle": cycle, "index": index, "prices": list(prices),
                "lots": [dict(lot) for lot in lots], "request_id": request_id, "op_sig": _h(op_sig)}
        return self._run(OPERATOR, request_id, body,
                         lambda new: {"need": {} if new.dm is None else dict(new.dm["need"])})

    def dm_shares(self, cycle: int, index: int, purpose: str, R: int, shares, total: int, proof: bytes,
                  total_proof: bytes, sig: bytes, request_id: str) -> dict:
        """The prover's pro-rata allocation of a tranche over the survivors."""
        body = {"kind": "dm-shares", "cycle": cycle, "index": index, "purpose": purpose, "R": R,
                "shares": [p.encode().hex() if isinstance(p, Point) else p for p in shares], "total": total,
                "proof": _h(proof), "total_proof": _h(total_proof), "request_id": request_id, "sig": _h(sig)}
        return self._run(PROVER, request_id, body,
                         lambda new: {"need": {} if new.dm is None else dict(new.dm["need"])})

    def pay_assessment(self, member: str, index: int, amount: int, cycle: int, ctx_seq: int, proof: bytes,
                       sig: bytes, request_id: str) -> dict:
        """A member-signed deposit tagged to its assessment, with the prover's
        proof that it covers the committed payable (the rest goes to cash)."""
        body = {"kind": "assessment-pay", "member": member, "index": index, "amount": amount, "cycle": cycle,
                "ctx_seq": ctx_seq, "proof": _h(proof), "request_id": request_id, "sig": _h(sig)}
        return self._run(member, request_id, body)

    def settle_assessment(self, member: str, index: int, cycle: int, ctx_seq: int, proof: bytes, sig: bytes,
                          request_id: str) -> dict:
        """A member-signed settlement of its assessment payable from hidden
        cash, with the prover's margin proof on cash - due (DESIGN §6.4)."""
        body = {"kind": "assessment-settle", "member": member, "index": index, "cycle": cycle,
                "ctx_seq": ctx_seq, "proof": _h(proof), "request_id": request_id, "sig": _h(sig)}
        return self._run(member, request_id, body)

    def default_reports(self) -> list[dict]:
        """The default reports of DESIGN §6.5 (JSON-able), one per event."""
        return [_deepcopy_json(r) for r in self.state.reports]

    # -- public reads -------------------------------------------------------------
    def account(self, member: str) -> dict:
        """The member's public account: commitments (hex), status, version."""
        a = self.state.account(member)
        return {"cash": a.cash.encode().hex(), "df": a.df.encode().hex(), "pos": [p.encode().hex() for p in a.pos],
                "due": None if a.due is None else a.due.encode().hex(),
                "status": a.status, "version": a.version, "funded": a.funded}

    def events(self, since: int = 0) -> list[tuple[int, dict]]:
        return list(self.ledger.events(since))

    def events_with_hashes(self, since: int = 0, limit: int | None = None) -> list[tuple[int, dict, bytes]]:
        """(seq, body, chain hash) of the events after ``since``, in order
        (at most ``limit``): the public ledger as streamed to other parties."""
        return self.ledger.events_with_hashes(since, limit)

    def chain_head(self) -> tuple[int, bytes]:
        """(sequence number, chain hash) of the last stored event."""
        return self.ledger.head()

    def recorded(self, actor: str, request_id: str):
        """The stored result of ``actor``'s request ``request_id`` if the
        ledger already holds it, else None (no content check: see
        :meth:`_idempotent` for that)."""
        found = self.ledger.lookup_request(actor, request_id)
        return None if found is None else found[2]

    def status(self) -> dict:
        """The ledger's public status: head, cycle, phase, members,
        instruments (the genesis records), prices, cycle digests (the state
        hash is :meth:`state_digest`)."""
        s = self.state
        seq, head = self.chain_head()
        return {"seq": seq, "head": head, "genesis": s.config is not None, "cycle": s.cycle, "phase": s.phase,
                "margin_done": s.margin_done, "epoch": s.epoch, "cycle_seq": s.cycle_seq,
                "members": sorted(s.members),
                "instruments": [] if s.config is None else _deepcopy_json(s.config["instruments"]),
                "prices": list(s.prices), "digests": list(s.digests)}

    def pending_for(self, member: str) -> list[tuple[dict, bytes]]:
        """(trade, opening sealed to ``member``) of every pending trade
        awaiting ``member``'s affirmation as counterparty, by trade id."""
        out = []
        for tid, t in sorted(self.state.trades.items()):
            counterparty = t["seller"] if t["side"] == "buy" else t["buyer"]
            if t["status"] != "pending" or counterparty != member or t.get("affirmed"):
                continue
            sealed = self.ledger.relay_get(tid, member)
            if sealed is not None:
                out.append((dict(t), sealed))
        return out

    def default_event(self) -> dict | None:
        """The default event in progress (public data, a copy), else None."""
        return None if self.state.dm is None else _deepcopy_json(self.state.dm)

    def state_digest(self) -> str:
        """Hash of the full derived state (for restart comparisons)."""
        return state_hash(self.state).hex()


def report_table(report: dict) -> str:
    """The default report of DESIGN §6.5 as a human-readable table."""
    lines = [f"Default event {report['index']} (cycle {report['cycle']}): "
             f"defaulters {', '.join(r['member'] for r in report['defaulters'])}; "
             f"survivors {len(report['survivors'])}, D0 = {report['D0']}; disclosure {report['disclosure_policy']}"]
    for r in report["defaulters"]:
        lines.append(f"  {r['member']}: cash {r['cash']}, df {r['df']}, close-out loss X {r['X']}, "
                     f"loss {r['loss']}, residual {r['residual']}, estate surplus {r['estate_surplus']}")
    w = max(len(t["tranche"]) for t in report["waterfall"])
    lines.append(f"  {'tranche'.ljust(w)}  {'amount':>16}")
    for t in report["waterfall"]:
        lines.append(f"  {t['tranche'].ljust(w)}  {t['amount']:>16}")
    for name in ("rounding_residual", "uncovered_loss", "liquidity_line"):
        lines.append(f"  {name.ljust(w)}  {report[name]:>16}")
    lines.append(f"  total loss {report['loss']}; SITG1 {report['skin_in_the_game_1_before']} -> "
                 f"{report['skin_in_the_game_1_after']}, SITG2 {report['skin_in_the_game_2_before']} -> "
                 f"{report['skin_in_the_game_2_after']}")
    return "\n".join(lines)


def report_chart(report: dict, width: int = 40) -> str:
    """A text waterfall chart of a default report: one bar per tranche (and
    the rounding residual and the uncovered loss), scaled to the total loss;
    integer arithmetic only."""
    rows = [(t["tranche"], t["amount"]) for t in report["waterfall"]]
    rows += [("rounding_residual", report["rounding_residual"]), ("uncovered_loss", report["uncovered_loss"])]
    total = max(1, report["loss"])
    w = max(len(n) for n, _ in rows)
    out, start = [], 0
    for name, amount in rows:
        a, b = start * width // total, (start + amount) * width // total
        out.append(f"{name.ljust(w)} |{' ' * a}{'#' * max(b - a, 1 if amount else 0)}{' ' * max(0, width - b)}| {amount}")
        start += amount
    return "\n".join(out)


def _node_pub(node_key) -> str:
    return signing.public_key_bytes(node_key).hex()


# ---------------------------------------------------------------------------
# The auditor
# ---------------------------------------------------------------------------
@dataclass
class AuditReport:
    """What the auditor established by replaying the public ledger."""

    events: int
    cycles: int
    digests: list
    head: str
    state_hash: str


def audit(events: Iterable[tuple[int, dict]], *, operator_key: bytes | None = None,
          node_key: bytes | None = None) -> AuditReport:
    """Replay a public event list from scratch, re-verifying every signature
    and proof, recomputing every margin decision, the public invariants and
    every cycle digest (checking the node's signature on it) and the hash
    chain.  Raises LedgerCorrupted naming the first event that fails.

    ``operator_key`` / ``node_key`` (raw Ed25519 public keys the auditor
    trusts, e.g. from their certificates) anchor the replay: the genesis must
    name exactly these keys, otherwise a self-consistent ledger made up under
    other keys would pass."""
    from .ledger import GENESIS_HASH, chain_hash

    core = Core()
    core.head = GENESIS_HASH
    n = 0
    for seq, body in events:
        if seq != n + 1:
            raise LedgerCorrupted(f"event {n + 1} missing")
        if seq == 1:
            keys = body.get("config", {}).get("keys", {}) if isinstance(body, dict) else {}
            for name, want in (("operator", operator_key), ("node", node_key)):
                if want is not None and keys.get(name) != bytes(want).hex():
                    raise LedgerCorrupted(f"the ledger's genesis does not name the trusted {name} key")
        try:
            core.verify_event(body)
        except ZkclearError as exc:
            raise LedgerCorrupted(f"event {seq} ({body.get('kind')}) does not verify: {exc}") from None
        core.apply(seq, body)
        core.head = chain_hash(core.head, seq, body)
        n = seq
    return AuditReport(n, len(core.state.digests), list(core.state.digests), core.head.hex(),
                       state_hash(core.state).hex())


__all__ = [
    "Engine", "Core", "State", "Account", "PointAlgebra", "apply_event", "snapshot", "state_hash",
    "cycle_digest", "audit", "AuditReport", "book_lots", "closeout_message", "dm_open_message",
    "shares_message", "assessment_payment_message", "assessment_settlement_message", "assessment_cash_statement", "epoch_message", "epoch_statement", "report_table", "report_chart", "AUCTION", "trade_tuple", "trade_message", "affirmation_message",
    "receipt_message", "deposit_message", "funding_message", "withdrawal_message", "settlement_message",
    "margin_batch_message", "margin_proof_message", "default_message", "ccp_parameters_message", "digest_message", "genesis_message",
    "admission_message", "scenario_set_id", "margin_statement", "withdrawal_statement", "funding_statement",
    "trade_statement", "MAX_CYCLES", "MAX_TRADES", "PROVER", "OPERATOR", "NODE",
]
