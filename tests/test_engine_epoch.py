"""Default-fund epochs (DESIGN §5.1): contributions are funded once per
member and epoch; the prover opens the group total D over every member not in
default, which starts the next epoch, where contributions can be topped up
(replenishment after a default event)."""
from __future__ import annotations

import pytest

from clearing import engine as E
from clearing.errors import FailedPrecondition, InvalidArgument

from test_engine_support import basic_sim


def test_epoch_total_and_top_up(tmp_path):
    sim = basic_sim(tmp_path, members=("A", "B", "C"), df=10**6, seed=b"epoch")
    with pytest.raises(FailedPrecondition):  # once per epoch
        sim.fund("A", 5)
    sim.open_epoch()
    assert sim.engine.state.epoch == 1
    assert sim.engine.state.books["epochs"] == [{"epoch": 0, "D": 3 * 10**6, "members": ["A", "B", "C"]}]
    with pytest.raises(FailedPrecondition):  # a request for the closed epoch
        sim.fund("A", 5, epoch=0)
    sim.fund("A", 250)  # top-up in epoch 1
    assert sim.witness.balances("A")["df"] == 10**6 + 250
    assert sim.witness.balances("A")["cash"] == 10**9 - 250
    sim.open_epoch()
    assert sim.engine.state.books["epochs"][-1]["D"] == 3 * 10**6 + 250
    # the opening must cover every member: a subset is refused by the statement, a wrong total by the proof
    kw = sim.witness.epoch_total(sim.cycle, sim.accounts())
    with pytest.raises(InvalidArgument):
        sim.engine.open_epoch_total(request_id="ep-x", **dict(kw, members=["A", "B"]))
    with pytest.raises(InvalidArgument):
        sim.engine.open_epoch_total(request_id="ep-y", **dict(kw, D=kw["D"] + 1))
    with pytest.raises(FailedPrecondition):
        sim.engine.open_epoch_total(request_id="ep-z", **dict(kw, epoch=kw["epoch"] + 1))
    sim.engine.check_invariants()
    rep = E.audit(sim.engine.events())
    assert rep.state_hash == sim.engine.state_digest()
