"""The operator's AdminService on the clearing node (DESIGN §8): admission,
settlement (inline or from rows staged by :mod:`clearing.services.scenario_staging`),
margin runs, defaults, insolvency and liquidation declarations, CCP
parameters, funding windows, default management and cycle close -- every
call operator-only (the node's own identity for close), idempotent by
request id, the engine checking the operator's signatures again.  Split
from :mod:`clearing.services.clearing_service`, which serves it beside the
members' ClearingService (``create_server``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from clearing.api import admin_pb2, admin_pb2_grpc, common_pb2, convert, prover_pb2
from clearing.node.engine import Engine
from clearing.protocol.encoding import canonical
from clearing.protocol.errors import FailedPrecondition
from clearing.protocol.fields import NODE, OPERATOR, PROVER
from clearing.services import replay, rpc
from clearing.services.scenario_staging import ScenarioStaging, staged_set

if TYPE_CHECKING:  # annotations only: clearing_service imports this module
    from clearing.services.clearing_service import ClearingNode


def _check_margin_phase(e: Engine, cycle: int) -> None:
    """Refuse a margin run the ledger would refuse, before asking the prover."""
    st = e.status()
    if cycle != st["cycle"]:
        raise FailedPrecondition(f"request is for cycle {cycle}, the ledger is in cycle {st['cycle']}")
    if st["phase"] != "margin" or st["margin_done"]:
        raise FailedPrecondition("margin proofs are collected once per cycle, after settlement")


def _instrument_ids(e: Engine) -> list[str]:
    return [i["id"] for i in e.status()["instruments"]]



def default_event_status(e: Engine) -> admin_pb2.DefaultEventStatus:
    """The default event in progress (public data), or an empty status."""
    ev, seq = e.default_event(), e.chain_head()[0]
    if ev is None:
        return admin_pb2.DefaultEventStatus(seq=seq, in_progress=False)
    disclosed = [admin_pb2.DisclosedAccount(member=m, cash=str(d["cash"]), df=str(d["df"]), positions=d["pos"])
                 for m, d in sorted(ev.get("disclosed", {}).items())]
    return admin_pb2.DefaultEventStatus(seq=seq, index=ev["index"], in_progress=True,
                                        stage=str(ev.get("stage", "")), disclosed=disclosed,
                                        need={k: str(v) for k, v in ev.get("need", {}).items()})


def admit(node: ClearingNode, request) -> common_pb2.Ack:
    key = convert.key(request.identity_key, "identity key")
    relay_key = convert.key(request.relay_key, "relay key")
    relay_sig = convert.signature(request.relay_signature, "relay signature")
    op_sig = convert.signature(request.operator_signature, "operator signature")
    res = node.run(lambda e: e.admit(request.member, key, relay_key, relay_sig, op_sig, request.request_id))
    return common_pb2.Ack(seq=res["seq"])


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    """Operator-only RPCs; the engine also checks the operator's signatures."""

    def __init__(self, node: ClearingNode):
        self.node = node
        self.roster = node.roster
        self.staging = ScenarioStaging()  # issue 13 §2: in memory, lost on a restart

    @staticmethod
    def _operator(caller) -> None:
        caller.require("operator")

    @rpc.unary
    def Admit(self, request, context, caller):
        self._operator(caller)
        return admit(self.node, request)

    @rpc.unary
    def Settle(self, request, context, caller):
        self._operator(caller)
        ids = self.node.run(_instrument_ids)
        ss = convert.scenario_set(staged_set(request, self.staging, len(ids)), ids)
        prices = list(request.prices)
        res = self.node.once(OPERATOR, request.request_id, "settle", (prices, ss), lambda e: e.settle(
            request.cycle, prices, ss, convert.signature(request.operator_signature, "operator signature"),
            request.request_id))
        return common_pb2.Ack(seq=res["seq"])

    @rpc.unary
    def StageScenarioRows(self, request, context, caller):
        """Stage scenario rows for a Settle with staged_rows (:mod:`clearing.services.scenario_staging`)."""
        self._operator(caller)
        convert.request_id(request.request_id)
        st = self.node.run(lambda e: e.status())
        self.staging.stage(request.cycle, request.first_row, request.rows, request.total_rows, st["cycle"],
                           len(st["instruments"]))
        return common_pb2.Ack(seq=st["seq"])

    @rpc.unary
    def RunMargin(self, request, context, caller):
        self._operator(caller)
        convert.request_id(request.request_id)
        rid = replay.derived_id("margin", request.request_id)

        def ask(timeout):
            batch = self.node.prover.ProveMargin(prover_pb2.ProveMarginRequest(cycle=request.cycle), timeout=timeout)
            if batch.cycle != request.cycle:
                raise rpc.Abort(grpc.StatusCode.FAILED_PRECONDITION,
                                "the prover service answered for another cycle; refused")
            return convert.margin_entries(batch), convert.signature(batch.signature)

        done = self.node.prove_once(rid, context, ask,
                                    lambda e, answer: e.submit_margin_batch(request.cycle, *answer, rid),
                                    precheck=lambda e: _check_margin_phase(e, request.cycle))
        return common_pb2.MarginResults(seq=done["seq"], results=done["results"])

    @rpc.unary
    def IntradayRun(self, request, context, caller):
        """An intraday margin run (issue 14 §1): book the signed marks, then
        the prover's batch (ProveIntraday), both idempotent by request id."""
        self._operator(caller)
        convert.request_id(request.request_id)
        marks, run = list(request.marks), request.run
        sig = convert.signature(request.operator_signature, "operator signature")
        rid = replay.derived_id("intraday", request.request_id)
        # the marks booked, or replayed when this request id booked them (ALREADY_EXISTS for other marks or run)
        self.node.run(lambda e: e.intraday(request.cycle, run, marks, sig, request.request_id))
        done = self.node.run(lambda e: e.recorded(PROVER, rid))
        if done is None:  # the batch not booked yet (a replay of a booked run gets its recorded result)

            def ask(timeout):
                batch = self.node.prover.ProveIntraday(prover_pb2.ProveIntradayRequest(cycle=request.cycle, run=run),
                                                       timeout=timeout)
                if batch.cycle != request.cycle:
                    raise rpc.Abort(grpc.StatusCode.FAILED_PRECONDITION,
                                    "the prover service answered for another cycle; refused")
                return convert.margin_entries(batch), convert.signature(batch.signature)

            done = self.node.prove_once(rid, context, ask,
                                        lambda e, answer: e.submit_intraday_batch(request.cycle, run, *answer, rid))
        return common_pb2.MarginResults(seq=done["seq"], results=done["results"])

    def _signed_once(self, caller, request, kind: str, key: tuple, apply) -> common_pb2.Ack:
        """An operator-signed request applied once (``apply(engine, the
        operator's signature)``; a retry of its request id gets the recorded
        result): its ledger seq."""
        self._operator(caller)
        res = self.node.once(OPERATOR, request.request_id, kind, key, lambda e: apply(
            e, convert.signature(request.operator_signature, "operator signature")))
        return common_pb2.Ack(seq=res["seq"])

    @rpc.unary
    def DeclareDefault(self, request, context, caller):
        return self._signed_once(caller, request, "default", (request.member,),
                                 lambda e, sig: e.declare_default(request.cycle, request.member, sig,
                                                                  request.request_id))

    @rpc.unary
    def DeclareInsolvency(self, request, context, caller):
        return self._signed_once(caller, request, "default-insolvency", (request.member, request.reason),
                                 lambda e, sig: e.declare_insolvency(request.cycle, request.member, request.reason,
                                                                     sig, request.request_id))

    @rpc.unary
    def Liquidate(self, request, context, caller):
        """Issue 14 §2: the operator's liquidation of a member that failed maintenance."""
        return self._signed_once(caller, request, "liquidate", (request.member,),
                                 lambda e, sig: e.liquidate(request.cycle, request.member, sig, request.request_id))

    @rpc.unary
    def SetCcpParameters(self, request, context, caller):
        params = (request.skin_in_the_game_1, request.skin_in_the_game_2, request.assessment_cap_multiple)
        return self._signed_once(caller, request, "ccp-params", params,
                                 lambda e, sig: e.set_ccp_parameters(request.cycle, *params, sig, request.request_id))

    @rpc.unary
    def OpenEpoch(self, request, context, caller):
        self._operator(caller)
        convert.request_id(request.request_id)
        rid = replay.derived_id("epoch", request.request_id)
        done = self.node.prove_once(
            rid, context, lambda timeout: convert.epoch_total(self.node.prover.ProveEpochTotal(
                prover_pb2.ProveEpochTotalRequest(cycle=request.cycle), timeout=timeout)),
            lambda e, answer: e.open_epoch_total(answer, rid))
        return common_pb2.Ack(seq=done["seq"])

    @rpc.unary
    def OpenDefaultEvent(self, request, context, caller):
        self._operator(caller)
        convert.request_id(request.request_id)
        rid = replay.derived_id("dm-open", request.request_id)
        done = self.node.prove_once(
            rid, context, lambda timeout: convert.default_open(self.node.prover.ProveDefaultOpen(
                prover_pb2.ProveDefaultOpenRequest(cycle=request.cycle), timeout=timeout)),
            lambda e, answer: e.dm_open(answer, rid))
        status = self.node.run(default_event_status)
        status.seq, status.index = done["seq"], done["index"]
        return status

    @rpc.unary
    def GetDefaultEvent(self, request, context, caller):
        self._operator(caller)
        return self.node.run(default_event_status)

    @rpc.unary
    def CloseOut(self, request, context, caller):
        self._operator(caller)
        prices = list(request.prices)
        res = self.node.once(OPERATOR, request.request_id, "dm-closeout", (request.index, prices),
                             lambda e: e.dm_closeout(request.cycle, request.index, prices, convert.lots(request.lots),
                                                     convert.signature(request.operator_signature,
                                                                       "operator signature"),
                                                     request.request_id))
        need = dict(res.get("need", {}))
        seq = res["seq"]
        rounds = 0
        while need:
            rounds += 1
            if rounds > 8:
                raise rpc.Abort(grpc.StatusCode.ABORTED,
                                "the default allocation did not complete in 8 rounds; retry with the same request id")
            purpose = sorted(need)[0]
            rid = replay.derived_id("dm-shares", request.request_id, purpose)
            # prove_once calls both at once; the defaults bind this round's purpose and id.
            done = self.node.prove_once(
                rid, context, lambda timeout, purpose=purpose: convert.default_shares(
                    self.node.prover.ProveDefaultShares(prover_pb2.ProveDefaultSharesRequest(purpose=purpose),
                                                        timeout=timeout)),
                lambda e, answer, rid=rid: e.dm_shares(answer, rid))
            need, seq = dict(done.get("need", {})), done["seq"]
        return admin_pb2.DefaultEventStatus(seq=seq, index=request.index,
                                            need={k: str(v) for k, v in need.items()})

    @rpc.unary
    def CloseCycle(self, request, context, caller):
        self._operator(caller)
        res = self.node.once(NODE, request.request_id, "close", (),
                             lambda e: e.close_cycle(request.cycle, request.request_id))
        return admin_pb2.CycleDigest(seq=res["seq"], cycle=res["cycle"], digest=bytes.fromhex(res["digest"]))

    @rpc.unary
    def GetDefaultReports(self, request, context, caller):
        self._operator(caller)
        reports = self.node.run(lambda e: e.default_reports())
        return admin_pb2.DefaultReports(reports_json=[canonical(r) for r in reports])


__all__ = ["AdminServicer", "admit", "default_event_status"]
