"""Where single words sit on e5's cosine scale, for the word_meaning signal's FLOOR
(crosswalk/match/words.py), written to reports/word_floor.json (run by hand).

* unrelated: every word of the OKPDTR titles against every word describing the OKZ/ISCO-08
  unit groups, as the signal compares them — almost all such pairs are unrelated, so their
  percentiles are the floor's baseline (no gold used);
* translations: a short hand-made list of Russian words and their English translations
  (common trade words, written here, not taken from the reference data), and the same
  words paired with a shuffled translation (a wrong one).

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/word_floor.py
"""
from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk import load  # noqa: E402
from crosswalk.embeddings import Embedder  # noqa: E402
from crosswalk.match.context import MatchContext  # noqa: E402
from crosswalk.match.words import FLOOR, described_by, words  # noqa: E402

SEED = 20261122
PAIRS = [("сварщик", "welder"), ("молоко", "milk"), ("стекло", "glass"), ("бумага", "paper"),
         ("пресс", "press"), ("кожа", "leather"), ("мех", "fur"), ("химический", "chemical"),
         ("оператор", "operator"), ("машинист", "driver"), ("плотник", "carpenter"),
         ("повар", "cook"), ("бухгалтер", "accountant"), ("врач", "doctor"), ("учитель", "teacher"),
         ("водитель", "driver"), ("слесарь", "fitter"), ("ткацкий", "weaving"), ("шахта", "mine"),
         ("обувь", "footwear"), ("табак", "tobacco"), ("руда", "ore"), ("хлеб", "bread"),
         ("краска", "paint"), ("клей", "glue"), ("сортировщик", "sorter"), ("упаковщик", "packer"),
         ("каменщик", "bricklayer"), ("штукатур", "plasterer"), ("инженер", "engineer")]


def pct(values: np.ndarray) -> dict:
    return {f"p{q}": round(float(np.percentile(values, q)), 3) for q in (5, 25, 50, 75, 95, 99)}


def main() -> None:
    root = Path(os.environ.get("CROSSWALK_REFERENCE_DATA", ROOT.parent / "shared" / "classifiers"))
    okpdtr = load(root / "okpdtr/trudvsem_profession_list.json").classification
    okz = load(root / "okz2014/okz_unit_group_labels_pdf_scrape.json").classification
    isco = load(root / "isco08/ISCO-08 EN Structure and definitions.xlsx").classification
    ctx = MatchContext(okpdtr, okz, target_context=(isco,))
    s_vocab = sorted({w for it in okpdtr for w, _ in words(it.title, "ru")})
    t_vocab = sorted({w for it in okz for text, lang in described_by(ctx, it) for w, _ in words(text, lang)})
    rnd = random.Random(SEED)
    emb = Embedder()
    q = emb.embed(s_vocab, kind="query")
    p = emb.embed(t_vocab, kind="query")
    # a seeded sample of all pairs (40 M in all), and each source word's best match
    rows = rnd.sample(range(len(s_vocab)), min(1000, len(s_vocab)))
    sims = q[rows] @ p.T
    ru = emb.embed([a for a, _ in PAIRS], kind="query")
    en = emb.embed([b for _, b in PAIRS], kind="query")
    shuffled = list(range(len(PAIRS)))
    rnd.shuffle(shuffled)
    right = np.einsum("ij,ij->i", ru, en)
    wrong = np.array([ru[i] @ en[j] for i, j in enumerate(shuffled) if PAIRS[i][1] != PAIRS[j][1]])
    report = {
        "floor_in_use": FLOOR,
        "vocabulary": {"okpdtr_title_words": len(s_vocab), "okz_isco_description_words": len(t_vocab)},
        "unrelated_all_pairs_sample": {"pairs": int(sims.size), **pct(sims.ravel())},
        "best_match_of_each_title_word": pct(sims.max(axis=1)),
        "translations": {"pairs": len(PAIRS), **pct(right),
                         "below_floor": [f"{a}/{b} {s:.3f}" for (a, b), s in zip(PAIRS, right) if s < FLOOR]},
        "wrong_translations": {"pairs": len(wrong), **pct(wrong)},
        "seed": SEED,
    }
    out = ROOT / "reports" / "word_floor.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
