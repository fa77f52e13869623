"""`harness tune`'s search on a fake backend whose settings have known speeds."""

import dataclasses
import itertools

import pytest

from harness.backends import resolve
from harness.commands.tune_search import (
    FIRST_PASS,
    FIRST_PASS_SHARE,
    HISTORY,
    MAX_ROUNDS,
    MIN_ROUNDS,
    CandidateFailed,
    search,
)
from harness.record import tuning
from harness.summary.numerics import PARITY_TOLERANCES
from tests.factories import ROOT

SPACE = [
    ("compile", ["off", "on"]),
    ("format", ["channels_last", "channels_first"]),
    ("malloc", ["default", "no-mmap"]),
]
# A step's seconds by each knob's value: compiling 1.2x slower, the format 0.93x (a
# small gain, which the noise hides for a few rounds), the allocator 0.65x.
FACTOR = {("compile", "on"): 1.2, ("format", "channels_first"): 0.93,
          ("malloc", "no-mmap"): 0.65}  # fmt: skip
# The machine's noise in each round, the candidate's and the best's (about ±3 %).
NOISE = ([0.98, 1.03, 0.99, 1.02, 0.97], [1.01, 0.98, 1.03, 0.97, 1.02])


def step_s(choice, factor=FACTOR):
    s = 1.0
    for knob, value in choice.items():
        s *= factor.get((knob, value), 1.0)
    return s


class Clock:
    """Time that passes only as the fake runs take it: `per_round` seconds a round."""

    def __init__(self, per_round=60.0):
        self.now, self.per_round = 0.0, per_round

    def __call__(self):
        return self.now


def fake(clock, calls=None, interrupt_at=None, factor=FACTOR, noise=NOISE):
    noise = [itertools.cycle(n) for n in noise]

    def measure(candidate, best, index):
        if interrupt_at is not None and len(calls) == interrupt_at:
            raise KeyboardInterrupt
        clock.now += clock.per_round
        if calls is not None:
            calls.append((candidate, best, index))
        return step_s(candidate, factor) * next(noise[0]), step_s(best, factor) * next(noise[1])

    return measure


def agreeing(forward=1e-7):
    def parity(candidate):
        return tuning.ParityCheck(10, forward, 1e-6, None, PARITY_TOLERANCES, True)

    return parity


def by_knob(found):
    return {t.knob: t for t in found.trials}


def test_candidates_are_tried_in_order_of_their_expected_gain_from_a_first_pass():
    clock, calls = Clock(), []
    found = search(SPACE, fake(clock, calls), agreeing(), budget_s=3600, clock=clock)
    # the first pass: one round each against the defaults, in the space's order
    assert [c for c, b, i in calls[:3]] == [
        {"compile": "on", "format": "channels_last", "malloc": "default"},
        {"compile": "off", "format": "channels_first", "malloc": "default"},
        {"compile": "off", "format": "channels_last", "malloc": "no-mmap"},
    ]
    # then from the largest gain down, each from the best so far
    assert [t.knob for t in found.trials] == ["malloc", "format", "compile"]
    assert all(t.expected_from == FIRST_PASS for t in found.trials)
    malloc, fmt, compiled = found.trials
    assert malloc.expected < fmt.expected < 1 < compiled.expected
    assert fmt.against["malloc"] == "no-mmap" and compiled.against["format"] == "channels_first"
    assert found.chosen == {"compile": "off", "format": "channels_first", "malloc": "no-mmap"}
    # the allocator's first-pass round was against the defaults, still the best: reused
    assert malloc.rounds[0] == malloc.first_pass and len(malloc.rounds) == MIN_ROUNDS
    assert fmt.first_pass not in fmt.rounds  # measured against the defaults, not the best


def test_a_previous_tuning_record_orders_the_candidates_without_a_first_pass():
    clock, calls = Clock(), []
    history = {("compile", "on"): 0.5, ("format", "channels_first"): 0.9}
    found = search(SPACE, fake(clock, calls), agreeing(), 3600, history=history, clock=clock)
    # malloc alone has no history: its first pass is the only one, and its 0.65 puts it
    # between the two others
    assert calls[0][0] == {"compile": "off", "format": "channels_last", "malloc": "no-mmap"}
    assert calls[1][0]["compile"] == "on" and calls[1][2] == 0
    assert [(t.knob, t.expected_from) for t in found.trials] == [
        ("compile", HISTORY), ("malloc", FIRST_PASS), ("format", HISTORY),
    ]  # fmt: skip
    assert found.trials[0].verdict == tuning.SLOWER  # history only orders; rounds decide


def test_a_small_true_gain_gets_more_rounds_until_it_is_decided():
    clock = Clock()
    found = search(SPACE, fake(clock), agreeing(), budget_s=3600, clock=clock)
    malloc, fmt, compiled = found.trials
    assert len(malloc.rounds) == MIN_ROUNDS and malloc.verdict == tuning.FASTER
    # 0.93x under ±3 % noise: undecided after MIN_ROUNDS, decided after more
    assert MIN_ROUNDS < len(fmt.rounds) < MAX_ROUNDS
    assert fmt.verdict == tuning.FASTER and fmt.kept and fmt.interval.high < 1
    assert compiled.verdict == tuning.SLOWER and compiled.why.endswith(": slower")


def test_a_difference_within_five_per_cent_is_decided_as_equivalent():
    clock = Clock()
    factor = {("format", "channels_first"): 1.0}
    noise = ([1.0, 1.01, 0.99], [1.0, 0.99, 1.01])
    found = search(SPACE[1:2], fake(clock, factor=factor, noise=noise), agreeing(), 3600,
                   clock=clock)  # fmt: skip
    [fmt] = found.trials
    assert fmt.verdict == tuning.EQUIVALENT and not fmt.kept
    assert fmt.why.endswith(": within ±5 % of the best, not kept")
    assert 0.95 <= fmt.interval.low < 1 < fmt.interval.high <= 1.05


def test_a_wide_interval_ends_undecided_never_not_faster():
    clock = Clock()
    # a true gain of 0.95x under ±30 % noise: no number of rounds the budget allows decides
    factor = {("format", "channels_first"): 0.95}
    noise = ([0.7, 1.3, 1.0, 1.25, 0.75], [1.2, 0.8, 1.3, 0.7, 1.0])
    found = search(SPACE[1:2], fake(clock, factor=factor, noise=noise), agreeing(), 3600,
                   clock=clock)  # fmt: skip
    [fmt] = found.trials
    assert fmt.verdict == tuning.UNDECIDED and not fmt.kept
    assert fmt.interval.low < 0.95 and fmt.interval.high > 1.05
    assert "undecided" in fmt.why and "not faster" not in fmt.why
    assert len(fmt.rounds) == MAX_ROUNDS
    # with a budget of 5 rounds, its share ends first
    clock = Clock()
    found = search(SPACE[1:2], fake(clock, factor=factor, noise=noise), agreeing(), 5 * 60,
                   clock=clock)  # fmt: skip
    [fmt] = found.trials
    assert fmt.verdict == tuning.UNDECIDED and len(fmt.rounds) == 5
    assert fmt.why.endswith("the budget ended")


def test_each_candidate_gets_its_share_of_the_budget_so_that_every_knob_is_reached():
    clock = Clock()
    # every candidate as noisy as the one above: without shares the first would take
    # MAX_ROUNDS and leave the others nothing
    factor = {(k, v): 0.95 for k, values in SPACE for v in values[1:]}
    noise = ([0.7, 1.3, 1.0, 1.25, 0.75], [1.2, 0.8, 1.3, 0.7, 1.0])
    found = search(SPACE, fake(clock, factor=factor, noise=noise), agreeing(), 20 * 60,
                   clock=clock)  # fmt: skip
    assert all(len(t.rounds) >= MIN_ROUNDS for t in found.trials)
    assert all(t.verdict == tuning.UNDECIDED for t in found.trials)
    assert found.spent_s <= 20 * 60


def test_the_harness_jax_gradients_are_two_knobs_tried_and_kept_apart():
    jax = resolve("jax")
    space = [(k.name, list(k.values)) for k in jax.tuning_space]
    assert {"pool_grad", "conv_grad"} <= {name for name, _ in space}
    # measured on an AMD EPYC: the pooling gradient pays, the convolution's does not
    factor = {("pool_grad", "harness"): 0.77, ("conv_grad", "harness"): 1.1}
    clock = Clock()
    found = search(space, fake(clock, factor=factor), agreeing(), 3 * 3600, clock=clock)
    trials = by_knob(found)
    assert trials["pool_grad"].verdict == tuning.FASTER and trials["pool_grad"].kept
    assert trials["conv_grad"].verdict == tuning.SLOWER
    assert (found.chosen["pool_grad"], found.chosen["conv_grad"]) == ("harness", "keras")
    # and each installs its own op alone
    assert jax.tuning({"pool_grad": "harness"}, "").code == ("max_pool",)
    assert jax.tuning({"conv_grad": "harness"}, "").code == ("conv",)


def test_a_candidate_whose_parity_fails_is_neither_timed_nor_kept():
    clock = Clock()

    def parity(candidate):
        if candidate["malloc"] == "no-mmap":
            return tuning.ParityCheck(10, 3e-3, 0.2, 2, PARITY_TOLERANCES, False)
        return tuning.ParityCheck(10, 1e-7, 1e-6, None, PARITY_TOLERANCES, True)

    found = search(SPACE, fake(clock), parity, 3600, clock=clock)
    malloc = by_knob(found)["malloc"]
    assert malloc.verdict == tuning.NUMERICS_DIFFER and not malloc.kept
    assert malloc.first_pass and not malloc.rounds
    assert "outputs 3.0e-03 (≤ 1e-06)" in malloc.why
    assert found.chosen["malloc"] == "default"
    # every candidate that was tried keeps its parity figures
    assert all(t.parity is not None for t in found.trials)


def test_the_budget_stops_the_search_and_says_what_was_not_tried():
    clock = Clock(per_round=60.0)
    # the first pass (3 rounds), then the allocator's 2 more and the format's 3
    found = search(SPACE, fake(clock), agreeing(), budget_s=8 * 60, clock=clock)
    assert found.spent_s <= 8 * 60
    malloc, fmt, compiled = found.trials
    assert malloc.kept and len(fmt.rounds) == MIN_ROUNDS
    assert compiled.verdict == tuning.NOT_TRIED and "over the budget" in compiled.why


def test_ctrl_c_keeps_what_was_measured():
    clock, calls = Clock(), []
    # the first pass, the allocator's 2 rounds more, the format's first
    found = search(SPACE, fake(clock, calls, interrupt_at=6), agreeing(), 3600, clock=clock)
    assert found.interrupted
    malloc, fmt, compiled = found.trials
    assert malloc.kept and len(malloc.rounds) == MIN_ROUNDS
    assert fmt.verdict == tuning.INTERRUPTED and len(fmt.rounds) == 1 and fmt.parity
    assert (
        compiled.verdict == tuning.NOT_TRIED and compiled.why == "not tried: interrupted before it"
    )
    assert found.chosen == {"compile": "off", "format": "channels_last", "malloc": "no-mmap"}


def test_each_round_is_handed_its_index_so_the_order_can_alternate():
    clock, calls = Clock(), []
    search(SPACE[2:], fake(clock, calls), agreeing(), 3600, clock=clock)
    assert [i for _, _, i in calls] == [0, 1, 2]


def test_a_candidate_whose_run_fails_is_not_kept_and_the_search_goes_on():
    clock = Clock()
    measure = fake(clock)

    def failing(candidate, best, index):
        if candidate["malloc"] == "no-mmap" and index > 0:
            raise CandidateFailed("the worker was stopped by SIGSEGV")
        return measure(candidate, best, index)

    found = search(SPACE, failing, agreeing(), 3600, clock=clock)
    malloc = by_knob(found)["malloc"]
    assert malloc.verdict == tuning.FAILED
    assert malloc.why == "failed: the worker was stopped by SIGSEGV"
    assert found.chosen["malloc"] == "default" and len(found.trials) == 3


def test_a_budget_smaller_than_a_round_measures_one_round_and_judges_nothing():
    clock = Clock(per_round=60.0)
    found = search(SPACE, fake(clock), agreeing(), budget_s=1.0, clock=clock)
    assert [t.first_pass is not None for t in found.trials] == [True, False, False]
    assert all(t.verdict == tuning.NOT_TRIED and not t.kept for t in found.trials)
    assert all("over the budget" in t.why and not t.rounds for t in found.trials)


def test_first_passes_keep_to_half_the_budget_so_that_a_clear_gain_is_decided():
    """A slow backend: six knobs whose first passes alone would take 9 of 10 minutes."""
    clock = Clock(per_round=90.0)
    space = [(k, ["off", "on"]) for k in ("xla", "pool", "conv", "malloc", "thp", "threads")]
    factor = {("xla", "on"): 0.5, ("conv", "on"): 0.9}
    found = search(space, fake(clock, factor=factor), agreeing(), budget_s=600, clock=clock)
    # first passes while they end within half the budget: 90, 180, 270 s; a fourth would
    # end at 360 s
    assert {t.knob for t in found.trials if t.first_pass} == {"xla", "pool", "conv"}
    assert FIRST_PASS_SHARE == 0.5
    xla = found.trials[0]
    assert xla.knob == "xla" and xla.kept and len(xla.rounds) == MIN_ROUNDS
    assert found.chosen["xla"] == "on" and found.spent_s <= 600
    untried = [t for t in found.trials if t.knob in ("malloc", "thp", "threads")]
    assert all(t.verdict == tuning.NOT_TRIED and "over the budget" in t.why for t in untried)


def test_a_previous_records_rounds_else_its_first_passes_order_the_next_tune():
    """An interrupted or short tune's first passes are not measured again for the order."""
    from harness.commands.tune import history_of

    [file] = (ROOT / "tests" / "data" / "tuning-v1").glob("torch-*.json")
    record = tuning.read(file)
    by = {t.knob: t for t in record.trials}
    malloc, thp = by["malloc"], by["thp"]  # timed in rounds; not tried
    compiled = dataclasses.replace(by["compile"], first_pass=[0.6, 0.5])  # a first pass only
    record = dataclasses.replace(record, trials=[malloc, compiled, thp])
    assert malloc.ratio is not None and thp.ratio is None and thp.first_pass is None
    assert history_of(record) == {
        ("malloc", malloc.value): malloc.ratio,
        ("compile", compiled.value): pytest.approx(1.2),
    }
    assert history_of(None) == {}
