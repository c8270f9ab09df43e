"""What a source item's place says before any word is compared.

OKPDTR splits worker professions (1xxxx) from employee positions (2xxxx). In ISCO-08 /
OKZ-2014 workers sit in major groups 5–9 (service, agriculture, crafts, operators,
elementary) and employee positions in 1–4 (managers, professionals, technicians,
clerks), by the groups' own definitions. The 3xxxx/4xxxx portal additions follow the
same split (worker and employee titles respectively).

Rank and category words are skill-level evidence: «(средней квалификации)» marks a
technician or associate professional (major group 3) where the bare title is a
professional (2) — «Агроном (средней квалификации)»; «главный», «ведущий», «старший» in
front of a specialist's title raise the level inside the occupation, not to management —
«Главный искусствовед» stays with art critics (2), while «Начальник …», «Директор …»,
«Заведующий …» and «Руководитель …» are managers (1).
"""
from __future__ import annotations

import re

import numpy as np

from .context import MatchContext

_ISCO_LIKE = {"okz2014", "isco08"}
# OKPDTR part -> {ISCO major group: score}; a soft prior, never a veto
PART_PRIOR = {
    "worker": {"5": 1.0, "6": 1.0, "7": 1.0, "8": 1.0, "9": 1.0, "3": 0.3},
    "employee": {"1": 1.0, "2": 1.0, "3": 1.0, "4": 1.0, "5": 0.5},
}
_PART_OF_DIGIT = {"1": "worker", "3": "worker", "2": "employee", "4": "employee"}
# skill level read from rank and category words (employee titles)
SKILL_PRIOR = {
    "middle": {"3": 1.0, "2": 0.3, "4": 0.5, "1": 0.2, "5": 0.3},      # «(средней квалификации)»
    "rank": {"2": 1.0, "1": 0.5, "3": 0.7, "4": 0.5, "5": 0.3},        # «главный/ведущий/старший специалист»
    "manager": {"1": 1.0, "2": 0.5, "3": 0.5, "4": 0.3, "5": 0.5},     # «начальник/директор/руководитель …»
}
_MIDDLE = re.compile(r"средней\s+квалификации", re.I)
_RANK = re.compile(r"^\s*(главн|ведущ|старш|младш)\w*\s", re.I)
_MANAGER = re.compile(r"^\s*(?:(?:главн|старш|ведущ)\w*\s+)?(начальник|директор|руководител|заведующ|управляющ)", re.I)


def skill(title: str) -> str | None:
    """The skill level an employee title's rank or category words state, or None."""
    if _MIDDLE.search(title):
        return "middle"
    if _MANAGER.match(title):
        return "manager"
    if _RANK.match(title):
        return "rank"
    return None


class PartSignal:
    name = "part"
    standalone = False
    prior = True        # evidence only where another signal found some

    def applies(self, ctx: MatchContext) -> bool:
        return ctx.source.scheme.id == "okpdtr" and ctx.target.scheme.id in _ISCO_LIKE

    def scores(self, ctx: MatchContext, src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        majors = [ctx.targets[j].code[:1] for j in tgt]
        table = {part: np.array([prior.get(m, 0.0) for m in majors], dtype=np.float32)
                 for part, prior in PART_PRIOR.items()}
        table.update({k: np.array([prior.get(m, 0.0) for m in majors], dtype=np.float32)
                      for k, prior in SKILL_PRIOR.items()})
        zero = np.zeros(len(tgt), dtype=np.float32)
        rows = []
        for i in src:
            part = _PART_OF_DIGIT.get(ctx.sources[i].code[:1], "")
            if part == "employee":
                part = skill(ctx.sources[i].title) or part
            rows.append(table.get(part, zero))
        return np.vstack(rows) if rows else np.zeros((0, len(tgt)), dtype=np.float32)
