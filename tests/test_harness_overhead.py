"""The overhead benchmark (benchmarks/harness_overhead.py) without training: its rounds'
order, its ratio and interval, and its parts' differences."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest
from test_overhead import make_record

from harness.record import overhead

ROOT = Path(__file__).resolve().parent.parent


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
    [r, _] = make_record().rounds
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
    assert bench.verdict(ratio, 1.03).startswith("not settled against 1.03")
    assert bench.fit_ratio([_round(10.0, 20.0)]) is None


def test_the_parts_differences_add_up_to_the_whole_processes_difference():
    [r, _] = make_record().rounds
    found = bench.differences(r)
    assert found["fit()"] == pytest.approx(1.0)
    assert found["build and compile"] == pytest.approx(0.1 + 0.01 - 0.1)
    assert sum(found.values()) == pytest.approx(r.harness.process_s - r.plain.process_s)
