"""What README quotes from committed results is generated here from those results and
must be in README as generated, so that README and results cannot drift apart.

Each quoted block sits between `<!-- name -->` and `<!-- /name -->` in README.md; when
results change, a failing test prints the block to paste."""

import json
import statistics
from pathlib import Path

import pytest

from harness import results, speed, summary

ROOT = Path(__file__).resolve().parent.parent
BACKEND_ORDER = ("tensorflow", "torch", "jax")
NAMES = {"tensorflow": "TensorFlow", "torch": "PyTorch", "jax": "JAX"}


def block(name: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = f"<!-- {name} -->\n", f"<!-- /{name} -->"
    assert start in text and end in text, f"README.md has no block {name!r}"
    return text.split(start, 1)[1].split(end, 1)[0]


def _ok_runs(folder: Path) -> list[results.RunResult]:
    found, warnings = results.read_all(folder)
    assert warnings == []
    return [r for r in found if r.status == "ok"]


def _commits(runs: list[results.RunResult]) -> str:
    git = [r.environment.git for r in runs]
    assert not any(g.dirty for g in git), "committed results must come from a clean tree"
    return ", ".join(sorted({g.commit[:7] for g in git}))


def _keras_3(runs: list[results.RunResult]) -> list[results.RunResult]:
    return [r for r in runs if r.spec.impl == "keras" and r.spec.backend in BACKEND_ORDER]


def reference_table(folder: Path) -> str:
    runs = _keras_3(_ok_runs(folder))
    table = sorted(
        summary.rows(runs),
        key=lambda row: (BACKEND_ORDER.index(row.backend), row.variant.group.profile),
    )
    out = [
        f"From the runs in `{folder.relative_to(ROOT)}` (commit {_commits(runs)}), medians "
        "from its report:",
        "",
        "| backend | profile | test accuracy | whole run | training, fit() | × TensorFlow "
        "| unaccounted | warm-up | steady step | images/s | GFLOP/s | matmul peak | share "
        "| others' CPU |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    tensorflow = {
        row.variant.group.profile: row.fit_s for row in table if row.backend == "tensorflow"
    }
    for row in table:
        profile, wall = row.variant.group.profile, row.median("wall_s")
        out.append(
            f"| {NAMES[row.backend]} | {profile} "
            f"| {100 * row.test_accuracy:.2f} % | {wall:,.0f} s "
            f"| {row.fit_s:,.0f} s | {row.fit_s / tensorflow[profile]:.2f} "
            f"| {100 * row.median('unaccounted_s') / wall:.2f} % "
            f"| {row.median('warmup_s'):,.1f} s | {1000 * row.median('step_s'):,.0f} ms "
            f"| {row.train_images_per_s:,.0f} | {row.training_gflops:.0f} "
            f"| {row.peak_gflops:.0f} | {100 * row.share_of_peak:.0f} % "
            f"| {100 * row.other_cpu_share_max:.1f} % |"
        )
    return "\n".join(out) + "\n"


def _span(values: list[float], digits: int, unit: str = "") -> str:
    return f"{min(values):.{digits}f}–{max(values):.{digits}f}{unit}"


def overhead_table(folder: Path) -> str:
    records = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    records.sort(key=lambda r: BACKEND_ORDER.index(r["backend"]))
    assert records and not any(r["git"]["dirty"] for r in records)
    commits = ", ".join(sorted({r["git"]["commit"][:7] for r in records}))
    out = [
        f"From `{folder.relative_to(ROOT)}` (commit {commits}), medians over the rounds:",
        "",
        "| backend | images × epochs | rounds | fit() harness / plain [min–max] "
        "| … harness second, first | fit() plain [min–max] | fit() harness [min–max] "
        "| whole process plain, harness |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in records:
        m, ratios = r["medians"], [x["fit_ratio"] for x in r["rounds"]]
        by_order = {
            first: statistics.median(x["fit_ratio"] for x in r["rounds"] if x["first"] == first)
            for first in ("plain", "harness")
        }
        plain = [x["plain"]["parts"]["fit_s"] for x in r["rounds"]]
        harness = [x["harness"]["parts"]["fit_s"] for x in r["rounds"]]
        out.append(
            f"| {NAMES[r['backend']]} | {r['images']:,} × {r['epochs']} | {len(r['rounds'])} "
            f"| {m['fit_ratio']:.3f} [{_span(ratios, 3)}] "
            f"| {by_order['plain']:.3f}, {by_order['harness']:.3f} "
            f"| {m['plain_fit_s']:.1f} s [{_span(plain, 1, ' s')}] "
            f"| {m['harness_fit_s']:.1f} s [{_span(harness, 1, ' s')}] "
            f"| {m['plain_process_s']:.1f} s, {m['harness_process_s']:.1f} s |"
        )
        assert statistics.median(ratios) == pytest.approx(m["fit_ratio"])
    return "\n".join(out) + "\n"


def seeds_block(folder: Path) -> str:
    """Accuracy over seeds, agreement and noise of the seed-profile runs with identical
    starting points."""
    runs = [r for r in _ok_runs(folder) if r.spec.profile == "seed" and r.spec.init == "harness"]
    [n] = summary.noise(runs)
    commits = sorted({r.environment.git.commit[:7] for r in runs})
    out = [
        f"From the seed-profile runs with identical starting points in "
        f"`{folder.relative_to(ROOT)}` (commits {', '.join(commits)}; times not for quoting):",
        "",
    ]
    for b in BACKEND_ORDER:
        acc = n.backends[b]
        out.append(
            f"- {NAMES[b]}: {100 * acc.mean:.2f} % ± {100 * acc.std:.2f} over seeds "
            + ", ".join(map(str, acc.seeds))
        )
    pairs = {}
    for p in summary.agreement(runs, folder, []):
        pairs.setdefault(p.backends, []).append(100 * p.predictions.same_class)
    for (a, b), same in sorted(pairs.items()):
        out.append(
            f"- {NAMES[a]} and {NAMES[b]} predict the same class for {min(same):.2f} % to "
            f"{max(same):.2f} % of the test images (same seed)"
        )
    for t in n.tests:
        (a, b), test = t.backends, t.test
        out.append(
            f"- {NAMES[a]} − {NAMES[b]}: {100 * test.mean_difference:+.3f} points "
            f"(paired t-test over {test.n} seeds, p = {test.p:.2f})"
        )
    return "\n".join(out) + "\n"


def _anchors(folder: Path) -> list[summary.Anchor]:
    runs = _ok_runs(folder)
    return summary.anchors(summary.rows(runs), summary.agreement(runs, folder, []))


def anchors_block(folder: Path) -> str:
    """Keras 3 against each anchor row: Keras 2, and each framework without Keras."""
    found = sorted(_anchors(folder), key=lambda a: (BACKEND_ORDER.index(a.keras.backend), a.kind))
    out = [
        f"From the seed-profile runs in `{folder.relative_to(ROOT)}` (Keras 3 at commit "
        f"{_commits([r for a in found for r in a.keras.members])}, the anchors at commit "
        f"{_commits([r for a in found for r in a.anchor.members])}), medians from its report:",
        "",
        "| backend | anchor | Keras 3 fit() | anchor fit() | Keras 3 / anchor | Keras 3 test acc. "
        "| anchor test acc. | same class |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for a in found:
        out.append(
            f"| {NAMES[a.keras.backend]} | {a.anchor.backend} | {a.keras.fit_s:,.0f} s "
            f"| {a.anchor.fit_s:,.0f} s | {a.ratio:.2f} | {100 * a.keras.test_accuracy:.2f} % "
            f"| {100 * a.anchor.test_accuracy:.2f} % | {100 * min(a.same_class):.2f} % |"
        )
    return "\n".join(out) + "\n"


def ray_block(folder: Path) -> str:
    """Where the Ray reference ran and how long it took, from its records."""
    runs = _ok_runs(folder)
    placed = summary.placement(runs)
    start = min(p.start for p in placed)
    end = max(summary.interval(r)[2] for r in runs)
    nodes = summary.by(placed, lambda p: p.node)
    return (
        f"From `{folder.relative_to(ROOT)}` (commit {_commits(runs)}): {len(runs)} runs on "
        f"{len(nodes)} nodes ({', '.join(str(len(v)) for v in nodes.values())} runs), "
        f"{sum(p.beside > 0 for p in placed)} of them beside another on the host, "
        f"{(end - start) / 60:.1f} minutes from the first run's start to the last result.\n"
    )


def test_every_anchor_of_the_full_reference_learned_the_seed_model():
    found = _anchors(ROOT / "results/reference/full")
    assert found and all(a.anchor.test_accuracy >= 0.988 for a in found)


@pytest.mark.parametrize(
    ("name", "make", "folder"),
    [
        ("reference-full", reference_table, "results/reference/full"),
        ("anchors", anchors_block, "results/reference/full"),
        ("reference-ray", ray_block, "results/reference/ray"),
        ("overhead", overhead_table, "results/overhead"),
        ("reference-seeds", seeds_block, "results/reference"),
    ],
)
def test_readme_quotes_the_committed_results_as_they_are(name, make, folder):
    expected = make(ROOT / folder)
    assert block(name) == expected, f"README.md's block {name!r} should read:\n{expected}"


def test_the_full_reference_has_no_outlying_sample_as_readme_says():
    runs = _keras_3(_ok_runs(ROOT / "results/reference/full"))
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "no steady sample of these runs lies outside 3× its run's median" in readme
    assert speed.OUTLIER_FACTOR == 3 and speed.outliers(runs) == []
