"""The search of `python -m harness tune`, apart from what it measures: one knob at a
time from the best settings so far, each candidate against that best in interleaved
rounds, kept only when its step is faster beyond the rounds' noise (the 95 % interval of
its step over the best's lies below 1) and its numerics pass the parity probe.

Why one knob at a time: the product of every knob's values is 2 x 2 x 2 x 2 = 16
settings for PyTorch alone, each needing rounds of runs of a minute; a knob's gain here
has so far been independent of the others' (the allocator's against the data format's),
and an interaction that the order misses costs speed, never correctness.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.summary.stats import RatioInterval, ratio_interval

# knob name -> the label of its value
Choice = dict[str, str]


class CandidateFailed(RuntimeError):
    """A measuring run of a candidate failed: the candidate is not kept, the search goes on."""


# Rounds a candidate gets before it is judged; more, up to MAX_ROUNDS, while it looks
# faster without the interval saying so yet and the budget allows.
MIN_ROUNDS = 3
MAX_ROUNDS = 5


@dataclass(frozen=True)
class Trial:
    """One candidate against the best so far: each round's steady step of both, in
    seconds, and what became of it."""

    knob: str
    value: str
    candidate: Choice
    against: Choice
    rounds: list[tuple[float, float]] = field(default_factory=list)  # (candidate, best)
    kept: bool = False
    why: str = ""

    @property
    def interval(self) -> RatioInterval | None:
        return ratio_interval([c / b for c, b in self.rounds])


@dataclass(frozen=True)
class Search:
    chosen: Choice
    trials: list[Trial]
    interrupted: bool
    spent_s: float


# (candidate, best, round index) -> (candidate's step, best's step), in seconds
Measure = Callable[[Choice, Choice, int], tuple[float, float]]
# a candidate -> None if its numerics agree with the default's, else why not
Parity = Callable[[Choice], str | None]


def search(
    space: list[tuple[str, list[str]]],
    measure: Measure,
    parity: Parity,
    budget_s: float,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[str], None] = lambda line: None,
) -> Search:
    """`space`: each knob's name and value labels, its default first, in the order to
    try them. Ctrl-C ends the search with what was measured (`interrupted`)."""
    start = clock()
    best: Choice = {name: values[0] for name, values in space}
    trials: list[Trial] = []
    round_s: list[float] = []  # what one round took, to judge what the budget allows

    def affordable(rounds: int) -> bool:
        spent = clock() - start
        return not round_s or spent + rounds * statistics.mean(round_s) <= budget_s

    try:
        for name, values in space:
            for value in values[1:]:
                candidate = {**best, name: value}
                trial = Trial(name, value, candidate, dict(best))
                if not affordable(MIN_ROUNDS):
                    trials.append(_with(trial, why="not tried: over the budget"))
                    continue
                trials.append(trial)
                while len(trial.rounds) < MAX_ROUNDS:
                    if len(trial.rounds) >= MIN_ROUNDS and not _worth_more(trial):
                        break
                    if trial.rounds and not affordable(1):
                        break
                    began = clock()
                    try:
                        trial.rounds.append(measure(candidate, best, len(trial.rounds)))
                    except CandidateFailed as e:
                        trial = _with(trial, why=f"failed: {e}")
                        break
                    round_s.append(clock() - began)
                    c, b = trial.rounds[-1]
                    progress(
                        f"{name}={value}: round {len(trial.rounds)}, {1000 * c:.0f} ms "
                        f"against {1000 * b:.0f} ms a step"
                    )
                trials[-1] = trial = trial if trial.why else _judged(trial, parity)
                progress(f"{name}={value}: {trial.why}")
                if trial.kept:
                    best = candidate
    except KeyboardInterrupt:
        if trials and not trials[-1].why:
            trials[-1] = _with(trials[-1], why="interrupted")
        return Search(best, trials, True, clock() - start)
    return Search(best, trials, False, clock() - start)


def _with(trial: Trial, **changes: object) -> Trial:
    return Trial(**{**trial.__dict__, **changes})


def _worth_more(trial: Trial) -> bool:
    """A candidate that looks faster but is not yet faster beyond noise."""
    interval = trial.interval
    return interval is not None and interval.geomean < 1 and interval.high >= 1


def _judged(trial: Trial, parity: Parity) -> Trial:
    interval = trial.interval
    if interval is None:
        return _with(trial, why="too few rounds to judge: over the budget")
    said = f"{interval.geomean:.3f}× the step [95 %: {interval.low:.3f}–{interval.high:.3f}]"
    if interval.low > 1:
        return _with(trial, why=f"{said}: slower")
    if interval.high >= 1:
        return _with(trial, why=f"{said}: not faster beyond noise")
    differs = parity(trial.candidate)
    if differs:
        return _with(trial, why=f"{said}, but its numerics differ: {differs}")
    return _with(trial, kept=True, why=f"{said}: faster, kept")
