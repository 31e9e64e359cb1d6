"""``zkclear audit --config DIR``: stream the clearing node's public ledger,
re-verify every signature, proof, decision and digest, and compare with the
node's reported head and state.  Exit 0 when the audit passes and the node
agrees, 1 otherwise."""
from __future__ import annotations

from . import CommandError, add_config, rpc_errors


def configure(parser) -> None:
    parser.description = __doc__.replace("``", "'")
    add_config(parser)
    parser.add_argument("--as", dest="identity", default="auditor",
                        help="party whose certificate to use (default: auditor)")
    parser.add_argument("--target", help="clearing node host:port (default: from services.json)")


def run(args) -> int:
    from clearing.services import config as services_config
    from clearing.services.auditor import audit_node
    from clearing.services.pki import load_config, load_identity

    roster = load_config(args.config)
    identity = load_identity(args.config, args.identity)
    target = args.target or services_config.endpoint(args.config, "clearing")
    with rpc_errors("clearing node"):
        res = audit_node(identity, roster, target, watermark=services_config.data_path(args.config, "auditor_mark"))
    print(res.summary())
    if not res.ok:
        raise CommandError(res.error)
    return 0 if res.node_agrees else 1
