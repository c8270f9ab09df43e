"""Speed and memory of `crosswalk apply` engines, written to a JSON report (run by hand).

    CROSSWALK_REFERENCE_DATA=../shared/classifiers python benchmarks/apply.py --out reports/apply.json [--force]
        [--rows 10000000] [--no-spark]

Goal (issue 6): 10 million rows converted through a real n:m crosswalk in under 10 s with
peak memory under 2 GB on the 2-core machine, by the DuckDB engine streaming a parquet file.
Since issue 16 every engine reads each value by the one reader of numbers (exact decimals,
sums as DECIMAL(38, 18)) and the conversion after the sums is shared Python: the engines must
give the same output to the last digit, and in = out + unmatched exactly.

* The crosswalk: OKVED2 → ISIC Rev.4 through NACE Rev.2, built as `crosswalk build` does
  (OKVED2 matched to NACE with the core signals, the official NACE→ISIC concordance, the
  first 3 candidates of items to review kept with split weights; composed by
  CrosswalkGraph.compose, each source's weights summing to 1).
* The data (seeded): ``rows`` rows of an OKVED2 class code drawn from the real
  classification (0.1 % get a code the crosswalk lacks: they go to ``unmatched``) and two
  float64 values — ``output`` at full double precision (17 significant digits: the costly
  case of the exact reader), ``employment`` with one decimal — written to a temporary
  parquet file; a second file has ``output`` rounded to 2 decimals (as statistics publish it).
* Every conversion (``crosswalk.apply.convert_frame``: scan + the shared exact conversion)
  runs in a child process: its time and its peak resident memory (VmHWM from /proc: Python,
  pandas and DuckDB native together). In the same child a bare DuckDB float sum by code of
  the same file is timed first (``bare_seconds``): the ratio to it is what the exact reader
  costs, whatever else the machine is doing. The pandas engine gets the same rows loaded in
  memory (load time apart); Spark (local[2]) reads the parquet file once, for the record.
* Conservation: exact in the tool (``rel_error`` 0); here also |Σ generated doubles −
  (out + unmatched)| / |in| by math.fsum (the doubles read as their shortest decimals).
* The output refuses to overwrite an existing report unless ``--force``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = 20261122
VALUES = ["output", "employment"]
CODE = "okved2"
UNMATCHED_SHARE = 0.001
UNKNOWN_CODES = ["00.00", "99.99", "1.11"]      # not OKVED2 classes (the last: Excel-damaged 01.11)


def crosswalk_okved2_isic4(root: Path):
    """(weights DataFrame source/target/weight, details, OKVED2 class codes)."""
    import pandas as pd

    from crosswalk import load
    from crosswalk.build import draft_links
    from crosswalk.graph import CrosswalkGraph
    from crosswalk.match import match
    t0 = time.perf_counter()
    okved = load(root / "okved2/rosstat_opendata_2023-12-01/data-20231201-structure-20180402.csv").classification
    nace = load(root / "nace2/nace2_structure_en.csv").classification
    conc = load(root / "nace2/nace2_isic4_concordance.csv").correspondence
    cset = match(okved, nace, embeddings=False, limit=5)
    graph = CrosswalkGraph()
    graph.add_correspondence(conc)
    graph.add_links(draft_links(cset, okved, nace, 0.95)[0])
    links = graph.compose(["okved2", "nace2", "isic4"])
    weights = pd.DataFrame({"source": [ln.source for ln in links], "target": [ln.target for ln in links],
                            "weight": [float(ln.weight) for ln in links]})
    weights = weights.groupby(["source", "target"], as_index=False)["weight"].sum()
    weights = weights.sort_values(["source", "target"]).reset_index(drop=True)
    sums = weights.groupby("source")["weight"].apply(math.fsum)
    assert (sums - 1.0).abs().max() <= 1e-9
    per_source = weights.groupby("source").size()
    classes = sorted(it.code for it in okved.by_level("class"))
    in_data = weights[weights["source"].isin(classes)]
    details = {"route": "okved2 → nace2 → isic4", "links": len(weights), "sources": int(weights["source"].nunique()),
               "targets": int(weights["target"].nunique()), "relations": graph.relation_counts(links),
               "sources_split_over_several_targets": int((per_source > 1).sum()),
               "max_targets_per_source": int(per_source.max()),
               "okved2_classes_in_data": len(classes),
               "data_codes_split_over_several_targets": int((in_data.groupby("source").size() > 1).sum()),
               "build_seconds": round(time.perf_counter() - t0, 2)}
    return weights, details, classes


def generate(path: Path, rows: int, classes: list[str]) -> dict[str, float]:
    """Seeded rows written to parquet by DuckDB; the input totals (math.fsum)."""
    import duckdb
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(SEED)
    codes = classes + UNKNOWN_CODES
    # skewed like real data: a few big activities, a long tail
    p = rng.pareto(1.2, len(classes)) + 0.05
    p = np.concatenate([p / p.sum() * (1 - UNMATCHED_SHARE), np.full(len(UNKNOWN_CODES), UNMATCHED_SHARE / len(UNKNOWN_CODES))])
    idx = rng.choice(len(codes), size=rows, p=p / p.sum()).astype(np.int32)
    output = rng.lognormal(8.0, 1.5, rows)
    employment = np.round(rng.lognormal(2.0, 1.0, rows), 1)
    totals = {"output": math.fsum(output), "employment": math.fsum(employment)}
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.register("codes", pd.DataFrame({"i": np.arange(len(codes), dtype=np.int32), CODE: codes}))
    con.register("gen", pd.DataFrame({"i": idx, "output": output, "employment": employment}))
    con.execute(f"COPY (SELECT c.{CODE}, g.output, g.employment FROM gen g JOIN codes c USING (i)) "
                f"TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)")
    con.close()
    return totals


# -- child process: one conversion, timed, with its peak memory ------------------------
def child(engine: str, data: str, weights_path: str, out_prefix: str) -> None:
    import duckdb
    import pandas as pd

    from crosswalk.apply import Weights, convert_frame
    weights = pd.read_csv(weights_path, dtype={"source": str, "target": str, "weight": "float64"},
                          keep_default_na=False)
    w = Weights("okved2", "isic4", weights, "links")
    report: dict = {}
    parquet = data if data.endswith(".parquet") else None
    if parquet:                                   # the floor: DuckDB's own float sum by code
        con = duckdb.connect()
        con.execute("SET threads = 2")
        t0 = time.perf_counter()
        con.execute(f"SELECT {CODE}, sum(output), sum(employment) FROM read_parquet('{parquet}') GROUP BY {CODE}"
                    ).fetchall()
        report["bare_seconds"] = time.perf_counter() - t0
        con.close()
    options: dict = {}
    if engine == "pandas":
        t0 = time.perf_counter()
        src = duckdb.connect().execute(f"SELECT * FROM read_parquet('{data}')").df()
        report["load_seconds"] = time.perf_counter() - t0
    elif engine == "spark":
        from crosswalk.engines import spark_engine
        t0 = time.perf_counter()
        session = spark_engine.start_session("local[2]", {"spark.driver.memory": "2g"})
        report["session_start_seconds"] = time.perf_counter() - t0
        options["session"] = session
        src = data
    else:
        options["threads"] = 2
        src = data
    t0 = time.perf_counter()
    result = convert_frame(src, {CODE: w}, value_columns=VALUES, engine=engine, **options)
    report["seconds"] = time.perf_counter() - t0
    if engine == "spark":
        session.stop()
    report["peak_mb"] = peak_mb()
    report["rel_error"] = result.max_rel_error
    report["conserved"] = result.conserved
    report["problems"] = sorted({p.kind for p in result.problems if p.severity != "info"})
    result.data.to_csv(out_prefix + ".data.csv", index=False)
    result.report.to_csv(out_prefix + ".unmatched.csv", index=False)
    print(json.dumps(report))


def peak_mb() -> float:
    """This process's peak resident memory in MiB: VmHWM, the high-water mark of its own
    address space. (ru_maxrss of a child started by fork+exec also counts the parent's
    resident size at the fork, which Linux carries over the exec.)"""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024    # KiB on Linux


def run_child(engine: str, data: Path, weights_path: Path, out_prefix: Path, timeout: int = 600) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", engine, str(data), str(weights_path), str(out_prefix)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if proc.returncode:
        raise RuntimeError(f"{engine} child failed:\n{proc.stderr[-3000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report["process_seconds"] = time.perf_counter() - t0          # with interpreter start and imports
    return report


OUT = "isic4"


def read_result(prefix: Path):
    import pandas as pd
    data = pd.read_csv(str(prefix) + ".data.csv", dtype={OUT: str}, keep_default_na=False)
    unmatched = pd.read_csv(str(prefix) + ".unmatched.csv", dtype={"code": str}, keep_default_na=False)
    return data, unmatched


def conservation(totals: dict, data, unmatched) -> float:
    errs = []
    for v in VALUES:
        out = math.fsum(data[v]) + math.fsum(unmatched[v])
        errs.append(abs(totals[v] - out) / abs(totals[v]))
    return max(errs)


def same(a, b) -> bool:
    """The same output to the last digit (as written: codes, and values in full precision)."""
    return a[0].equals(b[0]) and a[1].equals(b[1])


def file_totals(path: Path) -> dict[str, float]:
    """The math.fsum of each value column of a parquet file (its doubles)."""
    import duckdb
    con = duckdb.connect()
    cols = con.execute(f"SELECT {', '.join(VALUES)} FROM read_parquet('{path}')").fetchnumpy()
    con.close()
    return {v: math.fsum(cols[v]) for v in VALUES}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pandas-repeat", type=int, default=3)
    ap.add_argument("--no-spark", action="store_true", help="skip the single Spark run")
    ap.add_argument("--out", required=True, help="the JSON report to write (e.g. reports/apply.json)")
    ap.add_argument("--force", action="store_true", help="overwrite an existing report")
    args = ap.parse_args()
    if Path(args.out).exists() and not args.force:
        sys.exit(f"{args.out} exists: give another --out, or --force to overwrite it")
    root = Path(os.environ.get("CROSSWALK_REFERENCE_DATA", ROOT.parent / "shared" / "classifiers"))
    import duckdb
    t_start = time.perf_counter()

    weights, xw, classes = crosswalk_okved2_isic4(root)
    print(f"crosswalk: {xw['links']} links, relations {xw['relations']}", flush=True)
    runs: dict[str, list[dict]] = {"duckdb": [], "duckdb_2dp": [], "pandas": [], "spark": [], "duckdb_csv": []}
    results = {}
    with tempfile.TemporaryDirectory(prefix="crosswalk-bench-") as tmp:
        tmp = Path(tmp)
        parquet, wpath = tmp / "data.parquet", tmp / "weights.csv"
        weights.to_csv(wpath, index=False)
        t0 = time.perf_counter()
        totals = generate(parquet, args.rows, classes)
        gen_seconds = time.perf_counter() - t0
        print(f"data: {args.rows} rows, {parquet.stat().st_size / 2**20:.0f} MiB parquet, {gen_seconds:.1f} s",
              flush=True)
        # the same rows with output rounded to 2 decimals, as statistics publish it
        rounded = tmp / "data_2dp.parquet"
        con = duckdb.connect()
        con.execute(f"COPY (SELECT {CODE}, round(output, 2) AS output, employment FROM read_parquet('{parquet}'))"
                    f" TO '{rounded}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)")
        con.close()
        totals_2dp = file_totals(rounded)

        for k in range(args.repeat):
            runs["duckdb"].append(run_child("duckdb", parquet, wpath, tmp / "duckdb"))
            print(f"duckdb run {k + 1}: {runs['duckdb'][-1]}", flush=True)
        results["duckdb"] = read_result(tmp / "duckdb")
        for k in range(args.repeat):
            runs["duckdb_2dp"].append(run_child("duckdb", rounded, wpath, tmp / "duckdb_2dp"))
            print(f"duckdb 2-decimal run {k + 1}: {runs['duckdb_2dp'][-1]}", flush=True)
        results["duckdb_2dp"] = read_result(tmp / "duckdb_2dp")
        for k in range(args.pandas_repeat):
            runs["pandas"].append(run_child("pandas", parquet, wpath, tmp / "pandas"))
            print(f"pandas run {k + 1}: {runs['pandas'][-1]}", flush=True)
            if runs["pandas"][-1]["seconds"] > 60:       # slow: fewer runs keep the benchmark short
                break
        results["pandas"] = read_result(tmp / "pandas")
        # the same rows as a ';'-delimited CSV (codes as text), streamed once by DuckDB
        csv_path = tmp / "data.csv"
        con = duckdb.connect()
        con.execute(f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{csv_path}' (HEADER, DELIMITER ';')")
        con.close()
        csv_mb = csv_path.stat().st_size / 2**20
        runs["duckdb_csv"] = [run_child("duckdb", csv_path, wpath, tmp / "duckdb_csv")]
        print(f"duckdb csv run: {runs['duckdb_csv'][-1]}", flush=True)
        results["duckdb_csv"] = read_result(tmp / "duckdb_csv")
        csv_path.unlink()
        if not args.no_spark:
            try:
                runs["spark"].append(run_child("spark", parquet, wpath, tmp / "spark"))
                print(f"spark run: {runs['spark'][-1]}", flush=True)
                results["spark"] = read_result(tmp / "spark")
            except Exception as exc:                    # no Java or no pyspark: recorded, not fatal
                runs["spark"] = [{"error": str(exc)[-500:]}]
        parquet_mb = parquet.stat().st_size / 2**20

    med = lambda name, key="seconds": round(statistics.median(r[key] for r in runs[name]), 3)
    ratio = lambda name: round(statistics.median(r["seconds"] / r["bare_seconds"] for r in runs[name]), 1)
    d_data, d_un = results["duckdb"]
    full = {k: v for k, v in results.items() if k != "duckdb_2dp"}
    report = {
        "rows": args.rows,
        "duckdb_seconds_median": med("duckdb"),
        "duckdb_2dp_seconds_median": med("duckdb_2dp"),
        "pandas_seconds_median": med("pandas"),
        "duckdb_peak_mb": round(max(r["peak_mb"] for r in runs["duckdb"] + runs["duckdb_2dp"]), 1),
        "duckdb_to_bare_float_sum_ratio": ratio("duckdb"),
        "duckdb_2dp_to_bare_float_sum_ratio": ratio("duckdb_2dp"),
        "engines_identical": all(same(res, results["duckdb"]) for res in full.values()),
        "rel_error_in_tool": max(r["rel_error"] for rs in runs.values() for r in rs if "rel_error" in r),
        "max_conservation_rel_error": max([conservation(totals, *res) for res in full.values()]
                                          + [conservation(totals_2dp, *results["duckdb_2dp"])]),
        "goal": "10M rows through a real n:m crosswalk in < 10 s with peak memory < 2 GB (DuckDB, parquet streamed)",
    }
    report["goal_met"] = report["duckdb_seconds_median"] < 10 and report["duckdb_peak_mb"] < 2048
    report["pandas_to_duckdb_ratio"] = round(report["pandas_seconds_median"] / report["duckdb_seconds_median"], 2)
    report["details"] = {
        "crosswalk": xw,
        "data": {"code_column": CODE, "value_columns": VALUES, "distinct_codes": len(classes) + len(UNKNOWN_CODES),
                 "unmatched_row_share": UNMATCHED_SHARE, "unknown_codes": UNKNOWN_CODES, "seed": SEED,
                 "values": "output: lognormal doubles at full precision (17 significant digits); employment: one"
                           " decimal; the 2dp file has output rounded to 2 decimals",
                 "parquet_mb": round(parquet_mb, 1), "generate_seconds": round(gen_seconds, 2),
                 "output_rows": len(d_data), "unmatched_rows": len(d_un)},
        "duckdb": {"input": "parquet file, streamed", "memory_limit": "1GB", "threads": 2,
                   "seconds_all": [round(r["seconds"], 3) for r in runs["duckdb"]],
                   "bare_float_sum_seconds_all": [round(r["bare_seconds"], 3) for r in runs["duckdb"]],
                   "peak_mb_all": [round(r["peak_mb"], 1) for r in runs["duckdb"]],
                   "peak_measure": "VmHWM of the child process running the conversion (Python, pandas, DuckDB native)",
                   "process_seconds_all": [round(r["process_seconds"], 3) for r in runs["duckdb"]],
                   "conservation_rel_error": conservation(totals, *results["duckdb"])},
        "duckdb_2dp": {"input": "the same rows, output rounded to 2 decimals, parquet streamed",
                       "seconds_all": [round(r["seconds"], 3) for r in runs["duckdb_2dp"]],
                       "bare_float_sum_seconds_all": [round(r["bare_seconds"], 3) for r in runs["duckdb_2dp"]],
                       "peak_mb_all": [round(r["peak_mb"], 1) for r in runs["duckdb_2dp"]],
                       "conservation_rel_error": conservation(totals_2dp, *results["duckdb_2dp"])},
        "duckdb_csv": {"input": f"the same rows as a ';'-delimited CSV file ({csv_mb:.0f} MiB), streamed, one run",
                       "seconds": round(runs["duckdb_csv"][0]["seconds"], 3),
                       "peak_mb": round(runs["duckdb_csv"][0]["peak_mb"], 1),
                       "conservation_rel_error": conservation(totals, *results["duckdb_csv"]),
                       "identical_to_parquet": same(results["duckdb_csv"], results["duckdb"])},
        "pandas": {"input": "the same rows in memory (loaded from parquet first, not timed)",
                   "seconds_all": [round(r["seconds"], 3) for r in runs["pandas"]],
                   "load_seconds_median": med("pandas", "load_seconds"),
                   "peak_mb_incl_data": round(max(r["peak_mb"] for r in runs["pandas"]), 1),
                   "conservation_rel_error": conservation(totals, *results["pandas"]),
                   "identical_to_duckdb": same(results["pandas"], results["duckdb"])},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "duckdb": duckdb.__version__, "load_average_at_end": list(os.getloadavg())},
    }
    if runs["spark"]:
        sp = runs["spark"][0]
        entry = {"input": "parquet file, local[2], one run"}
        if "error" in sp:
            entry["error"] = sp["error"]
        else:
            import pyspark
            entry.update({"seconds": round(sp["seconds"], 3), "session_start_seconds": round(sp["session_start_seconds"], 2),
                          "python_driver_peak_mb_jvm_not_counted": round(sp["peak_mb"], 1), "pyspark": pyspark.__version__,
                          "conservation_rel_error": conservation(totals, *results["spark"]),
                          "identical_to_duckdb": same(results["spark"], results["duckdb"])})
        report["details"]["spark"] = entry
    report["details"]["benchmark_seconds"] = round(time.perf_counter() - t_start, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
    else:
        main()
