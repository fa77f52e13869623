"""The overhead benchmark (benchmarks/harness_overhead.py) without training: its rounds'
order, its ratio and interval, and its parts' differences."""

import dataclasses
import importlib.util
import math
import sys

import pytest

from harness.record import overhead
from tests.factories import ROOT, make_overhead_record, make_result


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "harness_overhead", ROOT / "benchmarks/harness_overhead.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load_script()


def test_the_order_turns_round_by_round_so_each_pair_of_rounds_is_abba():
    ran = [kind for i in range(4) for kind in bench.order(i)]
    assert ran == ["plain", "harness", "harness", "plain"] * 2
    firsts = [bench.order(i)[0] for i in range(6)]
    assert firsts.count("plain") == firsts.count("harness") == 3


@pytest.mark.parametrize("rounds", ["3", "1", "0"])
def test_an_odd_number_of_rounds_is_refused(rounds, capsys):
    with pytest.raises(SystemExit) as e:
        bench.main(["--backend", "tensorflow", "--rounds", rounds, "--out", "/nonexistent"])
    assert e.value.code == 2
    assert f"--rounds must be even, so that each process goes first as often, got {rounds}" in (
        capsys.readouterr().err
    )


def _round(plain_fit_s: float, harness_fit_s: float) -> overhead.Round:
    [r, _] = make_overhead_record().rounds
    return overhead.Round(
        first="plain",
        plain=overhead.Plain(**{**vars(r.plain), "fit_s": plain_fit_s}),
        harness=overhead.Harness(**{**vars(r.harness), "fit_s": harness_fit_s}),
    )


def test_the_fit_ratio_is_the_geometric_mean_of_the_rounds_with_a_t_interval():
    # ratios 2, 4, 8: logs 1, 2, 3 times ln 2, mean 2 ln 2 (geomean 4), sd ln 2
    ratio = bench.fit_ratio([_round(10.0, 20.0), _round(5.0, 20.0), _round(2.5, 20.0)])
    half = 4.302653 * math.log(2) / math.sqrt(3)  # t(0.975, 2) = 4.3027
    assert ratio.geomean == pytest.approx(4.0)
    assert ratio.low == pytest.approx(4 * math.exp(-half), rel=1e-6)
    assert ratio.high == pytest.approx(4 * math.exp(half), rel=1e-6)
    # 1.02 and 1.04 by turns: the interval is the rounds' spread, not the limit
    ratio = bench.fit_ratio([_round(50.0, 51.0), _round(50.0, 52.0)] * 2)
    assert ratio.geomean == pytest.approx(math.sqrt(1.02 * 1.04))
    assert ratio.low < 1.02 < 1.03 < 1.04 < ratio.high
    assert bench.settled(ratio, 0.03) is None
    assert bench.fit_ratio([_round(10.0, 20.0)]) is None


def _rounds_of(ratios: list[float]):
    """A stand-in for running round i: plain 50 s, the harness 50 s times ratios[i]."""
    ran = []

    def run_round(i: int) -> overhead.Round:
        ran.append(i)
        return _round(50.0, 50.0 * ratios[i])

    return run_round, ran


@pytest.mark.parametrize(
    ("ratios", "most", "rounds", "stopped"),
    [
        # steady at 1.00-1.01: the first four rounds settle it within 1 ± 0.03
        ([1.0, 1.01] * 8, 16, 4, "within"),
        # steady at 1.10-1.11: wholly above 1.03 after four; more would not bring it in
        ([1.10, 1.11] * 8, 16, 4, "outside"),
        # ±8 % in the first four, then steady: [0.9714, 1.0274] after 13 rounds, not
        # before; rounds come in pairs, so 14
        ([0.92, 1.08, 0.92, 1.08] + [1.0] * 20, 16, 14, "within"),
        ([0.92, 1.08, 0.92, 1.08] + [1.0] * 20, 12, 12, "round limit"),
        # ±20 % by turns never settles: the round limit
        ([0.8, 1.25] * 10, 10, 10, "round limit"),
    ],
)
def test_rounds_are_added_two_at_a_time_until_the_ratio_is_settled_or_the_limit(
    ratios, most, rounds, stopped
):
    run_round, ran = _rounds_of(ratios)
    measured, why = bench.measure(run_round, first=4, most=most, band=0.03)
    assert (len(measured), why) == (rounds, stopped)
    assert ran == list(range(rounds))  # each round once, in order: the order keeps turning
    assert [r.fit_ratio for r in measured] == pytest.approx(ratios[:rounds])


def test_the_verdict_says_where_the_interval_ended_and_after_how_many_rounds():
    above = overhead.Interval(geomean=1.1, low=1.05, high=1.15)
    assert bench.verdict(above, 0.03, "outside", 4) == "ABOVE [0.97, 1.03] after 4 rounds"
    below = overhead.Interval(geomean=0.9, low=0.85, high=0.95)
    assert bench.verdict(below, 0.03, "outside", 6) == "BELOW [0.97, 1.03] after 6 rounds"
    wide = overhead.Interval(geomean=1.0, low=0.9, high=1.1)
    assert bench.verdict(wide, 0.03, "round limit", 16) == (
        "not settled against [0.97, 1.03]: the round limit (16) was hit"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-rounds", "7"], "--max-rounds must be even, so that each process goes first"),
        (["--rounds", "6", "--max-rounds", "4"], "--max-rounds must be >= --rounds (6), got 4"),
        (["--band", "0"], "--band must be > 0 and < 1, got 0.0"),
    ],
)
def test_a_round_limit_or_band_that_cannot_work_is_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        bench.main(["--backend", "tensorflow", "--out", "/nonexistent", *argv])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_the_parts_differences_add_up_to_the_whole_processes_difference():
    [r, _] = make_overhead_record().rounds
    found = bench.differences(r)
    assert found["fit()"] == pytest.approx(1.0)
    assert found["epoch evaluations"] == pytest.approx(0.6)
    assert found["build and compile"] == pytest.approx(0.1 + 0.01 - 0.1)
    assert sum(found.values()) == pytest.approx(r.harness.process_s - r.plain.process_s)


def test_the_harness_fit_leaves_out_the_evaluations_after_each_epoch_as_their_own_part():
    # four epochs of 30, 20, 21 and 19 s, each evaluated in 2.5 s inside fit()
    record = make_result(evaluate_s=2.5)
    found = bench.phases(record, process_s=150.0)
    assert found.epoch_evaluations_s == pytest.approx(4 * 2.5)
    assert found.fit_s == pytest.approx(record.timings.fit_s - 10.0)
    assert found.fit_s + found.epoch_evaluations_s == pytest.approx(record.timings.fit_s)
    # a run that evaluated no epoch (the speed profile): its fit() as it is
    record = make_result(epoch_accuracy=())
    found = bench.phases(record, process_s=150.0)
    assert (found.epoch_evaluations_s, found.fit_s) == (0.0, record.timings.fit_s)


def test_a_phase_the_speed_profile_skips_took_no_time():
    record = make_result(epoch_accuracy=())
    speed = dataclasses.replace(
        record, timings=dataclasses.replace(record.timings, predict_s=None, latency_s=None)
    )
    found = bench.phases(speed, process_s=150.0)
    assert (found.predict_s, found.latency_s) == (0.0, 0.0)
    assert found.evaluate_s == record.timings.evaluate_s > 0
    assert found.rest_s == pytest.approx(bench.phases(record, 150.0).rest_s + 0.1 + 0.1)
