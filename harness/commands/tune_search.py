"""The search of `python -m harness tune`, apart from what it measures.

1. Order. Every candidate (one knob's value) gets an expected gain: its ratio in the
   previous tuning record of this machine (`history`), else one round against the
   defaults (the first pass), for as long as the first passes keep within
   FIRST_PASS_SHARE of the budget. Candidates are tried from the largest expected gain
   down, those without a first pass last, so that the budget, if it ends, cuts the least
   promising; where a round takes long (a JAX step at its defaults) the first passes of
   every knob would take the whole budget and leave even a clear gain undecided.
2. Parity. Each candidate's parity probe against the defaults comes first: one whose
   numerics differ is neither timed nor kept.
3. Rounds. A candidate runs against the best settings so far in interleaved rounds
   until its ratio's 95 % interval decides (`summary.decision`: below 1, above 1, or
   within ±5 % of 1), or its share of the budget ends (what is left over the candidates
   left, at least MIN_ROUNDS rounds), or MAX_ROUNDS: then it is "undecided", never "not
   faster". A first-pass round against the defaults is its first round while the best
   is still the defaults.
4. Kept: faster beyond the noise, with its parity within the tolerances.

Why one knob at a time: the product of every knob's values is 2^6 = 64 settings for
PyTorch alone, each needing rounds of runs of a minute; a knob's gain here has so far
been independent of the others' (the allocator's against the data format's), and an
interaction that the order misses costs speed, never correctness.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from harness.record import tuning
from harness.summary.decision import MARGIN, Decision, decide
from harness.summary.stats import RatioInterval, ratio_interval

# knob name -> the label of its value
Choice = dict[str, str]
# (knob, value)
Candidate = tuple[str, str]


class CandidateFailed(RuntimeError):
    """A measuring run of a candidate failed: the candidate is not kept, the search goes on."""


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C during a candidate's probe or rounds: what it had measured."""

    def __init__(self, trial: Trial) -> None:
        self.trial = trial


# The rounds before a candidate's interval is first looked at: the widest early looks
# would otherwise decide on a fluke more often than 5 % (see `summary.decision`).
MIN_ROUNDS = 3
# A candidate still undecided after this many rounds stays undecided: its difference is
# too small for the machine's noise, and the budget has better uses.
MAX_ROUNDS = 12
# The share of the budget that first passes may take: the rest decides candidates.
FIRST_PASS_SHARE = 0.5
HISTORY = "a previous tuning record"
FIRST_PASS = "a first-pass round"

VERDICTS = {
    Decision.FASTER: tuning.FASTER,
    Decision.SLOWER: tuning.SLOWER,
    Decision.EQUIVALENT: tuning.EQUIVALENT,
    Decision.UNDECIDED: tuning.UNDECIDED,
}


@dataclass(frozen=True)
class Trial:
    """One candidate against the best so far: the gain expected of it, its parity probe,
    each round's steady step of both, in seconds, and what became of it."""

    knob: str
    value: str
    candidate: Choice
    against: Choice
    expected: float | None = None
    expected_from: str = ""
    first_pass: tuple[float, float] | None = None  # (candidate, defaults)
    parity: tuning.ParityCheck | None = None
    rounds: list[tuple[float, float]] = field(default_factory=list)  # (candidate, best)
    verdict: str = tuning.NOT_TRIED
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
# a candidate -> its parity probe against the defaults
Parity = Callable[[Choice], tuning.ParityCheck]


class _Clock:
    """The budget's account: what was spent, and what one round of a candidate is
    expected to take (its own rounds, else everyone's)."""

    def __init__(self, budget_s: float, clock: Callable[[], float]) -> None:
        self.budget_s, self.clock, self.start = budget_s, clock, clock()
        self.round_s: dict[Candidate, list[float]] = {}

    def spent(self) -> float:
        return self.clock() - self.start

    def left(self) -> float:
        return self.budget_s - self.spent()

    def round_of(self, c: Candidate) -> float:
        own = self.round_s.get(c)
        every = [s for rounds in self.round_s.values() for s in rounds]
        return statistics.mean(own or every) if every else 0.0

    def timed(
        self, c: Candidate, measure: Measure, candidate: Choice, best: Choice, index: int
    ) -> tuple[float, float]:
        """One round of candidate `c`, its time noted."""
        began = self.clock()
        done = measure(candidate, best, index)
        self.round_s.setdefault(c, []).append(self.clock() - began)
        return done


def search(
    space: list[tuple[str, list[str]]],
    measure: Measure,
    parity: Parity,
    budget_s: float,
    history: dict[Candidate, float] | None = None,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[str], None] = lambda line: None,
) -> Search:
    """`space`: each knob's name and value labels, its default first; `history`: a
    candidate's step ratio measured before on this machine. Ctrl-C ends the search with
    what was measured (`interrupted`)."""
    account = _Clock(budget_s, clock)
    default: Choice = {name: values[0] for name, values in space}
    best = dict(default)
    candidates = [(name, value) for name, values in space for value in values[1:]]
    trials: dict[Candidate, Trial] = {
        (k, v): Trial(k, v, {**default, k: v}, dict(default)) for k, v in candidates
    }
    order = candidates
    try:
        for c, trial in trials.items():
            if history and c in history:
                trials[c] = replace(trial, expected=history[c], expected_from=HISTORY)
        for c, trial in trials.items():
            if trial.expected_from:
                continue
            if account.spent() + account.round_of(c) > FIRST_PASS_SHARE * budget_s:
                break  # no first pass for the rest: tried last, if at all
            try:
                done = account.timed(c, measure, trial.candidate, default, 0)
            except CandidateFailed as e:
                trials[c] = replace(trial, verdict=tuning.FAILED, why=f"failed: {e}")
                continue
            trials[c] = replace(
                trial, expected=done[0] / done[1], expected_from=FIRST_PASS, first_pass=done
            )
            progress(f"{c[0]}={c[1]}: first pass, {_ms(done)}")
        order = sorted(candidates, key=lambda c: _expected_order(trials[c]))
        progress("in order of expected gain: " + ", ".join(f"{k}={v}" for k, v in order))
        for i, c in enumerate(order):
            if trials[c].verdict == tuning.FAILED:
                continue
            trial = replace(trials[c], candidate={**best, c[0]: c[1]}, against=dict(best))
            try:
                trial = _tried(trial, default, measure, parity, account, len(order) - i, progress)
            except _Interrupted as e:
                trials[c] = e.trial
                raise
            trials[c] = trial
            progress(f"{c[0]}={c[1]}: {trial.why}")
            if trial.kept:
                best = trial.candidate
    except KeyboardInterrupt:
        for c, trial in trials.items():
            if trial.verdict == tuning.NOT_TRIED and not trial.why:
                trials[c] = replace(trial, why="not tried: interrupted before it")
        return Search(best, [trials[c] for c in order], True, account.spent())
    return Search(best, [trials[c] for c in order], False, account.spent())


def _expected_order(trial: Trial) -> tuple[int, float]:
    """The largest expected gain first; a candidate with no expectation last."""
    return (0, trial.expected) if trial.expected is not None else (1, 0.0)


def _ms(r: tuple[float, float]) -> str:
    return f"{1000 * r[0]:.0f} ms against {1000 * r[1]:.0f} ms a step"


def _tried(
    trial: Trial,
    default: Choice,
    measure: Measure,
    parity: Parity,
    account: _Clock,
    left: int,
    progress: Callable[[str], None],
) -> Trial:
    """`trial` probed, then timed until decided or out of its share of the budget (what
    is left over the `left` candidates left, this one included)."""
    c = (trial.knob, trial.value)
    reused = [trial.first_pass] if trial.first_pass and trial.against == default else []
    if account.left() < (MIN_ROUNDS - len(reused)) * account.round_of(c):
        done = "its first-pass round only" if trial.first_pass else "not tried"
        return replace(trial, why=f"{done}: over the budget")
    share = max(account.left() / left, MIN_ROUNDS * account.round_of(c))
    began = account.spent()
    try:
        trial = replace(trial, parity=parity(trial.candidate))
        assert trial.parity is not None
        if trial.parity.error:
            return replace(trial, verdict=tuning.FAILED, why=f"failed: {trial.parity.error}")
        if not trial.parity.within:
            return replace(
                trial,
                verdict=tuning.NUMERICS_DIFFER,
                why=f"not timed: its numerics differ from the defaults' ({trial.parity.text()})",
            )
        trial = replace(trial, rounds=reused)
        decision, ended = _rounds(trial, measure, account, share + began, progress)
    except KeyboardInterrupt:
        raise _Interrupted(replace(trial, verdict=tuning.INTERRUPTED, why="interrupted")) from None
    except CandidateFailed as e:
        return replace(trial, verdict=tuning.FAILED, why=f"failed: {e}")
    interval = trial.interval
    if interval is None:
        return replace(
            trial, verdict=tuning.UNDECIDED, why="too few rounds to judge: over the budget"
        )
    said = (
        f"{interval.geomean:.3f}× the step [95 %: {interval.low:.3f}–{interval.high:.3f}], "
        f"{len(trial.rounds)} rounds"
    )
    verdict = VERDICTS[decision]
    if decision == Decision.FASTER:
        return replace(trial, verdict=verdict, kept=True, why=f"{said}: faster, kept")
    if decision == Decision.SLOWER:
        return replace(trial, verdict=verdict, why=f"{said}: slower")
    if decision == Decision.EQUIVALENT:
        within = f"within ±{100 * MARGIN:g} % of the best"
        return replace(trial, verdict=verdict, why=f"{said}: {within}, not kept")
    return replace(trial, verdict=verdict, why=f"{said}: undecided, {ended}")


def _rounds(
    trial: Trial,
    measure: Measure,
    account: _Clock,
    until_s: float,
    progress: Callable[[str], None],
) -> tuple[Decision, str]:
    """Rounds added to `trial.rounds` until its interval decides, or until the budget's
    account reaches `until_s` (its share) or its end, or MAX_ROUNDS; the decision, and
    if undecided, what ended its rounds."""
    c = (trial.knob, trial.value)
    rounds = trial.rounds
    while True:
        if len(rounds) >= MIN_ROUNDS:
            decision = decide(trial.interval)
            if decision != Decision.UNDECIDED:
                return decision, ""
        if len(rounds) >= MAX_ROUNDS:
            return Decision.UNDECIDED, f"after {MAX_ROUNDS} rounds, the most a candidate gets"
        cost = account.round_of(c)
        if account.left() < cost:
            return Decision.UNDECIDED, "the budget ended"
        if len(rounds) >= MIN_ROUNDS and account.spent() + cost > until_s:
            return Decision.UNDECIDED, "its share of the budget ended"
        rounds.append(account.timed(c, measure, trial.candidate, trial.against, len(rounds)))
        progress(f"{c[0]}={c[1]}: round {len(rounds)}, {_ms(rounds[-1])}")
