"""What a run record may hold: its sections, the fields each must have, and the type and
range of every value the report reads.

`results.read` upgrades a file to the current schema version, then `check`s it here: a
record that parses but lies (a string accuracy, a NaN loss, fewer epoch times than
epochs, a file name that leaves its folder) is refused with the field named, so that
nothing after reading has to distrust a value.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.config import DATA_FORMATS, INIT_MODES, MAX_SEED

STATUSES = ("ok", "failed")
# The phases of a run, in the order they happen; each is the wall time of one part of the
# worker's life, and together with `unaccounted_s` they make up its `wall_s`. `fit_s` is
# the whole fit() call: every epoch and everything Keras does around and between them.
PHASES = (
    "interpreter_s", "import_s", "data_load_s", "build_s", "init_s", "compile_s", "peak_s",
    "fit_s", "evaluate_s", "predict_s", "latency_s", "save_s",
)  # fmt: skip
DIGESTS = ("initial_weights_digest", "batch_order_digest", "final_weights_digest")


@dataclass(frozen=True)
class Rule:
    """What a value must be, in words, and the test of it; `record` is the whole record,
    for lengths that follow its recipe. `required`: the field must be present."""

    what: str
    test: Callable[[object, dict], bool]
    required: bool = True


def _int(v: object) -> bool:
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


def number(lo: float | None = None, hi: float | None = None) -> Rule:
    def test(v: object, _: dict) -> bool:
        # An integer beyond a float's range would overflow the first sum it enters.
        finite = (_int(v) and abs(v) < 2**63) or (isinstance(v, float) and math.isfinite(v))
        return finite and (lo is None or v >= lo) and (hi is None or v <= hi)

    return Rule(f"a finite number{_bounds(lo, hi)}", test)


def one_of(*values: object) -> Rule:
    return Rule("one of " + ", ".join(map(repr, values)), lambda v, _: v in values)


def nullable(rule: Rule) -> Rule:
    return Rule(f"{rule.what} or null", lambda v, r: v is None or rule.test(v, r))


def absent_or(rule: Rule) -> Rule:
    return Rule(rule.what, rule.test, required=False)


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


def _utc(v: object, _: dict) -> bool:
    if not isinstance(v, str) or re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v) is None:
        return False
    try:
        time.strptime(v, TIME_FORMAT)
    except ValueError:  # a month 13, a day 45
        return False
    return True


TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TIME = Rule("a UTC time like 2026-12-01T20:50:00Z", _utc)
# A file beside the result: a plain name, never a path out of its folder.
FILE_NAME = Rule(
    "a file name without a folder",
    lambda v, _: isinstance(v, str) and re.fullmatch(r"[\w][\w.+-]*", v) is not None,
)
SECONDS = nullable(number(0))


def _epochs(record: dict) -> int:
    return record["recipe"]["epochs"]


_PER_EPOCH = mapping(listing(number(), _epochs, "recipe.epochs"))
# Keras's history: a value per epoch of each metric, the loss among them.
HISTORY = Rule(
    f"{_PER_EPOCH.what}, with a loss",
    lambda v, r: _PER_EPOCH.test(v, r) and "loss" in v,
)


SPEC = {
    "backend": TEXT,
    "model": TEXT,
    "dataset": TEXT,
    "profile": TEXT,
    "seed": integer(0, MAX_SEED),
    "threads": integer(1),
    "init": one_of(*INIT_MODES),
    "deterministic": BOOLEAN,
}
# The fields of each section of a completed run.
RECORD = {
    "spec": SPEC,
    "recipe": {
        "epochs": integer(1),
        "batch_size": integer(1),
        "train_images": integer(1),
        "test_images": integer(1),
        "classes": nullable(integer(2)),  # null before schema version 5
        "optimizer": mapping(),
        "loss": TEXT,
        "data_format": one_of(*DATA_FORMATS),
        "jit_compile": BOOLEAN,
        "parameters": integer(1),
        "reference_accuracy": absent_or(nullable(number(0, 1))),
        "forward_flops_per_image": absent_or(nullable(number(0))),
        "training_flops_factor": absent_or(nullable(number(0))),
    },
    "environment": {
        "python": TEXT,
        "cpu_model": STRING,
        "cpus_used": listing(integer(0)),
        "threads": mapping(),
        "libraries": mapping(STRING),
        "variables": mapping(STRING),
        "git": absent_or(nullable(mapping())),
        "host": absent_or(STRING),  # from schema version 5
        "node": absent_or(nullable(TEXT)),  # a Ray node's id; absent before --executor ray
    },
    "timings": {
        **dict.fromkeys(PHASES, SECONDS),
        "wall_s": SECONDS,
        "unaccounted_s": nullable(number()),
        "epochs_s": listing(number(0), _epochs, "recipe.epochs"),
        "steps_s": nullable(listing(listing(number(0)), _epochs, "recipe.epochs")),
        "latency_calls_s": nullable(mapping(listing(number(0)))),
    },
    "metrics": {
        "history": HISTORY,
        "test_loss": number(),
        "test_accuracy": number(0, 1),
    },
    "memory": {"peak_rss_mib": number(0)},
    # The machine measured by the worker: the matmul yardstick right before fit(), and
    # other processes' use of the run's CPUs during it (`harness.machine`).
    "machine": {
        "matmul": nullable(mapping()),
        "during_fit": nullable(mapping()),
    },
    "reproducibility": dict.fromkeys(DIGESTS, nullable(TEXT)),
    "artifacts": {
        "predictions": absent_or(FILE_NAME),
        "final_weights": absent_or(FILE_NAME),
    },
}
# A failed run has its spec and why it failed; its other sections may be empty.
FAILED = {
    "spec": SPEC,
    "failure": {
        "reason": TEXT,
        "exit_code": nullable(integer()),
        "output_tail": listing(STRING),
    },
    "artifacts": RECORD["artifacts"],
}
# Inside these objects of a completed run (where they are not null), what the report reads.
NESTED = {
    ("machine", "matmul"): {"median_gflops": number(0)},
    ("machine", "during_fit"): {"other_share": number(0)},
    ("environment", "git"): {"commit": TEXT, "dirty": BOOLEAN},
}
TOP = {"run_id": FILE_NAME, "created": TIME, "invocation": nullable(FILE_NAME)}


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields(data: dict, rules: dict, record: dict, prefix: str) -> list[str]:
    out = []
    for name, rule in rules.items():
        if name not in data:
            if rule.required:
                out.append(f"{prefix}{name} is missing")
        elif not rule.test(data[name], record):
            out.append(f"{prefix}{name} must be {rule.what}, got {_shown(data[name])}")
    return out


def check(record: dict) -> list[str]:
    """What is wrong with a record of the current schema version, field by field; an
    empty list when nothing is. The sections after the recipe are checked only once it
    holds, since their lengths follow it."""
    status = record.get("status")
    if status not in STATUSES:
        return [f"status must be {one_of(*STATUSES).what}, got {_shown(status)}"]
    problems = _fields(record, TOP, record, "")
    for section, rules in (RECORD if status == "ok" else FAILED).items():
        value = record.get(section)
        if section not in record:
            found = [f"{section} is missing"]
        elif not isinstance(value, dict):
            found = [f"{section} must be an object, got {_shown(value)}"]
        else:
            found = _fields(value, rules, record, f"{section}.")
        problems += found
        if section == "recipe" and found:
            return problems
    if status == "ok" and not problems:
        for (section, part), rules in NESTED.items():
            value = record[section].get(part)
            if value is not None:
                problems += _fields(value, rules, record, f"{section}.{part}.")
    return problems
