"""REPORT.md as one self-contained HTML page: its pictures embedded as data URIs, no
request to any network, no script (its Content-Security-Policy forbids any, and every
string the report did not write came escaped by `text.literal`). The Markdown stays plain
text; what only a page can do is done here, on the converted tree: each comparison's
picture beside its ranking, wide tables scrolling in their own box (so that the page never
scrolls sideways), notes under a table set small, and each mark titled with what it
means."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from harness.report.text import MARKS

# The alternative text that opens the picture of a comparison: the page finds it by it.
GLANCE_ALT = "At a glance"

# The page has no script of its own and asks for nothing: the policy forbids script of
# any kind (inline, attributes such as onerror, javascript: links), and every request
# but its own pictures (data: URIs) and its own inline style.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1360px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
p, li { overflow-wrap: anywhere; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; vertical-align: top; }
th { background: #f3f3f3; }
tr:nth-child(even) td { background: #fafafa; }
img { max-width: 100%; }
code { background: #f3f3f3; padding: 0 0.2em; }
abbr[title] { text-decoration: underline dotted; cursor: help; }
.glance { display: flex; flex-wrap: wrap; gap: 0 1.5em; align-items: center; }
.glance > p { flex: 0 1 auto; margin: 0.5em 0; }
.glance > .scroll { flex: 1 1 0; min-width: min(100%, 560px); }
.glance td { white-space: nowrap; }
ul.notes { font-size: 0.85em; color: #555; margin-top: 0; }
"""

_TITLES = {m.symbol.strip(): m.note.replace("`", "") for m in MARKS}
_MARK = re.compile("(" + "|".join(map(re.escape, _TITLES)) + ")")


def _titled(text: str | None) -> tuple[str, list[ET.Element]]:
    """`text` up to its first mark, and each mark as an <abbr> whose tail is the text
    up to the next."""
    pieces = _MARK.split(text or "")
    made = []
    for symbol, after in zip(pieces[1::2], pieces[2::2], strict=True):
        abbr = ET.Element("abbr", title=_TITLES[symbol])
        abbr.text, abbr.tail = symbol, after
        made.append(abbr)
    return pieces[0], made


def _title_marks(cell: ET.Element) -> None:
    lead, children = _titled(cell.text)
    cell.text = lead
    for child in list(cell):
        tail, after = _titled(child.tail)
        child.tail = tail
        children += [child, *after]
    cell[:] = children


def _wrap(parent: ET.Element, first: ET.Element, count: int, cls: str) -> None:
    """Put `count` children of `parent` from `first` on into a <div class=cls>."""
    at = list(parent).index(first)
    box = ET.Element("div", {"class": cls})
    box.extend(parent[at : at + count])
    box.tail = "\n"
    parent[at : at + count] = [box]


def _is_glance(element: ET.Element) -> bool:
    image = element.find("img")
    return (
        element.tag == "p"
        and len(element) == 1
        and image is not None
        and image.get("alt", "").startswith(GLANCE_ALT)
    )


class _Page(Treeprocessor):
    def run(self, root: ET.Element) -> None:
        for cell in root.iter("td"):
            _title_marks(cell)
        for table in list(root.iter("table")):
            children = list(root)
            at = children.index(table)
            if at + 1 < len(children) and children[at + 1].tag == "ul":
                children[at + 1].set("class", "notes")
            _wrap(root, table, 1, "scroll")
            if at and _is_glance(children[at - 1]):
                _wrap(root, children[at - 1], 2, "glance")


class _PageExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's name)
        # After the inline step (20), which makes the pictures; before prettify (10).
        md.treeprocessors.register(_Page(md), "report_page", 15)


def html(markdown_text: str, results_dir: Path) -> str:
    """REPORT.md as one self-contained page: its plots embedded as data URIs."""

    def embed(match: re.Match) -> str:
        data = base64.b64encode((results_dir / match.group(2)).read_bytes()).decode()
        return f"![{match.group(1)}](data:image/png;base64,{data})"

    # A picture as Markdown makes it: not one whose brackets came escaped (`literal`).
    embedded = re.sub(r"(?<!\\)!\[([^\]]*)(?<!\\)\]\(([^)/]+\.png)\)", embed, markdown_text)
    body = markdown.markdown(embedded, extensions=["tables", _PageExtension()])
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Keras backend comparison</title><style>{STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
