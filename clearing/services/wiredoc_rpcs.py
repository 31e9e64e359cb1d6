"""Who may call each RPC and the status codes it answers besides the common
ones -- the hand-written half of docs/wire.md's RPC table.

The other half (services, methods, request and response types, streaming,
whether a request carries a ``request_id``) is read from the compiled protos
by :mod:`clearing.services.wiredoc`, which refuses to render while an RPC of
the protos has no entry here or an entry names no RPC (so a new RPC cannot
go undocumented: tests/test_wire_doc.py fails).

Every RPC may also answer the *common* codes of :data:`COMMON_CODES`; the
entries below list only what is specific to the RPC.  Codes are names of
``grpc.StatusCode``.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Codes any RPC may answer, and when (the doc prints them once).
COMMON_CODES: tuple[tuple[str, str], ...] = (
    ("UNAUTHENTICATED", "the TLS client certificate does not match the configured party (role, name and "
                        "Ed25519 identity key); a client without a certificate of the CA fails the handshake "
                        "before any status"),
    ("PERMISSION_DENIED", "the authenticated caller may not call this RPC, or not for this member"),
    ("INVALID_ARGUMENT", "the request does not decode as its protobuf message, or an integer is out of its "
                         "range (every unsigned field < 2^63; amounts >= 1), or a field is malformed"),
    ("RESOURCE_EXHAUSTED", "more than MAX_PENDING_RPCS calls in flight at the server, a request over "
                           "MAX_MESSAGE_BYTES (an answer over it, or over MAX_BULK_BYTES on the bulk flows), "
                           "or a full disk (nothing applied; retry with the same request id)"),
    ("UNAVAILABLE", "the server is down or shutting down, a database is busy, or a downstream service "
                    "(the prover, for the clearing node) failed; safe to retry with the same request id"),
    ("DEADLINE_EXCEEDED", "the caller's deadline expired (the request may nevertheless have been applied: "
                          "retry with the same request id)"),
    ("DATA_LOSS", "the node's ledger or the prover's sealed store is damaged"),
)

MEMBER_SELF = "member (for itself)"
OPERATOR = "operator"
NODE = "node/clearing"
PROVER = "node/prover"
ANY = "any authenticated party"


@dataclass(frozen=True)
class RpcNote:
    callers: str
    codes: tuple[tuple[str, str], ...]
    note: str = ""


_IDEM = ("ALREADY_EXISTS", "the request id was used before for a different request")
_CYCLE = ("FAILED_PRECONDITION", "the request is for another cycle than the ledger's, or the ledger's phase "
                                 "does not allow it now")
_VERIFY = ("INVALID_ARGUMENT", "a signature or proof does not verify, or an encoding is not canonical")
_DEADLINE_V = ("DEADLINE_EXCEEDED", "answered at once, before verifying, when the deadline leaves less than "
                                    "VERIFY_TIME")
_DEADLINE_P = ("DEADLINE_EXCEEDED", "answered at once, before proving, when the deadline leaves less than "
                                    "PROVE_TIME")
_UNKNOWN = ("NOT_FOUND", "unknown member")
_PROVER_DOWN = ("UNAVAILABLE", "the prover service cannot be reached or failed")
_PROVER_REFUSED = ("FAILED_PRECONDITION", "the prover refuses (the replayed ledger does not require this step "
                                          "now, or its alarm is raised)")
_ALARM = ("FAILED_PRECONDITION", "the prover's alarm is raised (it refuses to prove), or the replayed ledger "
                                 "does not allow the request (wrong cycle, stale state, member not active, "
                                 "the statement is false)")
_REFUSED = ("FAILED_PRECONDITION", "the prover refuses: the member's signature on the request does not verify, "
                                   "the replayed ledger does not allow the request (wrong cycle or epoch, stale "
                                   "state, member not active), the statement is false (e.g. the member's excess "
                                   "does not cover it), or the prover's alarm is raised")
_STALE = ("FAILED_PRECONDITION", "the proof is for a stale account version (ctx_seq), the member is not "
                                 "active, or the phase does not allow it")

RPC_NOTES: dict[str, RpcNote] = {
    # -- ClearingService ------------------------------------------------------------
    "ClearingService.Register": RpcNote(
        f"{MEMBER_SELF}, whose certificate carries `identity_key`; or {OPERATOR}",
        (_VERIFY, ("ALREADY_EXISTS", "the member id or identity key is already admitted, or the request id was "
                                     "used for another request"),
         ("FAILED_PRECONDITION", "the member limit is reached"))),
    "ClearingService.SubmitTrade": RpcNote(
        "the initiating member (the buyer when `side` = SIDE_BUY, else the seller)",
        (_VERIFY, _DEADLINE_V, _UNKNOWN,
         ("ALREADY_EXISTS", "the trade id or the commitment T was used before (under another request id), "
                            "or the request id names another request"),
         ("FAILED_PRECONDITION", "another cycle, a party not active, or the trade-count bound reached")),
        "A retry under the same request id with the same public terms returns the recorded trade (T and the "
        "proof may be fresh). The status is `pending` until the prover's receipt and the affirmation are "
        "booked, then `novated`."),
    "ClearingService.AffirmTrade": RpcNote(
        f"{MEMBER_SELF}: the counterparty of the trade",
        (_VERIFY, ("NOT_FOUND", "unknown trade"),
         ("PERMISSION_DENIED", "the member is not the trade's counterparty"),
         ("ALREADY_EXISTS", "the trade is already affirmed under another request id"),
         ("FAILED_PRECONDITION", "the trade is no longer pending (novated or expired), or a party is called or "
                                 "defaulted"))),
    "ClearingService.GetTrade": RpcNote(ANY, (("NOT_FOUND", "unknown trade"),)),
    "ClearingService.RetryTrade": RpcNote(
        f"{MEMBER_SELF}: the trade's buyer or seller",
        (("NOT_FOUND", "unknown trade"),
         ("PERMISSION_DENIED", "the member is not a side of the trade"),
         ("FAILED_PRECONDITION", "the trade is not pending or was not refused for lack of pre-trade headroom, "
                                 "or the prover refuses to answer for it (its status passed on)"),
         ("UNAVAILABLE", "the prover service did not answer, or its answer was for a headroom that moved "
                         "meanwhile (the trade stays pending and nothing pushes it later; ask again)")),
        "Issue 14 §1: the node pushes a refused trade to the prover once more and books its answer -- the "
        "receipt (the trade novates) or a new `pretrade-refusal` against the current headroom; asking again "
        "against the same headroom gives the recorded refusal. Nothing else re-pushes a refused trade."),
    "ClearingService.StreamPendingTrades": RpcNote(
        MEMBER_SELF, (("RESOURCE_EXHAUSTED", "a following stream beyond the per-member or total limit of "
                                             "following streams"),
                      ("UNAVAILABLE", "a following stream ends with it when the node stops")),
        "The trades pending the caller's affirmation, each with the opening sealed to it. Without metadata a "
        "finite stream (the current set). With the call metadata `zkclear-follow: 1` the stream sends the "
        "current set, then each new pending trade once it is durably recorded, until the client cancels; a "
        "stream that falls behind its bounded queue re-sends the current set (a reader skips trade ids it "
        "has seen)."),
    "ClearingService.Deposit": RpcNote(
        MEMBER_SELF, (_VERIFY, _IDEM, _UNKNOWN,
                      ("FAILED_PRECONDITION", "another cycle, the member is in default, or the ledger's public "
                                              "deposits would reach 2^63"))),
    "ClearingService.FundDefault": RpcNote(
        MEMBER_SELF, (_VERIFY, _DEADLINE_V, _IDEM, _UNKNOWN,
                      ("FAILED_PRECONDITION", "another epoch, already filed in this window, not the trading "
                                              "phase, a default in progress, a stale ctx_seq, or the member is "
                                              "not active"))),
    "ClearingService.FileSizing": RpcNote(
        MEMBER_SELF, (_VERIFY, _DEADLINE_V, _IDEM, _UNKNOWN,
                      ("FAILED_PRECONDITION", "the CCP parameters ask for no sizing, another epoch, no FundDefault "
                                              "of the member in this window, already filed, not the trading "
                                              "phase, a default in progress, a stale ctx_seq, or the member is "
                                              "not active"),
                      ("INVALID_ARGUMENT", "sizing parts present without a sizing fraction, or a Cover-2 proof "
                                           "without a stress set"))),
    "ClearingService.GetCover2Report": RpcNote(ANY, (), "Public: one window per closed funding window "
                                                         "(issue 14 §4); empty without a stress set."),
    "ClearingService.Withdraw": RpcNote(
        MEMBER_SELF, (_VERIFY, _DEADLINE_V, _IDEM, _UNKNOWN,
                      ("FAILED_PRECONDITION", "another cycle, no scenario set yet, an unpaid assessment, a stale "
                                              "ctx_seq, or the member is called or defaulted"))),
    "ClearingService.PayAssessment": RpcNote(MEMBER_SELF, (_VERIFY, _DEADLINE_V, _IDEM, _UNKNOWN, _STALE)),
    "ClearingService.SettleAssessment": RpcNote(MEMBER_SELF, (_VERIFY, _DEADLINE_V, _IDEM, _UNKNOWN, _STALE)),
    "ClearingService.RequestCure": RpcNote(
        MEMBER_SELF, (_PROVER_REFUSED, _PROVER_DOWN, _DEADLINE_P,
                      ("FAILED_PRECONDITION", "the member is not called")),
        "The node asks the prover for the re-proof (request id derived from the member's)."),
    "ClearingService.GetAccount": RpcNote(ANY, (_UNKNOWN,)),
    "ClearingService.GetLedgerStatus": RpcNote(ANY, ()),
    "ClearingService.StreamLedger": RpcNote(
        ANY, (), "Events after `since` (exclusive), in order; also served on the ledger feed port to "
                 f"{PROVER} only.  An event (a margin batch carries every member's proof) may exceed "
                 "MAX_MESSAGE_BYTES: the node sends up to MAX_BULK_BYTES, which the prover's and the "
                 "auditor's channels accept (other clients' channels stop at MAX_MESSAGE_BYTES)."),
    # -- AdminService ---------------------------------------------------------------------
    "AdminService.Admit": RpcNote(OPERATOR, (_VERIFY, ("ALREADY_EXISTS", "the member id or identity key is "
                                                                         "already admitted"),
                                             ("FAILED_PRECONDITION", "the member limit is reached"))),
    "AdminService.Settle": RpcNote(
        OPERATOR, (_VERIFY, _IDEM, ("INVALID_ARGUMENT", "not one price per instrument, a price off the tick, a "
                                                        "malformed scenario set or one whose version goes back, "
                                                        "or inline rows with `staged_rows`"),
                   ("FAILED_PRECONDITION", "another cycle, the cycle is already settled, or with `staged_rows` "
                                           "no complete staging of the cycle")),
        "With `staged_rows` the rows are the ones staged by StageScenarioRows; the set, its id and the "
        "signature are checked as for an inline set (the same ledger event)."),
    "AdminService.StageScenarioRows": RpcNote(
        OPERATOR, (("INVALID_ARGUMENT", "total_rows not 1..MAX_SCENARIOS, no rows, a chunk ending after "
                                        "total_rows, a row not one P&L per instrument, or another total_rows "
                                        "than the staging's"),
                   ("FAILED_PRECONDITION", "another cycle than the ledger's or the staging's, a gap (rows are "
                                           "staged in order from first_row 0), or re-sent rows that differ")),
        "Issue 13 §2: stages a chunk of a scenario set too large for one Settle request (over "
        "MAX_MESSAGE_BYTES) in the node's memory -- not in the ledger, lost on a restart; first_row 0 starts "
        "a new staging; re-sent chunks are idempotent.  Ack.seq is the ledger's head (nothing is appended)."),
    "AdminService.RunMargin": RpcNote(
        OPERATOR, (_CYCLE, _PROVER_REFUSED, _PROVER_DOWN, _DEADLINE_P, _VERIFY),
        "Once per cycle after settlement; a retry replays the recorded results."),
    "AdminService.IntradayRun": RpcNote(
        OPERATOR, (_CYCLE, _IDEM, _PROVER_REFUSED, _PROVER_DOWN, _DEADLINE_P, _VERIFY,
                   ("FAILED_PRECONDITION", "not the trading phase, no scenario set settled yet, a default event "
                                           "in progress, or not the next run number (the previous run's batch "
                                           "not booked yet)"),
                   ("INVALID_ARGUMENT", "marks not one per instrument, not positive, above MAX_PRICE or off the "
                                        "tick; an ES set or a set with maintenance terms (intraday runs are "
                                        "defined for scan sets without them)")),
        "Issue 14 §1: books the operator-signed marks (event intraday), obtains the run's batch from the "
        "prover (ProveIntraday), verifies and classifies it as a margin batch over the derived set (event "
        "intraday-batch; the pre-trade headroom is reset).  A retry with the same request id replays the "
        "recorded results."),
    "AdminService.DeclareDefault": RpcNote(OPERATOR, (_VERIFY, _IDEM, _CYCLE, _UNKNOWN)),
    "AdminService.DeclareInsolvency": RpcNote(
        OPERATOR, (_VERIFY, _IDEM, _UNKNOWN,
                   ("INVALID_ARGUMENT", "the reason is empty, longer than 256 characters or not printable"),
                   ("FAILED_PRECONDITION", "another cycle, the member is already in default, or a default event "
                                           "is in progress"))),
    "AdminService.Liquidate": RpcNote(
        OPERATOR, (_VERIFY, _IDEM, _UNKNOWN,
                   ("FAILED_PRECONDITION", "another cycle, no margin run under a set with maintenance terms, the "
                                           "member has not failed maintenance this cycle, or a default event is "
                                           "in progress"))),
    "AdminService.SetCcpParameters": RpcNote(
        OPERATOR, (_VERIFY, _IDEM, ("FAILED_PRECONDITION", "another cycle, or a default is declared or in "
                                                           "progress"))),
    "AdminService.OpenEpoch": RpcNote(
        OPERATOR, (_PROVER_REFUSED, _PROVER_DOWN, _DEADLINE_P, _VERIFY,
                   ("FAILED_PRECONDITION", "a member not in default has not filed in the window, or a default "
                                           "is in progress"))),
    "AdminService.OpenDefaultEvent": RpcNote(OPERATOR, (_PROVER_REFUSED, _PROVER_DOWN, _DEADLINE_P, _VERIFY)),
    "AdminService.GetDefaultEvent": RpcNote(OPERATOR, ()),
    "AdminService.CloseOut": RpcNote(
        OPERATOR, (_VERIFY, _IDEM, _CYCLE, _PROVER_REFUSED, _PROVER_DOWN, _DEADLINE_P,
                   ("ABORTED", "the pro-rata allocations did not complete in 8 rounds; retry with the same "
                               "request id"))),
    "AdminService.CloseCycle": RpcNote(
        OPERATOR, (("FAILED_PRECONDITION", "not after settlement and the margin batch, open margin calls, a "
                                           "default event not finished, or unpaid assessments"),),
        "A retry under the same request id returns the first close's digest, even after the cycle advanced."),
    "AdminService.GetDefaultReports": RpcNote(OPERATOR, ()),
    # -- ProverService --------------------------------------------------------------------
    "ProverService.PushOpening": RpcNote(
        NODE, (("FAILED_PRECONDITION", "the trade is not pending in the replayed ledger, the sealed opening "
                                       "does not open or does not open T, T or the blinding was seen before, "
                                       "under a pre-trade set the counterparty has not affirmed yet (issue 14 "
                                       "§1), or the prover's alarm is raised"),),
        "Idempotent per trade id: a repeated push re-signs the same receipt (a refused trade, pushed again on a "
        "side's RetryTrade, is answered against the current headroom)."),
    "ProverService.PrepareFunding": RpcNote(f"{MEMBER_SELF} or {NODE}", (_ALARM,),
                                            "Idempotent per (member, request id): a repeat returns the same "
                                            "commitment."),
    "ProverService.ProveFunding": RpcNote(f"{MEMBER_SELF} or {NODE}", (_REFUSED, _DEADLINE_P),
                                          "Changes no ledger state: the member submits the proof with "
                                          "FundDefault (the same for the other Prove* RPCs of members)."),
    "ProverService.ProveWithdrawal": RpcNote(f"{MEMBER_SELF} or {NODE}", (_REFUSED, _DEADLINE_P)),
    "ProverService.ProveSizing": RpcNote(
        f"{MEMBER_SELF} or {NODE}", (_REFUSED, _DEADLINE_P),
        "Also FAILED_PRECONDITION when the contribution is below f*m or the stress loss beyond cash exceeds tau "
        "(issue 14 §4); the member submits the filing with FileSizing."),
    "ProverService.ProveAssessmentPayment": RpcNote(f"{MEMBER_SELF} or {NODE}", (_REFUSED, _DEADLINE_P)),
    "ProverService.ProveAssessmentFromCash": RpcNote(
        f"{MEMBER_SELF} or {NODE}", (_REFUSED, _DEADLINE_P),
        "FAILED_PRECONDITION when the member's excess does not cover the payable: it then pays by a tagged "
        "deposit (PayAssessment)."),
    "ProverService.ProveMargin": RpcNote(
        NODE, (_ALARM, _DEADLINE_P), "The answer (every member's margin proof) may be up to MAX_BULK_BYTES."),
    "ProverService.ProveIntraday": RpcNote(
        NODE, (_ALARM, _DEADLINE_P),
        "Issue 14 §1: only for the intraday run the replayed ledger awaits; answered once per run and ledger "
        "position (a repeat returns the recorded batch).  Up to MAX_BULK_BYTES, as ProveMargin."),
    "ProverService.ProveCure": RpcNote(NODE, (_ALARM, _DEADLINE_P)),
    "ProverService.ProveDefaultOpen": RpcNote(NODE, (_ALARM, _DEADLINE_P),
                                              "Answered once when the ledger requires it; a repeat returns the "
                                              "recorded answer."),
    "ProverService.ProveDefaultShares": RpcNote(NODE, (_ALARM, _DEADLINE_P),
                                                "Answered once per pending allocation; a repeat returns the "
                                                "recorded answer."),
    "ProverService.GetBalances": RpcNote(MEMBER_SELF, (_ALARM,)),
    "ProverService.ProveEpochTotal": RpcNote(NODE, (_ALARM, _DEADLINE_P),
                                             "Once per funding window, when every member not in default filed."),
    "ProverService.GetProverStatus": RpcNote(ANY, ()),
    "ProverService.PrepareTrade": RpcNote(
        "the initiating member itself (mTLS identity = `member`)",
        (("INVALID_ARGUMENT", "malformed terms: quantity outside [1, 2^32), price outside [1, 2^40) or off the "
                              "instrument's tick, side unspecified, the counterparty equal to the member, a "
                              "malformed trade id or request id"),
         ("NOT_FOUND", "an instrument the ledger lacks"),
         ("ALREADY_EXISTS", "other terms under a prepared trade id, a request id reused for another trade id, "
                            "or a trade id the ledger holds without a record here"),
         ("FAILED_PRECONDITION", "another cycle than the replayed ledger's, the member or the counterparty not "
                                 "admitted or not active, the trade-count bound reached, the member's prepared "
                                 "and unsubmitted trades of the cycle at their bound (section 1), or the "
                                 "prover's alarm"),
         _DEADLINE_P),
        "Thin members: the prover makes T, the TradeValidity proof and both sealed openings; the member checks "
        "`trade_tuple` against its terms, signs it (kind `trade`) and calls SubmitTrade. One commitment per "
        "trade id, ever: a repeat with the same terms (under any request id) returns the recorded answer, "
        "also after the cycle closed; a refusal records nothing."),
    "ProverService.CheckAffirmation": RpcNote(
        "the trade's counterparty itself",
        (("INVALID_ARGUMENT", "a malformed trade id"),
         ("NOT_FOUND", "a trade the replayed ledger lacks"),
         ("PERMISSION_DENIED", "the caller is not the trade's counterparty (the initiator included)"),
         ("FAILED_PRECONDITION", "the trade is not pending"),
         ("UNAVAILABLE", "the prover holds no checked opening of the trade yet (the node pushes it with the "
                         "trade and retries until the receipt is booked): retry")),
        "Thin members, read only: the trade's row, the quantity T opens to and the `affirmation` tuple bytes "
        "for the member to compare with its terms and sign."),
    # -- AuditorService ------------------------------------------------------------------
    "AuditorService.Audit": RpcNote(ANY, (("UNAVAILABLE", "the clearing node cannot be read"),),
                                    "A failed audit is an answer (`ok` false, `error`), not a status."),
}

__all__ = ["COMMON_CODES", "RPC_NOTES", "RpcNote"]
