"""Default-fund funding windows (DESIGN §5.1) and the prover as a non-oracle
(DESIGN §2): in each window every member not in default files a fresh,
re-randomised commitment to its new contribution (replacing the old one) with
a proof that its account stays solvent; the window closes as one event, and
only then is the group total D opened, once, over the full member set."""
from __future__ import annotations

from dataclasses import replace

import pytest

from clearing.node.audit import audit
from clearing.protocol.errors import FailedPrecondition, InvalidArgument
from clearing.protocol.messages import funding_message
from prover.custody.witness import Refused
from support.engine import MATRIX, basic_sim


def test_window_needs_every_member_and_replaces_contributions(tmp_path):
    sim = basic_sim(tmp_path, members=("A", "B", "C"), df=10**6, seed=b"epoch")
    with pytest.raises(FailedPrecondition):  # one filing per member and window
        sim.fund("A", 5)
    sim.open_epoch()
    assert sim.engine.state.epoch == 1
    assert sim.engine.state.books["epochs"] == [{"epoch": 0, "D": 3 * 10**6, "members": ["A", "B", "C"]}]
    with pytest.raises(FailedPrecondition):  # a filing for the closed window
        sim.fund("A", 5, epoch=0)
    # window 1: A tops up to 10^6 + 250 (its new total), B re-files unchanged, C reduces
    sim.fund("A", 10**6 + 250)
    assert sim.witness.balances("A")["df"] == 10**6 + 250
    assert sim.witness.balances("A")["cash"] == 10**9 - 250
    # the window is not complete: neither the prover nor the engine closes it
    with pytest.raises(Refused):
        sim.witness.epoch_total(sim.cycle, sim.accounts())
    sim.fund("B", 10**6)
    assert sim.witness.balances("B") == {"cash": 10**9, "df": 10**6, "pos": [0, 0]}
    sim.fund("C", 4 * 10**5)
    assert sim.witness.balances("C")["cash"] == 10**9 + 6 * 10**5
    sim.open_epoch()
    assert sim.engine.state.books["epochs"][-1]["D"] == 10**6 + 250 + 10**6 + 4 * 10**5
    sim.engine.check_invariants()
    rep = audit(sim.engine.events())
    assert rep.state_hash == sim.engine.state_digest()


def test_a_refiling_is_always_a_fresh_commitment(tmp_path):
    sim = basic_sim(tmp_path, members=("A", "B", "C"), df=10**6, seed=b"fresh")
    sim.open_epoch()
    # the engine refuses a filing that reuses the current commitment
    m = sim.members["A"]
    a = sim.engine.account("A")
    rid = sim.rid("df")
    cur = bytes.fromhex(a["df"])
    sig = m.sign(funding_message("A", sim.engine.state.epoch, cur, rid))
    with pytest.raises(InvalidArgument, match="fresh commitment"):
        sim.engine.fund_default("A", cur, sim.engine.state.epoch, a["version"], b"\x00\x01", sig, rid)
    before = sim.engine.account("A")["df"]
    sim.fund("A", 10**6)  # unchanged amount, new commitment
    assert sim.engine.account("A")["df"] != before
    assert sim.witness.balances("A")["df"] == 10**6


def test_funding_cannot_make_the_account_insolvent(tmp_path):
    sim = basic_sim(tmp_path, members=("A", "B", "C"), cash=100, df=10**6, seed=b"insolvent")
    sim.open_epoch()
    with pytest.raises(Refused):  # 10^6 + 101 would leave cash at -1
        sim.fund("A", 10**6 + 101)
    sim.fund("A", 10**6 + 100)  # exactly all the cash: allowed, cash 0
    assert sim.witness.balances("A")["cash"] == 0


def test_the_prover_is_not_an_oracle_for_window_totals(tmp_path):
    sim = basic_sim(tmp_path, members=("A", "B", "C"), df=10**6, seed=b"oracle")
    kw = sim.witness.epoch_total(sim.cycle, sim.accounts())
    # an exact repeat before the node books it: the recorded answer, byte for byte
    again = sim.witness.epoch_total(sim.cycle, sim.accounts())
    assert again == kw
    # the opening must cover every member: a subset is refused by the statement, a wrong total by the proof
    with pytest.raises(InvalidArgument):
        sim.engine.open_epoch_total(replace(kw, members=("A", "B")), "ep-x")
    with pytest.raises(InvalidArgument):
        sim.engine.open_epoch_total(replace(kw, D=kw.D + 1), "ep-y")
    with pytest.raises(FailedPrecondition):
        sim.engine.open_epoch_total(replace(kw, epoch=kw.epoch + 1), "ep-z")
    # an unrelated event before the node books it: the recorded answer still verifies
    sim.deposit("A", 10**5)
    sim.engine.open_epoch_total(kw, "ep-ok")
    sim.sync()
    # asking again for the closed window, or at will inside the next one, is refused
    for _ in range(2):
        with pytest.raises(Refused):
            sim.witness.epoch_total(sim.cycle, sim.accounts())
    sim.fund("A", 2 * 10**6)
    with pytest.raises(Refused):  # only A has filed: a total now would reveal A's change
        sim.witness.epoch_total(sim.cycle, sim.accounts())
    with pytest.raises(Refused):  # a past cycle
        sim.witness.epoch_total(sim.cycle - 1, sim.accounts())
    refusals = [e for e in sim.witness.log if e[0] == "epoch-total" and e[3].startswith("refused")]
    assert len(refusals) >= 4


def test_contributions_are_frozen_while_a_default_is_pending(tmp_path):
    sim = basic_sim(tmp_path, members=("A", "B", "C"), df=10**6, seed=b"frozen")
    sim.admit("D")
    sim.deposit("D", 10**6 + 1000)
    sim.fund("D", 10**6)
    sim.open_epoch()
    sim.trade("t1", "D", "A", "ESX", 10, 500000)
    sim.settle([490000, 200000], MATRIX)  # D loses 10 * 10000 * 50 = 5 * 10^6 > its cash
    assert sim.margin()["D"] == "payment"
    sim.declare_default("D")
    with pytest.raises(FailedPrecondition, match="default"):
        sim.fund("A", 2 * 10**6)
    with pytest.raises(Refused):
        sim.witness.epoch_total(sim.cycle, sim.accounts())
    # one answer per declared default: a repeat is the recorded answer
    kw = sim.witness.default_open(sim.cycle, sim.accounts())
    assert sim.witness.default_open(sim.cycle, sim.accounts()) == kw
