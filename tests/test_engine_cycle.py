"""Full in-process cycles: trade capture and novation, settlement VM, margin
batch, IM call and cure, payment default and declaration, withdrawal, cycle
close with invariants and a signed digest, the auditor -- with every public
outcome and every opened balance checked against the plaintext oracle's pure
helpers (clearing.ccp.oracle) on the same inputs."""
from __future__ import annotations

import pytest

from clearing.ccp.oracle import closeout_loss, defaulter_tranches, mutual_waterfall, requirement, vm
from clearing.node.audit import audit
from clearing.node.reports import report_chart, report_table
from clearing.protocol.errors import FailedPrecondition, InvalidArgument, NotFound
from clearing.protocol.fields import AUCTION, PROVER
from clearing.protocol.messages import affirmation_message, closeout_message
from prover.custody.witness import Refused
from support.engine import INSTRUMENTS, MATRIX, basic_sim
from zkp.errors import ProvingError

MULTS = [i["multiplier"] for i in INSTRUMENTS]
P0 = [i["price0"] for i in INSTRUMENTS]


class Plain:
    """The same inputs in plaintext, using the oracle's pure helpers."""

    def __init__(self, cash: dict, df: int):
        self.cash = dict(cash)
        self.df = {m: df for m in cash}
        self.pos = {m: [0, 0] for m in cash}
        self.prices = list(P0)
        self.vm = {m: 0 for m in cash}

    def trade(self, buyer, seller, i, q, p):
        v = (self.prices[i] - p) * MULTS[i] * q
        self.pos[buyer][i] += q
        self.pos[seller][i] -= q
        self.cash[buyer] += v
        self.cash[seller] -= v
        self.vm[buyer] += v
        self.vm[seller] -= v

    def settle(self, prices):
        for m in self.cash:
            v = vm(self.prices, prices, MULTS, self.pos[m])
            self.cash[m] += v
            self.vm[m] += v
        self.prices = list(prices)

    def status(self, m):
        if self.cash[m] < 0:
            return "payment"
        return "call" if self.cash[m] < requirement(MATRIX, self.pos[m]) else "pass"

    def balances(self, m):
        return {"cash": self.cash[m], "df": self.df[m], "pos": list(self.pos[m])}


def check_against(sim, plain):
    for m in sim.members:
        assert sim.witness.balances(m) == plain.balances(m), m
        sim.witness.check(m, sim.engine.account(m))


def test_two_cycles_with_call_cure_and_payment_default(tmp_path):
    cash = {"A": 10**9, "B": 2 * 10**7, "C": 10**6}
    sim = basic_sim(tmp_path, members=())
    for m, c in cash.items():
        sim.admit(m)
        sim.deposit(m, c + 10**5)
        sim.fund(m, 10**5)
    plain = Plain(cash, 10**5)
    check_against(sim, plain)

    # cycle 1: A buys 10 ESX from B (A initiates); A sells 5 RTX to C (A initiates, side "sell")
    r = sim.trade("t1", "A", "B", "ESX", 10, 500025)
    assert r["status"] == "novated"
    plain.trade("A", "B", 0, 10, 500025)
    sim.trade("t2", "C", "A", "RTX", 5, 200010, side="sell")
    plain.trade("C", "A", 1, 5, 200010)
    check_against(sim, plain)
    assert sim.witness.vm("A") == plain.vm["A"]

    prices1 = [501000, 199990]
    sim.settle(prices1, MATRIX)
    plain.settle(prices1)
    check_against(sim, plain)
    for m in cash:
        assert sim.witness.vm(m) == plain.vm[m]
    res = sim.margin()
    assert res == {m: plain.status(m) for m in cash} == {"A": "pass", "B": "pass", "C": "pass"}
    close1 = sim.close()
    assert close1["cycle"] == 1 and len(close1["digest"]) == 64
    plain.vm = {m: 0 for m in cash}

    # cycle 2: ESX up 32000 (B short: IM call), RTX down 15000 (C long: unpaid VM)
    prices2 = [533000, 184990]
    sim.settle(prices2, MATRIX)
    plain.settle(prices2)
    check_against(sim, plain)
    res = sim.margin()
    assert res == {m: plain.status(m) for m in cash} == {"A": "pass", "B": "call", "C": "payment"}
    assert sim.engine.account("B")["status"] == "call"
    assert sim.engine.account("C")["status"] == "payment"

    # a called member may not withdraw nor trade
    with pytest.raises(FailedPrecondition):
        sim.engine.withdraw("B", 1, sim.cycle, sim.engine.account("B")["version"], b"\0", b"\0" * 64, "wd-x")
    with pytest.raises(Refused):
        sim.withdraw("B", 1)
    trade, proof, sig, sc, sp, _ = sim.make_trade("t3", "A", "B", "ESX", 1, 533000)
    with pytest.raises(FailedPrecondition):
        sim.engine.submit_trade(trade, proof, sig, sc, sp, "t3")
    # the cycle cannot close with open calls
    with pytest.raises(FailedPrecondition):
        sim.close()

    # B cures: deposits exactly the call (requirement - cash), then re-proves
    call_b = requirement(MATRIX, plain.pos["B"]) - plain.cash["B"]
    assert call_b > 0
    with pytest.raises(ProvingError):  # not enough yet
        sim.cure("B", call_b - 1)
    plain.cash["B"] += call_b - 1
    sim.cure("B", 1)
    plain.cash["B"] += 1
    assert sim.engine.account("B")["status"] == "active"
    check_against(sim, plain)

    # C: no proof possible -> the operator declares the default
    with pytest.raises(ProvingError):
        sim.witness.cure_proof("C", sim.engine.account("C"))
    sim.declare_default("C")
    assert sim.engine.account("C")["status"] == "defaulted"
    with pytest.raises(FailedPrecondition):  # the default event must run first
        sim.close()
    closeout = [533000, 184000]
    # C's 5 RTX: 2 to member A as a public lot, 3 to the public auction book
    lots = [{"winner": "A", "instrument": "RTX", "quantity": 2}, {"winner": AUCTION, "instrument": "RTX", "quantity": 3}]
    bad = [{"winner": "A", "instrument": "RTX", "quantity": 2}]
    kw = sim.witness.default_open(sim.cycle, sim.accounts())
    sim.engine.dm_open(kw, "dm-open-1")
    sim.sync()
    with pytest.raises(InvalidArgument):  # the house would not be flat
        sim.engine.dm_closeout(sim.cycle, 0, closeout, bad, sim.op(closeout_message(sim.cycle, 0, closeout, bad)),
                               "dm-close-bad")
    with pytest.raises(InvalidArgument):  # signed for other lots
        sim.engine.dm_closeout(sim.cycle, 0, closeout, lots, sim.op(closeout_message(sim.cycle, 0, closeout, bad)),
                               "dm-close-bad2")
    need = sim.engine.dm_closeout(sim.cycle, 0, closeout, lots,
                                  sim.op(closeout_message(sim.cycle, 0, closeout, lots)), "dm-close-1")["need"]
    sim.sync()
    for purpose in sorted(need):
        sim.engine.dm_shares(sim.witness.default_shares(purpose), "dm-shares-" + purpose)
        sim.sync()
    plain.pos["A"][1] += 2
    plain.cash["A"] += (prices2[1] - closeout[1]) * MULTS[1] * 2
    assert sim.engine.state.books["auction_pos"] == [0, 3]
    (rep,) = sim.engine.default_reports()
    X = closeout_loss(closeout, prices2, MULTS, plain.pos["C"])
    t = defaulter_tranches(X, plain.cash["C"], plain.df["C"])
    mw = mutual_waterfall(t.residual, [plain.df["A"], plain.df["B"]], 0, 0, 2)
    assert rep["defaulters"][0]["X"] == X and rep["defaulters"][0]["cash"] == plain.cash["C"] < 0
    assert [w["amount"] for w in rep["waterfall"]] == [
        t.defaulter_margin, t.defaulter_default_fund, 0, mw.skin_in_the_game_1, mw.survivors_default_fund,
        mw.skin_in_the_game_2, mw.assessments, 0]  # no insurance fund, no VM gains haircut (issue 14)
    assert rep["rounding_residual"] == mw.rounding_residual and rep["uncovered_loss"] == mw.uncovered_loss
    assert rep["liquidity_line"] == -plain.cash["C"]
    assert rep["disclosure_policy"] == "individual"  # two survivors
    table, chart = report_table(rep), report_chart(rep)
    for w in rep["waterfall"]:
        assert w["tranche"] in table and w["tranche"] in chart and str(w["amount"]) in table
    assert "liquidity_line" in table and "#" in chart
    assert rep["lots"] == lots
    import json
    assert json.loads(json.dumps(rep)) == rep  # the JSON report is plain data
    for m, c in zip(("A", "B"), mw.survivor_charges):
        plain.df[m] -= c
    for m, due in zip(("A", "B"), mw.assessments_due):
        assert sim.witness.due(m) == due
        if due:
            sim.pay_assessment(m, 0, due)
    plain.cash["C"] = plain.df["C"] = 0
    plain.pos["C"] = [0, 0]
    plain.vm = {m: 0 for m in cash}
    close2 = sim.close()
    assert close2["cycle"] == 2
    check_against(sim, plain)

    # cycle 3: A withdraws within its excess; the auditor re-verifies everything
    sim.withdraw("A", 12345)
    plain.cash["A"] -= 12345
    check_against(sim, plain)
    rep = audit(sim.engine.events())
    assert rep.cycles == 2
    assert rep.digests == [close1["digest"], close2["digest"]]
    assert rep.state_hash == sim.engine.state_digest()
    sim.engine.check_invariants()


def test_unaffirmed_trade_expires_at_close_and_relay_is_dropped(tmp_path):
    sim = basic_sim(tmp_path, members=("A", "B"))
    trade, proof, sig, sc, sp, _ = sim.make_trade("t1", "A", "B", "ESX", 3, 500000)
    sim.engine.submit_trade(trade, proof, sig, sc, sp, "sub-1")
    sim.sync()
    assert sim.engine.relayed("t1", "B") == sc
    # the prover signs a receipt, the counterparty never affirms
    sim.engine.receipt("t1", sim.witness.receive_opening("t1", sim.engine.relayed("t1", PROVER)), "rc-1")
    assert sim.engine.trade("t1")["status"] == "pending"
    sim.settle(P0, MATRIX)
    sim.margin()
    sim.close()
    assert sim.engine.trade("t1")["status"] == "expired"
    with pytest.raises(NotFound):
        sim.engine.relayed("t1", "B")
    assert sim.witness.balances("A")["pos"] == [0, 0]
    # an expired trade cannot be affirmed any more
    sim.sync()
    with pytest.raises(FailedPrecondition):
        sim.engine.affirm("t1", "B", sim.members["B"].sign(affirmation_message(trade, "B")), "aff-late")


def test_public_reads_and_learned_openings_used_by_the_services(tmp_path):
    sim = basic_sim(tmp_path, members=("A", "B"))
    learned = {}
    sim.witness.on_opening = learned.__setitem__
    trade, proof, sig, sc, sp, _ = sim.make_trade("t1", "A", "B", "ESX", 3, 500000)
    sub = sim.engine.submit_trade(trade, proof, sig, sc, sp, "sub-1")
    sim.sync()
    assert sim.engine.recorded("A", "sub-1") == sub
    assert sim.engine.recorded("B", "sub-1") is None
    assert sim.engine.pending_for("B") == [(sim.engine.trade("t1"), sc)]
    assert sim.engine.pending_for("A") == []
    seq, head = sim.engine.chain_head()
    status = sim.engine.status()
    assert (status["seq"], status["head"], status["members"]) == (seq, head, ["A", "B"])
    assert sim.engine.events_with_hashes(seq - 1) == [(seq, sim.engine.events(seq - 1)[0][1], head)]
    assert sim.engine.default_event() is None
    # the prover learns T's opening (reported once) and re-signs a retried push
    assert sim.witness.receipt_again("t1") is None
    rsig = sim.witness.receive_opening("t1", sim.engine.relayed("t1", PROVER))
    assert list(learned) == [trade["T"]]
    assert sim.witness.receipt_again("t1") == rsig
    sim.engine.receipt("t1", rsig, "rc-1")
    sim.sync()
    checked = sim.counterparty_check("B", "t1")
    sim.engine.affirm("t1", "B", sim.members["B"].sign(affirmation_message(checked, "B")), "aff-1")
    sim.sync()
    assert sim.engine.pending_for("B") == []
    assert sim.witness.receipt_again("t1") is None
