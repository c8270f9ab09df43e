"""Command line: each command parses options, calls one API function, formats output."""
from __future__ import annotations

import json
import sys

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


def _format_option(f):
    return click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                        show_default=True, help="json prints one object other tools can read.")(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
def inspect(file, scheme, fmt, sample, min_severity, max_problems):
    """Show what FILE holds: scheme, edition, counts per level, a sample and the problems."""
    try:
        info = api.inspect(file, scheme, sample=sample)
    except CrosswalkError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    _file_header(info)
    click.echo(f"  {info.get('scheme_name', '')}")
    for key, counts in info.get("also_loaded", {}).items():
        click.echo(f"  also carries {key}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    click.echo("  sample:")
    for row in info.get("sample", []):
        if "title" in row:
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
def validate(files, scheme, fmt, min_severity, max_problems):
    """Check FILES (or every data file in a folder) and report every problem found
    (file, sheet, row, column, value, rule).

    Exits with status 1 when any file has an error, 0 otherwise (warnings allowed).
    """
    result = api.validate(files, scheme)
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


def main():
    cli(prog_name="crosswalk")
