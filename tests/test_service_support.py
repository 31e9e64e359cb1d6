"""Harness for the service tests: a PKI in a temporary directory, the
clearing node and the prover service started in-process on 127.0.0.1 with
real mutual TLS (``create_server(..., port=0)``), and clients for the
operator and the members.  The check at the bottom tests the harness."""
from __future__ import annotations

from contextlib import ExitStack

import pytest

from clearing.services import clearing_service

from clearing.services import config as services_config
from clearing.clients.operator import Operator
from clearing.clients.participant import Participant
from clearing.services.pki import init_pki, load_config, load_identity
from clearing.services import prover_service

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


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path / "cfg")
    try:
        yield c
    finally:
        c.stop()


def test_harness_onboards_over_tls(cluster):
    cluster.onboard()
    st = cluster.operator().status()
    assert list(st.members) == ["A", "B", "C"]
    assert cluster.member("A").balances() == {"cash": 10**9, "df": 10**7, "pos": [0, 0], "due": 0}
