"""The shape of answer a task's wording asks for: one value, one item, a list, or a table.

A small model writes better programs when it is told what to print, and the result can only
be checked against the task when the engine knows what was asked. The rules are cheap
wording cues (English, plus the common German, French and Spanish question words); when none
fits the shape is ``free`` and nothing is demanded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Shape", "answer_shape", "asks_for_chart"]

Kind = Literal["value", "one", "list", "table", "free"]

_GROUP = re.compile(
    r"\b(for each|for every|each|every|per|by (?:month|year|day|week|region|country|category|customer|product|store|"
    r"department|team|city|type|genre|group)|broken down|breakdown|grouped|group by|je|pro|par|por cada|"
    r"jede[nmrs]?|chaque|cada)\b",
    re.I,
)
_TABLE_WORDS = re.compile(r"\b(table|rows|tableau|lignes|zeilen|tabelle|tabla|filas)\b", re.I)
_COUNT = re.compile(
    r"\b(how (many|much|long|far|old|often|big|large|high|heavy)|"
    r"what (?:is|was|'s) the (?:total|sum|average|mean|median|"
    r"number|count|value|maximum|minimum|probability|percentage|ratio|rate|area|volume|length|determinant|rank)|"
    r"combien|wie (?:viele?|viel|hoch|lange?|gro(?:ß|ss))|wieviele?|cu[aá]nt[oa]s?|quant[io]|quel(?:le)? est (?:le|la) "
    r"(?:nombre|total|somme|moyenne|valeur)|count the|total number)\b",
    re.I,
)
_SUPERLATIVE = re.compile(
    r"\b(most|least|highest|lowest|largest|smallest|biggest|best|worst|top|cheapest|dearest|longest|shortest|"
    r"earliest|latest|oldest|newest|youngest|fewest|max(?:imum)?|min(?:imum)?|meisten|höchste[nmrs]?|größte[nmrs]?|"
    r"plus (?:grand|petit|élevé|cher|bas|haut|peuplé|ancien|récent|long|court)e?s?|moins cher(?:e|s)?|"
    r"kleinste[nmrs]?|niedrigste[nmrs]?|billigste[nmrs]?|teuerste[nmrs]?|günstigste[nmrs]?|"
    r"menor|mayor|más)\b",
    re.I,
)
# Things a table lists (as opposed to measures of them): "what's the cheapest product" asks for a
# product, "what's the highest price" for a value. English, French, German and Spanish words.
_THING = re.compile(
    r"\b(?:what|which|quel(?:le)?s?|qu[eé]|welche[rsnm]?|cu[aá]l(?:es)?)(?:'s| is| was| are| est| ist| es)?"
    r"(?: the| le| la| les| el| der| die| das)?(?: \w+){0,2}? "
    r"(product|item|article|city|town|country|customer|client|employee|store|shop|branch|region|team|player|"
    r"job|event|book|movie|film|song|student|person|user|category|department|brand|model|car|company|"
    r"supplier|vendor|hotel|restaurant|flight|station|school|course|recipe|dish|project|member|"
    r"produit|ville|pays|employé|magasin|équipe|livre|entreprise|"
    r"produkt|stadt|land|kunde|kundin|mitarbeiter|filiale|firma|buch|"
    r"producto|ciudad|país|empleado|tienda|equipo|libro|empresa)s?\b",
    re.I,
)
_WHICH = re.compile(
    r"^\s*(?:\W*)(which|who|list|name|show|give|find|get|extract|pull|collect|welche[rsnm]?|wer|quels|quelles|"
    r"qui|cu[aá]les|qui[eé]n(?:es)?)\b|\b(which|who|list (?:all|every|the)|list of|welche[rsnm]?|quels|quelles)\b",
    re.I,
)
_WHAT_THE = re.compile(
    r"\b(what(?:'s| is| was| will be| would be| are)? (?:the|its|my|our)|quel(?:le)? (?:est|sera|était)|"
    r"welche[nrs]? \w+ (?:hat|ist)|"
    r"was ist|wie (?:gro(?:ß|ss)|hoch|lang)|cu[aá]l es)\b",
    re.I,
)
_IN_TABLE = re.compile(  # "the city in the table that ...": where to look, not a table asked for
    r"\b(?:in|from|of|on|du|dans le|de la|im|in der|aus der|en la|del)\s+(?:the\s+|this\s+)?"
    r"(?:table|tableau|tabelle|tabla)\b",
    re.I,
)
_TOP_N = re.compile(r"\btop\s+(\d{1,3}|three|five|ten)\b", re.I)
_LIST_WORDS = re.compile(
    r"\b(list|all (?:the )?\w+s|every \w+|which \w+s\b|who are|names of|products|items|customers|members|cities|"
    r"employees|rows|entries|links|headlines|dates|ingredients)\b",
    re.I,
)

_CHART = re.compile(
    r"\b(chart|plot|graph|histogram|diagram|visuali[sz]e|draw|png|image|graphique|tracer?|diagramm|"
    r"balkendiagramm|liniendiagramm|grafik|gr[aá]fico|grafica|gráfica|dibuja)\b",
    re.I,
)


def asks_for_chart(text: str) -> bool:
    """Whether the wording asks for a chart (an image), not only for figures."""
    return bool(_CHART.search(text))


@dataclass(frozen=True)
class Shape:
    """What to print: ``value`` (one number last), ``one`` (one item), ``list``, ``table``, ``free``."""

    kind: Kind
    limit: int | None = None  # for "top N"
    grouped: bool = True  # a table: one row per group ("per region"), else the rows themselves ("as a table")

    def hint(self, tabular: bool = True, files: bool = True) -> str:
        """One instruction for the program writer.

        ``tabular``: the libraries include pandas; ``files``: the task has input files, so a list or
        table comes from them and is also saved as ``result.csv`` (a computed list is only printed).
        """
        save = (
            (
                "build a pandas DataFrame with exactly those rows, key column first, and "
                "out.to_csv('result.csv', index=False)"
            )
            if tabular
            else "write exactly those rows with csv.writer to result.csv (a header row first, key column first)"
        )
        if not files and self.kind in ("one", "list", "table"):
            what = {"one": "the one item asked for", "list": "one item per line", "table": "one row per line"}
            return f"Answer shape: print {what[self.kind]} and nothing else (no file needs saving)."
        if self.kind == "value":
            return (
                "Answer shape: ONE value (a number, or the one text asked for). Print it alone on the last "
                "line at full precision (do not round unless the task asks; for a number print a decimal, "
                "not only a symbolic form)."
            )
        if self.kind == "one":
            return (
                "Answer shape: ONE item (the single best match). Keep only that row (idxmax/idxmin, "
                "sort and head(1), ORDER BY ... LIMIT 1), print its name on the last line, and also "
                f"{save}."
            )
        if self.kind == "list":
            many = f"exactly the top {self.limit}" if self.limit else "exactly the matching items, and nothing else"
            return (
                f"Answer shape: a LIST of {many}. Print one per line and also {save}; the first column "
                "must hold the item itself (the name asked for), not a count."
            )
        if self.kind == "table" and not self.grouped:
            return (
                f"Answer shape: a TABLE of the rows themselves (every row unless the task filters them), the "
                f"columns asked for with the name column first; print it and also {save}."
            )
        if self.kind == "table":
            return (
                "Answer shape: a TABLE, one row per group. Keep only the key column(s) and the asked "
                f"figure(s), print it and also {save}."
            )
        return ""

    def sql_hint(self) -> str:
        """The same instruction for a writer of one SQLite query (the engine prints its result)."""
        if self.kind == "value":
            return "Answer shape: ONE value: the last statement returns one row with one column (the figure asked for)."
        if self.kind == "one":
            return (
                "Answer shape: ONE item: ORDER BY the deciding figure and LIMIT 1; select the item's name first, "
                "then that figure."
            )
        if self.kind == "list":
            many = (
                f"exactly the top {self.limit} (ORDER BY ... LIMIT {self.limit})"
                if self.limit
                else "exactly the matching items, nothing else"
            )
            return f"Answer shape: a LIST of {many}: one row per item, the item's name in the first column."
        if self.kind == "table" and not self.grouped:
            return (
                "Answer shape: a TABLE of the rows themselves (every row unless the task filters them; no GROUP BY, "
                "no counting): the columns asked for, the name column first."
            )
        if self.kind == "table":
            return (
                "Answer shape: a TABLE, one row per group: select the key column(s) first, then only the asked "
                "figure(s), GROUP BY the key."
            )
        return ""


def _limit(text: str) -> int | None:
    match = _TOP_N.search(text)
    if match is None:
        return None
    word = match.group(1).lower()
    return {"three": 3, "five": 5, "ten": 10}.get(word) or int(word)


def answer_shape(text: str) -> Shape:
    """The shape ``text`` asks for (its question, when prose or data come before it)."""
    ask = _question_part(text)
    per = _GROUP.search(ask) is not None
    if _COUNT.search(ask) and not per:
        return Shape("value")
    limit = _limit(ask) or _limit(" ".join(text.split())[:600])
    if limit is not None:
        return Shape("list", limit=limit)
    if per or _TABLE_WORDS.search(_IN_TABLE.sub(" ", ask)):
        return Shape("table", grouped=per)
    if _WHICH.search(ask) or _THING.search(ask):
        if _SUPERLATIVE.search(ask) and not _LIST_WORDS.search(ask.replace("which", "")):
            return Shape("one")
        return Shape("list")
    if _WHAT_THE.search(ask):
        return Shape("value")
    return Shape("free")


def _question_part(text: str) -> str:
    """The sentence that asks: the last one with a question mark, else the whole text (first 400 chars)."""
    flat = " ".join(text.split())
    questions = re.findall(r"(?:[^.?!]|\.(?=\S))*\?", flat)
    return (questions[-1] if questions else flat)[:400]
