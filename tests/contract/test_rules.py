"""The rules a value must follow (harness/contract/rules.py), in the words every refusal uses:
the command line's, a RunSpec's, a model recipe's and a record's."""

import math

import pytest

from harness.contract.rules import (
    MAX_SEED,
    POSITIVE,
    SEED,
    SHA256,
    integer,
    nullable,
    number,
    one_of,
)


@pytest.mark.parametrize(
    ("rule", "value", "problem"),
    [
        (integer(1), 0, "must be an integer ≥ 1, got 0"),
        (integer(1), True, "must be an integer ≥ 1, got True"),
        (integer(1), 2.0, "must be an integer ≥ 1, got 2.0"),
        (SEED, MAX_SEED + 1, "must be an integer from 0 to 4,294,967,295, got 4294967296"),
        (number(0, 1), 1.5, "must be a finite number from 0 to 1, got 1.5"),
        (number(), math.nan, "must be a finite number, got nan"),
        (number(), 2**63, "must be a finite number, got 9223372036854775808"),
        (POSITIVE, 0.0, "must be a finite number > 0, got 0.0"),
        (POSITIVE, math.inf, "must be a finite number > 0, got inf"),
        (one_of("a", "b"), "c", "must be one of 'a', 'b', got 'c'"),
        (nullable(integer()), "1", "must be an integer or null, got '1'"),
        (SHA256, "ab" * 40, f"must be 64 hexadecimal digits (a SHA-256), got '{'ab' * 28}..."),
    ],
)
def test_a_broken_rule_says_what_the_value_must_be_and_what_it_was(rule, value, problem):
    assert rule.problem(value) == problem


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        (integer(1), 1),
        (SEED, 0),
        (SEED, MAX_SEED),
        (number(0, 1), 1),
        (POSITIVE, 1e-9),
        (one_of("a", "b"), "b"),
        (nullable(integer()), None),
        (SHA256, "0" * 64),
    ],
)
def test_a_kept_rule_has_nothing_to_say(rule, value):
    assert rule.problem(value) is None
