"""``zkclear serve clearing|prover|auditor --config DIR [--port N]``: run one
node in the foreground over mutual TLS until SIGTERM or Ctrl-C (graceful
shutdown: calls in flight finish, new ones are refused).  The prover's
sealing key file: ``--prover-key FILE``, else ``$ZKCLEAR_PROVER_KEY``, else
``keys.prover_key`` of services.json; the prover refuses to start when the
file is inside a node's data directory or group/others may read or write it.
The prover proves margin batches on a Dask cluster with ``--dask
tls://HOST:PORT`` (``local:N``: an in-process LocalCluster of N worker
processes), else ``dask`` of services.json, else on its local process pool."""
from __future__ import annotations

from . import PORT, CommandError, add_config, float_in, setup_logging


def configure(parser) -> None:
    parser.description = __doc__.replace("``", "'")
    parser.add_argument("node", choices=["clearing", "prover", "auditor"], help="which node to run")
    add_config(parser)
    parser.add_argument("--port", type=PORT, help="port to listen on (default: from services.json; 0 = any)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    parser.add_argument("--prover-key", metavar="FILE",
                        help="the prover's sealing key file (prover only; default: $ZKCLEAR_PROVER_KEY, "
                             "else keys.prover_key of services.json)")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="prover only: prove margin batches on this Dask cluster, 'tls://HOST:PORT' or "
                             "'local:N' (default: 'dask' of services.json, else the local process pool)")
    parser.add_argument("--dask-deadline", metavar="SECONDS", type=float_in(0, 86400, "dask-deadline"),
                        help="prover only: seconds a Dask margin batch may take; members not proven by then "
                             "get no proof (default: 'dask_deadline' of services.json, else 540)")
    parser.add_argument("--grace", type=float_in(0, 3600, "grace"), default=5.0,
                        help="seconds calls in flight get to finish at SIGTERM (default 5)")


def run(args) -> int:
    setup_logging(args.log_level)
    if not 0 <= args.grace <= 3600:
        raise CommandError("--grace must be in [0, 3600] seconds")
    if args.node != "prover" and args.prover_key:
        raise CommandError("--prover-key applies to 'serve prover' only")
    if args.node != "prover" and (args.dask or args.dask_deadline is not None):
        raise CommandError("--dask and --dask-deadline apply to 'serve prover' only")
    if args.dask_deadline is not None and args.dask_deadline <= 0:
        raise CommandError("--dask-deadline must be positive")
    if args.node == "clearing":
        from clearing.services.clearing_service import serve as serve_clearing
        serve_clearing(args.config, port=args.port, host=args.host, grace=args.grace)
    elif args.node == "prover":
        from clearing.services.prover_service import serve as serve_prover
        serve_prover(args.config, port=args.port, host=args.host, grace=args.grace, key_path=args.prover_key,
                     dask=args.dask, dask_deadline=args.dask_deadline)
    else:
        from clearing.services.auditor import serve as serve_auditor
        serve_auditor(args.config, port=args.port, host=args.host, grace=args.grace)
    return 0
