"""What a value must be, written once: each rule says it in words and tests it. The
command line's types, a RunSpec, a model's recipe and the record reader all ask these
rules (`harness.record.schema` makes the record's sections of them), so that one value
is refused in the same words wherever it comes from."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeGuard


@dataclass(frozen=True)
class Rule:
    """What a value must be, in words, and the test of it; `record` is the whole record
    as read (JSON), for lengths that follow its recipe. `required`: a record's field
    must be present in the file."""

    what: str
    test: Callable[[object, dict], bool]
    required: bool = True

    def problem(self, value: object, record: dict | None = None) -> str | None:
        """What is wrong with `value`, in words that follow its name; None if nothing."""
        if self.test(value, {} if record is None else record):
            return None
        return f"must be {self.what}, got {shown(value)}"


def shown(value: object) -> str:
    """A value as a message quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _int(v: object) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _bounds(lo: float | None, hi: float | None) -> str:
    def text(v: float) -> str:
        return f"{v:,}" if _int(v) else f"{v:g}"

    if lo is not None and hi is not None:
        return f" from {text(lo)} to {text(hi)}"
    return f" ≥ {text(lo)}" if lo is not None else ""


def integer(lo: int | None = None, hi: int | None = None) -> Rule:
    def test(v: object, _: dict) -> bool:
        return _int(v) and (lo is None or v >= lo) and (hi is None or v <= hi)

    return Rule(f"an integer{_bounds(lo, hi)}", test)


def _finite(v: object) -> TypeGuard[int | float]:
    # An integer beyond a float's range would overflow the first sum it enters.
    return (_int(v) and abs(v) < 2**63) or (isinstance(v, float) and math.isfinite(v))


def number(lo: float | None = None, hi: float | None = None) -> Rule:
    def test(v: object, _: dict) -> bool:
        return _finite(v) and (lo is None or v >= lo) and (hi is None or v <= hi)

    return Rule(f"a finite number{_bounds(lo, hi)}", test)


POSITIVE = Rule("a finite number > 0", lambda v, _: _finite(v) and v > 0)
# Within how many percentage points two test accuracies count as equivalent (`--margin`).
MARGIN = Rule(
    "a number of percentage points > 0 and below 100", lambda v, _: _finite(v) and 0 < v < 100
)
# A time budget in minutes (`tune --budget`, `run --round-budget`): a week at most, so
# that it stays a number a record can hold and a person can read.
MAX_BUDGET_MINUTES = 7 * 24 * 60
BUDGET_MINUTES = Rule(
    f"a number of minutes > 0 and at most {MAX_BUDGET_MINUTES:,} (a week)",
    lambda v, _: _finite(v) and 0 < v <= MAX_BUDGET_MINUTES,
)
# A quality to reach, as a share of the test set: a target accuracy.
TARGET = Rule("a number above 0 and at most 1", lambda v, _: _finite(v) and 0 < v <= 1)


def one_of(*values: object) -> Rule:
    return Rule("one of " + ", ".join(map(repr, values)), lambda v, _: v in values)


def nullable(rule: Rule) -> Rule:
    return Rule(f"{rule.what} or null", lambda v, r: v is None or rule.test(v, r), rule.required)


def absent_or(rule: Rule) -> Rule:
    """A field a file may lack; this harness writes it as null when it has no value."""
    return Rule(f"{rule.what} or null", lambda v, r: v is None or rule.test(v, r), required=False)


def listing(item: Rule, length: Callable[[dict], int] | None = None, of: str = "") -> Rule:
    """A list of items that each pass `item`; of `length(record)` items when given."""
    count = f"{of} " if of else ""

    def test(v: object, record: dict) -> bool:
        return (
            isinstance(v, list)
            and (length is None or len(v) == length(record))
            and all(item.test(x, record) for x in v)
        )

    return Rule(f"a list of {count}items, each {item.what}", test)


def mapping(value: Rule | None = None) -> Rule:
    def test(v: object, record: dict) -> bool:
        return isinstance(v, dict) and (
            value is None or all(isinstance(k, str) and value.test(x, record) for k, x in v.items())
        )

    return Rule("an object" + (f" whose values are each {value.what}" if value else ""), test)


TEXT = Rule("a non-empty string", lambda v, _: isinstance(v, str) and v != "")
STRING = Rule("a string", lambda v, _: isinstance(v, str))
BOOLEAN = Rule("true or false", lambda v, _: isinstance(v, bool))
# numpy's and Keras's global seeds are 32-bit.
MAX_SEED = 2**32 - 1
SEED = integer(0, MAX_SEED)
# A worker plans every epoch's batch order before training: 1,000 epochs of 60,000
# images are 480 MB of indices (the seed recipe trains 12).
MAX_EPOCHS = 1000
EPOCHS = integer(1, MAX_EPOCHS)
# `run --rounds` lists every run of every round before the first starts.
MAX_ROUNDS = 100
ROUNDS = integer(1, MAX_ROUNDS)
# A SHA-256 in hex: a file's bytes, or source files (`harness.origin.provenance.digest`).
SHA256 = Rule(
    "64 hexadecimal digits (a SHA-256)",
    lambda v, _: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None,
)
