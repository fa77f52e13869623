"""`harness tune`'s search on a fake backend whose settings have known speeds."""

import itertools

from harness.commands.tune_search import MAX_ROUNDS, MIN_ROUNDS, CandidateFailed, search

SPACE = [
    ("malloc", ["default", "no-mmap"]),
    ("format", ["channels_last", "channels_first"]),
    ("compile", ["off", "on"]),
]
# A step's seconds by each knob's value: the allocator 0.65x, the format 0.995x (a gain
# the noise hides), compiling 1.2x slower.
FACTOR = {("malloc", "no-mmap"): 0.65, ("format", "channels_first"): 0.995,
          ("compile", "on"): 1.2}  # fmt: skip
# The machine's noise in each round, the candidate's and the best's.
NOISE = ([0.98, 1.0, 0.99, 1.01, 1.0], [1.0, 0.99, 1.02, 0.98, 1.01])


def step_s(choice):
    s = 1.0
    for knob, value in choice.items():
        s *= FACTOR.get((knob, value), 1.0)
    return s


class Clock:
    """Time that passes only as the fake runs take it: `per_round` seconds a round."""

    def __init__(self, per_round=60.0):
        self.now, self.per_round = 0.0, per_round

    def __call__(self):
        return self.now


def fake(clock, calls=None, interrupt_at=None):
    noise = [itertools.cycle(n) for n in NOISE]

    def measure(candidate, best, index):
        if interrupt_at is not None and len(calls) == interrupt_at:
            raise KeyboardInterrupt
        clock.now += clock.per_round
        if calls is not None:
            calls.append((candidate, best, index))
        return step_s(candidate) * next(noise[0]), step_s(best) * next(noise[1])

    return measure


def no_difference(candidate):
    return None


def test_keeps_what_is_faster_beyond_noise_and_nothing_else():
    clock = Clock()
    found = search(SPACE, fake(clock), no_difference, budget_s=3600, clock=clock)
    assert found.chosen == {"malloc": "no-mmap", "format": "channels_last", "compile": "off"}
    assert [(t.knob, t.kept) for t in found.trials] == [
        ("malloc", True), ("format", False), ("compile", False),
    ]  # fmt: skip
    malloc, fmt, compiled = found.trials
    assert malloc.interval.high < 1 and "faster, kept" in malloc.why
    # the format's 0.5 % looks faster without the interval saying so: more rounds, no more
    assert len(fmt.rounds) == MAX_ROUNDS and fmt.interval.high >= 1
    assert "not faster beyond noise" in fmt.why
    # a slower candidate gets its first rounds only, measured against the best so far
    assert len(compiled.rounds) == MIN_ROUNDS and compiled.against["malloc"] == "no-mmap"
    assert compiled.interval.low > 1 and compiled.why.endswith(": slower")
    assert not found.interrupted


def test_a_faster_setting_whose_numerics_differ_is_not_kept():
    clock = Clock()
    found = search(SPACE, fake(clock), lambda c: "loss parts at step 2", 3600, clock=clock)
    assert found.chosen["malloc"] == "default"
    assert "its numerics differ: loss parts at step 2" in found.trials[0].why


def test_the_budget_stops_the_search_and_says_what_was_not_tried():
    clock = Clock(per_round=60.0)
    # room for the first candidate's 3 rounds and one more candidate's
    found = search(SPACE, fake(clock), no_difference, budget_s=7 * 60, clock=clock)
    assert found.spent_s <= 7 * 60
    tried = [t for t in found.trials if t.rounds]
    assert [t.knob for t in tried] == ["malloc", "format"]
    assert found.trials[-1].knob == "compile" and "over the budget" in found.trials[-1].why


def test_ctrl_c_keeps_what_was_measured():
    clock, calls = Clock(), []
    found = search(SPACE, fake(clock, calls, interrupt_at=4), no_difference, 3600, clock=clock)
    assert found.interrupted
    malloc, fmt = found.trials
    assert malloc.kept and len(malloc.rounds) == 3
    assert fmt.why == "interrupted" and len(fmt.rounds) == 1
    assert found.chosen == {"malloc": "no-mmap", "format": "channels_last", "compile": "off"}


def test_each_round_is_handed_its_index_so_the_order_can_alternate():
    clock, calls = Clock(), []
    search(SPACE[:1], fake(clock, calls), no_difference, 3600, clock=clock)
    assert [i for _, _, i in calls] == [0, 1, 2]


def test_a_candidate_whose_run_fails_is_not_kept_and_the_search_goes_on():
    clock = Clock()
    measure = fake(clock)

    def failing(candidate, best, index):
        if candidate["malloc"] == "no-mmap":
            raise CandidateFailed("the worker was stopped by SIGSEGV")
        return measure(candidate, best, index)

    found = search(SPACE, failing, no_difference, 3600, clock=clock)
    assert found.trials[0].why == "failed: the worker was stopped by SIGSEGV"
    assert found.chosen["malloc"] == "default" and len(found.trials) == 3


def test_a_budget_smaller_than_a_round_measures_one_round_and_judges_nothing():
    clock = Clock(per_round=60.0)
    found = search(SPACE, fake(clock), no_difference, budget_s=1.0, clock=clock)
    first, *rest = found.trials
    assert len(first.rounds) == 1 and "too few rounds" in first.why and not first.kept
    assert all("over the budget" in t.why and not t.rounds for t in rest)
