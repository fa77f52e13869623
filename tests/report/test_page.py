"""The report page in a real browser: headless Chromium (the distribution's, driven by
Playwright through scripts/report_screenshot.py) opens report.html of real runs, the
committed records of results/reference/full rebuilt by this checkout's code. It needs no
framework; it skips where Chromium or Playwright is missing, but not in CI, which installs
both (.ci/run). `python scripts/report_screenshot.py` saves the screenshot the docs show."""

import importlib.util
import os
import shutil

import pytest

from harness.report import page, render
from harness.summary.build import build
from tests.factories import HOSTILE, ROOT, load_script, write_hostile

pytestmark = pytest.mark.browser


browser = load_script("report_screenshot")


def needs_a_browser() -> None:
    """Skip, with what is missing and how to get it, where the browser cannot run; in CI
    (CI=true), which installs both, fail instead: a skipped check there checks nothing."""
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append("playwright (pip install -e '.[test]')")
    if browser.chromium() is None:
        missing.append("chromium (Debian: apt-get install chromium)")
    if missing:
        said = "the browser test needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(said)
        pytest.skip(said)


def test_the_report_page_loads_whole_and_shows_the_ranking_first_without_scrolling_sideways(
    tmp_path,
):
    needs_a_browser()
    shutil.copytree(ROOT / "results/reference/full/runs", tmp_path / "runs")
    render.write_report(build(tmp_path), tmp_path)
    shown = browser.show(tmp_path / "report.html")
    assert shown.requests == []  # self-contained: no network, no file beside it
    assert shown.errors == []
    # a glance per comparison, the speed figures and the loss curves, every one decoded
    assert len(shown.images) == 4 and all(width > 0 for _, width in shown.images)
    assert shown.images[0][0].startswith("At a glance")
    assert shown.first_table_section == "In short"
    assert shown.first_table_header[-1] == "Step × fastest [95 %]"
    assert shown.scroll_width <= browser.WIDTH
    assert browser.problems(shown) == []


def test_a_report_of_hostile_names_and_messages_runs_nothing_and_shows_them_as_they_are(
    tmp_path,
):
    needs_a_browser()
    write_hostile(tmp_path)
    render.write_report(build(tmp_path), tmp_path)
    shown = browser.show(tmp_path / "report.html")
    # nothing ran (no title changed, no attribute added, nothing logged), and nothing was
    # even refused: the policy had nothing to stop, each string came escaped
    assert shown.title == "Keras backend comparison"
    assert shown.body_attributes == []
    assert shown.logged == [] and shown.requests == []
    for hostile in HOSTILE:
        assert hostile in shown.text


def test_the_page_refuses_script_that_reaches_it_whatever_its_form(tmp_path):
    needs_a_browser()
    ran = "<script>document.title = 'ran'</script>\n\n<img src=x onerror=\"document.title='ran'\">"
    (tmp_path / "page.html").write_text(page.html(f"# A page\n\n{ran}\n", tmp_path))
    shown = browser.show(tmp_path / "page.html")
    assert shown.title == "Keras backend comparison"
    assert shown.errors and all("Content Security Policy" in e for e in shown.errors)
