"""Reading the YAML files Hydra writes (.hydra/*.yaml, multirun.yaml), flattened to dotted keys.

Sweeps hold thousands of small, regular files in the block style OmegaConf writes; a small
cached reader takes those line by line and hands anything unusual to PyYAML's C loader, which
gives the same values (a hypothesis test checks it). `flatten` also flattens results.json.
Reads text only; no torch, no Hydra.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
_NOT_SIMPLE = object()  # "this text needs the full YAML parser"
_SCALAR_TYPES = (str, int, float, bool, type(None))
_SCALAR_TYPE_SET = frozenset(_SCALAR_TYPES)
# Sweeps repeat the same few hundred lines and values: each is parsed once per process.
_SCALAR_CACHE: dict[str, Any] = {}
_LINE_CACHE: dict[str, Any] = {}
_CACHE_LIMIT = 200_000
_ITEM, _VALUE, _OPEN, _EMPTY_LIST, _EMPTY_MAP = range(5)
# Scalars whose YAML reading is certain without PyYAML: decimal ints (no octal-looking leading
# zeros, no underscores) and words starting with a letter that are not YAML's booleans/nulls.
_DECIMAL = re.compile(r"(?:0|-?[1-9][0-9]*)\Z")
_PLAIN_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.=,/+\-]*\Z")
_YAML_WORDS = frozenset(
    f(word)
    for word in ("yes", "no", "true", "false", "on", "off", "null")
    for f in (str.lower, str.title, str.upper)
)


def _scalar(raw: str) -> Any:
    """One single-line YAML scalar exactly as PyYAML's safe loader reads it, or _NOT_SIMPLE."""
    try:
        return _SCALAR_CACHE[raw]
    except KeyError:
        pass
    if not raw or raw[0] in "|>&*!%@`{[]},#" or (raw[0] in "-?:" and raw[1:2] in ("", " ")):
        return _NOT_SIMPLE
    quoted = raw[0] in "'\""
    if quoted and (len(raw) < 2 or raw[-1] != raw[0]):
        return _NOT_SIMPLE  # a quoted string wrapped over several lines
    if not quoted and (": " in raw or " #" in raw or raw.endswith(":")):
        return _NOT_SIMPLE
    if _DECIMAL.match(raw):
        value: Any = int(raw)
    elif _PLAIN_WORD.match(raw) and raw not in _YAML_WORDS:
        value = raw  # no YAML resolver claims it: a string, without building a loader
    else:
        try:
            value = yaml.load(raw, Loader=YamlLoader)
        except yaml.YAMLError:
            return _NOT_SIMPLE
    if type(value) not in _SCALAR_TYPE_SET:
        return _NOT_SIMPLE  # dates, binary, anything that is not a plain scalar
    if len(_SCALAR_CACHE) > _CACHE_LIMIT:
        _SCALAR_CACHE.clear()
    _SCALAR_CACHE[raw] = value
    return value


def _parse_line(line: str) -> tuple[int, int, str | None, Any] | None:
    """(indent, kind, key, value) of one line of block YAML, or None if it is not that simple."""
    stripped = line.lstrip(" ")
    indent = len(line) - len(stripped)
    if stripped.startswith("- "):
        value = _scalar(stripped[2:])
        return None if value is _NOT_SIMPLE else (indent, _ITEM, None, value)
    key, sep, raw = stripped.partition(": ")
    if not sep:
        if not stripped.endswith(":"):
            return None
        key, raw = stripped[:-1], ""
    if not _PLAIN_KEY.match(key) or _scalar(key) != key:
        return None
    if not raw:
        return (indent, _OPEN, key, None)
    if raw == "[]":
        return (indent, _EMPTY_LIST, key, None)
    if raw == "{}":
        return (indent, _EMPTY_MAP, key, None)
    value = _scalar(raw)
    return None if value is _NOT_SIMPLE else (indent, _VALUE, key, value)


def flatten_simple_yaml(text: str) -> dict[str, Any] | None:
    """`flatten(yaml.safe_load(text))` for the block YAML that OmegaConf and PyYAML dump
    (nested mappings of plain keys, indentless sequences of one-line scalars, [] and {}), or
    None for any other text. Several times faster than PyYAML's C loader on a Hydra config:
    each top-level entry is parsed once per process, and a sweep's jobs share most of them."""
    out: dict[str, Any] = {}
    entries = _TOP_LEVEL_ENTRY.split(text.rstrip("\n"))
    for entry in entries:
        try:
            flat = _ENTRY_CACHE[entry]
        except KeyError:
            flat = _flatten_simple_block(entry)
            if len(_ENTRY_CACHE) > _CACHE_LIMIT:
                _ENTRY_CACHE.clear()
            _ENTRY_CACHE[entry] = flat
        if flat is None:
            return None
        out.update(flat)
    if len({entry.partition(":")[0] for entry in entries}) != len(entries):
        return None  # a top-level key given twice: let PyYAML decide
    return out


# A new top-level entry starts at a line that begins with neither a space nor "-".
_TOP_LEVEL_ENTRY = re.compile(r"\n(?=[^ \n-])")
_ENTRY_CACHE: dict[str, dict[str, Any] | None] = {}


def _flatten_simple_block(text: str) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    seen: set[str] = set()
    prefixes = [(0, "")]  # (indent, dotted prefix) of the open mappings
    pending: tuple[int, str] | None = None  # a "key:" line waiting for its block
    items: list[Any] | None = None
    items_indent, items_name = 0, ""
    for line in text.splitlines():
        parsed = _LINE_CACHE.get(line)
        if parsed is None:
            parsed = _parse_line(line)
            if parsed is None:
                return None
            if len(_LINE_CACHE) > _CACHE_LIMIT:
                _LINE_CACHE.clear()
            _LINE_CACHE[line] = parsed
        indent, kind, key, value = parsed
        if kind == _ITEM:
            if pending is not None and indent == pending[0]:
                items, items_indent, items_name, pending = [], indent, pending[1], None
            elif items is None or indent != items_indent:
                return None
            items.append(value)
            continue
        if items is not None:
            out[items_name] = list_cell(items_name, items)
            items = None
        if pending is not None:
            if indent == pending[0] + 2:
                prefixes.append((indent, pending[1] + "."))
            else:
                out[pending[1]] = None  # "key:" with nothing under it is null
            pending = None
        while prefixes[-1][0] > indent:
            prefixes.pop()
        if prefixes[-1][0] != indent:
            return None
        name = prefixes[-1][1] + key
        if name in seen:
            return None
        seen.add(name)
        if kind == _VALUE:
            out[name] = value
        elif kind == _OPEN:
            pending = (indent, name)
        elif kind == _EMPTY_LIST:
            out[name] = ""
    if items is not None:
        out[items_name] = list_cell(items_name, items)
    if pending is not None:
        out[pending[1]] = None
    return out if seen else None


def flatten_yaml(text: str) -> dict[str, Any]:
    """A YAML mapping as flat dotted columns (see `flatten`); {} if the text is no mapping."""
    flat = flatten_simple_yaml(text)
    if flat is None:
        loaded = yaml.load(text, Loader=YamlLoader)
        flat = flatten(loaded, {}) if isinstance(loaded, dict) else {}
    return flat


def load_yaml_list(text: str) -> list[Any]:
    """A top-level YAML sequence such as .hydra/overrides.yaml ([] if it is not one)."""
    items = []
    for line in text.splitlines():
        value = _scalar(line[2:]) if line.startswith("- ") else _NOT_SIMPLE
        if value is _NOT_SIMPLE:
            loaded = yaml.load(text, Loader=YamlLoader)
            return loaded if isinstance(loaded, list) else []
        items.append(value)
    return items


# --- flattening -------------------------------------------------------------------------------


def list_cell(name: str, values: list[Any]) -> str:
    """One readable, comparable string for a list: "1x3x2" for a shape, "a,b,c" otherwise."""
    if all(type(v) is str for v in values):
        return ",".join(values)
    types = set(map(type, values))
    if types <= _SCALAR_TYPE_SET:
        if types == {int} and name.startswith("shapes."):
            return "x".join(map(str, values))
        return ",".join(map(str, values))
    return json.dumps(values, default=str)


def flatten(
    obj: dict[Any, Any],
    out: dict[str, Any],
    prefix: str = "",
    skip: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Nested mappings into `out` with dotted keys; lists become one string (see list_cell)."""
    for key, value in obj.items():
        name = prefix + str(key)
        if name in skip:
            continue
        kind = type(value)
        if kind is dict:
            flatten(value, out, name + ".", skip)
        elif kind is list:
            out[name] = list_cell(name, value)
        elif kind in _SCALAR_TYPE_SET:
            out[name] = value
        else:
            out[name] = str(value)
    return out
