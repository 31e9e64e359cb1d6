"""docs/wire.md is current: its generated sections are exactly what
``python -m clearing.services.wiredoc`` renders from the code, every signed
message kind, event kind, statement and RPC appears in it, and the generator
refuses when the hand-written notes and the code disagree."""
from __future__ import annotations

import re

import pytest

from clearing.protocol import events, signing
from clearing.services import wiredoc, wiredoc_rpcs, wiredoc_samples
from clearing.services.wiredoc import WireDocError

DOC = wiredoc.DOC.read_text(encoding="utf-8")


def test_doc_is_current():
    assert wiredoc.render(DOC) == DOC, "docs/wire.md is stale: run python -m clearing.services.wiredoc"
    assert not wiredoc.stale()
    assert wiredoc.main(["--check"]) == 0


def test_staleness_is_detected(tmp_path, capsys):
    stale = DOC.replace("| `deposit` |", "| `deposit-old` |", 1)
    assert stale != DOC
    path = tmp_path / "wire.md"
    path.write_text(stale, encoding="utf-8")
    assert wiredoc.stale(path)
    assert wiredoc.main(["--check", "--doc", str(path)]) == 1
    assert "stale" in capsys.readouterr().err
    assert wiredoc.main(["--doc", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == DOC


def test_markers_are_required_once_each():
    begin = "<!-- wiredoc:begin messages -->"
    with pytest.raises(WireDocError):
        wiredoc.render(DOC.replace(begin, "", 1))
    section = re.search(r"<!-- wiredoc:begin rpcs -->.*?<!-- wiredoc:end rpcs -->\n", DOC, re.S)
    assert section is not None
    with pytest.raises(WireDocError):
        wiredoc.render(DOC + section.group(0))


def _generated(name: str) -> str:
    m = re.search(rf"<!-- wiredoc:begin {name} -->\n(.*?)<!-- wiredoc:end {name} -->", DOC, re.S)
    assert m is not None, name
    return m.group(1)


def test_every_signed_kind_is_documented_with_its_fields_in_order():
    text = _generated("messages")
    for s in wiredoc_samples.message_samples():
        kind, fields = s.build()
        heading = f"#### `{kind}`" + (f" ({s.variant})" if s.variant else "") + "\n"
        block = text.split(heading, 1)[1].split("####", 1)[0]
        assert re.findall(r"^\| \d+ \| `([^`]+)` \|", block, re.M) == [n for n, _ in fields], kind


def test_every_event_kind_is_documented_with_its_fields_in_order():
    text = _generated("events")
    for kind, cls in events.EVENTS.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{kind}` |"))
        fields = re.findall(r"`([A-Za-z0-9_]+)` ", row.split("|")[2])
        assert fields == [n for n in cls._shapes if n not in cls._optional], kind  # optional: in variants


def test_every_rpc_of_the_protos_is_documented():
    text = _generated("rpcs")
    for name, meth in wiredoc.proto_rpcs():
        assert f"**{meth.name}**(`{meth.input_type.name}`)" in text, name
        for code, _ in wiredoc_rpcs.RPC_NOTES[name].codes:
            assert f"`{code}`" in text


def test_every_statement_is_documented():
    text = _generated("statements")
    classes = wiredoc.statement_classes()
    assert len(classes) >= 9
    for cls in classes:
        assert f"#### {cls.__name__} (`{cls.KIND.decode()}`" in text
        assert f'Transcript("zkclear.v1/{cls.KIND.decode()}")' in text


def test_statement_transcripts_list_every_bound_label():
    """Each label a statement's _bind appends (read from the source) is listed."""
    import inspect

    text = _generated("statements")
    for cls in wiredoc.statement_classes():
        block = text.split(f"#### {cls.__name__} (", 1)[1].split("####", 1)[0]
        for klass in cls.__mro__:
            for meth in ("_bind", "_bind_extra"):
                if meth in vars(klass):
                    for label in re.findall(r't\.append_\w+\(b"([^"]+)"', inspect.getsource(vars(klass)[meth])):
                        assert f"'{label}'" in block, (cls.__name__, label)


def test_constants_section_quotes_the_code():
    text = _generated("constants")
    for name, value, _ in wiredoc.constants():
        assert f"| {name} | {value} |" in text
    from zkp.generators import GENERATOR_SET_ID

    assert GENERATOR_SET_ID.hex() in text


def test_tuple_annotation_matches_the_encoder_for_every_sample():
    for s in wiredoc_samples.message_samples():
        kind, fields = s.build()
        pieces = wiredoc.annotate_tuple(kind, fields)
        assert b"".join(b for b, _ in pieces) == signing.encode_tuple(kind, fields)


def test_an_undocumented_rpc_is_refused(monkeypatch):
    notes = dict(wiredoc_rpcs.RPC_NOTES)
    del notes["ClearingService.Deposit"]
    monkeypatch.setattr(wiredoc_rpcs, "RPC_NOTES", notes)
    with pytest.raises(WireDocError, match=r"ClearingService\.Deposit"):
        wiredoc.render_rpcs()


def test_a_note_for_no_rpc_is_refused(monkeypatch):
    notes = dict(wiredoc_rpcs.RPC_NOTES, **{"ClearingService.Gone": wiredoc_rpcs.RpcNote("x", ())})
    monkeypatch.setattr(wiredoc_rpcs, "RPC_NOTES", notes)
    with pytest.raises(WireDocError, match=r"ClearingService\.Gone"):
        wiredoc.render_rpcs()


def test_an_unknown_status_code_is_refused(monkeypatch):
    notes = dict(wiredoc_rpcs.RPC_NOTES)
    notes["ClearingService.Deposit"] = wiredoc_rpcs.RpcNote("x", (("NOT_A_CODE", "never"),))
    monkeypatch.setattr(wiredoc_rpcs, "RPC_NOTES", notes)
    with pytest.raises(WireDocError, match="NOT_A_CODE"):
        wiredoc.render_rpcs()


def test_a_signed_kind_without_a_note_is_refused(monkeypatch):
    notes = dict(wiredoc.MESSAGE_NOTES)
    del notes["deposit"]
    monkeypatch.setattr(wiredoc, "MESSAGE_NOTES", notes)
    with pytest.raises(WireDocError, match="deposit"):
        wiredoc.render_messages()


def test_a_field_note_for_no_field_is_refused(monkeypatch):
    notes = dict(wiredoc.FIELD_NOTES)
    notes["deposit", "gone"] = "x"
    monkeypatch.setattr(wiredoc, "FIELD_NOTES", notes)
    with pytest.raises(WireDocError, match="gone"):
        wiredoc.render_messages()


def test_an_event_kind_without_a_note_is_refused(monkeypatch):
    notes = dict(wiredoc.EVENT_NOTES)
    del notes["close"]
    monkeypatch.setattr(wiredoc, "EVENT_NOTES", notes)
    with pytest.raises(WireDocError):
        wiredoc.render_events()


def test_readme_links_the_wire_spec():
    readme = (wiredoc.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/wire.md)" in readme
    assert "tests/vectors/wire" in readme
