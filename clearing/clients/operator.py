"""The operator's client: ``zkclear admin``.

The operator signs every public input it sets -- admissions, settlement
prices with the period's scenario set, default declarations, close-out
prices, the skin-in-the-game and assessment-cap parameters -- with its
Ed25519 key, and sends it over mutual TLS with its own certificate to the
clearing node's AdminService (which also refuses any
other certificate).  Every command carries a request id, so a retried
command is applied once: the node answers a recorded id with its recorded
result whatever happened since (:mod:`clearing.services.replay`) -- a retried
``close`` whose first attempt already advanced the cycle gets the first
close's digest, although this client now derives the next cycle.  Calls
failing with UNAVAILABLE or RESOURCE_EXHAUSTED are sent again, the same
request, with backoff (:class:`clearing.clients.retry.Retrying`); after
DEADLINE_EXCEEDED the command may have been applied, and its retry must
use the same request id.

A settle whose inline request would exceed :data:`STAGE_ABOVE_BYTES`
(~3 MiB, under the servers' 4 MiB request limit) stages the scenario rows
first, in chunks of at most that size (``AdminService.StageScenarioRows``,
:mod:`clearing.services.scenario_staging`), and then settles with
``staged_rows`` (issue 13 §2): the same signed set, the same ledger event.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

from clearing.api import admin_pb2, admin_pb2_grpc, clearing_pb2, clearing_pb2_grpc, common_pb2, convert
from clearing.clients.participant import SigningClient, new_request_id
from clearing.clients.retry import Retrying
from clearing.protocol import headroom
from clearing.protocol.intraday import intraday_message
from clearing.protocol.messages import (
    admission_message,
    book_lots,
    ccp_parameters_message,
    closeout_message,
    default_message,
    insolvency_message,
    liquidation_message,
    settlement_message,
)
from clearing.services import rpc

PROVE_TIMEOUT = 600.0
#: A Settle request larger than this stages its scenario rows, in chunks of at most this many bytes.
STAGE_ABOVE_BYTES = 3 << 20


class Operator(SigningClient):
    def __init__(self, identity, roster, clearing_target: str, *, timeout: float = rpc.DEFAULT_TIMEOUT,
                 prove_timeout: float = PROVE_TIMEOUT):
        if identity.role != "operator":
            raise ValueError("the admin client needs the operator's identity")
        super().__init__(identity)
        self.roster = roster
        ch = rpc.channel(identity, clearing_target)
        self._channels.append(ch)
        self.admin = Retrying(admin_pb2_grpc.AdminServiceStub(ch), timeout)
        self.clearing = Retrying(clearing_pb2_grpc.ClearingServiceStub(ch), timeout)
        self.prove_timeout = prove_timeout
        self._set_id: bytes | None = None  # the set id of this client's last settle (intraday runs)
        self._runs: dict[int, int] = {}  # cycle -> the last intraday run this client numbered

    def __repr__(self) -> str:
        return f"Operator({self.identity.name!r})"

    def status(self) -> clearing_pb2.LedgerStatus:
        return self.clearing.GetLedgerStatus(clearing_pb2.LedgerStatusRequest())

    def _cycle(self, cycle: int | None) -> int:
        return self.status().cycle if cycle is None else cycle

    def admit(self, member: str, request_id: str | None = None) -> int:
        """Admit a member of the roster (its CA-checked keys)."""
        p = self.roster.party(member)
        if p.role != "member":
            raise ValueError(f"{member!r} is not a member in the configuration")
        op_sig = self._sign(admission_message(member, p.ed25519_public, p.x25519_public))
        return self.admin.Admit(clearing_pb2.RegisterRequest(
            request_id=request_id or f"admit-{member}", member=member, identity_key=p.ed25519_public,
            relay_key=p.x25519_public, relay_signature=p.x25519_binding, operator_signature=op_sig)).seq

    def admit_all(self) -> list[str]:
        admitted = set(self.status().members)
        names = [p.name for p in self.roster.members if p.name not in admitted]
        for name in names:
            self.admit(name)
        return names

    def settle(self, prices: Sequence[int], matrix: Sequence[Sequence[int]], version: int = 0,
               cycle: int | None = None, request_id: str | None = None, model: dict | None = None,
               maintenance_terms: dict | None = None, pretrade: bool = False) -> int:
        """Sign and publish the settlement prices with the scenario set;
        ``model`` None (the scan) or {"kind": "es", "k": k} (issue 13);
        ``maintenance_terms`` None or {num, den, penalty_bps} (issue 14 §2);
        ``pretrade`` turns the pre-trade risk limit on (issue 14 §1, scan only)."""
        status = self.status()
        cycle = status.cycle if cycle is None else cycle
        ids = [i.id for i in status.instruments]
        sid = headroom.set_id(version, ids, [list(r) for r in matrix], model, maintenance_terms, pretrade)
        op_sig = self._sign(settlement_message(cycle, list(prices), sid))
        rid = request_id or f"settle-{cycle}"
        req = admin_pb2.SettleRequest(
            request_id=rid, cycle=cycle, prices=list(prices),
            scenario_set=convert.scenario_set_msg(version, matrix, model, maintenance_terms, pretrade),
            operator_signature=op_sig)
        if req.ByteSize() > STAGE_ABOVE_BYTES:
            self._stage_rows(rid, cycle, req.scenario_set.rows)
            del req.scenario_set.rows[:]
            req.staged_rows = True
        self._set_id = sid  # what intraday marks are signed with (issue 14 §1)
        return self.admin.Settle(req).seq

    def intraday(self, marks: Sequence[int], run: int | None = None, cycle: int | None = None,
                 set_id: bytes | None = None, request_id: str | None = None) -> dict[str, str]:
        """An intraday margin run on these marks (issue 14 §1): signs (cycle,
        run, marks, set id) and returns the results {member: pass | call |
        payment}.  ``set_id`` defaults to the set in force on the ledger
        (LedgerStatus.scenario_set_id), ``run`` to the run after the ledger's
        basis in force and this client's last (a retry of a call whose
        answer was lost passes the same ``run`` and ``request_id``: the node
        replays the recorded result)."""
        cycle = self._cycle(cycle)
        if set_id is None or run is None:  # from the ledger: the set in force and its basis's run
            st = self.status()
            if set_id is None:
                set_id = st.scenario_set_id or self._set_id
            if run is None:
                run = max(st.intraday_run if st.cycle == cycle else 0, self._runs.get(cycle, 0)) + 1
        if not set_id:
            raise ValueError("no scenario set is in force yet: settle first")
        op_sig = self._sign(intraday_message(cycle, run, list(marks), set_id))
        res = self.admin.IntradayRun(admin_pb2.IntradayRunRequest(
            request_id=request_id or f"intraday-{cycle}-{run}", cycle=cycle, run=run, marks=list(marks),
            operator_signature=op_sig), timeout=self.prove_timeout)
        self._runs[cycle] = max(self._runs.get(cycle, 0), run)
        return dict(res.results)

    def _stage_rows(self, rid: str, cycle: int, rows) -> None:
        """Send ``rows`` to the node's staging in order, in chunks of at most STAGE_ABOVE_BYTES."""
        total, first, size = len(rows), 0, 0
        chunk: list[admin_pb2.ScenarioSet.Row] = []
        for i, row in enumerate(rows):
            n = row.ByteSize() + 8  # the row's tag and length
            if chunk and size + n > STAGE_ABOVE_BYTES - 64:
                self.admin.StageScenarioRows(admin_pb2.StageScenarioRowsRequest(
                    request_id=f"{rid[:48]}-s{first}", cycle=cycle, first_row=first, rows=chunk, total_rows=total))
                first, chunk, size = i, [], 0
            chunk.append(row)
            size += n
        self.admin.StageScenarioRows(admin_pb2.StageScenarioRowsRequest(
            request_id=f"{rid[:48]}-s{first}", cycle=cycle, first_row=first, rows=chunk, total_rows=total))

    def run_margin(self, cycle: int | None = None, request_id: str | None = None) -> dict:
        cycle = self._cycle(cycle)
        res = self.admin.RunMargin(common_pb2.CycleRequest(request_id=request_id or f"margin-{cycle}", cycle=cycle),
                                   timeout=self.prove_timeout)
        return dict(res.results)

    def open_epoch(self, cycle: int | None = None, request_id: str | None = None) -> int:
        """Close the default-fund epoch (the prover opens the group total D)."""
        st = self.status()
        cycle = st.cycle if cycle is None else cycle
        return self.admin.OpenEpoch(common_pb2.CycleRequest(
            request_id=request_id or f"epoch-{st.epoch}", cycle=cycle), timeout=self.prove_timeout).seq

    def declare_default(self, member: str, cycle: int | None = None, request_id: str | None = None) -> int:
        cycle = self._cycle(cycle)
        op_sig = self._sign(default_message(cycle, member))
        return self.admin.DeclareDefault(admin_pb2.DeclareDefaultRequest(
            request_id=request_id or f"default-{cycle}-{member}", cycle=cycle, member=member,
            operator_signature=op_sig)).seq

    def declare_insolvency(self, member: str, reason: str, cycle: int | None = None,
                           request_id: str | None = None) -> int:
        """Declare any member not in default insolvent, with the reason (issue 14 §4)."""
        cycle = self._cycle(cycle)
        op_sig = self._sign(insolvency_message(cycle, member, reason))
        return self.admin.DeclareInsolvency(admin_pb2.DeclareInsolvencyRequest(
            request_id=request_id or f"insolvency-{cycle}-{member}", cycle=cycle, member=member, reason=reason,
            operator_signature=op_sig)).seq

    def liquidate(self, member: str, cycle: int | None = None, request_id: str | None = None) -> int:
        """Liquidate a member that failed maintenance at this cycle's margin run (issue 14 §2)."""
        cycle = self._cycle(cycle)
        rid = request_id or f"liquidate-{cycle}-{member}"
        op_sig = self._sign(liquidation_message(cycle, member, rid))
        return self.admin.Liquidate(admin_pb2.LiquidateRequest(
            request_id=rid, cycle=cycle, member=member, operator_signature=op_sig)).seq

    def set_ccp_parameters(self, sitg1: int, sitg2: int, cap: int, cycle: int | None = None,
                           request_id: str | None = None) -> int:
        """New skin-in-the-game tranches SITG 1, SITG 2 and assessment cap multiple."""
        cycle = self._cycle(cycle)
        rid = request_id or new_request_id("ccp-params")
        op_sig = self._sign(ccp_parameters_message(cycle, sitg1, sitg2, cap, rid))
        return self.admin.SetCcpParameters(admin_pb2.SetCcpParametersRequest(
            request_id=rid, cycle=cycle, skin_in_the_game_1=sitg1, skin_in_the_game_2=sitg2,
            assessment_cap_multiple=cap, operator_signature=op_sig)).seq

    def open_default(self, cycle: int | None = None, request_id: str | None = None) -> int:
        cycle = self._cycle(cycle)
        res = self.admin.OpenDefaultEvent(common_pb2.CycleRequest(
            request_id=request_id or new_request_id("dm-open"), cycle=cycle), timeout=self.prove_timeout)
        return res.index

    def default_event(self) -> admin_pb2.DefaultEventStatus:
        return self.admin.GetDefaultEvent(admin_pb2.DefaultEventRequest())

    def close_out(self, index: int, prices: Sequence[int], lots: Sequence[dict] | None = None,
                  cycle: int | None = None, request_id: str | None = None) -> dict:
        """Close-out prices and auction lots (default: every disclosed
        position to the public auction book, ``engine.book_lots``)."""
        cycle = self._cycle(cycle)
        if lots is None:
            ev = self.default_event()
            ids = [i.id for i in self.status().instruments]
            lots = book_lots({d.member: list(d.positions) for d in ev.disclosed}, ids)
        lots = [dict(x) for x in lots]
        op_sig = self._sign(closeout_message(cycle, index, list(prices), lots))
        res = self.admin.CloseOut(admin_pb2.CloseOutRequest(
            request_id=request_id or f"closeout-{cycle}-{index}", cycle=cycle, index=index, prices=list(prices),
            lots=convert.lots_msg(lots), operator_signature=op_sig), timeout=self.prove_timeout)
        return dict(res.need)

    def close_cycle(self, cycle: int | None = None, request_id: str | None = None) -> str:
        cycle = self._cycle(cycle)
        res = self.admin.CloseCycle(common_pb2.CycleRequest(request_id=request_id or f"close-{cycle}", cycle=cycle))
        return res.digest.hex()

    def reports(self) -> list[dict]:
        return [json.loads(r) for r in self.admin.GetDefaultReports(admin_pb2.DefaultReportsRequest()).reports_json]


__all__ = ["Operator"]
