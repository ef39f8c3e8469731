"""User input shown in one-line messages: short, escaped, never the whole input."""

from __future__ import annotations

import difflib
import reprlib

SHOWN_CHARS = 80  # longest rendering of a user-supplied value inside a message


class _Short(reprlib.Repr):
    """``reprlib`` limits, and integers too long to print summarised by their length."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxdict, self.maxlist, self.maxtuple, self.maxset = 3, 4, 6, 6, 6
        self.maxstring, self.maxlong, self.maxother = SHOWN_CHARS, 40, SHOWN_CHARS

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 4000:  # beyond what str() converts (sys.get_int_max_str_digits)
            return f"<integer of about {int(x.bit_length() * 0.30103)} digits>"
        return super().repr_int(x, level)


_REPR = _Short()


def shown(value: object) -> str:
    """``repr(value)`` on one line and at most ``SHOWN_CHARS`` characters (longer ones end in '...')."""
    text = _REPR.repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 3] + "..."


def did_you_mean(name: object, known) -> str:
    """' (did you mean 'x'?)' for the closest of ``known`` to ``name``, or '' when none is close."""
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name[:200], [k for k in known if isinstance(k, str)], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
