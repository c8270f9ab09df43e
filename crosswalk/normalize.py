"""Text keys for matching titles: folding, tokens, lemmas, head nouns, IDF weights.

Everything here builds *keys* to compare; stored titles are never changed.

Decisions (tested in tests/test_normalize.py):

* :func:`fold` — NFKC, casefold, ``ё``→``е``; invisible characters (soft hyphen,
  zero-width, format marks, stray combining marks) removed; odd spaces (NBSP…)
  become spaces.  Words mixing Latin and Cyrillic letters are written in one
  script: the letters that exist in only one script decide («IР»: Latin ``I``
  against nothing ⇒ ``ip``; «прoизводство» with a Latin ``o`` ⇒ Cyrillic); on a
  tie the whole text's letters decide, then Cyrillic.  Only the twelve
  look-alike pairs (a b c e h k m o p t x y ↔ а в с е н к м о р т х у) are
  swapped; words in one script are left alone (Roman numerals, «IT», «DVD»).
  Punctuation, quotes and brackets become spaces; apostrophes inside a word
  vanish (``builder's`` → ``builders``); dotted letter abbreviations are joined
  (``n.e.c.`` → ``nec``, ``т.д.`` → ``тд``).  Hyphens: ``a-b`` stays; a space on
  one side only is a line-wrap or typo (``чулочно- носочных``,
  ``информационно -коммуникационных`` → joined); a suspended hyphen before a
  conjunction stays (``электро- и радиомонтажник``); a spaced dash
  (``Укладчик - выбиральщик``) and hyphens at word ends become spaces.
  Dashes ‐ ‑ ‒ – − count as hyphens, — as a dash.
* :func:`tokens` — words of the folded text, **hyphenated compounds split into
  their parts** («слесарь-ремонтник» → слесарь, ремонтник): a part then matches
  the plain word («слесари»), and a whole compound still matches itself fully,
  while keys stay short.  Stop words are function words only (prepositions,
  conjunctions, particles, and the pieces of «т.д.», «т.п.», «т.ч.», «др.»);
  generic words are IDF's job.  Russian lemma: pymorphy3's most probable
  parse, after dropping the readings a noun-phrase title hardly means
  (finite verbs, adverbs, names, abbreviations: «стали» → сталь, «часами» →
  часы); a masculine animate nominative reading wins, so occupations are
  not read as other words' forms («техник(и)» → техник, not техника);
  participles keep participle form («заведующие» → заведующий, not
  заведовать).  English: a light stemmer for plural and ‑ing/‑ed endings
  (Developers → developer, Manufacturing → manufacture, knitted → knit) with
  British spellings made American (organisation, labour, centre, programme).
  Only all-Cyrillic words are lemmatised in Russian and all-Latin ones
  stemmed in English; numbers, Roman numerals and words of the other script
  stay as folded.  Texts and words are cached (titles repeat across runs).
* :func:`head_noun` — one signal among many, see its docstring.
* :class:`TokenWeights` — IDF over token *sets*; overlap measures are set-based
  and summed with :func:`math.fsum`, so results do not depend on token order or
  hash seed; :meth:`TokenWeights.cdist` gives all pairs at once.
"""
from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache, partial
from typing import Callable, Iterable, Mapping, Optional, Sequence

import numpy as np

from .errors import CrosswalkError

__all__ = [
    "LANGUAGES", "STOP_WORDS", "TokenWeights", "UnsupportedLanguageError",
    "fold", "head_noun", "key", "processor", "tokens",
]

LANGUAGES = ("ru", "en")


class UnsupportedLanguageError(CrosswalkError, ValueError):
    """A language other than those in :data:`LANGUAGES` was asked for."""


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise UnsupportedLanguageError(
            f"unsupported language {language!r}; supported: {', '.join(LANGUAGES)}")


STOP_WORDS: dict[str, frozenset] = {
    "ru": frozenset("""
        в во на по для с со из изо к ко от ото до за при о об обо у без безо под подо
        над надо перед передо через между меж про вне кроме среди вокруг после около
        против ради сквозь согласно вследствие посредством путем вдоль внутри поверх
        возле близ мимо вместо вроде ввиду насчет включая исключая
        и или а но либо ни да также тоже как что чем чтобы если то зато однако причем
        не же ли бы лишь только даже уже еще вот
        т д п ч тд тп тч др пр
    """.split()),
    "en": frozenset("""
        a an the of and or nor for in on at to by with from as into onto via per than
        not no including excluding except without within upon
    """.split()),
}
_CONJ = frozenset(["и", "или", "либо", "а", "and", "or"])

# -- fold -----------------------------------------------------------------
# Look-alike pairs after casefold (upper-case B/H/K/M/T look like В/Н/К/М/Т).
_LAT_LOOK, _CYR_LOOK = "abcehkmoptxy", "авсенкмортху"
_TO_CYR = str.maketrans(_LAT_LOOK, _CYR_LOOK)
_TO_LAT = str.maketrans(_CYR_LOOK, _LAT_LOOK)
_HYPHENS = "\u2010\u2011\u2012\u2013\u2212\ufe63\uff0d"
_APOSTROPHES = "'\u2019\u02bc\u2018`\u00b4"
_TRANSLATE = str.maketrans({"_": " ", "\u2014": " ", **{h: "-" for h in _HYPHENS}})
_TRANSLATE_RE = re.compile(f"[_\u2014{_HYPHENS}]")
# Text made only of these needs no per-character look at invisible characters.
_PLAIN_IN = re.compile(r"[ -~\u0401\u0410-\u044f\u0451«»№–—…‘’“”„]*")
_PLAIN_OUT = re.compile(r"[a-z0-9\u0430-\u044f -]*")
_ABBR_RE = re.compile(r"(?<![^\W\d_])(?:[^\W\d_]\.){2,}")
_APOS_RE = re.compile(rf"(?<=[^\W\d_])[{_APOSTROPHES}](?=[^\W\d_])")
_NON_WORD_RE = re.compile(r"[^\w\s-]+")
_SEP_RE = re.compile(r"[\s-]+")
_SPACES_RE = re.compile(r"\s+")
_HYPHEN_RUN_RE = re.compile(r"\s*-[\s-]*")
_WORD_CHAR = re.compile(r"\w")
_WORD_RE = re.compile(r"\w+")
_HYPHEN_SPACE = re.compile(r"-+\s+")
_SPACE_HYPHEN = re.compile(r"\s+-+")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_LATIN_RE = re.compile(r"[a-z\u00df-\u024f]")
_CYR_RE = re.compile(r"[\u0400-\u04ff]")


def _drop_invisible(s: str) -> str:
    """Remove format/combining marks, turn other spaces and controls into ' '."""
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if cat in ("Cf", "Mn", "Me", "Cs", "Co", "Cn"):
            continue
        out.append(" " if cat[0] in "ZC" else ch)
    return "".join(out)


def _separator(m: re.Match) -> str:
    """Replacement for a run of spaces/hyphens; punctuation is still in the text,
    so «альфа-, бета-» is not taken for a line-wrap."""
    sep, s, start, end = m.group(), m.string, m.start(), m.end()
    if not (start and end < len(s) and _WORD_CHAR.match(s[start - 1])
            and _WORD_CHAR.match(s[end])):
        return " "
    if not sep.strip("-"):
        return "-"
    if _HYPHEN_SPACE.fullmatch(sep):
        # «электро- и радиомонтажник» keeps its suspended hyphen
        return "- " if _WORD_RE.match(s, end).group() in _CONJ else "-"
    return "-" if _SPACE_HYPHEN.fullmatch(sep) else " "


def _script_counts(word: str) -> tuple[int, int]:
    """(Latin, Cyrillic) letters that exist in only one of the two scripts."""
    lat = sum(1 for ch in word if ch not in _LAT_LOOK and _LATIN_RE.match(ch))
    cyr = sum(1 for ch in word if ch not in _CYR_LOOK and _CYR_RE.match(ch))
    return lat, cyr


def _fix_scripts(s: str) -> str:
    if not (_LATIN_RE.search(s) and _CYR_RE.search(s)):
        return s
    text_lat, text_cyr = _script_counts(s)

    def one(m: re.Match) -> str:
        w = m.group()
        if not (_LATIN_RE.search(w) and _CYR_RE.search(w)):
            return w
        lat, cyr = _script_counts(w)
        if lat == cyr:
            lat, cyr = text_lat, text_cyr
        return w.translate(_TO_LAT if lat > cyr else _TO_CYR)

    return _LETTERS_RE.sub(one, s)


def one_script(text: str) -> str:
    """*text* (case-folded) with each word that mixes Latin and Cyrillic look-alike letters
    written in one script, as :func:`fold` does («koд» → «код»)."""
    return _fix_scripts(text)


def _fold_once(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)
    s = unicodedata.normalize("NFKC", s.casefold())  # casefold can undo NFKC
    s = s.replace("ё", "е")
    if _TRANSLATE_RE.search(s):
        s = s.translate(_TRANSLATE)
    if not _PLAIN_IN.fullmatch(s):
        s = _drop_invisible(s)
    if "." in s:
        s = _ABBR_RE.sub(lambda m: m.group().replace(".", ""), s)
    s = _APOS_RE.sub("", s)
    if "-" in s:
        s = _HYPHEN_RUN_RE.sub(_separator, s)
    s = _SPACES_RE.sub(" ", _NON_WORD_RE.sub(" ", s)).strip()
    return _fix_scripts(s)


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """The matching form of *text* (see the module docstring). Idempotent."""
    s = _fold_once(text)
    # Text of Latin/Cyrillic letters, digits, spaces and hyphens is stable
    # after one pass; exotic Unicode (compositions enabled by removing a mark,
    # casefold/NFKC interplay) settles in a few more.
    for _ in range(8):
        if _PLAIN_OUT.fullmatch(s):
            break
        nxt = _fold_once(s)
        if nxt == s:
            break
        s = nxt
    return s


# -- Russian lemmas -------------------------------------------------------
from .morph import analyzer as _analyzer  # noqa: E402  (shared pymorphy3 analyzer)


_BAD_TAGS = ("Abbr", "Name", "Surn", "Patr", "Init")
_UNLIKELY_POS = ("VERB", "INFN", "ADVB")
_CYR_WORD = re.compile(r"[\u0430-\u044f]+")
_LAT_WORD = re.compile(r"[a-z]+")


@lru_cache(maxsize=None)
def _ru_parses(word: str) -> tuple:
    """pymorphy3 parses, most probable first, without the readings a title
    (a noun phrase) hardly ever means when another exists: finite verbs
    («стали» is steel), adverbs («часами» is «часы», «информационно-» is
    «информационный»), names and abbreviations."""
    parses = _analyzer().parse(word)
    plain = [p for p in parses if not any(t in p.tag for t in _BAD_TAGS)] or parses
    return tuple([p for p in plain if p.tag.POS not in _UNLIKELY_POS] or plain)


def _is_person_noun(p) -> bool:
    """A masculine animate noun in the nominative: an occupation name."""
    t = p.tag
    return t.POS == "NOUN" and "anim" in t and t.gender == "masc" and t.case == "nomn" \
        and "Fixd" not in t


@lru_cache(maxsize=None)
def _ru_lemma(word: str) -> str:
    parses = _ru_parses(word)
    # «Техник(и)», «Статистик(и)», «Стрелок», «Пристав» are occupations, not
    # (genitive) forms of техника/статистика/стрелка or a verb
    p = next((q for q in parses if _is_person_noun(q)), parses[0])
    if p.tag.POS == "PRTF":
        # pymorphy's normal form of a participle is the infinitive; keep the
        # participle so «ведущие» and «ведущий» (also an adjective) agree
        form = p.inflect({"masc", "sing", "nomn"})
        if form is not None:
            return form.word.replace("ё", "е")
    return p.normal_form.replace("ё", "е")


# -- English stems --------------------------------------------------------
_VOWELS = frozenset("aeiouy")
_EN_KEEP = frozenset("""
    series species news mathematics economics physics statistics logistics
    electronics aeronautics politics ethics athletics lens clothes goods arms
    means premises specimen abdomen acumen semen omen stamen hundred
""".split())
_EN_IRREGULAR = {"children": "child", "people": "person", "feet": "foot", "teeth": "tooth",
                 "mice": "mouse", "geese": "goose", "gases": "gas"}
# British and American spellings of one word (NACE writes British, ISIC American)
_EN_VARIANTS = {"programme": "program", "catalogue": "catalog", "aluminium": "aluminum",
                "tyre": "tire", "jewellery": "jewelry", "licence": "license",
                "defence": "defense", "offence": "offense", "mould": "mold",
                "plough": "plow", "grey": "gray", "ageing": "aging"}
_EN_SPELLING = [(re.compile(r"(?<=\w{3})([iy])s(?=(?:e|es|ed|ing|er|ers|ation|ations)$)"), r"\1z"),
                (re.compile(r"(?<=[blvm])our(?=(?:s|ed|ing|er|ers)?$)"), "or"),  # labour
                (re.compile(r"(?<=[tb])re(?=s?$)"), "er")]  # centre, fibre


def _en_plural(w: str) -> str:
    if w in _EN_KEEP or len(w) <= 3:
        return w
    if w in _EN_IRREGULAR:
        return _EN_IRREGULAR[w]
    if w.endswith("men"):
        return w[:-3] + "man"  # craftsmen, women
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "xes", "ches", "shes", "zzes")) or (w.endswith("oes") and len(w) > 5):
        return w[:-2]  # classes, boxes, watches, potatoes
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def _vowel_groups(w: str) -> int:
    return len(re.findall("[aeiouy]+", w))


def _needs_e(stem: str) -> bool:
    """Does the stem left by -ing/-ed take a final e (relate, produce, raise, mine)?"""
    a, b = stem[-2], stem[-1]
    if b in "cvz" or stem.endswith("dg") or (b == "g" and a in _VOWELS) \
            or (b == "l" and a not in _VOWELS | {"l"}):
        return True  # produce, serve, freeze, lodge, manage, assemble, dismantle
    if stem.endswith(("at", "ur")):
        return stem[-3] not in _VOWELS  # relate, manufacture; not heat, tour
    if b == "s" and a != "s":
        return a != "u" or stem[-3] in _VOWELS  # raise, license, house; not focus
    # one syllable ending consonant-vowel-consonant: mine, trade, store (not open, grow)
    return (_vowel_groups(stem) == 1 and b not in _VOWELS | {"w", "x"}
            and a in _VOWELS and stem[-3] not in _VOWELS)


def _en_verb(w: str) -> str:
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and not w.endswith("eed") and w not in _EN_KEEP:
            stem = w[: -len(suffix)]
            if len(stem) < 3 or not _VOWELS & set(stem):
                return w  # thing, spring, shed, used
            if suffix == "ed" and stem.endswith("i"):
                return stem[:-1] + "y"  # supplied -> supply
            if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in _VOWELS | set("lsz"):
                return stem[:-1]  # knitted -> knit, shipping -> ship
            return stem + "e" if _needs_e(stem) else stem
    return w


@lru_cache(maxsize=None)
def _en_stem(word: str) -> str:
    """Plural and -ing/-ed removed, British spelling made American.  Roman
    numerals (i, ii, iv…) never end in s/ing/ed/men and pass unchanged."""
    w = word
    if w not in _EN_KEEP:
        for rx, repl in _EN_SPELLING:
            w = rx.sub(repl, w)
    w = _en_plural(w)
    return _en_verb(_EN_VARIANTS.get(w, w))


# -- tokens and keys ------------------------------------------------------
@lru_cache(maxsize=1 << 17)
def _tokens(text: str, language: str, lemmas: bool, stop_words: bool) -> tuple:
    stop = STOP_WORDS[language] if stop_words else frozenset()
    out = []
    for w in _SEP_RE.split(fold(text)):
        if not w or w in stop:
            continue
        if lemmas:
            if language == "ru" and _CYR_WORD.fullmatch(w):
                w = _ru_lemma(w)
            elif language == "en" and _LAT_WORD.fullmatch(w):
                w = _en_stem(w)
        out.append(w)
    return tuple(out)


def tokens(text: str, language: str = "ru", *, lemmas: bool = True,
           stop_words: bool = True) -> list[str]:
    """Words of ``fold(text)`` in order: compounds split into their parts,
    stop words dropped, Russian lemmatised / English stemmed (module docstring)."""
    _check_language(language)
    return list(_tokens(text, language, bool(lemmas), bool(stop_words)))


def key(text: str, language: str = "ru") -> str:
    """The string rapidfuzz compares: ``" ".join(tokens(text, language))``."""
    _check_language(language)
    return " ".join(_tokens(text, language, True, True))


def processor(language: str = "ru") -> Callable[[str], str]:
    """:func:`key` for *language*, to pass as rapidfuzz ``processor=``."""
    _check_language(language)
    return partial(key, language=language)


# -- head noun ------------------------------------------------------------
_PAREN_RE = re.compile(r"\([^()]*\)")


def _nominatives(word: str, pos: tuple) -> frozenset:
    """(number, gender) of the nominative *pos* readings of *word*; an
    indeclinable noun («бюро») has no case of its own and gets none."""
    return frozenset((p.tag.number, p.tag.gender) for p in _ru_parses(word)
                     if p.tag.POS in pos and p.tag.case == "nomn" and "Fixd" not in p.tag)


def _agree(adj: frozenset, noun: frozenset) -> bool:
    """Some reading of the adjective and of the noun share number and, in the
    singular, gender (common-gender nouns agree with any)."""
    return any(an == nn and (an == "plur" or ag in (None, ng) or ng not in ("masc", "femn", "neut"))
               for an, ag in adj for nn, ng in noun)


@lru_cache(maxsize=None)
def _can_be_noun(word: str) -> bool:
    """«Рабочий», «Старший», «Заведующий», «Дежурный» name a person by themselves."""
    return any(p.tag.case == "nomn" and (p.tag.POS == "NOUN" or "Subx" in p.tag)
               for p in _ru_parses(word))


@lru_cache(maxsize=None)
def _can_be_genitive(word: str) -> bool:
    return any(p.tag.case in ("gent", "gen2") for p in _ru_parses(word))


def _run_head(run: list) -> str:
    """Head of a nominative adjective run with no noun after it: its first
    word that can be a noun («Рабочий береговой»), else its last («Лесной пожарный»)."""
    return _ru_lemma(next((w for w in run if _can_be_noun(w)), run[-1]))


_CLAUSE_RE = re.compile(r"[,;:(]")
_ADJ = ("ADJF", "PRTF")


def _ru_head(text: str) -> Optional[str]:
    # Titles are «head + genitive…» or «adjective… head».  A nominative
    # adjective run is itself the head when no nominative noun that agrees
    # with it follows («Заведующий складом», «Заведующий бюро»), or when it
    # can name a person and the noun may be a genitive («Квалифицированные
    # рабочие промышленности»).  Only the first clause counts («Рабочие, занятые…»).
    run: list[str] = []
    for chunk in fold(_CLAUSE_RE.split(text, 1)[0]).split(" "):
        if chunk.endswith("-"):
            continue  # suspended part of «электро- и радиомонтажник»
        for w in chunk.split("-"):
            if not _CYR_WORD.fullmatch(w):
                continue  # Latin, digits: «Web-дизайнер»
            if w in STOP_WORDS["ru"]:
                if run:
                    return _run_head(run)
                continue
            if _nominatives(w, _ADJ):
                run.append(w)
                continue
            noun = _nominatives(w, ("NOUN",))
            if not run:
                # a first word that is not an adjective is the head: a noun
                # («Аппаратчик …») or a word pymorphy does not know («Печевой»)
                return _ru_lemma(w)
            if noun and _agree(_nominatives(run[-1], _ADJ), noun) and not (
                    _can_be_genitive(w) and any(_can_be_noun(r) for r in run)):
                return _ru_lemma(w)
            return _run_head(run)
    return _run_head(run) if run else None


_EN_BREAK = (STOP_WORDS["en"] - {"and", "or"}) | {"nec"}


def _en_head(text: str) -> Optional[str]:
    # The first noun phrase ends at a preposition, at «;:/», and at a comma
    # or «and»/«or» after a plural («Chief Executives, Senior…», «Technicians
    # and Assistants»; but «Car, Taxi and Van Drivers», «Street and Related
    # Service Workers», «Mining and Quarrying Labourers» go on).
    last = None
    for m in re.finditer(r"[,;:/]|[^\s,;:/]+", text):
        item = m.group()
        plural = last is not None and _en_plural(last) != last
        if item == ",":
            if plural:
                break
            continue
        if item in ";:/":
            if last:
                break
            continue
        words = [w for w in fold(item).split(" ") if w]
        stop = False
        for w in words:
            if w in _EN_BREAK or (w in ("and", "or") and plural):
                stop = True
                break
            part = w.split("-")[-1]
            if w not in ("and", "or") and _LAT_WORD.fullmatch(part) \
                    and not (last and w.endswith("ed")):
                last = part  # «Agents involved in…» stays «agents»
        if stop:
            break
    return _en_stem(last) if last else None


def head_noun(text: str, language: str = "ru") -> Optional[str]:
    """Lemma (as in :func:`tokens`) of the title's head word, or None.

    Russian (first clause, parentheses ignored): the first nominative noun
    after any nominative adjectives («Старший инспектор» → инспектор,
    «Инженер-программист» → инженер); the adjectives themselves when no
    agreeing nominative noun follows («Заведующий складом» → заведующий,
    «Рабочий береговой» → рабочий); the first word when it is neither.
    English: the last word of the first noun phrase («Chief Executives,
    Senior Officials…» → executive, «Car, Taxi and Van Drivers» → driver).
    None when the text has no word of the language's script.
    """
    _check_language(language)
    text = _PAREN_RE.sub(" ", text)
    if language == "ru":
        return _ru_head(text)
    return _en_head(text)


# -- IDF weights ----------------------------------------------------------
class TokenWeights:
    """IDF weights: ``idf(t) = log((1 + N) / (1 + df(t))) + 1``; a token never
    seen gets the largest weight, ``log(1 + N) + 1`` (rare ⇒ decisive)."""

    def __init__(self, df: Mapping[str, int], n_docs: int):
        if n_docs < 0 or any(v < 0 or v > n_docs for v in df.values()):
            raise ValueError("document frequencies must lie in [0, n_docs]")
        self.n_docs = n_docs
        self.df = dict(df)
        self.max_idf = math.log(1 + n_docs) + 1
        self._idf = {t: math.log((1 + n_docs) / (1 + d)) + 1 for t, d in self.df.items()}

    @classmethod
    def fit(cls, docs: Iterable[Sequence[str]]) -> "TokenWeights":
        df: dict[str, int] = {}
        n = 0
        for doc in docs:
            if isinstance(doc, str):
                raise TypeError("fit() takes token lists (see tokens()), not strings")
            n += 1
            for t in set(doc):
                df[t] = df.get(t, 0) + 1
        return cls(df, n)

    def __getitem__(self, token: str) -> float:
        return self._idf.get(token, self.max_idf)

    def __len__(self) -> int:
        return len(self._idf)

    def _sum(self, toks) -> float:
        idf, top = self._idf, self.max_idf
        return math.fsum(idf.get(t, top) for t in toks)

    def weighted_overlap(self, a: Sequence[str], b: Sequence[str]) -> float:
        """Weighted Jaccard of the token sets: Σ idf(a ∩ b) / Σ idf(a ∪ b);
        0.0 when both are empty. Symmetric, in [0, 1]."""
        sa, sb = set(a), set(b)
        union = self._sum(sa | sb)
        return self._sum(sa & sb) / union if union else 0.0

    def weighted_containment(self, a: Sequence[str], b: Sequence[str]) -> float:
        """How much of *a* is covered by *b*: Σ idf(a ∩ b) / Σ idf(a); 0.0 if a is empty."""
        sa = set(a)
        total = self._sum(sa)
        return self._sum(sa & set(b)) / total if total else 0.0

    def cdist(self, queries: Sequence[Sequence[str]], choices: Sequence[Sequence[str]], *,
              scorer: str = "overlap") -> np.ndarray:
        """All-pairs :meth:`weighted_overlap` (or ``scorer="containment"``:
        :meth:`weighted_containment` of each query in each choice) as a
        ``len(queries) × len(choices)`` float64 array, through an inverted index
        of *choices* (cost: the postings of the query tokens, not all pairs)."""
        if scorer not in ("overlap", "containment"):
            raise ValueError(f"scorer must be 'overlap' or 'containment', not {scorer!r}")
        postings: dict[str, list[int]] = {}
        sets = [set(c) for c in choices]
        for j, s in enumerate(sets):
            for t in s:
                postings.setdefault(t, []).append(j)
        index = {t: np.asarray(js, dtype=np.intp) for t, js in postings.items()}
        choice_w = np.array([self._sum(s) for s in sets], dtype=np.float64)
        out = np.zeros((len(queries), len(choices)), dtype=np.float64)
        for i, q in enumerate(queries):
            sq = sorted(set(q))  # fixed order: the same sums on every run
            row = out[i]
            for t in sq:
                js = index.get(t)
                if js is not None:
                    row[js] += self[t]
            total = self._sum(sq)
            denom = np.full(len(choices), total) if scorer == "containment" \
                else total + choice_w - row
            np.divide(row, denom, out=row, where=denom > 0)
            row[denom <= 0] = 0.0
        # sequential sums may stray an ulp past 1 where the pairwise fsum does not
        return np.clip(out, 0.0, 1.0, out=out)
