"""A report page as a reader's browser shows it: headless Chromium, driven by Playwright.

    python scripts/report_screenshot.py

opens the committed report of results/reference/full, checks it as tests/report/test_page.py
checks a fresh one, and saves the top of the page, as a 1,400-pixel-wide window shows it,
to docs/img/report-top.png (the docs show it). Run it after the committed reports are rebuilt.

Chromium is the distribution's (Debian: `apt-get install chromium`), not Playwright's own
download, which needs a network this project's machines may not have.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "results/reference/full/report.html"
SCREENSHOT = ROOT / "docs/img/report-top.png"
WIDTH, HEIGHT = 1400, 1000  # a laptop's window: the page must not scroll sideways in it

# What the page shows, read in the page: each picture's alternative text and decoded
# width (0: not decoded), the heading of the section of the first table, how wide the
# document is laid out, its title, its body's attributes and its text.
_READ = """() => {
  const table = document.querySelector("table");
  let heading = null;
  for (const h of document.querySelectorAll("h2")) {
    if (table && h.compareDocumentPosition(table) & Node.DOCUMENT_POSITION_FOLLOWING) {
      heading = h.textContent;
    }
  }
  return {
    images: [...document.images].map((i) => [i.alt, i.naturalWidth]),
    first_table_section: heading,
    first_table_header: table ? [...table.querySelectorAll("th")].map((th) => th.textContent) : [],
    scroll_width: document.documentElement.scrollWidth,
    title: document.title,
    body_attributes: [...document.body.attributes].map((a) => a.name),
    text: document.body.innerText,
  };
}"""


def chromium() -> str | None:
    """The distribution's Chromium, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True)
class Shown:
    """What a browser made of a page."""

    requests: list[str]  # every URL the page asked for besides itself
    errors: list[str]  # console errors and uncaught exceptions
    logged: list[str]  # every console message, of any kind
    images: list[tuple[str, int]]  # alternative text, decoded width in pixels
    first_table_section: str | None  # the h2 above the page's first table
    first_table_header: list[str]
    scroll_width: int  # of the whole document, in CSS pixels
    title: str
    body_attributes: list[str]
    text: str  # the body's text as rendered


def show(page_file: Path, screenshot: Path | None = None) -> Shown:
    """Open `page_file` in headless Chromium in a WIDTH-pixel window, with every request
    beyond the page itself recorded and refused (a self-contained page makes none); save
    the window's view of the page's top to `screenshot` if given."""
    from playwright.sync_api import sync_playwright

    own = page_file.resolve().as_uri()
    requests: list[str] = []
    errors: list[str] = []
    logged: list[str] = []

    with sync_playwright() as p:
        # Chromium will not start its sandbox as root, as CI runs.
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            # data: URIs (the embedded pictures) are the page's own bytes, not requests.
            beyond = lambda url: url != own and not url.startswith("data:")  # noqa: E731
            page.on("request", lambda r: requests.append(r.url) if beyond(r.url) else None)
            page.route(beyond, lambda route: route.abort())
            page.on("console", lambda m: logged.append(m.text))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(own, wait_until="load")
            read = page.evaluate(_READ)
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=screenshot)
        finally:
            browser.close()
    return Shown(
        requests=requests,
        errors=errors,
        logged=logged,
        images=[tuple(i) for i in read["images"]],
        first_table_section=read["first_table_section"],
        first_table_header=read["first_table_header"],
        scroll_width=read["scroll_width"],
        title=read["title"],
        body_attributes=read["body_attributes"],
        text=read["text"],
    )


def problems(shown: Shown) -> list[str]:
    """What keeps a page from being read as it should be, in words; none for a good one."""
    said = [f"requested {url}" for url in shown.requests]
    said += [f"console error: {e}" for e in shown.errors]
    if not shown.images:
        said.append("no picture")
    said += [f"picture not decoded: {alt}" for alt, width in shown.images if width <= 0]
    if shown.first_table_section != "In short":
        said.append(f"the first table is under {shown.first_table_section!r}, not In short")
    if shown.scroll_width > WIDTH:
        said.append(f"{shown.scroll_width} px wide in a {WIDTH} px window: it scrolls sideways")
    return said


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", type=Path, default=COMMITTED)
    parser.add_argument("--out", type=Path, default=SCREENSHOT)
    args = parser.parse_args(argv)
    if chromium() is None:
        print("error: no chromium on PATH (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    said = problems(show(args.page, args.out))
    for line in said:
        print(f"error: {args.page}: {line}", file=sys.stderr)
    print(f"screenshot: {args.out}")
    return 1 if said else 0


if __name__ == "__main__":
    sys.exit(main())
