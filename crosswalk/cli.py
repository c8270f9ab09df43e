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
@click.option("--embeddings/--no-embeddings", default=False, show_default=True,
              help="Add the meaning-based signals: whole titles and word by word (needs"
                   " crosswalk[embeddings]; vectors cached on disk).")
@click.option("--embedding-model", type=click.Choice(["e5", "use", "e5+use"]), default=None,
              help="With embeddings: multilingual e5-small (default), Google's multilingual USE v3"
                   " (crosswalk[use]), or both (the mean of their cosines).")
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
        click.echo(f"  loaded {scheme:<14} {path}{count}{note}")
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
def export_cmd(out_dir, store_path, allow_network_fs, all_links, formats, pairs, data, mappings_dir, base_uri,
               routes, max_unmatched):
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
                        max_unmatched=max_unmatched)
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
@click.option("--embeddings/--no-embeddings", default=False, show_default=True,
              help="Add the meaning-based signals: whole titles and word by word (needs"
                   " crosswalk[embeddings]; vectors cached on disk).")
@click.option("--embedding-model", type=click.Choice(["e5", "use", "e5+use"]), default=None,
              help="With embeddings: multilingual e5-small (default), Google's multilingual USE v3"
                   " (crosswalk[use]), or both (the mean of their cosines).")
@click.option("--index", "indexes", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A coding index: titles already coded to SCHEME's codes (ESCO occupations_en.csv; a"
                   " CSV/xlsx of past codings with a title and a <scheme>_code column). Repeatable; indexes"
                   " among --classifiers are used too.")
@click.option("--sheet", help="The sheet of an xlsx DATA (default: the first visible one).")
@click.option("--delimiter", help="The delimiter of a CSV DATA (default: sniffed).")
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
@click.option("--sheet", help="The sheet of an xlsx DATA (default: the first visible one).")
@click.option("--delimiter", help="The delimiter of a CSV DATA (default: sniffed).")
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


def main():
    cli(prog_name="crosswalk")
