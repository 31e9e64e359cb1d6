"""README.md's "Scripting a member in Python" snippet stays true: it is
extracted from the README and run, twice, against a clearing node and a
prover service listening on the endpoints of its ``zkclear init`` directory
(services.json), after the operator admitted the members.  The second run
applies nothing (every call carries its request id): one trade, the same
positions.  The names it uses are what ``clearing.clients`` exports."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

import clearing.clients
from clearing.api import clearing_pb2
from clearing.clients import Operator, Participant, ThinParticipant
from clearing.services import clearing_service, prover_service
from clearing.services import config as services_config
from clearing.services.pki import load_config, load_identity
from support.processes import configure
from support.services import CCP, INSTRUMENTS

README = Path(__file__).resolve().parent.parent / "README.md"
CONFIG_LINE = re.compile(r'^CONFIG = "[^"]*"', re.M)


def snippet() -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"^## Scripting a member in Python\n(.*?)(?=^## )", text, re.S | re.M)
    assert m, "README has no 'Scripting a member in Python' section"
    blocks = re.findall(r"```python\n(.*?)```", m.group(1), re.S)
    assert len(blocks) == 1, "the section should hold exactly one python example"
    assert CONFIG_LINE.search(blocks[0]), "the example should name its directory as CONFIG = \"...\""
    return blocks[0]


@pytest.fixture
def nodes(tmp_path):
    d = tmp_path / "cfg"
    configure(d, ("A", "B"), INSTRUMENTS, CCP)
    port = lambda s: int(services_config.endpoint(d, s).rsplit(":", 1)[1])  # noqa: E731
    clearing, _ = clearing_service.create_server(d, port=port("clearing"), feed_port=port(services_config.FEED),
                                                 prover_target=services_config.endpoint(d, "prover"))
    prover, _ = prover_service.create_server(d, port=port("prover"), clearing_target=clearing.resource.feed_target)
    try:
        yield d
    finally:
        prover.stop(0)
        clearing.stop(0)


def run(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})  # our own README
    return out.getvalue()


def test_the_readme_snippet_runs_and_runs_again(nodes):
    code = CONFIG_LINE.sub(f"CONFIG = {str(nodes)!r}", snippet())
    with Operator(load_identity(nodes, "operator"), load_config(nodes),
                  services_config.endpoint(nodes, "clearing")) as op:
        op.admit_all()
    first = run(code)
    assert "'pos': [25, 0]" in first and first.rstrip().endswith("[-25, 0]")
    with clearing.clients.connect(nodes, "B", thin=True) as b:
        assert isinstance(b, ThinParticipant)
        seq = b.ledger_status().seq
        second = run(code)
        assert second == first
        assert b.ledger_status().seq == seq  # nothing applied twice
        t = b.clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id="T-1"))
        assert t.status == "novated" and t.trade.buyer == "A"


def test_the_api_the_readme_names_exists():
    section = README.read_text(encoding="utf-8").split("## Scripting a member in Python", 1)[1].split("\n## ", 1)[0]
    for name in ("Participant", "ThinParticipant", "Operator", "TradeRejected", "connect"):
        assert name in clearing.clients.__all__ and hasattr(clearing.clients, name), name
    for method in re.findall(r"`(\w+)`", section.split("The client API", 1)[1].split("### Thin members", 1)[0]):
        if method[0].islower() and method not in ("clearing", "request_id", "expect", "connect"):
            assert hasattr(Participant, method), method
