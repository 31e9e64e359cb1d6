"""``zkclear participant --config DIR --name A ACTION``: act as clearing
member A over mutual TLS with A's certificate, signing with A's key.

Actions: status, deposit AMOUNT, fund AMOUNT, withdraw AMOUNT, trade
(initiate), pending (trades awaiting A's affirmation, decrypted and
checked), affirm TRADE_ID, cure AMOUNT, pay-assessment INDEX AMOUNT.
Amounts are integers in minor units.  Pass --request-id to retry a request
safely: it is applied once, and a retry -- after a lost reply, an
UNAVAILABLE or a DEADLINE_EXCEEDED, which may have been applied -- prints
the recorded result, whatever happened since."""
from __future__ import annotations

import json

from . import AMOUNT, INDEX, NONNEGATIVE_AMOUNT, PRICE, QUANTITY, CommandError, add_actions, add_config, rpc_errors


def configure(parser) -> None:
    parser.description = __doc__.replace("``", "'")
    add_config(parser)
    parser.add_argument("--name", required=True, help="the member to act as")
    sub = add_actions(parser)
    sub.add_parser("status", help="public account status and own opened balances")
    for name, help_text in (("deposit", "deposit AMOUNT (public)"),
                            ("fund", "file the default-fund contribution AMOUNT (the new total) "
                                     "in the open funding window, out of cash"),
                            ("withdraw", "withdraw AMOUNT (the prover proves margin on cash - AMOUNT)"),
                            ("cure", "deposit AMOUNT and ask for the re-proof of a margin call")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("amount", type=NONNEGATIVE_AMOUNT if name == "fund" else AMOUNT)
    t = sub.add_parser("trade", help="initiate a trade with a counterparty")
    t.add_argument("--id", required=True, help="trade id")
    t.add_argument("--with", dest="counterparty", required=True, help="counterparty member")
    t.add_argument("--instrument", required=True)
    t.add_argument("--side", choices=["buy", "sell"], required=True, help="this member's side")
    t.add_argument("--qty", type=QUANTITY, required=True, help="quantity (contracts, hidden)")
    t.add_argument("--price", type=PRICE, required=True, help="price in price units (public)")
    sub.add_parser("pending", help="trades awaiting this member's affirmation")
    a = sub.add_parser("affirm", help="affirm a pending trade after checking it")
    a.add_argument("trade_id")
    a.add_argument("--qty", type=QUANTITY, help="the agreed quantity (checked against the opening)")
    a.add_argument("--price", type=PRICE, help="the agreed price (checked)")
    pa = sub.add_parser("pay-assessment", help="pay the assessment of default event INDEX")
    pa.add_argument("index", type=INDEX)
    pa.add_argument("amount", type=AMOUNT)


def run(args) -> int:
    from clearing.clients.participant import Participant, TradeRejected
    from clearing.services import config as services_config
    from clearing.services.pki import load_config, load_identity

    roster = load_config(args.config)
    identity = load_identity(args.config, args.name)
    if identity.role != "member":
        raise CommandError(f"{args.name!r} is not a member")
    seen = services_config.party_data_dir(args.config, args.name) / "seen.json"
    target = services_config.endpoint(args.config, "clearing")
    p = Participant(identity, roster, target, services_config.endpoint(args.config, "prover"), seen_path=seen)
    rid = args.request_id
    try:
        with rpc_errors(f"clearing node {target} or prover service"):
            if args.action == "status":
                print(json.dumps(p.status(), indent=2))
            elif args.action == "deposit":
                print(f"deposited {args.amount}: ledger event {p.deposit(args.amount, request_id=rid)}")
            elif args.action == "fund":
                print(f"funded default fund {args.amount}: ledger event {p.fund(args.amount, request_id=rid)}")
            elif args.action == "withdraw":
                print(f"withdrew {args.amount}: ledger event {p.withdraw(args.amount, request_id=rid)}")
            elif args.action == "cure":
                print(f"cure submitted: ledger event {p.cure(args.amount, request_id=rid)}")
            elif args.action == "pay-assessment":
                print(f"assessment paid: ledger event {p.pay_assessment(args.index, args.amount, request_id=rid)}")
            elif args.action == "trade":
                res = p.trade(args.id, args.counterparty, args.instrument, args.side, args.qty, args.price,
                              request_id=rid)
                print(f"trade {args.id}: {res.status}")
            elif args.action == "pending":
                for c in p.pending():
                    t = c.trade
                    other = t["buyer"] if t["seller"] == p.name else t["seller"]
                    mine = "sell" if t["seller"] == p.name else "buy"
                    print(f"{t['trade_id']}: {mine} {c.quantity} {t['instrument']} @ {t['price']} with {other} "
                          f"(cycle {t['cycle']})")
            elif args.action == "affirm":
                expect = {k: v for k, v in (("quantity", args.qty), ("price", args.price)) if v is not None}
                try:
                    res = p.affirm(args.trade_id, expect=expect, request_id=rid)
                except TradeRejected as exc:
                    raise CommandError(str(exc)) from None
                print(f"trade {args.trade_id}: {res.status}")
    finally:
        p.close()
    return 0
