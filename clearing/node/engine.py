"""The blind clearing node: Core + the SQLite ledger + the request API.

Each request builds its typed event (:mod:`clearing.protocol.events`; the
constructor checks fields and JSON types), which is verified and folded as
such; the ledger stores its body (:meth:`~clearing.protocol.events.Event.to_body`).

An event costs what it touches, not the size of the ledger: it is folded
into the live state under the state's undo journal (a refused fold or a
failed append rolls it back), the engine keeps the derived rows
(:class:`clearing.fold.snapshot.Rows`: only the rows the event can have
changed are recomputed and written; the state hash is computed once per
change, on demand) and an index of the pending trades (derived, never
stored; rebuilt on open).

Group commit (:meth:`Engine.begin_group` .. :meth:`Engine.end_group`, as
the node's engine thread runs its queued calls): the group's events go into
one SQLite transaction, each append its own savepoint
(:meth:`clearing.node.ledger.Ledger.begin_group`), so a refused or failed
event rolls back only its own writes and its own fold (the undo journal) and
the group goes on; a request id recorded earlier in the group replays.  The
fold of each event kept in the group keeps its journal
(:meth:`clearing.fold.state.State.commit` with ``keep``) until the group
commits: if the commit fails (a full disk, an I/O error), or SQLite rolled
back the group's transaction, :meth:`end_group` raises that error after
undoing every fold of the group, newest first, and restoring the chain head
(the derived caches are rebuilt on next use): nothing of the group is
applied, in the database or in memory.  Outside a group every event is its
own transaction, as an engine used directly (tests, tools) runs.

The durable head marker (:mod:`clearing.node.marker`) is written after each
commit, or -- with :attr:`Engine.defer_marker`, as the node's engine thread
runs it -- once per group of calls by :meth:`Engine.flush_marker`, after the
group's commit and before any of the group's requests is acknowledged (the
argument is in :mod:`clearing.node.marker`).  :attr:`Engine.on_pending` is
called as each event is kept; inside a group its owner must hold what it
publishes until the group's commit (the engine thread does)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clearing.fold.apply import apply_event
from clearing.fold.snapshot import Rows, cycle_digest
from clearing.fold.state import State, _deepcopy_json
from clearing.node.checks_capture import VerifiedProofs
from clearing.node.checks_intraday import batch_results
from clearing.node.core import Core
from clearing.node.ledger import Ledger
from clearing.node.marker import _check_marker, write_marker
from clearing.protocol import events as ev
from clearing.protocol import signing
from clearing.protocol.contracts import CureProof, DefaultOpening, ProRataAllocation, WindowTotal
from clearing.protocol.encoding import content_hash
from clearing.protocol.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    LedgerCorrupted,
    NotFound,
    PermissionDenied,
    shown,
)
from clearing.protocol.events import parse
from clearing.protocol.fields import (
    MAX_SEALED_BYTES,
    NODE,
    OPERATOR,
    PROVER,
    _h,
    _hexbytes,
    _ident,
)
from clearing.protocol.messages import digest_message
from zkp.errors import DecodeError, ZkclearError
from zkp.group import Point


def _node_pub(node_key) -> str:
    return signing.public_key_bytes(node_key).hex()


def _counterparty(t: Mapping) -> str:
    return t["seller"] if t["side"] == "buy" else t["buyer"]


class _PendingIndex:
    """The pending trades, derived from the state (never stored): all of
    them (they expire at the cycle's close) and, per counterparty, those
    still awaiting its affirmation."""

    def __init__(self, trades: Mapping[str, dict]):
        self.pending: set[str] = set()
        self.awaiting: dict[str, set[str]] = {}
        self.update(trades, trades)

    def update(self, trades: Mapping[str, dict], tids: Iterable[str]) -> list[tuple[str, str]]:
        """Re-index the trades ``tids`` (those an event wrote); returns the
        (counterparty, trade id) pairs that now await an affirmation and
        did not before."""
        fresh = []
        for tid in tids:
            t = trades.get(tid)
            if t is None:  # never removed by the fold; for completeness
                self.pending.discard(tid)
                for waiting in self.awaiting.values():
                    waiting.discard(tid)
                continue
            waiting = self.awaiting.setdefault(_counterparty(t), set())
            if t["status"] == "pending":
                self.pending.add(tid)
            else:
                self.pending.discard(tid)
            if t["status"] == "pending" and not t.get("affirmed"):
                if tid not in waiting:
                    fresh.append((_counterparty(t), tid))
                waiting.add(tid)
            else:
                waiting.discard(tid)
        return fresh


@dataclass
class _Group:
    """What :meth:`Engine.end_group` needs to undo a group whose commit
    failed, or to publish one that committed."""

    head: bytes
    unmarked: tuple[int, bytes] | None
    batch_cache: Any
    #: the kept fold journals of the group's events, oldest first
    undo: list = field(default_factory=list)
    #: (seq, chain head) of the group's last event
    last: tuple[int, bytes] | None = None


class Engine(Core):
    """The blind clearing node, persisted in one SQLite database.

    Open with :meth:`create` (new ledger, operator-signed genesis) or
    :meth:`open` (replays the log, checks the chain and the stored derived
    state).  ``node_key`` is the node's Ed25519 private key; it signs cycle
    digests and is never stored in the database.

    Every mutating method takes a ``request_id``: (actor, request id) is
    unique; repeating a request returns the original result and changes
    nothing, the same id with different content is AlreadyExists.  Each
    returns a dict with at least ``seq`` (the event's sequence number)."""

    def __init__(self, ledger: Ledger, node_key):
        super().__init__()
        self.ledger = ledger
        self._node_key = node_key
        #: derived caches of the state (None: rebuilt on next use, see :meth:`_caches`)
        self._rows: Rows | None = None
        self._index: _PendingIndex | None = None
        #: with it, :meth:`_commit` leaves the head marker to :meth:`flush_marker` (group commit)
        self.defer_marker = False
        #: (seq, head) committed but not yet in the head marker (deferred mode)
        self._unmarked: tuple[int, bytes] | None = None
        #: trade proofs verified ahead of the engine (see :mod:`clearing.node.checks_capture`); None: verify all
        self.verified_proofs: VerifiedProofs | None = None
        #: called after a commit with the (counterparty, trade id) pairs that began awaiting an
        #: affirmation (the node's pending-trade streams); None: nobody listens
        self.on_pending: Callable[[list[tuple[str, str]]], None] | None = None
        #: the group of calls in progress (:meth:`begin_group`), else None
        self._group: _Group | None = None

    def __repr__(self) -> str:
        return f"Engine(path={self.ledger.path!r}, seq={self.state.seq}, cycle={self.state.cycle})"

    @classmethod
    def create(cls, path: str, config: dict, op_sig: bytes, node_key) -> Engine:
        led = Ledger(path)
        if led.head()[0] != 0:
            led.close()
            raise FailedPrecondition("database already holds a ledger; use Engine.open")
        try:
            _check_marker(led, 0)
        except BaseException:
            led.close()
            raise
        eng = cls(led, node_key)
        eng.head = led.head()[1]
        eng._commit(ev.Genesis(config=config, op_sig=_h(op_sig)), None, None)
        return eng

    @classmethod
    def open(cls, path: str, node_key, *, verify_proofs: bool = False) -> Engine:
        """Reopen: verify the hash chain, replay every event through the fold
        (with ``verify_proofs`` also through every check, as the auditor
        does), compare with the stored derived state.  LedgerCorrupted if
        anything disagrees."""
        from .ledger import GENESIS_HASH, chain_hash

        led = Ledger(path)
        try:
            _, head_hash = led.verify_chain()
            eng = cls(led, node_key)
            eng.head = GENESIS_HASH
            for seq, body in led.events():
                try:
                    event = parse(body)
                except InvalidArgument as exc:
                    raise LedgerCorrupted(f"event {seq} is malformed: {exc}") from None
                if verify_proofs:
                    try:
                        eng.verify_event(event)
                    except ZkclearError as exc:
                        raise LedgerCorrupted(f"event {seq} does not verify: {exc}") from None
                try:
                    eng.apply(seq, event)
                except (KeyError, TypeError, ValueError, IndexError, AttributeError, DecodeError) as exc:
                    raise LedgerCorrupted(f"event {seq} cannot be replayed: {type(exc).__name__}") from None
                eng.head = chain_hash(eng.head, seq, body)
            if eng.head != head_hash:
                raise LedgerCorrupted("replayed chain head differs from the stored head")
            led.check_derived(eng._kept_rows().rows)
            _check_marker(led, eng.state.seq)
            stale = [t for t in led.relay_trades() if eng.state.trades.get(t, {}).get("status") != "pending"]
            led.relay_drop(stale)
        except BaseException:
            led.close()
            raise
        if eng.state.config is not None and eng.state.config["keys"]["node"] != _node_pub(node_key):
            led.close()
            raise PermissionDenied("node key does not match the ledger's genesis")
        return eng

    def close(self) -> None:
        try:
            self.end_group()
            self.flush_marker()
        finally:
            self.ledger.close()

    # -- group commit ------------------------------------------------------------
    def begin_group(self) -> None:
        """Start a group of calls: their events commit together in
        :meth:`end_group` (module docstring)."""
        if self._group is not None:
            raise RuntimeError("a group is already open on this engine")
        self.ledger.begin_group()
        self._group = _Group(self.head, self._unmarked, self._batch_cache)

    def end_group(self) -> None:
        """Commit the group (durable when this returns; the head marker is
        then owed up to its last event, :meth:`flush_marker`).  If the commit
        fails nothing of the group is applied -- the database rolled back,
        every fold of the group undone -- and the error is raised.  No-op
        without a group."""
        g, self._group = self._group, None
        if g is None:
            return
        try:
            self.ledger.end_group()
        except BaseException:
            self._undo_group(g)
            raise
        if g.last is not None and self.ledger.path != ":memory:":
            if self.defer_marker:
                self._unmarked = g.last
            else:
                write_marker(self.ledger.path, *g.last)

    def _undo_group(self, g: _Group) -> None:
        """Undo every fold the group kept, newest first; restore the head and
        the caches as they were at :meth:`begin_group`."""
        for kept in reversed(g.undo):
            self.state.undo(kept)
        self.head, self._unmarked, self._batch_cache = g.head, g.unmarked, g.batch_cache
        self._rows = self._index = None

    # -- internals -----------------------------------------------------------
    def _caches(self) -> tuple[Rows, _PendingIndex]:
        """The derived rows and the pending-trade index of the current state
        (each built from the whole state when missing: on open, after a replay)."""
        return self._kept_rows(), self._pending_index()

    def _kept_rows(self) -> Rows:
        if self._rows is None:
            self._rows = Rows(self.state, self.alg)
        return self._rows

    def _pending_index(self) -> _PendingIndex:
        if self._index is None:
            self._index = _PendingIndex(self.state.trades)
        return self._index

    def apply(self, seq: int, event: ev.Event) -> None:
        """Fold a verified event directly, outside :meth:`_commit` (the replay
        of :meth:`open`): the derived caches are rebuilt on next use."""
        self._rows = self._index = None
        super().apply(seq, event)

    def _commit(self, event: ev.Event, request: tuple[str, str, Any] | None, result_fn, extra=None) -> dict:
        """verify -> fold into the state under its undo journal -> the changed
        derived rows -> append atomically (the event's body,
        :meth:`~clearing.protocol.events.Event.to_body`, and those rows) ->
        keep.  Anything failing after the verification (the fold, the result,
        the append) rolls the state back: it is as it was before."""
        self.verify_event(event)
        rows, index = self._caches()
        st = self.state
        seq = st.seq + 1
        st.begin()
        try:
            apply_event(st, seq, event, self.alg)
            result = {"seq": seq}
            if result_fn is not None:
                result.update(result_fn(st))
            req = None
            if request is not None:
                actor, rid, chash = request
                req = (actor, rid, chash, result)
            members, trades = st.touched()
            changes = rows.changes(st, members, trades)
            _, h = self.ledger.append(event.to_body(), changes, req, extra)
        except BaseException:
            st.rollback()
            raise
        group = self._group
        kept = st.commit(keep=group is not None)
        rows.apply(changes)
        fresh = index.update(st.trades, trades)
        self.head = h
        if group is not None:
            group.undo.append(kept)
            group.last = (seq, h)
        elif self.ledger.path != ":memory:":
            if self.defer_marker:
                self._unmarked = (seq, h)
            else:
                write_marker(self.ledger.path, seq, h)
        if fresh and self.on_pending is not None:
            self.on_pending(fresh)
        return result

    def flush_marker(self) -> None:
        """Write the head marker for the events committed since the last
        write (deferred mode); a failed write is retried by the next flush."""
        if self._unmarked is not None:
            seq, h = self._unmarked
            write_marker(self.ledger.path, seq, h)
            self._unmarked = None

    def _idempotent(self, actor: str, request_id, content: dict):
        """(stored result, None) for a repeated request, else (None, request
        tuple).  ``content`` is what the client sent (not derived fields), so
        a retry after the ledger moved on is still recognised."""
        _ident("request id", request_id)
        chash = content_hash(content)
        found = self.ledger.lookup_request(actor, request_id)
        if found is not None:
            if found[0] != chash:
                raise AlreadyExists(f"request id {shown(request_id)} was used for a different request")
            return found[2], None
        return None, (actor, request_id, chash)

    def _run(self, actor: str, request_id, event: ev.Event, result_fn=None, extra=None, content=None) -> dict:
        """An idempotent request: ``content`` (default: the event's body) is
        what a repeated request must match."""
        done, req = self._idempotent(actor, request_id, event.to_body() if content is None else content)
        if done is not None:
            return done
        return self._commit(event, req, result_fn, extra)

    # -- requests --------------------------------------------------------------
    def admit(self, member: str, key: bytes, relay_key: bytes, relay_sig: bytes, op_sig: bytes,
              request_id: str) -> dict:
        """Operator-signed admission of a member's identity key and its
        identity-signed X25519 relay key."""
        event = ev.Admit(member=member, key=_h(key), relay_key=_h(relay_key), relay_sig=_h(relay_sig),
                         op_sig=_h(op_sig))
        return self._run(OPERATOR, request_id, event)

    def deposit(self, member: str, amount: int, cycle: int, sig: bytes, request_id: str) -> dict:
        """A member-signed public deposit: cash += amount*G.  The signature
        covers (member, amount, cycle, request id), so it cannot be replayed."""
        event = ev.Deposit(member=member, amount=amount, cycle=cycle, request_id=request_id, sig=_h(sig))
        return self._run(member, request_id, event)

    def fund_default(self, member: str, df, epoch: int, ctx_seq: int, proof: bytes, sig: bytes,
                     request_id: str) -> dict:
        """Default-fund funding out of cash: cash -= C_df, df = C_df, with a
        DefaultFunding range proof bound to the account version ``ctx_seq``."""
        df_hex = df.encode().hex() if isinstance(df, Point) else _h(_hexbytes("df", df, 32))
        event = ev.DfFund(member=member, epoch=epoch, df=df_hex, ctx_seq=ctx_seq, proof=_h(proof),
                          request_id=request_id, sig=_h(sig))
        return self._run(member, request_id, event)

    def submit_trade(self, trade: dict, proof: bytes, sig: bytes, sealed_counterparty: bytes,
                     sealed_prover: bytes, request_id: str) -> dict:
        """The initiator's trade: T, its validity proof, its signature over the
        trade tuple, and the opening sealed to the counterparty and to the
        prover service (stored in the relay table, outside the ledger)."""
        trade = dict(trade)
        if isinstance(trade.get("T"), Point):
            trade["T"] = trade["T"].encode().hex()
        if not isinstance(trade.get("side"), str) or trade["side"] not in ("buy", "sell"):
            raise InvalidArgument("side must be 'buy' or 'sell'")
        initiator = _ident("initiator", trade.get("buyer") if trade["side"] == "buy" else trade.get("seller"))
        counterparty = _ident("counterparty", trade.get("seller") if trade["side"] == "buy" else trade.get("buyer"))
        sc = _hexbytes("sealed opening", sealed_counterparty, max_size=MAX_SEALED_BYTES)
        sp = _hexbytes("sealed opening", sealed_prover, max_size=MAX_SEALED_BYTES)
        event = ev.Trade(trade=trade, proof=_h(proof), request_id=request_id, sig=_h(sig))
        content = dict(event.to_body(), sealed=[_h(sc), _h(sp)])
        tid = trade.get("trade_id")

        def relay(cur):
            cur.execute("INSERT OR REPLACE INTO relay (trade_id, recipient, sealed) VALUES (?, ?, ?)",
                        (tid, counterparty, sc))
            cur.execute("INSERT OR REPLACE INTO relay (trade_id, recipient, sealed) VALUES (?, ?, ?)",
                        (tid, PROVER, sp))

        return self._run(initiator, request_id, event, extra=relay, content=content)

    def relayed(self, trade_id: str, recipient: str) -> bytes:
        """The sealed opening waiting for ``recipient`` (counterparty id or
        "prover"); NotFound once the trade is novated or expired."""
        sealed = self.ledger.relay_get(trade_id, recipient)
        if sealed is None:
            raise NotFound(f"no relayed opening of trade {shown(trade_id)} for {shown(recipient)}")
        return sealed

    def trade(self, trade_id: str) -> dict:
        """The public record of a trade (terms, T, status)."""
        t = self.state.trades.get(trade_id)
        if t is None:
            raise NotFound(f"unknown trade {shown(trade_id)}")
        return dict(t)

    def _after_trade_step(self, tid):
        def fn(new: State):
            return {"status": new.trades[tid]["status"]}
        return fn

    def affirm(self, trade_id: str, member: str, sig: bytes, request_id: str) -> dict:
        """The counterparty's signed affirmation (after it decrypted and
        checked the opening).  Novates when the prover's receipt is in too;
        the relayed ciphertexts are then dropped."""
        event = ev.Affirm(trade_id=trade_id, member=member, request_id=request_id, sig=_h(sig))
        res = self._run(member, request_id, event, self._after_trade_step(trade_id))
        self._drop_relay(trade_id)
        return res

    def receipt(self, trade_id: str, sig: bytes, request_id: str, headroom: dict | None = None) -> dict:
        """The prover service's signed receipt: it holds an opening of T;
        under a pre-trade set (issue 14 §1) with its ``headroom`` debit
        {H_buyer, H_seller, proof} (hex)."""
        event = ev.Receipt(trade_id=trade_id, request_id=request_id, sig=_h(sig), headroom=headroom)
        res = self._run(PROVER, request_id, event, self._after_trade_step(trade_id))
        self._drop_relay(trade_id)
        return res

    def pretrade_refusal(self, trade_id: str, members: Sequence[str], H_buyer: str, H_seller: str, sig: bytes,
                         request_id: str) -> dict:
        """The prover service's signed refusal of a trade's headroom debit
        (issue 14 §1): the short sides, public; the trade stays pending."""
        event = ev.PretradeRefusal(trade_id=trade_id, members=tuple(members), H_buyer=H_buyer, H_seller=H_seller,
                                   request_id=request_id, sig=_h(sig))
        return self._run(PROVER, request_id, event, self._after_trade_step(trade_id))

    def _drop_relay(self, trade_id: str) -> None:
        t = self.state.trades.get(trade_id)
        if t is not None and t["status"] != "pending":
            self.ledger.relay_drop([trade_id])

    def settle(self, cycle: int, prices: Sequence[int], scenario_set: dict, op_sig: bytes, request_id: str) -> dict:
        """Operator-signed settlement prices and scenario set; applies VM."""
        event = ev.Settle(cycle=cycle, prices=tuple(prices), scenario_set=dict(scenario_set), request_id=request_id,
                          op_sig=_h(op_sig))
        return self._run(OPERATOR, request_id, event)

    def submit_margin_batch(self, cycle: int, entries: Sequence[dict], sig: bytes, request_id: str) -> dict:
        """The prover service's margin proofs for the cycle, verified as one
        batch.  Returns {"seq", "results": {member: pass|call|payment}}."""
        sent = [dict(e, proof=_h(_hexbytes("proof", e.get("proof")))) for e in entries]
        content = {"kind": "margin-batch", "cycle": cycle, "entries": sent, "request_id": request_id,
                   "sig": _h(sig)}
        done, req = self._idempotent(PROVER, request_id, content)
        if done is not None:
            return done
        self._check_cycle(cycle)
        if self.state.phase != "margin" or self.state.margin_done:
            raise FailedPrecondition("margin proofs are collected once per cycle, after settlement")
        # the entries' shape (the parse step's) before any proof is verified
        checked = ev.list_of(ev.MARGIN_ENTRY, frozen=True)("margin-batch event: entries", sent)
        for e in checked:
            self._member(e["member"])
        results = self.margin_results(cycle, checked)
        self._batch_cache = ((self.state.seq, content_hash(checked)), results)
        event = ev.MarginBatch(cycle=cycle, entries=checked, results=results, request_id=request_id, sig=_h(sig))
        return self._commit(event, req, lambda new: {"results": results})

    def intraday(self, cycle: int, run: int, marks: Sequence[int], op_sig: bytes, request_id: str) -> dict:
        """The operator-signed intraday marks of run ``run`` (issue 14 §1,
        clearing.protocol.intraday): the intraday basis is in force."""
        event = ev.Intraday(cycle=cycle, run=run, marks=tuple(marks), request_id=request_id, op_sig=_h(op_sig))
        return self._run(OPERATOR, request_id, event)

    def submit_intraday_batch(self, cycle: int, run: int, entries: Sequence[dict], sig: bytes,
                              request_id: str) -> dict:
        """The prover's proofs of an intraday run, verified and classified
        as a margin batch over the run's derived set.  Returns {"seq",
        "results"}."""
        sent = [dict(e, proof=_h(_hexbytes("proof", e.get("proof")))) for e in entries]
        content = {"kind": "intraday-batch", "cycle": cycle, "run": run, "entries": sent,
                   "request_id": request_id, "sig": _h(sig)}
        done, req = self._idempotent(PROVER, request_id, content)
        if done is not None:
            return done
        checked = ev.list_of(ev.MARGIN_ENTRY, frozen=True)("intraday-batch event: entries", sent)
        results = batch_results(self, cycle, run, checked)
        event = ev.IntradayBatch(cycle=cycle, run=run, entries=checked, results=results, request_id=request_id,
                                 sig=_h(sig))
        return self._commit(event, req, lambda new: {"results": results})

    def cure(self, answer: CureProof, request_id: str) -> dict:
        """A called member's re-proof (after a cure deposit), submitted by the
        prover service: a full proof clears the call; a solvency-only proof
        turns a payment default candidate into an IM call."""
        event = ev.MarginCure(cycle=answer.cycle, member=answer.member, solvency_only=answer.solvency_only,
                              ctx_seq=answer.ctx_seq, proof=_h(answer.proof), request_id=request_id,
                              sig=_h(answer.sig))
        return self._run(PROVER, request_id, event)

    def withdraw(self, member: str, amount: int, cycle: int, ctx_seq: int, proof: bytes, sig: bytes,
                 request_id: str) -> dict:
        """A member-signed withdrawal with the prover's Withdrawal proof
        (margin on cash - w); refused for called or defaulted members."""
        event = ev.Withdraw(member=member, amount=amount, cycle=cycle, ctx_seq=ctx_seq, proof=_h(proof),
                            request_id=request_id, sig=_h(sig))
        return self._run(member, request_id, event)

    def set_ccp_parameters(self, cycle: int, sitg1: int, sitg2: int, cap: int, op_sig: bytes,
                           request_id: str) -> dict:
        """Operator-signed new skin-in-the-game tranches (SITG 1, SITG 2, what
        is left of each from now on) and assessment cap multiple; refused while
        a default event is declared or in progress."""
        event = ev.CcpParams(cycle=cycle, skin_in_the_game_1=sitg1, skin_in_the_game_2=sitg2,
                             assessment_cap_multiple=cap, request_id=request_id, op_sig=_h(op_sig))
        return self._run(OPERATOR, request_id, event)

    def declare_default(self, cycle: int, member: str, op_sig: bytes, request_id: str) -> dict:
        """The operator-signed default declaration of a called member."""
        event = ev.Default(cycle=cycle, member=member, request_id=request_id, op_sig=_h(op_sig))
        return self._run(OPERATOR, request_id, event)

    def liquidate(self, cycle: int, member: str, op_sig: bytes, request_id: str) -> dict:
        """The operator-signed liquidation of a member that failed maintenance
        (issue 14 §2: clearing.node.checks_liquidation, clearing.fold.liquidation)."""
        event = ev.Liquidate(cycle=cycle, member=member, request_id=request_id, op_sig=_h(op_sig))
        return self._run(OPERATOR, request_id, event)

    def declare_insolvency(self, cycle: int, member: str, reason: str, op_sig: bytes, request_id: str) -> dict:
        """The operator-signed insolvency declaration of any member not in
        default, at any time, with its reason (issue 14 §4)."""
        event = ev.DefaultInsolvency(cycle=cycle, member=member, reason=reason, request_id=request_id,
                                     op_sig=_h(op_sig))
        return self._run(OPERATOR, request_id, event)

    def size_default_fund(self, filing, sig: bytes, request_id: str) -> dict:
        """A member's sizing / Cover-2 filing (clearing.protocol.df_sizing.SizingFiling)."""
        event = ev.DfSize(member=filing.member, epoch=filing.epoch, ctx_seq=filing.ctx_seq, m=_h(filing.m),
                          q=_h(filing.q), bound_proof=_h(filing.bound_proof), sizing_proof=_h(filing.sizing_proof),
                          cover2_proof=_h(filing.cover2_proof), request_id=request_id, sig=_h(sig))
        return self._run(filing.member, request_id, event)

    def cover2_report(self) -> list[dict]:
        """Cover-2 adequacy per closed funding window (public: {epoch, cycle,
        required, total, met, shortfall}); empty without a stress set."""
        return _deepcopy_json(self.state.books.get("cover2", []))

    def close_cycle(self, cycle: int, request_id: str) -> dict:
        """Close the cycle: invariants, digest signed by the node, next cycle.

        The digest covers the chain head before the close event and the full
        derived state; the close event records it with the node's signature."""
        done, req = self._idempotent(NODE, request_id, {"kind": "close", "cycle": cycle})
        if done is not None:
            return done
        self._check_cycle(cycle)
        if self.state.phase != "margin" or not self.state.margin_done:
            raise FailedPrecondition("a cycle closes after settlement and the margin batch")
        digest = self.expected_digest()
        sig = signing.sign(self._node_key, *digest_message(cycle, digest))
        event = ev.Close(cycle=cycle, digest=digest.hex(), request_id=request_id, node_sig=sig.hex())
        expired = sorted(self._pending_index().pending)
        res = self._commit(event, req, lambda new: {"cycle": cycle, "digest": digest.hex()})
        self.ledger.relay_drop(expired)
        return res

    def open_epoch_total(self, answer: WindowTotal, request_id: str) -> dict:
        """The prover's opening of the funding window's default-fund total D
        over all members not in default; closes the window (the next one
        opens for new filings)."""
        event = ev.DfEpoch(cycle=answer.cycle, epoch=answer.epoch, members=tuple(answer.members), D=answer.D,
                           proof=_h(answer.proof), request_id=request_id, sig=_h(answer.sig))
        return self._run(PROVER, request_id, event)

    # -- default management ------------------------------------------------------
    def dm_open(self, answer: DefaultOpening, request_id: str) -> dict:
        """The prover service opens the default event: every defaulter's
        accounts disclosed (reveal proofs against the node's commitments) and
        the survivors' snapshot total D0 (aggregate opening)."""
        event = ev.DmOpen(cycle=answer.cycle, defaulters=tuple(answer.defaulters), survivors=tuple(answer.survivors),
                          D0=answer.D0, D0_proof=_h(answer.D0_proof),
                          disclosures={m: {"values": list(d.values), "proof": _h(d.proof)}
                                       for m, d in answer.disclosures.items()},
                          request_id=request_id, sig=_h(answer.sig))
        return self._run(PROVER, request_id, event, lambda new: {"index": len(new.reports) if new.dm is None
                                                                 else new.dm["index"]})

    def dm_closeout(self, cycle: int, index: int, prices: Sequence[int], lots: Sequence[dict], op_sig: bytes,
                    request_id: str) -> dict:
        """The operator-signed close-out prices and auction lots (see
        ``closeout_message``; ``book_lots`` gives everything to the public
        auction book); runs the public tranches.  Returns the pending pro-rata
        allocations ({purpose: amount}) if any."""
        event = ev.DmCloseout(cycle=cycle, index=index, prices=tuple(prices), lots=tuple(dict(lot) for lot in lots),
                              request_id=request_id, op_sig=_h(op_sig))
        return self._run(OPERATOR, request_id, event,
                         lambda new: {"need": {} if new.dm is None else dict(new.dm["need"])})

    def dm_shares(self, answer: ProRataAllocation, request_id: str) -> dict:
        """The prover's pro-rata allocation of a tranche over the survivors."""
        event = ev.DmShares(cycle=answer.cycle, index=answer.index, purpose=answer.purpose, R=answer.R,
                            shares=tuple(answer.shares), total=answer.total, proof=_h(answer.proof),
                            total_proof=_h(answer.total_proof), request_id=request_id, sig=_h(answer.sig))
        return self._run(PROVER, request_id, event,
                         lambda new: {"need": {} if new.dm is None else dict(new.dm["need"])})

    def pay_assessment(self, member: str, index: int, amount: int, cycle: int, ctx_seq: int, proof: bytes,
                       sig: bytes, request_id: str) -> dict:
        """A member-signed deposit tagged to its assessment, with the prover's
        proof that it covers the committed payable (the rest goes to cash)."""
        event = ev.AssessmentPay(member=member, index=index, amount=amount, cycle=cycle, ctx_seq=ctx_seq,
                                 proof=_h(proof), request_id=request_id, sig=_h(sig))
        return self._run(member, request_id, event)

    def settle_assessment(self, member: str, index: int, cycle: int, ctx_seq: int, proof: bytes, sig: bytes,
                          request_id: str) -> dict:
        """A member-signed settlement of its assessment payable from hidden
        cash, with the prover's margin proof on cash - due (DESIGN §6.4)."""
        event = ev.AssessmentSettle(member=member, index=index, cycle=cycle, ctx_seq=ctx_seq, proof=_h(proof),
                                    request_id=request_id, sig=_h(sig))
        return self._run(member, request_id, event)

    def default_reports(self) -> list[dict]:
        """The default reports of DESIGN §6.5 (JSON-able), one per event."""
        return [_deepcopy_json(r) for r in self.state.reports]

    # -- public reads -------------------------------------------------------------
    def account(self, member: str) -> dict:
        """The member's public account: commitments (hex), status, version."""
        a = self.state.account(member)
        return {"cash": a.cash.encode().hex(), "df": a.df.encode().hex(), "pos": [p.encode().hex() for p in a.pos],
                "due": None if a.due is None else a.due.encode().hex(),
                "status": a.status, "version": a.version, "funded": a.funded}

    def events(self, since: int = 0) -> list[tuple[int, dict]]:
        return list(self.ledger.events(since))

    def events_with_hashes(self, since: int = 0, limit: int | None = None) -> list[tuple[int, dict, bytes]]:
        """(seq, body, chain hash) of the events after ``since``, in order
        (at most ``limit``): the public ledger as streamed to other parties."""
        return self.ledger.events_with_hashes(since, limit)

    def chain_head(self) -> tuple[int, bytes]:
        """(sequence number, chain hash) of the last stored event."""
        return self.ledger.head()

    def recorded(self, actor: str, request_id: str):
        """The stored result of ``actor``'s request ``request_id`` if the
        ledger already holds it, else None (no content check: see
        :meth:`_idempotent` for that)."""
        found = self.ledger.lookup_request(actor, request_id)
        return None if found is None else found[2]

    def status(self) -> dict:
        """The ledger's public status: head, cycle, phase, members,
        instruments (the genesis records), prices, cycle digests (the state
        hash is :meth:`state_digest`)."""
        s = self.state
        seq, head = self.chain_head()
        return {"seq": seq, "head": head, "genesis": s.config is not None, "cycle": s.cycle, "phase": s.phase,
                "margin_done": s.margin_done, "epoch": s.epoch, "cycle_seq": s.cycle_seq,
                "members": sorted(s.members),
                "instruments": [] if s.config is None else _deepcopy_json(s.config["instruments"]),
                "prices": list(s.prices), "digests": list(s.digests)}

    def pending_for(self, member: str) -> list[tuple[dict, bytes]]:
        """(trade, opening sealed to ``member``) of every pending trade
        awaiting ``member``'s affirmation as counterparty, by trade id."""
        trades = self.state.trades
        out = []
        for tid in sorted(self._pending_index().awaiting.get(member, ())):
            sealed = self.ledger.relay_get(tid, member)
            if sealed is not None:
                out.append((dict(trades[tid]), sealed))
        return out

    def default_event(self) -> dict | None:
        """The default event in progress (public data, a copy), else None."""
        return None if self.state.dm is None else _deepcopy_json(self.state.dm)

    def state_digest(self) -> str:
        """Hash of the full derived state (for restart comparisons):
        :func:`~clearing.fold.snapshot.state_hash`, from the kept rows."""
        return self._kept_rows().digest().hex()

    def expected_digest(self) -> bytes:
        """The cycle digest of :meth:`Core.expected_digest`, its state hash
        from the kept rows."""
        prev = bytes.fromhex(self.state.digests[-1]) if self.state.digests else bytes(32)
        return cycle_digest(self.state.cycle, prev, self.head, self._kept_rows().digest())
