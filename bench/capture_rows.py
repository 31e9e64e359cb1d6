"""The plan, the numbers and the checks of ``zkclear bench capture``
(:mod:`bench.capture`): pure functions over plain data, no service, no
process, so the default test suite checks them cheaply.

* the plan: :func:`member_names`, :func:`pairs` (K initiator/counterparty
  pairs spread over the members), :func:`plan` (the trades of each pair),
  :func:`expected_positions`;
* the numbers: :func:`percentile` (nearest rank), CPU times from /proc
  (:func:`proc_cpu_ms`, :func:`self_cpu_ms`, :func:`machine_busy_ms`),
  :func:`make_row` (one JSON row from a row's raw measurements);
* the checks behind a row's ``ok``: :func:`ledger_problems` (every trade in
  the ledger exactly once and novated, every client's reply equal to the
  ledger), :func:`position_problems` (positions as planned, netting to zero);
* :func:`format_table` and :func:`parse_clients` for the command line.
"""
from __future__ import annotations

import math
import os
import re
import resource
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from . import BenchUsageError

DEFAULT_MEMBERS = 8
ROW_KEYS = ("mode", "clients", "trades", "novated", "trades_per_s", "p50_ms", "p99_ms",
            "node_cpu_ms_per_trade", "prover_cpu_ms_per_trade", "ok")
#: Problems listed per row at most (the rest counted).
MAX_PROBLEMS = 20


# -- the plan -----------------------------------------------------------------------------

def member_names(n: int) -> list[str]:
    """``n`` member names M01, M02, ..."""
    if not 2 <= n <= 99:
        raise BenchUsageError("capture needs 2 to 99 members")
    return [f"M{k + 1:02d}" for k in range(n)]


def pairs(k: int, members: Sequence[str]) -> list[tuple[str, str]]:
    """(initiator, counterparty) of each of ``k`` pairs, spread over the
    members: pair j is initiated by member j mod M, its counterparty
    shifted by 1 + j div M, so that with K > M the pairs differ."""
    m = len(members)
    out = []
    for j in range(k):
        ini = j % m
        cp = (ini + 1 + (j // m) % (m - 1)) % m
        out.append((members[ini], members[cp]))
    return out


@dataclass(frozen=True)
class Planned:
    """One trade of the plan."""

    tid: str
    pair: int
    initiator: str
    counterparty: str
    instrument: str
    side: str
    quantity: int
    price: int

    @property
    def buyer(self) -> str:
        return self.initiator if self.side == "buy" else self.counterparty

    @property
    def seller(self) -> str:
        return self.counterparty if self.side == "buy" else self.initiator

    def expect(self) -> dict:
        """The terms the counterparty checks before affirming."""
        return {"quantity": self.quantity, "price": self.price, "instrument": self.instrument,
                "counterparty": self.initiator}


def plan(trades: int, k: int, members: Sequence[str], instruments: Sequence[dict]) -> list[list[Planned]]:
    """``trades`` trades over ``k`` pairs (the first ``trades mod k`` pairs get
    one more), per pair in submission order."""
    if k < 1 or trades < k:
        raise BenchUsageError(f"{trades} trades cannot keep {k} client pairs busy (need trades >= clients)")
    out = []
    for j, (ini, cp) in enumerate(pairs(k, members)):
        mine = []
        for n in range(trades // k + (1 if j < trades % k else 0)):
            inst = instruments[(j + n) % len(instruments)]
            mine.append(Planned(f"c{j}-{n}", j, ini, cp, inst["id"], ("buy", "sell")[(j + n) % 2],
                                1 + (j + 3 * n) % 7, inst["price0"]))
        out.append(mine)
    return out


def expected_positions(planned: Iterable[Planned], members: Sequence[str], instruments: Sequence[str]) -> dict:
    """member -> position per instrument after every planned trade."""
    pos = {m: [0] * len(instruments) for m in members}
    for t in planned:
        i = instruments.index(t.instrument)
        pos[t.buyer][i] += t.quantity
        pos[t.seller][i] -= t.quantity
    return pos


# -- the numbers ---------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile (0 < q <= 100), None when empty."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


def proc_cpu_ms(pid: int) -> float:
    """utime + stime of process ``pid`` (all its threads) in ms, from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3 of stat); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def tree_cpu_ms(pid: int) -> float:
    """:func:`proc_cpu_ms` of ``pid`` and every live descendant (the node's
    verification workers and their forkserver, the prover's proving pool):
    a window's difference counts the work of processes that lived through
    it or started in it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += proc_cpu_ms(p)
        except (OSError, ValueError, IndexError):
            continue
        todo += children.get(p, [])
    return total


_RPC_LINE = re.compile(r" zkclear\.rpc INFO (\w+) by [^:]*: ([A-Z_]+)\s*$", re.MULTILINE)


def count_rpcs(log_text: str) -> dict[str, int]:
    """Calls per method in a service's log (one line per call, see
    :mod:`clearing.services.rpc`)."""
    out: dict[str, int] = {}
    for method, _ in _RPC_LINE.findall(log_text):
        out[method] = out.get(method, 0) + 1
    return out


def self_cpu_ms() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime + r.ru_stime) * 1000.0


def machine_busy_ms() -> float:
    """CPU time all cores spent busy (not idle, not waiting on I/O) since boot, in ms (/proc/stat)."""
    with open("/proc/stat", encoding="ascii") as fh:
        ticks = [int(x) for x in fh.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) * 1000.0 / os.sysconf("SC_CLK_TCK")


def make_row(mode: str, clients: int, trades: int, *, novated: int, elapsed_s: float,
             latencies_ms: Sequence[float], cpu_ms: dict, problems: Sequence[str], errors: int = 0,
             affirm_pending: int = 0, members: int = DEFAULT_MEMBERS, paced_tps: float | None = None,
             load_avg: Sequence[float] = ()) -> dict:
    """One JSON row from a clocked run's raw measurements.  ``cpu_ms``:
    ``{"node", "prover", "client"}`` CPU milliseconds over the window (and
    ``"machine"``, every core's busy time, and ``"node_main"``, the node's
    own process without its workers, when measured).  ``ok``
    is true when nothing went wrong (no problem) and every trade was novated."""
    per = max(novated, 1)

    def r(x: float | None, nd: int = 2) -> float | None:
        return None if x is None else round(x, nd)

    def util(ms: float | None) -> float | None:  # CPU ms over the window -> cores
        return None if ms is None or elapsed_s <= 0 else r(max(ms, 0.0) / 1000.0 / elapsed_s)

    return {
        "mode": mode, "clients": clients, "trades": trades, "novated": novated,
        "trades_per_s": r(novated / elapsed_s if elapsed_s > 0 else 0.0, 1),
        "p50_ms": r(percentile(latencies_ms, 50), 1), "p99_ms": r(percentile(latencies_ms, 99), 1),
        "node_cpu_ms_per_trade": r(cpu_ms["node"] / per), "prover_cpu_ms_per_trade": r(cpu_ms["prover"] / per),
        # the node's own process (node_cpu_ms_per_trade adds its verification workers)
        "node_main_cpu_ms_per_trade": r(cpu_ms["node_main"] / per) if "node_main" in cpu_ms else None,
        "ok": not problems and novated == trades,
        "members": members, "paced_tps": r(paced_tps, 1), "elapsed_s": r(elapsed_s, 3),
        "client_cpu_ms_per_trade": r(cpu_ms["client"] / per),
        "client_cpu_util": util(cpu_ms["client"]),
        # cores busy on the whole machine, and busy with anything but the node, the prover and the clients
        "machine_cpu_util": util(cpu_ms.get("machine")),
        "others_cpu_util": util(None if "machine" not in cpu_ms
                                else cpu_ms["machine"] - cpu_ms["node"] - cpu_ms["prover"] - cpu_ms["client"]),
        "affirm_reported_pending": affirm_pending, "errors": errors,
        "problems": list(problems[:MAX_PROBLEMS]) + ([f"... {len(problems) - MAX_PROBLEMS} more"]
                                                      if len(problems) > MAX_PROBLEMS else []),
        "load_avg": [round(x, 2) for x in load_avg],
    }


# -- the check -----------------------------------------------------------------------------

@dataclass
class Reply:
    """What a client was told: the reported seq, status and trade's T."""

    seq: int
    status: str
    T: str = ""


def ledger_problems(events: Sequence[tuple[int, dict]], planned: Sequence[Planned], submitted: dict[str, Reply],
                    affirmed: dict[str, Reply], node_status: dict[str, str]) -> tuple[int, list[str]]:
    """(novated, problems) of the ledger and the clients' views against it
    (see the module docstring: exactly once, novated, views equal)."""
    problems: list[str] = []
    seqs: dict[str, dict[str, list[int]]] = {}
    trade_T: dict[str, str] = {}
    for seq, body in events:
        kind = body.get("kind")
        if kind == "trade":
            tid = body["trade"]["trade_id"]
            trade_T[tid] = body["trade"]["T"]
        elif kind in ("affirm", "receipt"):
            tid = body["trade_id"]
        else:
            continue
        seqs.setdefault(tid, {}).setdefault(kind, []).append(seq)
    wanted = {t.tid for t in planned}
    for tid in sorted(set(seqs) - wanted):
        problems.append(f"{tid}: in the ledger but not planned")
    novated = 0
    for t in planned:
        s = seqs.get(t.tid, {})
        counts = {k: len(s.get(k, [])) for k in ("trade", "affirm", "receipt")}
        if counts != {"trade": 1, "affirm": 1, "receipt": 1}:
            problems.append(f"{t.tid}: ledger holds {counts}")
            continue
        if node_status.get(t.tid) != "novated":
            problems.append(f"{t.tid}: node reports {node_status.get(t.tid)!r}, not novated")
            continue
        novated += 1
        (t_seq,), (a_seq,), (r_seq,) = s["trade"], s["affirm"], s["receipt"]
        sub, aff = submitted.get(t.tid), affirmed.get(t.tid)
        if sub is None or aff is None:
            problems.append(f"{t.tid}: the clients have no reply for it")
            continue
        if sub.seq != t_seq or (sub.T and sub.T != trade_T[t.tid]) or sub.status not in ("pending", "novated"):
            problems.append(f"{t.tid}: SubmitTrade reported seq {sub.seq} {sub.status!r}, ledger seq {t_seq}")
        allowed = ("novated",) if r_seq < a_seq else ("pending", "novated")
        if aff.seq != a_seq or aff.status not in allowed:
            problems.append(f"{t.tid}: AffirmTrade reported seq {aff.seq} {aff.status!r}, ledger affirm seq "
                            f"{a_seq}, receipt seq {r_seq}")
    return novated, problems


def position_problems(seen: dict[str, list[int]], expected: dict[str, list[int]]) -> list[str]:
    """Positions from the prover against the plan; and netting to zero."""
    problems = [f"{m}: positions {seen.get(m)} from the prover, planned {want}"
                for m, want in expected.items() if seen.get(m) != want]
    width = max((len(p) for p in seen.values()), default=0)
    for i in range(width):
        total = sum(p[i] for p in seen.values() if i < len(p))
        if total:
            problems.append(f"instrument {i}: positions sum to {total}, not zero")
    return problems


# -- the table and the command line ------------------------------------------------------------

COLUMNS = (("mode", "mode"), ("clients", "K"), ("paced_tps", "paced/s"), ("trades", "trades"),
           ("novated", "novated"), ("trades_per_s", "trades/s"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"),
           ("node_cpu_ms_per_trade", "node ms/tr"), ("prover_cpu_ms_per_trade", "prover ms/tr"),
           ("client_cpu_ms_per_trade", "clients ms/tr"), ("ok", "ok"))


def format_table(report: dict) -> str:
    def cell(v: object) -> str:
        return "" if v is None else str(v)

    rows = [[cell(r.get(k)) for k, _ in COLUMNS] for r in report["results"]]
    head = [t for _, t in COLUMNS]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    lines = [report["machine"], f"backend {report['backend']}, commit {report['commit']}", "",
             "  ".join(h.rjust(w) for h, w in zip(head, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in rows]
    for r in report["results"]:
        for p in r["problems"]:
            lines.append(f"{r['mode']} K={r['clients']}: {p}")
    return "\n".join(lines)


def parse_clients(text: str) -> list[int]:
    try:
        ks = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise BenchUsageError(f"--clients must be comma-separated integers, not {text!r}") from None
    if not ks or any(k < 1 for k in ks):
        raise BenchUsageError("--clients must name positive integers")
    return ks
