"""The auditor: streams the public ledger and re-verifies everything.

:func:`audit_node` reads ClearingService.StreamLedger from the beginning,
re-checks the order, the hash chain and the canonical encoding over the exact
bytes received (:func:`clearing.services.follower.follow`), then replays the
events through the engine's auditor function :func:`clearing.node.audit.audit`
-- every signature and proof re-verified, every margin decision, invariant
and cycle digest recomputed and the node's signature on each digest checked,
with the genesis anchored to the operator's and the node's keys from the
CA-checked roster (so a self-consistent ledger made up under other keys
fails) -- and finally compares the replay's chain head and state hash with
what the node reports (GetLedgerStatus).  The auditor trusts nothing it
receives: a node that rewrote history shows up as a chain, proof, signature
or digest mismatch.

``zkclear audit`` runs it once and prints the result; ``zkclear serve
auditor`` exposes it as AuditorService.Audit (any authenticated party may
ask; the answer is public information).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from clearing.api import auditor_pb2, auditor_pb2_grpc, clearing_pb2, clearing_pb2_grpc
from clearing.node.audit import audit
from clearing.protocol.errors import LedgerCorrupted
from clearing.services import config as services_config
from clearing.services import rpc
from clearing.services.follower import follow
from clearing.services.pki import load_config, load_identity

log = logging.getLogger("zkclear.auditor")
AUDITOR_SERVICE = "zkclear.v1.AuditorService"


@dataclass
class AuditResult:
    ok: bool
    error: str = ""
    events: int = 0
    cycles: int = 0
    digests: list = field(default_factory=list)
    head: bytes = b""
    state_hash: bytes = b""
    node_agrees: bool = False

    def to_msg(self) -> auditor_pb2.AuditReport:
        return auditor_pb2.AuditReport(ok=self.ok, error=self.error, events=self.events, cycles=self.cycles,
                                       digests=self.digests, head=self.head, state_hash=self.state_hash,
                                       node_agrees=self.node_agrees)

    def summary(self) -> str:
        if not self.ok:
            return f"AUDIT FAILED: {self.error}"
        agree = "agrees" if self.node_agrees else "DISAGREES"
        lines = [f"audit ok: {self.events} events, {self.cycles} closed cycles; node {agree} on head and state",
                 f"head {self.head.hex()}", f"state {self.state_hash.hex()}"]
        lines += [f"cycle {k + 1} digest {d.hex()}" for k, d in enumerate(self.digests)]
        return "\n".join(lines)


def check_watermark(path, events_hashes: list[bytes]) -> None:
    """Remember the highest (seq, chain head) this auditor has seen in the
    JSON file ``path`` and raise LedgerCorrupted -- the divergence alarm --
    when the node's ledger is now shorter (it went backwards: a lost or
    replaced database) or holds another event at that seq (a fork)."""
    p = Path(path)
    try:
        mark = json.loads(p.read_text(encoding="utf-8"))
        seq, head = int(mark["seq"]), bytes.fromhex(mark["head"])
    except FileNotFoundError:
        seq, head = 0, b""
    except (ValueError, KeyError, TypeError):
        raise LedgerCorrupted(f"the auditor's watermark {p.name} is unreadable") from None
    if seq > len(events_hashes):
        raise LedgerCorrupted(f"ALARM: the node's ledger went backwards: {len(events_hashes)} events, this auditor "
                              f"has seen {seq}")
    if seq and events_hashes[seq - 1] != head:
        raise LedgerCorrupted(f"ALARM: the node's ledger forked: event {seq} differs from the one this auditor saw")
    if events_hashes and len(events_hashes) >= seq:
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(json.dumps({"seq": len(events_hashes), "head": events_hashes[-1].hex()}), encoding="utf-8")
        tmp.replace(p)


def fetch_events(stub: rpc.Client, hashes: list | None = None) -> list[tuple[int, dict]]:
    """The node's whole public ledger, from the genesis, with the order, the
    encoding and the chain re-checked over the bytes by
    :func:`clearing.services.follower.follow` (its FollowError is a
    LedgerCorrupted); each event's chain hash is appended to ``hashes`` when
    given, as it is checked."""
    events = []
    for seq, body, h in follow(stub):
        events.append((seq, body))
        if hashes is not None:
            hashes.append(h)
    return events


def audit_events(events, status: clearing_pb2.LedgerStatus | None, *, operator_key: bytes | None = None,
                 node_key: bytes | None = None) -> AuditResult:
    """Replay ``events`` with :func:`clearing.node.audit.audit`, anchored to the
    operator's and the node's keys when given (from the CA-checked roster), and
    compare with the node's reported status."""
    try:
        rep = audit(events, operator_key=operator_key, node_key=node_key)
    except LedgerCorrupted as exc:
        return AuditResult(ok=False, error=str(exc), events=len(events))
    res = AuditResult(ok=True, events=rep.events, cycles=rep.cycles,
                      digests=[bytes.fromhex(d) if isinstance(d, str) else bytes(d) for d in rep.digests],
                      head=bytes.fromhex(rep.head), state_hash=bytes.fromhex(rep.state_hash))
    if status is not None:
        res.node_agrees = (status.seq == rep.events and status.head == res.head
                           and status.state_hash == res.state_hash and list(status.digests) == res.digests)
    return res


def audit_node(identity, roster, clearing_target: str, *, timeout: float = 600.0,
               watermark=None) -> AuditResult:
    """Stream the node's ledger and re-verify it (see the module docstring).
    With ``watermark`` (a file path) the highest (seq, head) seen is kept
    there and a ledger that went backwards or forked fails the audit."""
    with rpc.channel(identity, clearing_target, bulk=True) as ch:  # margin-batch events
        stub = rpc.Client(clearing_pb2_grpc.ClearingServiceStub(ch), timeout)
        status = stub.GetLedgerStatus(clearing_pb2.LedgerStatusRequest())
        hashes: list[bytes] = []
        try:
            events = fetch_events(stub, hashes)
            if watermark is not None:
                check_watermark(watermark, hashes)
        except LedgerCorrupted as exc:
            log.error("%s", exc)
            return AuditResult(ok=False, error=str(exc), events=len(hashes))
        # the ledger may have grown between the two reads: compare at the same point
        if len(events) != status.seq:
            status = stub.GetLedgerStatus(clearing_pb2.LedgerStatusRequest())
            if status.seq != len(events):
                status = None
    return audit_events(events, status, operator_key=roster.by_role("operator")[0].ed25519_public,
                        node_key=roster.party("clearing").ed25519_public)


class AuditorServicer(auditor_pb2_grpc.AuditorServiceServicer):
    def __init__(self, identity, roster, clearing_target: str, watermark=None):
        self.identity = identity
        self.roster = roster
        self.clearing_target = clearing_target
        self.watermark = watermark

    @rpc.unary
    def Audit(self, request, context, caller):
        res = audit_node(self.identity, self.roster, self.clearing_target, watermark=self.watermark)
        log.info("audit: ok=%s events=%d node_agrees=%s", res.ok, res.events, res.node_agrees)
        return res.to_msg()


class _Nothing:
    def close(self) -> None:
        return None


def create_server(config_dir, *, port: int = 0, host: str = "127.0.0.1",
                  clearing_target: str | None = None, watermark=None) -> tuple[rpc.Server, int]:
    """``watermark``: the file where the auditor keeps the highest (seq, head)
    it has seen (default: ``auditor.head`` in the configuration directory's
    data directory, ``data/auditor/auditor.head``)."""
    config_dir = Path(config_dir)
    roster = load_config(config_dir)
    identity = load_identity(config_dir, "auditor")
    target = clearing_target or services_config.endpoint(config_dir, "clearing")
    if watermark is None:
        watermark = services_config.data_path(config_dir, "auditor_mark")
    server, bound, health = rpc.build_server(identity, [
        (auditor_pb2_grpc.add_AuditorServiceServicer_to_server,
         AuditorServicer(identity, roster, target, watermark), AUDITOR_SERVICE),
    ], host=host, port=port, max_workers=2)
    return rpc.Server(server, bound, health, _Nothing()), bound


def serve(config_dir, *, port: int | None = None, host: str = "127.0.0.1",
          grace: float = rpc.SHUTDOWN_GRACE) -> None:
    config_dir = Path(config_dir)
    if port is None:
        port = int(services_config.endpoint(config_dir, "auditor").rsplit(":", 1)[1])
    srv, bound = create_server(config_dir, port=port, host=host)
    print(f"auditor listening on {host}:{bound}", flush=True)
    rpc.serve_forever(srv.grpc_server, srv.health, grace=grace)


__all__ = ["AuditResult", "audit_node", "check_watermark", "audit_events", "fetch_events", "AuditorServicer",
           "create_server", "serve"]
