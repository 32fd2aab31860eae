"""Size limits on an import body's shape, checked before the work they would cost.

One place for every bound, so a faster decoder or validator keeps the same limits and the
same messages. Each check is linear in the input.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

# Columns of a CSV header, and keys of one JSON row or of the envelope. The contract has 11
# row fields; the rest are kept as they are, so the bound is generous but finite.
MAX_COLUMNS = 256
# Characters of one key or column name.
MAX_KEY_CHARS = 256
# Characters of one value kept as it is (an unknown key's string, a CSV cell). Contract
# fields have their own, smaller bound (MAX_STRING in contract.py).
MAX_FIELD_CHARS = 65_536
# Characters of a count given as a digit string (leading zeros included), checked before
# the string is turned into a number.
MAX_COUNT_CHARS = 32
# How much of a caller's key or column name an error message quotes.
SHOWN_CHARS = 64


def shown(name: object) -> str:
    """A caller's key as an error message can quote it: lone surrogates escaped (they
    cannot be encoded in the response) and long names cut."""
    text = str(name)
    if len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def repeated(names: Iterable[str]) -> list[str]:
    """Names that occur more than once, sorted (one pass, not a count per name)."""
    return sorted(name for name, count in Counter(names).items() if count > 1)
