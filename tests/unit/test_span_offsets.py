"""The span editor's offsets (ui/annotate/common.js `spanOffsets`): the server counts characters (code points),
the browser UTF-16 units, so an emoji before a span must not shift it. Run under Node, without a browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

COMMON_JS = Path(__file__).parents[2] / "ui" / "annotate" / "common.js"
TEXT = "I 😀 met Ada in 🇫🇷 Paris"


def _convert(text: str, spans: list[dict], direction: str) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node is not installed")
    script = COMMON_JS.read_text(encoding="utf-8") + (
        f"\nconst o = spanOffsets({json.dumps(text)});"
        f"\nprocess.stdout.write(JSON.stringify({json.dumps(spans)}.map(o.{direction})));"
    )
    return json.loads(subprocess.run([node, "-e", script], capture_output=True, check=True, text=True).stdout)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_characters_become_utf16_units_and_back():
    ada, paris = TEXT.index("Ada"), TEXT.index("Paris")
    spans = [{"start": ada, "end": ada + 3, "label": "PER"}, {"start": paris, "end": len(TEXT), "label": "LOC"}]
    units = _convert(TEXT, spans, "toUnits")
    assert [(s["start"], s["end"]) for s in units] == [
        (_utf16(TEXT[:ada]), _utf16(TEXT[: ada + 3])),
        (_utf16(TEXT[:paris]), _utf16(TEXT)),
    ]
    assert _convert(TEXT, units, "toPoints") == spans
    assert TEXT[spans[0]["start"] : spans[0]["end"]] == "Ada"


def test_a_unit_inside_an_emoji_rounds_down_to_its_character():
    emoji = TEXT.index("😀")
    inside = {"start": _utf16(TEXT[:emoji]) + 1, "end": _utf16(TEXT[: emoji + 1]), "label": "X"}
    assert _convert(TEXT, [inside], "toPoints") == [{"start": emoji, "end": emoji + 1, "label": "X"}]


def test_plain_text_is_unchanged():
    spans = [{"start": 0, "end": 5, "label": "A"}]
    assert _convert("hello world", spans, "toUnits") == spans == _convert("hello world", spans, "toPoints")
