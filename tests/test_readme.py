"""README and the documentation's pages quote committed results in blocks that
scripts/readme_blocks.py makes from them, and must hold what it makes now. What they say
in words of those results rests on the facts checked here on the records; the words
themselves are not matched."""

from pathlib import Path

import pytest

from harness.contract.spec import Impl
from harness.record import tuning
from harness.summary import grouping, timing_figures
from tests.factories import ROOT, load_script, make_overhead_record

blocks = load_script("readme_blocks")


@pytest.mark.parametrize("name", blocks.BLOCKS)
def test_the_pages_quote_the_committed_results_as_they_are(name):
    expected = blocks.make(name)
    texts = blocks.pages()
    for page in blocks.placed(texts)[name]:
        assert blocks.block(texts[page], name) == expected, (
            f"{page.relative_to(ROOT)}'s block {name!r} should read "
            f"(scripts/readme_blocks.py --write):\n{expected}"
        )


def _copy_pages(tmp_path, monkeypatch) -> dict[Path, str]:
    """README and docs/ copied into tmp_path, which the script then reads and writes."""
    (tmp_path / "README.md").write_text(
        (ROOT / "README.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    for page in (ROOT / "docs").rglob("*.md"):
        copy = tmp_path / page.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(blocks, "PAGES_ROOT", tmp_path)
    return blocks.pages()


def test_the_script_prints_a_block_a_page_lacks_and_writes_it_in_place(
    tmp_path, monkeypatch, capsys
):
    texts = _copy_pages(tmp_path, monkeypatch)
    [page] = blocks.placed(texts)["reference-ray"]
    stale = texts[page].replace("9 runs on 2 nodes", "8 runs on 2 nodes", 1)
    assert stale != texts[page]
    page.write_text(stale, encoding="utf-8")
    assert blocks.main(["--check"]) == 1
    assert capsys.readouterr().out.startswith(
        f"{page.relative_to(tmp_path)}'s block 'reference-ray' should read:\n"
        "<!-- reference-ray -->\nFrom "
    )
    assert blocks.main(["--write"]) == 0
    assert blocks.pages() == texts
    assert blocks.main(["--check"]) == 0


def test_a_block_no_page_holds_or_one_the_script_does_not_make_stops_it(
    tmp_path, monkeypatch, capsys
):
    texts = _copy_pages(tmp_path, monkeypatch)
    [page, *_] = blocks.placed(texts)["overhead"]
    without = texts[page].replace("<!-- overhead -->", "<!-- overheads -->", 1)
    page.write_text(without.replace("<!-- /overhead -->", "<!-- /overheads -->", 1))
    assert blocks.main(["--check"]) == 2
    assert capsys.readouterr().err == (
        f"error: {page.relative_to(tmp_path)} has a block 'overheads' that this script "
        "does not make\n"
    )
    page.write_text(without.replace("<!-- overheads -->\n", "", 1))
    assert blocks.main(["--check"]) == 2
    assert capsys.readouterr().err == "error: no page holds the block(s) overhead\n"


def test_ci_runs_the_test_command_readme_gives():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines()
    assert "\n    tox -m test\n" in readme
    assert any(line.endswith(" tox -m test") for line in ci if not line.startswith("#"))


def test_results_of_a_dirty_tree_are_not_quoted(tmp_path, monkeypatch, write_result):
    write_result(dirty=True)
    monkeypatch.setattr(blocks, "ROOT", tmp_path)
    with pytest.raises(blocks.Unquotable, match="^committed results must come from a clean tree$"):
        blocks.reference_table(tmp_path)


@pytest.mark.parametrize("folder", blocks.ANCHOR_FOLDERS)
def test_every_committed_anchor_learned_the_seed_model_and_agrees_with_keras_3(folder):
    found = blocks.anchors(ROOT / folder)
    assert found and all(a.anchor.test_accuracy >= 0.988 for a in found)
    assert all(min(a.same_class) > 0.99 for a in found)


def test_the_full_reference_has_no_outlying_sample_as_the_docs_say():
    runs = blocks.keras_3(blocks.ok_runs(ROOT / "results/reference/full"))
    assert timing_figures.OUTLIER_FACTOR == 3 and timing_figures.outliers(runs) == []


def test_an_overhead_record_is_quoted_with_the_interval_its_rounds_give(tmp_path, monkeypatch):
    from harness.record import overhead

    monkeypatch.setattr(blocks, "ROOT", tmp_path)
    overhead.write(make_overhead_record(), tmp_path)  # two rounds of 21 s over 20 s
    row = "| TensorFlow | 10,000 × 3 | 2 (outside ±3 %) | harness | 1.050 [1.050–1.050] | 1.050, "
    assert row in blocks.overhead_table(tmp_path)
    wrong = overhead.Interval(geomean=1.05, low=1.0, high=1.1)
    overhead.write(make_overhead_record(fit_ratio=wrong), tmp_path)
    with pytest.raises(blocks.Unquotable, match="^tensorflow's fit.. ratio is not the one its"):
        blocks.overhead_table(tmp_path)


def test_the_overhead_words_rest_on_the_committed_records():
    """The speed page: the records are of the campaign's machine and day, one clean
    commit, the plain script fed as the harness feeds; PyTorch's interval lies above 1 and
    its mean above the aim, the interval reaching below it; TensorFlow's and JAX's means
    are below 1, JAX's interval within the aim, TensorFlow's across it."""
    from harness.record import overhead
    from harness.summary import stats

    records = {r.backend: r for r in overhead.read_all(ROOT / "results/overhead")}
    ratio = {b: stats.ratio_interval([x.fit_ratio for x in r.rounds]) for b, r in records.items()}
    assert {r.plain_feed for r in records.values()} == {"harness"}
    assert len({(r.git.commit, r.git.dirty) for r in records.values()}) == 1
    assert not records["torch"].git.dirty
    campaign = blocks.campaign(ROOT / "results/speed").runs
    assert {r.machine.machine_id for r in records.values()} == {
        r.machine.fingerprint.machine_id for r in campaign
    }
    assert {r.created[:10] for r in records.values()} == {r.created[:10] for r in campaign}
    aim = {b: 1 + r.band for b, r in records.items()}
    assert 1 < ratio["torch"].low < aim["torch"] < ratio["torch"].geomean
    assert all(ratio[b].geomean < 1 for b in ("tensorflow", "jax"))
    assert ratio["jax"].high <= aim["jax"]
    assert ratio["tensorflow"].low < aim["tensorflow"] < ratio["tensorflow"].high


def _campaign(write_result, **one_run) -> None:
    """Two rounds of Keras 3 on TensorFlow and on JAX, one invocation, a minute apart:
    TensorFlow's steady steps 4 s then 5 s, JAX's twice as long in each round; the last
    run written with `one_run`'s changes."""
    cells = [(1, "tensorflow", 16.0), (1, "jax", 32.0), (2, "jax", 40.0), (2, "tensorflow", 20.0)]
    for minute, (round_, backend, epoch_s) in enumerate(cells):
        last = minute == len(cells) - 1
        write_result(
            **{
                "backend": backend,
                "profile": "speed",
                "invocation": "i1",
                "round": round_,
                "epochs_s": (epoch_s,),
                "host": "h",
                "created": f"2026-12-06T10:0{minute}:00Z",
                **(one_run if last else {}),
            }  # fmt: skip
        )


def test_the_campaign_block_pairs_each_row_with_tensorflow_round_by_round(
    tmp_path, monkeypatch, write_result
):
    monkeypatch.setattr(blocks, "ROOT", tmp_path)
    _campaign(write_result)
    made = blocks.campaign_block(tmp_path)
    assert made.startswith(
        "From the speed campaign in `.` (commit abc1234; 1 threads of an Test CPU, machine m1: "
        "avx2, avx512f, 24 GiB; 4 runs in 2 interleaved rounds, 2026-12-06 09:59–10:03 UTC,"
    )
    # the report's order, and its † on steps that spread widely (4 s and 5 s: 22 %)
    rows = [line for line in made.splitlines() if line.startswith("| Keras")]
    assert rows == [
        "| Keras 3 on TensorFlow | defaults | 4,500 ms † | 111 † | 1 |",
        # 8 s over 4 s, then 10 s over 5 s: 2 in both rounds, an interval of no width
        "| Keras 3 on JAX | defaults | 9,000 ms † | 56 † | 2.00 [2.00–2.00] |",
    ]
    assert made.endswith(
        "\n† noisy: the 10th–90th percentile range of its samples is wider "
        "than 10 % of the median.\n"
    )


@pytest.mark.parametrize(
    ("one_run", "why"),
    [
        ({"machine_id": "m2"}, "more than one machine"),
        ({"invocation": "i2"}, "more than one invocation"),
        ({"commit": "fed4321abc"}, "more than one commit"),
        ({"other_share": 0.5}, "a run was disturbed or shared the machine"),
        ({"created": "2026-12-06T10:02:10Z"}, "a run was disturbed or shared the machine"),
    ],
)
def test_a_campaign_is_quoted_only_from_one_machine_invocation_and_commit_undisturbed(
    tmp_path, monkeypatch, write_result, one_run, why
):
    monkeypatch.setattr(blocks, "ROOT", tmp_path)
    _campaign(write_result, **one_run)
    with pytest.raises(blocks.Unquotable, match=why):
        blocks.campaign_block(tmp_path)


def test_why_one_backend_is_slower_says_what_the_campaign_says():
    """The anchors page's words on each backend, each ratio paired by round."""
    c = blocks.campaign(ROOT / blocks.SPEED)
    tf, tf_native = c.row("tensorflow"), c.row("tensorflow", Impl.NATIVE)
    assert not c.speed(tf, c.row("keras2")).beyond_noise
    assert not c.speed(tf, tf_native).beyond_noise
    torch, torch_native = c.row("torch"), c.row("torch", Impl.NATIVE)
    assert c.speed(torch, torch_native).interval.low > 1
    assert c.speed(torch_native, tf_native).interval.low > 1
    assert not c.speed(c.row("torch", tuned=True), torch_native).beyond_noise
    jax, jax_tuned = c.row("jax"), c.row("jax", tuned=True)
    assert not c.speed(jax, c.row("jax", Impl.NATIVE)).beyond_noise
    assert c.speed(jax_tuned, jax).interval.high < 0.5
    assert c.speed(jax_tuned, tf).interval.low > 1


def test_the_tuned_words_rest_on_the_tuning_records_and_the_campaign():
    c = blocks.campaign(ROOT / blocks.SPEED)
    machine = grouping.machine_of(c.runs[0])
    records = {
        b: tuning.read(tuning.path(ROOT / blocks.SPEED / "tuning", b, machine))
        for b in ("tensorflow", "torch", "jax")
    }
    kept = {b: {t.knob for t in r.trials if t.kept} for b, r in records.items()}
    assert kept == {"tensorflow": set(), "torch": {"malloc"}, "jax": {"xla"}}
    tf_trials = {t.knob: t for t in records["tensorflow"].trials}
    assert tf_trials["onednn"].low > 1 and tf_trials["xla"].low > 1
    assert tf_trials["malloc"].low < 1 < tf_trials["malloc"].high
    assert sum(r.spent_s for r in records.values()) < 30 * 60
    assert any(not t.rounds for r in records.values() for t in r.trials)  # left untried
    tf = c.row("tensorflow")
    assert all(c.speed(c.row(b, tuned=True), tf).interval.low > 1 for b in ("torch", "jax"))
