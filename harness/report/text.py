"""Words and numbers for the report's tables: the formats of figures, the marks a figure
can carry and what each means, and a comparison or variant in a few words."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from harness.record.schema import FULL_EVALUATION
from harness.summary import drift, stats, timing_figures
from harness.summary.comparisons import ALPHA, PairEquivalence, Speed
from harness.summary.grouping import Group, Row, Variant
from harness.summary.stats import MAX_SEEDS_NEEDED, Equivalence, Spread, Verdict, median_of

# What starts Markdown's inline markup: a backslash escape, code, emphasis, a table's
# cell; a bracket that would close a link's or a picture's text (or a reference's
# name), not those of a list such as ['cpu:0']; `_` only where it can open emphasis (not
# after a letter or a digit, so that MALLOC_MMAP_MAX_ or image_data_format read as they
# are); a line's first character that would start a block (a heading, a quote, a list).
_MARKUP = re.compile(
    r"[\\`*|]|\](?=[(\[:])|(?<![^\W_])_"
    r"|^\s*[#>]|^\s*[+-](?=[\s+-]|$)|^\s*\d+\.(?=\s|$)"
)


def literal(value: object) -> str:
    """A string the report did not write (a record's, a file's name, a user's code's) as
    Markdown that shows it as it is, both in REPORT.md and in report.html, on one line:
    HTML's characters escaped (`html.escape`), every character that could start
    Markdown's markup backslash-escaped, and its line breaks made spaces, so that no
    markup inside it reaches the page. The one escaping function of the report: every
    such string goes through it."""
    text = html.escape(" ".join(str(value).splitlines()), quote=False)
    return _MARKUP.sub(lambda m: m[0][:-1] + "\\" + m[0][-1], text)


def plural(n: int, word: str) -> str:
    """`1 epoch`, `12 epochs`."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def group_text(g: Group) -> str:
    return (
        f"{g.profile}: {g.model} on {g.dataset} ({g.train_images:,} images, "
        f"{plural(g.epochs, 'epoch')}, batch {g.batch_size}), "
        f"{plural(g.threads, 'thread')}, "
        f"init {g.init}" + (", deterministic" if g.deterministic else "") + f", machine {g.machine}"
    )


def speed_text(s: Speed) -> str:
    """A speed ratio, with its 95 % interval where it comes from rounds."""
    if s.ratio is None:
        return "–"
    if s.interval is None:
        return f"{s.ratio:.2f}{UNPAIRED.symbol}"
    return f"{s.ratio:.2f} [{s.interval.low:.2f}–{s.interval.high:.2f}]"


def width_text(i: stats.RatioInterval | None) -> str:
    """A ratio from rounds with its 95 % interval and how wide the interval is, as
    `--rounds auto` judges it: "1.82 [1.61–2.07] (±13 %)"."""
    if i is None:
        return "(no interval yet)"
    return f"{i.geomean:.2f} [{i.low:.2f}–{i.high:.2f}] (±{100 * (i.high / i.geomean - 1):.0f} %)"


def times_text(s: Speed) -> str:
    """A speed ratio in prose: "1.52× [95 %: 1.48–1.56]"."""
    if s.ratio is None:
        return "an unknown multiple of"
    text = f"{s.ratio:.2f}×"
    return text + (f" [95 %: {s.interval.low:.2f}–{s.interval.high:.2f}]" if s.interval else "")


def row_marks(row: Row) -> str:
    """Every mark a row's figures carry in the detailed tables, for the tables that
    show it in a line."""
    return "".join(
        mark
        for mark, on in (
            (NOISY.symbol, row.figures.step_s is not None and row.figures.step_s.noisy),
            (CODE.symbol, len(row.commits) > 1 or row.dirty_runs),
            (DISTURBED.symbol, row.disturbed_runs),
            (SHARED.symbol, row.shared_runs),
            (NOT_CONVERGED.symbol, row.not_converged_runs),
            (OUTLIER.symbol, row.outlying),
        )
        if on
    )


def variant_text(v: Variant) -> str:
    """A variant in words, the backend apart."""
    floatx = "" if v.floatx == "float32" else f", floatx {v.floatx}"
    return group_text(v.group) + f", {v.data_format}, jit_compile={v.jit_compile}{floatx}"


def short_label(v: Variant) -> str:
    """A variant in a few words (the backend apart), for narrow tables."""
    g = v.group
    parts = [g.profile, f"init {g.init}", v.data_format, f"jit={v.jit_compile}"]
    if v.floatx != "float32":
        parts.append(v.floatx)
    if g.deterministic:
        parts.append("deterministic")
    return " · ".join(str(p) for p in parts)


def how_text(v: Variant) -> str:
    """How a row's backend computes, its data format and jit_compile: what tells apart the
    rows of one comparison, whose group is said once above them."""
    return f"{v.data_format} · jit={v.jit_compile}"


def cell(text: str) -> str:
    """Free text (a failure's reason) as one Markdown table cell: each line `literal`,
    the lines kept apart by <br>."""
    return "<br>".join(map(literal, text.splitlines()))


def fmt(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def yes_no(value: bool | None) -> str:
    return "–" if value is None else ("yes" if value else "no")


def sci(value: float | None) -> str:
    return "–" if value is None else f"{value:.2e}"


def accuracy_text(row: Row) -> str:
    text = fmt(100 * row.test_accuracy, 2)
    if row.test_accuracy_std is not None:
        text += f" ± {100 * row.test_accuracy_std:.2f}"
    # A speed run's accuracy is a check on the test set's first images, not the test set's.
    checked = sorted(
        {r.recipe.test_images for r in row.members if FULL_EVALUATION in r.metrics.skipped}
    )
    if checked:
        text += f" (first {' or '.join(f'{n:,}' for n in checked)} test images)"
    return text + (NOT_CONVERGED.symbol if row.not_converged_runs else "")


def median_text(figure: Spread | None, digits: int, scale: float = 1.0) -> str:
    """A timing's median, with NOISY.symbol when its samples spread widely."""
    if figure is None:
        return "–"
    text = f"{scale * figure.median:,.{digits}f}"
    return text + NOISY.symbol if figure.n > 1 and figure.noisy else text


def range_text(figure: Spread | None, digits: int, scale: float = 1.0) -> str:
    """Median [p10–p90] (n samples)."""
    if figure is None:
        return "–"
    return (
        f"{median_text(figure, digits, scale)} [{scale * figure.p10:,.{digits}f}–"
        f"{scale * figure.p90:,.{digits}f}] (n={figure.n})"
    )


def unaccounted_text(row: Row) -> str:
    wall, left = median_of(row.figures.wall_s), median_of(row.figures.unaccounted_s)
    if not wall or left is None:
        return "–"
    return f"{100 * left / wall:.1f} % ({left:.2f} s)"


def commits_text(row: Row) -> str:
    mixed = len(row.commits) > 1 or row.dirty_runs
    return " ".join(row.commits) + (CODE.symbol if mixed else "")


def noise_sentence(a: str, b: str, test: stats.TTest) -> str:
    what = "paired t-test over" if test.kind == "paired" else "Welch t-test, at least"
    verdict = (
        f"larger than the seed-to-seed spread (p < {ALPHA})"
        if test.p < ALPHA
        else f"not larger than the seed-to-seed spread (p ≥ {ALPHA})"
    )
    return (
        f"{a} − {b}: {signed(100 * test.mean_difference)} points of test accuracy "
        f"({what} {test.n} seeds, t = {test.t:.2f}, p = {test.p:.3f}): {verdict}."
    )


def listed(items: list[str]) -> str:
    """ "a, b and c"."""
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else items[0]


def drift_text(v: drift.Verdict, name: Callable[[str], str]) -> str:
    """How far apart the backends end at the verdict's epoch, beside one backend against
    itself with one initial weight moved by one ulp, and whether they drift apart faster,
    judged on the weights (`drift.Verdict`); `name` says a row's label."""

    def each(pairs: Iterable[tuple[tuple[str, str], drift.Apart]]) -> str:
        return "; ".join(
            f"{name(a)} and {name(b)} {x.weights:.3g} apart, {100 * x.classes:.2f} % of the "
            "test images' classes different"
            for (a, b), x in pairs
        )

    faster = v.faster
    if not faster:
        said = "no pair of backends drifts apart faster than training's own instability"
    elif len(faster) == len(v.pairs):
        said = "every pair of backends drifts apart faster than training's own instability"
    else:
        said = (
            listed([f"{name(a)} and {name(b)}" for a, b in faster])
            + " drift apart faster than training's own instability, the other pairs no faster"
        )
    return (
        f"at epoch {v.epoch}, mean over seeds, the weights (the distance of their sketches) "
        f"of {each(v.pairs.items())}. One backend against itself with one initial weight moved by "
        f"one ulp: {each(v.controls.items())}. Judged on the weights, {said}"
    )


def signed(value: float, digits: int = 3) -> str:
    """`value` with its sign ("+0.030", "-0.012"), and none where it rounds to zero: a
    tiny negative mean would read "-0.000", a sign that the figure does not show."""
    text = f"{value:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def margin_text(margin: float, ratio: bool = False) -> str:
    """ "±0.1 points" of accuracy, or "±10 %" of a ratio."""
    return f"±{100 * margin:g} %" if ratio else f"±{margin:g} points"


def difference_text(e: Equivalence) -> str:
    """The mean difference with its 90 % interval: "+0.030 points [90 %: −0.018 to +0.078]",
    or for ratios "1.010× [90 %: 0.966–1.056]"."""
    if e.ratio:
        return f"{e.mean:.3f}× [90 %: {e.low:.3f}–{e.high:.3f}]"
    return f"{signed(e.mean)} points [90 %: {signed(e.low)} to {signed(e.high)}]"


def verdict_text(e: Equivalence) -> str:
    """The verdict of two one-sided tests in words, and when undecided how many paired
    seeds would decide it."""
    within = f"within {margin_text(e.margin, e.ratio)}"
    if e.verdict == Verdict.EQUIVALENT:
        return f"equivalent {within}"
    if e.verdict == Verdict.DIFFERENT:
        return f"different (beyond seed-to-seed noise, not {within})"
    if e.seeds_needed is not None:
        return (
            f"undecided: about {e.seeds_needed:,} paired seeds would decide it at the noise "
            "observed"
        )
    if e.mean_within_margin:
        return f"undecided: more than {MAX_SEEDS_NEEDED:,} paired seeds would be needed"
    return f"undecided: no number of seeds would show it {within}, its mean lies beyond"


def equivalence_sentences(pairs: list[PairEquivalence]) -> list[str]:
    """Pairs of backends' test accuracies, paired by seed, against the margin: a sentence
    each where two or more seeds pair them, then one for the pairs that lack them."""
    out = [
        f"{literal(' − '.join(p.backends))}: {difference_text(p.equivalence)} of test "
        f"accuracy over {plural(p.equivalence.n, 'paired seed')}: {verdict_text(p.equivalence)}."
        for p in pairs
        if p.equivalence is not None
    ]
    lacking = [p for p in pairs if p.equivalence is None]
    if lacking:
        within = f"equivalent within {margin_text(lacking[0].margin)}"
        which = (
            f"their test accuracies are {within}"
            if len(lacking) == len(pairs)
            else ", ".join(literal(" and ".join(p.backends)) for p in lacking)
            + f" are {within} of test accuracy"
        )
        out.append(
            f"Whether {which} needs ≥ 2 paired seeds, the same seeds on both backends "
            "(`--seeds 1,2,3,4,5`)."
        )
    return out


@dataclass(frozen=True)
class Mark:
    """A sign after a figure that qualifies it: `symbol` as it follows the figure, `note`
    what it means. The note is said under each table that shows the sign (`notes`), and the
    HTML page gives it to the sign as its title, so that a reader meets neither a list of
    signs the table does not use nor a sign without its meaning."""

    symbol: str
    note: str


NOISY = Mark(
    " †",
    "noisy: the 10th–90th percentile range of its samples is wider than "
    f"{100 * stats.NOISY_SPREAD:.0f} % of the median.",
)
CODE = Mark(
    " ‡",
    "mixed code: the row pools runs of more than one commit, or of a working tree with "
    "changes (+dirty).",
)
DISTURBED = Mark(
    " ⚠",
    f"disturbed: other processes used more than {100 * timing_figures.DISTURBED_SHARE:.0f} % of a "
    "run's CPUs while it trained (see Efficiency).",
)
NOT_CONVERGED = Mark(
    " ✗",
    "not converged: a run's test accuracy is within chance for its classes (no more than "
    f"{stats.CHANCE_SE} standard errors above a guess), or its last epoch's training loss is "
    "above its first's; listed under Accuracy and time.",
)
OUTLIER = Mark(
    " §",
    "outlying samples (a paused or starved process) were kept out of the medians, not out "
    "of the whole fit() that a training time is; listed under Training.",
)
UNPAIRED = Mark(
    " ∗",
    "not from rounds: the ratio of the rows' median steps, without an interval "
    "(`run --rounds 5` pairs the rows' runs round by round and gives one).",
)
SHARED = Mark(
    " ⇄",
    "shared: a run of the row trained while another ran on its machine (`--jobs`, two "
    "`run`s at once, or Ray nodes on one host), so its times are not comparable with those "
    "of runs that had the machine alone; listed under Accuracy and time.",
)
MARKS = (NOISY, CODE, DISTURBED, NOT_CONVERGED, OUTLIER, UNPAIRED, SHARED)


def notes(table: list[str], *columns: str) -> list[str]:
    """The short notes under a table (its lines): what some of its columns say, then the
    meaning of each mark it shows, and of no other."""
    shown = [m for m in MARKS if any(m.symbol.strip() in line for line in table)]
    said = [*columns, *(f"{m.symbol.strip()} {m.note}" for m in shown)]
    return [*(f"- {line}" for line in said), ""] if said else []


def training_text(row: Row) -> str:
    """A row's training time, with the marks that say its machine was not its own, or
    that the whole fit() holds a paused or starved step the steady figures leave out."""
    return (
        median_text(row.figures.fit_s, 1)
        + (DISTURBED.symbol if row.disturbed_runs else "")
        + (SHARED.symbol if row.shared_runs else "")
        + (OUTLIER.symbol if row.outlying else "")
    )


PHASE_LABELS = {
    "interpreter_s": "Interpreter", "import_s": "Import", "data_load_s": "Data load",
    "build_s": "Build", "init_s": "Initial weights", "compile_s": "Compile",
    "peak_s": "Matmul peak", "fit_s": "fit()", "evaluate_s": "Evaluation",
    "predict_s": "Prediction", "latency_s": "Latency", "save_s": "Saving",
    "ops_s": "Op profile",
}  # fmt: skip
