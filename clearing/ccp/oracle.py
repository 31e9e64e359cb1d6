"""The plaintext clearing oracle: the whole clearing run of a scenario on
plain Python integers, no cryptography (DESIGN §4-§6, §10).

This is the reference the zero-knowledge engine is tested against, written so
that a CCP risk engineer can read it and sign it off.  Every amount is an int
in minor units (cents); prices are ints in price units; multipliers are minor
units per price unit per contract.  Division is floor division and appears in
exactly two places: the pro-rata share of tranche 4 and of tranche 6.

Independence (issue 12)
  The oracle keeps its own arithmetic (``vm``, ``closeout_loss``,
  ``defaulter_tranches``, ``mutual_waterfall``, ``pro_rata`` below;
  ``scenario_pnl`` and ``requirement`` in :mod:`clearing.ccp.oracle_margin`):
  it never imports :mod:`clearing.ccp.rules` (the rules written once for
  the engine's fold) nor :mod:`clearing.fold`, and imports nothing of the
  house but the scenario format (:mod:`clearing.ccp.scenario`) and its own
  ``oracle_*`` modules.  So the
  demo's and the tests' engine-vs-oracle cross-checks compare two
  implementations and can fail; ``tests/test_ccp_rules.py`` checks the
  imports and shows a one-unit perturbation of a fold rule being caught.
  The engine and the members' clients use the rules, not these helpers.

The run (``run_oracle``)
========================
Day 0
  Every member deposits ``cash + default_fund`` publicly and funds its
  default-fund contribution out of cash, so it starts with cash = the file's
  ``cash`` and df = ``default_fund``.  Day-0 trades are booked; day 0 settles
  at price0.  (A day-0 trade away from price0 is marked from its price to
  price0 like any trade; the demo's opening trades are all at price0.)
Day d >= 1, in this order
  1. Trades of day d are novated at their price p: buyer pos += q, seller
     pos -= q, and the trade's VM from p to the previous settlement is booked
     at once: buyer cash += (P_{d-1} - p) * mult * q, seller the negative
     ("trade VM").  Trades naming a member already in default are rejected
     (recorded, not booked).
  2. Settlement VM on every position (including the trades just booked):
     cash += sum_i (P_{d,i} - P_{d-1,i}) * mult_i * pos_i.  Together with 1.
     a trade of day d is marked exactly from p to P_d.
  3. Margin: requirement = max(0, -min_s sum_i A[s][i] * pos_i) with
     A[s][i] = shock[s][i] * mult_i (scenario 0 = no move) -- or, when the
     scenario set's model is expected shortfall with k tail scenarios, the
     mean of the k largest losses rounded up, at least 0
     (:mod:`clearing.ccp.oracle_margin`, issue 13).  A member whose
     cash < requirement is called for requirement - cash; the call is a
     *payment* call when cash < 0 (scenario 0, solvency, fails: unpaid VM)
     and an *IM* call otherwise.  If the call is <= its remaining liquidity
     it cures by one public deposit of the call rounded up to a multiple of
     the scenario's ``ccp.deposit_grid``, at most its remaining liquidity
     (``clearing.ccp.scenario.grid_deposit``): deposit = min(ceil(call / grid) *
     grid, liquidity); liquidity -= deposit, cash += deposit (so cash ends
     at or above the requirement).  Otherwise it deposits nothing and
     defaults.  Both kinds are treated alike.  The ``Call`` record keeps the
     call, the ``Cure`` record the deposit.  Day 0 is margined the same way.
     With a maintenance tier (issue 14 §2, ``margin_scenarios.maintenance``)
     a member below its requirement that also fails maintenance is not
     called but liquidated at once (rules in
     :mod:`clearing.ccp.oracle_liquidation`).
  4. All members that defaulted in 3. form one default event (below).
Checked every day (``invariants``): positions net to zero per instrument,
trade VM and settlement VM each sum to zero, cash is conserved.

Default event (DESIGN §6)
=========================
Snapshot: the survivors are the members not in default and not defaulting in
this event; their current df_j and D0 = sum_j df_j are snapshotted; defaulters
are excluded from D0.  For each defaulter (cash, df, positions as at the
default, after the day's VM and with no cure):
  X    = -sum_i (c_i - P_{d,i}) * mult_i * pos_i    (close-out at the variant's
         close-out prices c against today's settlement P_d)
  loss = max(0, X + u + max(0, -cash))              (u = unpaid assessment, 0
         unless the default is a cascade, see below)
  defaulter_margin       = min(loss, max(0, cash));  R1 = loss - defaulter_margin
  defaulter_default_fund = min(R1, df);              R2 = R1 - defaulter_default_fund
  estate_surplus         = max(0, cash - X - u) + (df - defaulter_default_fund)
  (the surplus is released to the defaulter's estate; its account is closed).
R = sum of R2 over the event's defaulters goes once through the mutual
tranches (``mutual_waterfall``):
  skin_in_the_game_1 = min(R, what is left of SITG1);  rem = R - that
  survivors' df: if rem >= D0 every survivor pays df_j in full, rem -= D0;
     else c_j = floor(rem * df_j / D0), residual k4 = rem - sum c_j
     (0 <= k4 < #survivors) is absorbed by the CCP, rem = 0;
  skin_in_the_game_2 = min(rem, what is left of SITG2);  rem -= that
  assessments (cap multiple a, on the snapshot df): if rem >= a * D0 each
     survivor owes a * df_j and the uncovered loss is rem - a * D0; else
     due_j = floor(rem * df_j / D0) and its residual k6 is absorbed by the
     CCP, uncovered 0.
  rounding_residual = k4 + k6.  Identity (raised on failure):
     sum of losses = defaulter_margin + defaulter_default_fund + SITG1
                     + survivors' df + SITG2 + assessments
                     + rounding_residual + uncovered_loss.
Issue 14 extends this (rules in :mod:`clearing.ccp.oracle_waterfall`): the
insurance fund draws min(R, its balance) before SITG1 (the mutual tranches
above then run on R minus that draw), and the uncovered loss U they leave
goes to VM gains haircutting (tranche 8, debited from the gaining
survivors' cash before the assessments are settled); only what that leaves
is uncovered, and its rounding residual joins rounding_residual.
Issue 14 §1 (a set with ``pretrade``; rules in :mod:`clearing.ccp.oracle_pretrade`):
an intraday run before step 1, a headroom check of every novation in step 1, H reset in step 3.
Survivors' cash (their initial margin) is never used.  Tranche 4 debits df_j.
Liquidity line: VM owed to winners that the defaulters did not pay,
sum of max(0, -cash at default).  Disclosure: fewer than three survivors ->
"individual", else "aggregate" (DESIGN §2).

Assessments and cascades (DESIGN §6.4 "Not paying is a default whose unpaid
amount joins that member's own tranche 1")
  Each survivor with due_j > 0 settles it the first way that works, in this
  order (survivors in snapshot order; each decides on its own account):
  1. *from hidden excess cash*, when cash - due_j >= its requirement
     max(0, -min_s sum_i A[s][i] pos_i) on its current positions (the engine
     debits the committed payable from cash with a margin proof on the
     result; nothing public but "paid"): cash -= due_j.  Recorded in
     ``assessments_paid_from_cash``.
  2. otherwise, when due_j <= its remaining liquidity (after any cure
     deposit of the day), *one tagged public deposit* d = min(ceil(due_j /
     grid) * grid, liquidity) (the call rule's rounding,
     ``clearing.ccp.scenario.grid_deposit``): liquidity -= d, and the account
     gets d - due_j >= 0 back as cash (the protocol's settlement proof is
     d - due_j >= 0).  Recorded in ``assessment_deposits`` {member: d}.
  3. otherwise it pays *nothing* (a partial deposit cannot settle the
     payable) and defaults.
  Either payment moves exactly due_j to the CCP's default account as a public
  charge (the engine books the charge when it creates the payable; the sum is
  public); ``assessments_paid`` is {member: due_j} over both paths.  The
  event's ``assessments`` tranche counts the full due
  (paid and unpaid): the unpaid part is a claim on the failing member that
  is carried into a *new default event* on the same day, in which that
  member is the defaulter with u = its unpaid assessment in its own loss
  (so its own margin and remaining df absorb it first), its positions are
  closed out at the variant's close-out prices, and the residual goes through
  the mutual tranches again with a fresh snapshot of the remaining
  survivors' (already charged) df.  SITG1/SITG2 are finite: a later event
  uses only what earlier events left.  The assessment cap applies per event
  to that event's snapshot (no cooling-off period or capped total liability
  -- a later goal in DESIGN §6.4).  Contributions are not replenished within
  a run (replenishment is at the next epoch, outside a scenario).

Close-out and the auction book
  At the default the defaulter's positions move to the house and are sold at
  the close-out prices to the auction winners (outside the member set),
  leaving the house flat.  The oracle keeps the auction winners' public
  positions and cash in one ``auction`` book so that positions still net to
  zero and VM still sums to zero on later days.

Cash conservation (``invariants["cash_conservation"]``), checked at the end
of every day, two equalities:
  (a) sum over all members (defaulters included; a closed account is 0) of
      cash + df  ==  deposits - withdrawals - public_charges
  (b) auction.cash + default_account  ==  public_charges + ccp_capital
  where deposits = day-0 funding + cure deposits + assessment deposits d
  (the rounding excess d - due_j stays in the member's cash);
  withdrawals = estate surpluses released; public_charges = the net public
  amount moved from member accounts to the CCP's public books: close-out
  transfers X to the auction book, VM paid to the auction book on later
  days, survivors' df charges (their sum is public), assessment payments
  due_j (by either path),
  unpaid assessments transferred into a cascading defaulter's account,
  minus each defaulter's residual R2 taken over by the default account;
  ccp_capital = SITG1 + SITG2 used + rounding residuals absorbed; and
  (c) the default account, once the day's cascade is resolved, stands at
      minus the uncovered loss so far (unfunded claims of the winners).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction

from clearing.ccp import oracle_pretrade as pt  # issue 14 §1: headroom and intraday runs
from clearing.ccp.oracle_liquidation import liquidate_if_due, liquidations, reactivate  # issue 14 §2
from clearing.ccp.oracle_margin import integers as _ints  # the oracle's own scan and ES arithmetic (issue 13)
from clearing.ccp.oracle_margin import requirement as requirement  # re-exported: the scan requirement
from clearing.ccp.oracle_margin import requirement_rule
from clearing.ccp.oracle_margin import scenario_pnl as scenario_pnl  # re-exported
from clearing.ccp.oracle_waterfall import (
    CoolingOff,
    collateral_consumed,
    cooling_off_limit,
    cooling_off_window,
    draw_insurance_fund,
    limit_assessments,
    vm_gains_haircut,
)
from clearing.ccp.scenario import Scenario, ScenarioError, grid_deposit, load_scenario, scenario_matrix

TRANCHES = ("defaulter_margin", "defaulter_default_fund", "insurance_fund", "skin_in_the_game_1",
            "survivors_default_fund", "skin_in_the_game_2", "assessments", "vm_gains_haircut")


class OracleError(RuntimeError):
    """An accounting identity failed: a bug, never a property of the input."""


def _same_len(**seqs: Sequence) -> int:
    lens = {k: len(v) for k, v in seqs.items()}
    if len(set(lens.values())) != 1:
        raise ValueError(f"dimension mismatch: {lens}")
    return next(iter(lens.values()))


# ---------------------------------------------------------------------------
# pure helpers (the oracle's own arithmetic; also used by the tests)
# ---------------------------------------------------------------------------
def vm(prev_prices: Sequence[int], prices: Sequence[int], mults: Sequence[int], positions: Sequence[int]) -> int:
    """Variation margin of one account: sum_i (P_i - P_prev_i) * mult_i * pos_i."""
    _same_len(prev_prices=prev_prices, prices=prices, mults=mults, positions=positions)
    pp, p, m, q = (_ints(n, x) for n, x in (("prev_prices", prev_prices), ("prices", prices),
                                            ("mults", mults), ("positions", positions)))
    return sum((p[i] - pp[i]) * m[i] * q[i] for i in range(len(p)))


def pro_rata(R: int, dfs: Sequence[int]) -> tuple[list[int], int]:
    """Shares floor(R * df_j / D) with D = sum(dfs) > 0, and the rounding
    residual k = R - sum(shares), 0 <= k < len(dfs) (DESIGN §6.4).  When
    R <= D every share is <= df_j."""
    if isinstance(R, bool) or not isinstance(R, int) or R < 0:
        raise ValueError(f"R must be a non-negative integer, got {R!r}")
    d = _ints("dfs", dfs)
    if any(x < 0 for x in d):
        raise ValueError("contributions must be non-negative")
    D = sum(d)
    if D <= 0:
        raise ValueError("pro rata needs a positive total contribution")
    shares = [R * x // D for x in d]
    return shares, R - sum(shares)


def closeout_loss(close_prices: Sequence[int], settle_prices: Sequence[int], mults: Sequence[int],
                  positions: Sequence[int]) -> int:
    """X = -sum_i (c_i - P_i) * mult_i * pos_i: what selling the positions at the
    close-out prices c loses against the last settlement P (negative = gain)."""
    return -vm(settle_prices, close_prices, mults, positions)


@dataclass(frozen=True)
class DefaulterTranches:
    loss: int
    defaulter_margin: int
    defaulter_default_fund: int
    residual: int          # R2, to the mutual tranches
    estate_surplus: int    # released to the defaulter's estate


def defaulter_tranches(closeout_loss: int, cash: int, df: int, unpaid_assessment: int = 0) -> DefaulterTranches:
    """Tranches 1-2 of one defaulter (DESIGN §6.2):
    loss = max(0, X + u + max(0, -cash)); margin = min(loss, max(0, cash));
    R1 = loss - margin; default fund = min(R1, df); R2 = R1 - that;
    estate surplus = max(0, cash - X - u) + df - default fund.
    ``unpaid_assessment`` u >= 0 is an assessment this member failed to pay
    (a cascade default); it is 0 for a margin default."""
    X, cash, df, u = _ints("defaulter_tranches", (closeout_loss, cash, df, unpaid_assessment))
    if df < 0 or u < 0:
        raise ValueError("df and the unpaid assessment must be non-negative")
    loss = max(0, X + u + max(0, -cash))
    margin = min(loss, max(0, cash))
    r1 = loss - margin
    ddf = min(r1, df)
    surplus = max(0, cash - X - u) + (df - ddf)
    return DefaulterTranches(loss, margin, ddf, r1 - ddf, surplus)


@dataclass(frozen=True)
class MutualWaterfall:
    R: int
    D0: int
    skin_in_the_game_1: int
    survivor_charges: tuple[int, ...]      # c_j, in the order of the survivors given
    survivors_default_fund: int            # sum c_j
    default_fund_in_full: bool             # rem >= D0: everyone paid df_j
    default_fund_residual: int             # k4
    skin_in_the_game_2: int
    assessments_due: tuple[int, ...]       # due_j
    assessments: int                       # sum due_j
    assessments_capped: bool               # rem >= a * D0: everyone owes a * df_j
    assessment_residual: int               # k6
    rounding_residual: int                 # k4 + k6, absorbed by the CCP
    uncovered_loss: int


def mutual_waterfall(R: int, survivor_dfs: Sequence[int], sitg1: int, sitg2: int, cap_multiple: int) -> MutualWaterfall:
    """Tranches 3-6 for the summed residual R of one default event (DESIGN
    §6.3-§6.4), on the survivors' snapshot contributions.  ``sitg1``/``sitg2``
    are the amounts of each tranche still available."""
    R, sitg1, sitg2, a = _ints("mutual_waterfall", (R, sitg1, sitg2, cap_multiple))
    dfs = _ints("survivor_dfs", survivor_dfs)
    if min([R, sitg1, sitg2, a, *dfs]) < 0:
        raise ValueError("mutual_waterfall: all inputs must be non-negative")
    D0 = sum(dfs)
    t3 = min(R, sitg1)
    rem = R - t3
    if rem >= D0:                       # includes D0 == 0 (no survivors or no fund left)
        charges, full4, k4 = list(dfs), True, 0
        rem -= D0
    else:
        charges, k4 = pro_rata(rem, dfs)
        full4 = False
        rem = 0
    t5 = min(rem, sitg2)
    rem -= t5
    if rem >= a * D0:                   # includes a == 0 and D0 == 0
        dues, capped, k6 = [a * x for x in dfs], True, 0
        uncovered = rem - a * D0
    else:
        dues, k6 = pro_rata(rem, dfs)
        capped, uncovered = False, 0
    mw = MutualWaterfall(R, D0, t3, tuple(charges), sum(charges), full4, k4, t5, tuple(dues), sum(dues),
                         capped, k6, k4 + k6, uncovered)
    if t3 + mw.survivors_default_fund + t5 + mw.assessments + mw.rounding_residual + uncovered != R:
        raise OracleError(f"mutual waterfall does not add up: {mw}")
    return mw


# ---------------------------------------------------------------------------
# result records
# ---------------------------------------------------------------------------
@dataclass
class Call:
    member: str
    amount: int
    kind: str          # "im" | "payment"


@dataclass
class Cure:
    member: str
    amount: int        # the public deposit: the call rounded up to the deposit grid, at most the liquidity


@dataclass
class Tranche:
    tranche: str
    amount: int


@dataclass
class DefaulterReport:
    member: str
    day: int
    event: int
    cause: str                     # "im" | "payment" (failed margin call) | "assessment" (cascade)
    cash: int                      # at the default
    df: int                        # at the default
    positions: dict[str, int]
    X: int                         # close-out loss
    unpaid_vm: int                 # max(0, -cash)
    unpaid_assessment: int
    loss: int
    defaulter_margin: int
    defaulter_default_fund: int
    residual: int                  # R2
    estate_surplus: int


@dataclass
class DefaultEvent:
    index: int
    day: int
    cause: str                     # "margin" | "assessment"
    defaulters: list[DefaulterReport]
    survivors: list[str]
    survivor_df_snapshot: dict[str, int]
    D0: int
    loss: int
    R: int
    waterfall: list[Tranche]
    survivor_charges: dict[str, int]
    survivors_default_fund_in_full: bool
    assessments_due: dict[str, int]
    assessments_capped: bool
    assessments_paid: dict[str, int]           # due_j of every survivor that paid, by either path
    assessments_unpaid: dict[str, int]
    assessments_paid_from_cash: list[str]      # paid from hidden excess cash (nothing public)
    assessment_deposits: dict[str, int]        # paid by a tagged public deposit d >= due_j (on the grid)
    default_fund_residual: int
    assessment_residual: int
    rounding_residual: int
    uncovered_loss: int
    liquidity_line: int
    skin_in_the_game_1_before: int
    skin_in_the_game_1_after: int
    skin_in_the_game_2_before: int
    skin_in_the_game_2_after: int
    disclosure_policy: str
    # issue 14 (clearing.ccp.oracle_waterfall): tranche 3 and 8, the gross loss
    insurance_fund_before: int = 0
    insurance_fund_after: int = 0
    vm_gains_haircut_rate: dict[str, int] = field(default_factory=lambda: {"U": 0, "G": 0})
    vm_gains_haircuts: dict[str, int] = field(default_factory=dict)   # h_j (private to the members)
    vm_gains_residual: int = 0
    collateral_consumed: dict[str, int] = field(default_factory=dict)
    gross_loss: int = 0
    assessment_limit: int | None = None        # the cooling-off limit, None without a period

    def tranche(self, name: str) -> int:
        for t in self.waterfall:
            if t.tranche == name:
                return t.amount
        raise KeyError(name)


@dataclass
class DayRecord:
    day: int
    settlement_prices: dict[str, int]
    trades: list[dict]
    rejected_trades: list[dict]
    trade_vm: dict[str, int]               # novation VM booked today (trade price -> previous settlement)
    vm: dict[str, int]                     # settlement VM (previous settlement -> today's)
    auction_vm: int                        # settlement VM of the auction book
    cash: dict[str, int]                   # after today's VM, before calls
    positions: dict[str, dict[str, int]]   # after today's trades
    requirement: dict[str, int]
    calls: list[Call]
    cures: list[Cure]
    defaults: list[str]
    default_events: list[int]
    cash_end: dict[str, int]               # end of day, members not in default
    df_end: dict[str, int]
    liquidity_end: dict[str, int]
    headroom_end: dict[str, int] = field(default_factory=dict)   # issue 14 §1: H per active member at day end


@dataclass
class OracleResult:
    scenario: str
    variant: str
    days: list[DayRecord]
    default_events: list[DefaultEvent]
    defaulted: list[str]
    rounding_residual: int
    uncovered_loss: int
    liquidity_line: int
    disclosure_policy: str
    invariants: dict[str, bool]
    ledger: dict[str, object]
    final: dict[str, dict]
    #: maintenance liquidations {member, day, penalty, remainder} (issue 14 §2, oracle_liquidation)
    liquidations: list[dict] = field(default_factory=list)
    #: issue 14 §1, oracle_pretrade: [{member, trade_id}], [{member, trade_id, deposit}], [{day, marks, results, cures}]
    pretrade_refusals: list[dict] = field(default_factory=list)
    pretrade_cures: list[dict] = field(default_factory=list)
    intraday: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------
@dataclass
class _Account:
    cash: int
    df: int
    pos: list[int]
    liquidity: int
    status: str = "active"      # "active" | "defaulted"


@dataclass
class _Ledger:
    deposits: int = 0
    withdrawals: int = 0
    public_charges: int = 0
    ccp_capital: int = 0
    default_account: int = 0
    auction_cash: int = 0
    auction_pos: list[int] = field(default_factory=list)


class _Run:
    def __init__(self, sc: Scenario, variant_name: str):
        self.sc = sc
        self.variant = sc.variant(variant_name)
        self.iids = sc.instrument_ids
        self.mults = list(sc.multipliers)
        self.matrix = scenario_matrix(sc)
        self.requirement = requirement_rule(sc, self.matrix)   # under the set's margin model
        self.acc = {m.id: _Account(0, 0, [0] * len(self.iids), m.liquidity) for m in sc.members}
        self.led = _Ledger(auction_pos=[0] * len(self.iids))
        self.sitg1 = sc.ccp.skin_in_the_game_1
        self.sitg2 = sc.ccp.skin_in_the_game_2
        self.insurance_fund = sc.ccp.insurance_fund
        self.day_vm: dict[str, int] = {}      # trade + settlement VM of the day, less haircuts (tranche 8)
        self.cooling_off: CoolingOff | None = None   # the running cooling-off period (oracle_waterfall)
        self.events: list[DefaultEvent] = []
        self.pt = pt.pretrade_state(self)     # the pre-trade limit's state, None without it (oracle_pretrade)
        self.inv = {"positions_net_zero": True, "vm_zero_sum": True, "cash_conservation": True,
                    "loss_identity": True}

    # -- helpers ---------------------------------------------------------------
    def _posdict(self, pos: Sequence[int]) -> dict[str, int]:
        return dict(zip(self.iids, pos))

    def active(self) -> list[str]:
        return [m for m, a in self.acc.items() if a.status == "active"]

    def _check_positions(self):
        for i in range(len(self.iids)):
            if sum(a.pos[i] for a in self.acc.values()) + self.led.auction_pos[i] != 0:
                self.inv["positions_net_zero"] = False

    def _check_cash(self):
        led = self.led
        members = sum(a.cash + a.df for a in self.acc.values())
        ok = (members == led.deposits - led.withdrawals - led.public_charges
              and led.auction_cash + led.default_account == led.public_charges + led.ccp_capital
              and led.default_account == -sum(e.uncovered_loss for e in self.events))
        if not ok:
            self.inv["cash_conservation"] = False

    # -- one default event -------------------------------------------------------
    def default_event(self, day: int, prices: Sequence[int], failing: list[tuple[str, str, int]], cause: str):
        """``failing``: (member, cause, unpaid assessment).  Returns the members
        that failed to pay this event's assessments, with their unpaid dues.

        Deliberately one readable procedure, step for step as DESIGN §6 states the waterfall, for a
        risk engineer to check against the rules text.
        """
        led, close = self.led, self.variant.close_out_prices
        names = [f[0] for f in failing]
        survivors = [m for m in self.active() if m not in names]
        snapshot = {m: self.acc[m].df for m in survivors}
        D0 = sum(snapshot.values())
        idx = len(self.events)
        reports: list[DefaulterReport] = []
        for member, why, owed in failing:
            a = self.acc[member]
            X = closeout_loss(close, prices, self.mults, a.pos)
            t = defaulter_tranches(X, a.cash, a.df, owed)
            reports.append(DefaulterReport(
                member=member, day=day, event=idx, cause=why, cash=a.cash, df=a.df, positions=self._posdict(a.pos),
                X=X, unpaid_vm=max(0, -a.cash), unpaid_assessment=owed, loss=t.loss,
                defaulter_margin=t.defaulter_margin, defaulter_default_fund=t.defaulter_default_fund,
                residual=t.residual, estate_surplus=t.estate_surplus))
            # close-out: positions to the auction winners at c; the defaulter pays X
            for i, q in enumerate(a.pos):
                led.auction_pos[i] += q
            a.pos = [0] * len(a.pos)
            a.cash -= X
            led.auction_cash += X
            led.public_charges += X
            # an unpaid assessment is a claim of the default account on this member
            a.cash -= owed
            led.default_account += owed
            led.public_charges += owed
            # tranche 2: own df; the residual R2 is taken over by the default account
            a.df -= t.defaulter_default_fund
            a.cash += t.defaulter_default_fund
            a.cash += t.residual
            led.default_account -= t.residual
            led.public_charges -= t.residual
            if a.cash < 0 or a.cash + a.df != t.estate_surplus:
                raise OracleError(f"defaulter {member}: account after tranches 1-2 is cash={a.cash}, df={a.df}, "
                                  f"expected estate surplus {t.estate_surplus}")
            led.withdrawals += a.cash + a.df          # surplus released to the estate
            a.cash = a.df = 0
            a.status = "defaulted"

        R = sum(r.residual for r in reports)
        s1_before, s2_before, if_before = self.sitg1, self.sitg2, self.insurance_fund
        ins = draw_insurance_fund(R, self.insurance_fund)     # tranche 3 (oracle_waterfall)
        self.insurance_fund -= ins
        mw = mutual_waterfall(R - ins, [snapshot[m] for m in survivors], self.sitg1, self.sitg2,
                              self.sc.ccp.assessment_cap_multiple)
        limit = self._cool_off(day, D0)
        if limit is not None and mw.assessments + mw.assessment_residual > limit:
            mw = limit_assessments(mw, limit, [snapshot[m] for m in survivors])
        if limit is not None and D0 and self.cooling_off is not None:
            self.cooling_off.used += Fraction(mw.assessments + mw.assessment_residual, D0)
        self.sitg1 -= mw.skin_in_the_game_1
        self.sitg2 -= mw.skin_in_the_game_2
        capital = ins + mw.skin_in_the_game_1 + mw.skin_in_the_game_2 + mw.rounding_residual
        led.ccp_capital += capital
        led.default_account += capital
        charges = dict(zip(survivors, mw.survivor_charges))
        for m, c in charges.items():           # tranche 4 debits df, never cash
            self.acc[m].df -= c
            led.default_account += c
            led.public_charges += c
        hc = vm_gains_haircut(mw.uncovered_loss, {m: self.day_vm.get(m, 0) for m in survivors})  # tranche 8
        for m, h in hc.haircuts.items():        # debited from cash before the assessments are settled
            self.acc[m].cash -= h
            self.day_vm[m] = self.day_vm.get(m, 0) - h
        led.public_charges += hc.haircut
        led.ccp_capital += hc.residual
        led.default_account += hc.haircut + hc.residual
        dues = dict(zip(survivors, mw.assessments_due))
        paid: dict[str, int] = {}
        unpaid: dict[str, int] = {}
        from_cash: list[str] = []
        deposits: dict[str, int] = {}
        for m, due in dues.items():
            a = self.acc[m]
            if due == 0:
                continue
            if a.cash - due >= self.requirement(a.pos):    # from hidden excess cash
                a.cash -= due
                from_cash.append(m)
            elif due <= a.liquidity:           # a tagged public deposit on the grid; the excess to cash
                dep = grid_deposit(due, a.liquidity, self.sc.ccp.deposit_grid)
                a.liquidity -= dep
                a.cash += dep - due
                led.deposits += dep
                deposits[m] = dep
            else:
                unpaid[m] = due
                continue
            led.public_charges += due          # due_j moves to the default account either way
            led.default_account += due
            paid[m] = due
        loss = sum(r.loss for r in reports)
        waterfall = [
            Tranche("defaulter_margin", sum(r.defaulter_margin for r in reports)),
            Tranche("defaulter_default_fund", sum(r.defaulter_default_fund for r in reports)),
            Tranche("insurance_fund", ins),
            Tranche("skin_in_the_game_1", mw.skin_in_the_game_1),
            Tranche("survivors_default_fund", mw.survivors_default_fund),
            Tranche("skin_in_the_game_2", mw.skin_in_the_game_2),
            Tranche("assessments", mw.assessments),
            Tranche("vm_gains_haircut", hc.haircut),
        ]
        rounding = mw.rounding_residual + hc.residual
        if loss != sum(t.amount for t in waterfall) + rounding + hc.uncovered:
            self.inv["loss_identity"] = False
            raise OracleError(f"event {idx}: loss {loss} != tranches {waterfall} + residual "
                              f"{rounding} + uncovered {hc.uncovered}")
        self.events.append(DefaultEvent(
            index=idx, day=day, cause=cause, defaulters=reports, survivors=survivors,
            survivor_df_snapshot=snapshot, D0=D0, loss=loss, R=R, waterfall=waterfall,
            survivor_charges=charges, survivors_default_fund_in_full=mw.default_fund_in_full,
            assessments_due=dues, assessments_capped=mw.assessments_capped,
            assessments_paid=paid, assessments_unpaid=unpaid,
            assessments_paid_from_cash=from_cash, assessment_deposits=deposits,
            default_fund_residual=mw.default_fund_residual, assessment_residual=mw.assessment_residual,
            rounding_residual=rounding, uncovered_loss=hc.uncovered,
            liquidity_line=sum(r.unpaid_vm for r in reports),
            skin_in_the_game_1_before=s1_before, skin_in_the_game_1_after=self.sitg1,
            skin_in_the_game_2_before=s2_before, skin_in_the_game_2_after=self.sitg2,
            disclosure_policy="individual" if len(survivors) < 3 else "aggregate",
            insurance_fund_before=if_before, insurance_fund_after=self.insurance_fund,
            vm_gains_haircut_rate=hc.rate, vm_gains_haircuts=dict(hc.haircuts), vm_gains_residual=hc.residual,
            assessment_limit=limit))
        return [(m, "assessment", due) for m, due in unpaid.items()]

    # -- one day ---------------------------------------------------------------
    def day(self, d: int) -> DayRecord:
        """One day of the run (DESIGN §5.3) as the module docstring lists it: novation, settlement
        VM, margin and cures, default events. Deliberately one readable procedure, in the rules'
        order, for a risk engineer to check."""
        sc, led = self.sc, self.led
        P = self.variant.settlement_prices[d]
        prev = self.variant.settlement_prices[d - 1] if d else P
        if d == 0:
            for member in sc.members:
                a = self.acc[member.id]
                led.deposits += member.cash + member.default_fund
                a.cash += member.cash + member.default_fund
                a.cash -= member.default_fund          # df funded out of cash (DESIGN §4)
                a.df += member.default_fund
        pt.intraday_run(self, d, prev)       # issue 14 §1: an intraday run on the variant's marks
        # 1. novation
        trade_vm = {m: 0 for m in self.active()}
        booked, rejected = [], []
        for k, t in enumerate(sc.trades):
            if t.day != d:
                continue
            td = {"buyer": t.buyer, "seller": t.seller, "instrument": t.instrument,
                  "quantity": t.quantity, "price": t.price}
            gone = [m for m in (t.buyer, t.seller) if self.acc[m].status != "active"]
            if gone:
                rejected.append({**td, "reason": f"member(s) in default: {', '.join(gone)}"})
                continue
            i = sc.instrument_index(t.instrument)
            if not pt.admits(self, d, k, t, i, prev, td, rejected):   # refused for lack of headroom
                continue
            v = (prev[i] - t.price) * self.mults[i] * t.quantity
            self.acc[t.buyer].pos[i] += t.quantity
            self.acc[t.seller].pos[i] -= t.quantity
            self.acc[t.buyer].cash += v
            self.acc[t.seller].cash -= v
            trade_vm[t.buyer] += v
            trade_vm[t.seller] -= v
            booked.append(td)
        if sum(trade_vm.values()) != 0:
            self.inv["vm_zero_sum"] = False
        self._check_positions()
        # 2. settlement VM
        settle_vm = {}
        for m in self.active():
            a = self.acc[m]
            settle_vm[m] = vm(prev, P, self.mults, a.pos)
            a.cash += settle_vm[m]
        self.day_vm = {m: trade_vm.get(m, 0) + v for m, v in settle_vm.items()}
        auction_vm = vm(prev, P, self.mults, led.auction_pos)
        led.auction_cash += auction_vm
        led.public_charges += auction_vm
        if sum(settle_vm.values()) + auction_vm != 0:
            self.inv["vm_zero_sum"] = False
        # 3. margin
        cash = {m: self.acc[m].cash for m in self.active()}
        positions = {m: self._posdict(self.acc[m].pos) for m in self.active()}
        reqs = {m: self.requirement(self.acc[m].pos) for m in self.active()}
        calls, cures = [], []
        failing: list[tuple[str, str, int]] = []
        for m in self.active():
            a = self.acc[m]
            if a.cash < reqs[m]:
                if liquidate_if_due(self, d, P, m, reqs[m], failing):  # fails maintenance (oracle_liquidation)
                    continue
                amount = reqs[m] - a.cash
                kind = "payment" if a.cash < 0 else "im"
                calls.append(Call(m, amount, kind))
                if amount <= a.liquidity:
                    dep = grid_deposit(amount, a.liquidity, sc.ccp.deposit_grid)
                    a.liquidity -= dep
                    a.cash += dep
                    led.deposits += dep
                    cures.append(Cure(m, dep))
                else:
                    failing.append((m, kind, 0))
        pt.margin_run(self, cash, reqs)
        # 4. default events (a cascade of assessment failures makes further events)
        defaults, ev_idx = [], []
        cause = "margin"
        while failing:
            defaults += [f[0] for f in failing]
            ev_idx.append(len(self.events))
            failing = self.default_event(d, P, failing, cause)
            pt.after_event(self, self.events[-1])
            cause = "assessment"
            reactivate(self)  # liquidated members that kept a remainder (oracle_liquidation)
        reactivate(self)
        self._check_positions()
        self._check_cash()
        act = self.active()
        return DayRecord(
            day=d, settlement_prices=self._posdict(P), trades=booked, rejected_trades=rejected,
            trade_vm=trade_vm, vm=settle_vm, auction_vm=auction_vm, cash=cash, positions=positions,
            requirement=reqs, calls=calls, cures=cures, defaults=defaults, default_events=ev_idx,
            cash_end={m: self.acc[m].cash for m in act}, df_end={m: self.acc[m].df for m in act},
            liquidity_end={m: self.acc[m].liquidity for m in act}, headroom_end=pt.headroom_end(self))

    def _cool_off(self, day: int, D0: int) -> int | None:
        """The cooling-off limit of an event on ``day`` (None: no cooling-off)."""
        cc = self.sc.ccp
        if not cc.cooling_off_cycles:
            return None
        self.cooling_off = cooling_off_window(self.cooling_off, day, cc.cooling_off_cycles)
        total = cc.assessment_total_cap_multiple
        return cooling_off_limit(cc.assessment_cap_multiple, cc.assessment_cap_multiple if total is None else total,
                                 self.cooling_off.used, D0)

    def _gross_losses(self, days: list[DayRecord]) -> None:
        """Each event's collateral consumed before the default, per defaulter,
        and its gross loss (:func:`clearing.ccp.oracle_waterfall.collateral_consumed`)."""
        initial = {m.id: m.cash + m.default_fund for m in self.sc.members}
        cures = [(d.day, c.member, c.amount) for d in days for c in d.cures] + pt.deposits(self)
        tagged = [(e.index, m, a) for e in self.events for m, a in e.assessment_deposits.items()]
        for e in self.events:
            e.collateral_consumed = {r.member: collateral_consumed(initial, cures, tagged, r.member, r.day, e.index,
                                                                   r.cash, r.df) for r in e.defaulters}
            e.gross_loss = sum(e.collateral_consumed.values()) + e.loss

    def run(self) -> OracleResult:
        days = [self.day(d) for d in range(self.variant.days)]
        self._gross_losses(days)
        led = self.led
        policy = "individual" if any(e.disclosure_policy == "individual" for e in self.events) else "aggregate"
        return OracleResult(
            scenario=self.sc.name, variant=self.variant.name, days=days, default_events=self.events,
            defaulted=[m for m, a in self.acc.items() if a.status == "defaulted"],
            rounding_residual=sum(e.rounding_residual for e in self.events),
            uncovered_loss=sum(e.uncovered_loss for e in self.events),
            liquidity_line=sum(e.liquidity_line for e in self.events),
            disclosure_policy=policy,
            invariants=dict(self.inv),
            ledger={"deposits": led.deposits, "withdrawals": led.withdrawals,
                    "public_charges": led.public_charges, "ccp_capital": led.ccp_capital,
                    "default_account": led.default_account, "auction_cash": led.auction_cash,
                    "auction_positions": self._posdict(led.auction_pos),
                    "skin_in_the_game_1_left": self.sitg1, "skin_in_the_game_2_left": self.sitg2,
                    "insurance_fund_left": self.insurance_fund},
            final={m: {"status": a.status, "cash": a.cash, "df": a.df, "positions": self._posdict(a.pos),
                       "liquidity": a.liquidity} for m, a in self.acc.items()},
            liquidations=liquidations(self), **pt.result_fields(self))


def run_oracle(scenario: Scenario | Mapping | str, variant_name: str) -> OracleResult:
    """Run the scenario's variant in plaintext; see the module docstring for
    every rule.  ``scenario`` may be a :class:`Scenario`, a dict or a path."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if not isinstance(variant_name, str):
        raise ScenarioError(f"variant name must be a string, got {variant_name!r}")
    return _Run(sc, variant_name).run()
