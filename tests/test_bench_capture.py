"""``zkclear bench capture`` (issue 16): the row-building helpers of
bench/capture_rows.py (fast) and one quick run of the whole benchmark -- a
clearing node and a prover as processes, both modes, small K -- whose rows
must have the stated shape and be ok (slow).

The fast tests show the checks behind ``ok`` can fail: a trade captured
twice, an affirmation reported pending after its receipt was booked, a
reply naming another seq, positions that do not net to zero, a trade not
novated."""
from __future__ import annotations

import json

import pytest

from bench import BenchUsageError, capture
from bench import capture_rows as rows
from bench.capture_rows import Planned, Reply
from clearing import cli

MEMBERS = ["M01", "M02", "M03", "M04"]
INSTRUMENTS = [{"id": "ESX", "price0": 500000}, {"id": "RTX", "price0": 200000}]


# -- the plan -------------------------------------------------------------------------------

def test_pairs_spread_over_members_and_never_self():
    ps = rows.pairs(64, rows.member_names(8))
    assert len(ps) == 64 and all(a != b for a, b in ps)
    assert len(set(ps)) == 56  # every ordered pair of 8 members once, then again
    assert {a for a, _ in ps} == set(rows.member_names(8))
    assert rows.pairs(1, MEMBERS) == [("M01", "M02")]


def test_plan_splits_trades_and_nets_to_zero():
    tp = rows.plan(10, 4, MEMBERS, INSTRUMENTS)
    assert [len(ts) for ts in tp] == [3, 3, 2, 2]
    flat = [t for ts in tp for t in ts]
    assert len({t.tid for t in flat}) == 10
    assert all(t.price == {"ESX": 500000, "RTX": 200000}[t.instrument] and 1 <= t.quantity <= 7 for t in flat)
    assert {t.side for t in flat} == {"buy", "sell"}
    pos = rows.expected_positions(flat, MEMBERS, ["ESX", "RTX"])
    assert [sum(p[i] for p in pos.values()) for i in range(2)] == [0, 0]
    assert any(any(p) for p in pos.values())
    with pytest.raises(BenchUsageError, match="trades >= clients"):
        rows.plan(3, 4, MEMBERS, INSTRUMENTS)


def test_percentile_nearest_rank():
    assert rows.percentile([], 50) is None
    vals = list(range(1, 101))
    assert rows.percentile(vals, 50) == 50
    assert rows.percentile(vals, 99) == 99
    assert rows.percentile([5.0], 99) == 5.0


def test_make_row_shape_and_ok():
    row = rows.make_row("preproved", 8, 100, novated=100, elapsed_s=2.0, latencies_ms=[10.0, 20.0, 30.0],
                           cpu_ms={"node": 1000.0, "prover": 200.0, "client": 300.0}, problems=[])
    assert set(rows.ROW_KEYS) <= set(row)
    assert row["trades_per_s"] == 50.0 and row["p50_ms"] == 20.0 and row["p99_ms"] == 30.0
    assert row["node_cpu_ms_per_trade"] == 10.0 and row["prover_cpu_ms_per_trade"] == 2.0
    assert row["ok"] is True
    assert rows.make_row("preproved", 8, 100, novated=99, elapsed_s=2.0, latencies_ms=[1.0],
                            cpu_ms={"node": 0, "prover": 0, "client": 0}, problems=[])["ok"] is False
    bad = rows.make_row("end_to_end", 1, 1, novated=1, elapsed_s=1.0, latencies_ms=[1.0],
                           cpu_ms={"node": 0, "prover": 0, "client": 0}, problems=[f"p{i}" for i in range(30)])
    assert bad["ok"] is False and len(bad["problems"]) == rows.MAX_PROBLEMS + 1


def test_cpu_counters_and_utilisation():
    import os

    before = (rows.proc_cpu_ms(os.getpid()), rows.self_cpu_ms(), rows.machine_busy_ms())
    sum(i * i for i in range(300_000))  # burn some CPU
    after = (rows.proc_cpu_ms(os.getpid()), rows.self_cpu_ms(), rows.machine_busy_ms())
    assert all(b <= a for b, a in zip(before, after)) and after[1] > before[1]
    row = rows.make_row("preproved", 1, 10, novated=10, elapsed_s=2.0, latencies_ms=[1.0],
                        cpu_ms={"node": 1000.0, "prover": 200.0, "client": 300.0, "machine": 3000.0}, problems=[])
    assert (row["client_cpu_util"], row["machine_cpu_util"], row["others_cpu_util"]) == (0.15, 1.5, 0.75)


# -- the ledger and view checks -----------------------------------------------------------------

def _case():
    """Two planned trades, a ledger holding each once, and the clients' replies."""
    t1 = Planned("c0-0", 0, "M01", "M02", "ESX", "buy", 3, 500000)
    t2 = Planned("c0-1", 0, "M01", "M02", "RTX", "sell", 2, 200000)
    events = [
        (1, {"kind": "admit"}),
        (2, {"kind": "trade", "trade": {"trade_id": "c0-0", "T": "aa"}}),
        (3, {"kind": "receipt", "trade_id": "c0-0"}),
        (4, {"kind": "affirm", "trade_id": "c0-0"}),        # affirmed after the receipt: novated at once
        (5, {"kind": "trade", "trade": {"trade_id": "c0-1", "T": "bb"}}),
        (6, {"kind": "affirm", "trade_id": "c0-1"}),        # affirmed before the receipt
        (7, {"kind": "receipt", "trade_id": "c0-1"}),
    ]
    submitted = {"c0-0": Reply(2, "pending", "aa"), "c0-1": Reply(5, "pending", "bb")}
    affirmed = {"c0-0": Reply(4, "novated", "aa"), "c0-1": Reply(6, "pending", "bb")}
    status = {"c0-0": "novated", "c0-1": "novated"}
    return [t1, t2], events, submitted, affirmed, status


def test_ledger_problems_accepts_a_consistent_run():
    planned, events, sub, aff, status = _case()
    assert rows.ledger_problems(events, planned, sub, aff, status) == (2, [])


def test_ledger_problems_finds_each_inconsistency():
    planned, events, sub, aff, status = _case()
    dup = [*events, (8, {"kind": "trade", "trade": {"trade_id": "c0-0", "T": "aa"}})]
    n, probs = rows.ledger_problems(dup, planned, sub, aff, status)
    assert n == 1 and probs == ["c0-0: ledger holds {'trade': 2, 'affirm': 1, 'receipt': 1}"]

    lying = dict(aff, **{"c0-0": Reply(4, "pending", "aa")})  # pending although its receipt came first
    assert "c0-0: AffirmTrade reported seq 4 'pending'" in rows.ledger_problems(
        events, planned, sub, lying, status)[1][0]

    wrong_seq = dict(sub, **{"c0-1": Reply(6, "pending", "bb")})
    assert rows.ledger_problems(events, planned, wrong_seq, aff, status)[1] == [
        "c0-1: SubmitTrade reported seq 6 'pending', ledger seq 5"]

    wrong_T = dict(sub, **{"c0-1": Reply(5, "pending", "cc")})
    assert len(rows.ledger_problems(events, planned, wrong_T, aff, status)[1]) == 1

    n, probs = rows.ledger_problems(events, planned, sub, aff, dict(status, **{"c0-1": "pending"}))
    assert n == 1 and probs == ["c0-1: node reports 'pending', not novated"]

    stray = [*events, (8, {"kind": "trade", "trade": {"trade_id": "other", "T": "dd"}})]
    assert rows.ledger_problems(stray, planned, sub, aff, status)[1] == ["other: in the ledger but not planned"]

    missing = [e for e in events if e[0] != 7]
    n, probs = rows.ledger_problems(missing, planned, sub, aff, status)
    assert n == 1 and probs == ["c0-1: ledger holds {'trade': 1, 'affirm': 1, 'receipt': 0}"]


def test_position_problems():
    want = {"M01": [3, -2], "M02": [-3, 2]}
    assert rows.position_problems({"M01": [3, -2], "M02": [-3, 2]}, want) == []
    probs = rows.position_problems({"M01": [3, -2], "M02": [-3, 1]}, want)
    assert probs == ["M02: positions [-3, 1] from the prover, planned [-3, 2]",
                     "instrument 1: positions sum to -1, not zero"]


def test_cli_usage_errors(capsys):
    assert cli.main(["bench", "capture", "--clients", "8", "--trades", "4"]) == 2
    assert "need trades >= clients" in capsys.readouterr().err
    assert cli.main(["bench", "capture", "--clients", "x"]) == 2
    assert "--clients" in capsys.readouterr().err
    assert cli.main(["bench", "capture", "--modes", "warp"]) == 2
    assert "unknown capture mode" in capsys.readouterr().err
    assert cli.main(["bench", "--help"]) == 0
    out = capsys.readouterr().out
    assert "capture" in out and "--half-capacity" in out


# -- the whole benchmark -------------------------------------------------------------------------

@pytest.mark.slow
def test_quick_capture_run(tmp_path, capsys):
    """Both modes at K = 1 and 4 (``--quick``: 12 trades, 4 members): every
    row has the issue's keys and is ok, the JSON says which machine and commit."""
    out = tmp_path / "capture.json"
    assert cli.main(["bench", "capture", "--quick", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["suite"] == "capture" and report["quick"] is True and report["commit"]
    results = report["results"]
    assert [(r["mode"], r["clients"]) for r in results] == [(m, k) for m in capture.MODES
                                                            for k in capture.QUICK_CLIENTS]
    for r in results:
        assert set(rows.ROW_KEYS) <= set(r), r
        assert r["ok"] is True, r["problems"]
        assert r["trades"] == r["novated"] == capture.QUICK_TRADES
        assert r["trades_per_s"] > 0 and 0 < r["p50_ms"] <= r["p99_ms"]
        assert r["node_cpu_ms_per_trade"] > 0 and r["prover_cpu_ms_per_trade"] >= 0
    assert "preproved" in capsys.readouterr().out


@pytest.mark.slow
def test_capture_row_under_the_pretrade_limit(tmp_path):
    """``--pretrade`` (issue 14 §1): a margin run commits every member's
    headroom before the row, every trade of the row novates with its
    two-sided debit proof on the ledger."""
    out = tmp_path / "capture.json"
    assert cli.main(["bench", "capture", "--clients", "2", "--trades", "6", "--modes", "end_to_end",
                     "--members", "4", "--pretrade", "--keep", str(tmp_path / "rows"), "--json", str(out)]) == 0
    [row] = json.loads(out.read_text())["results"]
    assert row["ok"] is True and row["pretrade"] is True and row["novated"] == 6, row["problems"]
    from clearing.node.ledger import Ledger  # the kept ledger: every receipt carries a debit

    [db] = list((tmp_path / "rows").glob("*-pretrade/data/clearing/clearing.db"))
    led = Ledger(str(db))
    try:
        receipts = [b for _, b in led.events() if b["kind"] == "receipt"]
        assert len(receipts) == 6 and all(set(r["headroom"]) == {"H_buyer", "H_seller", "proof"} for r in receipts)
    finally:
        led.close()
