"""The runs of one `python -m harness run`: each handed to the executor, announced as it
starts and as it ends, a failure told once, Ctrl-C and --fail-fast honoured, then the
report. This process never imports keras.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from harness import executors, launcher, report, results, text
from harness.config import RunSpec, system


class StopRun(Exception):
    """--fail-fast: a run failed, so the others are not started."""


class Console:
    """What `run` tells the user: lines for people, nothing with --quiet, or one JSON
    object per line with --json (the workers' own output then goes to stderr)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._lock = threading.Lock()  # runs announce themselves from their threads

    def _line(self, text: str) -> None:
        with self._lock:
            print(text, flush=True)

    def say(self, text: str) -> None:
        if self.mode == "normal":
            self._line(text)

    def event(self, **fields: object) -> None:
        if self.mode == "json":
            self._line(json.dumps(fields))


def label(spec: RunSpec) -> str:
    return f"{system(spec.backend, spec.impl)} (seed {spec.seed})"


def run(
    specs: list[RunSpec],
    executor: executors.Executor,
    results_dir: Path,
    console: Console,
    fail_fast: bool = False,
    report_after: bool = True,
) -> int:
    """Run `specs` (repeats included) on `executor` into `results_dir`, then rebuild its
    report (unless `report_after` is False); the command's exit status."""
    worker_options = () if console.mode == "normal" else ("--quiet",)
    invocation = results.new_invocation_id()
    running: dict[Path, str] = {}  # result file -> label, of the runs in progress

    def start(spec: RunSpec, place: executors.Place) -> launcher.Outcome | None:
        name = label(spec)
        console.say(
            f"==> {name}: {spec.model} on {spec.dataset}, profile {spec.profile}, "
            f"init {spec.init}, {spec.threads} threads{place.where}"
        )
        run_id = results.new_run_id(
            system(spec.backend, spec.impl).replace(" ", "-"),
            spec.model, spec.dataset, spec.profile, spec.seed,
        )  # fmt: skip
        out = results.runs_dir(results_dir) / f"{run_id}.json"
        running[out] = name
        outcome = place.launch(
            spec, out, invocation, *worker_options,
            stdout=sys.stderr if console.mode == "json" else None,
        )  # fmt: skip
        if outcome is not None:  # it finished; an interrupted run stays in `running`
            del running[out]
        return outcome

    failed = []
    try:
        for outcome in executor.map(specs, start):
            spec, out = outcome.spec, outcome.out
            name = label(spec)
            if outcome.result is None:
                if outcome.unrecorded:
                    print(f"warning: the failure of {name} was not recorded: "
                          f"{outcome.unrecorded}", file=sys.stderr)  # fmt: skip
                failed.append(name)
                # Each failure is told once: by the worker's own error line on
                # stderr, or here when the worker could not say it (killed).
                if outcome.told:
                    console.say(f"==> {name}: FAILED (the error above)")
                else:
                    print(f"error: {name}: {outcome.reason}", file=sys.stderr)
                console.event(event="run", backend=spec.backend, seed=spec.seed,
                              status="failed", reason=outcome.reason,
                              result=str(out))  # fmt: skip
                if fail_fast:
                    raise StopRun
                continue
            r = outcome.result
            training_s = r.timings.fit_s
            console.say(
                f"==> {name}: test accuracy {100 * r.metrics.test_accuracy:.2f} %, "
                f"{training_s:.1f} s training; {out}"
            )
            console.event(event="run", backend=spec.backend, seed=spec.seed, status="ok",
                          test_accuracy=r.metrics.test_accuracy,
                          training_s=training_s, result=str(out))  # fmt: skip
    except StopRun:
        console.say("==> stopped at the first failure (--fail-fast)")
    except KeyboardInterrupt:
        during = ", ".join(sorted(running.values())) or "the first run"
        it = "them" if len(running) > 1 else "it"
        print(f"\n==> interrupted during {during}; no result was written for {it}", file=sys.stderr)
        return 130
    if report_after:
        paths = report.write_report(results_dir)
        console.event(event="report", paths=[str(p) for p in paths])
        if console.mode != "json":
            print(f"report: {paths[0]}")
    if failed:
        print(
            f"error: {len(failed)} of {text.plural(len(specs), 'run')} failed: "
            f"{', '.join(failed)}; each is recorded with its reason in the results folder",
            file=sys.stderr,
        )
        return 1
    return 0
