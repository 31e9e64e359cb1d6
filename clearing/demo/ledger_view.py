"""What the clearing node knew, cycle by cycle: the demo's view of the
public ledger.

:class:`LedgerView` follows ClearingService.StreamLedger as any
authenticated reader can, through :func:`clearing.services.follower.follow`
(the order, the canonical encoding and the hash chain re-checked over the
bytes received; a failure is a :class:`~clearing.demo.errors.DemoError`),
and keeps

* **per-cycle public facts** -- prices, the scenario set, public deposits,
  funded members, trades and novations, the margin results, cures,
  withdrawals, defaults, the default events (defaulters, survivors, D0, the
  disclosed values, close-out prices and lots), assessments paid, the
  cycle's digest -- the summary the demo prints and writes to report.json;
* **proof counts** -- every proof the node accepted (trade range proofs,
  funding, margin entries, cures, disclosures, D0, pro-rata shares,
  assessment settlements) is counted generated and verified; a margin entry
  that did not verify is counted rejected;
* **the public invariants** (DESIGN §4, :func:`check_invariants`) on its own
  fold of the public events (:class:`clearing.node.core.Core`, no
  openings), checked before every cycle close: positions net to zero per
  instrument, the cycle's VM commitments sum to zero, and cash + default
  fund equal the public flows (and the public books balance).

The heavy imports (gRPC, the fold) happen when a view is opened, so that
``zkclear demo --help`` stays quick.
"""
from __future__ import annotations

from typing import Any

from clearing.demo.errors import DemoError

#: seconds each call of the view may take (a pull streams one cycle of events)
STREAM_TIMEOUT = 300.0


def _proof_fields(body: dict) -> int:
    return sum(1 for k, v in body.items() if (k == "proof" or k.endswith("_proof")) and isinstance(v, str) and v)


def check_invariants(core) -> dict[str, bool]:
    """DESIGN §4's public invariants on a fold of the public events (commitments only)."""
    s, alg = core.state, core.alg
    members = [s.members[m] for m in sorted(s.members)]
    pos_ok = True
    for i in range(len(s.instrument_ids())):
        total = alg.public(s.books["auction_pos"][i])
        for a in members:
            total = total + a.pos[i]
        pos_ok = pos_ok and total.is_identity()
    vm = alg.zero()
    for v in s.vm.values():
        vm = vm + v
    total = alg.zero() if s.residue is None else s.residue
    for a in members:
        total = total + a.cash + a.df
        if a.due is not None:
            total = total - a.due
    f, b = s.flows, s.books
    cash_ok = (total == alg.public(f["deposits"] - f["withdrawals"] - f["charges"])
               and b["auction_cash"] + b["default_account"] == f["charges"] + b["ccp_capital"])
    return {"positions_net_zero": bool(pos_ok), "vm_zero_sum": bool(vm.is_identity()),
            "cash_conservation": bool(cash_ok)}


def _new_cycle(cycle: int) -> dict:
    return {"cycle": cycle, "prices": [], "scenario_set": None, "deposits": [], "funded": [], "trades": [],
            "novated": [], "margin": {}, "cures": [], "defaults": [], "default_events": [],
            "assessments_paid": [], "withdrawals": [], "proofs": {"generated": 0, "verified": 0, "rejected": 0},
            "digest": None, "events": 0}


class LedgerView:
    """The public ledger as the demo reads it (any authenticated party may):
    per-cycle public facts, proof counts, and the invariants checked on its
    own fold of the events before every cycle close."""

    def __init__(self, identity, target: str):
        from clearing.api import clearing_pb2_grpc
        from clearing.node.core import Core
        from clearing.protocol.encoding import GENESIS_HASH
        from clearing.services import rpc

        self._ch = rpc.channel(identity, target)
        self.stub = rpc.Client(clearing_pb2_grpc.ClearingServiceStub(self._ch), STREAM_TIMEOUT)
        self.core = Core()
        #: the last event observed and the chain head after it
        self.seq, self.head = 0, GENESIS_HASH
        self.cycles: list[dict] = []
        self.cur = _new_cycle(1)
        self.invariants = {"positions_net_zero": True, "vm_zero_sum": True, "cash_conservation": True}
        self.proofs = {"generated": 0, "verified": 0, "rejected": 0}

    def close(self) -> None:
        self._ch.close()

    def public_books(self) -> dict:
        """The public flows and default-management books of the fold, in the
        oracle's terms (``OracleResult.ledger``)."""
        s = self.core.state
        f, b = s.flows, s.books
        return {"deposits": f["deposits"], "withdrawals": f["withdrawals"], "public_charges": f["charges"],
                "ccp_capital": b["ccp_capital"], "default_account": b["default_account"],
                "auction_cash": b["auction_cash"],
                "auction_positions": dict(zip(s.instrument_ids(), b["auction_pos"])),
                "skin_in_the_game_1_left": b["sitg1"], "skin_in_the_game_2_left": b["sitg2"]}

    def pull(self) -> None:
        """Read and observe every event the node added since the last pull."""
        from clearing.services.follower import FollowError, follow

        try:
            for seq, body, h in follow(self.stub, self.seq, self.head):
                self._observe(seq, body)
                self.seq, self.head = seq, h
        except FollowError as exc:
            raise DemoError(f"the node's public ledger: {exc}") from None

    def _count(self, generated: int, verified: int) -> None:
        for d in (self.proofs, self.cur["proofs"]):
            d["generated"] += generated
            d["verified"] += verified
            d["rejected"] += generated - verified

    def _observe(self, seq: int, b: dict) -> None:
        """One public event: its proofs counted, its facts recorded in the
        current cycle, the invariants checked before a close is folded, then
        the event folded (a close ends the cycle)."""
        from clearing.protocol.events import parse

        kind, c = b.get("kind"), self.cur
        c["events"] += 1
        if kind == "margin-batch":
            ok = sum(1 for e in b["entries"] if b["results"].get(e["member"]) in ("pass", "call"))
            self._count(len(b["entries"]), ok)
        else:
            n = _proof_fields(b) + (len(b["disclosures"]) if kind == "dm-open" else 0)
            self._count(n, n)
        self._record(kind, b)
        if kind == "close":
            c["invariants"] = check_invariants(self.core)
            for k, v in c["invariants"].items():
                self.invariants[k] = self.invariants[k] and v
        self.core.apply(seq, parse(b))  # the one parse step: the fold takes typed events
        if kind in ("affirm", "receipt"):
            t = self.core.state.trades.get(b["trade_id"], {})
            if t.get("status") == "novated" and b["trade_id"] not in c["novated"]:
                c["novated"].append(b["trade_id"])
        if kind == "close":
            c["digest"] = b["digest"]
            self.cycles.append(c)
            self.cur = _new_cycle(c["cycle"] + 1)

    def _record(self, kind: Any, b: dict) -> None:
        """The public facts of one event in the current cycle's record (read
        before the event is folded)."""
        c = self.cur
        if kind == "margin-batch":
            c["margin"] = dict(b["results"])
        elif kind == "deposit":
            c["deposits"].append({"member": b["member"], "amount": b["amount"]})
        elif kind == "df-fund":
            c["funded"].append(b["member"])
        elif kind == "trade":
            t = b["trade"]
            c["trades"].append({k: t[k] for k in ("trade_id", "instrument", "buyer", "seller", "side", "price")})
        elif kind == "settle":
            c["prices"] = list(b["prices"])
            c["scenario_set"] = {"version": b["scenario_set"].get("version"), "id": b["scenario_set"].get("id"),
                                 "scenarios": len(b["scenario_set"].get("matrix", []))}
        elif kind == "margin-cure":
            c["cures"].append({"member": b["member"], "solvency_only": b["solvency_only"]})
        elif kind == "pretrade-refusal":  # issue 14 §1
            c.setdefault("pretrade_refusals", []).append({"trade_id": b["trade_id"], "members": list(b["members"])})
        elif kind == "intraday":
            c.setdefault("intraday", []).append({"run": b["run"], "marks": list(b["marks"])})
        elif kind == "intraday-batch" and c.get("intraday"):
            c["intraday"][-1]["results"] = dict(b["results"])
        elif kind == "withdraw":
            c["withdrawals"].append({"member": b["member"], "amount": b["amount"]})
        elif kind == "default":
            c["defaults"].append(b["member"])
        elif kind == "dm-open":
            c["default_events"].append({"defaulters": list(b["defaulters"]), "survivors": len(b["survivors"]),
                                        "D0": b["D0"], "disclosed": self._disclosed(b["disclosures"])})
        elif kind == "dm-closeout" and c["default_events"]:
            c["default_events"][-1].update(close_out_prices=list(b["prices"]), lots=list(b["lots"]))
        elif kind == "assessment-pay":
            c["assessments_paid"].append({"member": b["member"], "index": b["index"], "amount": b["amount"]})
        elif kind == "assessment-settle":
            c["assessments_paid"].append({"member": b["member"], "index": b["index"], "amount": None,
                                          "from_cash": True})

    def _disclosed(self, disclosures: dict) -> dict[str, dict]:
        """A dm-open's disclosed values by member, named by their labels."""
        from clearing.protocol.statements import disclosure_labels

        ids = self.core.state.instrument_ids()
        return {m: dict(zip((x.decode() for x in disclosure_labels(self.core.state.members[m], ids)),
                            d["values"])) for m, d in disclosures.items()}


__all__ = ["LedgerView", "check_invariants"]
