"""Command line: each command parses options, calls one API function, formats output."""
from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import click

from . import api
from .errors import CrosswalkError
from .loaders import formats

_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


def _scheme_option(f):
    return click.option(
        "--scheme", "scheme", metavar="ID", default=None,
        help="Classification/format of the file(s), e.g. okved2 or okpdtr:portal-json "
             "(see `crosswalk formats`). Default: detected from the content.")(f)


def _embedding_options(f):
    """--embeddings and --embedding-model, as match and code take them."""
    f = click.option("--embedding-model", type=click.Choice(["e5", "use", "e5+use"]), default=None,
                     help="With embeddings: multilingual e5-small (default), Google's multilingual USE v3"
                          " (crosswalk[use]), or both (the mean of their cosines).")(f)
    return click.option("--embeddings/--no-embeddings", default=False, show_default=True,
                        help="Add the meaning-based signals: whole titles and word by word (needs"
                             " crosswalk[embeddings]; vectors cached on disk).")(f)


def _data_file_options(f):
    """--sheet and --delimiter: how to read a DATA table, as code and apply take it."""
    f = click.option("--delimiter", help="The delimiter of a CSV DATA (default: sniffed).")(f)
    return click.option("--sheet", help="The sheet of an xlsx DATA (default: the first visible one).")(f)


def _strict_option(f):
    return click.option("--strict", is_flag=True,
                        help="Reject rows a loader would keep with a warning about a checksum (OKPDTR rows"
                             " whose control number fails; by default they are kept under their valid code).")(f)


def _echo_usage(used: list, *, err: bool = False, warn: bool = True) -> None:
    """Which classification files a command uses, how many items each gave, and whether a
    file is only a bundled excerpt (said loudly: 52 codes are not OKZ)."""
    for u in used:
        role = f"{u['role']} " if u.get("role") else ""
        excerpt = click.style(" — a bundled EXCERPT, not the full classification", fg="yellow") if u.get("excerpt") else ""
        click.echo(f"  {role}{u['scheme']}: {u['file']} ({u['items']} items){excerpt}", err=err)
    if warn:
        _echo_excerpts(used, err=err)


def _echo_excerpts(used: list, *, err: bool = False) -> None:
    excerpts = [f"{u['scheme']} ({u['items']} codes)" for u in used if u.get("excerpt")]
    if excerpts:
        click.echo(click.style("  warning", fg="yellow") + f" {', '.join(excerpts)}: bundled EXCERPTS, not the full"
                   " classifications; give the full tables (--classifiers/--data FOLDER) for real work", err=err)


def _format_option(f):
    return click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                        show_default=True, help="json prints one object other tools can read.")(f)


def _lang_option(f):
    return click.option("--lang", type=click.Choice(["ru", "en"]), default="ru", show_default=True,
                        help="Language of what reviewers read: headers, drop-downs, names, dates.")(f)


class _Cli(click.Group):
    """Library errors (CrosswalkError) become click errors for every command and
    subcommand in one place: a clear message and exit status 1, never a traceback. Every
    command writes through :class:`~crosswalk.safety.TerminalStream`: control characters
    from data (an OSC escape sequence in a title) are printed escaped, never raw."""

    def main(self, *args, **kwargs):
        from .safety import TerminalStream
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = TerminalStream(out), TerminalStream(err)
        try:
            return super().main(*args, **kwargs)
        finally:
            sys.stdout, sys.stderr = out, err

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CrosswalkError as exc:
            raise click.ClickException(str(exc)) from None
        except sqlite3.Error as exc:   # the store maps its own; this catches a helper reading it directly
            from .review.storefile import store_error
            raise click.ClickException(str(store_error(exc, "the review store"))) from None
        except OSError as exc:   # a full disk, a read-only folder…: the file and the reason, no traceback
            if isinstance(exc, (BrokenPipeError, ConnectionError)) or exc.errno is None:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc} (the operating system refused; check"
                                       " the free space and the permissions of the folder)") from None


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="crosswalk")
def cli():
    """Build, review and apply correspondence tables between statistical classifications
    (OKPDTR, OKZ-2014, ISCO-08, OKVED2, NACE Rev.2, ISIC Rev.4)."""


def _where(p: dict) -> str:
    parts = []
    if p.get("sheet") is not None:
        parts.append(f"sheet {p['sheet']!r}")
    if p.get("row") is not None:
        parts.append(f"row {p['row']}")
    if p.get("column") is not None:
        parts.append(f"col {p['column']}")
    return ", ".join(parts)


def _echo_problems(problems: list[dict], min_severity: str, limit: int) -> None:
    shown = [p for p in problems if _SEVERITY_RANK[p["severity"]] <= _SEVERITY_RANK[min_severity]]
    shown.sort(key=lambda p: _SEVERITY_RANK[p["severity"]])  # stable: file order within a severity
    for p in shown[:limit] if limit else shown:
        where = _where(p)
        value = f"  value: {p['value']!r}" if p.get("value") not in (None, "") else ""
        color = {"error": "red", "warning": "yellow", "info": None}[p["severity"]]
        click.echo("  " + click.style(f"{p['severity']:<7}", fg=color) + f" {p['kind']:<22} "
                   + (f"{where}: " if where else "") + p["message"] + value)
    if limit and len(shown) > limit:
        click.echo(f"  … {len(shown) - limit} more (--max-problems 0 shows all; --format json gives every one)")


def _counts(problems: list[dict]) -> str:
    n = {s: sum(1 for p in problems if p["severity"] == s) for s in _SEVERITY_RANK}
    return f"{n['error']} errors, {n['warning']} warnings, {n['info']} notes"


def _kinds(problems: list[dict]) -> str:
    """'error: duplicate_code 2; warning: mixed_script 1' — kinds counted per severity."""
    parts = []
    for sev in _SEVERITY_RANK:
        by: dict[str, int] = {}
        for p in problems:
            if p["severity"] == sev:
                by[p["kind"]] = by.get(p["kind"], 0) + 1
        if by:
            parts.append(f"{sev}: " + ", ".join(f"{k} {n}" for k, n in sorted(by.items())))
    return "; ".join(parts)


def _file_header(f: dict) -> None:
    click.echo(click.style(f["path"], bold=True))
    click.echo(f"  scheme {f['scheme'] or '?'}"
               + (f", edition {f['edition']}" if f.get("edition") else "")
               + (f", encoding {f['encoding']}" if f.get("encoding") else ""))
    click.echo(f"  rows read {f['rows_read']} = loaded {f['rows_loaded']} + rejected {f['rows_rejected']}")
    if f["items_by_level"]:
        click.echo("  " + ", ".join(f"{k} {v}" for k, v in f["items_by_level"].items()))


_severity_option = click.option(
    "--show", "min_severity", type=click.Choice(["error", "warning", "info"]), default="warning",
    show_default=True, help="Lowest severity printed in text output.")
_limit_option = click.option("--max-problems", type=int, default=30, show_default=True,
                             help="Problems printed per file in text output (0 = all).")


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_scheme_option
@_format_option
@click.option("--sample", type=int, default=3, show_default=True, help="Items shown per level.")
@_severity_option
@_limit_option
@_strict_option
def inspect(file, scheme, fmt, sample, min_severity, max_problems, strict):
    """Show what FILE holds: scheme, edition, counts per level, a sample and the problems."""
    info = api.inspect(file, scheme, sample=sample, strict=strict)
    if fmt == "json":
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    _file_header(info)
    click.echo(f"  {info.get('scheme_name', '')}")
    for key, counts in info.get("also_loaded", {}).items():
        click.echo(f"  also carries {key}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    click.echo("  sample:")
    for row in info.get("sample", []):
        if "depth" not in row and "title" in row:      # a coding index: title → code
            click.echo(f"    {row['code']:<10} {row['title'][:90]}  ({row['source']})")
        elif "title" in row:
            click.echo(f"    {'  ' * row['depth']}{row['code']:<10} {row['title'][:90]}")
        else:
            click.echo(f"    {row['source']} → {row['target']}" + (" (partial)" if row["partial"] else ""))
    problems = info["problems"]
    click.echo(f"  problems: {_counts(problems)}" + (f" — {_kinds(problems)}" if problems else ""))
    _echo_problems(problems, min_severity, max_problems)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True))
@_scheme_option
@_format_option
@_severity_option
@_limit_option
@_strict_option
def validate(files, scheme, fmt, min_severity, max_problems, strict):
    """Check FILES (or every data file in a folder) and report every problem found
    (file, sheet, row, column, value, rule).

    Exits with status 1 when any file has an error, 0 otherwise (warnings allowed).
    """
    result = api.validate(files, scheme, strict=strict)
    if fmt == "json":
        click.echo(json.dumps({"files": result["files"]}, ensure_ascii=False, indent=2))
    else:
        for f in result["files"]:
            _file_header(f)
            click.echo(f"  {_counts(f['problems'])}" + (f" — {_kinds(f['problems'])}" if f["problems"] else ""))
            _echo_problems(f["problems"], min_severity, max_problems)
        bad = sum(1 for f in result["files"] if any(p["severity"] == "error" for p in f["problems"]))
        click.echo(f"{len(result['files'])} file(s) checked, {bad} with errors")
    sys.exit(0 if result["ok"] else 1)


@cli.command("formats")
def formats_cmd():
    """List the file layouts crosswalk reads (the values --scheme accepts)."""
    for fid, desc in formats().items():
        click.echo(f"{fid:<26} {desc}")


@cli.command("match")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.argument("target", type=click.Path(exists=True, dir_okay=False))
@click.option("--source-scheme", metavar="ID", help="Scheme/format of SOURCE (default: detected).")
@click.option("--target-scheme", metavar="ID", help="Scheme/format of TARGET (default: detected).")
@click.option("--context", "context", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A classification sharing TARGET's codes whose definitions describe its items"
                   " (e.g. the ISCO-08 workbook when TARGET is OKZ-2014). Repeatable.")
@click.option("--confirmed", type=click.Path(exists=True, dir_okay=False),
              help="Confirmed links to learn from (CSV with source_code,target_code, or a gold file).")
@_embedding_options
@click.option("--index", "indexes", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A coding index: titles already coded to TARGET's codes (ESCO occupations_en.csv;"
                   " a CSV/xlsx of past codings with a title and a <scheme>_code column). Repeatable.")
@click.option("--limit", type=click.IntRange(min=1), default=5, show_default=True,
              help="Candidates kept per source item.")
@click.option("--score-cutoff", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Drop candidates scoring below this.")
@click.option("--workers", type=int, default=1, show_default=True,
              help="Threads for the fuzzy title comparison (-1 = all cores).")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the candidates here (.csv or .json); default: CSV to standard output.")
@_strict_option
def match_cmd(source, target, source_scheme, target_scheme, context, confirmed, embeddings, embedding_model,
              indexes, limit, score_cutoff, workers, output, strict):
    """Propose, for every item of SOURCE, ranked candidate items of TARGET with a score in
    [0, 1] and the evidence (which signals fired and how strongly)."""
    from .candidates import write_candidates
    with _stage_progress() as stages:
        cset = api.match_files(source, target, source_scheme=source_scheme,
                               target_scheme=target_scheme, context=context, confirmed=confirmed,
                               embeddings=embeddings, limit=limit, score_cutoff=score_cutoff,
                               workers=workers, output=output, indexes=indexes, embedding_model=embedding_model,
                               progress=lambda d, t: stages("matching", d, t),
                               embed_progress=lambda what, d, t: stages(f"embedding {what}", d, t),
                               strict=strict, on_load=lambda u: _echo_usage([u], err=True))
    if output is None:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            path = write_candidates(Path(tmp) / "candidates.csv", cset)
            click.echo(path.read_text(encoding="utf-8"), nl=False)
    n_src = len({c.source for c in cset.candidates})
    click.echo(f"{len(cset.candidates)} candidates for {n_src} {cset.source_scheme} items"
               f" → {cset.target_scheme}" + (f"; written to {output}" if output else ""), err=True)


def _parse_ks(ctx, param, value: str) -> tuple[int, ...]:
    try:
        ks = tuple(sorted({int(v) for v in value.split(",") if v.strip()}))
    except ValueError:
        ks = ()
    if not ks or min(ks) < 1:
        raise click.BadParameter(f"{value!r}: give positive integers separated by commas, e.g. 1,3,5")
    return ks


def _measures_line(label: str, m: dict, ks) -> str:
    tops = "  ".join(f"top-{k} {m['top_k'][k]:.4f}" for k in ks)
    return f"  {label:<12} n {m['n']:>5}  {tops}  precision {m['precision']:.4f}  recall {m['recall']:.4f}"


@cli.command("evaluate")
@click.argument("predicted", type=click.Path(exists=True, dir_okay=False))
@click.argument("gold", type=click.Path(exists=True, dir_okay=False))
@click.option("--reverse", is_flag=True,
              help="Read GOLD the other way round, e.g. the ILO ISCO-08→ISCO-88 table as ISCO-88→ISCO-08.")
@click.option("--all-rows", is_flag=True,
              help="okpdtr_okz_dev.csv: use every row, not only those both coders agree on"
                   " (the other coder's code then also counts as correct).")
@click.option("--k", "ks", metavar="K,K,…", default="1,3,5", show_default=True, callback=_parse_ks,
              help="The k of top-k accuracy, comma-separated.")
@click.option("--min-score", type=click.FloatRange(0, 1), default=None,
              help="Count every candidate scoring at least this as a predicted pair"
                   " (default: the rank-1 candidate only).")
@click.option("--misses", "misses_path", type=click.Path(dir_okay=False),
              help="Write the gold items whose best candidate is wrong to this CSV (opens in Excel).")
@_format_option
def evaluate_cmd(predicted, gold, reverse, all_rows, ks, min_score, misses_path, fmt):
    """Measure the candidates in PREDICTED (written by `crosswalk match`) against GOLD.

    GOLD is an official correspondence (the ILO ISCO-08↔ISCO-88 .xls, the NACE Rev.2→ISIC
    Rev.4 concordance), okpdtr_okz_dev.csv, okved2_isic4_regrouped.csv, or a CSV with
    columns source_code,target_code. Prints top-k accuracy (share of gold items with a
    correct target among their first k candidates), precision and recall on pairs, and the
    same per level and per section.
    """
    from .candidates import read_candidates
    from .evaluate import evaluate, load_gold
    cset = read_candidates(predicted)
    g = load_gold(gold, source_scheme=cset.source_scheme, target_scheme=cset.target_scheme,
                  reverse=reverse, agreed_only=not all_rows)
    result = evaluate(cset, g, ks=ks, min_score=min_score)
    if misses_path:
        result.write_misses(misses_path)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"gold {g.name}: {g.source_scheme} → {g.target_scheme}, {result.n} items")
    click.echo(f"predicted pairs: {'score ≥ ' + str(min_score) if min_score is not None else 'rank 1'}")
    click.echo(_measures_line("all", {"n": result.n, "top_k": result.top_k, "precision": result.precision,
                                      "recall": result.recall}, ks))
    for title, groups in (("by level", result.by_level), ("by section", result.by_section)):
        click.echo(title + ":")
        for name, m in groups.items():
            click.echo(_measures_line(name, m, ks))
    click.echo(f"misses (top-1 wrong): {len(result.misses)}"
               + (f", written to {misses_path}" if misses_path else ""))


@cli.command("build")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="A build configuration (JSON) as written by --write-config.")
@click.option("--data", type=click.Path(exists=True, file_okay=False), default="raw_classifiers",
              show_default=True, help="Without --config: use every classifier file in this folder.")
@click.option("-o", "--output", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: the configuration's, else ./out).")
@click.option("--embeddings/--no-embeddings", default=None,
              help="Use the meaning signal (default: when crosswalk[embeddings] is installed).")
@click.option("--embedding-model", type=click.Choice(["e5", "use", "e5+use"]), default=None,
              help="With embeddings: multilingual e5-small (default), Google's multilingual USE v3"
                   " (crosswalk[use]), or both (the mean of their cosines).")
@click.option("--index", "indexes", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A coding index (ESCO occupations_en.csv, a CSV of past codings) for the pairs"
                   " whose target shares its codes. Repeatable; added to the configuration's.")
@click.option("--write-config", type=click.Path(dir_okay=False),
              help="Write the configuration to this file (refuses to overwrite) and stop.")
@click.option("--force", is_flag=True, help="With --write-config: overwrite an existing file.")
@click.option("--max-unmatched", type=click.FloatRange(0, 1), default=None,
              help="Fail when a route's share of unmatched items (rows with no code on one side) exceeds this.")
@_strict_option
def build_cmd(config_path, data, output, embeddings, embedding_model, indexes, write_config, force, max_unmatched,
              strict):
    """Load classifiers, match the configured pairs, compose crosswalks through pivot
    classifications, and write candidates, crosswalks and a summary to one folder."""
    from .settings import BuildConfig
    cfg = BuildConfig.load(config_path) if config_path else BuildConfig.discover(data)
    if output:
        cfg.output = output
    if embeddings is not None:
        cfg.embeddings = embeddings
    if max_unmatched is not None:
        cfg.max_unmatched = max_unmatched
    cfg.indexes = list(cfg.indexes) + [str(p) for p in indexes]
    if embedding_model:
        cfg.embedding_model = embedding_model
    if write_config:
        click.echo(f"configuration written to {cfg.save(write_config, overwrite=force)}")
        return
    with _stage_progress() as progress:
        result = api.build(cfg, progress=progress, strict=strict)
    _echo_build_summary(result)


def _echo_build_summary(result) -> None:
    s = result.summary
    click.echo(click.style(f"built into {result.output}/", bold=True)
               + f"  (embeddings {'on' if s['embeddings'] else 'off'})")
    rejected = s.get("rejected_rows", {})
    items = {u["scheme"]: u["items"] for u in s.get("classifications", [])}
    for scheme, path in s["files"].items():
        note = (f"  ({rejected[path]} rows rejected: run crosswalk validate)"
                if rejected.get(path) else "")
        count = f" ({items[scheme]} items)" if scheme in items else ""
        labels = sum(s.get("indexes", {}).get(scheme.removeprefix("index:"), {}).values())
        if labels:
            count = f" ({labels} labelled titles)"
        click.echo(f"  loaded {scheme:<14} {path}{count}{note}")
    for scheme, joined in s.get("combined", {}).items():
        for j in joined:
            added = j.get("codes_added", [])
            more = f"; codes it adds: {', '.join(added)}" if added else ""
            click.echo(f"  joined {scheme:<14} {j['file']}{more}")
    _echo_excerpts(s.get("classifications", []))
    for path in s["skipped_files"]:
        click.echo(f"  skipped {path}")
    for u in s.get("unused_files", []):
        click.echo(f"  not used {u['file']}: {u['reason']}")
    for name, c in s["candidates"].items():
        click.echo(click.style(f"candidates {name.replace('__', ' → ')}", bold=True)
                   + f": {c['candidates']} for {c['sources']} items; top:")
        for t in c["top"][:3]:
            click.echo(f"    {t['source']} {t['source_title'][:40]!s:<40} → {t['target']}"
                       f" {t['target_title'][:40]}  {t['score']:.2f}")
        p = s.get("pairs", {}).get(name)
        if p:
            regrouped = (f"; regrouped divisions {', '.join(p['regrouped_divisions'])}"
                         if p["regrouped_divisions"] else "")
            click.echo(f"    draft: {p['identity'] + p['descendant']} accepted by structure (same code),"
                       f" {p['proposed']} proposed, {p['review']} to review{regrouped}")
    for name, x in s["crosswalks"].items():
        rel = ", ".join(f"{k} {v}" for k, v in x["relations"].items())
        cov = x.get("coverage")
        ch = x["checks"]
        status = ", ".join(f"{k} {v}" for k, v in ch["by_status"].items())
        line = (f"crosswalk {name.replace('__', ' → ')}: {x['links']} links ({status}); groups {rel},"
                f" largest {ch['groups']['largest']} codes; to review {x['review']}")
        if cov:
            line += (f"; coverage {cov['source_linked']}/{cov['source_items']} source,"
                     f" {cov['target_linked']}/{cov['target_items']} target items")
        click.echo(line)


def _embedder(embeddings: bool, model):
    """The Embedder of the chosen model (None: the signals' default e5)."""
    if not embeddings or not model:
        return None
    from .embeddings import Embedder
    return Embedder(model=model)


class _stage_progress:
    """One progress bar per stage on a terminal; silent in pipes and CI logs."""

    def __init__(self):
        self.bars = {}

    def __enter__(self):
        return self

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = click.progressbar(length=total, label=stage, file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    def __exit__(self, *exc):
        for bar in self.bars.values():
            bar.__exit__(*exc)


_DIFF_SHOW = ("unchanged", "whitespace", "renamed", "moved", "split", "merged", "added", "deleted")


def _diff_load(path: str, scheme):
    from .loaders import load
    result = load(path, scheme)
    if result.report.errors:
        click.echo(f"warning: {path}: {len(result.report.errors)} error(s); the rejected rows are left"
                   " out (see `crosswalk validate`)", err=True)
    if result.kind != "classification":
        raise click.ClickException(f"{path} holds a {result.kind}, not a classification")
    return result.classification


def _diff_shown(change, show) -> bool:
    if change.kind == "unchanged" and change.detail.startswith("whitespace only"):
        return "whitespace" in show or "unchanged" in show
    return change.kind in show


def _diff_line(change) -> str:
    def one_line(text: str, n: int = 110) -> str:
        text = " ".join(text.split())
        return text if len(text) <= n else text[:n - 1] + "…"
    old, new = ", ".join(change.old), ", ".join(change.new)
    codes = f"{old} → {new}" if old and new and old != new else old or new
    t_old, t_new = one_line(change.old_title), one_line(change.new_title)
    titles = f"«{t_old}» → «{t_new}»" if t_old and t_new and t_old != t_new else f"«{t_old or t_new}»"
    return f"{change.kind:<9} {codes}: {titles}" + (f"\n{'':<9} {change.detail}" if change.detail else "")


@cli.command("diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False))
@click.argument("new", type=click.Path(exists=True, dir_okay=False))
@click.option("--old-scheme", metavar="ID", help="Scheme/format of OLD (default: detected).")
@click.option("--new-scheme", metavar="ID", help="Scheme/format of NEW (default: detected).")
@_format_option
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False),
              help="Write every change, unchanged codes included, to this CSV (opens in Excel).")
@click.option("--show", multiple=True, type=click.Choice(_DIFF_SHOW),
              help="Kind of change to list; repeatable. `whitespace`: unchanged codes whose titles"
                   " differ in whitespace only. Default: every kind except plain unchanged.")
def diff_cmd(old, new, old_scheme, new_scheme, fmt, csv_path, show):
    """Compare two editions OLD and NEW of one classification (e.g. OKVED2 2016 and 2023).

    \b
    Same code in both: unchanged (titles differ at most in whitespace: counted apart)
      or renamed (words differ; the detail says which, and the title similarity).
    Codes in one edition only, paired by their titles:
      moved    one old code ↔ one new code, title similarity ≥ 0.9, same level or branch
      split    one old code → ≥ 2 new codes beside it whose titles contain its words
      merged   ≥ 2 old codes → one new code (the mirror)
      added / deleted   the rest
    A level only one file has (sections in the 2023 CSV, none in the 2016 notes JSON) is
    left out of the comparison, and the output says so.
    """
    from .diff import CHANGE_KINDS, diff
    result = diff(_diff_load(old, old_scheme), _diff_load(new, new_scheme))
    if csv_path:
        result.write_csv(csv_path)
    shown = [c for c in result.changes
             if _diff_shown(c, show or [k for k in _DIFF_SHOW if k != "unchanged"])]
    if fmt == "json":
        out = result.as_dict()
        if show:
            out["changes"] = [c.as_dict() for c in shown]
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    click.echo(f"{result.scheme}: {result.old_edition or '?'} → {result.new_edition or '?'}")
    for level, n in result.ignored_levels.items():
        click.echo(f"left out: level {level} (old {n['old']}, new {n['new']} items) — only one edition has it")
    counts = result.counts()
    for kind in CHANGE_KINDS:
        extra = f" (whitespace only {len(result.whitespace_only)})" if kind == "unchanged" else ""
        click.echo(f"{kind:<9} {counts[kind]}{extra}")
    click.echo(f"codes only in new {len(result.codes_added)}, only in old {len(result.codes_deleted)}"
               + (f"; written to {csv_path}" if csv_path else ""))
    for c in shown:
        click.echo(_diff_line(c))


# -- review: the store of people's decisions (crosswalk/review) ---------------------------
REVIEW_STORE_DEFAULT = "crosswalk-review.sqlite"


def review_store_options(f):
    """--store FILE and --allow-network-fs, shared by every `review` command."""
    f = click.option("--allow-network-fs", is_flag=True,
                     help="Use a store on a network file system (rollback journal instead of WAL).")(f)
    return click.option("--store", "store_path", type=click.Path(dir_okay=False), default=REVIEW_STORE_DEFAULT,
                        show_default=True, help="The review store (an SQLite file).")(f)


def open_review_store(store_path: str, allow_network_fs: bool, *, create: bool = False):
    from .review import ReviewStore
    store = ReviewStore(store_path, create=create, allow_network_fs=allow_network_fs)
    if store.notice:
        click.echo(f"note: {store.notice}", err=True)
    return store


def _review_end(text: str) -> tuple[str, str]:
    scheme, sep, code = text.partition(":")
    if not sep or not scheme or not code:
        raise click.BadParameter(f"{text!r}: write SCHEME:CODE, e.g. okved2:62.01")
    return scheme, code


def _review_key(source: str, target: str):
    from .review import LinkKey
    (ss, sc), (ts, tc) = _review_end(source), _review_end(target)
    return LinkKey(ss, sc, ts, tc)


from . import cli_data, cli_review  # noqa: E402,F401  (register code, apply; review, export, report)


def main():
    cli(prog_name="crosswalk")
