"""Routes of the review store as one table each (``crosswalk export --route okpdtr,okz2014,isco08``):
OKPDTR → ISCO-08 through OKZ-2014, with the provenance of every step a link took.

Columns: the two ends with scheme, edition, code and title; ``weight`` (the share of the source
that flows to the target, summed over paths), ``relation`` (its group's kind among the exported
links), ``status`` (confirmed: every step confirmed, official or accepted by structure;
proposed: some step awaits review), ``weakest_step`` (that step), ``via`` (the pivot codes of
the best path), ``score``, and per step ``k``: ``step<k>`` (the scheme pair), ``step<k>_code``
(the code the step reached), ``step<k>_status``, ``step<k>_origin``, ``step<k>_by`` (who
confirmed it: a reviewer, ``official table <file>`` or ``same code (structure)``),
``step<k>_at`` and ``step<k>_comment``.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Mapping, Optional, Sequence

from .analyse import analyse
from .graph import CrosswalkGraph
from .model import Classification
from .review.routes import Route, compose_route
from .safety import cell_text

END_COLUMNS = ("source_scheme", "source_edition", "source_code", "source_title", "target_scheme",
               "target_edition", "target_code", "target_title", "weight", "relation", "status",
               "weakest_step", "via", "score")
STEP_FIELDS = ("", "_code", "_status", "_origin", "_by", "_at", "_comment")


def route_columns(route: Route) -> list[str]:
    steps = len(route.schemes) - 1
    return list(END_COLUMNS) + [f"step{k}{f}" for k in range(1, steps + 1) for f in STEP_FIELDS]


def decided_by(store) -> dict:
    """LinkKey -> the event that set each link's status (who, when, action, payload, origin): the
    last event other than a proposal, a policy or a blind second review."""
    return {ev.key: (ev.reviewer, ev.ts, ev.action, ev.payload, ev.origin)
            for ev in store.events(exclude=("propose", "policy", "second_review")) if ev.key is not None}


def confirmed_by(st, decided: Mapping) -> tuple[str, str]:
    """Who confirmed a link and when: a reviewer; ``official table <file>``; ``same code
    (structure)``; ``policy: score ≥ t``. Empty for a link not confirmed."""
    if st.status != "confirmed":
        return "", ""
    who, when, action, payload, origin = decided.get(st.key, ("", "", "", {}, ""))
    rule = payload.get("rule") if action == "auto_accept" else None
    if rule == "official":
        return f"official table {origin.split(':', 1)[-1]}", when
    if rule == "structure":
        return "same code (structure)", when
    if action == "auto_accept":
        return f"policy: score ≥ {payload.get('threshold')}", when
    return who, when


def route_rows(route: Route, decided: Mapping, editions: Mapping[str, str],
               titles: Mapping[str, Mapping[str, str]]) -> list[dict[str, Any]]:
    """One dict of column -> value per composed link, in the route's order."""
    links = [rl.link for rl in route.links]
    relation = CrosswalkGraph().relations(links) if links else {}
    first, last = route.schemes[0], route.schemes[-1]
    out = []
    for rl in route.links:
        ln = rl.link
        row: dict[str, Any] = {
            "source_scheme": first, "source_edition": editions.get(first, ""), "source_code": ln.source,
            "source_title": rl.steps[0].source_title or titles.get(first, {}).get(ln.source, ""),
            "target_scheme": last, "target_edition": editions.get(last, ""), "target_code": ln.target,
            "target_title": rl.steps[-1].target_title or titles.get(last, {}).get(ln.target, ""),
            "weight": ln.weight, "relation": relation.get((ln.source, ln.target), ""), "status": ln.status,
            "weakest_step": ln.weakest, "via": " ".join(ln.via), "score": ln.score}
        for k, st in enumerate(rl.steps, 1):
            who, when = confirmed_by(st, decided)
            row.update({f"step{k}": f"{st.key.source_scheme}→{st.key.target_scheme}",
                        f"step{k}_code": st.key.target_code, f"step{k}_status": st.status,
                        f"step{k}_origin": st.origin, f"step{k}_by": who, f"step{k}_at": when,
                        f"step{k}_comment": st.comment})
        out.append(row)
    return out


def route_summary(route: Route, classifications: Mapping[str, Classification],
                  editions: Mapping[str, str]) -> dict:
    links = [rl.link for rl in route.links]
    s_cls, t_cls = classifications.get(route.schemes[0]), classifications.get(route.schemes[-1])
    checks = analyse(links, source=s_cls, target=t_cls) if links else None
    return {"route": route.schemes, "links": len(links), "by_status": dict(route.by_status),
            "steps": dict(route.step_counts), "no_match": len(route.no_match),
            "source_edition": editions.get(route.schemes[0], ""), "target_edition": editions.get(route.schemes[-1], ""),
            "checks": checks.as_dict() if checks else None}


def value_text(value: Any, column: str) -> str:
    """A value as the CSV exports write it: weights to 6 decimals, scores to 4, nothing as ''."""
    if value is None:
        return ""
    if column == "weight":
        return f"{value:.6f}"
    if column == "score":
        return f"{value:.4f}"
    return str(value)


def route_csv(columns: Sequence[str], rows: list[dict]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([cell_text(value_text(r[c], c)) for c in columns])
    return buf.getvalue().encode("utf-8")


def route_json(route: Route, columns: Sequence[str], rows: list[dict], summary: dict, snapshot) -> bytes:
    def dump(v) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))

    meta = {"route": route.schemes, "source_edition": summary["source_edition"],
            "target_edition": summary["target_edition"], "by_status": summary["by_status"],
            "snapshot": {"event_id": snapshot[0], "checksum": snapshot[1]}}
    body = "[\n" + ",\n".join("  " + dump({c: r[c] for c in columns}) for r in rows) + "\n ]" if rows else "[]"
    text = "{\n" + "".join(f" {dump(k)}: {dump(v)},\n" for k, v in meta.items()) + f' "links": {body}\n}}\n'
    return text.encode("utf-8")


def route_ttl(route: Route, rows: list[dict], snapshot, base_uri: str,
              languages: Mapping[str, Optional[str]]) -> bytes:
    """An xkos:Correspondence between the route's ends; each association keeps its weight,
    status, the pivots it went through and who confirmed each step (cw:step1By …)."""
    from decimal import Decimal
    from urllib.parse import quote

    from rdflib import Graph, Literal, Namespace, URIRef
    from rdflib.namespace import DCTERMS, RDF, SKOS, XSD
    xkos, cw = Namespace("http://rdf-vocabulary.ddialliance.org/xkos#"), Namespace(base_uri + "vocab#")
    g = Graph()
    for prefix, ns in (("xkos", xkos), ("skos", SKOS), ("dcterms", DCTERMS), ("cw", cw)):
        g.bind(prefix, ns)
    first, last = route.schemes[0], route.schemes[-1]
    corr = URIRef(f"{base_uri}correspondence/{route.name}")
    g.bind("map", Namespace(f"{corr}/"))
    g.add((corr, RDF.type, xkos.Correspondence))
    g.add((corr, SKOS.notation, Literal(route.name)))
    g.add((corr, SKOS.prefLabel, Literal(" → ".join(route.schemes), lang="en")))
    g.add((corr, DCTERMS.identifier, Literal(f"snapshot {snapshot[0]} sha256:{snapshot[1]}")))
    for scheme in (first, last):
        su = URIRef(base_uri + quote(scheme, safe=""))
        g.add((corr, xkos.compares, su))
        g.add((su, RDF.type, SKOS.ConceptScheme))
        g.add((su, SKOS.notation, Literal(scheme)))
    for r in rows:
        part = f"{quote(r['source_code'], safe='').replace('_', '%5F')}__{quote(r['target_code'], safe='').replace('_', '%5F')}"
        assoc = URIRef(f"{corr}/{part}")
        g.add((corr, xkos.madeOf, assoc))
        g.add((assoc, RDF.type, xkos.ConceptAssociation))
        for side, prop in (("source", xkos.sourceConcept), ("target", xkos.targetConcept)):
            scheme, code = r[f"{side}_scheme"], r[f"{side}_code"]
            c = URIRef(f"{base_uri}{quote(scheme, safe='')}/{quote(code, safe='')}")
            g.add((assoc, prop, c))
            g.add((c, RDF.type, SKOS.Concept))
            g.add((c, SKOS.notation, Literal(code)))
            g.add((c, SKOS.inScheme, URIRef(base_uri + quote(scheme, safe=""))))
            if r[f"{side}_title"]:
                g.add((c, SKOS.prefLabel, Literal(r[f"{side}_title"], lang=languages.get(scheme))))
        g.add((assoc, cw.weight, Literal(Decimal(f"{r['weight']:.6f}"), datatype=XSD.decimal)))
        g.add((assoc, cw.status, Literal(r["status"])))
        if r["relation"]:
            g.add((assoc, cw.relation, Literal(r["relation"])))
        if r["via"]:
            g.add((assoc, cw.via, Literal(r["via"])))
        for k in range(1, len(route.schemes)):
            if r[f"step{k}_by"]:
                g.add((assoc, cw[f"step{k}By"], Literal(r[f"step{k}_by"])))
    return g.serialize(format="turtle").encode("utf-8")


def compose_for_export(store, routes, *, confirmed_only: bool) -> list[Route]:
    return [compose_route(store, r, confirmed_only=confirmed_only) for r in routes]


__all__ = ["END_COLUMNS", "compose_for_export", "confirmed_by", "decided_by", "route_columns", "route_csv", "route_json",
           "route_rows", "route_summary", "route_ttl"]
