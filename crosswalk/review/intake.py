"""A `crosswalk build` output folder into the review store: what people review and what they
do not need to.

* **Official tables** the build used (NACE2→ISIC4, ISCO-08↔ISCO-88, both directions) enter
  as links accepted by the rule ``official`` — origin ``official``, status confirmed.
* **Identities** the build accepted by structure (the same code at the same level where the
  data show no deviation) enter accepted by the rule ``structure``.
* Every other item of a matched pair enters as its **proposal** (the draft's link: the best
  candidate, role ``proposal``, rank 1) with the next candidates as **alternatives** (role
  ``alternative``, rank ≤ ``top``), all pending.

A rule never overrides a person: a link a reviewer decided on is not accepted again by a new
load. The catalogue of items (codes reviewers may type) and the editions of the
classifications are recorded too. Loading the same build twice adds nothing.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..candidates import CandidateSet, read_candidates
from ..model import Classification, Correspondence
from .store import LinkKey, ReviewStore, StoreError


def _draft_rows(path: Path) -> Optional[dict[str, dict]]:
    """source code -> the draft row of a build's crosswalks/<source>__<target>.csv (one link
    per item); None for a build written before drafts (no ``origin``/``status`` columns)."""
    if not path.is_file():
        return None
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if "status" not in (reader.fieldnames or ()):
            return None
        out: dict[str, dict] = {}
        for row in reader:
            out.setdefault(row["source_code"], row)
    return out


def _entries(cset: CandidateSet, draft: Optional[dict[str, dict]], top: Optional[int]) -> list[dict]:
    by = cset.by_source()
    out = []
    for code, cands in by.items():
        row = (draft or {}).get(code)
        flags = tuple((row or {}).get("flags", "").split())
        common = {"source_title": cset.source_titles.get(code, "")}
        if row is not None and row["origin"] in ("structure", "official"):
            same = next((c for c in cands if c.target == row["target_code"]), None)
            out.append({"key": LinkKey(cset.source_scheme, code, cset.target_scheme, row["target_code"]),
                        "score": 1.0, "evidence": dict(same.evidence) if same else {}, "origin": row["origin"],
                        "target_title": cset.target_titles.get(row["target_code"], ""), "flags": flags,
                        "rank": same.rank if same else None, "role": "proposal", "accept": row["origin"],
                        **common})
            continue
        proposal = row["target_code"] if row is not None else cands[0].target
        for c in cands:
            if top is not None and c.rank > top and c.target != proposal:
                continue
            mine = c.target == proposal
            out.append({"key": LinkKey(cset.source_scheme, code, cset.target_scheme, c.target),
                        "score": c.score, "evidence": dict(c.evidence), "origin": "proposed",
                        "target_title": cset.target_titles.get(c.target, ""), "flags": flags if mine else (),
                        "rank": c.rank, "role": "proposal" if mine else "alternative", **common})
    return out


def _official_entries(corr: Correspondence, titles: dict[str, dict[str, str]]) -> list[dict]:
    """Both directions of a published table, accepted by the rule ``official``."""
    out = []
    for table in (corr, corr.reversed()):
        s, t = table.source_scheme.id, table.target_scheme.id
        st, tt = titles.get(s, {}), titles.get(t, {})
        for p in table.pairs:
            out.append({"key": LinkKey(s, p.source, t, p.target), "score": 1.0, "evidence": {},
                        "origin": "official", "accept": "official", "flags": ("partial",) if p.partial else (),
                        "source_title": table.source_titles.get(p.source) or st.get(p.source, ""),
                        "target_title": table.target_titles.get(p.target) or tt.get(p.target, "")})
    return out


def _classifications(files: dict[str, str], wanted: set[str], combined: Optional[dict] = None,
                     ) -> tuple[dict[str, Classification], dict[str, Correspondence]]:
    """The official tables a build used and the classifications of ``wanted`` schemes, combined
    as the build combined them (``combined``: the summary's scheme -> files whose codes it added)."""
    from ..loaders import load
    from ..loaders.combine import combine
    classes, corrs = {}, {}
    loaded = {}
    for key, where in sorted(files.items()):
        if not where or not Path(where).is_file():
            continue
        if "-" not in key and key not in wanted:
            continue
        res = loaded.get(where) or loaded.setdefault(where, load(where))
        if "-" in key and isinstance(res.data, Correspondence):
            corrs[key] = res.data
        elif "-" not in key:     # a classification, or one a correspondence file carries (ISCO-88)
            found = [c for c in [res.data, *res.extra.values()]
                     if isinstance(c, Classification) and c.scheme.id == key]
            if found:
                classes[key] = found[0]
    # files the build combined into a classification (the OKZ examples adding the groups the label
    # scrape lost): without them reviewers could not pick those codes
    for key, joined in sorted((combined or {}).items()):
        for entry in joined if key in classes else []:
            where = entry.get("file", "") if isinstance(entry, dict) else ""
            if where and Path(where).is_file():
                other = (loaded.get(where) or loaded.setdefault(where, load(where))).data
                if isinstance(other, Classification) and other.scheme.id == key:
                    classes[key], _ = combine(classes[key], other)
    return classes, corrs


@dataclass
class Intake:
    # per file: the links it holds by role (accepted, proposals, alternatives) and the events added
    files: dict[str, dict[str, int]] = field(default_factory=dict)
    catalogue: dict[str, int] = field(default_factory=dict)     # scheme -> items added or changed


def load_build_output(store: ReviewStore, path: str | Path, *, top: Optional[int] = 3,
                      reviewer: str = "crosswalk") -> Intake:
    """Put a build output folder (or one candidates file) into ``store`` as the module
    docstring says."""
    path = Path(path)
    if path.is_dir():
        folder = path / "candidates" if (path / "candidates").is_dir() else path
        files = sorted(folder.glob("*.csv"))
        if not files:
            raise StoreError(f"{path}: no candidates/*.csv here; expected a `crosswalk build` output folder"
                             " or a candidates file")
    else:
        files = [path]
    summary_path = path / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if path.is_dir() and summary_path.is_file() else {}
    files_used = summary.get("files", {})
    csets = {f: read_candidates(f) for f in files}
    # the targets reviewers pick from, and both sides of the official tables
    wanted = {c.target_scheme for c in csets.values()} | {s for k in files_used if "-" in k for s in k.split("-")}
    classes, corrs = _classifications(files_used, wanted, summary.get("combined"))
    out = Intake()
    for f, cset in csets.items():
        draft = _draft_rows(f.parent.parent / "crosswalks" / f"{cset.source_scheme}__{cset.target_scheme}.csv")
        entries = _entries(cset, draft, top)
        out.files[f.name] = _propose(store, entries, reviewer, f"build:{f.name}")
    titles = {k: {it.code: it.title for it in c} for k, c in classes.items()}
    for key, corr in corrs.items():
        out.files[Path(files_used[key]).name] = _propose(store, _official_entries(corr, titles), reviewer,
                                                         f"official:{Path(files_used[key]).name}")
    out.catalogue = _catalogue(store, classes, corrs, csets.values())
    joined = {k: "\n".join(e["file"] for e in v if isinstance(e, dict) and e.get("file"))
              for k, v in summary.get("combined", {}).items() if isinstance(v, list)}
    known = {v["scheme"]: {"edition": v.get("edition", ""), "source": v.get("file", ""),
                           "language": v.get("language", ""), "joined": joined.get(v["scheme"], "")}
             for v in summary.get("classifications", []) if isinstance(v, dict) and v.get("scheme")}
    known.update({k: {"edition": c.edition, "source": files_used.get(k, ""), "language": c.language,
                      "joined": joined.get(k, "")} for k, c in classes.items()})
    store.record_schemes(known)
    return out


def _propose(store: ReviewStore, entries: list[dict], reviewer: str, origin: str) -> dict[str, int]:
    counts = {"accepted": 0, "proposals": 0, "alternatives": 0}
    for e in entries:
        counts["accepted" if e.get("accept") else "proposals" if e.get("role") == "proposal"
               else "alternatives"] += 1
    counts["events"] = store.propose(entries, reviewer=reviewer, origin=origin)
    return counts


def _catalogue(store: ReviewStore, classes: dict[str, Classification], corrs: dict[str, Correspondence],
               csets) -> dict[str, int]:
    """Every item of the target levels of the matched pairs and of the schemes official tables
    reach, so a reviewer can type a code no candidate named. Returns scheme -> items changed."""
    wanted: dict[str, set[int]] = {}

    def want(scheme: str, codes) -> None:
        cls = classes.get(scheme)
        if cls is not None:
            wanted.setdefault(scheme, set()).update(cls.get(c).level for c in codes if c in cls)

    for cset in csets:
        want(cset.target_scheme, {c.target for c in cset.candidates})
    for corr in corrs.values():
        want(corr.target_scheme.id, corr.targets())
        want(corr.source_scheme.id, corr.sources())
    return {scheme: store.register_items(scheme, [(it.code, it.title) for it in classes[scheme]
                                                  if it.level in levels])
            for scheme, levels in sorted(wanted.items())}


__all__ = ["Intake", "load_build_output"]
