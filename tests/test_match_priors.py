"""OKPDTR's own structure as evidence: worker/employee split, and rank and category words as
skill level (match/priors.py)."""
import numpy as np

from crosswalk.match.context import MatchContext
from crosswalk.match.priors import PartSignal, skill
from crosswalk.model import Classification, Item


def test_rank_and_category_words_read_as_skill_level():
    assert skill("Агроном (средней квалификации)") == "middle"
    assert skill("Главный искусствовед") == "rank" and skill("Ведущий инженер") == "rank"
    assert skill("Главный инженер-начальник") == "rank"      # the head is «инженер»
    assert skill("Начальник лаборатории") == "manager" and skill("Главный директор") == "manager"
    assert skill("Заведующий этажом гостиницы") == "manager"
    assert skill("Искусствовед") is None


def test_skill_level_moves_the_prior_between_major_groups():
    okz = Classification("okz2014", [Item(c, t, 4) for c, t in (
        ("1211", "Руководители финансовой деятельности"), ("2132", "Агрономы"), ("3142", "Техники-агрономы"),
        ("7212", "Сварщики"))])
    src = Classification("okpdtr", [Item("20001", "Агроном", 1), Item("20002", "Агроном (средней квалификации)", 1),
                                    Item("20003", "Главный агроном", 1), Item("20004", "Начальник отдела", 1),
                                    Item("10001", "Сварщик", 1)])
    ctx = MatchContext(src, okz)
    m = PartSignal().scores(ctx, np.arange(len(src)), np.arange(len(okz)))
    col = {it.code: j for j, it in enumerate(okz)}
    row = {it.code: i for i, it in enumerate(src)}
    assert m[row["20001"], col["2132"]] == m[row["20001"], col["3142"]] == 1.0      # employee: 1–4 alike
    assert m[row["20002"], col["3142"]] > m[row["20002"], col["2132"]]               # middle: technicians
    assert m[row["20003"], col["2132"]] > m[row["20003"], col["1211"]]               # chief agronomist: still 2
    assert m[row["20004"], col["1211"]] > m[row["20004"], col["2132"]]               # head of department: 1
    assert m[row["10001"], col["7212"]] == 1.0 and m[row["10001"], col["2132"]] == 0.0
