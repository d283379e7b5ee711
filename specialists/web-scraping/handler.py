"""Web-scraping specialist: fetch pages (or read a dropped .html file) and extract data.

Typed commands::

    title of URL          links from URL          tables from URL          text of URL
    select CSS from URL [attribute NAME]          (or ``select CSS@NAME from URL``)
    ... follow next [up to N pages]

Without a URL the first attached ``.html`` file is used. Other text raises ``NeedsPlan``; a plan
is ``{url, selector, attribute, follow_next, max_pages, extract}``.
"""

from __future__ import annotations

import re
import time
from typing import Any

import ws_extract as ex
from switchboard_runtime.api import BadPlan, NeedsPlan, Result, SpecialistError, Table, Task
from switchboard_runtime.files import check_input, read_text

__all__ = ["handle", "parse_text", "validate_plan", "warm"]

MAX_PAGES = 20
DEFAULT_FOLLOW_PAGES = 5
EXTRACTS = ("title", "links", "tables", "text", "select")
_URL_RE = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*):(//)?[^\s\"'<>]+")


def warm() -> None:
    """Nothing to preload: httpx and selectolax load on the first task."""


def parse_text(text: str) -> dict[str, Any]:
    """Parse a typed command into a plan, or raise :class:`NeedsPlan`."""
    rest = " " + text.strip().rstrip(".") + " "
    plan: dict[str, Any] = {}
    m = _URL_RE.search(rest)
    if m:
        plan["url"] = m.group(0).rstrip(".,;)")
        rest = rest[: m.start()] + " " + rest[m.end() :]
    if re.search(r"docker\.sock|/var/run/docker", rest, re.I):
        raise SpecialistError("forbidden", "The Docker socket is never reachable from a specialist.")
    m = re.search(
        r"\bfollow\s+(?:the\s+)?next(?:\s+(?:link|page|pages))?"
        r"(?:\s+(?:up\s+to|for|max)\s+(\d+)(?:\s+pages)?)?",
        rest,
        re.I,
    )
    if m:
        plan["follow_next"] = True
        if m.group(1):
            plan["max_pages"] = int(m.group(1))
        rest = rest[: m.start()] + " " + rest[m.end() :]
    m = re.search(r"\b(?:max|at most|up to)\s+(\d+)\s+pages\b", rest, re.I)
    if m:
        plan["max_pages"] = int(m.group(1))
        rest = rest[: m.start()] + " " + rest[m.end() :]
    m = re.search(r"\s(?:attribute|attr)\s+([\w:-]+)(?=\s+(?:of|from|on|at|in)\b|\s*$)", rest, re.I)
    if m:
        plan["attribute"] = m.group(1)
        rest = rest[: m.start()] + " " + rest[m.end() :]
    verb = r"^\s*(?:get|extract|fetch|scrape|show|list)?\s*(?:the\s+|all\s+)?"
    where = r"(?:\s+(?:of|from|on|at|in)(?:\s+the\s+page)?)?\s*(?:and\s*)?$"
    m = re.fullmatch(verb + r"select\s+(.+?)" + where, rest, re.I | re.S) or re.fullmatch(
        r"^\s*select\s+(.+?)" + where, rest, re.I | re.S
    )
    if m:
        selector = m.group(1).strip()
        if "@" in selector and "attribute" not in plan:
            selector, plan["attribute"] = selector.rsplit("@", 1)
        plan.update(extract="select", selector=selector.strip())
        return plan
    m = re.fullmatch(verb + r"(title|links|tables?|text)" + where, rest, re.I)
    if m:
        word = m.group(1).lower()
        plan["extract"] = "tables" if word.startswith("table") else word
        return plan
    raise NeedsPlan(
        "The text is not a scraping command (title/links/tables/text/select ... from URL); a plan is needed."
    )


def validate_plan(plan: Any) -> dict[str, Any]:
    """Check a planner's plan; :class:`BadPlan` names the wrong field."""
    if not isinstance(plan, dict):
        raise BadPlan("The plan must be a JSON object.")
    clean = {k: v for k, v in plan.items() if v not in (None, "")}
    allowed = {"url": str, "selector": str, "attribute": str, "follow_next": bool, "max_pages": int, "extract": str}
    for key, value in clean.items():
        if key not in allowed:
            raise BadPlan(f"Unknown plan field {key!r}; allowed: {', '.join(allowed)}.")
        if not isinstance(value, allowed[key]):
            raise BadPlan(f"Plan field {key!r} must be a {allowed[key].__name__}.")
    clean.setdefault("extract", "select" if clean.get("selector") else "text")
    if clean["extract"] not in EXTRACTS:
        raise BadPlan(f"'extract' must be one of {', '.join(EXTRACTS)}.")
    if clean["extract"] == "select" and not clean.get("selector"):
        raise BadPlan("extract 'select' needs a CSS 'selector'.")
    return clean


def _extract(plan: dict[str, Any], pages: list[tuple[str, str]]) -> Result:
    kind = plan.get("extract", "text")
    trees = [(url, ex.parse(html)) for url, html in pages]
    data: dict[str, Any] = {"pages": [u for u, _ in pages]}
    if kind == "title":
        titles = [ex.title(t) for _, t in trees]
        data.update(value=titles[0], items=titles)
        return Result(answer="\n".join(titles), data=data)
    if kind == "links":
        found = [link for url, t in trees for link in ex.links(t, url)]
        data["items"] = [u for _, u in found]
        return Result(
            answer=f"{len(found)} links: " + ", ".join(data["items"][:30]),
            data=data,
            tables=[Table("links", ["url", "text"], [[u, t] for t, u in found])],
        )
    if kind == "tables":
        found = [tb for _, t in trees for tb in ex.tables(t)]
        if not found:
            return Result(answer="No tables found.", data=data)
        return Result(
            answer=f"{len(found)} table(s); first has {len(found[0].rows)} rows and "
            f"columns {', '.join(found[0].columns)}.",
            data=data,
            tables=found,
        )
    if kind == "text":
        body = "\n\n".join(ex.text(t) for _, t in trees)[: ex.MAX_TEXT]
        return Result(answer=body, data=data)
    values = [v for url, t in trees for v in ex.select(t, plan["selector"], plan.get("attribute"), url)]
    data["items"] = values
    column = plan.get("attribute") or plan["selector"]
    answer = f"{len(values)} matches for {plan['selector']!r} on {len(pages)} page(s): "
    return Result(
        answer=answer + "; ".join(values[:50]), data=data, tables=[Table("matches", [column], [[v] for v in values])]
    )


def _from_file(task: Task) -> list[tuple[str, str]]:
    item = next((i for i in task.inputs if i.name.lower().endswith((".html", ".htm"))), None)
    if item is None:
        raise SpecialistError("bad_input", "Give an http(s) URL in the text or attach an .html file.")
    check_input(item, [".html", ".htm"])
    html, _ = read_text(item, max_bytes=2 * 1024 * 1024)
    return [(f"file:{item.name}", html)]


def handle(task: Task) -> Result:
    """Fetch (obeying robots.txt and limits), follow pagination, extract."""
    from ws_fetch import Fetcher

    planned = task.plan is not None
    plan = validate_plan(task.plan) if planned else parse_text(task.text)
    max_pages = plan.get("max_pages", DEFAULT_FOLLOW_PAGES if plan.get("follow_next") else 1)
    if not 1 <= max_pages <= MAX_PAGES:
        message = f"max_pages must be 1..{MAX_PAGES}, got {max_pages}."
        raise BadPlan(message) if planned else SpecialistError("bad_input", message)
    if not plan.get("url"):
        pages = _from_file(task)
        ops = [f"read {pages[0][0]}"]
    else:
        deadline = time.monotonic() + max(1.0, min(task.timeout_s - 2.0, 60.0))
        fetcher = Fetcher(deadline, max_pages)
        pages, ops, url = [], [], plan["url"]
        try:
            while url and len(pages) < max_pages:
                page = fetcher.get(url)
                pages.append((page.url, page.text))
                ops.append(f"GET {page.url} -> {page.status} ({page.bytes} bytes)")
                if not plan.get("follow_next"):
                    break
                nxt = ex.next_link(ex.parse(page.text), page.url)
                url = nxt if nxt and nxt not in {u for u, _ in pages} else None
        finally:
            fetcher.close()
    try:
        result = _extract(plan, pages)
    except SpecialistError as exc:
        if planned and exc.kind == "bad_input":
            raise BadPlan(exc.message) from exc
        raise
    result.operation_kind = "http"
    result.operation_text = "\n".join(
        ops
        + [
            f"extract {plan.get('extract')}"
            + (f" {plan['selector']!r}" if plan.get("selector") else "")
            + (f" @{plan['attribute']}" if plan.get("attribute") else "")
        ]
    )
    result.path = "planned" if planned else "explicit"
    return result
