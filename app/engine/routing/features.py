"""Text and file features shared by the routers.

Everything here is catalogue-agnostic: file extensions become tokens (``ext_sqlite``) whose
meaning the fast router *learns* from the manifests' ``accepted_inputs``; nothing maps an
extension to a specialist by hand. The injection check looks for generic steering phrases,
never for specialist ids.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Complexity",
    "estimate_complexity",
    "extract_features",
    "GLOSSARY",
    "file_tokens",
    "looks_like_injection",
    "normalise",
    "signals",
    "stem",
    "word_tokens",
]

_WORD = re.compile(r"[a-z0-9]+(?:[._'][a-z0-9]+)*|[=<>*/^+%(){}\[\]$#|-]")
_SPACE = re.compile(r"\s+")
_STOP = frozenset(
    "a an the of to in on for and or with from by at as is are be this that these those it its "
    "me my i we our you your please can could would will do does "
    "what what's whats which when where who why there some just".split()
)

# Generic phrases with which a text tries to steer a router or reveal its instructions.
_INJECTION = [
    r"\bignore (?:all |any |the )?(?:previous|prior|above|earlier|your|these|those)\b",
    r"\bdisregard (?:all |any |the )?(?:previous|prior|above|earlier|your)\b",
    r"\bforget (?:all |everything|your|previous)\b",
    r"\b(?:system|developer) (?:prompt|message|instructions?)\b",
    r"\byou are now\b",
    r"\bnew instructions?\b",
    r"\bact as (?:an? )?(?:admin|root|dan|jailbroken)\b",
    r"\b(?:route|send|forward|dispatch) (?:this |it |me )?(?:to|into) (?:the )?(?:host|root|admin|sudo|shell)\b",
    r"\bhost (?:shell|machine|system)\b",
    r"\bdocker\.sock\b|/var/run/docker",
    r"[\"']route[\"']\s*:",
    r"\bjailbreak\b",
    r"\boverride (?:the )?(?:router|routing|rules|policy)\b",
    r"\bignorez? (?:les|toutes les) instructions\b",
    r"\bignoriere (?:alle |die )?(?:vorherigen|bisherigen)\b",
    r"\bignora (?:las|todas las) instrucciones\b",
]
_INJECTION_RE = re.compile("|".join(_INJECTION))

_SUFFIXES = (
    "ations",
    "ation",
    "ements",
    "ement",
    "ments",
    "ment",
    "ungen",
    "ung",
    "iones",
    "ions",
    "ion",
    "ing",
    "ies",
    "ied",
    "ers",
    "es",
    "ed",
    "en",
    "er",
    "s",
    "e",
)
_URL = re.compile(r"\bhttps?://\S+|\bwww\.[a-z0-9-]+\.\S+")
_CODE = re.compile(
    r"```|\bdef \w+\(|\bimport \w+|\bprint\(|\bfor \w+ in \w+|\blambda\b|\bclass \w+[:(]|\w+\.py\b|"
    r"\bpython\b|\breturn \w+|\bopen\(['\"]"
)
_SQL = re.compile(
    r"\bselect\b.+\bfrom\b|\binsert into\b|\bcreate table\b|\bupdate \w+ set\b|\bdelete from\b|"
    r"\bgroup by\b.+\bhaving\b|\bpragma\b|\bsql\b"
)
_FORMULA = re.compile(r"[a-z0-9)]\s*(?:\^|\*\*)\s*[a-z0-9(]|\bd/d[a-z]\b|\b[a-z]\(\w\)|\[\[|∫|√|\d\s*[-+*/]\s*\d|\by'")
# Common file extensions (generic, not the catalogue's): a name such as ``sales.csv`` in the
# text is evidence like an attachment of that type.
_MENTIONED_FILE = re.compile(
    r"\b[\w-]+\.(?:csv|tsv|txt|json|jsonl|ndjson|xlsx|xlsm|xls|parquet|zip|sqlite3?|db|sql|py|"
    r"ipynb|html?|xml|pdf|png|md|yaml|yml|log)\b"
)

# Common data / computing words in French, German, Spanish, Italian and Portuguese (accents
# folded) with their English equivalents. Generic language knowledge, not catalogue wording: it
# lets a German "Tabelle" meet the English "table" the manifests are written in.
_GLOSSARY_TEXT = """
requete:query requetes:query donnees:data tableau:table tableur:spreadsheet colonne:column
colonnes:column ligne:row lignes:rows moyenne:mean somme:sum graphique:chart diagramme:chart
courbe:curve modele:model entraine:train entrainer:train predire:predict prevision:forecast
regroupe:group regroupement:clustering resous:solve resoudre:solve integrale:integral
derivee:derivative matrice:matrix calcule:compute calculer:compute lien:link liens:links
titre:title titres:titles extrais:extract extraire:extract recupere:fetch executer:run
execute:run programme:program fichier:file valeurs:values aberrantes:outliers commandes:orders
ventes:sales prix:price affaires:revenue nombre:number nombres:numbers equation:equation
abfrage:query datenbank:database tabelle:table tabellen:tables spalte:column spalten:columns
zeile:row zeilen:rows durchschnitt:mean mittelwert:mean summe:sum diagramm:chart
balkendiagramm:bar_chart modell:model trainiere:train trainieren:train vorhersage:prediction
vorhersagen:predict klassifikator:classifier kreuzvalidierung:cross-validation gleichung:equation
lose:solve loese:solve ableitung:derivative berechne:compute seite:page titel:title
uberschriften:headings hol:fetch lade:fetch fuhre:run programm:program skript:script datei:file
umsatz:revenue umsatze:revenue verkaufe:sales kunden:customers bestellungen:orders
ausreisser:outliers zahlen:numbers
consulta:query datos:data tabla:table columna:column fila:row filas:rows promedio:mean
media:mean suma:sum grafico:chart modelo:model entrena:train entrenar:train predecir:predict
agrupa:group ecuacion:equation resuelve:solve derivada:derivative matriz:matrix calcula:compute
pagina:page enlaces:links titulo:title extrae:extract ejecuta:run codigo:code archivo:file
ventas:sales clientes:customers pedidos:orders precios:prices atipicos:outliers
tabella:table colonna:column addestra:train prevedere:predict equazione:equation risolvi:solve
derivata:derivative calcola:compute collegamenti:links titoli:titles estrai:extract esegui:run
codice:code vendite:sales
tabela:table coluna:column dados:data treine:train treinar:train prever:predict equacao:equation
resolva:solve calcule:compute extraia:extract roda:run arquivo:file planilha:spreadsheet
vendas:sales registros:records
"""
GLOSSARY = {src: dst.replace("_", " ") for src, _, dst in (item.partition(":") for item in _GLOSSARY_TEXT.split())}


def normalise(text: str) -> str:
    """Lower-case, strip accents and collapse whitespace, so 'Régression' matches 'regression'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACE.sub(" ", stripped.lower()).strip()


def word_tokens(norm: str) -> list[str]:
    """Words (keeping dotted names such as ``sales.csv``) and operator symbols, minus stop words."""
    return [t for t in _WORD.findall(norm) if t not in _STOP]


def file_tokens(files: list[str] | tuple[str, ...]) -> list[str]:
    """``ext_<suffix>`` tokens (last and double suffix) plus the stem's words.

    The router learns what each extension means from the manifests; a file name such as
    ``customers_2024.sqlite`` also contributes ``customers``.
    """
    out: list[str] = []
    for name in files:
        path = Path(name.strip())
        suffixes = [s.lower().lstrip(".") for s in path.suffixes if 1 < len(s) <= 8]
        if suffixes:
            out.append("ext_" + suffixes[-1])
            if len(suffixes) >= 2:
                out.append("ext_" + "".join(suffixes[-2:]).replace(".", ""))
        else:
            out.append("ext_none")
        stem = normalise(path.name.split(".")[0])
        out.extend(t for t in re.split(r"[^a-z0-9]+", stem) if len(t) > 2 and not t.isdigit())
    return out


def stem(word: str) -> str:
    """Strip one common inflection suffix (EN/FR/DE/ES/IT/PT) from a word of 5+ letters.

    Deliberately crude: it only has to make ``queries``/``query``, ``tabelle``/``tabellen`` or
    ``predicting``/``predicted`` share a feature; char n-grams carry the rest.
    """
    if len(word) < 5 or not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def signals(norm: str) -> list[str]:
    """Shape cues a bag of words misses: a URL, code, SQL statement, formula or file name.

    The router learns what each cue means from the catalogue's own examples.
    """
    out = []
    if _URL.search(norm):
        out.append("url")
    if _CODE.search(norm):
        out.append("code")
    if _SQL.search(norm):
        out.append("sql")
    if _FORMULA.search(_URL.sub(" ", norm)):
        out.append("formula")
    return out


def extract_features(text: str, files: list[str] | tuple[str, ...] = ()) -> dict[str, float]:
    """Sparse raw counts: words, stems, glossary translations, bigrams, char 3-5 grams, cues, files.

    Char n-grams carry morphology (``régressions``, ``Integral``) and some cross-language
    overlap; stems and the small glossary map common FR/DE/ES/IT/PT words onto the English
    vocabulary the catalogue is written in; bigrams carry phrases ("linear regression");
    file names mentioned in the text count like attached ones (weaker). Prefixes keep the
    feature spaces apart.
    """
    norm = normalise(text)
    words = word_tokens(norm)
    feats: dict[str, float] = {}

    def add(key: str, weight: float = 1.0) -> None:
        feats[key] = feats.get(key, 0.0) + weight

    for w in words:
        add("w:" + w)
        if w[0].isalpha():
            add("s:" + stem(w), 0.5)
        english = GLOSSARY.get(w)
        if english:
            for e in english.split():
                add("w:" + e, 0.7)
                add("s:" + stem(e), 0.35)
    for a, b in zip(words, words[1:], strict=False):
        add("b:" + a + "_" + b)
    for w in words:
        if len(w) < 3 or not w[0].isalpha():
            continue
        padded = f"<{w}>"
        for n in (3, 4, 5):
            for i in range(len(padded) - n + 1):
                add("c:" + padded[i : i + n], 0.5)
    for cue in signals(norm):
        add("g:" + cue, 1.5)
    for w in words:
        if w[0].isdigit():
            add("g:number", 0.5)  # shape, not value: "462" and "1071" look alike
    mentioned = [m.group(0) for m in _MENTIONED_FILE.finditer(_URL.sub(" ", norm))]
    for tok in file_tokens(mentioned):
        if tok.startswith("ext_"):
            add("f:" + tok, 1.0)
    for tok in file_tokens(files):
        # Extensions are strong evidence: counted twice so a files-only task is never empty.
        add("f:" + tok, 2.0 if tok.startswith("ext_") else 1.0)
    return feats


def looks_like_injection(text: str) -> bool:
    """True when the text tries to steer the router rather than describe a task."""
    return bool(_INJECTION_RE.search(normalise(text)))


@dataclass(frozen=True)
class Complexity:
    """A rough size of the task: scales the timeout and says whether to reserve more memory."""

    level: str  # low | medium | high
    timeout_factor: float
    reason: str


def estimate_complexity(text: str, file_sizes: list[int] | tuple[int, ...] = ()) -> Complexity:
    """Estimate from the text length, the number and total size of inputs and a few cues.

    Why: a 2 GB CSV or a "train a model" request needs a longer timeout than "2+2"; the
    dispatcher multiplies the specialist's timeout by ``timeout_factor``.
    """
    norm = normalise(text)
    total = sum(max(0, s) for s in file_sizes)
    score = 0
    reasons = []
    if len(norm) > 400:
        score += 1
        reasons.append("long text")
    if len(file_sizes) > 3:
        score += 1
        reasons.append(f"{len(file_sizes)} files")
    if total > 50 * 1024 * 1024:
        score += 2
        reasons.append(f"{total / 1048576:.0f} MB of input")
    elif total > 5 * 1024 * 1024:
        score += 1
        reasons.append(f"{total / 1048576:.0f} MB of input")
    if re.search(r"\b(train|fit|cross.?validat|grid search|crawl|every page|all pages|simulat|monte carlo)", norm):
        score += 1
        reasons.append("iterative work")
    if score >= 3:
        return Complexity("high", 3.0, ", ".join(reasons))
    if score >= 1:
        return Complexity("medium", 1.5, ", ".join(reasons))
    return Complexity("low", 1.0, "short text, small inputs")
