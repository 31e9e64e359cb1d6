"""The signed message formats: canonical tuples (:mod:`clearing.protocol.signing`)
signed by members, the operator, the prover service and the node.  One
function per message kind returns ``(kind, [(field, value), ...])``; the
signature covers the canonical encoding of that tuple.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from clearing.protocol import signing
from clearing.protocol.encoding import canonical
from clearing.protocol.errors import (
    InvalidArgument,
)
from clearing.protocol.fields import AUCTION, _hexbytes, _int, sha256
from zkp.statements import (
    MAX_PUBLIC_AMOUNT,
)


def genesis_message(config: Mapping):
    return "genesis", [("config", canonical(config))]


def admission_message(member: str, key: bytes, relay_key: bytes):
    return "admission", [("member", member), ("key", bytes(key)), ("relay-key", bytes(relay_key))]


def deposit_message(member: str, amount: int, cycle: int, request_id: str):
    return "deposit", [("member", member), ("amount", amount), ("cycle", cycle), ("request-id", request_id)]


def funding_message(member: str, epoch: int, df: bytes, request_id: str):
    return "default-funding", [("member", member), ("epoch", epoch), ("df", bytes(df)), ("request-id", request_id)]


TRADE_FIELDS = ("trade_id", "cycle", "buyer", "seller", "instrument", "side", "price", "T")


def trade_message(trade: Mapping):
    """The signed trade tuple (DESIGN §5.2): trade id, cycle, buyer, seller,
    instrument, side (the initiator's), price, T."""
    return "trade", [
        ("trade-id", trade["trade_id"]), ("cycle", trade["cycle"]), ("buyer", trade["buyer"]),
        ("seller", trade["seller"]), ("instrument", trade["instrument"]), ("side", trade["side"]),
        ("price", trade["price"]), ("T", _hexbytes("T", trade["T"], 32)),
    ]


def trade_tuple(trade: Mapping) -> bytes:
    """Canonical bytes of the trade tuple: signed by the initiator, bound into
    the TradeValidity transcript and used as the relay's associated data."""
    return signing.encode_tuple(*trade_message(trade))


def affirmation_message(trade: Mapping, member: str):
    return "affirmation", [("trade-id", trade["trade_id"]), ("member", member), ("trade", sha256(trade_tuple(trade)))]


def receipt_message(trade: Mapping):
    return "prover-receipt", [("trade-id", trade["trade_id"]), ("trade", sha256(trade_tuple(trade)))]


def scenario_set_id(version: int, instruments: Sequence[str], matrix, model: Mapping | None = None) -> bytes:
    """The hash naming an operator's scenario set: its version, instrument
    ids and P&L matrix, and for a margin model other than the scan (issue
    13: ``{"kind": "es", "k": k}``) the model's kind and k -- so a set's id,
    which the settlement signature and every margin transcript bind, covers
    the model.  A scan set (no model) hashes as before models existed."""
    fields: list[tuple[str, signing.Value]] = [
        ("version", version), ("instruments", list(instruments)), ("matrix", [list(r) for r in matrix])]
    if model is not None and model.get("kind", "scan") != "scan":
        fields += [("model", model["kind"]), ("k", model["k"])]
    return sha256(signing.encode_tuple("scenario-set", fields))


def settlement_message(cycle: int, prices: Sequence[int], set_id: bytes):
    return "settlement", [("cycle", cycle), ("prices", list(prices)), ("scenario-set", bytes(set_id))]


def margin_batch_message(cycle: int, entries: Sequence[Mapping]):
    return "margin-batch", [("cycle", cycle), ("entries", [_margin_entry(e) for e in entries])]


def _margin_entry(e: Mapping) -> list:
    """One signed margin entry; an entry with a pre-trade headroom (issue 14
    §1) also covers its H and the hash of its headroom proof."""
    row = [e["member"], bool(e["solvency_only"]), e["ctx_seq"], sha256(_hexbytes("proof", e["proof"]))]
    if "headroom" in e:
        h = e["headroom"]
        row += [h["H"], sha256(_hexbytes("headroom proof", h["proof"]))]
    return row


def margin_proof_message(cycle: int, member: str, solvency_only: bool, ctx_seq: int, proof: bytes):
    return "margin-proof", [
        ("cycle", cycle), ("member", member), ("solvency-only", bool(solvency_only)),
        ("ctx-seq", ctx_seq), ("proof", sha256(bytes(proof))),
    ]


def withdrawal_message(member: str, amount: int, cycle: int, request_id: str):
    return "withdrawal", [("member", member), ("amount", amount), ("cycle", cycle), ("request-id", request_id)]


def default_message(cycle: int, member: str):
    return "default-declaration", [("cycle", cycle), ("member", member)]


def liquidation_message(cycle: int, member: str, request_id: str):
    """The operator's liquidation of a member that failed maintenance (issue
    14 §2; the request id in the tuple: a signature is used once)."""
    return "liquidation", [("cycle", cycle), ("member", member), ("request-id", request_id)]


def insolvency_message(cycle: int, member: str, reason: str):
    """The operator's insolvency declaration (issue 14 §4, clearing.protocol.df_sizing)."""
    return "insolvency-declaration", [("cycle", cycle), ("member", member), ("reason", reason)]


def df_size_message(member: str, epoch: int, request_id: str):
    """The member's request for its sizing filing of a window (issue 14 §4,
    clearing.protocol.df_sizing).  It does not cover C(m) and C(q): its
    prover makes them after the request, and the proofs bind them to the
    member (the statements' context) -- only the prover holding the
    member's openings can make them."""
    return "default-fund-sizing", [("member", member), ("epoch", epoch), ("request-id", request_id)]


def ccp_parameters_message(cycle: int, sitg1: int, sitg2: int, cap: int, request_id: str):
    """The operator's new skin-in-the-game tranches and assessment cap
    multiple (bound to the request id, so a signature is used once)."""
    return "ccp-parameters", [("cycle", cycle), ("skin-in-the-game-1", sitg1), ("skin-in-the-game-2", sitg2),
                              ("assessment-cap-multiple", cap), ("request-id", request_id)]


def digest_message(cycle: int, digest: bytes):
    return "cycle-digest", [("cycle", cycle), ("digest", bytes(digest))]


def dm_open_message(cycle: int, defaulters, survivors, D0: int, disclosures: Mapping, D0_proof: bytes):
    return "default-open", [
        ("cycle", cycle), ("defaulters", list(defaulters)), ("survivors", list(survivors)), ("D0", D0),
        ("disclosures", [[m, list(disclosures[m]["values"]), sha256(_hexbytes("proof", disclosures[m]["proof"]))]
                         for m in defaulters]),
        ("D0-proof", sha256(bytes(D0_proof))),
    ]


def epoch_message(cycle: int, epoch: int, members: Sequence[str], D: int, proof: bytes):
    return "default-fund-epoch", [("cycle", cycle), ("epoch", epoch), ("members", list(members)), ("D", D),
                                  ("proof", sha256(bytes(proof)))]


def closeout_message(cycle: int, index: int, prices: Sequence[int], lots: Sequence[Mapping]):
    """The operator's close-out and auction result: prices c and the public
    lots (winner, instrument, signed quantity = the winner's position change)."""
    return "close-out", [("cycle", cycle), ("event", index), ("prices", list(prices)),
                         ("lots", [[lot["winner"], lot["instrument"], lot["quantity"]] for lot in lots])]


def book_lots(disclosed_positions: dict, instrument_ids: Sequence[str]) -> list[dict]:
    """Every defaulter position to the public auction book (the oracle's model
    of winners outside the member set): one lot per instrument."""
    totals = [sum(p[i] for p in disclosed_positions.values()) for i in range(len(instrument_ids))]
    return [{"winner": AUCTION, "instrument": iid, "quantity": q} for iid, q in zip(instrument_ids, totals) if q]


def shares_message(cycle: int, index: int, purpose: str, R: int, shares: Sequence[str], total: int,
                   proof: bytes, total_proof: bytes):
    return "pro-rata-shares", [
        ("cycle", cycle), ("event", index), ("purpose", purpose), ("R", R),
        ("shares", [bytes.fromhex(h) for h in shares]), ("total", total),
        ("proof", sha256(bytes(proof))), ("total-proof", sha256(bytes(total_proof))),
    ]


def assessment_payment_message(member: str, index: int, amount: int, cycle: int, request_id: str):
    return "assessment-payment", [("member", member), ("event", index), ("amount", amount), ("cycle", cycle),
                                  ("request-id", request_id)]


def assessment_settlement_message(member: str, index: int, cycle: int, request_id: str):
    """The member's request to settle its assessment payable from hidden cash."""
    return "assessment-from-cash", [("member", member), ("event", index), ("cycle", cycle),
                                    ("request-id", request_id)]


#: the CCP's parameters: genesis ``config.ccp`` keys and ``ccp-params`` fields
CCP_PARAMETERS = ("skin_in_the_game_1", "skin_in_the_game_2", "assessment_cap_multiple")
#: optional genesis ``config.ccp`` keys (absent means 0): the insurance
#: fund's initial CCP allocation (tranche 3); the cooling-off period after a
#: default, in cycles, and the cap on the assessment multiples summed over it
CCP_OPTIONAL = ("insurance_fund", "cooling_off_cycles", "assessment_total_cap_multiple",
                # default-fund sizing and Cover-2 (clearing.protocol.df_sizing)
                "df_size_num", "df_size_den", "cover2_tau", "stress_scenarios")


def _check_ccp_parameters(p: Mapping) -> None:
    """Bounds of the CCP's parameters (genesis and ``ccp-params``)."""
    _int("skin_in_the_game_1", p["skin_in_the_game_1"], 0, MAX_PUBLIC_AMOUNT)
    _int("skin_in_the_game_2", p["skin_in_the_game_2"], 0, MAX_PUBLIC_AMOUNT)
    _int("assessment_cap_multiple", p["assessment_cap_multiple"], 0, 1 << 8)
    if "insurance_fund" in p:
        _int("insurance_fund", p["insurance_fund"], 0, MAX_PUBLIC_AMOUNT)
    if "cooling_off_cycles" in p:
        _int("cooling_off_cycles", p["cooling_off_cycles"], 0, 1 << 16)
    if "assessment_total_cap_multiple" in p:
        _int("assessment_total_cap_multiple", p["assessment_total_cap_multiple"], 0, 1 << 8)
    from clearing.protocol.df_sizing import check_parameters  # its module imports this one
    check_parameters(p)


def _verify_sig(key_hex: str, msg, sig_hex, who: str) -> None:
    kind, fields = msg
    try:
        signing.verify(bytes.fromhex(key_hex), kind, fields, _hexbytes("signature", sig_hex, 64))
    except (signing.SignatureError, signing.KeyFormatError, signing.EncodingError):
        raise InvalidArgument(f"signature of {who} does not verify") from None
