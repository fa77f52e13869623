"""How often `harness tune`'s stopping rule keeps a setting that changes nothing: its
search (harness/commands/tune_search.py) on one candidate whose step equals the best's,
each round's ratio drawn log-normal with the noise given, SEARCHES times per noise level.
Prints, per noise level, the share of searches that ended faster (a false "faster",
which would be kept), slower, equivalent and undecided, and the mean rounds, as JSON.
No framework, no clock: it takes seconds.

    python benchmarks/tune_stopping.py [SEARCHES] [NOISE ...]      # 4000 0.03 0.1 0.2
"""

import json
import math
import random
import statistics
import sys
from collections import Counter

from harness.commands.tune_search import search
from harness.record import tuning
from harness.summary.numerics import PARITY_TOLERANCES

searches = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
noises = [float(a) for a in sys.argv[2:]] or [0.03, 0.1, 0.2]
rng = random.Random(1)
agreeing = tuning.ParityCheck(10, 0.0, 0.0, None, PARITY_TOLERANCES, True)
found = {}
for noise in noises:
    verdicts, rounds = Counter(), []
    for _ in range(searches):
        [trial] = search(
            [("knob", ["default", "candidate"])],
            lambda candidate, best, index, s=noise: (math.exp(rng.gauss(0, s)), 1.0),
            lambda candidate: agreeing,
            budget_s=math.inf,
            clock=lambda: 0.0,
        ).trials
        verdicts[trial.verdict] += 1
        rounds.append(len(trial.rounds))
    found[noise] = {
        **{
            v: verdicts[v] / searches
            for v in (tuning.FASTER, tuning.SLOWER, tuning.EQUIVALENT, tuning.UNDECIDED)
        },  # fmt: skip
        "mean rounds": statistics.mean(rounds),
    }
print(json.dumps({"searches": searches, "by noise": found}, indent=2))
