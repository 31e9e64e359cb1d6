"""Regenerate the gRPC Python code in ``clearing/api/`` from ``proto/``.

    python -m clearing.api.codegen            # rewrite the committed modules
    python -m clearing.api.codegen --check    # exit 1 if they are stale
    python -m clearing.api.codegen --out DIR  # write into DIR instead

``protoc`` (from grpcio-tools, pinned to the same version as grpcio in
pyproject.toml; the script refuses any other) compiles every
``proto/zkclear/v1/*.proto`` with ``-I proto``, writing the messages, the
gRPC stubs and the typing stubs (``*_pb2.pyi``, for mypy and editors).  protoc names imports after
the proto package (``from zkclear.v1 import common_pb2``); the generated
modules are flattened into ``clearing/api/`` and those imports rewritten to
relative ones (``from . import common_pb2``), which is the only
post-processing.  The output is a pure function of the proto files and the
grpcio-tools version, so ``tests/test_service_codegen.py`` regenerates into
a temporary directory and fails when the committed code differs.  The
generated code is committed, so a fresh ``pip install -e .`` needs no build
step and no grpcio-tools at run time.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent.parent
PROTO_ROOT = REPO_ROOT / "proto"
PROTO_PACKAGE = ("zkclear", "v1")
_IMPORT_RE = re.compile(r"^from zkclear\.v1 import (\w+_pb2)", re.MULTILINE)


def proto_files(proto_root: Path = PROTO_ROOT) -> list[Path]:
    return sorted((proto_root.joinpath(*PROTO_PACKAGE)).glob("*.proto"))


def _check_versions() -> None:
    from importlib.metadata import version

    import grpc

    tools = version("grpcio-tools")
    if tools != grpc.__version__:
        raise SystemExit(f"grpcio-tools {tools} does not match grpcio {grpc.__version__}; "
                         "install grpcio-tools=={grpc.__version__}")


def generate(out_dir: Path, proto_root: Path = PROTO_ROOT) -> dict[str, bytes]:
    """Compile the protos; write the flattened modules into ``out_dir`` and
    return {file name: contents}."""
    _check_versions()
    import grpc_tools
    from grpc_tools import protoc

    files = proto_files(proto_root)
    if not files:
        raise SystemExit(f"no .proto files under {proto_root}")
    well_known = Path(grpc_tools.__file__).resolve().parent / "_proto"
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        args = ["protoc", f"-I{proto_root}", f"-I{well_known}", f"--python_out={tmp}",
                f"--grpc_python_out={tmp}", f"--pyi_out={tmp}"] + [str(f.relative_to(proto_root)) for f in files]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        gen = Path(tmp).joinpath(*PROTO_PACKAGE)
        for path in sorted([*gen.glob("*.py"), *gen.glob("*.pyi")]):
            text = _IMPORT_RE.sub(r"from . import \1", path.read_text(encoding="utf-8"))
            out[path.name] = text.encode("utf-8")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in out.items():
        (out_dir / name).write_bytes(data)
    return out


def stale(committed_dir: Path = PACKAGE_DIR) -> list[str]:
    """Names of generated modules whose committed copy differs (or is
    missing or extra)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
    bad = [n for n, data in fresh.items()
           if not (committed_dir / n).exists() or (committed_dir / n).read_bytes() != data]
    extra = [p.name for p in [*committed_dir.glob("*_pb2*.py"), *committed_dir.glob("*_pb2*.pyi")]
             if p.name not in fresh]
    return sorted(bad + extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clearing.api.codegen", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that the committed code is current")
    parser.add_argument("--out", type=Path, default=PACKAGE_DIR, help="output directory (default: clearing/api)")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        if bad:
            print("stale generated code: " + ", ".join(bad) + " (run python -m clearing.api.codegen)",
                  file=sys.stderr)
            return 1
        print("generated code is current")
        return 0
    written = generate(args.out)
    print(f"wrote {len(written)} modules to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
