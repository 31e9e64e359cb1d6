"""The committed generated gRPC code is exactly what ``python -m
clearing.api.codegen`` produces from ``proto/`` with the pinned grpcio-tools."""
from __future__ import annotations

import grpc

from clearing.api import codegen


def test_grpcio_tools_is_pinned_to_grpcio():
    from importlib.metadata import version

    assert version("grpcio-tools") == grpc.__version__
    text = (codegen.REPO_ROOT / "pyproject.toml").read_text()
    assert f'grpcio=={grpc.__version__}' in text and f'grpcio-tools=={grpc.__version__}' in text


def test_committed_code_is_current(tmp_path):
    fresh = codegen.generate(tmp_path)
    assert fresh, "no modules generated"
    for name, data in fresh.items():
        committed = codegen.PACKAGE_DIR / name
        assert committed.exists(), f"{name} is not committed"
        assert committed.read_bytes() == data, f"{name} is stale: run python -m clearing.api.codegen"
    assert codegen.stale() == []


def test_staleness_is_detected(tmp_path):
    """A changed proto makes the committed code stale (the check can fail)."""
    proto = tmp_path / "proto"
    for src in codegen.proto_files():
        dst = proto / src.relative_to(codegen.PROTO_ROOT)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(src.read_text())
    common = proto / "zkclear" / "v1" / "common.proto"
    common.write_text(common.read_text().replace("message Ack {\n  uint64 seq = 1;",
                                                 "message Ack {\n  uint64 seq = 1;\n  uint64 extra = 2;"))
    fresh = codegen.generate(tmp_path / "out", proto_root=proto)
    assert fresh["common_pb2.py"] != (codegen.PACKAGE_DIR / "common_pb2.py").read_bytes()


def test_generated_imports_are_package_relative():
    for path in codegen.PACKAGE_DIR.glob("*_pb2*.py"):
        assert "from zkclear.v1 import" not in path.read_text(), path.name
