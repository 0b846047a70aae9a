"""Text the library writes: valid Unicode everywhere, and names without control characters.

A lone surrogate ("\\ud800") is a Python `str` that no UTF-8 file, web page or database text can hold: taken
in, it breaks every later export of the project, so it is refused where it enters. Names also refuse
control characters (C0, DEL, C1): PostgreSQL rejects NUL, and a newline or escape in a name garbles every
table, log line and CSV header it appears in. Messages quote the text escaped (`repr`), so they can be shown.
"""

from __future__ import annotations

import re
from typing import Any

from labelling.errors import InvalidInput

__all__ = ["check_name", "check_unicode", "counted", "is_name"]

QUOTED_CHARACTERS = 60
"""How much of a refused text a message quotes."""
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def counted(count: int, noun: str) -> str:
    """'1 item', '2,000 items': how every message counts things (a noun that takes an s)."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def check_unicode(text: str, what: str) -> str:
    """`text` unchanged if it is valid Unicode; else InvalidInput naming `what` and the bad character."""
    if text.isascii():  # the common case, without building an encoded copy
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInput(
            f"{what} {_quoted(text)} is not valid Unicode: character {error.start + 1} "
            f"({text[error.start]!r}) is a surrogate code point, which no text file or database can hold; "
            "fix the text (or the encoding it was read with) and try again"
        ) from None
    return text


def check_name(name: Any, what: str, max_length: int) -> str:
    """A project's or labeller's name (`what`), stripped; blank, over-long, control characters refused."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"a {what} needs a non-empty name")
    name = check_unicode(name.strip(), f"the {what} name")
    if len(name) > max_length:
        raise InvalidInput(f"a {what} name is at most {max_length} characters")
    control = _CONTROL.search(name)
    if control is not None:
        raise InvalidInput(
            f"the {what} name {_quoted(name)} holds a control character ({control.group()!r}): "
            "use letters, digits, spaces and punctuation"
        )
    return name


def is_name(name: str, max_length: int) -> bool:
    """True if `check_name` takes `name` as it is: a lookup by any other text can find nothing."""
    try:
        return check_name(name, "name", max_length) == name
    except InvalidInput:
        return False


def _quoted(text: str) -> str:
    shown = repr(text[:QUOTED_CHARACTERS])
    return shown + "…" if len(text) > QUOTED_CHARACTERS else shown
