"""The in-process service harness itself (support.services, the ``cluster``
fixture): the node and the prover start over mutual TLS and onboard the
members through their clients."""
from __future__ import annotations


def test_harness_onboards_over_tls(cluster):
    cluster.onboard()
    st = cluster.operator().status()
    assert list(st.members) == ["A", "B", "C"]
    assert cluster.member("A").balances() == {"cash": 10**9, "df": 10**7, "pos": [0, 0], "due": 0}
