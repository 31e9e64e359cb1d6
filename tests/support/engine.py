"""In-process harness for the clearing engine: operator, node, prover's
witness store and members with real keys, driving the engine through its
public API the way the services do (sign, prove, seal, relay, affirm,
receipt, settle, margin, cure, default, close).

* :class:`Sim` -- one clearing house (engine on SQLite + witness store);
  :func:`basic_sim` -- three funded members on :data:`INSTRUMENTS`.
* :func:`run_scenario` -- every day of a scenario variant through the engine
  with the oracle's member behaviour (:func:`settle_assessment` for
  assessed survivors); :func:`waterfall_scenario` -- small scenario files
  shaped to reach a chosen part of the default waterfall.
* :func:`compare_with_oracle` -- the engine's public outcomes and the
  prover's openings equal the plaintext oracle's, day by day.

The harness's own check is tests/test_engine_harness.py."""
from __future__ import annotations

from clearing.node.audit import audit
from clearing.node.engine import Engine
from clearing.protocol import signing
from clearing.protocol.fields import PROVER
from clearing.protocol.headroom import set_id as headroom_set_id
from clearing.protocol.messages import (
    TRADE_FIELDS,
    admission_message,
    affirmation_message,
    assessment_payment_message,
    assessment_settlement_message,
    book_lots,
    closeout_message,
    default_message,
    deposit_message,
    funding_message,
    genesis_message,
    settlement_message,
    trade_message,
    trade_tuple,
    withdrawal_message,
)
from clearing.protocol.relay import generate_relay_key, open_opening, relay_public_bytes, seal_opening
from clearing.protocol.statements import trade_statement
from prover.custody.witness import WitnessStore
from prover.statements import prove
from zkp.field import SeededRng, random_scalar
from zkp.generators import generators
from zkp.pedersen import Opening


class Member:
    def __init__(self, mid: str):
        self.id = mid
        self.sk = signing.generate_identity_key()
        self.relay = generate_relay_key()
        self.pk = signing.public_key_bytes(self.sk)
        self.rpk = relay_public_bytes(self.relay)
        self.seen_T: set[str] = set()

    def sign(self, msg) -> bytes:
        return signing.sign(self.sk, *msg)


class Sim:
    """One clearing house: engine (SQLite at ``path``) + prover witness store."""

    def __init__(self, path, instruments, ccp=None, seed=b"sim"):
        self.path = str(path)
        self.rng = SeededRng(seed)
        self.op_sk = signing.generate_identity_key()
        self.node_sk = signing.generate_identity_key()
        self.prover_sk = signing.generate_identity_key()
        self.prover_relay = generate_relay_key()
        self.op_pk = signing.public_key_bytes(self.op_sk)
        self.witness = WitnessStore(self.prover_sk, self.prover_relay, self.op_pk, rng=self.rng)
        self.config = {
            "instruments": [dict(i) for i in instruments],
            "ccp": dict(ccp or {"skin_in_the_game_1": 0, "skin_in_the_game_2": 0, "assessment_cap_multiple": 2}),
            "keys": {
                "operator": self.op_pk.hex(), "prover": self.witness.public_key.hex(),
                "prover_relay": self.witness.relay_public.hex(),
                "prover_relay_sig": self.witness.relay_binding().hex(),
                "node": signing.public_key_bytes(self.node_sk).hex(),
            },
        }
        self.engine = Engine.create(self.path, self.config, self.op(genesis_message(self.config)), self.node_sk)
        self.members: dict[str, Member] = {}
        self._rid = 0
        self.scenario_version = 0
        self.sync()

    # -- plumbing ----------------------------------------------------------------
    def rid(self, prefix="r") -> str:
        self._rid += 1
        return f"{prefix}-{self._rid}"

    def op(self, msg) -> bytes:
        return signing.sign(self.op_sk, *msg)

    #: when set, every sync drops the engine object, reopens the database and
    #: checks that state, chain head and digests are identical
    reopen_every_step = False

    def sync(self):
        if self.reopen_every_step:
            before = (self.engine.state.seq, self.engine.head, self.engine.state_digest(),
                      self.engine.default_reports())
            self.reopen()
            assert (self.engine.state.seq, self.engine.head, self.engine.state_digest(),
                    self.engine.default_reports()) == before
        self.witness.follow(self.engine.events(self.witness.state.seq))

    def reopen(self):
        """Drop the engine object and reopen the database."""
        self.engine.close()
        self.engine = Engine.open(self.path, self.node_sk)

    @property
    def cycle(self) -> int:
        return self.engine.state.cycle

    def accounts(self) -> dict:
        return {m: self.engine.account(m) for m in self.engine.state.members}

    # -- onboarding -----------------------------------------------------------------
    def admit(self, mid: str) -> Member:
        m = Member(mid)
        self.members[mid] = m
        self.engine.admit(mid, m.pk, m.rpk, signing.sign_kem_key(m.sk, mid, m.rpk),
                          self.op(admission_message(mid, m.pk, m.rpk)), self.rid("admit"))
        self.sync()
        return m

    def deposit(self, mid: str, amount: int, request_id=None):
        m = self.members[mid]
        rid = request_id or self.rid("dep")
        res = self.engine.deposit(mid, amount, self.cycle, m.sign(deposit_message(mid, amount, self.cycle, rid)), rid)
        self.sync()
        return res

    def fund(self, mid: str, amount: int, epoch: int | None = None):
        m = self.members[mid]
        epoch = self.engine.state.epoch if epoch is None else epoch
        C = self.witness.prepare_funding(mid, amount)
        rid = self.rid("df")
        sig = m.sign(funding_message(mid, epoch, C.encode(), rid))
        ctx_seq, proof = self.witness.prove_funding(mid, C.encode().hex(), epoch, rid, sig, self.engine.account(mid))
        res = self.engine.fund_default(mid, C, epoch, ctx_seq, proof, sig, rid)
        self.sync()
        return res

    # -- trades -----------------------------------------------------------------------
    def make_trade(self, tid, buyer, seller, inst, qty, price, side="buy"):
        """The initiator's half: T, proof, signature, sealed openings."""
        gens = generators()
        rho = random_scalar(self.rng)
        T = gens.commit(qty, rho)
        trade = {"trade_id": tid, "cycle": self.cycle, "buyer": buyer, "seller": seller, "instrument": inst,
                 "side": side, "price": price, "T": T.encode().hex()}
        initiator = self.members[buyer if side == "buy" else seller]
        counterparty = self.members[seller if side == "buy" else buyer]
        tup = trade_tuple(trade)
        st = trade_statement(self.cycle, self.engine.state.cycle_seq, initiator.id, T, tup)
        proof = prove(st, [Opening(qty, rho)], rng=self.rng).to_bytes()
        sig = initiator.sign(trade_message(trade))
        sealed_cp = seal_opening(counterparty.rpk, qty, rho, tup)
        sealed_pv = seal_opening(self.witness.relay_public, qty, rho, tup)
        return trade, proof, sig, sealed_cp, sealed_pv, (qty, rho)

    def counterparty_check(self, mid: str, trade_id: str) -> dict:
        """The counterparty decrypts the relayed opening and checks it."""
        m = self.members[mid]
        t = self.engine.trade(trade_id)
        trade = {k: t[k] for k in TRADE_FIELDS}
        q, rho = open_opening(m.relay, self.engine.relayed(trade_id, mid), trade_tuple(trade))
        if generators().commit(q, rho).encode().hex() != trade["T"] or trade["T"] in m.seen_T:
            raise ValueError("opening does not match T")
        m.seen_T.add(trade["T"])
        return trade

    def trade(self, tid, buyer, seller, inst, qty, price, side="buy"):
        """Full capture: submit, counterparty affirms, prover receipts."""
        self.submit(tid, buyer, seller, inst, qty, price, side)
        self.affirm_by(seller if side == "buy" else buyer, tid)
        return self.push_receipt(tid)

    def submit(self, tid, buyer, seller, inst, qty, price, side="buy"):
        """The initiator's submission only (the trade pending)."""
        trade, proof, sig, sc, sp, _ = self.make_trade(tid, buyer, seller, inst, qty, price, side)
        res = self.engine.submit_trade(trade, proof, sig, sc, sp, self.rid("trade"))
        self.sync()
        return res

    def affirm_by(self, member, tid):
        """``member``'s checked, signed affirmation of pending trade ``tid``."""
        checked = self.counterparty_check(member, tid)
        res = self.engine.affirm(tid, member, self.members[member].sign(affirmation_message(checked, member)),
                                 self.rid("aff"))
        self.sync()
        return res

    def push_receipt(self, tid):
        """The node's push of the opening to the prover and the receipt booked
        (with its headroom debit under a pre-trade set)."""
        rsig = self.witness.receive_opening(tid, self.engine.relayed(tid, PROVER))
        res = self.engine.receipt(tid, rsig, self.rid("rcpt"), headroom=self.witness.headroom_debit(tid))
        self.sync()
        return res

    def book_refusal(self, refused):
        """Book the prover's signed pre-trade refusal (a
        :class:`prover.custody.headroom.HeadroomRefused`) as the node would."""
        self.last_rid = self.rid("refusal")
        res = self.engine.pretrade_refusal(refused.trade_id, refused.members, refused.H_buyer, refused.H_seller,
                                           refused.sig, self.last_rid)
        self.sync()
        return res

    # -- cycle ------------------------------------------------------------------------------
    def settle(self, prices, matrix, version=None, model=None, maintenance=None, pretrade=False):
        """``model``: None (the scan) or {"kind": "es", "k": k} (issue 13);
        ``maintenance``: None or the terms {num, den, penalty_bps} (issue 14 §2);
        ``pretrade``: the pre-trade limit (issue 14 §1)."""
        if version is None:
            version = self.scenario_version
        ids = [i["id"] for i in self.config["instruments"]]
        if model is not None and model.get("kind") == "scan":
            model = None
        sid = headroom_set_id(version, ids, matrix, model, maintenance, pretrade)
        ss = {"version": version, "matrix": [list(r) for r in matrix], "id": sid.hex()}
        if model is not None:
            ss["model"] = dict(model)
        if maintenance is not None:
            ss["maintenance"] = dict(maintenance)
        if pretrade:
            ss["pretrade"] = True
        res = self.engine.settle(self.cycle, list(prices), ss, self.op(settlement_message(self.cycle, prices, sid)),
                                 self.rid("settle"))
        self.sync()
        return res

    def margin(self):
        entries, sig = self.witness.margin_batch(self.cycle, self.accounts())
        res = self.engine.submit_margin_batch(self.cycle, entries, sig, self.rid("margin"))
        self.sync()
        return res["results"]

    def cure(self, mid: str, amount: int):
        if amount:
            self.deposit(mid, amount)
        kw = self.witness.cure_proof(mid, self.engine.account(mid))
        res = self.engine.cure(kw, self.rid("cure"))
        self.sync()
        return res

    def declare_default(self, mid: str):
        res = self.engine.declare_default(self.cycle, mid, self.op(default_message(self.cycle, mid)),
                                          self.rid("default"))
        self.sync()
        return res

    def open_epoch(self):
        res = self.engine.open_epoch_total(self.witness.epoch_total(self.cycle, self.accounts()), self.rid("epoch"))
        self.sync()
        return res

    def default_event(self, close_out_prices, lots=None) -> int:
        """Run one default event: disclosure + D0, close-out and auction lots
        (default: all to the public auction book), pro-rata shares."""
        kw = self.witness.default_open(self.cycle, self.accounts())
        index = self.engine.dm_open(kw, self.rid("dm-open"))["index"]
        self.sync()
        if lots is None:
            disclosed = self.engine.state.dm["disclosed"]
            lots = book_lots({m: d["pos"] for m, d in disclosed.items()}, self.engine.state.instrument_ids())
        need = self.engine.dm_closeout(self.cycle, index, close_out_prices, lots,
                                       self.op(closeout_message(self.cycle, index, close_out_prices, lots)),
                                       self.rid("dm-close"))["need"]
        self.sync()
        while need:  # an allocation may ask for another (tranche 8: the gains, then the haircut)
            need = self.engine.dm_shares(self.witness.default_shares(sorted(need)[0]), self.rid("dm-shares"))["need"]
            self.sync()
        assert self.engine.state.dm is None
        return index

    def pay_assessment(self, mid: str, index: int, amount: int):
        m = self.members[mid]
        rid = self.rid("assess")
        cyc = self.cycle
        sig = m.sign(assessment_payment_message(mid, index, amount, cyc, rid))
        ctx_seq, proof = self.witness.prove_assessment_payment(mid, index, amount, cyc, rid, sig,
                                                               self.engine.account(mid))
        res = self.engine.pay_assessment(mid, index, amount, cyc, ctx_seq, proof, sig, rid)
        self.sync()
        return res

    def settle_assessment_from_cash(self, mid: str, index: int):
        """The private path: the payable is debited from hidden cash with the
        prover's margin proof on cash - due; nothing public moves."""
        m = self.members[mid]
        rid = self.rid("assess-cash")
        cyc = self.cycle
        sig = m.sign(assessment_settlement_message(mid, index, cyc, rid))
        ctx_seq, proof = self.witness.prove_assessment_from_cash(mid, index, cyc, rid, sig, self.engine.account(mid))
        res = self.engine.settle_assessment(mid, index, cyc, ctx_seq, proof, sig, rid)
        self.sync()
        return res

    def withdraw(self, mid: str, amount: int):
        m = self.members[mid]
        rid = self.rid("wd")
        cyc = self.cycle
        sig = m.sign(withdrawal_message(mid, amount, cyc, rid))
        ctx_seq, proof = self.witness.prove_withdrawal(mid, amount, cyc, rid, sig, self.engine.account(mid))
        res = self.engine.withdraw(mid, amount, cyc, ctx_seq, proof, sig, rid)
        self.sync()
        return res

    def close(self):
        res = self.engine.close_cycle(self.cycle, self.rid("close"))
        self.sync()
        return res


INSTRUMENTS = [
    {"id": "ESX", "multiplier": 50, "tick": 25, "price0": 500000},
    {"id": "RTX", "multiplier": 20, "tick": 10, "price0": 200000},
]
#: 4 scenarios: no move, both down, both up, rotation (A[s][i] = shock * mult).
MATRIX = [[0, 0], [-10000 * 50, -5000 * 20], [10000 * 50, 5000 * 20], [5000 * 50, -5000 * 20]]


def basic_sim(tmp_path, members=("A", "B", "C"), cash=10**9, df=10**7, seed=b"basic") -> Sim:
    sim = Sim(tmp_path / "ledger.db", INSTRUMENTS, seed=seed)
    for mid in members:
        sim.admit(mid)
        sim.deposit(mid, cash + df)
        sim.fund(mid, df)
    return sim


# ---------------------------------------------------------------------------
# Driving a scenario file (clearing.ccp.scenario) through the engine
# ---------------------------------------------------------------------------
def settle_assessment(sim: Sim, member: str, index: int, liquidity: dict, grid: int, matrix,
                      req=None) -> tuple | None:
    """The member's side of an assessment payable, the oracle's rule
    (clearing.ccp.oracle), in the member client's order:
    1. from hidden excess cash when cash - due >= its requirement on its
       current positions (:meth:`Sim.settle_assessment_from_cash`: the
       engine's ``assessment-settle``, nothing public moves);
    2. else, when due <= its remaining liquidity, one tagged public deposit of
       the due rounded up to the grid, at most that liquidity (the engine
       books cash += d - due: the excess stays the member's);
    3. else None: it cannot pay and the operator declares its default.
    The member knows due, cash and positions from its own openings.  A
    payable of 0 (a share that floors to 0, a zero contribution) is settled
    from cash too: the engine holds it until it is settled.  Returns
    ("cash", due), ("deposit", d) or None; ``liquidity`` is updated.  ``req``:
    positions -> requirement under the set's model (default: the scan)."""
    # the harness plays the oracle's member, so it uses the oracle's requirement (not clearing.ccp.rules)
    from clearing.ccp.oracle import requirement
    from clearing.ccp.scenario import grid_deposit

    due = sim.witness.due(member)
    bal = sim.witness.balances(member)
    if bal["cash"] - due >= (req(bal["pos"]) if req else requirement(matrix, bal["pos"])):
        sim.settle_assessment_from_cash(member, index)
        return "cash", due
    if due <= liquidity[member]:
        d = grid_deposit(due, liquidity[member], grid)
        liquidity[member] -= d
        sim.pay_assessment(member, index, d)
        return "deposit", d
    return None


def scenario_sim(path, sc, seed) -> Sim:
    """A fresh engine harness with the scenario's genesis: its instruments
    and CCP parameters (the optional issue-14 keys when it has them)."""
    from support import df_sizing

    instruments = [{"id": i.id, "multiplier": i.multiplier, "tick": i.tick, "price0": i.price0}
                   for i in sc.instruments]
    ccp = {"skin_in_the_game_1": sc.ccp.skin_in_the_game_1, "skin_in_the_game_2": sc.ccp.skin_in_the_game_2,
           "assessment_cap_multiple": sc.ccp.assessment_cap_multiple}
    if sc.ccp.insurance_fund:  # optional genesis key (issue 14)
        ccp["insurance_fund"] = sc.ccp.insurance_fund
    if sc.ccp.cooling_off_cycles:
        ccp["cooling_off_cycles"] = sc.ccp.cooling_off_cycles
    if sc.ccp.assessment_total_cap_multiple is not None:
        ccp["assessment_total_cap_multiple"] = sc.ccp.assessment_total_cap_multiple
    ccp.update(df_sizing.scenario_ccp(sc))
    return Sim(path, instruments, ccp, seed=seed)


def onboard_scenario(sim: Sim, sc) -> dict[str, int]:
    """Day 0's onboarding as the oracle's members do it: each member admitted,
    one public deposit of cash + df, df funded out of cash (and the
    sizing/Cover-2 window 0 when the scenario has one); returns each
    member's liquidity for calls and assessments."""
    from support import df_sizing

    liquidity = {}
    for m in sc.members:
        sim.admit(m.id)
        sim.deposit(m.id, m.cash + m.default_fund)
        sim.fund(m.id, m.default_fund)
        liquidity[m.id] = m.liquidity
    df_sizing.onboarding_window(sim, sc)
    return liquidity


def margin_day(sim: Sim, sc, d: int, variant, liquidity: dict, matrix, req) -> tuple[list, list, list]:
    """Day ``d``'s margin run as the oracle's members act: a member failing
    maintenance liquidated at once, a call cured by a grid-rounded deposit
    within the liquidity (else a default), then the default events, a
    survivor that cannot pay its assessment defaulting in turn.  Returns
    (calls, cures, defaults) -- the members in default at the end."""
    from clearing.ccp.scenario import grid_deposit
    from clearing.protocol.messages import liquidation_message

    results = sim.margin()
    calls, cures, defaults = [], [], []
    for m, res in results.items():
        if res == "pass":
            continue
        if res == "liquidate":  # issue 14 §2: fails maintenance, liquidated at once
            sim.engine.liquidate(sim.cycle, m, sim.op(liquidation_message(sim.cycle, m, f"liq-{d}-{m}")),
                                 f"liq-{d}-{m}")
            sim.sync()
            defaults.append(m)  # until its close-out shows a remainder kept (below)
            continue
        bal = sim.witness.balances(m)
        amount = req(bal["pos"]) - bal["cash"]
        calls.append((m, amount, "im" if res == "call" else "payment"))
        if amount <= liquidity[m]:
            deposit = grid_deposit(amount, liquidity[m], sc.ccp.deposit_grid)
            liquidity[m] -= deposit
            sim.cure(m, deposit)
            cures.append((m, deposit))
        else:
            sim.declare_default(m)
            defaults.append(m)
    # default events; a survivor that cannot pay its assessment defaults in turn
    while sim.engine.state.pending_defaults:
        index = sim.default_event(list(variant.close_out_prices))
        for m in sorted(sim.engine.state.members):
            acct = sim.engine.account(m)
            if acct["due"] is None or acct["status"] != "active":
                continue
            if settle_assessment(sim, m, index, liquidity, sc.ccp.deposit_grid, matrix, req) is None:
                sim.declare_default(m)
                defaults.append(m)
    defaults = [m for m in defaults if sim.engine.account(m)["status"] == "defaulted"]
    return calls, cures, defaults


def run_scenario(tmp_path, sc, variant_name: str, seed=b"scenario", reopen_every_step=False):
    """Run every day of a scenario variant through the engine, day d being
    cycle d+1, with the oracle's member behaviour: a called member whose
    remaining liquidity covers its call (requirement - cash, which it knows
    from its openings) deposits the call rounded up to the scenario's
    ``ccp.deposit_grid``, at most that liquidity, and re-proves; else the
    operator declares the default.  Assessed survivors (every active member
    with a payable) settle through :func:`settle_assessment` or default in
    turn.  Returns (sim, per-day
    public records; a cure is (member, deposit), the call keeps the call)."""
    # the oracle's member: its requirement, independent of clearing.ccp.rules (the demo member uses the rules)
    from clearing.ccp.oracle_margin import requirement_rule
    from clearing.ccp.scenario import scenario_maintenance, scenario_matrix, scenario_model
    from clearing.protocol.errors import FailedPrecondition

    sim = scenario_sim(tmp_path / "scenario.db", sc, seed)
    sim.reopen_every_step = reopen_every_step
    matrix = scenario_matrix(sc)
    model = scenario_model(sc)                         # {"kind": "scan"} or {"kind": "es", "k": k}
    req = requirement_rule(sc, matrix)    # the oracle's requirement under that model
    variant = sc.variant(variant_name)
    liquidity = onboard_scenario(sim, sc)
    days = []
    for d in range(variant.days):
        booked, rejected = [], []
        for k, t in enumerate(sc.trades):
            if t.day != d:
                continue
            try:
                sim.trade(f"d{d}-{k}", t.buyer, t.seller, t.instrument, t.quantity, t.price)
                booked.append(k)
            except FailedPrecondition:
                rejected.append(k)
        sim.settle(list(variant.settlement_prices[d]), matrix, model=model, maintenance=scenario_maintenance(sc))
        vm = {m: sim.witness.vm(m) for m in sim.members if sim.engine.account(m)["status"] != "defaulted"}
        cash = {m: sim.witness.balances(m)["cash"] for m in vm}
        calls, cures, defaults = margin_day(sim, sc, d, variant, liquidity, matrix, req)
        close = sim.close()
        days.append({"day": d, "booked": booked, "rejected": rejected, "vm": vm, "cash": cash, "calls": calls,
                     "cures": cures, "defaults": defaults, "digest": close["digest"],
                     "cash_end": {m: sim.witness.balances(m)["cash"] for m in vm if m not in defaults}})
    return sim, days


def waterfall_scenario(drop, extra, dfs, sitg1, sitg2, cap=2, defaulters=1, liquidity=None, defaulter_df=1_000_000,
                       weak=(), grid=None):
    """A small scenario file (one instrument, two scan scenarios) shaped to
    reach a chosen part of the waterfall: defaulters D1.. each buy 100
    contracts at price0 from S1, S2, S3 (40/30/30) with cash exactly their
    requirement and no liquidity; on day 1 the price drops by ``drop`` and the
    close-out is ``extra`` lower still.  ``dfs`` are the survivors'
    contributions; SITG, the cap multiple and survivors' liquidity are given.

    Survivors short the crash gain VM and so pay any assessment from excess
    cash.  A survivor named in ``weak`` instead also buys twice what it sold
    from the first survivor not in ``weak`` (net long what it sold) with cash
    exactly its requirement after the crash: it passes margin but cannot pay
    an assessment from cash, so it deposits (its ``liquidity``) or defaults.
    ``grid``: ccp.deposit_grid (None: left out, i.e. 1)."""
    from clearing.ccp.scenario import load_scenario

    members, trades = [], []
    survivors = ["S1", "S2", "S3"]
    sold = dict(zip(survivors, (40 * defaulters, 30 * defaulters, 30 * defaulters)))
    if set(weak) - set(survivors) or set(weak) == set(survivors):
        raise ValueError(f"weak must name some but not all of {survivors}")
    hedger = next(s for s in survivors if s not in weak)
    net = {s: -sold[s] for s in survivors}
    for k in range(defaulters):
        mid = f"D{k + 1}"
        members.append({"id": mid, "cash": 5_000_000, "default_fund": defaulter_df, "liquidity": 0,
                        "target_positions": [100]})
        for s, q in zip(survivors, (40, 30, 30)):
            trades.append({"day": 0, "buyer": mid, "seller": s, "instrument": "F", "quantity": q, "price": 100000})
    for s in weak:
        trades.append({"day": 0, "buyer": s, "seller": hedger, "instrument": "F", "quantity": 2 * sold[s],
                       "price": 100000})
        net[s] += 2 * sold[s]
        net[hedger] -= 2 * sold[s]
    for s, df in zip(survivors, dfs):
        # a weak survivor is long sold[s]: requirement 5000 * 10 per contract, and the crash costs drop * 10
        cash = (5000 + drop) * 10 * net[s] if s in weak else 10_000_000
        members.append({"id": s, "cash": cash, "default_fund": df,
                        "liquidity": (liquidity or {}).get(s, 10**10), "target_positions": [net[s]]})
    ccp = {"skin_in_the_game_1": sitg1, "skin_in_the_game_2": sitg2, "assessment_cap_multiple": cap}
    if grid is not None:
        ccp["deposit_grid"] = grid
    return load_scenario({
        "name": "waterfall", "instruments": [{"id": "F", "price0": 100000, "multiplier": 10, "tick": 1,
                                              "scan_range": 5000}],
        "margin_scenarios": {"shocks": [[0], [-5000]]}, "members": members,
        "ccp": ccp,
        "trades": trades,
        "variants": {"v": {"settlement_prices": [[100000], [100000 - drop]],
                           "close_out_prices": [100000 - drop - extra]}},
    })


# ---------------------------------------------------------------------------
# The cross-check with the plaintext oracle
# ---------------------------------------------------------------------------
def compare_with_oracle(sim: Sim, days: list[dict], oracle) -> None:
    """The engine run of :func:`run_scenario` (``sim``, ``days``) against the
    oracle's run of the same scenario variant (clearing.ccp.oracle.run_oracle):
    per day the booked and rejected trades, VM, cash, calls, cures, defaults
    and end-of-day cash; every public number of each default report; the
    prover's openings of the final state; the books; the invariants; and the
    auditor's replay of the ledger reproduces the cycle digests."""
    assert len(days) == len(oracle.days)
    for ours, theirs in zip(days, oracle.days):
        d = theirs.day
        assert len(ours["booked"]) == len(theirs.trades), d
        assert len(ours["rejected"]) == len(theirs.rejected_trades), d
        assert ours["vm"] == {m: theirs.trade_vm.get(m, 0) + theirs.vm[m] for m in theirs.vm}, d
        assert ours["cash"] == theirs.cash, d
        assert ours["calls"] == [(c.member, c.amount, c.kind) for c in theirs.calls], d
        assert ours["cures"] == [(c.member, c.amount) for c in theirs.cures], d
        assert ours["defaults"] == theirs.defaults, d
        if not theirs.defaults:
            assert ours["cash_end"] == theirs.cash_end, d
    # default events: every public output of the waterfall is the oracle's
    reports = sim.engine.default_reports()
    assert len(reports) == len(oracle.default_events)
    for rep, ev in zip(reports, oracle.default_events):
        assert [r["member"] for r in rep["defaulters"]] == [r.member for r in ev.defaulters]
        for ours, theirs in zip(rep["defaulters"], ev.defaulters):
            for k in ("cash", "df", "X", "unpaid_vm", "unpaid_assessment", "loss", "defaulter_margin",
                      "defaulter_default_fund", "residual", "estate_surplus"):
                assert ours[k] == getattr(theirs, k), k
            assert ours["positions"] == list(theirs.positions.values())
        assert rep["survivors"] == ev.survivors
        assert rep["waterfall"] == [{"tranche": t.tranche, "amount": t.amount} for t in ev.waterfall]
        for k in ("D0", "loss", "R", "survivors_default_fund_in_full", "assessments_capped", "default_fund_residual",
                  "assessment_residual", "rounding_residual", "uncovered_loss", "liquidity_line",
                  "skin_in_the_game_1_before", "skin_in_the_game_1_after", "skin_in_the_game_2_before",
                  "skin_in_the_game_2_after", "disclosure_policy"):
            assert rep[k] == getattr(ev, k), k
    # the prover's openings of the final state match the oracle's
    for m, acct in sim.accounts().items():
        sim.witness.check(m, acct)
        if oracle.final[m]["status"] == "active":
            bal = sim.witness.balances(m)
            assert bal["pos"] == list(oracle.final[m]["positions"].values())
            assert bal["df"] == oracle.final[m]["df"]
            assert bal["cash"] == oracle.final[m]["cash"]
        else:
            assert sim.engine.account(m)["status"] == "defaulted"
            bal = {k: v for k, v in sim.witness.balances(m).items() if k != "headroom"}  # issue 14 §1: no H
            assert bal == {"cash": 0, "df": 0, "pos": [0] * len(acct["pos"])}
    assert sim.engine.state.books["auction_pos"] == list(oracle.ledger["auction_positions"].values())
    assert sim.engine.state.books["sitg1"] == oracle.ledger["skin_in_the_game_1_left"]
    assert sim.engine.state.books["sitg2"] == oracle.ledger["skin_in_the_game_2_left"]
    sim.engine.check_invariants()
    rep = audit(sim.engine.events())
    assert rep.digests == [d["digest"] for d in days]
