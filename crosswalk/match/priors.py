"""What a source item's place says before any word is compared.

OKPDTR splits worker professions (1xxxx) from employee positions (2xxxx). In ISCO-08 /
OKZ-2014 workers sit in major groups 5–9 (service, agriculture, crafts, operators,
elementary) and employee positions in 1–4 (managers, professionals, technicians,
clerks), by the groups' own definitions. The 3xxxx/4xxxx portal additions follow the
same split (worker and employee titles respectively).
"""
from __future__ import annotations

import numpy as np

from .context import MatchContext

_ISCO_LIKE = {"okz2014", "isco08"}
# OKPDTR part -> {ISCO major group: score}; a soft prior, never a veto
PART_PRIOR = {
    "worker": {"5": 1.0, "6": 1.0, "7": 1.0, "8": 1.0, "9": 1.0, "3": 0.3},
    "employee": {"1": 1.0, "2": 1.0, "3": 1.0, "4": 1.0, "5": 0.5},
}
_PART_OF_DIGIT = {"1": "worker", "3": "worker", "2": "employee", "4": "employee"}


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
        zero = np.zeros(len(tgt), dtype=np.float32)
        rows = [table.get(_PART_OF_DIGIT.get(ctx.sources[i].code[:1], ""), zero) for i in src]
        return np.vstack(rows) if rows else np.zeros((0, len(tgt)), dtype=np.float32)
