"""The prover service as a gRPC server (ProverService).

It wraps :class:`prover.custody.witness.WitnessStore` -- which already refuses
anything the replayed ledger does not require -- with the service's duties:

* **replay before every request.**  Each RPC first pulls the clearing node's
  public ledger from where it left off (ClearingService.StreamLedger, from
  the node's *ledger feed*: a server of the node's own for the prover, so a
  node RPC worker that waits on this service -- PushOpening from
  SubmitTrade/AffirmTrade, the margin and default steps -- never waits on
  the node's own pool through us; :mod:`clearing.services.clearing_service`),
  re-checks the order, the encoding and the hash chain over the exact bytes
  received (:func:`clearing.services.follower.follow`, continuing from the
  chain head of its last event), and folds the events into its openings.  Proofs about a
  member are made only after comparing the recomputed commitments with the
  node's own account (GetAccount), inside the witness store.
* **alarm.**  Any divergence -- a chain hash that does not match, an event
  that does not fold onto the openings, an account whose commitments differ
  from the replay, a node ledger shorter than or different from the highest
  (seq, chain head) this prover followed before (its watermark, kept in the
  sealed store across restarts) -- raises the alarm: it is logged, persisted in the sealed
  store, and from then on every proving RPC is refused with
  FAILED_PRECONDITION ("prover alarm").  The prover never proves against a
  ledger it could not reproduce.
* **who may ask.**  Only the clearing node (certificate ``node/clearing``)
  may push openings and ask for margin, cure and default steps; a member may
  ask only for its own funding, withdrawal and assessment proofs (each also
  carries the member's signature, which the witness store checks against the
  admitted key), its own balances, and -- a thin member, with no curve code
  -- its own trade's commitment, proof and sealed openings (PrepareTrade)
  and the check of a trade it is the counterparty of (CheckAffirmation;
  :mod:`prover.custody.thin`).  Every request is logged (method,
  caller, outcome; never a value) by :mod:`clearing.services.rpc` and in the witness
  store's log.
* **openings sealed at rest.**  Every opening the witness store learns is
  written to :class:`prover.custody.sealed_store.SealedStore` before the RPC that
  produced it answers; a restarted prover reloads them and replays the
  ledger from the node.
* **deadlines.**  Proving RPCs check the caller's remaining deadline first.
* **where margin is proven.**  On the local process pool (:mod:`prover.pool`),
  or, with ``dask`` (``--dask`` of ``zkclear serve prover``, else ``dask`` in
  services.json), on a Dask cluster over TLS with the prover's own Dask CA
  (:mod:`prover.distributed`, :func:`clearing.services.pki.dask_tls`); a
  member not proven by the Dask deadline (or the caller's, less
  :data:`ANSWER_SLACK` / :data:`ANSWER_SHARE`) gets no entry in the batch,
  as an insolvent one.

The store is not thread-safe; one lock serialises requests (the pure-Python
prover uses the CPU anyway, and DESIGN §7 releases a cycle's proofs together).
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import grpc

from clearing.api import clearing_pb2_grpc, common_pb2, convert, prover_pb2, prover_pb2_grpc
from clearing.protocol.encoding import GENESIS_HASH
from clearing.protocol.fields import PROVER
from clearing.services import config as services_config
from clearing.services import rpc
from clearing.services.follower import FollowError, follow
from clearing.services.pki import PkiError, dask_tls, load_config, load_identity
from prover.custody import thin
from prover.custody.df_sizing import prove_df_size
from prover.custody.headroom import HeadroomRefused
from prover.custody.sealed_store import SealedStore, check_key_file
from prover.custody.witness import Divergence, WitnessStore
from prover.distributed import DEFAULT_DEADLINE, DaskConfigError, DaskProver, tls_security
from zkp.pedersen import Opening

log = logging.getLogger("zkclear.prover")

PROVER_SERVICE = "zkclear.v1.ProverService"
#: Seconds of deadline a proving request must leave.
PROVE_TIME = 0.5
NODE = "node/clearing"
#: Deadline of one ledger replay stream (the fold runs while it streams; a
#: restarted prover replays the whole ledger).
STREAM_TIMEOUT = 3600.0
#: Replays to catch up with accounts the node changed while we read them.
RESYNC_ATTEMPTS = 8
#: A Dask margin batch stops waiting for workers this long before the
#: caller's deadline: at least ANSWER_SLACK seconds, and ANSWER_SHARE of the
#: caller's time (to sign and answer, and for the node to verify the batch).
ANSWER_SLACK = 2.0
ANSWER_SHARE = 0.1


class ProverNode:
    def __init__(self, config_dir, db_path, key_path, *, clearing_target: str | None = None,
                 timeout: float = rpc.DEFAULT_TIMEOUT, rng=None):
        self.config_dir = Path(config_dir)
        self.roster = load_config(self.config_dir)
        self.identity = load_identity(self.config_dir, PROVER)
        self.store = SealedStore(db_path, key_path)
        operator = self.roster.by_role("operator")
        if len(operator) != 1:
            raise ValueError("the configuration must name exactly one operator")
        #: openings the witness store learned and the sealed store does not hold yet
        self._unsealed: dict[str, Opening] = {}
        self.witness = WitnessStore(self.identity.ed25519_private, self.identity.x25519_private,
                                    operator[0].ed25519_public, rng=rng, on_opening=self._unsealed.__setitem__)
        self.witness.adopt_openings(self.store.load_all())
        self.witness.adopt_answers(self.store.load_answers())
        self.witness.on_answer = self.store.put_answer  # recorded before the answer leaves
        #: the highest (seq, chain head) followed, as in the sealed store
        self._mark = self.store.watermark()
        self._head = GENESIS_HASH
        self.lock = threading.RLock()
        self.timeout = timeout
        self._clearing = rpc.LazyClient(self.identity, clearing_pb2_grpc.ClearingServiceStub, clearing_target,
                                        timeout, "clearing node", bulk=True)  # margin-batch events

    def __repr__(self) -> str:
        return f"ProverNode(config_dir={str(self.config_dir)!r})"

    @property
    def clearing(self) -> rpc.Client:
        return self._clearing.get()

    def set_clearing_target(self, target: str) -> None:
        """Point the prover at another clearing node address."""
        self._clearing.retarget(target)

    def close(self) -> None:
        self._clearing.close()
        self.store.close()
        if self.witness.executor is not None:
            self.witness.executor.close()

    # -- alarm --------------------------------------------------------------------
    def raise_alarm(self, reason: str) -> None:
        log.error("ALARM: %s -- refusing to prove", reason)
        self.store.set_alarm(reason)

    def check_alarm(self) -> None:
        reason = self.store.alarm()
        if reason is not None:
            raise rpc.Abort(grpc.StatusCode.FAILED_PRECONDITION, f"prover alarm: {reason}; refusing to prove")

    # -- replay ----------------------------------------------------------------------
    def sync(self) -> int:
        """Fold the node's new public events; alarm on any divergence."""
        self.check_alarm()
        since = self.witness.seq
        mseq, mhead = self._mark
        try:
            for seq, body, h in follow(self.clearing, since, self._head, timeout=STREAM_TIMEOUT):
                if seq == mseq and h != mhead:
                    raise Divergence(f"the node's ledger forked: event {seq} differs from the one followed before")
                self.witness.follow([(seq, body)])
                self._head = h
            if self.witness.seq < mseq:
                raise Divergence(f"the node's ledger went backwards: {self.witness.seq} events, "
                                 f"{mseq} followed before")
            if self.witness.seq > mseq:
                self.store.set_watermark(self.witness.seq, self._head)
                self._mark = (self.witness.seq, self._head)
        except (Divergence, FollowError) as exc:
            self.raise_alarm(str(exc))
            self.check_alarm()
        return self.witness.seq

    def _fetch(self, member: str) -> dict:
        return convert.account(self.clearing.GetAccount(common_pb2.MemberRequest(member=member)))

    def account(self, member: str) -> dict:
        """The node's public account of ``member``, read at a ledger position
        this prover has replayed: the node may change the account (a
        counterparty's affirmation, a receipt booked in the background)
        between our replay and the read, so a version newer than the replay
        means "replay again", not a divergence."""
        return self.accounts([member])[member]

    def accounts(self, members=None) -> dict:
        names = self.witness.members() if members is None else list(members)
        for _ in range(RESYNC_ATTEMPTS):
            out = {m: self._fetch(m) for m in names}
            if all(a["version"] <= self.witness.seq for a in out.values()):
                return out
            self.sync()
        return out  # still moving: the comparison decides (a true divergence alarms)

    def persist(self) -> None:
        """Seal every opening learned since the last call (before answering)."""
        new = dict(self._unsealed)
        if new:
            self.store.put_many(new)
            for c in new:
                del self._unsealed[c]

    def seal_prepared(self, member: str, request_id: str, commitment: str) -> None:
        """Seal a just prepared contribution's opening with its request id."""
        self.store.put_prepared(member, request_id, commitment, self._unsealed[commitment])
        del self._unsealed[commitment]

    def guarded(self, fn):
        """Run ``fn`` after a replay, under the lock; a Divergence raises the
        alarm.  What the witness store did (its log: kind, member, cycle,
        outcome -- never a value) is logged."""
        with self.lock:
            self.sync()
            mark = len(self.witness.log)
            try:
                return fn()
            except Divergence as exc:
                self.raise_alarm(str(exc))
                self.check_alarm()
            finally:
                self.persist()
                for kind, who, cycle, outcome in self.witness.log[mark:]:
                    log.info("witness: %s %s cycle %s: %s", kind, who, cycle, outcome)


def _member_sig(data: bytes) -> bytes:
    return convert.signature(data)


class ProverServicer(prover_pb2_grpc.ProverServiceServicer):
    def __init__(self, node: ProverNode):
        self.node = node
        self.roster = node.roster

    @rpc.unary
    def PushOpening(self, request, context, caller):
        caller.require(NODE)
        w = self.node.witness

        def go():
            try:
                again = w.receipt_again(request.trade_id)  # a retried push: the opening is already held
                if again is None:
                    again = w.receive_opening(request.trade_id, convert.nonempty(request.sealed, "sealed opening"))
            except HeadroomRefused as r:  # issue 14 §1: the signed refusal, an answer
                return r, None
            return again, w.headroom_debit(request.trade_id)

        out, d = self.node.guarded(go)
        if isinstance(out, HeadroomRefused):
            return prover_pb2.Receipt(trade_id=request.trade_id, h_buyer=bytes.fromhex(out.H_buyer),
                                      h_seller=bytes.fromhex(out.H_seller), refused=list(out.members),
                                      refusal_signature=out.sig)
        if d is None:
            return prover_pb2.Receipt(trade_id=request.trade_id, signature=out)
        return prover_pb2.Receipt(trade_id=request.trade_id, signature=out, h_buyer=bytes.fromhex(d["H_buyer"]),
                                  h_seller=bytes.fromhex(d["H_seller"]), headroom_proof=bytes.fromhex(d["proof"]))

    @rpc.unary
    def PrepareFunding(self, request, context, caller):
        caller.require_member(request.member, also=(NODE,))
        rid = convert.request_id(request.request_id)

        def go():
            done = self.node.store.prepared(request.member, rid)
            if done is not None:
                return bytes.fromhex(done)
            C = self.node.witness.prepare_funding(request.member, request.amount).encode().hex()
            self.node.seal_prepared(request.member, rid, C)
            return bytes.fromhex(C)

        return prover_pb2.PreparedFunding(df=self.node.guarded(go))

    @rpc.unary
    def ProveFunding(self, request, context, caller):
        caller.require_member(request.member, also=(NODE,))
        df = convert.point(request.df, "df")
        sig = _member_sig(request.signature)
        rpc.require_time(context, PROVE_TIME)
        ctx_seq, proof = self.node.guarded(lambda: self.node.witness.prove_funding(
            request.member, df, request.epoch, request.request_id, sig, self.node.account(request.member)))
        return prover_pb2.MemberProof(ctx_seq=ctx_seq, proof=proof)

    @rpc.unary
    def ProveSizing(self, request, context, caller):
        caller.require_member(request.member, also=(NODE,))
        sig = _member_sig(request.signature)
        rpc.require_time(context, PROVE_TIME)
        f = self.node.guarded(lambda: prove_df_size(self.node.witness, request.member, request.epoch,
                                                    request.request_id, sig, self.node.account(request.member)))
        return prover_pb2.SizingFiling(ctx_seq=f.ctx_seq, m=f.m, q=f.q, bound_proof=f.bound_proof,
                                       sizing_proof=f.sizing_proof, cover2_proof=f.cover2_proof)

    @rpc.unary
    def ProveWithdrawal(self, request, context, caller):
        caller.require_member(request.member, also=(NODE,))
        sig = _member_sig(request.signature)
        rpc.require_time(context, PROVE_TIME)
        ctx_seq, proof = self.node.guarded(lambda: self.node.witness.prove_withdrawal(
            request.member, request.amount, request.cycle, request.request_id, sig, self.node.account(request.member)))
        return prover_pb2.MemberProof(ctx_seq=ctx_seq, proof=proof)

    @rpc.unary
    def ProveAssessmentPayment(self, request, context, caller):
        caller.require_member(request.member, also=(NODE,))
        sig = _member_sig(request.signature)
        rpc.require_time(context, PROVE_TIME)
        ctx_seq, proof = self.node.guarded(lambda: self.node.witness.prove_assessment_payment(
            request.member, request.index, request.amount, request.cycle, request.request_id, sig,
            self.node.account(request.member)))
        return prover_pb2.MemberProof(ctx_seq=ctx_seq, proof=proof)

    @rpc.unary
    def ProveAssessmentFromCash(self, request, context, caller):
        caller.require_member(request.member, also=(NODE,))
        sig = _member_sig(request.signature)
        rpc.require_time(context, PROVE_TIME)
        ctx_seq, proof = self.node.guarded(lambda: self.node.witness.prove_assessment_from_cash(
            request.member, request.index, request.cycle, request.request_id, sig,
            self.node.account(request.member)))
        return prover_pb2.MemberProof(ctx_seq=ctx_seq, proof=proof)

    def _node_step(self, caller, context, step):
        """A step only the clearing node may ask for: ``step()`` under the
        replay and the lock (:meth:`ProverNode.guarded`), within the caller's
        deadline."""
        caller.require(NODE)
        rpc.require_time(context, PROVE_TIME)
        return self.node.guarded(step)

    def _batch(self, caller, context, cycle: int, make) -> common_pb2.MarginBatch:
        """A node-driven margin-family batch (``make(accounts)`` -> (entries,
        signature)), proved in time for the caller: a Dask executor is given
        this call's deadline (a stale one would leave members unproven)."""
        w = self.node.witness
        remaining = context.time_remaining()
        limit = None if remaining is None else \
            time.monotonic() + remaining - max(ANSWER_SLACK, ANSWER_SHARE * remaining)

        def step():
            if isinstance(w.executor, DaskProver):  # answer before the caller gives up
                w.executor.not_after = limit
            return make(self.node.accounts())

        entries, sig = self._node_step(caller, context, step)
        return convert.margin_batch_msg(cycle, entries, sig)

    @rpc.unary
    def ProveMargin(self, request, context, caller):
        return self._batch(caller, context, request.cycle,
                           lambda accounts: self.node.witness.margin_batch(request.cycle, accounts))

    @rpc.unary
    def ProveIntraday(self, request, context, caller):
        """The batch of the intraday run the ledger awaits (issue 14 §1), once per run."""
        return self._batch(caller, context, request.cycle,
                           lambda accounts: self.node.witness.intraday_batch(request.cycle, request.run, accounts))

    @rpc.unary
    def ProveCure(self, request, context, caller):
        w = self.node.witness
        return convert.cure_msg(self._node_step(
            caller, context, lambda: w.cure_proof(request.member, self.node.account(request.member))))

    @rpc.unary
    def ProveEpochTotal(self, request, context, caller):
        w = self.node.witness
        return convert.epoch_total_msg(self._node_step(
            caller, context, lambda: w.epoch_total(request.cycle, self.node.accounts())))

    @rpc.unary
    def ProveDefaultOpen(self, request, context, caller):
        w = self.node.witness
        return convert.default_open_msg(self._node_step(
            caller, context, lambda: w.default_open(request.cycle, self.node.accounts())))

    @rpc.unary
    def ProveDefaultShares(self, request, context, caller):
        w = self.node.witness
        return convert.default_shares_msg(self._node_step(caller, context, lambda: w.default_shares(request.purpose)))

    @rpc.unary
    def GetBalances(self, request, context, caller):
        caller.require_member(request.member)
        w = self.node.witness

        def go():
            self.node.witness.check(request.member, self.node.account(request.member))
            return w.balances(request.member), w.due(request.member)

        bal, due = self.node.guarded(go)
        h = bal.get("headroom")
        return prover_pb2.Balances(member=request.member, cash=str(bal["cash"]), df=str(bal["df"]),
                                   positions=[str(p) for p in bal["pos"]], due=str(due),
                                   headroom="" if h is None else str(h))

    # -- thin members (prover.custody.thin): only the member itself ------------------
    @rpc.unary
    def PrepareTrade(self, request, context, caller):
        caller.require_member(request.member)
        rid = convert.request_id(request.request_id)
        terms = thin.TradeTerms(request.member, request.trade_id, request.cycle, request.counterparty,
                                request.instrument, convert.side(request.side), request.price, request.quantity)
        rpc.require_time(context, PROVE_TIME)
        out = self.node.guarded(lambda: thin.prepare_trade(self.node.witness, terms, rid))
        return prover_pb2.PreparedTrade(trade=convert.trade_msg(out.trade), proof=out.proof,
                                        sealed_counterparty=out.sealed_counterparty,
                                        sealed_prover=out.sealed_prover, trade_tuple=out.trade_tuple)

    @rpc.unary
    def CheckAffirmation(self, request, context, caller):
        caller.require_member(request.member)
        try:
            out = self.node.guarded(lambda: thin.check_affirmation(self.node.witness, request.member,
                                                                   request.trade_id))
        except thin.NotYet as exc:  # the node's push of the opening is still on its way
            raise rpc.Abort(grpc.StatusCode.UNAVAILABLE, str(exc)) from None
        return prover_pb2.CheckedAffirmation(trade=convert.trade_msg(out.trade), quantity=out.quantity,
                                             affirmation_tuple=out.affirmation_tuple)

    @rpc.unary
    def GetProverStatus(self, request, context, caller):
        alarm = self.node.store.alarm()
        return prover_pb2.ProverStatus(seq=self.node.witness.seq, alarm=alarm is not None,
                                       alarm_reason=alarm or "")


def create_server(config_dir, *, port: int = 0, host: str = "127.0.0.1", db_path=None, key_path=None,
                  clearing_target: str | None = None, max_workers: int = 4, rng=None,
                  dask: str | None = None, dask_deadline: float | None = None) -> tuple[rpc.Server, int]:
    """Start the prover service on ``host:port`` (0 = any free port);
    returns (server, port).  ``server.resource`` is the :class:`ProverNode`.
    ``rng`` is for tests only (reproducible runs, see ``zkp.field.random_scalar``);
    the CLI never passes one, so blindings come from the CSPRNG.

    ``key_path`` defaults to :func:`services_config.prover_key_path`
    (environment, then services.json).  Refuses to start
    (:class:`~prover.custody.sealed_store.StoreError`) when the key file lies inside
    the prover's data directory (the directory of ``db_path``) or the
    clearing node's, or when group/others may read or write it.

    ``dask``: prove margin batches on this Dask cluster (``tls://HOST:PORT``
    or ``local:N``; default: ``dask`` of services.json, else the local
    pool), ``dask_deadline`` seconds per batch (default: ``dask_deadline``
    of services.json, else :data:`prover.distributed.DEFAULT_DEADLINE`)."""
    config_dir = Path(config_dir)
    db_path = Path(db_path or services_config.data_path(config_dir, "prover_db"))
    key_path = services_config.prover_key_path(config_dir, key_path)
    data_dirs = [db_path.parent, services_config.data_path(config_dir, "clearing_db", create=False).parent]
    check_key_file(key_path, data_dirs, store_exists=db_path.exists())
    db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    node = ProverNode(config_dir, db_path, key_path, clearing_target=clearing_target, rng=rng)
    try:
        node.witness.executor = _dask_executor(config_dir, dask, dask_deadline)
        server, bound, health = rpc.build_server(node.identity, [
            (prover_pb2_grpc.add_ProverServiceServicer_to_server, ProverServicer(node), PROVER_SERVICE),
        ], host=host, port=port, max_workers=max_workers, bulk=True)  # ProveMargin's MarginBatch
    except BaseException:
        node.close()
        raise
    return rpc.Server(server, bound, health, node), bound


def _dask_executor(config_dir: Path, address: str | None, deadline: float | None) -> DaskProver | None:
    """The Dask executor of the configured (or given) cluster, connected;
    None when no cluster is configured."""
    address = address or services_config.dask_address(config_dir)
    if address is None:
        return None
    if deadline is None:
        deadline = services_config.dask_deadline(config_dir) or DEFAULT_DEADLINE
    tls = dask_tls(config_dir)
    try:
        dp = DaskProver(address, tls_security(tls.ca_file, tls.cert_file, tls.key_file), deadline=deadline)
    except DaskConfigError as exc:
        raise PkiError(f"Dask: {exc}") from None
    dp.start()
    return dp


def serve(config_dir, *, port: int | None = None, host: str = "127.0.0.1",
          grace: float = rpc.SHUTDOWN_GRACE, key_path=None, dask: str | None = None,
          dask_deadline: float | None = None) -> None:
    config_dir = Path(config_dir)
    if port is None:
        port = int(services_config.endpoint(config_dir, "prover").rsplit(":", 1)[1])
    srv, bound = create_server(config_dir, port=port, host=host, key_path=key_path,
                               clearing_target=services_config.prover_clearing_target(config_dir),
                               dask=dask, dask_deadline=dask_deadline)
    log.info("prover service listening on %s:%d (mutual TLS)", host, bound)
    print(f"prover service listening on {host}:{bound}", flush=True)
    rpc.serve_forever(srv.grpc_server, srv.health, grace=grace, on_stop=srv.resource.close)


__all__ = ["ProverNode", "ProverServicer", "create_server", "serve"]
