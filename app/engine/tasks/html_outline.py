"""A compact outline of an HTML page for the program writer's prompt.

The first two kilobytes of a saved page are mostly ``<head>``: the model then guesses the
selectors. The outline shows the title and the body's elements with their classes, the
attributes a program reads (``data-*``, ``href``, ``datetime``, ``id``) and a few words of
text; runs of siblings with the same tag and class show the first two and say how many more
follow, so a product grid of fifty cards costs three lines. Standard library only; never raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["html_outline"]

_SKIP = {"script", "style", "noscript", "svg", "head", "template"}
_VOID = {"br", "img", "hr", "input", "meta", "link", "source", "wbr", "area", "col", "base", "embed", "track"}
_KEEP_ATTRS = ("id", "href", "datetime", "value", "content", "lang", "title", "alt", "src")


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[_Node] = field(default_factory=list)
    text: str = ""

    @property
    def signature(self) -> str:
        cls = self.attrs.get("class", "").split()
        return self.tag + "".join(f".{c}" for c in cls[:3])

    def label(self) -> str:
        extra = [f'{k}="{v[:60]}"' for k, v in self.attrs.items() if k.startswith("data-") or k in _KEEP_ATTRS]
        head = self.signature + (" [" + " ".join(extra[:5]) + "]" if extra else "")
        words = " ".join(self.text.split())
        return head + (f' "{words[:70]}"' if words else "")


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("root", {})
        self.stack = [self.root]
        self.skipping = 0
        self.title = ""
        self._in_title = False
        self.lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: (v or "") for k, v in attrs}
        if tag == "html":
            self.lang = values.get("lang", "")
        if tag == "title":
            self._in_title = True
        if self.skipping or tag in _SKIP:
            if tag not in _VOID:
                self.skipping += 1
            return
        if tag in ("html", "body"):
            return
        node = _Node(tag, values)
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if self.skipping:
            if tag in _SKIP or tag not in _VOID:
                self.skipping -= 1
            return
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self.skipping or not data.strip():
            return
        node = self.stack[-1]
        if len(node.text) < 200:
            node.text += " " + data.strip()


def _walk(node: _Node, depth: int, out: list[str], max_lines: int) -> None:
    run_sig, run_len = "", 0
    kids = node.children
    i = 0
    while i < len(kids) and len(out) < max_lines:
        child = kids[i]
        if child.signature == run_sig:
            run_len += 1
        else:
            run_sig, run_len = child.signature, 1
        if run_len <= (12 if child.tag in ("th", "td", "dt", "dd") else 2):
            out.append("  " * depth + child.label())
            _walk(child, depth + 1, out, max_lines)
            i += 1
            continue
        same = 0
        while i < len(kids) and kids[i].signature == run_sig:
            same += 1
            i += 1
        out.append("  " * depth + f"… {same} more {run_sig} like the ones above")
        run_sig, run_len = "", 0


def html_outline(text: str, max_lines: int = 45) -> str:
    """Title, language and an outline of the body of the page ``text``."""
    builder = _Builder()
    try:
        builder.feed(text)
        builder.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; never let a page break the prompt
        pass
    lines: list[str] = []
    _walk(builder.root, 0, lines, max_lines)
    head = [f"<title>: {' '.join(builder.title.split())}"] if builder.title.strip() else []
    if builder.lang:
        head.append(f'<html lang="{builder.lang}">')
    return "\n".join([*head, 'outline (tag.class [attributes] "text"):', *lines])
