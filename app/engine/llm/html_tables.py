"""A saved HTML page as tables an SQL query can read: the page, its links, tables and items.

A small model writes a correct SQLite query over a table it has seen far more often than a
correct scraping program over markup it has to guess selectors for. So an attached page becomes
tables (:func:`page_tables`), with the same names in the prompt's preview and in the program:

- ``page``: one row, the title, meta description, first ``h1`` and declared language;
- ``links``: every ``<a href>``: its text, target and the part of the page it is in
  (``nav``, ``header``, ``footer``, ``aside``, ``main`` or ``body``);
- every ``<table>``: one row per body row, columns named after the header cells;
- every run of repeated items (two or more list items, or siblings with the same tag and class
  holding their own elements, such as product cards): one row per item, one column per classed
  or semantic element inside it, named after its class (else its tag), ``data-*`` attributes
  as columns of their own (``data-stars`` is ``stars``), the first link's target as ``href``, a
  ``<time>``'s ``datetime``; crossed-out text (``<s>``, ``<del>``, ``.old``) is left out of a
  value and kept in ``old_<column>``; a class that differs between items (``stock in`` /
  ``stock out``) is kept in ``<column>_class``;
- ``texts``: every heading, paragraph and other text block, with the heading it is under.

Standard library only: the module's source is also put into the program the sandbox runs
(:func:`app.engine.llm.sql_program.wrap_sql`), so the tables there are exactly those previewed.
Never raises on bad markup; unclosed and stray tags are tolerated as browsers do.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

__all__ = ["HtmlTable", "page_tables"]

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_HIDDEN = {"script", "style", "noscript", "template", "svg", "head"}
_AUTO_CLOSE = {"p", "li", "dt", "dd", "tr", "td", "th", "option"}  # closed by the next one of their kind
_STRUCK = {"s", "del", "strike"}
_STRUCK_CLASSES = {"old", "was", "old-price", "price-old", "strike", "strikethrough"}
_BLOCKS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "figcaption", "dt", "dd", "address", "pre"}
_ITEMS = {"li", "article", "div", "section", "figure", "dd", "tr", "details", "aside"}
_AREAS = ("nav", "header", "footer", "aside", "main")
_MAX_ROWS = 500  # per table: a huge page still makes a small database
_MAX_DEPTH = 200  # deeper elements are kept as children of the 200th: hostile nesting cannot blow the stack


class _Element:
    __slots__ = ("attrs", "children", "parent", "tag")

    def __init__(self, tag: str, attrs: dict[str, str], parent: _Element | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[_Element | str] = []

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()

    def elements(self) -> list[_Element]:
        return [c for c in self.children if isinstance(c, _Element)]

    def descendants(self) -> list[_Element]:
        out: list[_Element] = []
        for child in self.elements():
            out.append(child)
            out.extend(child.descendants())
        return out

    def ancestors(self) -> list[_Element]:
        out, node = [], self.parent
        while node is not None:
            out.append(node)
            node = node.parent
        return out


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Element("document", {}, None)
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _AUTO_CLOSE:
            for i in range(len(self.stack) - 1, 0, -1):
                open_tag = self.stack[i].tag
                if open_tag == tag:
                    del self.stack[i:]
                    break
                if open_tag in ("ul", "ol", "table", "dl", "select", "div", "section", "article"):
                    break
        node = _Element(tag, {k: v or "" for k, v in attrs}, self.stack[-1])
        self.stack[-1].children.append(node)
        if tag not in _VOID and len(self.stack) < _MAX_DEPTH:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Element(tag, {k: v or "" for k, v in attrs}, self.stack[-1])
        self.stack[-1].children.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _struck(node: _Element) -> bool:
    return node.tag in _STRUCK or any(c.lower() in _STRUCK_CLASSES for c in node.classes)


def _text(node: _Element, *, keep_struck: bool = False) -> str:
    """The visible text of ``node``, whitespace collapsed; crossed-out parts left out unless kept."""
    parts: list[str] = []

    def walk(el: _Element) -> None:
        for child in el.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag in _HIDDEN or (not keep_struck and _struck(child)):
                continue
            else:
                if child.tag == "br" or child.tag in _BLOCKS:
                    parts.append(" ")
                walk(child)
                if child.tag in _BLOCKS or child.tag in ("td", "th"):
                    parts.append(" ")

    walk(node)
    return " ".join("".join(parts).split())


def _own_text(node: _Element) -> str:
    return " ".join("".join(c for c in node.children if isinstance(c, str)).split())


def _ident(text: str, fallback: str) -> str:
    """``text`` as a plain SQL name: ASCII letters, digits and ``_``, lower case."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    name = re.sub(r"[^0-9a-zA-Z]+", "_", ascii_text).strip("_").lower()[:40] or fallback
    return f"c_{name}" if name[0].isdigit() else name


class HtmlTable:
    """One table of a page: its name, where it came from, its columns and text rows.

    ``origins`` names the markup a column was read from when its name does not show it
    (``stars`` from ``data-stars``), so a task that names the attribute finds the column.
    """

    def __init__(
        self,
        name: str,
        source: str,
        columns: list[str],
        rows: list[list[str | None]],
        origins: dict[str, str] | None = None,
    ) -> None:
        self.name, self.source, self.columns, self.rows = name, source, columns, rows
        self.origins = origins or {}

    def __repr__(self) -> str:
        return f"HtmlTable({self.name!r}, {len(self.rows)} rows, columns={self.columns})"


class _Record:
    """The columns of one item, in order of first appearance, joining repeats with '; '."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.origins: dict[str, str] = {}

    def put_attr(self, attr: str, value: str) -> None:
        """A ``data-*`` attribute: a column named after it, its origin kept."""
        key = _ident(attr[5:], "data")
        self.origins.setdefault(key, attr)
        self.put(key, value)

    def put(self, key: str, value: str) -> None:
        value = value.strip()
        if not value:
            return
        if key in self.values and value not in self.values[key].split("; "):
            self.values[key] += "; " + value
        else:
            self.values.setdefault(key, value)


def _item_record(item: _Element, common: set[str]) -> _Record:
    record = _Record()
    for attr, value in item.attrs.items():
        if attr.startswith("data-"):
            record.put_attr(attr, value)
    varying = [c for c in item.classes if c not in common]
    if varying:
        record.put("class", " ".join(varying))
    if item.tag == "a" and item.attrs.get("href"):
        record.put("href", item.attrs["href"])
    own = _own_text(item)
    described = False
    for node in item.descendants():
        if node.tag in _HIDDEN or any(a.tag in _HIDDEN for a in node.ancestors()[:6]):
            continue
        key = _key(node, item)
        if _struck(node):
            parent = node.parent
            holder = parent if parent is not None and parent is not item else None
            base = (
                _ident(holder.classes[0], holder.tag)
                if holder is not None and holder.classes
                else holder.tag
                if holder is not None
                else "value"
            )
            record.put(f"old_{base}", _text(node, keep_struck=True))
            continue
        if any(_struck(a) for a in node.ancestors() if a is not item and item in a.ancestors()):
            continue
        if re.search(r"\w", _own_text(node)) or (node.classes and not node.elements() and _text(node)):
            record.put(key, _text(node))
            described = True
            if len(node.classes) > 1:
                record.put(f"{key}_class", " ".join(node.classes[1:]))
        for attr, value in node.attrs.items():
            if attr.startswith("data-"):
                record.put_attr(attr, value)
            elif attr == "href" and node.tag == "a":
                record.put("href" if "href" not in record.values else f"{key}_href", value)
            elif attr == "datetime":
                record.put("datetime" if "datetime" not in record.values else f"{key}_datetime", value)
            elif attr == "src" and node.tag == "img":
                record.put("image", value)
            elif attr == "alt" and node.tag == "img":
                record.put("image_alt", value)
            elif attr == "content" and node.tag != "meta":
                record.put(f"{key}_content", value)
    if re.search(r"\w", own) or not described:
        record.put("text", _text(item))
    return record


def _key(node: _Element, item: _Element) -> str:
    """A column's name: the element's class, else its wrapper's, else its own tag.

    ``h2.headline > a`` is ``headline``, ``h2 > a`` is ``h2``.
    """
    if node.classes:
        return _ident(node.classes[0], node.tag)
    heading = ""
    holder = node.parent
    while holder is not None and holder is not item and not re.search(r"\w", _own_text(holder)):
        if holder.classes:
            return _ident(holder.classes[0], node.tag)
        if not heading and re.fullmatch(r"h[1-6]", holder.tag):
            heading = holder.tag
        holder = holder.parent
    return heading or node.tag


def _item_runs(root: _Element) -> list[tuple[_Element, list[_Element]]]:
    """Runs of repeated items: (parent, items) for each group of two or more alike children."""
    runs: list[tuple[_Element, list[_Element]]] = []
    for parent in [root, *root.descendants()]:
        if parent.tag in _HIDDEN or parent.tag in ("table", "thead", "tbody", "tfoot"):
            continue
        groups: dict[tuple[str, str], list[_Element]] = {}
        for child in parent.elements():
            key = (child.tag, child.classes[0] if child.classes else "")
            groups.setdefault(key, []).append(child)
        for (tag, cls), items in groups.items():
            if len(items) < 2 or tag in _HIDDEN:
                continue
            structured = sum(1 for i in items if i.elements()) >= len(items) / 2
            if tag == "li" or (tag in _ITEMS and (cls or structured)) or (cls and structured):
                if any(_text(i) for i in items):
                    runs.append((parent, items))
    return runs


def _heading_before(node: _Element) -> str:
    """The text of the nearest heading before ``node`` among its parent's earlier siblings."""
    while node.parent is not None:
        siblings = node.parent.elements()
        for sib in reversed(siblings[: siblings.index(node)]):
            if re.fullmatch(r"h[1-6]", sib.tag):
                return _text(sib)
        node = node.parent
    return ""


def _signature(node: _Element) -> str:
    return (
        node.tag + "".join(f".{c}" for c in node.classes[:2]) + (f"#{node.attrs['id']}" if node.attrs.get("id") else "")
    )


def _unique(name: str, taken: set[str]) -> str:
    out, n = name, 2
    while out in taken:
        out, n = f"{name}_{n}", n + 1
    taken.add(out)
    return out


def _html_table(table: _Element) -> tuple[list[str], list[list[str | None]]]:
    """The header names and body rows of one ``<table>``; a cell's link target gets a column too."""
    header: list[str] = []
    body: list[list[str | None]] = []
    hrefs: list[dict[int, str]] = []
    for tr in (n for n in table.descendants() if n.tag == "tr" and _closest_table(n) is table):
        cells = [c for c in tr.elements() if c.tag in ("td", "th")]
        if not cells:
            continue
        if not header and not body and all(c.tag == "th" for c in cells):
            header = [_text(c) for c in cells for _ in range(_span(c))]
            continue
        row: list[str | None] = []
        links: dict[int, str] = {}
        for c in cells:
            href = next((a.attrs["href"] for a in c.descendants() if a.tag == "a" and a.attrs.get("href")), "")
            for _ in range(_span(c)):
                if href:
                    links[len(row)] = href
                row.append(_text(c))
        body.append(row)
        hrefs.append(links)
    width = max([len(header), *(len(r) for r in body)], default=0)
    taken: set[str] = set()
    names = [
        _unique(_ident(header[i], f"col{i + 1}") if i < len(header) else f"col{i + 1}", taken) for i in range(width)
    ]
    linked = sorted({i for links in hrefs for i in links})
    names += [_unique(f"{names[i]}_href", taken) for i in linked]
    rows = [
        r + [None] * (width - len(r)) + [links.get(i) for i in linked] for r, links in zip(body, hrefs, strict=True)
    ]
    return names, rows


def _span(cell: _Element) -> int:
    try:
        return max(1, min(int(cell.attrs.get("colspan", "1")), 20))
    except ValueError:
        return 1


def _closest_table(node: _Element) -> _Element | None:
    return next((a for a in node.ancestors() if a.tag == "table"), None)


def _area(node: _Element) -> str:
    """The landmark a link is in, with its class or id: ``nav.pager``, ``footer``, ``body``."""
    area = next((a for a in node.ancestors() if a.tag in _AREAS), None)
    if area is None:
        return "body"
    named = area.classes[:1] or ([f"#{area.attrs['id']}"] if area.attrs.get("id") else [])
    return area.tag + "".join(n if n.startswith("#") else f".{n}" for n in named)


def page_tables(html: str, prefix: str = "") -> list[HtmlTable]:
    """The tables of one page (see the module's description); names start with ``prefix``."""
    builder = _TreeBuilder()
    try:
        builder.feed(html)
        builder.close()
    except Exception:  # noqa: BLE001 - a broken page still gives what was read of it
        pass
    root = builder.root
    nodes = root.descendants()
    taken: set[str] = set()
    tables: list[HtmlTable] = []

    def named(name: str) -> str:
        return _unique(prefix + name, taken)

    title = next((_text(n, keep_struck=True) for n in nodes if n.tag == "title"), "")
    description = next(
        (
            n.attrs.get("content", "")
            for n in nodes
            if n.tag == "meta"
            and n.attrs.get("name", n.attrs.get("property", "")).lower() in ("description", "og:description")
        ),
        "",
    )
    h1 = next((_text(n) for n in nodes if n.tag == "h1"), "")
    lang = next((n.attrs.get("lang", "") for n in nodes if n.tag == "html"), "")
    page = HtmlTable(
        named("page"),
        "the page itself (one row)",
        ["title", "description", "h1", "language"],
        [[title or None, description or None, h1 or None, lang or None]],
    )
    links_name = named("links")

    converted: set[int] = set()  # <table>s that became tables: their cells are not listed as texts again
    for index, table in enumerate(n for n in nodes if n.tag == "table"):
        caption = next((_text(c) for c in table.elements() if c.tag == "caption"), "")
        base = _ident(
            caption or table.attrs.get("id", "") or (table.classes[0] if table.classes else ""), f"table{index + 1}"
        )
        columns, rows = _html_table(table)
        if columns and rows:
            converted.add(id(table))
            tables.append(
                HtmlTable(
                    named(base),
                    f"<{_signature(table)}>" + (f' "{caption}"' if caption else ""),
                    columns,
                    rows[:_MAX_ROWS],
                )
            )

    runs = _item_runs(root)
    in_items = {id(i) for _, items in runs for i in items}
    for parent, items in runs:
        common = set(items[0].classes[:1])
        records = [_item_record(i, common) for i in items[:_MAX_ROWS]]
        columns = list(dict.fromkeys(k for r in records for k in r.values))
        if not columns:
            continue
        first = items[0]
        base = (
            (first.classes[0] if first.classes else "")
            or parent.attrs.get("id", "")
            or (parent.classes[0] if parent.classes else "")
            or _heading_before(parent)
            or f"{first.tag}_items"
        )
        heading = _heading_before(parent)
        source = f"{len(items)} x {_signature(first)} in {_signature(parent)}" + (
            f' under "{heading}"' if heading else ""
        )
        origins = {k: v for r in records for k, v in r.origins.items()}
        tables.append(
            HtmlTable(
                named(_ident(base, "items")),
                source,
                columns,
                [[r.values.get(c) for c in columns] for r in records],
                origins,
            )
        )

    link_rows: list[list[str | None]] = [
        [_text(a, keep_struck=True) or a.attrs.get("title") or None, a.attrs["href"], _area(a)]
        for a in nodes
        if a.tag == "a" and a.attrs.get("href") and not any(p.tag in _HIDDEN for p in a.ancestors())
    ]
    text_rows: list[list[str | None]] = []
    current = ""
    for n in nodes:
        if any(p.tag in _HIDDEN or id(p) in converted for p in n.ancestors()):
            continue
        if n.tag in _BLOCKS:
            if any(c.tag in _BLOCKS for c in n.descendants()):
                continue  # its blocks are listed themselves
        elif (
            n.tag in _HIDDEN
            or n.tag == "a"
            or _struck(n)
            or not re.search(r"\w", _own_text(n))
            or any(p.tag in _BLOCKS or id(p) in in_items for p in n.ancestors())
        ):
            continue  # loose text (a <span> in a <nav>) counts; text inside a listed block or item does not
        words = _text(n)
        if not words:
            continue
        is_heading = re.fullmatch(r"h[1-6]", n.tag) is not None
        if is_heading:
            current = words
        text_rows.append([n.tag, " ".join(n.classes) or None, None if is_heading else current or None, words])
    return [
        page,
        *tables,
        HtmlTable(links_name, "every <a href> of the page", ["text", "href", "area"], link_rows[:_MAX_ROWS]),
        HtmlTable(
            named("texts"),
            "every heading and text block, in page order",
            ["tag", "class", "heading", "text"],
            text_rows[:_MAX_ROWS],
        ),
    ]
