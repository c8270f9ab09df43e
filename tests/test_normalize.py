"""Tests of crosswalk.normalize: unit cases, hypothesis properties (fast paths
against slow obvious versions), then the reference tables
(CROSSWALK_REFERENCE_DATA)."""
from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from conftest import reference_file
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

import crosswalk
from crosswalk import normalize as nz
from crosswalk.errors import CrosswalkError
from crosswalk.normalize import (
    STOP_WORDS,
    TokenWeights,
    UnsupportedLanguageError,
    fold,
    head_noun,
    key,
    processor,
    tokens,
)

# Text that exercises every rule: look-alike letters of both scripts, hyphens
# and dashes, punctuation, invisible characters, combining marks, digits.
_ALPHABET = ("aAbBcCeEhHkKmMoOpPtTxXyYiIsSdgnrlu"
             "аАвВсСеЕнНкКмМоОрРтТхХуУёЁйжзпПиИлшщ"
             "0123456789  -‐–—−,.;:()[]\"'’«»/_\t\n"
             "\u00a0\u202f\u00ad\u200b\u200d\ufeff\u0301\u0306\u0308ß")
rich_text = st.text(alphabet=_ALPHABET, max_size=40)
any_text = st.one_of(rich_text, st.text(max_size=30))


# -- fold ---------------------------------------------------------------------
@pytest.mark.parametrize("text, folded", [
    ("Ёлочные ИГРУШКИ", "елочные игрушки"),
    # look-alike letters: the letters unique to one script decide
    ("IР-телефония", "ip-телефония"),        # Cyrillic Р inside a Latin word
    ("IP-телефония", "ip-телефония"),
    ("прoизводство", "производство"),        # Latin o inside a Cyrillic word
    ("Microsоft Office", "microsoft office"),  # Cyrillic о inside a Latin word
    ("Вaза", "ваза"),                         # all letters look-alike: the text decides
    # words in one script are left alone, whatever they look like
    ("Специалист I категории", "специалист i категории"),
    ("цифровые видеодиски (DVD)", "цифровые видеодиски dvd"),
    ("класс С", "класс с"),
    # invisible and odd spaces
    ("Сторож\u00a0(вахтер)", "сторож вахтер"),
    ("произ\u00adводство", "производство"),
    ("произ\u200bводство", "производство"),
    ("\ufeffОператор\u202fЭВМ", "оператор эвм"),
    ("а\u0301втор", "автор"),                 # stress mark
    ("и\u0306од", "йод"),                     # decomposed й stays й
    # hyphens: line wraps joined, suspended hyphens before a conjunction kept
    ("чулочно- носочных", "чулочно-носочных"),
    ("информационно -коммуникационных", "информационно-коммуникационных"),
    ("электро- и радиомонтажник", "электро- и радиомонтажник"),
    ("goods- and services-producing", "goods- and services-producing"),
    ("альфа-, бета- и гамма-излучений", "альфа бета- и гамма-излучений"),
    ("Укладчик - выбиральщик", "укладчик выбиральщик"),
    ("Укладчик – выбиральщик", "укладчик выбиральщик"),
    ("Слесарь‐ремонтник", "слесарь-ремонтник"),   # U+2010 hyphen
    ("Машинист — оператор", "машинист оператор"),
    ("-40 градусов-", "40 градусов"),
    # punctuation, quotes, apostrophes, abbreviations, whitespace
    ('Монтажник фотокомплекта "Момент"""', "монтажник фотокомплекта момент"),
    ("Оператор «горячей» камеры", "оператор горячей камеры"),
    ("лизингу/сублизингу", "лизингу сублизингу"),
    ("Ships' Engineers", "ships engineers"),
    ("builder’s ware", "builders ware"),
    ("Mining n.e.c.", "mining nec"),
    ("ремонт и т.д.", "ремонт и тд"),
    ("  двойной   пробел\tи\nстрока ", "двойной пробел и строка"),
    ("1000 см3", "1000 см3"),
    ("", ""),
    ("(«—»)", ""),
])
def test_fold(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize("a, b", [
    ("IР-телефония", "IP-телефония"),
    ("Ёж", "еж"),
    ("чулочно- носочных", "чулочно-носочных"),
    ("Аппаратчик\u00a0гидролиза", "аппаратчик гидролиза"),
])
def test_fold_equal(a, b):
    assert fold(a) == fold(b)


@pytest.mark.parametrize("a, b", [
    ("электро- и радиомонтажник", "электро-радиомонтажник"),  # not a line wrap
    ("альфа-, бета-", "альфа-бета"),                       # punctuation in between
    ("йод", "иод"),
    ("IT", "ит"),                                          # one-script words stay
])
def test_fold_keeps_apart(a, b):
    assert fold(a) != fold(b)


@given(any_text)
def test_fold_idempotent(text):
    once = fold(text)
    assert fold(once) == once


@given(rich_text)
def test_fold_output_alphabet(text):
    # letters, digits, single spaces and hyphens; never an edge space or hyphen
    out = fold(text)
    assert "  " not in out and out == out.strip(" -")
    assert all(ch.isalnum() or ch in " -" for ch in out)


@given(rich_text)
def test_fold_fixes_every_mixed_word_with_a_majority(text):
    for word in nz._LETTERS_RE.findall(fold(text)):
        lat, cyr = nz._script_counts(word)
        if lat and cyr:  # both scripts remain only when each has unique letters
            continue
        assert not (nz._LATIN_RE.search(word) and nz._CYR_RE.search(word)), word


# -- tokens -------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("Слесарь-ремонтник", ["слесарь", "ремонтник"]),        # compounds split into parts
    ("Слесари", ["слесарь"]),
    ("Аппаратчик гидролиза", ["аппаратчик", "гидролиз"]),
    ("Начальник отдела по работе с кадрами", ["начальник", "отдел", "работа", "кадр"]),
    ("Производство стали", ["производство", "сталь"]),        # not the verb «стать»
    ("Торговля часами", ["торговля", "часы"]),                # not the adverb «часами»
    ("Медицинский техник", ["медицинский", "техник"]),        # not «техника»
    ("Медицинские статистики", ["медицинский", "статистик"]),
    ("Заведующие складами", ["заведующий", "склад"]),         # participle kept, not «заведовать»
    ("Ёлочные игрушки и т.д.", ["елочный", "игрушка"]),
    ("Специалист II категории", ["специалист", "ii", "категория"]),
    ("объемом более 1000 см3", ["объем", "более", "1000", "см3"]),
    ("IР-телефония", ["ip", "телефония"]),
    ("электро- и радиомонтажник", ["электро", "радиомонтажник"]),
])
def test_tokens_ru(text, expected):
    assert tokens(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("Software Developers", ["software", "developer"]),
    ("Managers", ["manager"]),
    ("Chief Executives, Senior Officials and Legislators",
     ["chief", "executive", "senior", "official", "legislator"]),
    ("Manufacturing", ["manufacture"]),
    ("Manufacture of knitted and crocheted apparel", ["manufacture", "knit", "crochet", "apparel"]),
    ("Activities of households as employers", ["activity", "household", "employer"]),
    ("Raising of swine/pigs", ["raise", "swine", "pig"]),
    ("Craftsmen and Women", ["craftsman", "woman"]),
    ("Printing of newspapers", ["print", "newspaper"]),
    ("Category II Clerks", ["category", "ii", "clerk"]),
    ("Mining n.e.c.", ["mine", "nec"]),
    ("Physics", ["physics"]),
])
def test_tokens_en(text, expected):
    assert tokens(text, "en") == expected


@pytest.mark.parametrize("a, b", [
    ("Activities of membership organisations", "Activities of membership organizations"),
    ("Specialised retail", "Specialized retail"),
    ("Labourers", "Laborers"),
    ("Cultural centres", "Cultural centers"),
    ("Programmes", "Program"),
    ("Manufacture of tyres", "Manufacture of tires"),
    ("Houses", "Housing"),
])
def test_tokens_en_spelling_and_forms_agree(a, b):
    assert tokens(a, "en") == tokens(b, "en")


def test_tokens_switches():
    text = "Слесари по ремонту"
    assert tokens(text, lemmas=False) == ["слесари", "ремонту"]
    assert tokens(text, stop_words=False) == ["слесарь", "по", "ремонт"]
    assert tokens(text, lemmas=False, stop_words=False) == ["слесари", "по", "ремонту"]
    assert tokens("Builders of ships", "en", stop_words=False) == ["builder", "of", "ship"]
    # words of the other script are kept as folded
    assert tokens("Деятельность web-порталов") == ["деятельность", "web", "портал"]
    assert tokens("Торговля (DVD) дисками", "en") == ["торговля", "dvd", "дисками"]


def test_stop_words_are_function_words():
    for word in ("в", "по", "и", "или", "не", "для", "кроме"):
        assert word in STOP_WORDS["ru"]
    for word in ("деятельность", "прочие", "производство", "рабочий"):  # IDF's job
        assert word not in STOP_WORDS["ru"]
    assert {"of", "and", "the"} <= STOP_WORDS["en"] and "other" not in STOP_WORDS["en"]
    assert tokens("в по и или") == [] and tokens("of the and", "en") == []


def test_unknown_language():
    for call in (lambda: tokens("x", "de"), lambda: key("x", "fr"),
                 lambda: processor("kk"), lambda: head_noun("x", "uk")):
        with pytest.raises(UnsupportedLanguageError) as info:
            call()
        assert isinstance(info.value, CrosswalkError) and isinstance(info.value, ValueError)
        assert "supported: ru, en" in str(info.value)


@settings(max_examples=60)
@given(rich_text, st.sampled_from(["ru", "en"]))
def test_tokens_see_only_the_folded_text(text, language):
    assert tokens(text, language) == tokens(fold(text), language)
    assert all(t and " " not in t and "-" not in t for t in tokens(text, language))


# -- key and processor --------------------------------------------------------
def test_key():
    assert key("Слесари-ремонтники по ремонту") == "слесарь ремонтник ремонт"
    assert key("Software Developers", "en") == "software developer"
    assert key("IР-телефония") == key("IP-телефония") == "ip телефония"
    assert key("") == "" and key("и по") == ""


@settings(max_examples=40)
@given(st.lists(rich_text, max_size=8), st.sampled_from(["ru", "en"]))
def test_key_is_a_pure_function_of_the_text(texts, language):
    first = [key(t, language) for t in texts]
    nz._tokens.cache_clear()
    nz.fold.cache_clear()
    again = [key(t, language) for t in reversed(texts)][::-1]
    assert first == again == [" ".join(tokens(t, language)) for t in texts]


def test_processor_with_rapidfuzz():
    choices = ["Деятельность по предоставлению услуг по передаче данных (IР-телефония)",
               "Деятельность web-порталов", "Производство стали"]
    best = process.extractOne("Передача данных: IP-телефония", choices,
                              scorer=fuzz.token_set_ratio, processor=processor("ru"))
    assert best[0] == choices[0]
    assert fuzz.ratio("Слесари", "слесарь", processor=processor()) == 100
    assert processor("en")("Software Developers") == "software developer"


# -- head noun ----------------------------------------------------------------
@pytest.mark.parametrize("text, head", [
    ("Аппаратчик гидролиза", "аппаратчик"),
    ("Машинист дноклеильной машины", "машинист"),
    ("Старший инспектор", "инспектор"),
    ("Инженер-программист", "инженер"),
    ("Начальник отдела", "начальник"),
    ("Главная медицинская сестра", "сестра"),
    ("Медицинский лабораторный техник", "техник"),
    ("Заведующий складом", "заведующий"),              # substantivised participle
    ("Заведующий бюро пропусков", "заведующий"),       # «бюро» does not agree
    ("Рабочий зеленого хозяйства", "рабочий"),
    ("Рабочий береговой", "рабочий"),
    ("Лесной пожарный", "пожарный"),
    ("Квалифицированные рабочие промышленности", "рабочий"),  # not «промышленность»
    ("Рабочие, занятые на строительстве зданий", "рабочий"),
    ("Уличные торговцы (за исключением продуктов питания)", "торговец"),
    ("Заведующий производством (шеф-повар)", "заведующий"),
    ("Электро- и радиомонтажник", "радиомонтажник"),
    ("Web-дизайнер", "дизайнер"),
    ("Печевой на вельцпечах", "печевая"),              # unknown word: the first word
    ("Торговля розничная часами", "торговля"),
    ("Производство листового стекла", "производство"),
])
def test_head_noun_ru(text, head):
    assert head_noun(text) == head


@pytest.mark.parametrize("text, head", [
    ("Software Developers", "developer"),
    ("Legislators", "legislator"),
    ("Chief Executives, Senior Officials and Legislators", "executive"),
    ("Physiotherapy Technicians and Assistants", "technician"),
    ("Street and Related Service Workers", "worker"),
    ("Car, Taxi and Van Drivers", "driver"),
    ("Mining and Quarrying Labourers", "laborer"),
    ("Agents involved in the sale of fuels", "agent"),
    ("Street Vendors (excluding Food)", "vendor"),
    ("Manufacture of computers", "manufacture"),
    ("Other professional, scientific and technical activities n.e.c.", "activity"),
])
def test_head_noun_en(text, head):
    assert head_noun(text, "en") == head


def test_head_noun_is_a_token():
    for text in ("Старший инспектор", "Заведующий складом", "Chief Executives"):
        language = "ru" if text[0] > "z" else "en"
        assert head_noun(text, language) in tokens(text, language)


@pytest.mark.parametrize("text", ["", "   ", "123", "(—)", "и по"])
def test_head_noun_none(text):
    assert head_noun(text) is None
    assert head_noun(text, "en") is None


# -- TokenWeights -------------------------------------------------------------
def _slow_idf(docs, token):
    n = len(docs)
    df = sum(token in set(d) for d in docs)
    return math.log((1 + n) / (1 + df)) + 1


def _slow_overlap(docs, a, b):
    union = set(a) | set(b)
    den = sum(_slow_idf(docs, t) for t in union)
    return sum(_slow_idf(docs, t) for t in set(a) & set(b)) / den if den else 0.0


def _slow_containment(docs, a, b):
    den = sum(_slow_idf(docs, t) for t in set(a))
    return sum(_slow_idf(docs, t) for t in set(a) & set(b)) / den if den else 0.0


def test_idf_values():
    docs = [["сварщик", "металл"], ["резчик", "металл"], ["резчик", "металл", "металл"]]
    w = TokenWeights.fit(docs)
    assert w.n_docs == 3 and w.df == {"сварщик": 1, "металл": 3, "резчик": 2}
    assert w["металл"] == pytest.approx(1.0)
    assert w["сварщик"] == pytest.approx(math.log(2) + 1)
    assert w["невиданный"] == w.max_idf == pytest.approx(math.log(4) + 1)  # unknown: the largest
    assert w["невиданный"] > w["сварщик"] > w["резчик"] > w["металл"]
    assert len(w) == 3
    assert TokenWeights.fit(reversed(docs)).df == w.df  # order of documents is irrelevant


def test_rare_words_decide():
    titles = ["Сварщик по металлу", "Резчик по металлу", "Токарь по металлу",
              "Слесарь по металлу", "Сварщик"]
    docs = [tokens(t) for t in titles]
    w = TokenWeights.fit(docs)
    query = tokens("Электрогазосварщик; сварщик по металлу")
    # the shared «сварщик» weighs more than the shared «металл»
    assert w.weighted_overlap(query, docs[4]) > w.weighted_overlap(query, docs[1])
    assert w.weighted_containment(docs[4], query) == 1.0
    assert w.weighted_containment(query, docs[4]) < 1.0
    # «по» is a stop word: kept, it would dilute every overlap
    assert "по" not in query
    loose = tokens("Электрогазосварщик; сварщик по металлу", stop_words=False)
    assert w.weighted_overlap(loose, docs[4]) < w.weighted_overlap(query, docs[4])


def test_overlap_edges():
    w = TokenWeights.fit([["a", "b"], ["b"]])
    assert w.weighted_overlap([], []) == 0.0
    assert w.weighted_overlap(["a"], []) == 0.0
    assert w.weighted_overlap(["a", "a", "b"], ["b", "a"]) == 1.0  # sets, not multisets
    assert w.weighted_containment([], ["a"]) == 0.0
    assert w.weighted_overlap(["x"], ["y"]) == 0.0  # unknown tokens still count
    with pytest.raises(ValueError):
        TokenWeights({"a": 3}, 2)
    with pytest.raises(TypeError, match="token lists"):
        TokenWeights.fit(["Сварщик", "Резчик"])


token_lists = st.lists(st.sampled_from("abcdefgh") | st.text("xyz", min_size=1, max_size=2),
                       max_size=6)


@given(st.lists(token_lists, min_size=1, max_size=8), token_lists, token_lists)
def test_overlap_properties_against_slow(docs, a, b):
    w = TokenWeights.fit(docs)
    ab, ba = w.weighted_overlap(a, b), w.weighted_overlap(b, a)
    assert ab == ba and 0.0 <= ab <= 1.0
    assert ab == pytest.approx(_slow_overlap(docs, a, b))
    assert w.weighted_containment(a, b) == pytest.approx(_slow_containment(docs, a, b))
    assert 0.0 <= w.weighted_containment(a, b) <= 1.0
    if a:
        assert w.weighted_overlap(a, list(reversed(a))) == 1.0
        assert w.weighted_containment(a, a + b) == 1.0


@given(st.lists(token_lists, max_size=6), st.lists(token_lists, max_size=6),
       st.sampled_from(["overlap", "containment"]), st.randoms(use_true_random=False))
def test_cdist_against_pairwise(queries, choices, scorer, rnd):
    w = TokenWeights.fit(queries + choices + [["a"]])
    matrix = w.cdist(queries, choices, scorer=scorer)
    assert matrix.shape == (len(queries), len(choices)) and matrix.dtype == np.float64
    pair = w.weighted_overlap if scorer == "overlap" else w.weighted_containment
    for i, q in enumerate(queries):
        for j, c in enumerate(choices):
            assert matrix[i, j] == pytest.approx(pair(q, c), abs=1e-12)
    # the order of the choices only permutes columns, bit for bit
    order = list(range(len(choices)))
    rnd.shuffle(order)
    shuffled = w.cdist(queries, [choices[j] for j in order], scorer=scorer)
    assert np.array_equal(shuffled, matrix[:, order])


def test_cdist_scorer_checked():
    with pytest.raises(ValueError, match="scorer"):
        TokenWeights.fit([["a"]]).cdist([["a"]], [["a"]], scorer="jaccard")


# -- reference tables ---------------------------------------------------------
OKVED2 = "okved2/rosstat_opendata_2023-12-01/data-20231201-structure-20180402.csv"
OKPDTR = "okpdtr/trudvsem_profession_list.json"


def test_reference_okved2_ip_telephony():
    okved = crosswalk.load(reference_file(OKVED2)).classification
    titles = [item.title for item in okved]
    assert len(titles) == 2899
    mixed = [t for t in titles if "IР-телефония" in t]  # Cyrillic Р, as published
    assert [okved_item.code for okved_item in okved if okved_item.title in mixed] == ["61.10.2"]
    latin = mixed[0].replace("IР", "IP")
    assert latin != mixed[0] and key(latin) == key(mixed[0])
    assert "ip телефония" in key(mixed[0])
    for t in titles:
        f = fold(t)
        assert f and fold(f) == f and tokens(t)
    # «чулочно- носочных» (space after the hyphen in the official text) is one compound
    assert any("чулочно-носочных" in fold(t) for t in titles if "чулочно- носочных" in t)


def test_reference_okpdtr_no_empty_key():
    names = [p["name"] for p in json.loads(
        reference_file(OKPDTR).read_text(encoding="utf-8"))["professions"]]
    assert len(names) == 8037
    assert [n for n in names if not key(n)] == []
    heads = {n: head_noun(n) for n in random.Random(5).sample(names, 500)}
    assert all(heads.values())
