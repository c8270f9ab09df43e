"""The review side of the command line: `crosswalk review …` (load, status, decide, check,
history, policy, export/import of the workbook, learn, serve), `crosswalk export` and
`crosswalk report`. Each command parses its options, calls one API function and formats the
result; :mod:`crosswalk.cli` holds the group, the shared options and the error handling.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import api
from .cli import (_echo_usage, _format_option, _lang_option, _where, cli, open_review_store, review_store_options,
                  _review_key)

@cli.group()
def review():
    """Review proposed links: every decision is kept, with who made it and when, in a
    review store (default ./crosswalk-review.sqlite)."""


@review.command("load")
@click.argument("path", type=click.Path(exists=True))
@review_store_options
@click.option("--reviewer", default="crosswalk", show_default=True, help="Recorded as the proposer.")
@click.option("--top", type=click.IntRange(min=1), default=3, show_default=True,
              help="Candidates put before reviewers per item (the proposal and alternatives of rank ≤ TOP).")
def review_load(path, store_path, allow_network_fs, reviewer, top):
    """Put a `crosswalk build` output folder into the review store: official tables and the
    identities the build accepted by structure as confirmed links, every other item as its
    proposal with the next candidates (rank ≤ TOP) as alternatives. Loading the same build
    twice adds nothing; a reviewer's decision is never overridden."""
    from .review import load_build_output
    with open_review_store(store_path, allow_network_fs, create=True) as store:
        got = load_build_output(store, path, top=top, reviewer=reviewer)
    for name, n in got.files.items():
        click.echo(f"{name}: {n['accepted']} accepted (official or same code), {n['proposals']} proposals,"
                   f" {n['alternatives']} alternatives; {n['events']} new events")
    for scheme, n in got.catalogue.items():
        click.echo(f"{scheme}: {n} items added to the catalogue reviewers may pick from")
    click.echo(f"store {store_path}: {sum(n['events'] for n in got.files.values())} new events")


@review.command("status")
@review_store_options
@_format_option
def review_status(store_path, allow_network_fs, fmt):
    """Links by scheme pair and status, and the auto-accept policy of each pair."""
    with open_review_store(store_path, allow_network_fs) as store:
        rows = [{"source_scheme": s, "target_scheme": t, **n, "policy": store.policy(s, t)}
                for (s, t), n in store.counts().items()]
        last, checksum = store.snapshot()
    if fmt == "json":
        click.echo(json.dumps({"store": store_path, "last_event": last, "checksum": checksum, "pairs": rows},
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"{store_path}: last event {last}, checksum {checksum[:12]}")
    for r in rows:
        pol = "" if r["policy"] is None else f"; auto-accept ≥ {r['policy']:g}"
        click.echo(f"{r['source_scheme']} → {r['target_scheme']}: pending {r['pending']}, confirmed"
                   f" {r['confirmed']}, rejected {r['rejected']}{pol}")


@review.command("decide")
@click.argument("source", metavar="SOURCE_SCHEME:SOURCE_CODE")
@click.argument("target", metavar="TARGET_SCHEME:TARGET_CODE")
@click.argument("action", type=click.Choice(["confirm", "reject"]))
@review_store_options
@click.option("--reviewer", required=True, help="Your name; recorded with the decision.")
@click.option("--expected-version", type=int, default=None,
              help="The version of the link you saw (`review history`); default: the current one.")
@click.option("--comment", default=None, help="Why (kept with the link).")
def review_decide(source, target, action, store_path, allow_network_fs, reviewer, expected_version, comment):
    """Confirm or reject one link. Exits 1 if the link changed since --expected-version."""
    from .review import Decision
    key = _review_key(source, target)
    with open_review_store(store_path, allow_network_fs) as store:
        version = store.get(key).version if expected_version is None else expected_version
        res = store.decide([Decision(key, action, version, comment=comment, origin="cli")], reviewer=reviewer)
        now = store.get(key)
    if res.conflicts:
        raise click.ClickException(f"conflict, nothing changed: {key}: {res.conflicts[0].reason}")
    if res.invalid:
        raise click.ClickException(f"{key}: {res.invalid[0][1]}")
    what = "unchanged (already so)" if res.unchanged else "done"
    click.echo(f"{key}: {what}; {now.status}, version {now.version}")


@review.command("check")
@review_store_options
@_format_option
def review_check(store_path, allow_network_fs, fmt):
    """A full check of the store, writing nothing: every page and index (integrity_check),
    references, and every link's and item's state rebuilt from the log compared with the stored state.
    Exits 1 when anything is wrong."""
    from .review import ReviewStore, StoreError
    problems, last = [], None
    try:
        with ReviewStore(store_path, create=False, allow_network_fs=allow_network_fs, read_only=True,
                         quick_check=False) as store:
            problems = store.check()
            if not problems:
                last = store.snapshot()[0]
    except StoreError as exc:   # so damaged that it cannot be opened: that is the finding
        problems = [str(exc)]
    if fmt == "json":
        click.echo(json.dumps({"store": store_path, "ok": not problems, "last_event": last,
                               "problems": problems}, ensure_ascii=False, indent=2))
    elif problems:
        click.echo(f"{store_path}: " + click.style(f"{len(problems)} problem(s)", fg="red")
                   + "; restore the file from a backup (the log of events is the record of every decision)")
        for p in problems:
            click.echo(f"  {p}")
    else:
        click.echo(f"{store_path}: ok (every page and index checked; the state of every link equals the"
                   f" replay of its log, {last} events)")
    sys.exit(1 if problems else 0)


@review.command("history")
@click.argument("keys", nargs=-1, required=True, metavar="SOURCE_SCHEME:CODE TARGET_SCHEME:CODE …")
@review_store_options
@_format_option
def review_history(keys, store_path, allow_network_fs, fmt):
    """Every event of the links named (pairs of SCHEME:CODE), oldest first."""
    if len(keys) % 2:
        raise click.BadParameter("give links as pairs: SOURCE_SCHEME:CODE TARGET_SCHEME:CODE", param_hint="KEYS")
    links = [_review_key(keys[i], keys[i + 1]) for i in range(0, len(keys), 2)]
    with open_review_store(store_path, allow_network_fs) as store:
        hist = [(k, store.history(k)) for k in links]
    if fmt == "json":
        click.echo(json.dumps([{"link": str(k), "events": [
            {"id": e.id, "ts": e.ts, "reviewer": e.reviewer, "action": e.action, "origin": e.origin,
             "payload": e.payload, "previous": e.previous} for e in evs]} for k, evs in hist],
            ensure_ascii=False, indent=2))
        return
    for k, evs in hist:
        click.echo(click.style(str(k), bold=True) + ("" if evs else ": no events"))
        for e in evs:
            detail = ", ".join(f"{n}={v}" for n, v in sorted(e.payload.items())
                               if n in ("comment", "weight", "new_target", "replaces", "score", "threshold"))
            click.echo(f"  #{e.id} {e.ts} {e.reviewer:<12} {e.action:<11} {e.origin}"
                       + (f"  {detail}" if detail else ""))


@review.group("policy")
def review_policy():
    """The auto-accept threshold of a scheme pair: links scoring at least it are confirmed."""


@review_policy.command("set")
@click.argument("source_scheme")
@click.argument("target_scheme")
@click.argument("threshold", type=click.FloatRange(0, 1))
@review_store_options
@click.option("--reviewer", required=True, help="Who sets the policy (recorded).")
def review_policy_set(source_scheme, target_scheme, threshold, store_path, allow_network_fs, reviewer):
    """Set the threshold (recorded as an event; apply it with `review policy apply`)."""
    with open_review_store(store_path, allow_network_fs) as store:
        ev = store.set_policy(source_scheme, target_scheme, threshold, reviewer=reviewer)
    click.echo(f"{source_scheme} → {target_scheme}: auto-accept ≥ {threshold:g} (event {ev})")


@review_policy.command("apply")
@click.argument("source_scheme")
@click.argument("target_scheme")
@review_store_options
@click.option("--reviewer", required=True, help="Who applies the policy (recorded).")
def review_policy_apply(source_scheme, target_scheme, store_path, allow_network_fs, reviewer):
    """Confirm the pending links scoring at least the threshold."""
    with open_review_store(store_path, allow_network_fs) as store:
        n = store.apply_policy(source_scheme, target_scheme, reviewer=reviewer)
    click.echo(f"{source_scheme} → {target_scheme}: {n} links auto-accepted")


@review_policy.command("show")
@click.argument("source_scheme")
@click.argument("target_scheme")
@review_store_options
@click.option("--gold", type=click.Path(exists=True, dir_okay=False),
              help="A gold table (as `crosswalk evaluate` reads): report the error rate of accepted links.")
@_format_option
def review_policy_show(source_scheme, target_scheme, store_path, allow_network_fs, gold, fmt):
    """The policy in force and what it did: accepted, overridden, pending, error rate against gold."""
    from .review import policy_report
    gold_map = None
    if gold:
        from .evaluate import load_gold
        gold_map = load_gold(gold, source_scheme=source_scheme, target_scheme=target_scheme).acceptable
    with open_review_store(store_path, allow_network_fs) as store:
        rep = policy_report(store, source_scheme, target_scheme, gold_map)
    if fmt == "json":
        click.echo(json.dumps(rep, ensure_ascii=False, indent=2))
        return
    if rep["threshold"] is None:
        click.echo(f"{source_scheme} → {target_scheme}: no auto-accept policy")
    else:
        click.echo(f"{source_scheme} → {target_scheme}: auto-accept ≥ {rep['threshold']:g}, set by"
                   f" {rep['set_by']} at {rep['set_at']}")
    click.echo(f"accepted {rep['accepted']} (overridden later {rep['overridden']}); pending {rep['pending_left']}"
               + ("" if rep["pending_above_threshold"] is None
                  else f" ({rep['pending_above_threshold']} above the threshold, not yet applied)"))
    if gold:
        rate = "n/a" if rep["error_rate"] is None else f"{rep['error_rate']:.1%}"
        click.echo(f"against gold: {rep['gold_checked']} accepted links checked, {rep['gold_wrong']} wrong;"
                   f" error rate {rate}")


# -- export: reviewed links as files (crosswalk/export.py) -----------------------------------
@cli.command("export")
@click.argument("out_dir", type=click.Path(file_okay=False))
@review_store_options
@click.option("--all", "all_links", is_flag=True,
              help="Export every link with a status column (default: confirmed links only).")
@click.option("--format", "formats", multiple=True, type=click.Choice(["xlsx", "csv", "json", "ttl"]),
              help="Repeatable; default: all four.")
@click.option("--pair", "pairs", multiple=True, metavar="SRC:TGT",
              help="A scheme pair to export, e.g. okved2:nace2; repeatable (default: every pair in the store).")
@click.option("--data", multiple=True, type=click.Path(exists=True),
              help="Classification files or folders: editions, coverage and missing titles. Repeatable.")
@click.option("--mappings", "mappings_dir", type=click.Path(file_okay=False),
              help="Also write the committed form of each pair here (<src>__<tgt>.csv + .meta.json).")
@click.option("--base-uri", default="urn:crosswalk:", show_default=True,
              help="Start of the Turtle URIs: <base><scheme>/<code>. Use your organisation's.")
@click.option("--route", "routes", multiple=True, metavar="A,B,C",
              help="A route composed through the store, e.g. okpdtr,okz2014,isco08: one table with the"
                   " provenance of every step. Repeatable; with --route only the routes (and --pair) are written.")
@click.option("--max-unmatched", type=click.FloatRange(0, 1), default=None,
              help="Refuse to export a route whose share of unmatched items exceeds this.")
@click.option("--replace", is_flag=True,
              help="Replace OUT_DIR/crosswalks.xlsx even when it holds pairs or routes this export does not"
                   " write (by default that is refused, so an earlier export's sheets are never lost).")
def export_cmd(out_dir, store_path, allow_network_fs, all_links, formats, pairs, data, mappings_dir, base_uri,
               routes, max_unmatched, replace):
    """Write the reviewed links of the review store into OUT_DIR: crosswalks.xlsx (a sheet per
    scheme pair or route and a Summary), and <src>__<tgt>.csv, .json and .ttl (XKOS/SKOS Turtle)."""
    from .export import FORMATS, export, load_classifications, write_mapping_csv
    from .safety import safe_path
    used: list = []
    classes, skipped = load_classifications(data, used) if data else ({}, [])
    _echo_usage(used, err=True)
    for s in skipped:
        click.echo(f"warning: skipped {s}", err=True)
    with open_review_store(store_path, allow_network_fs) as store:
        result = export(store, out_dir, formats=formats or FORMATS, confirmed_only=not all_links,
                        pairs=pairs or None, routes=routes, classifications=classes, base_uri=base_uri,
                        max_unmatched=max_unmatched, replace=replace)
        mapping_files, warnings = [], list(result.warnings)
        if mappings_dir:
            Path(mappings_dir).mkdir(parents=True, exist_ok=True)
            for name in result.summary:
                m = write_mapping_csv(store, tuple(name.split("__")), safe_path(mappings_dir, f"{name}.csv"),
                                      classifications=classes)
                mapping_files += m.files
                warnings += [w for w in m.warnings if w.kind == "edition_unknown"]
    click.echo(f"store snapshot {result.snapshot[0]} (sha256 {result.snapshot[1][:12]}…)")
    for name, e in result.summary.items():
        rel = ", ".join(f"{k} {v}" for k, v in e["relations"].items())
        cov = e["coverage"]
        click.echo(f"{name.replace('__', ' → ')}: {e['links']} links ({rel}); pending {e['pending']},"
                   f" rejected {e['rejected']}"
                   + (f"; coverage {cov['source_share']:.1%} of source, {cov['target_share']:.1%} of target"
                      " items" if cov else ""))
    for name, e in result.routes.items():
        status = ", ".join(f"{k} {v}" for k, v in e["by_status"].items()) or "none"
        steps = "; ".join(f"{step}: " + ", ".join(f"{k} {v}" for k, v in n.items()) for step, n in e["steps"].items())
        ch = e["checks"] or {}
        click.echo(f"{name.replace('__', ' → ')}: {e['links']} links ({status}); steps used — {steps}"
                   + (f"; {e['no_match']} items with no correspondence" if e["no_match"] else "")
                   + (f"; largest group {ch['groups']['largest']} codes" if ch else ""))
    for path in result.files + mapping_files:
        click.echo(f"  wrote {path}")
    for w in warnings:
        where = ", ".join(x for x in (Path(w.file).name if w.file else "", _where(w.as_dict())) if x)
        value = f"  value: {w.value!r}" if w.value not in (None, "") else ""
        click.echo(f"  {click.style('warning', fg='yellow')} {w.kind:<22} " + (f"{where}: " if where else "")
                   + w.message + value)


# -- review workbook round trip (crosswalk/review/workbook.py) ----------------------------
@review.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@review_store_options
@click.option("--pair", metavar="SRC:TGT", default=None,
              help="Only the items of one scheme pair, e.g. okpdtr:okz2014.")
@click.option("--status", type=click.Choice(["pending", "confirmed", "rejected"]), default=None,
              help="Only candidates with this status (default: all).")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists (its unimported decisions are lost).")
@_lang_option
def review_export(file, store_path, allow_network_fs, pair, status, force, lang):
    """Write the items as a review workbook (FILE.xlsx): one row per candidate, grouped per item
    (the proposal first, then the alternatives by score), with one decision per item to choose
    from a drop-down (accept, other code, split, no match…); bring the decisions back with
    `crosswalk review import`. Russian by default (--lang en for English)."""
    from .model import SCHEMES
    from .review.workbook import write_review_workbook
    src = tgt = None
    if pair:
        src, sep, tgt = pair.partition(":")
        if not sep or src not in SCHEMES or tgt not in SCHEMES:
            raise click.BadParameter(f"{pair!r}: write SRC:TGT with scheme ids ({', '.join(sorted(SCHEMES))})",
                                     param_hint="--pair")
    with open_review_store(store_path, allow_network_fs) as store:
        res = write_review_workbook(store, file, source_scheme=src, target_scheme=tgt, status=status,
                                    overwrite=force, lang=lang)
    for p in res.problems:
        click.echo(("предупреждение: " if lang == "ru" else "warning: ") + p.message, err=True)
    if lang == "ru":
        click.echo(f"{res.path}: позиций {res.items}, строк (кандидатов) {res.rows} (снимок хранилища"
                   f" {res.snapshot_id})" + ("" if res.rows else "; под фильтры ничего не подошло"))
    else:
        click.echo(f"{res.path}: {res.items} items, {res.rows} rows (candidates) (store snapshot"
                   f" {res.snapshot_id})" + ("" if res.rows else "; nothing matches the filters"))


@review.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@review_store_options
@click.option("--reviewer", required=True, help="Your name; recorded with every decision.")
@click.option("--partial", is_flag=True,
              help="Apply the valid rows even when others are refused or conflict (default: all or nothing).")
@click.option("--lang", type=click.Choice(["ru", "en"]), default=None,
              help="Language of the messages (default: the workbook's).")
@_format_option
def review_import(file, store_path, allow_network_fs, reviewer, partial, lang, fmt):
    """Apply the decisions of a review workbook in one go: one decision per item, settling the
    item's other candidates. All or nothing: if any row is refused (each listed by sheet, row,
    column, value and rule) or conflicts with a change made since the export, nothing is
    applied — unless --partial. Importing the same file again changes nothing. Exits 1 when
    rows were refused or conflicted."""
    from .review.workbook import import_workbook
    with open_review_store(store_path, allow_network_fs) as store:
        rep = import_workbook(store, file, reviewer=reviewer, partial=partial, lang=lang)
    if fmt == "json":
        click.echo(json.dumps(rep.as_dict(), ensure_ascii=False, indent=2))
    else:
        for line in _import_lines(file, rep, lang or rep.language):
            click.echo(line)
    sys.exit(0 if rep.ok else 1)


def _import_lines(file, rep, lang: str) -> list[str]:
    ru = lang == "ru"
    red = lambda t: click.style(t, fg="red")        # noqa: E731
    if ru:
        out = [f"{file}: строк {rep.rows_read}: применено {rep.applied} (решений {rep.decisions}), без изменений"
               f" {rep.unchanged}, без решения {rep.no_decision}, конфликтов {len(rep.conflicts)}, отклонено"
               f" {len(rep.rejected)}" + (f", не применено из-за других строк {rep.withheld}" if rep.withheld else "")]
    else:
        out = [f"{file}: {rep.rows_read} rows: applied {rep.applied} ({rep.decisions} decisions), unchanged"
               f" {rep.unchanged}, no decision {rep.no_decision}, conflicts {len(rep.conflicts)}, rejected"
               f" {len(rep.rejected)}" + (f", withheld {rep.withheld}" if rep.withheld else "")]
    for c in rep.conflicts:
        out.append(f"  {'строка' if ru else 'row'} {c['row']}: " + red("конфликт" if ru else "conflict")
                   + f" {' '.join(c['link'])}: {c['reason']}")
    for p in sorted((p for p in rep.problems if p.severity == "error"), key=lambda p: p.row or 0):
        value = "" if p.value is None else (f" (значение {p.value!r})" if ru else f" (value {p.value!r})")
        where = f"{'лист' if ru else 'sheet'} {p.sheet}, {'строка' if ru else 'row'} {p.row}, " \
                f"{'столбец' if ru else 'column'} {p.column}"
        out.append(f"  {where}: " + red("отклонена" if ru else "rejected") + f" [{p.kind}] {p.message}{value}")
    for p in rep.problems:
        if p.severity == "warning":
            out.append("  " + click.style("предупреждение" if ru else "warning", fg="yellow") + f" {p.message}")
    if rep.nothing_applied:
        out.append(red("Ничего не применено: исправьте эти строки и импортируйте снова, или примените верные"
                       " строки с --partial." if ru else "Nothing was applied: fix these rows and import again,"
                       " or apply the valid rows with --partial."))
    return out


# -- review app and summary report (crosswalk/review/web, crosswalk/report.py) -------------
def _load_data_option(data) -> dict:
    from .export import load_classifications
    used: list = []
    classes, skipped = load_classifications(data, used) if data else ({}, [])
    _echo_usage(used, err=True)
    for s in skipped:
        click.echo(f"warning: skipped {s}", err=True)
    return classes


@review.command("learn")
@review_store_options
@click.option("--data", multiple=True, type=click.Path(exists=True),
              help="Classification files or folders (the build's): word weights, and the matcher's scores of"
                   " codes reviewers taught that were not among an item's candidates. Repeatable.")
@click.option("--index", "indexes", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A coding index the build used (ESCO occupations_en.csv, past codings). Repeatable.")
@click.option("--embeddings/--no-embeddings", default=False, show_default=True,
              help="Compare titles by meaning too (crosswalk[embeddings]; vectors cached on disk).")
@click.option("--embedding-model", type=click.Choice(["e5", "use", "e5+use"]), default="e5", show_default=True)
@click.option("--reviewer", default="crosswalk", show_default=True, help="Recorded as the proposer.")
def review_learn(store_path, allow_network_fs, data, indexes, embeddings, embedding_model, reviewer):
    """Re-rank the items still waiting from the decisions reviewers confirmed (once): each
    confirmed item teaches the codes it went to, and an open item whose proposal or ranked
    candidates change gets new proposals (events of origin 'learning'). Decided items are
    never touched; running it again with no new decision writes nothing."""
    from .review.learning import learn_once
    classes = _load_data_option(data)
    ixs = api.read_indexes(indexes)
    res = learn_once(store_path, classes, ixs, embedding_model=embedding_model if embeddings else None,
                     allow_network_fs=allow_network_fs, reviewer=reviewer)
    for name, p in res.pairs.items():
        click.echo(f"{name}: {p['open']} items waiting, {p['confirmed']} confirmed decisions to learn from;"
                   f" {p['to_write']} re-ranked")
    click.echo(f"{res.changed} items re-ranked, {res.events} events written"
               + (f", {res.held} items held (changed meanwhile)" if res.held else "") + f" in {res.seconds:.1f} s")


@review.command("serve")
@review_store_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but the loopback requires the printed token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port (0: any free one).")
@click.option("--reviewer", default=None, help="Your name, recorded with every decision (default: the page asks).")
@click.option("--data", multiple=True, type=click.Path(exists=True),
              help="Classification files or folders: definitions, notes and hierarchy beside each link. Repeatable.")
@click.option("--learning/--no-learning", default=True, show_default=True,
              help="Each decision teaches the matcher; items still waiting are re-ranked in the background.")
@click.option("--index", "indexes", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A coding index (ESCO occupations, past codings) the re-ranking reads too. Repeatable.")
def review_serve(store_path, allow_network_fs, host, port, reviewer, data, learning, indexes):
    """Review item by item in the browser: a queue of items (free text by the data rows it
    covers, then the most uncertain), each with its ranked candidates and their definitions,
    one decision per item by keyboard (a accept the proposal, 2-9 pick a candidate, s split,
    x no correspondence, c type a code, n/p next/back, u undo); blind second review of links
    (/?mode=second), disagreements (/?mode=settle) and a summary by top groups (/summary).
    Without --data the classifications `review load` recorded are read for the context.
    With learning (the default) every decision teaches the matcher and the items still waiting
    are re-ranked within seconds in the background; items open on a reviewer's screen are left alone."""
    from .review.web import make_server
    try:
        classes = _load_data_option(data)
        server = make_server(store_path, host=host, port=port, reviewer=reviewer, classifications=classes,
                             allow_network_fs=allow_network_fs, learning=learning,
                             indexes=api.read_indexes(indexes))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None
    click.echo(f"review app for {store_path}: {server.url}")
    if server.token:
        click.echo("listening beyond this computer: every request must carry the token in this URL")
    click.echo("Ctrl+C stops it")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@cli.command("report")
@review_store_options
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The HTML file to write.")
@_lang_option
@click.option("--data", multiple=True, type=click.Path(exists=True),
              help="Classification files or folders: sections for coverage. Repeatable.")
def report_cmd(store_path, allow_network_fs, output, lang, data):
    """Write the review summary (items decided, score distribution, coverage by section,
    cardinality, reviewer progress, agreement) as one self-contained HTML file, and print the
    figures per scheme pair. Russian by default (--lang en for English)."""
    from .report import make_report, summary_lines
    classes = _load_data_option(data)
    with open_review_store(store_path, allow_network_fs) as store:
        path, data_ = make_report(store, output, lang=lang, classifications=classes)
    for line in summary_lines(data_, lang):
        click.echo(line)
    click.echo(("записано: " if lang == "ru" else "wrote ") + str(path))
