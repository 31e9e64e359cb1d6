"""A long-running clearing member for ``zkclear demo``: one process per member.

``zkclear participant`` is one-shot (one action per run).  The demo needs
members that live through the whole scenario, keep their own state (the
liquidity they still have for calls and assessments, the trade commitments
they have seen) and act on their own knowledge.  This module is that
process::

    python -m clearing.demo.participant --config DIR --name A \\
        --scenario FILE --variant normal

It talks to the clearing node and the prover service over mutual TLS with
member A's certificate, through :class:`clearing.clients.participant.Participant`
(the same client as ``zkclear participant``), and signs with A's key.

Control channel
---------------
The orchestrator (the demo process, which holds the operator identity)
drives the member over the process's stdin/stdout: one JSON object per
line in, one JSON reply per line out (``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``).  A pipe needs no port, no certificate
and cannot be reached by anyone else; when the orchestrator goes away the
member reads end-of-file and exits.  Nothing but replies is written to the
channel: the protocol uses a private duplicate of fd 1 and ``sys.stdout``
is pointed at stderr (the member's log).

What crosses the control channel is **public or the member's own
decision**, never an opening: the orchestrator says *which phase* it is
("submit the trades of day d", "affirm what is pending for you", "you are
called", "assessment event k"), and the member decides from its own copy
of the scenario (the trades it agreed, its liquidity) and from its own
openings, which it reads from the prover service (GetBalances, only for
itself).  Replies carry trade ids and statuses, public deposit amounts,
and whether a call was cured -- what the clearing node sees anyway.  A
member that cannot meet a call says so without saying by how much.

Requests (``op``)
-----------------
``hello``        the member's name and pid.
``onboard``      deposit cash + default-fund contribution (one public
                 deposit) and fund the contribution out of cash (a range
                 proof; the node sees one deposit, not the split).
``submit``       ``day`` (and optionally ``only``, a list of trade ids):
                 initiate this member's trades of that day.  The
                 initiator of the scenario's k-th trade is its buyer for
                 even k and its seller for odd k (both sides are exercised);
                 trade ids are ``d<day>-<k>``.  The initiator commits to the
                 quantity, proves its range, signs, and seals the opening to
                 the counterparty and to the prover service.
``affirm``       ``day`` (optionally ``only``): stream the trades pending for this member once, decrypt
                 each relayed opening, check that it opens T and that the
                 terms (instrument, price, quantity, buyer, seller) are the
                 ones agreed in the scenario, refuse a T seen before, and
                 sign the affirmation.  Unexpected trades are left alone
                 (they expire at the cycle close).
``call``         the member was called: it computes its shortfall
                 (worst-scenario requirement minus cash, from its openings;
                 for an intraday call, ``shift`` u_i = (mark_i - c_i)*m_i:
                 minus the worst of cash and cash + sum_i (A[s][i] + u_i)*pos_i)
                 and, when its remaining liquidity covers it, cures by one
                 public deposit of the shortfall rounded up to a multiple of
                 the scenario's public deposit grid (``ccp.deposit_grid``),
                 at most its remaining liquidity, then re-proves margin; the
                 excess stays in its cash.  So the node learns a bound,
                 deposit - grid < shortfall <= deposit (only shortfall <=
                 deposit when the liquidity capped it), not the value.  The
                 reply carries the deposit, never the shortfall.  When the
                 liquidity does not cover the shortfall it declines.
``assessment``   ``index``: pay the committed assessment of that default
                 event from hidden excess cash when the account still covers
                 its margin requirement afterwards (nothing public moves);
                 otherwise by one tagged deposit of the due rounded up to the
                 scenario's public deposit grid (at most its remaining
                 liquidity); otherwise decline (the operator then declares
                 the default: the cascade).  The reply never carries the due.
``pretrade_cure`` ``trade_id``, ``w``, ``vm`` (issue 14 §1): a trade of this
                 member was refused for lack of pre-trade headroom.  From
                 the public debit terms w (w_i, or max(w_i, |u_i|) under
                 intraday marks) and the buyer's per-contract novation VM
                 vm, its own quantity q and its own headroom H
                 (GetBalances, for itself), its shortfall is
                 -(H + (±vm - w)*q); it deposits that rounded up to the
                 grid, at most its remaining liquidity (nothing when that
                 is 0).  The reply carries the deposit, never the shortfall.
``retry``        ``trade_id``: ask the node again for a refused trade
                 (RetryTrade): novated, or refused again.
``status``       the member's public account status.
``quit``         exit.

This mirrors the oracle's member behaviour (``clearing.ccp.oracle``), so the
demo's public outputs can be compared with the plaintext run.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys

import grpc

from clearing.ccp.rules import margin_requirement
from clearing.ccp.scenario import grid_deposit, load_scenario, scenario_matrix, scenario_model
from clearing.clients.participant import Participant, TradeRejected
from clearing.services import config as services_config
from clearing.services.pki import load_config, load_identity


def initiator(k: int, trade) -> str:
    """The member who initiates the scenario's k-th trade (the other affirms)."""
    return trade.buyer if k % 2 == 0 else trade.seller


def trade_id(k: int, trade) -> str:
    return f"d{trade.day}-{k}"


class _Stop(Exception):
    pass


def _rpc_error(exc: grpc.RpcError) -> str:
    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else str(exc)
    return f"{code.name if code is not None else 'ERROR'}: {details}"


class Agent:
    """The member's state and its answers to the orchestrator's requests."""

    def __init__(self, participant: Participant, scenario, variant: str):
        self.p = participant
        self.name = participant.name
        self.sc = scenario
        self.variant = scenario.variant(variant)
        self.matrix = scenario_matrix(scenario)
        #: the signed set's margin model: scan, or expected shortfall with k (issue 13)
        self.model = scenario_model(scenario)
        me = scenario.member(self.name)
        self.me = me
        #: what the member can still deposit for calls and assessments
        self.liquidity = me.liquidity

    def __repr__(self) -> str:
        return f"Agent({self.name!r})"

    # -- requests -----------------------------------------------------------------
    def handle(self, req: dict) -> dict:
        op = req.get("op")
        fn = getattr(self, "op_" + str(op), None)
        if fn is None:
            return {"ok": False, "error": f"unknown request {op!r}"}
        try:
            out = fn(req)
        except grpc.RpcError as exc:
            return {"ok": False, "error": _rpc_error(exc)}
        except TradeRejected as exc:
            return {"ok": False, "error": str(exc)}
        except (_Stop, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the orchestrator, which fails the run
            return {"ok": False, "error": f"{type(exc).__name__}: {' '.join(str(exc).split())}"}
        out["ok"] = True
        return out

    def op_hello(self, req) -> dict:
        return {"member": self.name, "pid": os.getpid()}

    def op_quit(self, req) -> dict:
        raise _Stop()

    def op_status(self, req) -> dict:
        return {"status": self.p.account().status}

    def op_onboard(self, req) -> dict:
        amount = self.me.cash + self.me.default_fund
        self.p.deposit(amount, request_id=f"onboard-dep-{self.name}")
        self.p.fund(self.me.default_fund, request_id=f"onboard-df-{self.name}")
        return {"deposit": amount}

    def op_size(self, req) -> dict:
        """Issue 14 §4: the window's sizing / Cover-2 filing (after op_onboard)."""
        return {"seq": self.p.file_sizing(request_id=f"size-{int(req['epoch'])}-{self.name}")}

    def op_replenish(self, req) -> dict:
        """Issue 14 §4: the replenishment window -- a member not in default
        re-files its scenario contribution, then its sizing / Cover-2 filing."""
        if self.p.account().status == "defaulted":
            return {"skipped": True}
        self.p.fund(self.me.default_fund, request_id=f"replenish-df-{self.name}")
        return {"seq": self.p.file_sizing(request_id=f"replenish-size-{self.name}")}

    def op_submit(self, req) -> dict:
        day = int(req["day"])
        submitted, refused = [], []
        only = set(req["only"]) if req.get("only") is not None else None
        for k, t in enumerate(self.sc.trades):
            if t.day != day or initiator(k, t) != self.name:
                continue
            tid = trade_id(k, t)
            if only is not None and tid not in only:
                continue
            side = "buy" if t.buyer == self.name else "sell"
            other = t.seller if side == "buy" else t.buyer
            try:
                res = self.p.trade(tid, other, t.instrument, side, t.quantity, t.price,
                                   request_id=f"trade-{tid}")
            except grpc.RpcError as exc:
                refused.append({"id": tid, "error": _rpc_error(exc)})
                continue
            submitted.append({"id": tid, "status": res.status})
        return {"submitted": submitted, "refused": refused}

    def op_affirm(self, req) -> dict:
        day = int(req["day"])
        expected = {}
        only = set(req["only"]) if req.get("only") is not None else None
        for k, t in enumerate(self.sc.trades):
            if (t.day == day and self.name in (t.buyer, t.seller) and initiator(k, t) != self.name
                    and (only is None or trade_id(k, t) in only)):
                expected[trade_id(k, t)] = t
        affirmed: list[dict] = []
        refused: list[dict] = []
        unexpected: list[str] = []
        if not expected:
            return {"affirmed": affirmed, "refused": refused, "missing": [], "unexpected": unexpected}
        checked = {c.trade["trade_id"]: c for c in self.p.pending()}  # read and decrypted once
        pending = set(checked)
        for tid in sorted(pending - set(expected)):
            unexpected.append(tid)
        for tid, t in expected.items():
            if tid not in pending:
                continue
            terms = {"quantity": t.quantity, "price": t.price, "instrument": t.instrument,
                     "buyer": t.buyer, "seller": t.seller}
            try:
                res = self.p.affirm_checked(checked[tid], expect=terms, request_id=f"affirm-{tid}")
            except TradeRejected as exc:
                refused.append({"id": tid, "error": str(exc)})
                continue
            except grpc.RpcError as exc:
                refused.append({"id": tid, "error": _rpc_error(exc)})
                continue
            affirmed.append({"id": tid, "status": res.status})
        missing = sorted(set(expected) - pending)
        return {"affirmed": affirmed, "refused": refused, "missing": missing, "unexpected": unexpected}

    def op_pretrade_cure(self, req) -> dict:
        """Issue 14 §1: cure a pre-trade refusal of ``trade_id``: a deposit of
        the shortfall rounded up to the grid, at most the remaining liquidity
        (nothing when that is 0); the orchestrator then has a side ask again
        (``retry``)."""
        tid = str(req["trade_id"])
        k = int(tid.split("-", 1)[1])
        t = self.sc.trades[k]
        if trade_id(k, t) != tid or self.name not in (t.buyer, t.seller):
            return {"deposit": 0, "error": "not a trade of this member"}
        v = int(req["vm"]) if t.buyer == self.name else -int(req["vm"])
        H = self.p.balances().get("headroom", 0)
        shortfall = max(0, -(H + (v - int(req["w"])) * t.quantity))
        grid = self.sc.ccp.deposit_grid
        deposit = min(-(-shortfall // grid) * grid if grid else shortfall, self.liquidity)
        if deposit > 0:
            self.liquidity -= deposit
            self.p.deposit(deposit, request_id=f"pretrade-cure-{tid}-{self.name}")
        return {"deposit": deposit}

    def op_retry(self, req) -> dict:
        """Issue 14 §1: ask the node once more for a trade refused for lack of
        headroom (RetryTrade): its status after the prover's new answer."""
        st = self.p.retry_trade(str(req["trade_id"]))
        return {"status": st.status, "pretrade_refused": list(st.pretrade_refused)}

    def op_call(self, req) -> dict:
        bal = self.p.balances()
        if req.get("shift"):  # an intraday call (issue 14 §1): the scan at the marks, E'_s = cash + P&L'_s
            shift = [int(u) for u in req["shift"]]
            worst = min([0] + [sum((a + u) * q for a, u, q in zip(row, shift, bal["pos"])) for row in self.matrix])
            shortfall = max(0, -(bal["cash"] + worst))
        else:
            shortfall = max(0, margin_requirement(self.matrix, bal["pos"], self.model) - bal["cash"])
        if shortfall > self.liquidity:
            return {"cured": False}
        deposit = grid_deposit(shortfall, self.liquidity, self.sc.ccp.deposit_grid)
        self.liquidity -= deposit
        cycle = self.p.ledger_status().cycle
        tag = f"intraday{int(req.get('run', 1))}-" if req.get("shift") else ""  # one cure per call
        self.p.cure(deposit, request_id=f"cure-{cycle}-{tag}{self.name}")
        return {"cured": self.p.account().status == "active", "deposit": deposit}

    def op_assessment(self, req) -> dict:
        """Pay the assessment of default event ``index``: from hidden excess
        cash when the account still covers its margin requirement after
        paying (nothing public moves), else by one tagged deposit of the due
        rounded up to the public grid (at most the remaining liquidity), else
        not at all (the operator then declares the default).  The reply names
        the path and the public deposit, never the due."""
        index = int(req["index"])
        if not self.p.account().due:  # the public account: no payable
            return {"due": False}
        bal = self.p.balances()
        due = bal["due"]  # may be 0 (a share that floors to 0): still settled, or it blocks the close
        if bal["cash"] - due >= margin_requirement(self.matrix, bal["pos"], self.model):
            self.p.settle_assessment_from_cash(index, request_id=f"settle-{index}-{self.name}")
            return {"due": True, "paid": True, "path": "cash"}
        if due > self.liquidity:
            return {"due": True, "paid": False}
        deposit = grid_deposit(due, self.liquidity, self.sc.ccp.deposit_grid)
        self.liquidity -= deposit
        self.p.pay_assessment(index, deposit, request_id=f"assess-{index}-{self.name}")
        return {"due": True, "paid": True, "path": "deposit", "deposit": deposit}


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m clearing.demo.participant",
                                 description="A long-running clearing member driven over stdin/stdout "
                                             "(started by 'zkclear demo').")
    ap.add_argument("--config", required=True, help="configuration directory written by 'zkclear init'")
    ap.add_argument("--name", required=True, help="the member to act as")
    ap.add_argument("--scenario", required=True, help="the scenario file (the trades this member agreed)")
    ap.add_argument("--variant", required=True, help="the scenario variant")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # the control channel is a private copy of fd 1; anything printed goes to the log
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    sys.stdout = sys.stderr

    def on_term(signum, frame):
        raise _Stop()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the orchestrator decides when members stop

    roster = load_config(args.config)
    identity = load_identity(args.config, args.name)
    seen = services_config.party_data_dir(args.config, args.name) / "seen.json"
    p = Participant(identity, roster, services_config.endpoint(args.config, "clearing"),
                    services_config.endpoint(args.config, "prover"), seen_path=seen)
    agent = Agent(p, load_scenario(args.scenario), args.variant)
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                req = json.loads(line)
            except ValueError:
                reply = {"ok": False, "error": "a request is one JSON object per line"}
            else:
                try:
                    reply = agent.handle(req if isinstance(req, dict) else {})
                except _Stop:
                    channel.write(json.dumps({"ok": True, "bye": True}) + "\n")
                    break
            channel.write(json.dumps(reply) + "\n")
    except (_Stop, BrokenPipeError):
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # already stopping
        p.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
