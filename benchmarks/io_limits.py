"""Peak memory and time of the commands that read user files, on hostile and on large inputs
(issue 16: under 512 MiB for any input under 50 MB; a small hostile file refused in seconds).

Each case is generated into a temporary folder (nothing big is committed), then run as a
child process (`python -m crosswalk …`); its peak resident memory is the child's own
ru_maxrss (os.wait4), so numbers are per run. Writes a JSON report (refuses to overwrite one
unless --force):

    nice python benchmarks/io_limits.py --out reports/io_limits.json [--cases csv-*] [--force]
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MiB = 2**20
SEED = 16
NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


# -- inputs ----------------------------------------------------------------------------------
def _xlsx_parts(shared: bool) -> dict[str, bytes]:
    ct = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          b'<Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType'
          b'="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
          b'worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
          b'worksheet+xml"/>' + (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
                                 b'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>' if shared else b"")
          + b'</Types>')
    rels = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            b'officeDocument" Target="xl/workbook.xml"/></Relationships>')
    wb = (b'<?xml version="1.0"?><workbook ' + NS + b' xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
          b'2006/relationships"><sheets><sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>')
    wrels = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
             b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
             b'relationships/worksheet" Target="worksheets/sheet1.xml"/>' + (
                 b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                 b'sharedStrings" Target="sharedStrings.xml"/>' if shared else b"") + b'</Relationships>')
    return {"[Content_Types].xml": ct, "_rels/.rels": rels, "xl/workbook.xml": wb, "xl/_rels/workbook.xml.rels": wrels}


def xlsx_shared_string(path: Path, megabytes: int) -> Path:
    """An xlsx whose second shared string is ``megabytes`` MB of one letter (0.4 MB for 400)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in _xlsx_parts(True).items():
            z.writestr(name, data)
        z.writestr("xl/worksheets/sheet1.xml", b'<?xml version="1.0"?><worksheet ' + NS + b'><sheetData><row r="1">'
                   b'<c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="2"><c r="A2" t="inlineStr">'
                   b'<is><t>0110</t></is></c><c r="B2" t="s"><v>1</v></c></row></sheetData></worksheet>')
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0"?><sst ' + NS + b'><si><t>code</t></si><si><t>')
            chunk = b"a" * MiB
            for _ in range(megabytes):
                fh.write(chunk)
            fh.write(b"</t></si></sst>")
    return path


def xlsx_spaces(path: Path, megabytes: int) -> Path:
    """An xlsx whose sheet holds ``megabytes`` MB of spaces between two rows."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in _xlsx_parts(False).items():
            z.writestr(name, data)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0"?><worksheet ' + NS + b'><sheetData><row r="1"><c r="A1" t="inlineStr">'
                     b'<is><t>code</t></is></c></row>')
            chunk = b" " * MiB
            for _ in range(megabytes):
                fh.write(chunk)
            fh.write(b'</sheetData></worksheet>')
    return path


def csv_one_line(path: Path, megabytes: int) -> Path:
    with open(path, "wb") as fh:
        fh.write(b"code;value\n0110;")
        chunk = b"9" * MiB
        for _ in range(megabytes):
            fh.write(chunk)
        fh.write(b"\n")
    return path


def json_nested(path: Path, depth: int) -> Path:
    path.write_text("[" * depth + "]" * depth, encoding="utf-8")
    return path


def csv_rows(path: Path, rows: int) -> Path:
    """A genuine data file near 50 MB: code, free-text title, region, value."""
    import random
    rnd = random.Random(SEED)
    words = ["Слесарь", "ремонтник", "оператор", "станков", "инженер", "программист", "водитель", "автомобиля"]
    titles = [" ".join(rnd.choice(words) for _ in range(3)) for _ in range(500)]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("okpdtr;title;region;employment\n")
        for i in range(rows):
            fh.write(f"{rnd.randint(10000, 29999)};{titles[i % 500]};R{i % 85 + 1};{rnd.randint(1, 999)},{i % 10}\n")
    return path


def xlsx_rows(path: Path, rows: int) -> Path:
    import openpyxl
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.append(["okpdtr", "title", "region", "employment"])
    for i in range(rows):
        ws.append([f"{10000 + i % 20000}", f"Профессия {i % 500}", f"R{i % 85 + 1}", float(i % 997)])
    wb.save(path)
    return path


# -- runs ------------------------------------------------------------------------------------
def measured(args: list[str], cwd: Path) -> dict:
    """Run one command as a child; its own peak RSS comes from wait4 (not the children's maximum)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "crosswalk", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = (out + err).decode("utf-8", "replace")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    said = next((ln for ln in lines if "limit " in ln or "refused" in ln or "damaged" in ln), lines[-1] if lines else "")
    return {"command": " ".join(a if " " not in a else repr(a) for a in args), "exit": proc.returncode,
            "seconds": round(time.perf_counter() - t0, 2), "peak_mb": round(usage.ru_maxrss / 1024, 1),
            "output_chars": len(text), "said": said[:400]}


CROSSWALK = "source_code,target_code,weight\n0110,0110,1\n"


def cases(tmp: Path) -> dict:
    """name -> (input builder, list of argument lists)."""
    cw = tmp / "cw.csv"
    cw.write_text(CROSSWALK, encoding="utf-8")

    def apply(p, code="code", value="value"):
        return ["apply", str(p), "--from", "okz2014", "--to", "isco08", "--code-column", code, "--value-column",
                value, "--crosswalk", str(cw), "-o", str(tmp / "out.csv")]

    def code(p, column="code"):
        return ["code", str(p), "--column", column, "--to", "okz2014", "--classifiers", str(ROOT / "raw_classifiers"),
                "-o", str(tmp / "coded.csv")]

    return {
        "xlsx-shared-string-400mb": (lambda: xlsx_shared_string(tmp / "ss400.xlsx", 400),
                                     lambda p: [["validate", str(p)], code(p), apply(p, value="title")]),
        "xlsx-shared-string-2gb": (lambda: xlsx_shared_string(tmp / "ss2g.xlsx", 2048),
                                   lambda p: [["validate", str(p)]]),
        "xlsx-spaces-1gb": (lambda: xlsx_spaces(tmp / "spaces.xlsx", 1024),
                            lambda p: [["validate", str(p)], code(p)]),
        "csv-one-line-200mb": (lambda: csv_one_line(tmp / "line.csv", 200),
                               lambda p: [["validate", str(p)], code(p), apply(p)]),
        "json-nested-10kb": (lambda: json_nested(tmp / "nested.json", 5000),
                             lambda p: [["validate", str(p)], ["validate", str(p), "--scheme", "okz2014"]]),
        "csv-data-45mb": (lambda: csv_rows(tmp / "big.csv", 650_000),
                          lambda p: [apply(p, code="okpdtr", value="employment"), code(p, column="title")]),
        "xlsx-data-300k-rows": (lambda: xlsx_rows(tmp / "big.xlsx", 300_000),
                                lambda p: [apply(p, code="okpdtr", value="employment"), code(p, column="title")]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="the JSON report to write")
    ap.add_argument("--cases", default="*", help="comma-separated name patterns, e.g. 'csv-*,json-*'")
    ap.add_argument("--force", action="store_true", help="overwrite an existing report")
    args = ap.parse_args()
    if args.out.exists() and not args.force:
        sys.exit(f"{args.out} exists; pass --force to overwrite it")
    patterns = [p.strip() for p in args.cases.split(",") if p.strip()]
    report = {"goal": "peak < 512 MiB for any input under 50 MB; small hostile files refused in seconds",
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count()}, "cases": {}}
    with tempfile.TemporaryDirectory(prefix="cw-io-limits-") as tmp:
        tmp = Path(tmp)
        for name, (build, commands) in cases(tmp).items():
            if not any(fnmatch.fnmatch(name, p) for p in patterns):
                continue
            print(f"{name}: generating…", file=sys.stderr, flush=True)
            path = build()
            entry = {"file_mb": round(path.stat().st_size / MiB, 2), "runs": []}
            for argv in commands(path):
                print(f"  {argv[0]} …", file=sys.stderr, flush=True)
                res = measured(argv, tmp)
                res["command"] = res["command"].replace(str(tmp), "$TMP").replace(str(ROOT), "$REPO")
                res["said"] = res["said"].replace(str(tmp), "$TMP")
                entry["runs"].append(res)
                print(f"    exit {res['exit']}, {res['seconds']} s, {res['peak_mb']} MB", file=sys.stderr)
            path.unlink()
            report["cases"][name] = entry
    runs = [r for c in report["cases"].values() for r in c["runs"]]
    small = [r for c in report["cases"].values() if c["file_mb"] < 50 for r in c["runs"]]
    report["max_peak_mb"] = max((r["peak_mb"] for r in runs), default=None)
    report["max_peak_mb_inputs_under_50mb"] = max((r["peak_mb"] for r in small), default=None)
    report["max_seconds"] = max((r["seconds"] for r in runs), default=None)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
