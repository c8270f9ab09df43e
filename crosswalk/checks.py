"""Text-quality checks shared by every loader.

Stored text is never changed: each check only *reports* what it finds into a
:class:`~crosswalk.errors.Report`.  Kinds and severities:

``invisible_char`` (warning), ``mixed_script`` (warning),
``truncated_title`` (warning), ``split_word`` (warning), ``whitespace`` (info),
``formula_text`` (warning: text that a spreadsheet would run as a formula).

Russian morphology comes from pymorphy3; the analyzer is created lazily once
and per-word answers are cached, because loaders call these checks for about
10,000 titles.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Optional

INVISIBLE_CHAR = "invisible_char"
MIXED_SCRIPT = "mixed_script"
TRUNCATED_TITLE = "truncated_title"
SPLIT_WORD = "split_word"
WHITESPACE = "whitespace"
QUOTING = "quoting"
FORMULA_TEXT = "formula_text"
# what a spreadsheet runs as a formula or DDE call: a leading = or @, or + / - before a
# non-number («=HYPERLINK(…)», «=cmd|' /C calc'!A0», «-2+3» is a number, «+фреза» is not)
_FORMULA_RE = re.compile(r"\s*(?:[=@]|[+\-](?=[^\d\s.,]))")

# Characters that look like nothing (or like a plain space / hyphen) but break
# matching and sorting.  Other format (Cf) and non-ASCII space (Zs) characters
# are caught by category in _is_invisible.
_INVISIBLE = frozenset("\u00a0\u202f\u200b\u200c\u200d\u2060\ufeff\u00ad")

# Anything outside printable ASCII, Cyrillic and common typography needs a
# closer look for invisible characters.
_UNUSUAL_CHAR_RE = re.compile("[^ -~\u0400-\u04ff«»№–—…‘’“”„°±×]")
_LATIN_RE = re.compile("[A-Za-z\u00c0-\u024f]")
# A word is a run of letters: digits, punctuation and hyphens split words.
_WORD_RE = re.compile(r"[^\W\d_]+")
_CYR_WORD_RE = re.compile(r"[\u0400-\u04ff]+")

# Words a Russian title cannot end with: prepositions, conjunctions, particles.
_RU_DANGLING = frozenset("""
    в во на по для с со из к ко от до за при о об обо у без под подо над надо
    перед передо через между про вне кроме среди вокруг после около против
    ради сквозь согласно вследствие посредством путем
    и или а но либо ни не также тоже как что чем чтобы если так
    включая исключая
""".split())
# "…, не входящие (в (другие))" lost its «группы»; «не включенные в другие
# группировки» is the OKVED wording of the same phrase.
_RU_NOT_INCLUDED_RE = re.compile(
    r"\bне\s+[\u0400-\u04ff]+(?:\s+в(?:\s+(?:друг|ин)[\u0400-\u04ff]*)?)?$")
_EN_DANGLING = frozenset(
    "and or of the for in to with a an by from on at as nor than including except".split())
# A title ending with one of these lost its continuation.  The closing quote
# '"' is ambiguous, so it is not here.
_DANGLING_PUNCT = ",;:-\u2010\u2011\u2013\u2014(/«\u2026"
_OPEN_CLOSE = (("(", ")"), ("[", "]"), ("«", "»"))
# HTML entities of invisible characters left by a web export («1000&nbsp;»).
_INVISIBLE_ENTITIES = {"nbsp": "\u00a0", "shy": "\u00ad", "zwnj": "\u200c",
                       "zwj": "\u200d", "NoBreak": "\u2060"}
_ENTITY_RE = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);")


# -- pymorphy3 --------------------------------------------------------------
from .morph import analyzer as _analyzer  # noqa: E402  (shared pymorphy3 analyzer)


@lru_cache(maxsize=131072)
def _is_known(word: str) -> bool:
    return _analyzer().word_is_known(word)


def _parses(word: str) -> list:
    """Parses without abbreviation readings («в» volt, «с» second, «и»), which
    would otherwise make every preposition look like an indeclinable noun."""
    parses = _analyzer().parse(word)
    return [p for p in parses if "Abbr" not in p.tag] or parses


@lru_cache(maxsize=131072)
def _parts_of_speech(word: str) -> frozenset:
    return frozenset(str(p.tag.POS) for p in _parses(word))


# Nouns made from adjectives that pymorphy does not mark Subx, seen at the end
# of correct OKPDTR/OKVED titles (rooms of a hospital, groups of people).
_SUBSTANTIVISED = frozenset("""
    перевязочный процедурный стерилизационный костюмерный насосный операционный
    военнообязанный несовершеннолетний престарелый связующий
""".split())


@lru_cache(maxsize=131072)
def _is_dangling_adjective(word: str) -> bool:
    """Every parse is a full adjective/participle (no NOUN reading), none is
    marked Subx (pymorphy's "can be used as a noun": «больными», «слепых»),
    and none is nominative: a nominative adjective at the end is postposed to
    the head noun («Деятельность … прочая», «Редактор карт технический»)."""
    parses = _parses(word)
    return bool(parses) and all(
        p.tag.POS in ("ADJF", "PRTF") and "Subx" not in p.tag and "nomn" not in p.tag
        and p.normal_form not in _SUBSTANTIVISED for p in parses)


# Endings of every non-nominative full adjective/participle form: a cheap
# filter so that pymorphy only parses words that can be one.
_OBLIQUE_ADJ_ENDINGS = ("ого", "его", "ому", "ему", "ым", "им", "ой", "ей", "ою", "ею",
                        "ую", "юю", "ом", "ем", "ых", "их", "ыми", "ими")

_CASE = {"gen1": "gent", "gen2": "gent", "loc1": "loct", "loc2": "loct", "acc2": "accs"}


@lru_cache(maxsize=131072)
def _agreement_forms(word: str, pos: str) -> frozenset:
    """(case, number, gender) of the *pos* readings of *word*."""
    out = set()
    for p in _parses(word):
        if p.tag.POS == pos:
            t = p.tag
            out.add((_CASE.get(t.case, t.case), t.number, t.gender))
    return frozenset(out)


def _agrees(noun: str, adj: str) -> bool:
    for case, num, gen in _agreement_forms(noun, "NOUN"):
        for acase, anum, agen in (_agreement_forms(adj, "ADJF") | _agreement_forms(adj, "PRTF")):
            if case == acase and num == anum and (
                    num == "plur" or gen == agen or gen not in ("masc", "femn", "neut")):
                return True
    return False


# Heads after which a bare adjective is a normal ellipsis: «кроме трикотажных
# или вязаных», «за исключением …», «в том числе для слепых».
_ELLIPSIS_HEADS = frozenset("кроме исключая исключением включая числе".split())
_CONJ = frozenset(["и", "или", "либо", "а", "также"])


def _dangling_adjective_reason(body: str) -> Optional[str]:
    """The last word is an adjective/participle whose noun is missing.

    Walks back over the final adjective group («… смешанной растениеводческой
    и животноводческой») to what governs it, and lets through the normal
    cases: a postposed modifier that agrees with the noun before it («крана
    автомобильного»), an ellipsis after «кроме», a substantivised object of a
    preposition («за престарелыми»), a title that is only an adjective phrase
    («Заведующий костюмерной»).
    """
    text = re.sub(r"\([^()]*\)", " ", body)  # parenthetical asides are skipped
    toks = _words(text)
    if not toks:
        return None
    words = [m.group().lower() for m in toks]
    last = _last_ru_word(text)
    if last != words[-1]:  # split word re-joined: drop its first fragment
        words.pop()
        toks.pop()
        words[-1] = last
    if not last.endswith(_OBLIQUE_ADJ_ENDINGS) or not _CYR_WORD_RE.fullmatch(last) \
            or not _is_dangling_adjective(last):
        return None
    reason = f"ends with adjective/participle {last!r} whose noun is missing"
    group = 1  # adjectives and conjunctions in the final group
    starts_with_conj = False
    for i in range(len(words) - 2, -1, -1):
        sep = text[toks[i].end():toks[i + 1].start()]
        if "-" in sep:  # first part of a hyphen compound («информационно -»)
            continue
        if sep.strip(" ,"):
            return None  # other punctuation: cannot tell what governs the group
        w = words[i]
        if w in _CONJ:
            group += 1
            starts_with_conj = True
            continue
        pos = _parts_of_speech(w)
        if pos <= {"ADJF", "PRTF"}:
            group += 1
            starts_with_conj = False
            continue
        if w in _ELLIPSIS_HEADS:
            return None
        if "PREP" in pos:  # before NOUN: «с» also reads as an abbreviation
            return None if group == 1 else reason
        if "NOUN" not in pos or starts_with_conj:
            return reason
        # Postposed modifier: agrees with this noun or, through a genitive
        # chain, with one just before it («погружателя свай самоходного»).
        for j in range(i, max(i - 3, -1), -1):
            pj = _parts_of_speech(words[j])
            if j < i and ("NOUN" not in pj or pj & {"PREP", "CONJ", "PRCL"}
                          or text[toks[j].end():toks[j + 1].start()].strip()):
                break
            if _agrees(words[j], last):
                return None
        return reason
    return None  # the whole title is an adjective phrase: substantivised


# -- pure helpers -----------------------------------------------------------
def _char_name(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, '<unnamed>')}"


def _is_invisible(ch: str) -> bool:
    if ch in _INVISIBLE:
        return True
    cat = unicodedata.category(ch)
    # Cf: format chars (direction marks…); Zs other than ' ': odd spaces;
    # Cc except tab/newline (those are whitespace issues).
    return cat == "Cf" or (cat == "Zs" and ch != " ") or (cat == "Cc" and ch not in "\t\r\n")


def _entity_char(entity: str) -> Optional[str]:
    """The character an HTML entity body («nbsp», «#160») stands for."""
    if entity.startswith("#"):
        try:
            return chr(int(entity[2:], 16) if entity[1:2] in "xX" else int(entity[1:]))
        except (ValueError, OverflowError):
            return None
    return _INVISIBLE_ENTITIES.get(entity)


def invisible_chars(text: str) -> list[str]:
    """Names of invisible / look-alike-space characters in *text*, each once,
    e.g. "U+00A0 NO-BREAK SPACE"; HTML entities of them are named too."""
    out: list[str] = []
    if _UNUSUAL_CHAR_RE.search(text):  # most titles skip the per-char loop
        out = [_char_name(ch) for ch in dict.fromkeys(text) if _is_invisible(ch)]
    if "&" in text:
        for m in _ENTITY_RE.finditer(text):
            ch = _entity_char(m.group(1))
            if ch and _is_invisible(ch):
                name = f"{_char_name(ch)} (as HTML entity {m.group()!r})"
                if name not in out:
                    out.append(name)
    return out


@lru_cache(maxsize=4096)
def _script(ch: str) -> Optional[str]:
    name = unicodedata.name(ch, "")
    if name.startswith("CYRILLIC"):
        return "Cyrillic"
    if name.startswith("LATIN"):
        return "Latin"
    return None


def _scripts(word: str) -> dict[str, str]:
    """Script -> letters of that script in *word*, in order of appearance."""
    out: dict[str, str] = {}
    for ch in word:
        s = _script(ch)
        if s and ch not in out.get(s, ""):
            out[s] = out.get(s, "") + ch
    return out


def mixed_script_words(text: str) -> list[str]:
    """Words holding both Latin and Cyrillic letters (look-alike swaps).

    Pure-Latin words in Russian text (Roman numerals, «IT») are not flagged.
    """
    if not (_LATIN_RE.search(text) and _CYR_WORD_RE.search(text)):
        return []
    out = []
    for m in _WORD_RE.finditer(text):
        w = m.group()
        if _LATIN_RE.search(w) and _CYR_WORD_RE.search(w) and w not in out:
            out.append(w)
    return out


# Latin letters with a Cyrillic twin (OCR and font conversions swap them), and the twin
_TWIN_LATIN = "AaBCcEeHKkMOoPpTXxy"
_TWIN_CYRILLIC = "АаВСсЕеНКкМОоРрТХху"
_TO_CYRILLIC = str.maketrans(_TWIN_LATIN, _TWIN_CYRILLIC)
_TWIN_WORD_RE = re.compile(r"(?<![^\W\d_])[" + _TWIN_LATIN + r"]{2,}(?![^\W\d_])")
_ROMAN_RE = re.compile(r"[IVXLCDM]+")


def latin_twin_words(text: str, *, mixed: bool = False) -> list[str]:
    """Words of a text that should be Russian (a title of a Russian classification) written wholly in Latin letters that have Cyrillic twins
    («Bypa», «CEKTOP»): Cyrillic OCR'd into look-alikes. A word of capitals only is a real
    abbreviation («ATM», «XX» as a Roman numeral) unless it is long (4+ letters) or the text
    also holds words that mix the scripts (``mixed``: the OCR shows elsewhere)."""
    out = []
    for m in _TWIN_WORD_RE.finditer(text):
        w = m.group()
        if w in out or _ROMAN_RE.fullmatch(w):
            continue
        if w.isupper() and len(w) < 4 and not mixed:
            continue
        out.append(w)
    return out


def _words(text: str) -> list[re.Match]:
    return list(_WORD_RE.finditer(text))


def _last_ru_word(text: str) -> Optional[str]:
    """Last word of *text*, re-joined with the word before it if the two are
    a split word («ок ружающей» -> «окружающей»), so its grammar is seen."""
    words = _words(text)
    if not words:
        return None
    last = words[-1].group().lower()
    if len(words) > 1 and text[words[-2].end():words[-1].start()] == " ":
        prev = words[-2].group().lower()
        if _is_split(prev, last):
            return prev + last
    return last


def truncation_reason(text: str, language: str = "ru") -> Optional[str]:
    """Why *text* looks cut short (e.g. at a PDF line end), or None.

    language "ru": punctuation, brackets, final preposition/conjunction,
    «не входящие в» and adjective-without-noun (pymorphy3); "en": punctuation,
    brackets and a final function word; any other: punctuation and brackets.
    """
    # A trailing «&nbsp;» is reported as invisible_char, not as a dangling ';'.
    t = re.sub(r"(?:&[#\w]+;\s*)+$", "", text).strip()
    if not t:
        return None
    if t.endswith("...") or t[-1] in _DANGLING_PUNCT:
        return f"ends with dangling punctuation {t[-3:] if t.endswith('...') else t[-1]!r}"
    for o, c in _OPEN_CLOSE:
        if t.count(o) > t.count(c):
            return f"an opening {o!r} is never closed"
    if not t[-1].isalpha() and not t.endswith("."):
        return None  # ends with ')' or a digit: a complete element
    t = t.rstrip(".")  # «и т.д.» style endings are whole words
    # Upper-case titles (section names) are lowered; otherwise a final
    # capital «С»/«В» is a category label, not a preposition.
    body = t.lower() if t.isupper() else t
    words = [m.group() for m in _words(body)]
    if not words:
        return None
    last = words[-1]
    if language == "ru":
        if last in _RU_DANGLING:
            return f"ends with preposition/conjunction {last!r}"
        m = _RU_NOT_INCLUDED_RE.search(body)
        if m:
            return f"ends {m.group()!r}; the rest («… в другие группы») is missing"
        reason = _dangling_adjective_reason(body)
        if reason:
            return reason
    elif language == "en":
        # Title Case «… Of» counts; a lone capital («Category A») is a label.
        if last in _EN_DANGLING or (len(last) > 1 and last.lower() in _EN_DANGLING):
            return f"ends with {last!r}"
    return None


def _is_split(a: str, b: str) -> bool:
    """True if lower-case Cyrillic fragments a, b are one word broken by a space."""
    if a in _RU_DANGLING or b in _RU_DANGLING:
        return False  # «с ума» is two words even though «сума» exists
    if _is_known(a) and _is_known(b):
        return False
    return _is_known(a + b)


def split_words(text: str) -> list[tuple[str, str]]:
    """Russian words broken by a single space, e.g. ("фин", "ансово")."""
    words = list(_CYR_WORD_RE.finditer(text))
    # Fast path: a split leaves at least one fragment that is not a word.
    if all(_is_known(w.group().lower()) for w in words):
        return []
    out = []
    for x, y in zip(words, words[1:]):
        if text[x.end():y.start()] != " ":
            continue
        a, b = x.group(), y.group()
        # A new capitalised word after a lower-case one is a name, not a tail.
        if b[0].isupper() and not a.isupper():
            continue
        if _is_split(a.lower(), b.lower()):
            out.append((a, b))
    return out


_WS_RULES = [
    # (substring that must be present, regex, description); the substring test
    # is a cheap pre-filter, the match is the fragment reported as value
    ("  ", re.compile(r"  +"), "double space"),
    ("", re.compile(r"[\t\r\n\v\f]"), "tab or line break inside the text"),
    # letters on both sides: «температура -40» is a minus sign
    (" -", re.compile(r"[^\W\d_]+ -[^\W\d_]+"), "space before hyphen"),
    # «электро- и радиомонтажник», «goods- and services-producing» are right
    ("- ", re.compile(r"[^\W\d_]+- (?!(?i:и|или|либо|and|or)\b)[^\W\d_]+"),
     "hyphen followed by space"),
    ("", re.compile(r"\w+[,;](?=[^\W\d_])\w*"), "missing space after comma/semicolon"),
    (" ", re.compile(r"\w+ [,;]"), "space before comma/semicolon"),
]


def _whitespace_findings(text: str) -> list[tuple[str, str]]:
    """(description, offending fragment) pairs."""
    out = []
    if text[:1].isspace():
        out.append(("leading whitespace", text))
    if text[-1:].isspace():
        out.append(("trailing whitespace", text))
    inner = text.strip()
    for needle, rx, what in _WS_RULES:
        if needle in inner:
            for m in rx.finditer(inner):
                out.append((what, m.group()))
    return out


def whitespace_issues(text: str) -> list[str]:
    """Descriptions of whitespace problems, e.g. "hyphen followed by space in
    'электролизно- обменной'".  «электро- и радиомонтажник» is fine."""
    return [f"{what} in {frag!r}" for what, frag in _whitespace_findings(text)]


# -- report writers ---------------------------------------------------------
def _prefix(what: str, code) -> str:
    return f"{what} of {code}: " if code is not None else f"{what}: "


def _common(report, text, what, code, where, language="ru") -> None:
    names = invisible_chars(text)
    if names:
        report.warning(
            INVISIBLE_CHAR,
            _prefix(what, code) + f"contains invisible character(s) {', '.join(names)};"
            " they are invisible but break matching, stored text is unchanged",
            value=text, **where)
    if _FORMULA_RE.match(text):
        report.warning(
            FORMULA_TEXT,
            _prefix(what, code) + f"begins like a spreadsheet formula ({text.strip()[:1]!r}); kept as"
            " text, never evaluated, and written with a leading ' in the spreadsheets crosswalk makes",
            value=text, **where)
    _look_alikes(report, text, what, code, where, language)


def _look_alikes(report, text, what, code, where, language) -> None:
    """One ``mixed_script`` warning per text: its words that mix Latin and Cyrillic letters
    and, in Russian text, its words wholly in Latin look-alikes of Cyrillic letters."""
    from .errors import listing
    mixed = mixed_script_words(text)
    twins = latin_twin_words(text, mixed=bool(mixed)) if language == "ru" else []
    if not mixed and not twins:
        return
    if len(mixed) == 1 and not twins:
        s = _scripts(mixed[0])
        report.warning(
            MIXED_SCRIPT,
            _prefix(what, code) + f"word {mixed[0]!r} mixes Latin and Cyrillic letters"
            f" (Latin: {s.get('Latin', '')}; Cyrillic: {s.get('Cyrillic', '')});"
            " look-alike letters are flagged, stored text is unchanged",
            value=mixed[0], **where)
        return
    parts = []
    if mixed:
        parts.append(f"{len(mixed)} word(s) mix Latin and Cyrillic letters ({listing(map(repr, mixed), 5)})")
    if twins:
        parts.append(f"{len(twins)} word(s) are written wholly in Latin letters that look like Cyrillic ones"
                     f" ({listing(map(repr, twins), 5)})")
    words = mixed + twins
    read = " ".join(w.translate(_TO_CYRILLIC) for w in words[:3])
    report.warning(
        MIXED_SCRIPT,
        _prefix(what, code) + "; ".join(parts) + f": Cyrillic OCR'd or converted into look-alikes"
        f" (read as Cyrillic: «{read}»); look-alike letters are flagged, stored text is unchanged",
        value=" ".join(words), **where)


def check_title(report, text, *, language="ru", row=None, column=None, sheet=None,
                code=None) -> None:
    """All text checks for a classification item title."""
    if not isinstance(text, str) or not text:
        return  # missing titles are the loader's business
    where = dict(row=row, column=column, sheet=sheet)
    _common(report, text, "title", code, where, language)
    reason = truncation_reason(text, language)
    if reason:
        report.warning(
            TRUNCATED_TITLE,
            _prefix("title", code) + f"looks truncated: {reason};"
            " stored text is unchanged", value=text, **where)
    if language == "ru":
        for a, b in split_words(text):
            report.warning(
                SPLIT_WORD,
                _prefix("title", code) + f"{a!r} and {b!r} look like one word"
                f" {a + b!r} broken by a space (the joined form is a known word,"
                " a part is not); stored text is unchanged",
                value=f"{a} {b}", **where)
    for what, frag in _whitespace_findings(text):
        report.info(WHITESPACE, _prefix("title", code) + f"{what} in {frag!r};"
                    " stored text is unchanged", value=frag, **where)
    reason = quoting_reason(text)
    if reason:
        report.warning(QUOTING, _prefix("title", code) + f"{reason}; stored text is unchanged",
                       value=text, **where)


def quoting_reason(text: str) -> Optional[str]:
    """Quote marks left broken by a CSV round trip: doubled ``""`` inside a value
    (CSV escaping that was never undone) or an odd number of ``"``."""
    if '""' in text:
        return 'doubled quote marks "" (CSV escaping left in the text)'
    if text.count('"') % 2:
        return f'{text.count(chr(34))} quote marks ", an odd number (one is unmatched)'
    return None


def check_text(report, text, *, language="ru", row=None, column=None, sheet=None,
               code=None) -> None:
    """Checks for long notes/definitions: invisible characters and mixed-script
    words only (line breaks and wrapping are normal in long text)."""
    if not isinstance(text, str) or not text:
        return
    _common(report, text, "text", code, dict(row=row, column=column, sheet=sheet), language)
