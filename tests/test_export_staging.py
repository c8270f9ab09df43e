"""Exports are staged and moved into place together: a disk that refuses a write midway leaves
every file of the earlier export as it was (before: a new CSV beside the old JSON, TTL and
xlsx, and a traceback); a crash between the moves is finished from the journal."""
from __future__ import annotations

import hashlib
import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from crosswalk.review import Decision, LinkKey, ReviewStore
from crosswalk.staging import Staging, StagingError, finish_pending


def _files(folder: Path) -> dict[str, str]:
    """Every entry of the folder (hidden ones too) -> sha256 of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.iterdir())}


def _store(path: Path) -> None:
    """A small pair (okved2 → nace2, written first) and a large one (okz2014 → isco08)."""
    small = [LinkKey("okved2", f"01.1{i}", "nace2", f"01.1{i}") for i in range(3)]
    large = [LinkKey("okz2014", f"{1000 + i}", "isco08", f"{1000 + i}") for i in range(1500)]
    with ReviewStore(path) as s:
        s.propose([{"key": k, "score": 0.9, "source_title": f"занятие {k.source_code} " * 3,
                    "target_title": f"occupation {k.target_code} " * 3} for k in small + large])
        s.decide([Decision(k, "confirm", s.get(k).version) for k in small + large[::2]], reviewer="anna")


def _confirm_the_rest(path: Path) -> None:
    with ReviewStore(path) as s:
        s.decide([Decision(ln.key, "confirm", ln.version) for ln in s.links(status="pending")], reviewer="boris")


def _limited(limit: int):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def test_a_disk_refusing_a_write_midway_leaves_the_earlier_export_whole(tmp_path):
    store, out = tmp_path / "review.sqlite", tmp_path / "out"
    _store(store)
    first = subprocess.run([sys.executable, "-m", "crosswalk", "export", str(out), "--store", str(store)],
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    before = _files(out)
    assert sorted(before) == ["crosswalks.xlsx", "okved2__nace2.csv", "okved2__nace2.json", "okved2__nace2.ttl",
                              "okz2014__isco08.csv", "okz2014__isco08.json", "okz2014__isco08.ttl"]
    sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    limit = max(40_000, *(v for k, v in sizes.items() if k.startswith("okved2"))) + 1
    assert sizes["okz2014__isco08.csv"] > limit       # the small pair's files fit, the large pair's do not
    _confirm_the_rest(store)
    p = subprocess.run([sys.executable, "-m", "crosswalk", "export", str(out), "--store", str(store)],
                       capture_output=True, text=True, timeout=300, preexec_fn=_limited(limit))
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    assert f"{out}: could not write the export" in p.stderr and f"nothing in {out} was changed" in p.stderr
    assert _files(out) == before                      # no new CSV beside old files, no staging left
    again = subprocess.run([sys.executable, "-m", "crosswalk", "export", str(out), "--store", str(store)],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and sorted(_files(out)) == sorted(before)
    assert all(_files(out)[n] != before[n] for n in before if n.startswith("okz2014") or n.endswith("xlsx"))


def test_a_crash_between_the_moves_is_finished_from_the_journal(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("a.csv", "a.json"):
        (out / name).write_text("old", encoding="utf-8")
    st = Staging(out, "the export")
    st.__enter__()
    st.write("a.csv", b"new csv")
    st.write("a.json", b"new json")
    # commit (the journal) and a crash after the first move: a.csv new, a.json still old
    journal = Path(f"{st.dir}.json")
    journal.write_text(json.dumps({"files": st.names}), encoding="utf-8")
    (st.dir / "a.csv").replace(out / "a.csv")
    assert (out / "a.csv").read_text() == "new csv" and (out / "a.json").read_text() == "old"
    assert finish_pending(out) == [out / "a.json"]
    assert {p.name: p.read_text() for p in out.iterdir()} == {"a.csv": "new csv", "a.json": "new json"}


def test_a_failure_while_staging_changes_nothing_and_a_dead_writers_staging_is_removed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.csv").write_text("old", encoding="utf-8")
    with pytest.raises(StagingError, match="could not write the export .a.json.: No space left on device;"
                                           " nothing in .* was changed"):
        with Staging(out, "the export") as st:
            st.write("a.csv", b"new")

            def full(path):
                raise OSError(28, "No space left on device")
            st.fill("a.json", full)
    assert _files(out) == {"a.csv": hashlib.sha256(b"old").hexdigest()}
    # a staging folder of a process that died before committing (no journal) goes away
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = out / f".crosswalk-staging-{dead.stdout.strip()}-x1"
    leftover.mkdir()
    (leftover / "a.csv").write_text("half", encoding="utf-8")
    assert finish_pending(out) == [] and not leftover.exists()
    with pytest.raises(StagingError, match="plain name"):
        with Staging(out) as st:
            st.write("../escape.csv", b"x")
    assert _files(out) == {"a.csv": hashlib.sha256(b"old").hexdigest()}
