"""Extract title, links, tables, text and CSS-selected fields from HTML with selectolax."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from switchboard_runtime.api import SpecialistError, Table

__all__ = ["links", "next_link", "parse", "select", "tables", "text", "title"]

MAX_TEXT = 20_000
_NEXT_WORDS = {"next", "next page", "next »", "next ›", "»", "›", "older", "more"}


def parse(html: str) -> Any:
    """Parse HTML with the lexbor backend (fast, tolerant of broken markup)."""
    from selectolax.lexbor import LexborHTMLParser

    return LexborHTMLParser(html)


def title(tree: Any) -> str:
    """The ``<title>`` text, else the first ``<h1>``."""
    node = tree.css_first("title") or tree.css_first("h1")
    return node.text(strip=True) if node is not None else ""


def links(tree: Any, base: str) -> list[tuple[str, str]]:
    """Absolute link URLs with their text, in page order, without duplicates or fragments."""
    seen: set[str] = set()
    out = []
    for node in tree.css("a[href]"):
        href = (node.attributes.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        url = urljoin(base, href).split("#", 1)[0]
        if url not in seen:
            seen.add(url)
            out.append((node.text(strip=True), url))
    return out


def tables(tree: Any) -> list[Table]:
    """Every ``<table>`` as a :class:`Table`; header from ``<th>`` cells when present."""
    out = []
    for index, node in enumerate(tree.css("table"), start=1):
        rows = []
        header: list[str] = []
        for tr in node.css("tr"):
            ths = tr.css("th")
            cells = [c.text(strip=True) for c in tr.css("th, td")]
            if ths and len(ths) == len(cells) and not header and not rows:
                header = cells
            elif cells:
                rows.append([_number(c) for c in cells])
        width = max([len(header)] + [len(r) for r in rows] + [0])
        if not header:
            header = [f"col_{i + 1}" for i in range(width)]
        header = header + [f"col_{i + 1}" for i in range(len(header), width)]
        rows = [r + [None] * (width - len(r)) for r in rows]
        name = node.attributes.get("id") or f"table_{index}"
        out.append(Table(name, header, rows))
    return out


def _number(cell: str) -> Any:
    """Turn ``1,234`` or ``12.5`` into numbers so tables compare and sort as data."""
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?|-?\d+(\.\d+)?", cell):
        value = float(cell.replace(",", ""))
        return int(value) if value.is_integer() and "." not in cell else value
    return cell


def text(tree: Any) -> str:
    """Readable body text (scripts and styles removed), blank lines collapsed, capped."""
    for node in tree.css("script, style, noscript"):
        node.decompose()
    body = tree.body or tree.root
    raw = body.text(separator="\n", strip=True) if body is not None else ""
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
    return "\n".join(lines)[:MAX_TEXT]


def select(tree: Any, selector: str, attribute: str | None, base: str) -> list[str]:
    """Text (or ``attribute``) of every element matching the CSS ``selector``."""
    try:
        nodes = tree.css(selector)
    except Exception as exc:  # selectolax raises its own error types for bad selectors
        raise SpecialistError("bad_input", f"Invalid CSS selector {selector!r}: {exc}.") from None
    values = []
    for node in nodes:
        if attribute:
            value = node.attributes.get(attribute)
            if value is None:
                continue
            if attribute in ("href", "src", "action"):
                value = urljoin(base, value)
            values.append(value)
        else:
            values.append(node.text(strip=True))
    return values


def next_link(tree: Any, base: str, selector: str | None = None) -> str | None:
    """The next page's URL: a given selector, ``rel=next``, a ``.next`` class or "Next" text."""
    candidates = tree.css(selector) if selector else []
    candidates += tree.css("a[rel~=next], link[rel~=next]")
    candidates += tree.css("a.next, .next a, li.next a, a.pagination-next")
    candidates += [a for a in tree.css("a[href]") if a.text(strip=True).lower() in _NEXT_WORDS]
    for node in candidates:
        href = node.attributes.get("href")
        if href:
            return urljoin(base, href)
    return None
