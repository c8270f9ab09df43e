"""Load every reference table several times; write reports/load.json.

Goal (issue 2): all reference tables load in under 3 s in total on the 2-core
machine. The median of total wall time over the repeats is quoted, with a baseline
measured in the same process: the bare parse of the same files (json / csv /
openpyxl / xlrd, no checks), so the ratio shows what validation costs.

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/load.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crosswalk.loaders import load  # noqa: E402

TABLES = [
    "isco08/ISCO-08 EN Structure and definitions.xlsx",
    "isco08_isco88/corrtab08-88.xls",
    "isco08_isco88/corrtab88-08.xls",
    "isic4/ISIC_Rev_4_english_structure.txt",
    "nace2/nace2_structure_en.csv",
    "nace2/nace2_isic4_concordance.csv",
    "okpdtr/trudvsem_profession_list.json",
    "okved2/rosstat_opendata_2023-12-01/data-20231201-structure-20180402.csv",
    "okved2/consultantplus_2016_with_notes/sorted.json",
    "okved2/consultantplus_2016_with_notes/data.json",
    "okz2014/okz_unit_group_labels_pdf_scrape.json",
]


def bare_parse(path: Path) -> None:
    """The baseline: parse the file with no checks at all."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        import openpyxl
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            list(ws.iter_rows(values_only=True))
    elif suffix == ".xls":
        import xlrd
        book = xlrd.open_workbook(str(path), formatting_info=True)
        for sh in book.sheets():
            [sh.row_values(r) for r in range(sh.nrows)]
    elif suffix == ".json":
        json.loads(path.read_bytes().decode("utf-8"))
    else:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1251")
        list(csv.reader(io.StringIO(text), delimiter=";" if text.count(";") > text.count(",") else ","))


def run_once(paths):
    items = 0
    t0 = time.perf_counter()
    for p in paths:
        result = load(p)
        items += len(result.data)
    return time.perf_counter() - t0, items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "reports" / "load.json"))
    args = ap.parse_args()
    root = Path(os.environ.get("CROSSWALK_REFERENCE_DATA", ROOT.parent / "shared" / "classifiers"))
    paths = [root / t for t in TABLES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        sys.exit(f"missing reference tables: {missing}")

    # warm-up: imports, pymorphy3 dictionaries, OS file cache (reported, not counted)
    first, _ = run_once(paths)
    for p in paths:
        bare_parse(p)
    ours, base, per_table = [], [], {t: [] for t in TABLES}
    items = 0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        for p in paths:
            bare_parse(p)
        base.append(time.perf_counter() - t0)
        total, items = run_once(paths)
        ours.append(total)
        for t, p in zip(TABLES, paths):
            t1 = time.perf_counter()
            load(p)
            per_table[t].append(time.perf_counter() - t1)
    report = {
        "tables": len(paths),
        "items": items,
        "seconds_median": round(statistics.median(ours), 3),
        "repeats": args.repeat,
        "seconds_all": [round(x, 3) for x in ours],
        "baseline_bare_parse_seconds_median": round(statistics.median(base), 3),
        "ratio_to_bare_parse": round(statistics.median(ours) / statistics.median(base), 2),
        "per_table_seconds_median": {t: round(statistics.median(v), 3) for t, v in per_table.items()},
        "goal": "all tables in < 3 s total",
        "goal_met": statistics.median(ours) < 3.0,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "first_run_seconds": round(first, 3),
        "note": "the first run (lazy imports, pymorphy3 dictionaries) is reported as first_run_seconds,"
                " not counted in the median",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: report[k] for k in ("tables", "items", "seconds_median",
                                             "baseline_bare_parse_seconds_median",
                                             "ratio_to_bare_parse")}))


if __name__ == "__main__":
    main()
