"""Privacy regression suite (issue 10; DESIGN §2, §5.1, §5.2, §6.4): the
clearing node must not learn a survivor's positions, cash, contribution,
payable or equity -- neither from what it stores nor by asking.

**The scan.**  Both variants of the built-in scenario run through the
in-process engine with the prover's witness store (``support.privacy``).
From the witness store's openings, replaying the ledger with the same fold,
every survivor's hidden values after every event are computed: cash, df,
due, positions, cycle VM, the equity of every scenario, the requirement and
the shortfall, trade quantities and pro-rata shares, and every blinding.
Everything the clearing node and the auditor hold -- the SQLite database and
its ``-wal``/``-shm`` while open and after a checkpoint, anything else beside
it, the ledger events as JSON, the default reports (JSON, table, chart), the
audit report, the node's public reads, every log record and anything printed
-- is scanned for each distinctive value in decimal, hex, big/little-endian
5..32-byte, two's complement, mod-r scalar and varint encodings
(``support.privacy.Scanner``).  A value is distinctive when |v| >= 2^20 and
it is not a public amount of the ledger; a negative control plants a secret
and the scan must find it.

Which secrets coincide with a public amount, and why that is excluded: a
commitment with a zero blinding is public by construction -- the node built
it from public amounts alone (a member's cash right after its onboarding
deposit equals that deposit; a contribution taken in full by tranche 4 is 0)
-- so the openings with zero blinding are not secrets at all.  Any *other*
survivor secret equal to a public amount is a leak: before issue 10 the
exact cure deposit equalled the member's shortfall (requirement - cash) and
the exact assessment deposit its payable; ``test_no_secret_is_a_public_amount``
fails on that.  The scan itself skips public amounts (it could not tell the
public number from the secret one in the database).

**The inference checks** (issue 10's reproduced leaks), each its own test:
window differencing, share from payment, cure from deposit, blinding reuse.

The slow test runs the multi-process ``zkclear demo`` and scans the clearing
node's and the auditor's directories, their logs and the reports.
"""
from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import grpc
import pytest

from clearing.api import clearing_pb2, convert
from clearing.fold.apply import apply_event
from clearing.fold.state import State
from clearing.protocol import signing
from clearing.protocol.contracts import WindowTotal
from clearing.protocol.errors import AlreadyExists, FailedPrecondition
from clearing.protocol.events import parse
from clearing.protocol.fields import PROVER
from clearing.protocol.messages import epoch_message, trade_message, trade_tuple
from clearing.protocol.relay import OpeningError, seal_opening
from clearing.protocol.statements import epoch_statement, trade_statement
from clearing.services import rpc
from prover.custody.witness import Refused
from prover.statements import prove, prove_reveals
from support import privacy as P
from support.engine import basic_sim, run_scenario, waterfall_scenario
from zkp.field import random_scalar
from zkp.generators import generators
from zkp.pedersen import Opening

VARIANTS = ("normal", "harsh")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tmp_path_factory.mktemp("privacy")


def grid_of(run) -> int:
    return run.scenario.ccp.deposit_grid


# ---------------------------------------------------------------------------
# The scan
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
def test_nothing_the_node_or_auditor_holds_contains_a_survivor_secret(base, variant):
    run = P.builtin_run(variant, base)
    sec = P.survivor_secrets(run)
    public = P.public_ints(run.events, run.reports, run.audit)
    values = sec.distinctive(exclude=public)
    # the scan has something to look for: every survivor's cash, df and equities, blindings, position vectors
    survivors = run.survivors()
    assert len(survivors) >= 4
    for m in survivors:
        for what in ("cash", "df", "equity scenario 1"):
            assert any(d.startswith(f"{m} {what} ") for ds in values.values() for d in ds), (m, what)
    assert len(sec.blindings) >= 50 and sec.vectors
    holdings = P.node_holdings(run)
    assert any(k.endswith("-wal") and v for k, v in holdings.items()), "the WAL was not captured"
    assert any(k.endswith("-shm") for k in holdings)
    hits = P.Scanner(values, sec.blindings, sec.vectors).scan_all(holdings)
    assert not hits, "survivor secrets found in what the node holds:\n" + "\n".join(map(str, hits[:20]))


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_secret_is_a_public_amount(base, variant):
    """No survivor secret (non-zero blinding, |v| >= 2^20) equals a public
    amount of the ledger or the reports: a public deposit of exactly a
    shortfall, a payable or a contribution would pin it."""
    run = P.builtin_run(variant, base)
    sec = P.survivor_secrets(run)
    public = P.public_ints(run.events, run.reports, run.audit)
    same = {v: sorted(d) for v, d in sec.values.items() if abs(v) >= P.MIN_DISTINCTIVE and abs(v) in public}
    assert not same, "secrets equal to a public amount:\n" + "\n".join(d[0] for d in same.values())
    # the zero-blinding openings really are the public ones (the onboarding deposit)
    assert any(" cash @" in w and "(deposit)" in w for w in sec.public_by_construction)


def test_scan_finds_a_planted_secret(base, tmp_path):
    """Negative control: one survivor's cash planted in a copy of the node's
    database (as an SQLite integer, inside JSON, as hex), a blinding as a
    blob, a negative equity in a log line -- the scan finds every one."""
    run = P.builtin_run("normal", base)
    sec = P.survivor_secrets(run)
    public = P.public_ints(run.events, run.reports, run.audit)
    values = sec.distinctive(exclude=public)
    cash = next(v for v, d in sorted(values.items()) if v > 1 << 32 and any(" cash @" in w for w in d))
    equity = next(v for v, d in sorted(values.items()) if v < -(1 << 24) and any("equity" in w for w in d))
    blinding = next(iter(sorted(sec.blindings)))
    scanner = P.Scanner(values, sec.blindings, sec.vectors)
    db = tmp_path / "clearing.db"
    shutil.copy(run.sim.engine.ledger.path, db)
    clean = P.db_files(db)
    assert not scanner.scan_all(clean)
    con = sqlite3.connect(db)
    con.execute("INSERT INTO meta (key, value) VALUES ('planted-int', ?)", (cash,))
    con.commit()
    con.close()
    hits = scanner.scan_all(P.db_files(db))
    assert any(h.encoding.startswith("be") for h in hits), [str(h) for h in hits]  # SQLite's big-endian integer
    for planted, enc in ((json.dumps({"cash": cash}), "decimal token"), (json.dumps({"cash": format(cash, "x")}), "hex token"),
                         (json.dumps({"cash": str(cash)}), "decimal token")):
        con = sqlite3.connect(db)
        con.execute("INSERT OR REPLACE INTO derived (key, value) VALUES ('planted', ?)", (planted,))
        con.commit()
        con.close()
        assert any(h.encoding == enc for h in scanner.scan_all(P.db_files(db))), enc
    con = sqlite3.connect(db)
    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('planted-blob', ?)", (blinding.to_bytes(32, "big"),))
    con.commit()
    con.close()
    assert any(h.encoding == "be32" for h in scanner.scan_all(P.db_files(db)))
    with P.captured_output() as text:
        logging.getLogger("zkclear.test").info("equity now %d", equity)
    hits = scanner.scan("logs", "\n".join(text).encode())
    assert [h.encoding for h in hits] == ["decimal token"]
    # binary encodings other than SQLite's: little-endian, protobuf varint, two's complement
    for blob, enc in ((b"\x01" + cash.to_bytes(8, "little") + b"\x02", "le5"),
                      (b"\x08" + P.leb128(cash) + b"\x10", "varint"),
                      (equity.to_bytes(8, "big", signed=True), "twos")):
        assert any(enc in h.encoding for h in scanner.scan("blob", blob)), enc


# ---------------------------------------------------------------------------
# Inference: window differencing (issue 10, leak 1)
# ---------------------------------------------------------------------------
def test_window_totals_cannot_be_differenced(tmp_path):
    """The node asking the prover for the group total at will, twice, for a
    subset or for a past window is refused; an exact repeat before booking
    gets the recorded answer, byte for byte; the engine will not close a
    window someone has not filed in, even with a valid signed opening."""
    sim = basic_sim(tmp_path, members=("A", "B", "C"), df=12_345_678, seed=b"privacy-epoch")
    kw = sim.witness.epoch_total(sim.cycle, sim.accounts())
    assert sim.witness.epoch_total(sim.cycle, sim.accounts()) == kw  # an exact repeat: the recorded answer
    sim.engine.open_epoch_total(kw, sim.rid("epoch"))
    sim.sync()
    D1 = kw.D
    refused = 0
    for _ in range(2):  # at will, and again: nobody filed in the new window
        with pytest.raises(Refused):
            sim.witness.epoch_total(sim.cycle, sim.accounts())
        refused += 1
    before = {m: sim.engine.account(m)["df"] for m in sim.members}
    sim.fund("A", 35_802_467)  # A alone changes its contribution (issue 10: the node wanted D before and after)
    with pytest.raises(Refused):  # the subset that filed: a total now would be A's change
        sim.witness.epoch_total(sim.cycle, sim.accounts())
    with pytest.raises(Refused):  # a past cycle
        sim.witness.epoch_total(sim.cycle - 1, sim.accounts())
    # a prover that did answer could not get the window closed either: the engine refuses it
    s = sim.witness.state
    members = sorted(s.members)
    ops = [s.members[m].df for m in members]
    gens = generators()
    D = sum(P.opened(op) for op in ops)
    st = epoch_statement(s.epoch, s.epoch_seq, members, [gens.commit(o.value, o.blinding) for o in ops], D)
    proof = prove_reveals(st, ops).to_bytes()
    sig = signing.sign(sim.prover_sk, *epoch_message(sim.cycle, s.epoch, members, D, proof))
    with pytest.raises(FailedPrecondition, match="window"):
        sim.engine.open_epoch_total(WindowTotal(sim.cycle, s.epoch, members, D, proof, sig), sim.rid("epoch"))
    # everybody re-files (B and C unchanged): fresh commitments, then one total
    sim.fund("B", 12_345_678)
    sim.fund("C", 12_345_678)
    after = {m: sim.engine.account(m)["df"] for m in sim.members}
    assert all(after[m] != before[m] for m in sim.members), "an unchanged contribution must be re-randomised"
    sim.open_epoch()
    D2 = sim.engine.state.books["epochs"][-1]["D"]
    assert D2 - D1 == 35_802_467 - 12_345_678  # the sum of all changes, attributable to none
    logged = [e for e in sim.witness.log if e[0] == "epoch-total" and e[3].startswith("refused")]
    assert len(logged) >= refused + 2
    # over the services (ProveEpochTotal) a refusal is FAILED_PRECONDITION, never INTERNAL
    assert rpc._status(Refused("the funding window is not complete"))[0] == grpc.StatusCode.FAILED_PRECONDITION


# ---------------------------------------------------------------------------
# Inference: share from payment (issue 10, leak 2)
# ---------------------------------------------------------------------------
def _due_of(whole: int, part: int, D0: int, x: int) -> int:
    return whole * x + part * x // D0


def _public_assessment_terms(events, report) -> tuple[int, int]:
    """(whole, part) of due_j = whole*df_j + floor(part*df_j/D0), from public data only."""
    if report["assessments_capped"]:
        cap = [b for _, b in events if b["kind"] in ("genesis", "ccp-params")][-1]
        cap = cap["config"]["ccp"] if cap["kind"] == "genesis" else cap
        return cap["assessment_cap_multiple"], 0
    part = sum(b["R"] for _, b in events if b["kind"] == "dm-shares" and b["purpose"] == "assessment"
               and b["index"] == report["index"])
    assessed = next(t["amount"] for t in report["waterfall"] if t["tranche"] == "assessments")
    whole, rem = divmod(assessed - part + report["assessment_residual"], report["D0"])
    assert rem == 0
    return whole, part


def _first(whole: int, part: int, D0: int, v: int) -> int:
    """The smallest contribution x >= 0 whose payable is >= v (due is monotone in x)."""
    a, b = 0, 1 << 64
    while a < b:
        mid = (a + b) // 2
        if _due_of(whole, part, D0, mid) >= v:
            b = mid
        else:
            a = mid + 1
    return a


def _assessment_runs(base):
    out = [P.builtin_run("harsh", base)]
    sc = waterfall_scenario(drop=6000, extra=3000, dfs=[400_000, 500_000, 600_001], sitg1=1_000_000, sitg2=0,
                            weak=("S1", "S3"), grid=100_000)
    d = Path(base) / "assess-deposit"
    d.mkdir(exist_ok=True)
    sim, days = run_scenario(d, sc, "v", seed=b"privacy-assess")
    out.append(SimpleNamespace(sim=sim, events=sim.engine.events(), reports=sim.engine.default_reports(),
                               scenario=sc))
    return out


def test_assessment_payments_do_not_reveal_contributions(base):
    """Every assessed survivor settles from hidden cash (nothing public) or
    by a deposit rounded up to the grid: never its payable, and the node's
    solve df_j = (d - part)/whole, exactly or by the floor equation, does
    not give the contribution -- many contributions fit the deposit."""
    paths = {"assessment-settle": 0, "assessment-pay": 0}
    for run in _assessment_runs(base):
        grid = run.scenario.ccp.deposit_grid
        report = run.reports[0]
        whole, part = _public_assessment_terms(run.events, report)
        D0 = report["D0"]
        snapshot = {}
        alg = run.sim.witness.alg
        state = State()
        for seq, body in run.events:
            if body["kind"] in ("assessment-pay", "assessment-settle"):
                m = body["member"]
                due = P.opened(state.members[m].due)
                df = snapshot[m]
                assert due == _due_of(whole, part, D0, df)  # the public formula is the real one
                paths[body["kind"]] += 1
                if body["kind"] == "assessment-settle":
                    assert "amount" not in body
                else:
                    d = body["amount"]
                    assert d != due, f"{m} deposited exactly its payable"
                    liquidity = run.scenario.member(m).liquidity
                    assert d % grid == 0 or d == liquidity, f"{m}: deposit neither on the grid nor its liquidity"
                    assert due <= d < due + grid
                    # the node's solve: the contributions whose payable is exactly d
                    lo, hi = _first(whole, part, D0, d), _first(whole, part, D0, d + 1)
                    assert not lo <= df < hi, f"{m}: the deposit pins the contribution"
                    if whole:
                        assert (d - part) % whole or (d - part) // whole != df
                    # what it does learn: a payable in (d - grid, d], i.e. many contributions
                    assert _first(whole, part, D0, d + 1) - _first(whole, part, D0, d - grid + 1) > 1
            apply_event(state, seq, parse(body), alg)
            if body["kind"] == "dm-open":
                snapshot = {m: P.opened(state.members[m].df) for m in body["survivors"]}
    assert paths["assessment-settle"] >= 1 and paths["assessment-pay"] >= 2, paths


# ---------------------------------------------------------------------------
# Inference: cure from deposit (issue 10, leak 3)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
def test_cure_deposits_bound_but_do_not_pin_the_shortfall(base, variant):
    """Every cure deposit is a multiple of the grid or the member's whole
    remaining liquidity, covers the call by less than one grid step, and is
    never the shortfall requirement - cash itself."""
    run = P.builtin_run(variant, base)
    grid = grid_of(run)
    matrix = run.sim.engine.state.scenario_set["matrix"]
    alg = run.sim.witness.alg
    state = State()
    called: set[str] = set()
    onboarded: set[str] = set()
    spent: dict[str, int] = {}
    cures = 0
    for seq, body in run.events:
        kind = body["kind"]
        if kind == "deposit" and body["member"] in called:
            m = body["member"]
            a = state.members[m]
            pos = [P.opened(p) for p in a.pos]
            shortfall = max(0, max(-sum(x * q for x, q in zip(row, pos)) for row in matrix)) - P.opened(a.cash)
            d = body["amount"]
            left = run.scenario.member(m).liquidity - spent.get(m, 0)
            assert d != shortfall, f"{m}'s cure deposit is exactly its shortfall"
            assert d % grid == 0 or d == left, f"{m}'s cure deposit is neither on the grid nor its liquidity"
            assert shortfall <= d < shortfall + grid
            cures += 1
        if kind == "deposit":
            if body["member"] in onboarded:
                spent[body["member"]] = spent.get(body["member"], 0) + body["amount"]
            onboarded.add(body["member"])
        if kind == "assessment-pay":
            spent[body["member"]] = spent.get(body["member"], 0) + body["amount"]
        if kind == "margin-batch":
            called = {m for m, r in body["results"].items() if r != "pass"}
        if (kind == "margin-cure" and not body["solvency_only"]) or kind == "default":
            called.discard(body["member"])
        apply_event(state, seq, parse(body), alg)
    assert cures >= 1


# ---------------------------------------------------------------------------
# Inference: blinding reuse (issue 10, leak 4)
# ---------------------------------------------------------------------------
class _Channel:
    def __getattr__(self, name):
        return lambda *a, **k: None

    def close(self):
        pass


class _Node:
    """The clearing node's two RPCs a counterparty uses to affirm, served by
    the in-process engine (or by a crafted pending trade)."""

    def __init__(self, sim, offer=None):
        self.sim, self.offer = sim, offer

    def StreamPendingTrades(self, req, timeout=None):
        if self.offer is not None:
            return [self.offer]
        return [clearing_pb2.PendingTrade(trade=convert.trade_msg(t), sealed_opening=s)
                for t, s in self.sim.engine.pending_for(req.member)]

    def AffirmTrade(self, req, timeout=None):
        res = self.sim.engine.affirm(req.trade_id, req.member, req.signature, req.request_id)
        self.sim.sync()
        return clearing_pb2.TradeStatus(seq=res["seq"], status=res["status"])


def _participant(monkeypatch, sim, mid, seen_path, offer=None):
    from clearing.clients import participant as PT

    monkeypatch.setattr(PT.rpc, "channel", lambda *a, **k: _Channel())
    m = sim.members[mid]
    identity = SimpleNamespace(role="member", name=mid, ed25519_private=m.sk, x25519_private=m.relay)
    p = PT.Participant(identity, None, "unused:0", seen_path=seen_path)
    p.clearing = _Node(sim, offer)
    return p


def _submit(sim, tid, buyer, seller, qty, rho):
    """A's trade with a chosen blinding (the harness's make_trade draws a fresh one)."""
    T = generators().commit(qty, rho)
    trade = {"trade_id": tid, "cycle": sim.cycle, "buyer": buyer, "seller": seller, "instrument": "ESX",
             "side": "buy", "price": 500000, "T": T.encode().hex()}
    tup = trade_tuple(trade)
    st = trade_statement(sim.cycle, sim.engine.state.cycle_seq, buyer, T, tup)
    proof = prove(st, [Opening(qty, rho)], rng=sim.rng).to_bytes()
    sig = sim.members[buyer].sign(trade_message(trade))
    sc = seal_opening(sim.members[seller].rpk, qty, rho, tup)
    sp = seal_opening(sim.witness.relay_public, qty, rho, tup)
    sim.engine.submit_trade(trade, proof, sig, sc, sp, sim.rid("trade"))
    sim.sync()
    return trade


def test_reused_blinding_is_refused_by_counterparty_and_prover(tmp_path, monkeypatch):
    """A trade whose opening reuses a rho seen before (T2 - T1 would give the
    node q2 - q1) is refused by the counterparty's client -- also after it
    restarts -- and by the prover; a T seen before is refused by the engine
    and by the client; rho = 0 cannot even be sealed."""
    from clearing.clients.participant import TradeRejected

    sim = basic_sim(tmp_path, members=("A", "B"), seed=b"privacy-rho")
    seen = tmp_path / "B-seen.json"
    b = _participant(monkeypatch, sim, "B", seen)
    rho = random_scalar(sim.rng)
    t1 = _submit(sim, "t1", "A", "B", 5, rho)
    b.affirm("t1")
    sim.engine.receipt("t1", sim.witness.receive_opening("t1", sim.engine.relayed("t1", PROVER)), sim.rid("r"))
    sim.sync()
    assert sim.engine.trade("t1")["status"] == "novated"
    # the same blinding, another size: the engine cannot tell (T differs), the counterparty and the prover can
    _submit(sim, "t2", "A", "B", 355, rho)
    with pytest.raises(TradeRejected, match="blinding"):
        b.affirm("t2")
    with pytest.raises(TradeRejected, match="blinding"):
        _participant(monkeypatch, sim, "B", seen).affirm("t2")  # a restarted client remembers
    with pytest.raises(Refused, match="blinding"):
        sim.witness.receive_opening("t2", sim.engine.relayed("t2", PROVER))
    assert sim.engine.trade("t2")["status"] == "pending"
    assert rho.to_bytes(32, "big").hex() not in seen.read_text()  # the client keeps tags, not blindings
    # a T seen before: the engine refuses it; a relay offering it under another id is refused by the client
    with pytest.raises(AlreadyExists):
        _submit(sim, "t3", "A", "B", 5, rho)
    t3 = dict(t1, trade_id="t3")
    offer = clearing_pb2.PendingTrade(trade=convert.trade_msg(t3),
                                      sealed_opening=seal_opening(sim.members["B"].rpk, 5, rho, trade_tuple(t3)))
    with pytest.raises(TradeRejected, match="seen before"):
        _participant(monkeypatch, sim, "B", seen, offer=offer).affirm("t3")
    with pytest.raises(OpeningError):
        seal_opening(sim.members["B"].rpk, 5, 0, trade_tuple(t3))


# ---------------------------------------------------------------------------
# The demo processes (slow)
# ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_demo_node_and_auditor_hold_no_survivor_secret(base, tmp_path, variant):
    """``zkclear demo`` (clearing node, prover, one process per member,
    auditor): the clearing node's and the auditor's directories (keys,
    database with WAL, head markers), their logs, the reports and the demo's
    own output hold none of the survivors' values (the scenario's values are
    the engine run's: both equal the plaintext oracle's; blindings differ
    between runs, so values and position vectors are scanned)."""
    out, work = tmp_path / "out", tmp_path / "work"
    proc = subprocess.run([sys.executable, "-m", "clearing.cli", "demo", "--variant", variant, "--out", str(out),
                           "--workdir", str(work), "--quiet"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    run = P.builtin_run(variant, base)
    sec = P.survivor_secrets(run)
    db = next(work.rglob("clearing.db"))
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    demo_events = [(s, json.loads(b)) for s, b in con.execute("SELECT seq, body FROM events ORDER BY seq")]
    con.close()
    assert [b["kind"] for _, b in demo_events].count("default") == [b["kind"] for _, b in run.events].count("default")
    public = P.public_ints(run.events, run.reports, demo_events, json.loads((out / "report.json").read_text()))
    blobs = {"demo stdout": proc.stdout.encode(), "demo stderr": proc.stderr.encode()}
    node_dirs = [db.parent, *[p for p in work.rglob("*") if p.is_dir() and p.name in ("clearing", "auditor")]]
    for d in node_dirs:
        for f in d.rglob("*"):
            if f.is_file():
                blobs[str(f.relative_to(work))] = f.read_bytes()
    for name in ("clearing.log", "auditor.log"):
        blobs[f"logs/{name}"] = (out / "logs" / name).read_bytes()
    for f in out.glob("report.*"):
        blobs[f.name] = f.read_bytes()
    assert any(k.endswith("clearing.db") for k in blobs)
    scanner = P.Scanner(sec.distinctive(exclude=public), vectors=sec.vectors)
    hits = scanner.scan_all(blobs)
    assert not hits, "\n".join(map(str, hits[:20]))
    # positive control: the scenario file the demo hands to the member processes (their private
    # input, outside every node's directory) states each survivor's starting cash and contribution
    found = {h.what.split()[0] for h in scanner.scan("scenario.json", (work / "scenario.json").read_bytes())}
    assert set(run.survivors()) <= found
