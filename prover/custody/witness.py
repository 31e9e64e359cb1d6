"""The prover service's witness store: openings, replay of the public ledger,
and proofs of exactly what the ledger requires.

The store custodies the openings of every member of the default-fund group
(DESIGN §2).  It follows the clearing node's public events and applies each
one to its openings with the *same fold* the node applies to commitments
(:func:`clearing.fold.apply.apply_event` over :class:`OpeningAlgebra`), so after
every event each of its openings commits to the node's commitment -- unless
the node (or the store) diverged.  Before any proof about a member it
recomputes that member's commitments and compares them with the node's public
account (:meth:`WitnessStore.check`); on any difference it raises
:class:`Divergence` and proves nothing.

It is not an oracle.  It proves only what the replayed, signed ledger requires:

* trade receipts: for a trade that is pending in the ledger, after decrypting
  the relayed opening and checking it against T and the signed terms;
* default funding and withdrawals: only with the member's signature over the
  request (checked against the member's admitted identity key);
* margin: for the current cycle, after an operator-signed settlement, against
  that settlement's scenario set, once per cycle as a batch -- and re-proofs
  only for members the ledger shows as called.

Every request is appended to :attr:`WitnessStore.log` (kind, member, cycle,
outcome; never a value).  Openings live in memory here; the sealed SQLite
store comes with the services.  Nothing in this module prints or logs an
opening; :class:`~zkp.pedersen.Opening` hides itself in ``repr``.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from clearing.fold import headroom as headroom_fold
from clearing.fold import intraday as intraday_fold
from clearing.fold.apply import apply_event
from clearing.fold.intraday import margin_basis
from clearing.fold.state import PointAlgebra, State
from clearing.protocol import events as ev
from clearing.protocol import headroom, maintenance, signing
from clearing.protocol.contracts import CureProof, DefaultOpening, Disclosed, ProRataAllocation, WindowTotal
from clearing.protocol.encoding import canonical
from clearing.protocol.errors import InvalidArgument, shown
from clearing.protocol.events import parse
from clearing.protocol.fields import PROVER, STATUS_ACTIVE, STATUS_CALL, STATUS_DEFAULTED, STATUS_PAYMENT
from clearing.protocol.intraday import intraday_message
from clearing.protocol.messages import (
    TRADE_FIELDS,
    admission_message,
    assessment_payment_message,
    assessment_settlement_message,
    ccp_parameters_message,
    closeout_message,
    default_message,
    dm_open_message,
    epoch_message,
    funding_message,
    genesis_message,
    margin_batch_message,
    margin_proof_message,
    receipt_message,
    settlement_message,
    shares_message,
    trade_tuple,
    withdrawal_message,
)
from clearing.protocol.relay import OpeningError, RelayError, open_opening, relay_public_bytes
from clearing.protocol.statements import (
    CCP_CONTEXT,
    assessment_cash_statement,
    assessment_statement,
    disclosure_commitments,
    disclosure_statement,
    epoch_statement,
    funding_statement,
    margin_statement,
    shares_total_statement,
    snapshot_statement,
    withdrawal_statement,
)
from clearing.protocol.vm_gains import VM_PURPOSES
from prover.custody import headroom as custody_headroom
from prover.custody.df_sizing import window_unsized
from prover.custody.errors import Refused
from prover.custody.intraday import intraday_batch
from prover.custody.vm_gains import vm_gains_answer
from prover.distributed import DaskProver
from prover.headroom import prove_headroom
from prover.maintenance import maintenance_tier, prove_tiered
from prover.pool import ProverPool, shared_pool
from prover.statements import pro_rata_shares, prove, prove_reveals
from zkp.errors import ProvingError
from zkp.field import random_scalar, to_signed
from zkp.generators import generators
from zkp.pedersen import Opening, opening_combination
from zkp.statements import Context


def _plain(v):
    if isinstance(v, (bytes, bytearray)):
        return {"$b": bytes(v).hex()}
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _unplain(v):
    if isinstance(v, dict):
        if set(v) == {"$b"}:
            return bytes.fromhex(v["$b"])
        return {k: _unplain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_unplain(x) for x in v]
    return v


def step_name(step: tuple) -> str:
    """The canonical name of an aggregate step (its key at rest)."""
    return canonical(_plain(list(step))).decode()


def encode_answer(answer: dict) -> bytes:
    return canonical(_plain(answer))


def decode_answer(data: bytes) -> dict:
    return _unplain(json.loads(data))


def _ratio(scenario_set: dict) -> tuple[int, int] | None:
    """The set's maintenance ratio (issue 14 §2), or None."""
    t = maintenance.terms_of(scenario_set)
    return None if t is None else t.ratio


class Divergence(ProvingError):
    """The node's public commitments differ from the replayed openings."""


class OpeningAlgebra:
    """The fold's value algebra on openings (value, blinding) mod r.

    ``commitment(hex)`` resolves a commitment named in an event (a trade's T,
    a df contribution) to the opening this store holds for it; a commitment
    it has no opening for is a divergence."""

    def __init__(self, known: dict):
        self.known = known

    def zero(self):
        return Opening(0, 0)

    def public(self, amount: int):
        return Opening(amount, 0)

    def commitment(self, hexstr: str, what: str):
        op = self.known.get(hexstr)
        if op is None:
            raise Divergence(f"the ledger uses a {what} commitment this prover holds no opening for")
        return op

    def lincomb(self, values, coeffs):
        return opening_combination(values, coeffs)

    def encode(self, v) -> str:
        return generators().commit(v.value, v.blinding).encode().hex()


class WitnessStore:
    """Openings of all members, kept in step with the public ledger.

    ``signing_key``: the prover service's Ed25519 key (receipts, margin
    submissions); ``relay_key``: its X25519 key for sealed openings;
    ``operator_key``: the operator's raw Ed25519 public key, against which
    settlements, admissions and default declarations are checked."""

    #: processes proving the margin batch (None: prover.pool.default_workers());
    #: set on an instance to override
    workers: int | None = None
    #: the margin batch's executor (a prover.distributed.DaskProver); None:
    #: the shared local process pool
    executor: ProverPool | DaskProver | None = None

    def __init__(self, signing_key, relay_key, operator_key: bytes, *, rng=None, on_opening=None):
        self._sk = signing_key
        self._relay = relay_key
        self._operator = bytes(operator_key)
        self._rng = rng
        self._known: dict[str, Opening] = {}
        #: blindings of every opening held (trade openings with a blinding
        #: seen before are refused: T1 - T2 would reveal q1 - q2)
        self._blindings: set[int] = set()
        #: answers to the node-driven aggregate steps, by step name (see _answer)
        self.answers: dict[str, dict] = {}
        #: called as ``on_opening(commitment hex, opening)`` for every opening
        #: this store learns (not for adopted ones), e.g. to seal it at rest
        self.on_opening = on_opening
        self.alg = OpeningAlgebra(self._known)
        #: trade id -> the headroom debit of its last receipt (issue 14 §1)
        self.headroom_debits: dict[str, dict] = {}
        self.state = State()
        self.log: list[tuple[str, str, int, str]] = []
        #: called as ``on_answer(step name, encoded answer)`` when an aggregate
        #: step is answered for the first time (to record it at rest)
        self.on_answer: Callable[[str, bytes], None] | None = None

    def __repr__(self) -> str:
        return f"WitnessStore(seq={self.state.seq}, members={len(self.state.members)})"

    # -- identity -------------------------------------------------------------
    @property
    def public_key(self) -> bytes:
        return signing.public_key_bytes(self._sk)

    @property
    def relay_public(self) -> bytes:
        return relay_public_bytes(self._relay)

    def relay_binding(self) -> bytes:
        """The prover's X25519 key signed by its identity (for the genesis)."""
        return signing.sign_kem_key(self._sk, PROVER, self.relay_public)

    # -- openings -----------------------------------------------------------------
    def adopt_openings(self, openings: dict[str, Opening]) -> None:
        """Take openings learned before (e.g. reloaded from the sealed store);
        ``on_opening`` is not called for them."""
        self._known.update(openings)
        self._blindings.update(op.blinding for op in openings.values())

    def _learn(self, commitment: str, op: Opening) -> None:
        self._known[commitment] = op
        self._blindings.add(op.blinding)
        if self.on_opening is not None:
            self.on_opening(commitment, op)

    # -- following the ledger ---------------------------------------------------
    @property
    def seq(self) -> int:
        """Sequence number of the last ledger event followed."""
        return self.state.seq

    def members(self) -> list[str]:
        """The admitted members, sorted."""
        return sorted(self.state.members)

    def follow(self, events: Iterable[tuple[int, dict]]) -> int:
        """Apply new public events in order; returns the last sequence number.

        Checks the operator's signature on every event this store acts upon
        (genesis, admission, settlement, default declaration, close-out) and
        that the genesis names this prover's keys."""
        for seq, body in events:
            if seq <= self.state.seq:
                continue
            if seq != self.state.seq + 1:
                raise Divergence(f"missing ledger events before {seq}")
            try:
                event = parse(body)
            except InvalidArgument as exc:
                raise Divergence(f"the ledger's event {seq} is malformed: {exc}") from None
            self._check_event(event)
            apply_event(self.state, seq, event, self.alg)
        return self.state.seq

    def _op(self, msg: tuple[str, signing.Fields], sig_hex: str) -> None:
        kind, fields = msg
        try:
            signing.verify(self._operator, kind, fields, bytes.fromhex(sig_hex))
        except (signing.SignatureError, ValueError):
            raise Divergence("an operator signature in the ledger does not verify") from None

    def _check_event(self, e: ev.Event) -> None:
        """The operator's signature on the events this store acts upon, and
        the genesis naming this prover's keys."""
        if isinstance(e, ev.Genesis):
            keys = e.config["keys"]
            if (keys["operator"] != self._operator.hex() or keys["prover"] != self.public_key.hex()
                    or keys["prover_relay"] != self.relay_public.hex()):
                raise Divergence("the ledger's genesis names other operator or prover keys")
            self._op(genesis_message(e.config), e.op_sig)
        elif isinstance(e, ev.Admit):
            try:
                key, relay_key = bytes.fromhex(e.key), bytes.fromhex(e.relay_key)
            except ValueError:
                raise Divergence("an admission in the ledger has a malformed key") from None
            self._op(admission_message(e.member, key, relay_key), e.op_sig)
        elif isinstance(e, ev.Settle):
            try:
                set_id = bytes.fromhex(e.scenario_set["id"])
            except ValueError:
                raise Divergence("a settlement in the ledger has a malformed scenario set id") from None
            self._op(settlement_message(e.cycle, e.prices, set_id), e.op_sig)
            # the margin statements bind the set by its id: it must name this matrix and model (issue 13)
            ss = e.scenario_set
            if headroom.set_id_of(ss, self.state.instrument_ids()) != set_id:  # issue 14 §1/§2
                raise Divergence("a settlement's scenario set is not the one its signed id names")
        elif isinstance(e, ev.Intraday) and self.state.scenario_set is not None:  # issue 14 §1
            self._op(intraday_message(e.cycle, e.run, e.marks, bytes.fromhex(self.state.scenario_set["id"])),
                     e.op_sig)
        elif isinstance(e, ev.Default):
            self._op(default_message(e.cycle, e.member), e.op_sig)
        elif isinstance(e, ev.Liquidate):
            self._op(maintenance.liquidation_message(e.cycle, e.member, e.request_id), e.op_sig)
        elif isinstance(e, ev.CcpParams):
            self._op(ccp_parameters_message(e.cycle, e.skin_in_the_game_1, e.skin_in_the_game_2,
                                            e.assessment_cap_multiple, e.request_id), e.op_sig)
        elif isinstance(e, ev.DmCloseout):
            self._op(closeout_message(e.cycle, e.index, e.prices, e.lots), e.op_sig)

    def check(self, member: str, public_account: dict) -> None:
        """Compare this store's commitments for ``member`` with the node's
        public account (as returned by ``Engine.account``); Divergence if any
        differs, including the account version."""
        a = self.state.account(member)
        gens = generators()
        mine = [a.cash, a.df, *a.pos] + ([] if a.due is None else [a.due])
        theirs = [public_account["cash"], public_account["df"], *public_account["pos"]]
        if public_account.get("due") is not None:
            theirs.append(public_account["due"])
        if len(mine) != len(theirs) or public_account["version"] != a.version:
            raise Divergence(f"account of {shown(member)} diverged from the ledger")
        for op, h in zip(mine, theirs):
            if gens.commit(op.value, op.blinding).encode().hex() != h:
                raise Divergence(f"account of {shown(member)} diverged from the ledger")

    def _commitments(self, a):
        gens = generators()
        return gens.commit(a.cash.value, a.cash.blinding), [gens.commit(p.value, p.blinding) for p in a.pos]

    def _member_key(self, member: str) -> bytes:
        return bytes.fromhex(self.state.account(member).key)

    def _member_sig(self, member: str, msg: tuple[str, signing.Fields], sig: bytes) -> None:
        kind, fields = msg
        try:
            signing.verify(self._member_key(member), kind, fields, bytes(sig))
        except signing.SignatureError:
            self.log.append((msg[0], member, self.state.cycle, "refused: bad signature"))
            raise Refused("the member's signature on the request does not verify") from None

    # -- trades -----------------------------------------------------------------
    def receive_opening(self, trade_id: str, sealed: bytes) -> bytes:
        """Decrypt a relayed trade opening, check it against the ledger's
        pending trade (its T and signed terms) and sign the receipt."""
        t = self.state.trades.get(trade_id)
        if t is None or t["status"] != "pending":
            raise Refused(f"trade {shown(trade_id)} is not pending in the ledger")
        trade = {k: t[k] for k in TRADE_FIELDS}
        try:
            q, rho = open_opening(self._relay, sealed, trade_tuple(trade))
        except (RelayError, OpeningError):
            self.log.append(("receipt", trade_id, self.state.cycle, "refused: bad opening"))
            raise Refused("the relayed opening does not decrypt to a valid opening") from None
        op = Opening(q, rho)
        if generators().commit(op.value, op.blinding).encode().hex() != t["T"]:
            self.log.append(("receipt", trade_id, self.state.cycle, "refused: opening does not match T"))
            raise Refused("the relayed opening does not open the trade's commitment T")
        if t["T"] in self._known:
            self.log.append(("receipt", trade_id, self.state.cycle, "refused: T seen before"))
            raise Refused("this commitment was seen before")
        if rho == 0 or rho in self._blindings:
            # DESIGN §5.2: a reused blinding would let the node difference two
            # hidden sizes (T1 - T2 = (q1 - q2) G); the store holds every
            # blinding it ever learned (sealed at rest, so this survives restarts)
            self.log.append(("receipt", trade_id, self.state.cycle, "refused: blinding seen before"))
            raise Refused("the trade's blinding was used before; the initiator must commit with a fresh one")
        sig = self._receipt(trade_id, trade, op)  # refuses (exhausted) before the opening is kept
        self._learn(t["T"], op)
        self.log.append(("receipt", trade_id, self.state.cycle, "signed"))
        return sig

    def _receipt(self, trade_id: str, trade: dict, op: Opening) -> bytes:
        """The receipt signature; under a pre-trade set (issue 14 §1) with
        the headroom debit proof against both sides' current H, kept for
        :meth:`headroom_debit` (:mod:`prover.custody.headroom`); a side that
        would go negative: :class:`~prover.custody.headroom.HeadroomRefused`
        (the signed refusal) -- the prover never proves a false debit."""
        self.headroom_debits.pop(trade_id, None)
        if not headroom_fold.enabled(self.state):
            return signing.sign(self._sk, *receipt_message(trade))
        if not self.state.trades[trade_id]["affirmed"]:  # no reservation or refusal the counterparty did not agree to
            raise Refused("under a pre-trade set the headroom check follows the counterparty's affirmation")
        try:
            out = custody_headroom.receipt(self.state, self._sk, trade_id, trade, op, rng=self._rng)
        except custody_headroom.HeadroomRefused:
            self.log.append(("receipt", trade_id, self.state.cycle, "refused: headroom exhausted"))
            raise
        self.headroom_debits[trade_id] = out.debit
        return out.sig

    def headroom_debit(self, trade_id: str) -> dict | None:
        """The headroom debit {H_buyer, H_seller, proof} of the last receipt
        signed for ``trade_id`` (None without a pre-trade set): the receipt
        event carries it (issue 14 §1)."""
        d = self.headroom_debits.get(trade_id)
        return None if d is None else dict(d)

    def receipt_again(self, trade_id: str) -> bytes | None:
        """The receipt of a trade still pending in the ledger whose opening
        this store already holds (a retried push: the node crashed before
        booking the receipt), signed again; None when that is not the case."""
        t = self.state.trades.get(trade_id)
        if t is None or t["status"] != "pending" or t["T"] not in self._known:
            return None
        trade = {k: t[k] for k in TRADE_FIELDS}
        sig = self._receipt(trade_id, trade, self._known[t["T"]])  # re-proves against the current H
        self.log.append(("receipt", trade_id, self.state.cycle, "re-signed"))
        return sig

    # -- default funding --------------------------------------------------------
    def prepare_funding(self, member: str, amount: int):
        """Commit to a default-fund contribution (fresh blinding); returns the
        commitment C_df for the member to sign.  Nothing is proven yet."""
        self.state.account(member)
        if not 0 <= amount < 1 << 63:
            raise Refused("default-fund contribution out of range")
        op = Opening(amount, random_scalar(self._rng))
        C = generators().commit(op.value, op.blinding)
        self._learn(C.encode().hex(), op)
        return C

    def prove_funding(self, member: str, df_hex: str, epoch: int, request_id: str, sig: bytes,
                      public_account: dict) -> tuple[int, bytes]:
        """DefaultFunding proof for a member-signed funding request; returns
        (account version the proof is bound to, proof bytes)."""
        if df_hex not in self._known:
            raise Refused("no prepared contribution with this commitment")
        self._member_sig(member, funding_message(member, epoch, bytes.fromhex(df_hex), request_id), sig)
        self.check(member, public_account)
        a = self.state.account(member)
        new = self._known[df_hex]
        if to_signed(a.cash.value) + to_signed(a.df.value) - to_signed(new.value) < 0:
            self.log.append(("default-funding", member, self.state.cycle, "refused: would be insolvent"))
            raise Refused("the contribution exceeds what the account can fund (it would leave cash below zero)")
        gens = generators()
        cash, _ = self._commitments(a)
        st = funding_statement(self.state.cycle, a.version, member, cash,
                                 PointAlgebra().commitment(df_hex, "df"), epoch,
                                 gens.commit(a.df.value, a.df.blinding))
        proof = prove(st, [new, a.cash, a.df], rng=self._rng)
        self.log.append(("default-funding", member, self.state.cycle, "proved"))
        return a.version, proof.to_bytes()

    # -- margin -----------------------------------------------------------------
    def _require_margin_phase(self, cycle: int) -> dict:
        """The cycle's signed scenario set, when margin may be proven now."""
        scenario_set = self.state.scenario_set
        if cycle != self.state.cycle or self.state.phase != "margin" or scenario_set is None:
            raise Refused("margin is proven only for the current cycle after its signed settlement")
        return scenario_set

    def margin_batch(self, cycle: int, accounts: dict) -> tuple[list[dict], bytes]:
        """The cycle's margin proofs, released together: per member not in
        default, the full proof when it holds, else solvency-only, else no
        entry (a payment default candidate).  ``accounts`` maps member ->
        the node's public account; returns (entries, prover signature)."""
        scenario_set = self._require_margin_phase(cycle)
        if self.state.margin_done:
            raise Refused("the margin batch of this cycle was already submitted")
        entries = self.margin_entries(cycle, accounts, scenario_set, "margin")
        sig = signing.sign(self._sk, *margin_batch_message(cycle, entries))
        return entries, sig

    def margin_entries(self, cycle: int, accounts: dict, scenario_set: dict, kind: str) -> list[dict]:
        """Every member's margin entry over ``scenario_set`` (the signed set,
        or an intraday run's derived set): per member not in default, the full
        proof when it holds, else the maintenance or solvency-only tier, else
        none; under a pre-trade set a full one carries the headroom.  ``kind``
        names the step in the log."""
        jobs, mids = [], []
        for mid in sorted(self.state.members):
            a = self.state.members[mid]
            if a.status == STATUS_DEFAULTED:
                continue
            self.check(mid, accounts[mid])
            cash, pos = self._commitments(a)
            jobs.append((margin_statement(cycle, a.version, mid, cash, pos, scenario_set),
                         [a.cash, *a.pos]))
            mids.append((mid, a.version))
        # independent members: proved in the process pool (prover/pool.py)
        executor = self.executor or shared_pool(self.workers)
        results = executor.prove_margins(jobs, rng=self._rng)
        results = maintenance_tier(jobs, results, _ratio(scenario_set), rng=self._rng)  # issue 14 §2
        entries = []
        for k, ((mid, version), out) in enumerate(zip(mids, results)):
            if out is None:  # unproven (Dask deadline) = no entry, as insolvent
                self.log.append((kind, mid, cycle, "unproven: no proof by the deadline"
                                 if k in executor.last_unproven else "insolvent: no proof"))
                continue
            proved, proof = out
            self.log.append((kind, mid, cycle, "solvency-only" if proved.solvency_only else "full"))
            entry = {"member": mid, "solvency_only": proved.solvency_only, "ctx_seq": version, "proof": proof.hex()}
            if not proved.solvency_only and headroom.enabled(scenario_set):
                self._prove_headroom(cycle, mid, version, jobs[k][1], scenario_set, entry)  # issue 14 §1
            entries.append(entry)
        return entries

    def intraday_batch(self, cycle: int, run: int, accounts: dict) -> tuple[list[dict], bytes]:
        """An intraday run's batch (issue 14 §1, prover.custody.intraday)."""
        return intraday_batch(self, cycle, run, accounts)

    def _prove_headroom(self, cycle: int, mid: str, version: int, openings: list, scenario_set: dict,
                        entry: dict) -> None:
        """Issue 14 §1: the member's committed headroom H and its proof, into
        its margin entry; none (H = 0 at the fold) when it has no headroom."""
        a = self.state.members[mid]
        cash, pos = self._commitments(a)
        st = headroom.plain_margin(cycle, version, mid, cash, pos, scenario_set)
        try:
            hst, ho, proof = prove_headroom(st, openings, rng=self._rng)
        except ProvingError:
            self.log.append(("headroom", mid, cycle, "none"))
            return
        assert hst.headroom is not None
        H = hst.headroom.encode().hex()
        self._learn(H, ho)
        entry["headroom"] = {"H": H, "proof": proof.to_bytes().hex()}

    def cure_proof(self, member: str, public_account: dict) -> CureProof:
        """A re-proof for a member the ledger shows as called (after its cure
        deposit), as a :class:`~clearing.protocol.contracts.CureProof`.
        Refused when the member is not called; ProvingError when even
        solvency fails."""
        a = self.state.account(member)
        scenario_set = margin_basis(self.state) if intraday_fold.basis(self.state) else \
            self._require_margin_phase(self.state.cycle)  # issue 14 §1: an intraday call, on its basis
        if a.status not in (STATUS_CALL, STATUS_PAYMENT):
            raise Refused(f"member {shown(member)} is not called")
        self.check(member, public_account)
        cash, pos = self._commitments(a)
        st = margin_statement(self.state.cycle, a.version, member, cash, pos, scenario_set)
        proved, proof = prove_tiered(st, [a.cash, *a.pos], _ratio(scenario_set), rng=self._rng)
        if proved.solvency_only and a.status != STATUS_PAYMENT:
            self.log.append(("cure", member, self.state.cycle, "still short"))
            raise ProvingError("the full margin proof still fails")
        pb = proof.to_bytes()
        sig = signing.sign(self._sk, *margin_proof_message(self.state.cycle, member, proved.solvency_only,
                                                              a.version, pb))
        self.log.append(("cure", member, self.state.cycle, "solvency-only" if proved.solvency_only else "full"))
        return CureProof(self.state.cycle, member, proved.solvency_only, a.version, pb, sig)

    # -- withdrawals --------------------------------------------------------------
    def prove_withdrawal(self, member: str, amount: int, cycle: int, request_id: str, sig: bytes,
                         public_account: dict) -> tuple[int, bytes]:
        """Withdrawal proof (margin on cash - w) for a member-signed request;
        returns (account version, proof bytes)."""
        msg = withdrawal_message(member, amount, cycle, request_id)
        self._member_sig(member, msg, sig)
        a = self.state.account(member)
        if a.status != STATUS_ACTIVE or cycle != self.state.cycle or self.state.scenario_set is None:
            raise Refused("withdrawal not allowed for this member or cycle")
        self.check(member, public_account)
        cash, pos = self._commitments(a)
        st = withdrawal_statement(cycle, a.version, member, cash, pos, margin_basis(self.state), amount,
                                    signing.encode_tuple(*msg))
        proof = prove(st, [a.cash, *a.pos], rng=self._rng)
        self.log.append(("withdrawal", member, cycle, "proved"))
        return a.version, proof.to_bytes()

    # -- the node-driven aggregate steps: once per step, never at will -------------
    def _answer(self, step: tuple, make):
        """The answer to an aggregate step the ledger requires now.

        ``step`` names it completely (kind, window or event, and every input
        the answer depends on); the first request computes it with ``make()``
        and records it, a repeat returns the recorded answer unchanged (the
        node crashed before booking it, or a retry).  Anything the ledger does
        not require now is refused before this is reached (DESIGN §2: the
        prover is not an oracle)."""
        name = step_name(step)
        done = self.answers.get(name)
        if done is not None:
            self.log.append((step[0], "all", self.state.cycle, "recorded answer returned"))
            return done
        done = make()
        self.answers[name] = done
        if self.on_answer is not None:
            self.on_answer(name, encode_answer(done))
        return done

    def adopt_answers(self, recorded: dict[str, bytes]) -> None:
        """Take answers recorded before a restart (``on_answer``'s output)."""
        for name, data in recorded.items():
            self.answers[name] = decode_answer(data)

    def epoch_total(self, cycle: int, accounts: dict) -> WindowTotal:
        """Close the current funding window: open its default-fund total D
        over every member not in default (never a subset), only once every one
        of them has filed its contribution in this window (DESIGN §5.1), and
        only once per window.  Returns the
        :class:`~clearing.protocol.contracts.WindowTotal`."""
        s = self.state
        if cycle != s.cycle:
            self.log.append(("epoch-total", "all", cycle, "refused: not the current cycle"))
            raise Refused("the window total is opened in the current cycle only")
        if s.dm is not None or s.pending_defaults:
            self.log.append(("epoch-total", "all", cycle, "refused: default in progress"))
            raise Refused("a default event is in progress; the funding window cannot close")
        members = sorted(m for m, a in s.members.items() if a.status != STATUS_DEFAULTED)
        if not members or any(not s.members[m].funded for m in members):
            self.log.append(("epoch-total", "all", cycle, "refused: window not complete"))
            raise Refused("the funding window is not complete: the total is opened only when every member "
                          "not in default has filed its contribution")
        if window_unsized(s, members):  # issue 14 §4: every sizing filed first
            self.log.append(("epoch-total", "all", cycle, "refused: sizing not complete"))
            raise Refused("the funding window is not complete: a member has not filed its sizing")
        for m in members:
            self.check(m, accounts[m])
        gens = generators()
        ops = [s.members[m].df for m in members]
        dfs = [gens.commit(o.value, o.blinding) for o in ops]
        step = ("epoch-total", s.epoch, s.epoch_seq, tuple(members), tuple(c.encode() for c in dfs))

        def make():
            D = sum(to_signed(o.value) for o in ops)
            st = epoch_statement(s.epoch, s.epoch_seq, members, dfs, D)
            self.log.append(("epoch-total", "all", cycle, "opened D"))
            return {"epoch": s.epoch, "members": members, "D": D,
                    "proof": prove_reveals(st, ops, rng=self._rng).to_bytes()}

        ans = self._answer(step, make)
        sig = signing.sign(self._sk, *epoch_message(cycle, ans["epoch"], ans["members"], ans["D"], ans["proof"]))
        return WindowTotal(cycle, ans["epoch"], ans["members"], ans["D"], ans["proof"], sig)

    # -- default management -------------------------------------------------------
    def default_open(self, cycle: int, accounts: dict) -> DefaultOpening:
        """Disclose every declared defaulter (the operator's signed
        declarations are in the ledger) and open the survivors' snapshot total
        D0 over the full survivor set.  Returns the :class:`~clearing.protocol.contracts.DefaultOpening`."""
        s = self.state
        if cycle != s.cycle or not s.pending_defaults or s.dm is not None:
            self.log.append(("disclosure", "all", cycle, "refused: no declared default pending"))
            raise Refused("no declared default waiting to be processed")
        defaulters = sorted(s.pending_defaults)
        survivors = sorted(m for m, a in s.members.items() if a.status != STATUS_DEFAULTED)
        for m in defaulters + survivors:
            self.check(m, accounts[m])
        # contributions are frozen while a default is pending (the engine
        # refuses funding), so every answer for these declarations opens the
        # same D0; the step includes the ledger position the proofs bind
        step = ("default-open", cycle, s.seq, tuple(defaulters))
        ans = self._answer(step, lambda: self._default_open(cycle, defaulters, survivors))
        return DefaultOpening(ans["cycle"], ans["defaulters"], ans["survivors"], ans["D0"], ans["D0_proof"],
                              {m: Disclosed(d["values"], d["proof"]) for m, d in ans["disclosures"].items()},
                              ans["sig"])

    def _default_open(self, cycle: int, defaulters: list, survivors: list) -> dict:
        s = self.state
        gens = generators()
        ids = s.instrument_ids()
        disclosures = {}
        for m in defaulters:
            a = s.members[m]
            ops = disclosure_commitments(a)
            values = [to_signed(op.value) for op in ops]
            st = disclosure_statement(cycle, m, a, [gens.commit(op.value, op.blinding) for op in ops], values, ids)
            disclosures[m] = {"values": values, "proof": prove_reveals(st, ops, rng=self._rng).to_bytes()}
            self.log.append(("disclosure", m, cycle, "revealed"))
        D0, D0_proof = 0, b""
        if survivors:
            ops = [s.members[m].df for m in survivors]
            D0 = sum(to_signed(op.value) for op in ops)
            snap = snapshot_statement(cycle, s.seq, survivors, [gens.commit(o.value, o.blinding) for o in ops], D0)
            D0_proof = prove_reveals(snap, ops, rng=self._rng).to_bytes()
            self.log.append(("snapshot", "survivors", cycle, "opened D0"))
        sig = signing.sign(self._sk, *dm_open_message(cycle, defaulters, survivors, D0, disclosures, D0_proof))
        return {"cycle": cycle, "defaulters": defaulters, "survivors": survivors, "D0": D0, "D0_proof": D0_proof,
                "disclosures": disclosures, "sig": sig}

    def default_shares(self, purpose: str) -> ProRataAllocation:
        """The pro-rata allocation the ledger's default event is waiting for
        (after the operator's close-out): c_j = floor(R*df_j/D0) committed,
        proven, and their sum opened.  Returns the :class:`~clearing.protocol.contracts.ProRataAllocation`."""
        s = self.state
        ev = s.dm
        if ev is None or purpose not in ev.get("need", {}):
            self.log.append(("pro-rata", "all", s.cycle, "refused: nothing pending"))
            raise Refused("no such allocation is pending in the ledger")
        ans = self._answer(("pro-rata", ev["index"], ev["open_seq"], purpose, ev["need"][purpose]),
                           lambda: (vm_gains_answer(self, purpose) if purpose in VM_PURPOSES  # tranche 8
                                    else self._default_shares(purpose)))
        return ProRataAllocation(ans["cycle"], ans["index"], ans["purpose"], ans["R"], ans["shares"], ans["total"],
                                 ans["proof"], ans["total_proof"], ans["sig"])

    def _default_shares(self, purpose: str) -> dict:
        s = self.state
        ev = s.dm
        if ev is None:  # checked by default_shares; the event cannot vanish in between
            raise Refused("no default event in progress")
        gens = generators()
        R = ev["need"][purpose]
        survivors = ev["survivors"]
        df_ops = [s.dm_snapshot[m] for m in survivors]
        df_cs = [gens.commit(o.value, o.blinding) for o in df_ops]
        ctx = Context(s.cycle, ev["open_seq"], CCP_CONTEXT)
        st, proof, share_ops = pro_rata_shares(ctx, purpose.encode(), R, ev["D0"], [m.encode() for m in survivors],
                                               df_cs, df_ops, rng=self._rng)
        total = sum(to_signed(o.value) for o in share_ops)
        tst = shares_total_statement(s.cycle, ev["open_seq"], purpose, survivors, list(st.shares), total)
        total_proof = prove_reveals(tst, share_ops, rng=self._rng).to_bytes()
        shares = [p.encode().hex() for p in st.shares]
        for h, o in zip(shares, share_ops):
            self._learn(h, o)
        pb = proof.to_bytes()
        sig = signing.sign(self._sk, *shares_message(s.cycle, ev["index"], purpose, R, shares, total, pb, total_proof))
        self.log.append(("pro-rata", purpose, s.cycle, "proved"))
        return {"cycle": s.cycle, "index": ev["index"], "purpose": purpose, "R": R, "shares": shares,
                "total": total, "proof": pb, "total_proof": total_proof, "sig": sig}

    def due(self, member: str) -> int:
        """The member's committed assessment payable (private to it), 0 if none."""
        a = self.state.account(member)
        return 0 if a.due is None else to_signed(a.due.value)

    def prove_assessment_payment(self, member: str, index: int, amount: int, cycle: int, request_id: str,
                                 sig: bytes, public_account: dict) -> tuple[int, bytes]:
        """AssessmentSettlement proof (d - due >= 0) for a member-signed
        tagged deposit; returns (account version, proof bytes)."""
        msg = assessment_payment_message(member, index, amount, cycle, request_id)
        self._member_sig(member, msg, sig)
        a = self.state.account(member)
        if a.due is None or cycle != self.state.cycle:
            raise Refused("no assessment payable for this member")
        self.check(member, public_account)
        due_c = generators().commit(a.due.value, a.due.blinding)
        st = assessment_statement(cycle, a.version, member, due_c, amount, signing.encode_tuple(*msg))
        proof = prove(st, [a.due], rng=self._rng)
        self.log.append(("assessment", member, cycle, "proved"))
        return a.version, proof.to_bytes()

    def prove_assessment_from_cash(self, member: str, index: int, cycle: int, request_id: str, sig: bytes,
                                   public_account: dict) -> tuple[int, bytes]:
        """AssessmentFromCash proof (margin on cash - due) for a member-signed
        settlement from hidden cash; returns (account version, proof bytes).
        Refused when the account cannot afford it (the member then pays by a
        tagged public deposit instead)."""
        msg = assessment_settlement_message(member, index, cycle, request_id)
        self._member_sig(member, msg, sig)
        a = self.state.account(member)
        if a.due is None or cycle != self.state.cycle or self.state.scenario_set is None:
            raise Refused("no assessment payable for this member")
        self.check(member, public_account)
        gens = generators()
        cash, pos = self._commitments(a)
        st = assessment_cash_statement(cycle, a.version, member, cash, pos, margin_basis(self.state),
                                         gens.commit(a.due.value, a.due.blinding), signing.encode_tuple(*msg))
        try:
            proof = prove(st, [a.cash, *a.pos, a.due], rng=self._rng)
        except ProvingError:
            self.log.append(("assessment-from-cash", member, cycle, "refused: cash does not cover it"))
            raise Refused("the account's excess cash does not cover the assessment; pay by deposit") from None
        self.log.append(("assessment-from-cash", member, cycle, "proved"))
        return a.version, proof.to_bytes()

    # -- the member's own view (for the member and for tests) -------------------
    def balances(self, member: str) -> dict:
        """The member's opened account as signed integers (private data)."""
        a = self.state.account(member)
        out = {"cash": to_signed(a.cash.value), "df": to_signed(a.df.value),
               "pos": [to_signed(p.value) for p in a.pos]}
        if a.headroom is not None:  # issue 14 §1: the member's own pre-trade headroom
            out["headroom"] = to_signed(a.headroom.value)
        return out

    def vm(self, member: str) -> int:
        """The member's opened VM of the current cycle so far."""
        v = self.state.vm.get(member)
        return 0 if v is None else to_signed(v.value)


__all__ = ["WitnessStore", "OpeningAlgebra", "Divergence", "Refused"]
