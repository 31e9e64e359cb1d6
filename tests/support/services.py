"""Harness for the service tests: a PKI in a temporary directory, the
clearing node and the prover service started in-process on 127.0.0.1 with
real mutual TLS (``create_server(..., port=0)``), and clients for the
operator and the members.

* :func:`make_config` -- PKI, genesis and services.json for the members on
  :data:`INSTRUMENTS` with :data:`CCP`.
* :class:`Cluster` -- node + prover in-process, clients, onboarding, trades
  (the ``cluster`` fixture of tests/conftest.py).
* :func:`compare_with_oracle` -- a scenario run through the services against
  the plaintext oracle.

The harness's own check is tests/test_service_harness.py."""
from __future__ import annotations

from contextlib import ExitStack

from clearing.clients.operator import Operator
from clearing.clients.participant import Participant
from clearing.services import clearing_service, prover_service
from clearing.services import config as services_config
from clearing.services.pki import init_pki, load_config, load_identity

INSTRUMENTS = [
    {"id": "ESX", "multiplier": 50, "tick": 25, "price0": 500000},
    {"id": "RTX", "multiplier": 20, "tick": 10, "price0": 200000},
]
CCP = {"skin_in_the_game_1": 0, "skin_in_the_game_2": 0, "assessment_cap_multiple": 2}
#: 4 scenarios: no move, both down, both up, rotation (A[s][i] = shock * mult).
MATRIX = [[0, 0], [-10000 * 50, -5000 * 20], [10000 * 50, 5000 * 20], [5000 * 50, -5000 * 20]]
P0 = [i["price0"] for i in INSTRUMENTS]


def make_config(directory, members=("A", "B", "C"), instruments=INSTRUMENTS, ccp=CCP):
    roster = init_pki(directory, list(members))
    op = load_identity(directory, "operator")
    services_config.write_service_files(directory, roster, op.ed25519_private, instruments, ccp)
    return roster


class Cluster:
    """Clearing node + prover service on free ports, with clients."""

    def __init__(self, directory, members=("A", "B", "C"), *, init=True, instruments=INSTRUMENTS, ccp=CCP):
        self.dir = directory
        if init:
            make_config(directory, members, instruments, ccp)
        self.roster = load_config(directory)
        self.members = list(members)
        self.stack = ExitStack()
        self.clearing = self.prover = None
        self.start()

    def start(self):
        self.clearing, self.clearing_port = clearing_service.create_server(self.dir)
        self.prover, self.prover_port = prover_service.create_server(self.dir, clearing_target=self.feed_target)
        self.clearing.resource.set_prover_target(self.prover_target)
        self._clients = {}

    def restart_prover(self, **kw):
        """Stop the prover service and start a new one (same config/data unless overridden)."""
        for name in [n for n in self._clients if n != "@op"]:
            self._clients.pop(name).close()
        self.prover.stop(0)
        self.prover, self.prover_port = prover_service.create_server(self.dir, clearing_target=self.feed_target,
                                                                     **kw)
        self.clearing.resource.set_prover_target(self.prover_target)

    @property
    def clearing_target(self):
        return f"127.0.0.1:{self.clearing_port}"

    @property
    def feed_target(self):
        """The clearing node's ledger feed, where the prover follows the ledger."""
        return self.clearing.resource.feed_target

    @property
    def prover_target(self):
        return f"127.0.0.1:{self.prover_port}"

    def stop(self):
        for c in self._clients.values():
            c.close()
        self._clients = {}
        if self.prover is not None:
            self.prover.stop(0)
        if self.clearing is not None:
            self.clearing.stop(0)

    def operator(self) -> Operator:
        if "@op" not in self._clients:
            self._clients["@op"] = Operator(load_identity(self.dir, "operator"), self.roster, self.clearing_target)
        return self._clients["@op"]

    def member(self, name) -> Participant:
        if name not in self._clients:
            self._clients[name] = Participant(load_identity(self.dir, name), self.roster, self.clearing_target,
                                              self.prover_target)
        return self._clients[name]

    def onboard(self, cash=10**9, df=10**7):
        self.operator().admit_all()
        for m in self.members:
            p = self.member(m)
            p.deposit(cash + df, request_id=f"dep0-{m}")
            p.fund(df, request_id=f"df0-{m}")

    def trade(self, tid, initiator, counterparty, inst, side, qty, price):
        self.member(initiator).trade(tid, counterparty, inst, side, qty, price)
        return self.member(counterparty).affirm(tid, expect={"quantity": qty, "price": price})


def events_of(c: Cluster, kind: str) -> list[dict]:
    """The bodies of the node's ledger events of ``kind``, in order."""
    return c.clearing.resource.run(lambda e: [b for _, b in e.events() if b.get("kind") == kind])


def pretrade_cluster(c: Cluster, cash: dict) -> None:
    """Issue 14 §1: admit, deposit ``cash`` per member, a pre-trade set, one
    margin run (H = cash for flat members), the cycle closed."""
    op = c.operator()
    op.admit_all()
    for m, amount in cash.items():
        c.member(m).deposit(amount)
    op.settle([i["price0"] for i in INSTRUMENTS], MATRIX, pretrade=True)
    op.run_margin()
    op.close_cycle()


# ---------------------------------------------------------------------------
# The cross-check with the plaintext oracle
# ---------------------------------------------------------------------------
REPORT_KEYS = ("D0", "loss", "R", "survivors_default_fund_in_full", "assessments_capped", "default_fund_residual",
               "assessment_residual", "rounding_residual", "uncovered_loss", "liquidity_line",
               "skin_in_the_game_1_before", "skin_in_the_game_1_after", "skin_in_the_game_2_before",
               "skin_in_the_game_2_after", "disclosure_policy")
DEFAULTER_KEYS = ("cash", "df", "X", "unpaid_vm", "unpaid_assessment", "loss", "defaulter_margin",
                  "defaulter_default_fund", "residual", "estate_surplus")


def compare_with_oracle(c, days: list[dict], oracle) -> None:
    """A scenario variant driven through the services (``days``: per day the
    booked and rejected trades, calls, cures, defaults) against the oracle's
    run of it (clearing.ccp.oracle.run_oracle): the same per day, every public
    number of each default report (the operator's reads), and every member's
    final balances as it reads them from the prover service.  ``c`` needs only
    ``operator()`` and ``member(name)`` (a :class:`Cluster`, or the process
    harness's clients)."""
    assert len(days) == len(oracle.days)
    for ours, theirs in zip(days, oracle.days):
        d = theirs.day
        assert len(ours["booked"]) == len(theirs.trades), d
        assert len(ours["rejected"]) == len(theirs.rejected_trades), d
        assert sorted(ours["calls"]) == sorted((x.member, x.amount, x.kind) for x in theirs.calls), d
        assert sorted(ours["cures"]) == sorted((x.member, x.amount) for x in theirs.cures), d
        assert sorted(ours["defaults"]) == sorted(theirs.defaults), d
    reports = c.operator().reports()
    assert len(reports) == len(oracle.default_events)
    for rep, ev in zip(reports, oracle.default_events):
        assert [r["member"] for r in rep["defaulters"]] == [r.member for r in ev.defaulters]
        for ours, theirs in zip(rep["defaulters"], ev.defaulters):
            for k in DEFAULTER_KEYS:
                assert ours[k] == getattr(theirs, k), k
            assert ours["positions"] == list(theirs.positions.values())
        assert rep["survivors"] == ev.survivors
        assert rep["waterfall"] == [{"tranche": t.tranche, "amount": t.amount} for t in ev.waterfall]
        for k in REPORT_KEYS:
            assert rep[k] == getattr(ev, k), k
    for m, final in oracle.final.items():
        p = c.member(m)
        if final["status"] == "active":
            bal = p.balances()
            assert bal["pos"] == list(final["positions"].values()), m
            assert bal["df"] == final["df"] and bal["cash"] == final["cash"], m
        else:
            assert p.account().status == "defaulted", m
