"""`crosswalk export`: the reviewed links of a review store, per scheme pair, as files for
people and for other systems.

Written into one output folder (every path checked to stay inside it; every file written into a
staging folder first and all moved into place together, see :mod:`crosswalk.staging`)::

    crosswalks.xlsx          one sheet per scheme pair + «Summary» (counts, relations, coverage)
    <src>__<tgt>.csv         UTF-8, header line, rows sorted by source code then target code
    <src>__<tgt>.json        the same fields, numbers as numbers, editions and store snapshot
    <src>__<tgt>.ttl         XKOS/SKOS Turtle: an xkos:Correspondence made of
                             xkos:ConceptAssociation resources

Columns: ``source_code, source_title, target_code, target_title, weight, relation,
[status,] score, origin, reviewed_by, reviewed_at`` (``status`` only when all links are
exported). Only confirmed links are exported unless ``confirmed_only=False``.
``reviewed_by``/``reviewed_at``: the last event on the link other than a proposal or a blind
second review (a decision, a weight, a comment, an auto-accept by policy); empty for a link
never reviewed.

Split weights (the share of a source that goes to each target) are checked before anything
is written: for every source, either no confirmed link has a weight — then its confirmed
targets share it equally (1/n each) — or every confirmed link has one and they sum to 1
(within 1e-6, or half a unit of the 6th decimal per target: 3 × 0.333333 passes).
Anything else is an :class:`ExportError` naming the sources; weights are
never silently renormalised. ``relation`` (1:1, 1:n, n:1, n:m) is the kind of the link's
group among the confirmed links of its pair; pending and rejected links get none.

Spreadsheet safety: text starting with ``= + - @`` or a control character gets a ``'`` in
front (CSV and xlsx; :func:`crosswalk.safety.cell_untext` undoes it), xlsx cells never hold
formulas, characters XML cannot hold become U+FFFD and a carriage return (which XML turns
into a line feed) becomes a line feed — each such cell listed as a warning.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence
from urllib.parse import quote

from .errors import WARNING, CrosswalkError, Problem
from .export_routes import (compose_for_export, confirmed_by, decided_by, route_columns, route_csv, route_json,
                            route_rows, route_summary, route_ttl, value_text)
from .review.routes import parse_route, split_weights
from .graph import CrosswalkGraph, coverage
from .model import SCHEMES, Classification, Link, code_sort_key
from .safety import cell_text, safe_path
from .staging import Staging

FORMATS = ("xlsx", "csv", "json", "ttl")
COLUMNS = ("source_scheme", "source_edition", "source_code", "source_title", "target_scheme",
           "target_edition", "target_code", "target_title", "weight", "relation", "status", "score",
           "origin", "reviewed_by", "reviewed_at", "comment")
MAPPING_COLUMNS = ("source_scheme", "source_edition", "source_code", "source_title", "target_scheme",
                   "target_edition", "target_code", "target_title", "weight", "relation", "score",
                   "origin", "reviewed_by", "reviewed_at")
WORKBOOK = "crosswalks.xlsx"
SUMMARY_SHEET = "Summary"
# a URN names the concepts without pretending to a web address nobody owns; an organisation
# publishing the crosswalks passes its own namespace (--base-uri https://stat.example.ru/cw/)
DEFAULT_BASE_URI = "urn:crosswalk:"
XKOS_URI = "http://rdf-vocabulary.ddialliance.org/xkos#"
_SCHEME_ID = re.compile(r"[A-Za-z0-9]+(?:[-_.]?[A-Za-z0-9]+)*")   # safe in a file name, no "__"


class ExportError(CrosswalkError):
    """Nothing was written: the links cannot be exported as they are (e.g. split weights)."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()):
        super().__init__(message)
        self.problems = list(problems)


@dataclass
class ExportResult:
    files: list[Path] = field(default_factory=list)          # written, sorted
    warnings: list[Problem] = field(default_factory=list)
    summary: dict[str, dict] = field(default_factory=dict)   # "<src>__<tgt>" -> counts
    snapshot: tuple[int, str] = (0, "")                       # the store state exported
    unchanged: list[Path] = field(default_factory=list)      # mapping files left as they were
    routes: dict[str, dict] = field(default_factory=dict)    # "<a>__<b>__<c>" -> links by status, checks


@dataclass
class _Row:
    state: Any                   # a review LinkState
    weight: Optional[float]
    relation: str
    reviewed: tuple[str, str] = ("", "")   # who decided (a reviewer, an official table, a rule) and when


@dataclass
class _Table:
    """The links of one scheme pair, ready to write."""

    source: str
    target: str
    rows: list[_Row]
    counts: dict[str, int]       # status -> links
    confirmed: list[Link]        # as graph links, for relations and coverage
    source_edition: str = ""
    target_edition: str = ""

    @property
    def name(self) -> str:
        return f"{self.source}__{self.target}"


# -- reading the store ------------------------------------------------------------
def _parse_pair(pair) -> tuple[str, str]:
    if isinstance(pair, str):
        parts = pair.split(":")
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise CrosswalkError(f"scheme pair {pair!r}: write it as SOURCE:TARGET, e.g. okved2:nace2")
        return parts[0].strip(), parts[1].strip()
    src, tgt = pair
    return str(src), str(tgt)


def _read(store, pairs) -> tuple[tuple[int, str], dict[tuple[str, str], list], dict]:
    """Links grouped by scheme pair, who last reviewed each, and the snapshot they belong to
    (read again if the store changed while reading, so the snapshot always matches)."""
    for _ in range(5):
        before = tuple(store.snapshot())
        links = store.links()
        # a later re-proposal (a new build) updates a link's version, not who reviewed it; a
        # second review leaves the link (and so who decided it) as it was
        reviewed = decided_by(store)
        if tuple(store.snapshot()) == before:
            break
    else:
        raise ExportError("the review store kept changing while it was read; export again when"
                          " reviewers pause")
    grouped: dict[tuple[str, str], list] = {}
    for st in links:
        grouped.setdefault((st.key.source_scheme, st.key.target_scheme), []).append(st)
    if pairs is not None:
        wanted = sorted(dict.fromkeys(_parse_pair(p) for p in pairs))
        missing = [p for p in wanted if p not in grouped]
        if missing:
            have = ", ".join(f"{a}:{b}" for a, b in sorted(grouped)) or "none"
            raise ExportError("the review store has no links for " + ", ".join(f"{a}:{b}" for a, b in missing)
                              + f" (pairs in the store: {have})")
        grouped = {p: grouped[p] for p in wanted}
    for src, tgt in grouped:
        for scheme in (src, tgt):
            if not _SCHEME_ID.fullmatch(scheme):
                raise ExportError(f"scheme id {scheme!r} cannot name a file (letters, digits and single"
                                  " - _ . between them)")
    return before, dict(sorted(grouped.items())), reviewed


def _reviewed(st, decided) -> tuple[str, str]:
    """Who made the link's current decision and when: a reviewer (a rejection too), an official
    table or the structure rule (:func:`confirmed_by`); empty for a link never decided."""
    if st.status == "confirmed":
        return confirmed_by(st, decided)
    who, when, *_ = decided.get(st.key, ("", ""))
    return who, when


def _sort_key(st) -> tuple:
    return (code_sort_key(st.key.source_code), code_sort_key(st.key.target_code))


def _weights(src: str, tgt: str, confirmed: list) -> tuple[dict, list[Problem]]:
    """(source, target) -> split weight of the confirmed links, and the sources whose
    explicit weights are incomplete or do not sum to 1 (:func:`split_weights`)."""
    by_source: dict[str, list] = {}
    for st in confirmed:
        by_source.setdefault(st.key.source_code, []).append(st)
    out, bad = {}, []
    for code, links in by_source.items():
        weights, problem = split_weights(f"{src}→{tgt}", code, links)
        if problem:
            bad.append(problem)
        out.update({(code, t): w for t, w in weights.items()})
    return out, bad


def _tables(store, pairs, confirmed_only: bool, classifications) -> tuple[tuple[int, str], list[_Table]]:
    snapshot, grouped, reviewed = _read(store, pairs)
    tables, bad = [], []
    graph = CrosswalkGraph()
    for (src, tgt), states in grouped.items():
        states = sorted(states, key=_sort_key)
        confirmed = [st for st in states if st.status == "confirmed"]
        weights, problems = _weights(src, tgt, confirmed)
        bad += problems
        links = [Link(src, st.key.source_code, tgt, st.key.target_code, "confirmed") for st in confirmed]
        relation = graph.relations(links) if links else {}
        rows = []
        for st in states if not confirmed_only else confirmed:
            k = (st.key.source_code, st.key.target_code)
            rows.append(_Row(st, weights.get(k, st.weight), relation.get(k, "") if st.status == "confirmed" else "",
                             _reviewed(st, reviewed)))
        counts = Counter(st.status for st in states)
        editions = _editions(store, classifications)
        tables.append(_Table(src, tgt, rows, {s: counts.get(s, 0) for s in ("confirmed", "pending", "rejected")},
                             links, editions.get(src, ""), editions.get(tgt, "")))
    if bad:
        shown = "; ".join(p.message for p in bad[:10]) + (f"; … {len(bad) - 10} more" if len(bad) > 10 else "")
        raise ExportError(f"cannot export: the split weights of {len(bad)} source(s) do not add up"
                          f" (nothing was written; fix them with weight decisions): {shown}", bad)
    return snapshot, tables


def _editions(store, classifications) -> dict[str, str]:
    """scheme -> edition: of the classifications given, else as the store recorded it."""
    out = {k: v.get("edition", "") for k, v in store.schemes().items()} if hasattr(store, "schemes") else {}
    out.update({k: c.edition for k, c in (classifications or {}).items()})
    return out


def _title(st, side: str, classifications) -> str:
    title = getattr(st, f"{side}_title") or ""
    if not title and classifications:
        scheme, code = (st.key.source_scheme, st.key.source_code) if side == "source" else \
            (st.key.target_scheme, st.key.target_code)
        cls = classifications.get(scheme)
        if cls is not None and code in cls:
            title = cls.get(code).title
    return title


def _summary(t: _Table, classifications, warnings: list[Problem]) -> dict:
    graph = CrosswalkGraph()
    entry = {"source_scheme": t.source, "target_scheme": t.target,
             "source_edition": t.source_edition, "target_edition": t.target_edition,
             "links": len(t.confirmed), "sources": len({ln.source for ln in t.confirmed}),
             "targets": len({ln.target for ln in t.confirmed}),
             "relations": graph.relation_counts(t.confirmed) if t.confirmed
             else {"1:1": 0, "1:n": 0, "n:1": 0, "n:m": 0},
             "pending": t.counts["pending"], "rejected": t.counts["rejected"], "coverage": None}
    s_cls, t_cls = (classifications or {}).get(t.source), (classifications or {}).get(t.target)
    if s_cls is not None and t_cls is not None:
        # count the items of the levels the links use: a class-level table is not judged by sections
        s_lv = sorted({s_cls.get(ln.source).level for ln in t.confirmed if ln.source in s_cls})
        t_lv = sorted({t_cls.get(ln.target).level for ln in t.confirmed if ln.target in t_cls})
        cov = coverage(s_cls, t_cls, t.confirmed, levels=s_lv or None, target_levels=t_lv or None)
        entry["coverage"] = {"source_items": cov.source_total, "source_linked": cov.source_matched,
                             "source_share": round(cov.source_share, 4),
                             "target_items": cov.target_total, "target_linked": cov.target_matched,
                             "target_share": round(cov.target_share, 4)}
        for side, unknown, cls in (("source", cov.source_unknown, s_cls), ("target", cov.target_unknown, t_cls)):
            if unknown:
                warnings.append(Problem("unknown_code", WARNING,
                                        f"{t.name}: {len(unknown)} {side} code(s) of confirmed links are not in"
                                        f" {cls.scheme.id}{' ' + cls.edition if cls.edition else ''} (another edition?): "
                                        + ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else ""),
                                        column=f"{side}_code", value=unknown[0]))
    if not t.rows:
        warnings.append(Problem("empty_pair", WARNING, f"{t.name}: no links to export"
                                f" ({t.counts['pending']} pending, {t.counts['rejected']} rejected)"))
    return entry


# -- rows ---------------------------------------------------------------------------
def _values(row: _Row, columns: Sequence[str], t: _Table, classifications) -> dict[str, Any]:
    """Column -> value (text, float or None) of one row."""
    st = row.state
    v = {"source_scheme": t.source, "source_edition": t.source_edition, "source_code": st.key.source_code,
         "source_title": _title(st, "source", classifications), "target_scheme": t.target,
         "target_edition": t.target_edition, "target_code": st.key.target_code,
         "target_title": _title(st, "target", classifications), "weight": row.weight,
         "relation": row.relation, "status": st.status, "score": st.score, "origin": st.origin,
         "reviewed_by": row.reviewed[0], "reviewed_at": row.reviewed[1], "comment": st.comment}
    return {c: v[c] for c in columns}


def _csv_bytes(t: _Table, columns: Sequence[str], classifications) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")    # "\n" alone would leave a lone "\r" unquoted
    w.writerow(columns)
    for row in t.rows:
        vals = _values(row, columns, t, classifications)
        w.writerow([cell_text(value_text(vals[c], c)) for c in columns])
    return buf.getvalue().encode("utf-8")


def _json_bytes(t: _Table, columns: Sequence[str], snapshot, classifications) -> bytes:
    def dump(v) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))

    meta = {"source_scheme": t.source, "source_edition": t.source_edition, "target_scheme": t.target,
            "target_edition": t.target_edition,
            "snapshot": {"event_id": snapshot[0], "checksum": snapshot[1]},
            "content": "all" if "status" in columns else "confirmed"}
    rows = [dump(_values(r, columns, t, classifications)) for r in t.rows]
    body = "[\n" + ",\n".join("  " + r for r in rows) + "\n ]" if rows else "[]"  # a link per line: small diffs
    text = "{\n" + "".join(f" {dump(k)}: {dump(v)},\n" for k, v in meta.items()) + f' "links": {body}\n}}\n'
    return text.encode("utf-8")


def _ttl_bytes(t: _Table, columns: Sequence[str], snapshot, classifications, base_uri: str) -> bytes:
    from rdflib import Graph, Literal, Namespace, URIRef
    from rdflib.namespace import DCTERMS, RDF, SKOS, XSD
    xkos, cw = Namespace(XKOS_URI), Namespace(base_uri + "vocab#")
    g = Graph()
    for prefix, ns in (("xkos", xkos), ("skos", SKOS), ("dcterms", DCTERMS), ("cw", cw)):
        g.bind(prefix, ns)

    def scheme_uri(scheme: str) -> URIRef:
        return URIRef(base_uri + quote(scheme, safe=""))

    def concept(scheme: str, code: str) -> URIRef:
        return URIRef(f"{base_uri}{quote(scheme, safe='')}/{quote(code, safe='')}")

    def part(code: str) -> str:      # "_" encoded too, so "__" between two codes is unambiguous
        return quote(code, safe="").replace("_", "%5F")

    def lang(scheme: str) -> Optional[str]:
        cls = (classifications or {}).get(scheme)
        return cls.language if cls is not None else SCHEMES[scheme].language if scheme in SCHEMES else None

    corr = URIRef(f"{base_uri}correspondence/{t.name}")
    # one prefix per namespace: rdflib's Turtle writer slows down quadratically with the number of
    # namespaces it has to discover, and the file reads better (okz2014:0110, map:0110__0110)
    for prefix, ns in ((t.source, f"{base_uri}{t.source}/"), (t.target, f"{base_uri}{t.target}/"),
                       ("map", f"{corr}/")):
        g.bind(prefix, Namespace(ns))
    g.add((corr, RDF.type, xkos.Correspondence))
    g.add((corr, SKOS.notation, Literal(t.name)))
    g.add((corr, SKOS.prefLabel, Literal(f"{t.source} → {t.target}", lang="en")))
    g.add((corr, DCTERMS.identifier, Literal(f"snapshot {snapshot[0]} sha256:{snapshot[1]}")))
    for scheme, edition in ((t.source, t.source_edition), (t.target, t.target_edition)):
        g.add((corr, xkos.compares, scheme_uri(scheme)))
        g.add((scheme_uri(scheme), RDF.type, SKOS.ConceptScheme))
        g.add((scheme_uri(scheme), SKOS.notation, Literal(scheme)))
        if edition:
            g.add((scheme_uri(scheme), DCTERMS.hasVersion, Literal(edition)))
    for row in t.rows:
        st = row.state
        s, tg = st.key.source_code, st.key.target_code
        assoc = URIRef(f"{corr}/{part(s)}__{part(tg)}")
        g.add((corr, xkos.madeOf, assoc))
        g.add((assoc, RDF.type, xkos.ConceptAssociation))
        for side, scheme, code, prop in (("source", t.source, s, xkos.sourceConcept),
                                         ("target", t.target, tg, xkos.targetConcept)):
            c = concept(scheme, code)
            g.add((assoc, prop, c))
            g.add((c, RDF.type, SKOS.Concept))
            g.add((c, SKOS.notation, Literal(code)))
            g.add((c, SKOS.inScheme, scheme_uri(scheme)))
            title = _title(st, side, classifications)
            if title:
                g.add((c, SKOS.prefLabel, Literal(title, lang=lang(scheme))))
        if row.weight is not None:
            g.add((assoc, cw.weight, Literal(Decimal(f"{row.weight:.6f}"), datatype=XSD.decimal)))
        if row.relation:
            g.add((assoc, cw.relation, Literal(row.relation)))
        if st.score is not None:
            g.add((assoc, cw.score, Literal(Decimal(f"{st.score:.4f}"), datatype=XSD.decimal)))
        if "status" in columns:
            g.add((assoc, cw.status, Literal(st.status)))
    # rdflib's Turtle writer sorts subjects and predicates: same graph, same bytes
    return g.serialize(format="turtle").encode("utf-8")


# -- public -------------------------------------------------------------------------
def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def export(store, out_dir: str | Path, *, formats: Iterable[str] = FORMATS, confirmed_only: bool = True,
           pairs: Optional[Iterable] = None, routes: Optional[Iterable] = None,
           classifications: Optional[Mapping[str, Classification]] = None,
           base_uri: str = DEFAULT_BASE_URI, exported_at: Optional[str] = None,
           max_unmatched: Optional[float] = None, replace: bool = False) -> ExportResult:
    """Export the links of ``store`` (a :class:`crosswalk.review.ReviewStore`) into
    ``out_dir``: ``crosswalks.xlsx`` plus ``<src>__<tgt>.csv|.json|.ttl`` per scheme pair.

    ``pairs``: ``("okved2", "nace2")`` tuples or ``"okved2:nace2"`` strings (default: every
    pair in the store, unless ``routes`` are given). ``routes``: ``"okpdtr,okz2014,isco08"`` or
    scheme lists — each composed through the store (:mod:`crosswalk.export_routes`) into
    ``<a>__<b>__<c>.*`` and a sheet, with per-step provenance; confirmed links only unless
    ``confirmed_only=False``. ``classifications`` (scheme id -> :class:`Classification`) supply
    editions, missing titles and coverage (editions otherwise come from the store). ``base_uri``
    starts the Turtle URIs: ``<base_uri><scheme>/<code>`` (percent-encoded). Raises
    :class:`ExportError`, writing nothing, when split weights do not add up or a route's share of
    unmatched items exceeds ``max_unmatched``, and when ``out_dir`` already holds a ``crosswalks.xlsx``
    with sheets this export would not write again (an earlier export of other pairs or routes) unless
    ``replace=True``: the other files are named per pair or route and stay, the workbook would not.
    """
    formats = tuple(dict.fromkeys([formats] if isinstance(formats, str) else formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise CrosswalkError(f"unknown export format(s) {unknown or formats}; choose from {', '.join(FORMATS)}")
    if not (base_uri.endswith(("/", "#")) or (base_uri.startswith("urn:") and base_uri.endswith(":"))):
        raise CrosswalkError(f"base URI {base_uri!r} must end with '/' or '#' (a URN with ':')")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    columns = [c for c in COLUMNS if c != "status" or not confirmed_only]
    routes = list(routes or [])
    if routes and pairs is None:
        snapshot, tables = tuple(store.snapshot()), []
    else:
        snapshot, tables = _tables(store, pairs, confirmed_only, classifications)
    result = ExportResult(snapshot=snapshot)
    result.summary = {t.name: _summary(t, classifications, result.warnings) for t in tables}
    composed = _routes(store, routes, confirmed_only, classifications or {}, result)
    if max_unmatched is not None:
        over = [f"{name.replace('__', '→')} {e['checks']['mismatch']:.1%}" for name, e in result.routes.items()
                if e["checks"] and e["checks"]["mismatch"] > max_unmatched]
        if over:
            raise ExportError(f"nothing was written: the share of unmatched items exceeds {max_unmatched:.1%}"
                              f" on {', '.join(over)}")
    for name in [t.name for t in tables] + [r[0].name for r in composed]:   # every path checked first
        for fmt in formats:
            safe_path(out, WORKBOOK if fmt == "xlsx" else f"{name}.{fmt}")
    wb = None
    if "xlsx" in formats:
        wb = _workbook(out / WORKBOOK, tables, columns, result.summary, snapshot, exported_at or _now(),
                       classifications, result.warnings, composed, result.routes)
        if not replace:
            _keeps_sheets(out / WORKBOOK, wb.sheetnames)
    languages = {k: c.language for k, c in (classifications or {}).items()}
    languages.update({k: v.get("language") or None for k, v in store.schemes().items()})
    # staged, then moved into place together: a failure leaves the files of an earlier run as they were
    with Staging(out, "the export") as stage:
        for t in tables:
            for fmt in formats:
                if fmt == "csv":
                    data = _csv_bytes(t, columns, classifications)
                elif fmt == "json":
                    data = _json_bytes(t, columns, snapshot, classifications)
                elif fmt == "ttl":
                    data = _ttl_bytes(t, columns, snapshot, classifications, base_uri)
                else:
                    continue
                stage.write(f"{t.name}.{fmt}", data)
        for route, cols, rows in composed:
            summary = result.routes[route.name]
            for fmt in formats:
                if fmt == "csv":
                    data = route_csv(cols, rows)
                elif fmt == "json":
                    data = route_json(route, cols, rows, summary, snapshot)
                elif fmt == "ttl":
                    data = route_ttl(route, rows, snapshot, base_uri, languages)
                else:
                    continue
                stage.write(f"{route.name}.{fmt}", data)
        if wb is not None:
            stage.fill(WORKBOOK, wb.save)
    result.files = sorted(out.resolve() / name for name in stage.names)
    return result


def _routes(store, routes, confirmed_only: bool, classifications, result: ExportResult) -> list:
    """(Route, columns, rows) of each route, and its summary in ``result.routes``."""
    if not routes:
        return []
    decided = decided_by(store)
    editions = _editions(store, classifications)
    titles = {k: store.items(k) for k in {s for r in routes for s in parse_route(r)}}
    out = []
    for route in compose_for_export(store, routes, confirmed_only=confirmed_only):
        cols = route_columns(route)
        rows = route_rows(route, decided, editions, titles)
        result.routes[route.name] = route_summary(route, classifications, editions)
        if not rows:
            result.warnings.append(Problem("empty_route", WARNING, f"{route.name}: no "
                                           f"{'confirmed ' if confirmed_only else ''}links to export"
                                           f" ({', '.join(f'{k} {v}' for k, v in route.step_counts.items())})"))
        out.append((route, cols, rows))
    return out


def load_classifications(paths: Iterable[str | Path], used: Optional[list] = None
                         ) -> tuple[dict[str, Classification], list[str]]:
    """Classifications by scheme id from files or folders (the largest file of a scheme
    wins: the full table over an excerpt), and the files that could not be used. ``used``
    receives what is used: file, item count, bundled excerpt or not (loaders.usage)."""
    from .api import expand_paths
    from .loaders import load
    best: dict[str, tuple[int, str, Classification]] = {}
    skipped = []
    for path in sorted(str(p) for p in expand_paths(paths)):
        try:
            res = load(path)
        except CrosswalkError as exc:
            skipped.append(f"{path}: {exc}")
            continue
        for obj in [res.data, *res.extra.values()]:
            if isinstance(obj, Classification):
                prev = best.get(obj.scheme.id)
                if prev is None or len(obj) > prev[0]:
                    best[obj.scheme.id] = (len(obj), path, obj)
    if used is not None:
        from .loaders import usage
        used += [usage(k, v[1], v[2]) for k, v in sorted(best.items())]
    return {k: v[2] for k, v in sorted(best.items())}, skipped


# the committed form of one table (mappings/), beside the exports it shares its reading with
from .export_mappings import mapping_meta_path, write_mapping_csv  # noqa: E402
# the workbook, beside the files it is written with
from .export_xlsx import _keeps_sheets, _workbook  # noqa: E402

__all__ = ["COLUMNS", "DEFAULT_BASE_URI", "FORMATS", "MAPPING_COLUMNS", "ExportError", "ExportResult",
           "export", "load_classifications", "mapping_meta_path", "write_mapping_csv"]
