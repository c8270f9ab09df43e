"""The data side of the command line: `crosswalk code` (free-text titles → codes) and
`crosswalk apply` (data converted between classifications). Each command parses its options,
calls one API function and formats the result; :mod:`crosswalk.cli` holds the group, the shared
options and the error handling.
"""
from __future__ import annotations

import json
import sys

import click

from .cli import (_data_file_options, _echo_problems, _echo_usage, _embedder, _embedding_options, _format_option,
                  _stage_progress, _strict_option, cli, open_review_store)

# -- apply (crosswalk/apply.py, crosswalk/engines) ----------------------------------------
def _apply_progress():
    """A one-line progress display on a terminal (stderr), nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    import time
    state = {"last": 0.0}

    def show(stage: str, fraction: float) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - state["last"] < 0.2:
            return
        state["last"] = now
        click.echo(f"\r{stage}: {fraction * 100:5.1f}%", err=True, nl=fraction >= 1.0)
    return show


def _apply_weights(source, target, crosswalk_path, store_path, route, split, weights_path, sample_path,
                   sample_columns, allow_network_fs):
    from .apply import load_weights
    store = None
    if store_path:
        store = open_review_store(store_path, allow_network_fs)
    try:
        return load_weights(source_scheme=source, target_scheme=target, crosswalk=crosswalk_path, store=store,
                            route=route, split=split, user_weights=weights_path, sample=sample_path,
                            sample_columns=sample_columns)
    finally:
        if store is not None:
            store.close()


_METHOD_WORDS = {"links": "weights of the links", "equal": "split equally", "user": "user weights",
                 "estimated": "weights estimated from the sample"}


def _apply_totals(result) -> None:
    for v, t in result.totals.items():
        err = "unchecked" if t["rel_error"] is None else f"{t['rel_error']:.2g}"
        total_in = "?" if t["in"] is None else f"{t['in']:.15g}"
        click.echo(f"  {v}: in {total_in} = out {t['out']:.15g} + unmatched {t['unmatched']:.15g}"
                   f" (relative error {err})")
        if "written" in t:
            click.echo(f"    rounded as written: {t['written']:.15g} (rounding changed the total by"
                       f" {t['rounding']:.6g})")
    if result.by_key is not None:
        n, ok = len(result.by_key), int(result.by_key["conserved"].sum())
        click.echo(f"  per key ({', '.join(result.columns['keys'])}): {n} group(s), in = out + unmatched in {ok}")


def _counts_text(counts: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def _apply_log(data, written, result) -> None:
    """What `crosswalk apply` did, for the text output."""
    click.echo(f"{data} → {written[0]}: {result.rows} rows read, {len(result.data)} rows out (engine"
               f" {result.engine})")
    cols = result.columns
    click.echo(f"  keys: {', '.join(cols['keys']) or '(none)'}; values: {', '.join(cols['values'])}")
    for c, w in result.weights.items():
        links = result.links.get(c, {})
        click.echo(f"  {c} → {cols['codes'][c]}: {w.source_scheme}→{w.target_scheme}, {_METHOD_WORDS[w.method]};"
                   f" {len(w)} links ({_counts_text(links.get('all', {}))}), used by the data:"
                   f" {sum(links.get('used', {}).values())} ({_counts_text(links.get('used', {}))})")
    _apply_totals(result)
    rep = result.report
    if rep is not None and len(rep):
        values = cols["values"]
        click.echo(f"  unmatched: {len(rep)} code(s), {int(rep['rows'].sum())} row(s)"
                   + (f" → {written[1]}" if len(written) > 1 else " (write them with --unmatched FILE)"))
        for d in rep.head(10).to_dict("records"):
            code = d["code"] if len(d["code"]) <= 40 else d["code"][:40] + "…"
            click.echo(f"    {d['column']} {code or '(empty)'}: {d['reason']}, {d['rows']} row(s), "
                       + ", ".join(f"{v} {d[v]:.15g}" for v in values) + f" — {d['detail']}")
        if len(rep) > 10:
            click.echo(f"    (+{len(rep) - 10} more)")
    for r in result.repaired:
        click.echo(f"  repaired {r['column']} {r['code'][:40]!r} → {r['repaired_to']!r} in {r['rows']} row(s)")
    if result.rolled_up:
        n = sum(r["rows"] for r in result.rolled_up)
        click.echo(f"  {len(result.rolled_up)} finer code(s) counted in the code above them ({n} row(s))")
    for p in result.problems:
        if p.severity != "info":
            click.echo("  " + click.style(p.severity, fg="red" if p.severity == "error" else "yellow") + f": {p}")


@cli.command("code")
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--column", required=True, metavar="TITLE", help="The column holding the free-text titles.")
@click.option("--to", "to_scheme", required=True, metavar="SCHEME",
              help="The classification to code to: okz2014, okpdtr, isco08, okved2, isic4 …")
@click.option("--classifiers", multiple=True, type=click.Path(exists=True), default=("raw_classifiers",),
              show_default=True, envvar="CROSSWALK_CLASSIFIERS",
              help="Files or folders holding SCHEME (and its same-coded sibling, e.g. ISCO-08 for OKZ-2014,"
                   " used for English titles and definitions). Repeatable.")
@click.option("--level", metavar="N", help="The level coded to (a number or a name; default: unit groups,"
                                           " classes, titles).")
@click.option("--top", type=click.IntRange(min=1), default=3, show_default=True, help="Codes kept per row.")
@click.option("--min-score", type=click.FloatRange(0, 1), default=None,
              help="Titles whose best score is lower are marked review (and, with --store, proposed there)."
                   " Default: where a calibration against gold fits the run, `coded` means a measured"
                   " precision of at least 95 %; elsewhere a score of at least 0.5.")
@click.option("--store", "store_path", type=click.Path(dir_okay=False),
              help="A review store: titles to review are proposed there as pending links, and the codings"
                   " confirmed in it are learned from.")
@click.option("--allow-network-fs", is_flag=True, help="Open a store on a network file system.")
@click.option("--reviewer", default="crosswalk", show_default=True, help="Recorded as the proposer in the store.")
@_embedding_options
@click.option("--index", "indexes", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A coding index: titles already coded to SCHEME's codes (ESCO occupations_en.csv; a"
                   " CSV/xlsx of past codings with a title and a <scheme>_code column). Repeatable; indexes"
                   " among --classifiers are used too.")
@_data_file_options
@click.option("--workers", type=int, default=-1, show_default=True,
              help="Threads for the fuzzy title comparison (-1 = all cores; the output is the same).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The rows with their codes: .csv, .xlsx or .parquet.")
@click.option("--titles", "titles_path", type=click.Path(dir_okay=False),
              help="Also write one row per distinct title with the number of rows it covers.")
@_strict_option
@_format_option
def code_cmd(data, column, to_scheme, classifiers, level, top, min_score, store_path, allow_network_fs, reviewer,
             embeddings, embedding_model, indexes, sheet, delimiter, workers, output, titles_path, strict, fmt):
    """Code the free-text titles in a COLUMN of DATA (CSV in UTF-8 or cp1251 with any delimiter,
    xlsx, parquet) to a classification: each distinct title is matched once, and every row
    comes out with the top codes, titles, scores, evidence and a status (coded, review,
    confirmed, no_match, empty)."""
    from .code import code
    store = open_review_store(store_path, allow_network_fs, create=True) if store_path else None
    try:
        with _stage_progress() as progress:
            result = code(data, column=column, to=to_scheme, classifiers=classifiers, output=output,
                          titles_output=titles_path, level=level, limit=top, min_score=min_score,
                          embeddings=embeddings, store=store, reviewer=reviewer, sheet=sheet,
                          delimiter=delimiter, workers=workers, indexes=indexes, progress=progress,
                          embedder=_embedder(embeddings, embedding_model), strict=strict)
    finally:
        if store is not None:
            store.close()
    s = result.summary
    problems = [p.as_dict() for p in result.report.problems]
    failed = any(p["severity"] == "error" for p in problems)
    if fmt == "json":
        click.echo(json.dumps({**s, "output": output, "titles": titles_path, "problems": problems},
                              ensure_ascii=False, indent=2))
        sys.exit(1 if failed else 0)          # the same exit status as the text output
    click.echo(f"{data} → {output}: {s['rows']} rows, {s['distinct']} distinct titles coded to"
               f" {s['target']} ({s['level']})")
    click.echo("  classifications used:")
    _echo_usage(s.get("classifications", []), warn=False)     # the excerpt warning is among the problems
    rows, titles = s["rows_by_status"], s["titles_by_status"]
    click.echo("  " + ", ".join(f"{k.replace('_', ' ')} {rows[k]} rows ({titles[k]} titles)" for k in rows))
    if s["learned_from"]:
        click.echo(f"  learned from {s['learned_from']} confirmed coding(s)")
    if store_path:
        click.echo(f"  proposed to review in {store_path}: {s['proposed_to_review']} new link event(s)")
    elif titles["review"]:
        from .code import DEFAULT_MIN_SCORE
        calibrated = s["min_score"] is None and any(s["calibration"].values())
        plain = f"score below {DEFAULT_MIN_SCORE if s['min_score'] is None else s['min_score']}"
        rule = (plain if not calibrated else "are below 95 % calibrated precision"
                if all(s["calibration"].values()) else f"are below 95 % calibrated precision or {plain}")
        click.echo(f"  {titles['review']} titles {rule}: give --store FILE to review them")
    head = result.titles.head(5)
    if len(head):
        click.echo("  most frequent titles:")
        code_col, title_col = f"{s['target']}_code_1", f"{s['target']}_title_1"
        for r in head.itertuples(index=False):
            d = r._asdict()
            click.echo(f"    {d['rows']:>8}  {d['title'][:50]:<50}  {d[code_col] or '-':<8} {d[title_col][:50]}")
    if titles_path:
        click.echo(f"  distinct titles written to {titles_path}")
    _echo_problems(problems, "warning", 30)
    if failed:
        sys.exit(1)


@cli.command("apply")
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--from", "from_scheme", required=True, metavar="SCHEME", help="Scheme of the codes in DATA.")
@click.option("--to", "to_scheme", required=True, metavar="SCHEME", help="Scheme to convert to.")
@click.option("--code-column", required=True, metavar="C", help="The column holding the codes.")
@click.option("--value-column", "value_columns", multiple=True, metavar="V",
              help="A column of values to convert (repeatable; default: the columns holding numbers, except those"
                   " named like keys: year, region …). The other columns stay as keys.")
@click.option("--key-column", "key_columns", multiple=True, metavar="K",
              help="A column kept as a key: region, year, sex … (repeatable; default: every column that is neither"
                   " code nor value). Naming keys leaves the other columns out.")
@click.option("--code-level", metavar="LEVEL", help="The level the code column holds (a number or a name: class,"
                                                    " unit …; default: the level most rows have).")
@click.option("--second-code-level", metavar="LEVEL", help="The level the second code column holds.")
@click.option("--second-code-column", metavar="C2", help="A second code column (e.g. industry): a matrix in one pass.")
@click.option("--second-from", metavar="SCHEME", help="Scheme of the second code column.")
@click.option("--second-to", metavar="SCHEME", help="Scheme to convert the second code column to.")
@click.option("--crosswalk", "crosswalk_path", type=click.Path(exists=True, dir_okay=False),
              help="Links: a CSV with source_code,target_code[,weight] (mappings/*.csv, out/crosswalks/*.csv).")
@click.option("--second-crosswalk", type=click.Path(exists=True, dir_okay=False),
              help="Links of the second code column (default: --store, or --crosswalk).")
@click.option("--store", "store_path", type=click.Path(exists=True, dir_okay=False),
              help="Links: a review store — each item's confirmed links, else its proposal"
                   " (--confirmed-only refuses proposals).")
@click.option("--route", metavar="A,B,C", help="With --store: compose the links through pivot schemes.")
@click.option("--second-route", metavar="A,B,C", help="With --store: the route of the second code column.")
@click.option("--allow-network-fs", is_flag=True, help="Open a store on a network file system.")
@click.option("--weights", "weights_path", type=click.Path(exists=True, dir_okay=False),
              help="User weights: source_code,target_code,weight (replace the links' weights of those sources).")
@click.option("--second-weights", type=click.Path(exists=True, dir_okay=False),
              help="User weights of the second code column.")
@click.option("--sample", "sample_path", type=click.Path(exists=True, dir_okay=False),
              help="A double-coded sample: weights estimated as each pair's share of its source.")
@click.option("--sample-columns", metavar="S,T[,COUNT]",
              help="The sample's source, target (and count) columns (default: source_code/SCHEME,"
                   " target_code/SCHEME, count).")
@click.option("--split-equally", is_flag=True, help="Split sources with several targets and no weights equally"
                                                    " (otherwise they are refused).")
@click.option("--level", metavar="N", help="Aggregate the output to this level of the target hierarchy"
                                           " (a number or a name: minor, division …).")
@click.option("--target-classification", type=click.Path(exists=True, dir_okay=False),
              help="The target classification file (needed for --level; validates target codes).")
@click.option("--engine", type=click.Choice(["pandas", "duckdb", "spark"]), default="pandas", show_default=True)
@_data_file_options
@click.option("--no-repair", is_flag=True, help="Never repair codes damaged by Excel (lost leading zeros).")
@click.option("--round", "decimals", type=click.IntRange(0, 18), metavar="N",
              help="Round every output value to N decimals (half away from zero); the totals show what it changes.")
@click.option("--confirmed-only", is_flag=True,
              help="Refuse to run when a link the data uses is not confirmed by a reviewer or official.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The converted data: .csv, .xlsx or .parquet.")
@click.option("--unmatched", "unmatched_path", type=click.Path(dir_okay=False),
              help="Write the unmatched codes: column, code, reason, rows and totals (.csv/.xlsx/.parquet).")
@_format_option
def apply_cmd(data, from_scheme, to_scheme, code_column, value_columns, key_columns, code_level, second_code_level,
              second_code_column, second_from, second_to, crosswalk_path, second_crosswalk, store_path, route,
              second_route, allow_network_fs, weights_path, second_weights, sample_path, sample_columns,
              split_equally, level, target_classification, engine, sheet, delimiter, no_repair, decimals,
              confirmed_only, output, unmatched_path, fmt):
    """Convert DATA (CSV in UTF-8 or cp1251 with any delimiter, xlsx, parquet) from one
    classification to another: each value is split over the targets of its code by the
    crosswalk's weights and summed per target code and key (region, year …); output code
    columns are named by the target scheme. Prints the links used by status, the totals
    in/out/unmatched per value column and the unmatched codes with their reasons; exits 1
    when weights are missing for a 1:n code, a value cell is not a number or totals are not
    conserved — in text and json output alike."""
    from .apply import ConservationError, apply, write_result
    if (crosswalk_path is None) == (store_path is None):
        raise click.UsageError("give the links with exactly one of --crosswalk FILE or --store FILE")
    if second_code_column and not (second_from and second_to):
        raise click.UsageError("--second-code-column needs --second-from and --second-to")
    split = "equal" if split_equally else "refuse"
    cols = [c.strip() for c in sample_columns.split(",")] if sample_columns else None
    try:
        weights = _apply_weights(from_scheme, to_scheme, crosswalk_path, store_path, route, split, weights_path,
                                 sample_path, cols, allow_network_fs)
        second = None
        if second_code_column:
            second = _apply_weights(second_from, second_to, None if store_path and not second_crosswalk
                                    else (second_crosswalk or crosswalk_path), None if second_crosswalk
                                    else store_path, second_route, split, second_weights, None, None,
                                    allow_network_fs)
        target = None
        if target_classification:
            from .loaders import load
            target = load(target_classification).classification
        result = apply(data, from_scheme=from_scheme, to_scheme=to_scheme, code_column=code_column,
                       value_columns=list(value_columns) or None, key_columns=list(key_columns) or None,
                       weights=weights, second_code_column=second_code_column, second_weights=second,
                       level=level, target=target, engine=engine, repair_codes=not no_repair,
                       progress=_apply_progress(), sheet=sheet, delimiter=delimiter, decimals=decimals,
                       code_level=code_level, second_code_level=second_code_level, confirmed_only=confirmed_only)
    except ConservationError as exc:
        if fmt == "json":
            click.echo(json.dumps({"error": str(exc), **exc.result.as_dict()}, ensure_ascii=False, indent=2,
                                  default=str))
        else:
            click.echo(click.style("error", fg="red") + f": {exc}", err=True)
            _apply_totals(exc.result)
        sys.exit(1)
    written = write_result(result, output, unmatched_path=unmatched_path)
    errors = [p for p in result.problems if p.severity == "error"]
    if fmt == "json":
        click.echo(json.dumps({**result.as_dict(), "files": [str(p) for p in written]}, ensure_ascii=False,
                              indent=2, default=str))
    else:
        _apply_log(data, written, result)
        if errors:
            # the output is written (the cells counted as missing), but a value was not read: say so
            click.echo(f"{len(errors)} error(s): values that could not be read count as missing;"
                       " fix the input or accept the totals above", err=True)
    if errors:
        sys.exit(1)               # the same exit status whatever the output format
