"""Strict readers of the scenario format (:mod:`clearing.ccp.scenario`):
the error type and the typed field readers, split out of the format module.

Format rules enforced here (the scenario module names the fields):
* JSON is parsed strictly (:func:`parse_json`): a float, ``NaN``/
  ``Infinity`` or a duplicate key in an object is a :class:`ScenarioError`
  (``json`` would otherwise turn ``1e3`` into a float and keep the last of two
  duplicate keys);
* an integer field is an ``int`` -- never a ``bool``, ``float`` or numeric
  string -- within its half-open range [lo, hi) (:func:`read_int`);
* strings, lists and objects are checked for their type, length and (for
  objects) exactly their required and optional keys, so a typo cannot pass
  (:func:`read_str`, :func:`read_list`, :func:`read_obj`).
Every error message names the offending field by its path
(``members[2].cash: expected an integer, got float 1.5``).

Imports nothing of the house.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Set
from typing import Any


class ScenarioError(ValueError):
    """A scenario file or dict is malformed; the message names the field."""


def type_name(v: Any) -> str:
    return type(v).__name__


def read_int(v: Any, path: str, lo: int, hi: int) -> int:
    """An int (not bool, not float, not str) with lo <= v < hi."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise ScenarioError(f"{path}: expected an integer, got {type_name(v)} {v!r}")
    if not lo <= v < hi:
        raise ScenarioError(f"{path}: {v} is outside [{lo}, {hi})")
    return v


def read_str(v: Any, path: str, *, allow_empty: bool = True, max_len: int | None = None) -> str:
    if not isinstance(v, str):
        raise ScenarioError(f"{path}: expected a string, got {type_name(v)} {v!r}")
    if not allow_empty and not v:
        raise ScenarioError(f"{path}: must not be empty")
    if max_len is not None and len(v) > max_len:
        raise ScenarioError(f"{path}: longer than {max_len} characters")
    return v


def read_list(v: Any, path: str, *, min_len: int = 0, max_len: int | None = None,
              exact: int | None = None) -> list:
    if not isinstance(v, (list, tuple)):
        raise ScenarioError(f"{path}: expected a list, got {type_name(v)}")
    if exact is not None and len(v) != exact:
        raise ScenarioError(f"{path}: expected {exact} entries, got {len(v)}")
    if len(v) < min_len:
        raise ScenarioError(f"{path}: expected at least {min_len} entries, got {len(v)}")
    if max_len is not None and len(v) > max_len:
        raise ScenarioError(f"{path}: at most {max_len} entries allowed, got {len(v)}")
    return list(v)


def read_obj(v: Any, path: str, required: set[str], optional: Set[str] = frozenset()) -> Mapping:
    if not isinstance(v, Mapping):
        raise ScenarioError(f"{path}: expected an object, got {type_name(v)}")
    for k in v:
        if not isinstance(k, str):
            raise ScenarioError(f"{path}: non-string key {k!r}")
    missing = sorted(required - set(v))
    if missing:
        raise ScenarioError(f"{path}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(v) - required - set(optional))
    if unknown:
        raise ScenarioError(f"{path}: unknown field(s) {', '.join(unknown)}")
    return v


def _reject_float(s: str):
    raise ScenarioError(f"floats are not allowed in a scenario (found {s})")


def _reject_constant(s: str):
    raise ScenarioError(f"{s} is not allowed in a scenario")


def _no_duplicate_keys(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ScenarioError(f"duplicate key {k!r} in a JSON object")
        out[k] = v
    return out


def parse_json(text: str) -> dict:
    """Parse scenario JSON strictly: floats, NaN/Infinity and duplicate keys
    are errors (``json`` would otherwise silently turn 1e3 into a float and
    keep the last of two duplicate keys)."""
    try:
        return json.loads(text, parse_float=_reject_float, parse_constant=_reject_constant,
                          object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as e:
        raise ScenarioError(f"invalid JSON: {e}") from None


__all__ = ["ScenarioError", "type_name", "read_int", "read_str", "read_list", "read_obj", "parse_json"]
