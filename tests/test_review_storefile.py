"""The review store's file: refused before anything writes to it when it is empty, foreign,
newer or damaged; opened read-only on a read-only medium; every SQLite error (read-only,
full disk, damaged, busy) a clear StoreError and never a traceback from the CLI."""
from __future__ import annotations

import hashlib
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosswalk.cli import cli
from crosswalk.review import Decision, LinkKey, ReviewStore, StoreError


def K(src: str, tgt: str) -> LinkKey:
    return LinkKey("okved2", src, "nace2", tgt)


def code(i: int) -> str:
    return f"{10 + i // 100:02d}.{i % 100:02d}"


def make_store(path: Path, n: int = 40, score: float = 0.5) -> list[LinkKey]:
    keys = [K(code(i), code(i)) for i in range(n)]
    with ReviewStore(path) as s:
        s.propose([{"key": k, "score": score, "evidence": {"title_tokens": score},
                    "source_title": f"деятельность {k.source_code}", "target_title": f"activity {k.target_code}"}
                   for k in keys])
        s.decide([Decision(k, "confirm", s.get(k).version) for k in keys[::4]], reviewer="anna")
    return keys


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def journal_mode_in_header(path: Path) -> str:
    """Bytes 18-19 of an SQLite file: 1, 1 rollback journal; 2, 2 WAL."""
    b = path.read_bytes()[18:20]
    return {b"\x01\x01": "rollback", b"\x02\x02": "wal"}.get(b, repr(b))


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def no_traceback(r) -> None:
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.output


# -- refused before anything is written ---------------------------------------------------
def test_a_zero_byte_file_is_refused_unless_review_load_creates_a_store(tmp_path):
    path = tmp_path / "review.sqlite"
    path.touch()
    for args in (["review", "status"], ["review", "decide", "okved2:01.11", "nace2:01.11", "confirm",
                                        "--reviewer", "anna"], ["export", tmp_path / "out"]):
        r = run(*args, "--store", path)
        assert r.exit_code == 1 and "empty (0 bytes)" in r.output, r.output
        no_traceback(r)
    assert path.stat().st_size == 0 and not (tmp_path / "out").exists()
    with pytest.raises(StoreError, match="empty"):
        ReviewStore(path, create=False)
    with ReviewStore(path) as s:          # creating a store there (review load) is fine
        assert s.counts() == {}
    assert ReviewStore(path, create=False).counts() == {}


def test_a_foreign_database_is_refused_before_its_journal_mode_changes(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO customers (name) VALUES ('Росстат')")
    con.commit()
    con.close()
    before = digest(path)
    r = run("review", "status", "--store", path)
    assert r.exit_code == 1 and "not a crosswalk review store" in r.output and "customers" in r.output
    no_traceback(r)
    assert digest(path) == before and journal_mode_in_header(path) == "rollback"
    # another application's database (its own application_id), even with a user_version
    con = sqlite3.connect(path)
    con.execute("PRAGMA application_id = 1234")
    con.execute("PRAGMA user_version = 3")
    con.commit()
    con.close()
    before = digest(path)
    with pytest.raises(StoreError, match="another application"):
        ReviewStore(path)
    assert digest(path) == before and journal_mode_in_header(path) == "rollback"
    # not SQLite at all
    text = tmp_path / "notes.sqlite"
    text.write_text("это не база\n", encoding="utf-8")
    r = run("review", "status", "--store", text)
    assert r.exit_code == 1 and "not an SQLite database" in r.output
    assert text.read_text(encoding="utf-8") == "это не база\n"


def test_a_newer_store_is_refused_before_its_journal_mode_changes(tmp_path):
    path = tmp_path / "new.sqlite"
    make_store(path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = DELETE")
    con.execute("PRAGMA user_version = 99")
    con.close()
    before = digest(path)
    r = run("review", "status", "--store", path)
    assert r.exit_code == 1 and "schema version 99, newer" in r.output and "upgrade crosswalk" in r.output
    assert digest(path) == before and journal_mode_in_header(path) == "rollback"


def _corrupt_an_unused_table(path: Path) -> None:
    """Garbage over the page of the (empty) catalogue of items: a decision never reads it."""
    con = sqlite3.connect(path)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'items'").fetchone()[0]
    con.close()
    with open(path, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(bytes([0x0D, 0xFF, 0xFF, 0xFF]) + b"\xa5" * (page_size - 4))


def test_a_damaged_store_is_refused_before_anything_writes_to_it(tmp_path):
    """Before: `review decide` wrote into a store with a damaged page (exit 0)."""
    path = tmp_path / "review.sqlite"
    make_store(path)
    _corrupt_an_unused_table(path)
    before = digest(path)
    r = run("review", "decide", "okved2:10.01", "nace2:10.01", "reject", "--reviewer", "anna", "--store", path)
    assert r.exit_code == 1 and "damaged" in r.output and "crosswalk review check" in r.output, r.output
    no_traceback(r)
    for args in (["review", "status"], ["export", tmp_path / "out"], ["review", "export", tmp_path / "r.xlsx"]):
        r = run(*args, "--store", path)
        assert r.exit_code == 1 and "damaged" in r.output
        no_traceback(r)
    assert digest(path) == before and not Path(f"{path}-wal").exists()
    # the full check names what is wrong, and writes nothing either
    r = run("review", "check", "--store", path)
    assert r.exit_code == 1 and "integrity_check" in r.output, r.output
    assert digest(path) == before


def test_review_check_compares_the_state_with_the_replay_of_the_log(tmp_path):
    path = tmp_path / "review.sqlite"
    make_store(path)
    r = run("review", "check", "--store", path)
    assert r.exit_code == 0 and ": ok" in r.output, r.output
    con = sqlite3.connect(path)     # a link_state row no event explains (edited by hand)
    con.execute("UPDATE link_state SET status = 'rejected' WHERE source_code = '10.01'")
    con.commit()
    con.close()
    r = run("review", "check", "--store", path, "--format", "json")
    assert r.exit_code == 1
    assert "link_state differs from the log in status" in r.output and "10.01" in r.output
    with ReviewStore(path) as s:      # the log is the record: rebuilding the state repairs it
        s.rebuild_state()
        assert s.check() == []
        # an item decided "no correspondence", its item_state row then edited by hand
        from crosswalk.review.items import ItemDecision, ItemKey
        item = ItemKey("okved2", "10.02", "nace2")
        version = s.item(item).version
        assert len(s.decide_items([ItemDecision(item, "no_match", version)], reviewer="anna").applied) == 1
        assert s.check() == []
    con = sqlite3.connect(path)
    con.execute("UPDATE item_state SET status = 'open' WHERE source_code = '10.02'")
    con.commit()
    con.close()
    r = run("review", "check", "--store", path)
    assert r.exit_code == 1 and "item okved2:10.02 → nace2: item_state differs from the log in status" in r.output


# -- SQLite errors while working ----------------------------------------------------------
def test_a_full_disk_is_a_clear_error_and_the_batch_is_rolled_back(tmp_path):
    path = tmp_path / "review.sqlite"
    keys = make_store(path, 300)
    with ReviewStore(path) as s:
        before = s.snapshot()
        pages = s.pragma("page_count")
        s._conn().execute(f"PRAGMA max_page_count = {pages + 1}")    # SQLite's own SQLITE_FULL
        decisions = [Decision(k, "reject", s.get(k).version, comment="нет " * 50) for k in keys if s.get(k).status
                     == "pending"]
        with pytest.raises(StoreError, match="the disk is full while saving decisions; the change was rolled"
                                             " back and nothing was lost") as exc:
            s.decide(decisions, reviewer="anna")
        assert str(path) in str(exc.value) and "SQLITE_FULL" in str(exc.value)
        assert s.snapshot() == before
        s._conn().execute("PRAGMA max_page_count = 1073741823")
        assert len(s.decide(decisions[:3], reviewer="anna").applied) == 3   # and it goes on working


def _limit_file_size(limit: int):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def cli_proc(*args, preexec=None, prefix=(), env=None):
    return subprocess.run([*prefix, sys.executable, "-m", "crosswalk", *map(str, args)], capture_output=True,
                          text=True, preexec_fn=preexec, env=env, timeout=120)


def test_a_write_the_disk_refuses_is_a_clear_error_from_the_cli(tmp_path):
    """A process that may not grow files past 40 KB (as on a full disk, writes fail midway):
    `review policy apply` confirms 600 links in one transaction. Before: a raw traceback."""
    path = tmp_path / "review.sqlite"
    make_store(path, 600, score=0.95)
    with ReviewStore(path) as s:
        s.set_policy("okved2", "nace2", 0.9, reviewer="lead")
        before = s.snapshot()
    p = cli_proc("review", "policy", "apply", "okved2", "nace2", "--reviewer", "lead", "--store", path,
                 preexec=_limit_file_size(40_000))
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    assert "the disk refused a read or write while applying the policy" in p.stderr and str(path) in p.stderr
    with ReviewStore(path) as s:
        assert s.snapshot() == before and s.check() == []


def test_a_busy_store_is_a_clear_error(tmp_path):
    path = tmp_path / "review.sqlite"
    make_store(path, 4)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")   # another process keeps the file to itself
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("DELETE FROM text_rows")
    holder.execute("COMMIT")
    try:
        with pytest.raises(StoreError, match="busy: another process held the store"):
            ReviewStore(path, busy_timeout=0.2).links()
    finally:
        holder.close()


# -- read-only media -----------------------------------------------------------------------
def _unshare_works(*flags: str) -> bool:
    try:
        return subprocess.run(["unshare", *flags, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.fixture
def unprivileged(tmp_path):
    """A command prefix under which the operating system enforces file permissions: none for a
    normal user; for root (who writes anything) a user namespace without capabilities over
    the files (`unshare -U`)."""
    if os.geteuid() != 0:
        return ()
    if not _unshare_works("-U"):
        pytest.skip("running as root without user namespaces: root writes read-only files")
    return ("unshare", "-U")


@pytest.fixture
def restore_modes(tmp_path):
    yield
    for p in [tmp_path, *tmp_path.rglob("*")]:
        if p.is_dir():
            p.chmod(0o755)


def test_a_read_only_store_allows_status_and_export_but_not_decisions(tmp_path, unprivileged, restore_modes):
    """A store file and its folder without write permission. Before: even `review status` failed
    (SQLite refused the switch to WAL), decide gave a raw error."""
    folder = tmp_path / "store"
    folder.mkdir()
    path = folder / "review.sqlite"
    make_store(path)
    before = digest(path)
    path.chmod(0o444)
    folder.chmod(0o555)
    out = tmp_path / "out"
    who = unprivileged
    p = cli_proc("review", "status", "--store", path, prefix=who)
    assert p.returncode == 0 and "pending 30, confirmed 10" in p.stdout, p.stderr
    assert "read-only" in p.stderr
    p = cli_proc("export", out, "--store", path, "--format", "csv", prefix=who)
    assert p.returncode == 0 and (out / "okved2__nace2.csv").is_file(), p.stderr
    p = cli_proc("review", "check", "--store", path, prefix=who)
    assert p.returncode == 0, p.stdout + p.stderr
    p = cli_proc("review", "decide", "okved2:10.01", "nace2:10.01", "reject", "--reviewer", "anna",
                 "--store", path, prefix=who)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "is read-only" in p.stderr and "nothing was changed" in p.stderr and "status" in p.stderr, p.stderr
    assert digest(path) == before and sorted(x.name for x in folder.iterdir()) == ["review.sqlite"]


def test_unmerged_changes_on_a_read_only_medium_are_refused_not_read_stale(tmp_path, unprivileged, restore_modes):
    """A copy of a store whose last decisions sit in its -wal file (no -shm beside it), in a
    read-only folder: SQLite cannot read the WAL there; opening the main file alone would show
    the state before those decisions. Refused, naming the -wal file."""
    folder = tmp_path / "copy"
    folder.mkdir()
    src = tmp_path / "live.sqlite"
    keys = make_store(src, 8)
    live = ReviewStore(src)
    live._conn().execute("PRAGMA wal_autocheckpoint = 0")
    live.decide([Decision(keys[1], "reject", live.get(keys[1]).version)], reviewer="anna")
    shutil.copyfile(src, folder / "review.sqlite")
    shutil.copyfile(f"{src}-wal", folder / "review.sqlite-wal")
    live.close()
    folder.chmod(0o555)
    p = cli_proc("review", "status", "--store", folder / "review.sqlite", prefix=unprivileged)
    assert p.returncode == 1 and "review.sqlite-wal" in p.stderr and "Traceback" not in p.stderr, p.stderr


@pytest.mark.skipif(not _unshare_works("-rm"), reason="needs `unshare -rm` (user namespaces) to mount a read-only file system")
def test_a_store_on_a_read_only_file_system(tmp_path):
    folder = tmp_path / "media"
    folder.mkdir()
    path = folder / "review.sqlite"
    make_store(path)
    before = digest(path)
    script = (f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && "
              f"{sys.executable} -m crosswalk review status --store {path} && "
              f"{sys.executable} -m crosswalk export {tmp_path / 'out'} --store {path} --format json; "
              f"echo status-export=$?; "
              f"{sys.executable} -m crosswalk review decide okved2:10.01 nace2:10.01 reject --reviewer anna"
              f" --store {path}; echo decide=$?")
    p = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    assert "status-export=0" in p.stdout and "decide=1" in p.stdout, p.stdout + p.stderr
    assert "mounted read-only" in p.stderr and "Traceback" not in p.stderr
    assert (tmp_path / "out" / "okved2__nace2.json").is_file() and digest(path) == before


def test_cannot_create_a_store_in_a_read_only_folder(tmp_path, unprivileged, restore_modes):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    code_ = ("from crosswalk.review import ReviewStore\n"
             f"ReviewStore({str(folder / 'new.sqlite')!r})\n")
    p = subprocess.run([*unprivileged, sys.executable, "-c", code_], capture_output=True, text=True)
    assert p.returncode == 1 and "cannot create a review store here" in p.stderr and "no write permission" in p.stderr
