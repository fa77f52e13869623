"""The runs of one `python -m harness run`: each handed to the executor, announced as it
starts and as it ends, a failure told once, Ctrl-C and --fail-fast honoured, then the
render. This process never imports keras.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import stat
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from harness.backends import resolve
from harness.commands import interrupts, options, progress, report_command, resume
from harness.contract.checks import check_data_dir
from harness.contract.spec import PROFILES, ConfigError, Impl, Init, RunSpec
from harness.contract.task import WorkerTask
from harness.launch import executors, process
from harness.origin import fingerprint, provenance
from harness.record import store
from harness.record.results import RunResult
from harness.record.schema import Status
from harness.report import text
from harness.summary import enough, timing_figures
from harness.summary.comparisons import DEFAULT_MARGIN


class StopRun(Exception):
    """--fail-fast: a run failed, so the others are not started."""


class FolderLost(Exception):
    """The results folder is not a folder any more: nothing more can be written there."""


class ResultsFolder:
    """The results folder of one `run`, looked at again between runs and before the
    report_command. Moved away or removed, it would be made again by the next run without a word,
    and its report would lack the results written before: that is said, once. Replaced
    by a file, nothing more can be written there: `FolderLost`."""

    def __init__(self, results_dir: Path) -> None:
        self.results_dir = results_dir
        self.runs = store.runs_dir(results_dir)
        self.seen = self._identity()
        self.moved = False

    def _identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.runs)
        except FileNotFoundError:
            return None
        except NotADirectoryError:  # a file where the results folder was
            st = None
        if st is None or not stat.S_ISDIR(st.st_mode):
            raise FolderLost(
                f"results folder {self.results_dir} is not a folder any more (a file "
                "replaced it or its runs/ during this run): stopped, since nothing more "
                "can be written there"
            )
        return st.st_dev, st.st_ino

    def check(self) -> None:
        if self._identity() != self.seen and not self.moved:
            self.moved = True
            print(
                f"warning: {self.runs} was moved or removed during this run; it is made "
                "again for what follows, without the results written before",
                file=sys.stderr,
            )


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


def rounds(cells: list[RunSpec], n: int) -> list[RunSpec]:
    """Every cell once in each of `n` rounds, the order rotated by one cell a round, so
    that the machine's drift falls on every cell alike and each cell takes each place
    in turn; each run knows its round."""
    out = []
    for r in range(n):
        k = r % len(cells)
        out += [dataclasses.replace(c, round=r + 1) for c in cells[k:] + cells[:k]]
    return out


# --rounds auto looks at the intervals from this many rounds on: the earliest, widest
# looks would stop on a lucky narrow interval more often.
MIN_AUTO_ROUNDS = 3
now = time.monotonic


class AutoPlan:
    """--rounds auto: after each round of `cells`, another, until every compared speed
    ratio of the runs so far is within ±width (`summary.enough`, from MIN_AUTO_ROUNDS
    rounds on), or another round, as long as the rounds so far took on average, would
    end after `budget_s`; then it says which ratios did not get there."""

    def __init__(
        self, cells: list[RunSpec], auto: options.AutoRounds, budget_s: float, console: Console
    ) -> None:
        self.cells, self.width, self.budget_s, self.console = cells, auto.width, budget_s, console
        self.rounds = 1
        self.started = now()

    def first(self) -> list[RunSpec]:
        return rounds(self.cells, 1)

    def __call__(self, done: list[RunResult]) -> list[RunSpec]:
        spent = now() - self.started
        aim = f"±{100 * self.width:g} %"
        wide = enough.wide(done, self.width)
        if self.rounds >= MIN_AUTO_ROUNDS and not wide:
            self.console.say(
                f"==> --rounds auto: every compared ratio's 95 % interval within {aim} after "
                f"{self.rounds} rounds"
            )
            self.console.event(event="rounds", rounds=self.rounds, within=True, wide=[])
            return []
        if spent + spent / self.rounds > self.budget_s:
            self.console.say(
                f"==> --rounds auto: the round budget ({progress.duration(self.budget_s)}) "
                f"ends after {self.rounds} rounds; not within {aim}: "
                + "; ".join(f"{r.what} {text.width_text(r.interval)}" for r in wide)
            )
            self.console.event(
                event="rounds", rounds=self.rounds, within=False, wide=[r.what for r in wide]
            )
            return []
        self.rounds += 1
        return rounds(self.cells, self.rounds)[-len(self.cells) :]


def label(spec: RunSpec) -> str:
    return f"{spec.system} (seed {spec.seed})"


def run(
    specs: list[RunSpec],
    executor: executors.Executor,
    results_dir: Path,
    console: Console,
    fail_fast: bool = False,
    report_after: bool = True,
    margin: float = DEFAULT_MARGIN,
    more: Callable[[list[RunResult]], list[RunSpec]] | None = None,
) -> int:
    """Run `specs` (repeats included) on `executor` into `results_dir`, then, when `more`
    is given, the runs it asks for after each batch (given the results so far; none: the
    end), then rebuild its report (unless `report_after` is False; `margin`: its
    equivalence margin, in points); the command's exit status."""
    invocation = store.new_invocation_id()
    running: dict[Path, str] = {}  # result file -> label, of the runs in progress
    tally = progress.Progress([s.system for s in specs], executor.at_once)

    def start(spec: RunSpec, place: executors.Place) -> process.Outcome | None:
        name, kind = label(spec), spec.system
        number, left = tally.start(kind)
        threads = text.plural(spec.threads, "thread")
        console.say(
            f"==> run {number} of {tally.total}: {name}: {spec.model} on {spec.dataset}, "
            f"profile {spec.profile}, init {spec.init}, {threads}{place.where}"
            + (f"; {left}" if left else "")
        )
        run_id = store.new_run_id(
            kind.replace(" ", "-"), spec.model, spec.dataset, spec.profile, spec.seed
        )
        out = store.runs_dir(results_dir) / f"{run_id}.json"
        running[out] = name
        outcome = None
        try:
            quiet = console.mode != "normal"
            task = WorkerTask(out, spec, quiet=quiet, invocation=invocation, profile_ops=True)
            outcome = place.launch(task, stdout=sys.stderr if console.mode == "json" else None)
        finally:
            tally.finish(number, outcome is not None and outcome.result is not None)
        if outcome is not None:  # it finished; an interrupted run stays in `running`
            del running[out]
        return outcome

    failed = []
    done: list[RunResult] = []
    folder = ResultsFolder(results_dir)
    batch, total = specs, len(specs)
    last: process.Outcome | None = None

    def record(outcome: process.Outcome) -> None:
        """Tell `outcome` (a FolderLost if the results folder is gone)."""
        nonlocal last
        last = outcome
        spec, out = outcome.spec, outcome.out
        name = label(spec)
        folder.check()
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
                          status=Status.FAILED, reason=outcome.reason,
                          result=str(out))  # fmt: skip
            if fail_fast:
                raise StopRun
            return
        r = outcome.result
        done.append(r)
        training_s = timing_figures.training_s(r)
        console.say(
            f"==> {name}: test accuracy {100 * r.metrics.test_accuracy:.2f} %, "
            f"{training_s:.1f} s training; {out}"
        )
        console.event(event="run", backend=spec.backend, seed=spec.seed, status=Status.OK,
                      test_accuracy=r.metrics.test_accuracy,
                      training_s=training_s, result=str(out))  # fmt: skip

    try:
        while batch:
            for outcome in executor.map(batch, start):
                record(outcome)
            batch = more(done) if more else []
            tally.add([s.system for s in batch])
            total += len(batch)
    except StopRun:
        console.say("==> stopped at the first failure (--fail-fast)")
    except KeyboardInterrupt as e:
        during = ", ".join(sorted(running.values())) or "the first run"
        it = "them" if len(running) > 1 else "it"
        return interrupts.said(e, f"during {during}; no result was written for {it}")
    except FolderLost as e:
        # A worker that could not write its files there said so itself, in one line.
        if not (last and last.result is None and last.told and last.unrecorded):
            print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        folder.check()  # before the report, or the end of a run without one
    except FolderLost as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if report_after:
        before = report_command.current(results_dir)
        try:
            paths = report_command.write(results_dir, margin=margin)
        except KeyboardInterrupt as e:
            return report_command.interrupted(
                e, results_dir, before, "every run's result is kept; "
            )
        console.event(event="report", paths=[str(p) for p in paths])
        if console.mode != "json":
            print(f"report: {paths[0]}")
    if failed:
        print(
            f"error: {len(failed)} of {text.plural(total, 'run')} failed: "
            f"{', '.join(failed)}; each is recorded with its reason in the results folder",
            file=sys.stderr,
        )
        return 1
    return 0


def executor(args: argparse.Namespace, threads: int) -> executors.Executor:
    """The executor the options ask for; a Ray cluster is reached (and checked) here,
    before any run starts."""
    if args.executor != "ray":
        for given, option in ((args.address, "--address"), (args.exclusive, "--exclusive"),
                              (args.retries, "--retries")):  # fmt: skip
            if given:
                raise ConfigError(f"{option} is for --executor ray")
        return executors.Jobs(args.jobs, threads) if args.jobs > 1 else executors.Local()
    if args.jobs > 1:
        raise ConfigError("--jobs is for this machine; with --executor ray, Ray places the runs")
    if not args.address:
        raise ConfigError(
            "--executor ray needs --address HOST:PORT, the head node's (`ray start --head` "
            "prints it)"
        )
    from harness.launch import ray_cluster

    return ray_cluster.Ray(args.address, threads, args.exclusive, args.retries or 0)


def with_settings(
    specs: list[RunSpec], settings: list[str], results_dir: Path, say: Callable[[str], None]
) -> list[RunSpec]:
    """Each spec at the defaults and/or with this machine's tuned settings (`settings`);
    a backend with nothing to tune, or a native run, runs at its defaults alone."""
    out = []
    for spec in specs:
        backend = resolve(spec.backend)
        if "default" in settings:
            out.append(spec)
        if "tuned" not in settings:
            continue
        if not backend.tuning_space or spec.impl != Impl.KERAS:
            what = "the plain framework" if spec.impl != Impl.KERAS else backend.name
            say(f"==> {what}: nothing to tune, its defaults only")
            if "default" not in settings:
                out.append(spec)
            continue
        tuned = options.tuned_settings(backend, results_dir)
        if not tuned.recorded:
            say(
                f"==> {backend.name}: tuned means {tuned.source} (`harness tune --backend "
                f"{backend.name}` measures them on this machine)"
            )
        every_knob = backend.tuning(tuned.choice, tuned.source).choice
        out.append(
            dataclasses.replace(spec, tuning=tuple(every_knob.items()), tuning_source=tuned.source)
        )
    return out


def resumed(planned: list[RunSpec], args: argparse.Namespace, console: Console) -> list[RunSpec]:
    """--resume: the runs of `planned` whose cells have no ok run in the results folder of
    the code at hand on this machine (`resume.resume`); how many it skips said in a line."""
    if args.executor == "ray":
        raise ConfigError(
            "--resume skips the runs this machine made, and under --executor ray the runs "
            "are the nodes'; run it without --resume"
        )
    records, _ = store.read_all(args.results)
    code = provenance.code()
    found = resume.resume(planned, records, code, fingerprint.fingerprint().machine_id)
    whose = (
        f"of this code ({code.commit[:7]}{'+dirty' if code.dirty else ''})"
        if code
        else "of known code (this code has no commit to tell it by)"
    )
    console.say(
        f"==> --resume: {found.skipped} of {text.plural(len(planned), 'run')} skipped: their "
        f"cells have an ok run {whose} on this machine in {args.results}"
    )
    console.event(event="resume", skipped=found.skipped, to_run=len(found.to_run))
    return found.to_run


def main(args: argparse.Namespace) -> int:
    backends = options.backends(args)
    console = Console("json" if args.json else "quiet" if args.quiet else "normal")
    specs = with_settings(options.specs(args, backends), args.settings, args.results, console.say)
    if args.executor != "ray":  # on a cluster, the folder is the nodes' (they check it)
        check_data_dir(args.data_dir)
    options.writable(store.runs_dir(args.results))
    if not args.no_report:
        options.writable(args.results)
    keras = [s for s in specs if s.impl == Impl.KERAS]
    if keras and keras[0].model_sha256 is not None:  # a model's file of one's own
        process.check_model(keras[0])
    plan = None
    if isinstance(args.rounds, options.AutoRounds):
        if args.resume:
            raise ConfigError("--resume needs a number of rounds, not --rounds auto")
        plan = AutoPlan(specs, args.rounds, 60 * args.round_budget, console)
        planned = plan.first()
    else:
        planned = rounds(specs, args.rounds)
    if args.resume:
        planned = resumed(planned, args, console)
    return run(
        planned,
        executor(args, specs[0].threads),
        args.results,
        console,
        fail_fast=args.fail_fast,
        report_after=not args.no_report,
        margin=args.margin,
        more=plan,
    )


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="train and evaluate on one or more backends")
    options.cell_options(p)
    p.add_argument(
        "--profile",
        default="seed",
        choices=sorted(PROFILES),
        help="seed: the published recipe; quick: 1 epoch on 6,000 images; speed: 30 "
        "steps, for speed in rounds",
    )
    p.add_argument(
        "--settings",
        type=options.settings,
        default=["default"],
        help="default, tuned, or default,tuned: each backend at its defaults and/or with "
        "the settings `harness tune` chose on this machine (else its plugin's fallback)",
    )
    p.add_argument("--seeds", type=options.seeds, default=[1], help="e.g. 1,2,3 (default 1)")
    p.add_argument(
        "--rounds",
        type=options.rounds_option,
        default=1,
        help="run every cell (backend, seed, ...) once per round, N rounds, in an order "
        "that rotates from round to round: speed ratios are paired by round; auto (or "
        "auto:W%%): rounds until every compared ratio's 95 %% interval is within ±5 %% "
        "(±W %%) of it, or --round-budget ends",
    )
    p.add_argument(
        "--round-budget",
        type=options.budget_minutes,
        default=60.0,
        metavar="MINUTES",
        help="--rounds auto: no round is begun that would end after this many minutes of "
        "rounds, as long as the rounds so far took on average (default 60)",
    )
    p.add_argument("--epochs", type=options.epochs, help="at most 1,000")
    p.add_argument("--learning-rate", type=options.positive_float, help="override the recipe's")
    p.add_argument(
        "--target",
        type=options.target,
        help="the test accuracy whose time to reach is measured, as a fraction (default: the "
        "model's; the seed model's is 0.988)",
    )
    p.add_argument(
        "--stop-at-target",
        action="store_true",
        default=None,
        help="end each run after the first epoch whose test accuracy reaches the target "
        "(MLPerf's rule; default: train every epoch of the recipe)",
    )
    p.add_argument(
        "--perturb-init",
        action="store_true",
        default=None,
        help="move one initial weight by one ulp: training's own instability, beside the "
        "backends' drift apart (its row is marked +1ulp)",
    )
    p.add_argument(
        "--init",
        choices=[i.value for i in Init],
        help="harness (default): the same initial weights, batch order and dropout masks on "
        "every backend; keras: each backend's own initialisation, shuffling and masks",
    )
    p.add_argument(
        "--deterministic",
        action="store_true",
        default=None,
        help="turn on each backend's determinism controls",
    )
    p.add_argument(
        "--impl",
        type=options.impls,
        help="keras (default): the model on Keras; native: the same model in the backend's "
        "framework alone (an anchor row, where the model has one); keras,native: both, "
        "native where the model has it",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="go on with a campaign that stopped: run only the cells (backend, seed, "
        "variant, ...) with no ok run in the results folder of this code on this machine",
    )
    p.add_argument("--no-report", action="store_true", help="do not rebuild the report")
    options.margin_option(p)
    p.add_argument(
        "--fail-fast", action="store_true", help="stop at the first failed run (default: go on)"
    )
    p.add_argument(
        "--jobs",
        type=options.positive_int,
        default=1,
        help="runs at once on this machine, each pinned to its own --threads CPUs "
        "(default 1: one at a time, for the cleanest timings)",
    )
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local (default): this machine; ray: each run a task on the Ray cluster at "
        "--address, asking for --threads CPUs (pip install 'keras-backend-harness[ray]')",
    )
    p.add_argument("--address", help="the Ray cluster's head, HOST:PORT (--executor ray)")
    p.add_argument(
        "--exclusive",
        action="store_true",
        help="--executor ray: one run per node at a time, for timings (each run asks for "
        "as many CPUs as the cluster's largest node has)",
    )
    p.add_argument(
        "--retries",
        type=options.non_negative_int,
        help="--executor ray: rerun a run whose node was lost up to N times (default 0)",
    )
    output = p.add_mutually_exclusive_group()
    output.add_argument("--quiet", action="store_true", help="print only errors and the report")
    output.add_argument(
        "--json", action="store_true", help="print one JSON object per finished run on stdout"
    )
    p.set_defaults(func=main)
