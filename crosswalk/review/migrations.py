"""Schema of the review store, versioned with ``PRAGMA user_version``.

``MIGRATIONS[n]`` brings a store from version ``n`` to ``n + 1``; a store is migrated
in one ``BEGIN IMMEDIATE`` transaction, so two processes opening a new file at once
cannot both create the tables, and a crash leaves the old version intact.
Append new migrations; never edit a released one.
"""
from __future__ import annotations

import sqlite3

_V1 = (
    # The log: every decision, append-only (the triggers below).
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        reviewer TEXT NOT NULL CHECK (length(trim(reviewer)) > 0),
        action TEXT NOT NULL CHECK (action IN ('propose', 'confirm', 'reject', 'retarget', 'add',
                                               'weight', 'comment', 'policy', 'auto_accept')),
        source_scheme TEXT, source_code TEXT, target_scheme TEXT, target_code TEXT,
        payload TEXT NOT NULL CHECK (json_valid(payload)),
        previous TEXT CHECK (previous IS NULL OR json_valid(previous)),
        origin TEXT NOT NULL)""",
    "CREATE INDEX events_by_link ON events (source_scheme, source_code, target_scheme, target_code, id)",
    "CREATE INDEX events_by_action ON events (action, source_scheme, target_scheme, id)",
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
    # The current state of every link, maintained in the transaction of each event and
    # recomputable from the log (ReviewStore.rebuild_state).
    """CREATE TABLE link_state (
        source_scheme TEXT NOT NULL, source_code TEXT NOT NULL,
        target_scheme TEXT NOT NULL, target_code TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected')),
        score REAL CHECK (score IS NULL OR score BETWEEN 0 AND 1),
        evidence TEXT NOT NULL CHECK (json_valid(evidence)),
        origin TEXT NOT NULL,
        weight REAL CHECK (weight IS NULL OR weight BETWEEN 0 AND 1),
        comment TEXT NOT NULL DEFAULT '',
        source_title TEXT NOT NULL DEFAULT '', target_title TEXT NOT NULL DEFAULT '',
        flags TEXT NOT NULL CHECK (json_valid(flags)),
        version INTEGER NOT NULL REFERENCES events (id),
        updated_by TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (source_scheme, source_code, target_scheme, target_code)) WITHOUT ROWID""",
    "CREATE INDEX link_state_by_pair ON link_state (source_scheme, target_scheme, status)",
    # The policy in force per scheme pair: the latest policy event.
    """CREATE VIEW policies AS
       SELECT e.source_scheme, e.target_scheme, json_extract(e.payload, '$.threshold') AS threshold,
              e.reviewer AS set_by, e.ts AS set_at, e.id AS event_id
       FROM events e
       WHERE e.action = 'policy' AND e.id = (
           SELECT MAX(p.id) FROM events p WHERE p.action = 'policy'
           AND p.source_scheme = e.source_scheme AND p.target_scheme = e.target_scheme)""",
)

_V1_ACTIONS_END = "'weight', 'comment', 'policy', 'auto_accept')"


def _widen_actions(table: str, added: tuple[str, ...]) -> tuple[str, ...]:
    """The statements that let the log hold the v1 actions plus ``added``. SQLite cannot
    change a CHECK constraint in place, so the log is copied into a new table (``table``)
    with the wider CHECK, row for row and id for id; the indexes, the append-only triggers
    and the view are recreated. (Foreign keys are off during migrations: see migrate().)"""
    if _V1[0].count(_V1_ACTIONS_END) != 1:
        raise RuntimeError("the v1 events table no longer ends its action list as expected")
    wider = _V1_ACTIONS_END[:-1] + "".join(f",\n{' ' * 47}'{a}'" for a in added) + ")"
    return (
        "DROP VIEW policies",
        _V1[0].replace("CREATE TABLE events (", f"CREATE TABLE {table} (").replace(_V1_ACTIONS_END, wider),
        f"INSERT INTO {table} SELECT * FROM events",
        "DROP TABLE events",
        f"ALTER TABLE {table} RENAME TO events",
        _V1[1], _V1[2], _V1[3], _V1[4], _V1[7],
    )


# v2: the action 'reopen' (a link back to pending — the browser's undo).
_V2 = _widen_actions("events_v2", ("reopen",))
# v3: the action 'second_review' (a blind second reviewer's verdict, beside the link's state).
_V3 = _widen_actions("events_v3", ("reopen", "second_review"))

# v4: the items a reviewer may pick as a new target (a catalogue of codes and titles per
# scheme, e.g. every OKZ-2014 unit group when free text is coded to OKZ): not decisions, so
# outside the log; a retarget to a code no link names is checked against it.
_V4 = (
    """CREATE TABLE items (
        scheme TEXT NOT NULL, code TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (scheme, code)) WITHOUT ROWID""",
)

# v5: how many data rows each free-text title covers, per coded batch (a batch is named by
# the digest of its titles' counts, so coding the same file again replaces its counts rather
# than adding them): the review queue puts the titles covering most rows first. Not
# decisions either, so outside the log.
_V5 = (
    """CREATE TABLE text_rows (
        code TEXT NOT NULL, batch TEXT NOT NULL, rows INTEGER NOT NULL CHECK (rows >= 0),
        PRIMARY KEY (code, batch)) WITHOUT ROWID""",
)

# v6: items, not only links. A candidate's rank and role (the item's proposal or an
# alternative shown beside it); an item-level decision, 'no_match' ("no correspondence in this
# scheme", so coverage counts the item as decided); the state of each item; and the editions
# of the classifications the store's codes come from (exports name them).
_V6 = _widen_actions("events_v6", ("reopen", "second_review", "no_match")) + (
    "ALTER TABLE link_state ADD COLUMN rank INTEGER CHECK (rank IS NULL OR rank >= 1)",
    "ALTER TABLE link_state ADD COLUMN role TEXT NOT NULL DEFAULT ''"
    " CHECK (role IN ('', 'proposal', 'alternative'))",
    """CREATE TABLE item_state (
        source_scheme TEXT NOT NULL, source_code TEXT NOT NULL, target_scheme TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'no_match')),
        comment TEXT NOT NULL DEFAULT '',
        version INTEGER NOT NULL REFERENCES events (id),
        updated_by TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (source_scheme, source_code, target_scheme)) WITHOUT ROWID""",
    "CREATE INDEX link_state_by_item ON link_state (source_scheme, target_scheme, source_code, status)",
    """CREATE TABLE schemes (
        scheme TEXT PRIMARY KEY, edition TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',
        language TEXT NOT NULL DEFAULT '') WITHOUT ROWID""",
)

# v7: the files a build joined into a classification (the OKZ examples extract beside the label
# list), so the review app shows their texts and offers their codes as the build had them.
_V7 = ("ALTER TABLE schemes ADD COLUMN joined TEXT NOT NULL DEFAULT ''",)

# v8: links by target code. The store looks a target code up when a reviewer picks a code no
# candidate names (is it known? its title): without this index each look-up read every link
# (110 of them took 1.5 s of a 1,000-decision import on 30,000 links).
_V8 = (
    "CREATE INDEX link_state_by_target ON link_state (target_scheme, target_code, version)",
)

MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("events, link_state, policies", _V1),
    ("action 'reopen'", _V2),
    ("action 'second_review'", _V3),
    ("items (a catalogue of codes to retarget to)", _V4),
    ("text_rows (data rows each free-text title covers)", _V5),
    ("rank and role of candidates, item decisions (no_match), item_state, schemes", _V6),
    ("schemes.joined (files joined into a classification)", _V7),
    ("an index of links by target code", _V8),
)
SCHEMA_VERSION = len(MIGRATIONS)
# PRAGMA application_id of a crosswalk review store ("CWRS" in ASCII), set when a store is
# created, so a foreign SQLite file is told apart by its header; stores created before it
# carry 0 and are recognised by their tables (storefile.check_identity).
APPLICATION_ID = 0x43575253


def user_version(con: sqlite3.Connection) -> int:
    return con.execute("PRAGMA user_version").fetchone()[0]


def migrate(con: sqlite3.Connection, where: str) -> int:
    """Bring the store to :data:`SCHEMA_VERSION`; returns the version it had.
    Raises ValueError (the caller words it) for a newer store or a foreign database."""
    found = user_version(con)
    if found == SCHEMA_VERSION:
        return found
    if found > SCHEMA_VERSION:
        raise ValueError(f"{where}: the review store has schema version {found}, newer than this"
                         f" crosswalk knows ({SCHEMA_VERSION}); upgrade crosswalk")
    # a migration may rebuild a table that others reference: foreign keys off until the
    # end (the pragma is ignored inside a transaction), checked before committing
    fk = con.execute("PRAGMA foreign_keys").fetchone()[0]
    con.execute("PRAGMA foreign_keys = OFF")
    con.execute("BEGIN IMMEDIATE")
    try:
        found = user_version(con)  # another process may have migrated while we waited
        if found == 0:
            tables = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            if tables:
                raise ValueError(f"{where}: not a crosswalk review store (it holds the tables"
                                 f" {', '.join(tables[:5])} and no review schema version)")
            con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        for n in range(found, SCHEMA_VERSION):
            for stmt in MIGRATIONS[n][1]:
                con.execute(stmt)
            con.execute(f"PRAGMA user_version = {n + 1}")
        broken = con.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise ValueError(f"{where}: migration left {len(broken)} broken references: {broken[:3]}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute(f"PRAGMA foreign_keys = {'ON' if fk else 'OFF'}")
    return found
