"""Ultralytics' `data.yaml` (a YOLO dataset's classes and image folders), written and read by hand in the
small subset YOLO datasets use: top-level `key: value` lines; `names` as a list or an index-to-name mapping,
flow (`[a, b]`, `{0: a}`) or block (`- a`, `0: a` lines), plain or quoted, `#` comments. By hand because
PyYAML is a test-only dependency (requirements-dev.txt, where tests use it as the referee), not the app's,
and not a dependency of Streamlit or anything else the app installs."""

from __future__ import annotations

import re
from collections.abc import Sequence

from labelling.errors import InvalidInput

__all__ = ["data_yaml", "yaml_names"]


def data_yaml(classes: Sequence[str]) -> str:
    """The `data.yaml` of an exported dataset: the images in `images/` beside `labels/` (Ultralytics finds
    `labels/x.txt` for `images/x.png`), used for both training and validation, and `names` in class-index
    order. `path` is left out on purpose: Ultralytics then takes the folder holding this file as the
    dataset root, where a relative `path` would be taken from the working directory."""
    names = ", ".join(_quoted(name) for name in classes)
    return (
        "# The images go in images/ (those the app held as data are there), each under the name of its label\n"
        "# file: labels/x.txt holds the boxes of images/x.*\n"
        "# No `path`: YOLO tools then take the folder this file is in as the dataset root.\n"
        f"train: images\nval: images\nnc: {len(classes)}\nnames: [{names}]\n"
    )


def yaml_names(text: str) -> list[str] | None:
    """The class names of a `data.yaml` (None when it has no `names`): a list, `[a, b]` or `- a` lines, or
    an index-to-name mapping, `{0: a, 1: b}` or `0: a` lines, whose indices must be 0..n-1; names plain,
    'single-' or "double-quoted", `#` comments skipped. Refuses (InvalidInput) what it cannot read as that."""
    found = re.search(r"^names[ \t]*:", text, re.MULTILINE)
    if found is None:
        return None
    at = _skipped(text, found.end())
    if text[at : at + 1] in ("[", "{"):  # a flow collection: [a, b] or {0: a, 1: b}, over one line or more
        close, entries = "]" if text[at] == "[" else "}", []
        at = _skipped(text, at + 1)
        while text[at : at + 1] != close:
            key, at = _scalar(text, at, ":,]}") if close == "}" else (None, at)
            if key is not None:
                if text[at : at + 1] != ":":
                    raise InvalidInput(f"data.yaml: {key[:40]!r} in `names` is not `index: name`")
                at = _skipped(text, at + 1)
            name, at = _scalar(text, at, ",]}")
            entries.append((key, name))
            if text[at : at + 1] == ",":
                at = _skipped(text, at + 1)
            elif text[at : at + 1] != close:
                raise InvalidInput(f"data.yaml: `names` is not a closed {'[list]' if close == ']' else '{mapping}'}")
        return _named(entries)
    if after := _scalar(text, found.end(), "")[0]:  # on the line of `names:`, neither a list nor a mapping
        raise InvalidInput(f"data.yaml: `names` is a list or a mapping of class names, not {after[:40]!r}")
    entries = []
    for line in text[found.end() :].splitlines()[1:]:  # block lines: `- name` or `index: name`
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[:1].isspace() and not line.startswith("-"):
            break  # the next top-level key
        line = line.strip()
        key, at = (None, 1) if line.startswith("-") else _scalar(line, 0, ":")
        if key is not None and line[at : at + 1] != ":":
            raise InvalidInput(f"data.yaml: {line[:40]!r} in `names` is not `- name` or `index: name`")
        entries.append((key, _scalar(line, at + (key is not None), "")[0]))
    if not entries:
        raise InvalidInput("data.yaml: `names` is a list or a mapping of class names")
    return _named(entries)


def _named(entries: list[tuple[str | None, str]]) -> list[str]:
    """The names of (index or None, name) entries: in index order when indexed, else as listed."""
    if all(key is None for key, _ in entries):
        return [name for _, name in entries]
    try:
        by_index = {int(key): name for key, name in entries}  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput("data.yaml: `names` mixes list entries and `index: name` pairs, or an index is not a number") from None
    if sorted(by_index) != list(range(len(entries))):
        raise InvalidInput("data.yaml: the indices of `names` must be 0, 1, 2, ... each once")
    return [by_index[n] for n in range(len(entries))]


def _quoted(name: str) -> str:
    """`name` as a YAML double-quoted scalar: `"` and `\\` escaped, and every character not printable as it is."""
    return '"' + "".join(
        ("\\" + c if c in '"\\' else c) if c.isprintable()
        else f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}"
        for c in name
    ) + '"'


_SPACE = re.compile(r"(?:\s|#[^\n]*)*")
_BLANKS = re.compile(r"[ \t]*")
_DOUBLE_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_SINGLE_QUOTED = re.compile(r"'((?:[^']|'')*)'", re.DOTALL)
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.DOTALL)
_ESCAPED = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
            "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
            "L": "\u2028", "P": "\u2029"}


def _scalar(text: str, at: int, stops: str) -> tuple[str, int]:
    """The scalar starting at `at` (spaces before it skipped) and where reading stopped: a quoted one whole;
    a plain one up to a `stops` character, a ` #` comment or the end of the line (names hold no line break)."""
    at = _BLANKS.match(text, at).end()  # type: ignore[union-attr]  # not text[at:]: a copy per entry is quadratic
    if quoted := _DOUBLE_QUOTED.match(text, at) or _SINGLE_QUOTED.match(text, at):
        if quoted.re is _SINGLE_QUOTED:
            value = quoted[1].replace("''", "'")
        else:
            value = _ESCAPE.sub(lambda m: _unescaped(m[1]), quoted[1])
        return value, _skipped(text, quoted.end())
    end = at
    while end < len(text) and text[end] not in stops and text[end] != "\n" and not (
        text[end] == "#" and (end == at or text[end - 1].isspace())
    ):
        end += 1
    return text[at:end].strip(), _skipped(text, end)


def _unescaped(code: str) -> str:
    if code[0] in "xuU" and len(code) > 1:
        return chr(int(code[1:], 16))
    if code not in _ESCAPED:
        raise InvalidInput(f"data.yaml: \\{code} is not a YAML escape")
    return _ESCAPED[code]


def _skipped(text: str, at: int) -> int:
    """Where the next thing starts after `at`: spaces, line breaks and `#` comments skipped."""
    return _SPACE.match(text, at).end()  # type: ignore[union-attr]  # it matches the empty string
