"""What the review store keeps beside its log of decisions — not decisions, so outside it:
the catalogue of items reviewers may pick as a target (``register_items``, ``items``), the data
rows each free-text title covers (``record_text_rows``), and the editions of the classifications
its codes come from (``record_schemes``). Mixed into :class:`crosswalk.review.store.ReviewStore`.
"""
from __future__ import annotations

import hashlib
from typing import Iterable, Mapping

from ..model import SCHEMES, code_sort_key
from .records import _code_problem
from .storefile import StoreError

_SCHEME_FIELDS = ("edition", "source", "language", "joined")


class CatalogueMixin:
    def register_items(self, scheme: str, items: Iterable[tuple[str, str]]) -> int:
        """Record the (code, title) items of a scheme that reviewers may choose as a new
        target (a retarget to a code no link names is checked against them, and the link
        gets the item's title). Codes must fit the scheme; a known code's title is updated.
        Returns the number of items added or changed."""
        rows = []
        for n, entry in enumerate(items, start=1):
            try:
                code, title = entry
            except (TypeError, ValueError):
                raise StoreError(f"item {n}: expected (code, title), not {entry!r}") from None
            bad = (f"scheme {scheme!r} is not one of {', '.join(sorted(SCHEMES))}" if scheme not in SCHEMES
                   else _code_problem(scheme, code, "code")
                   or (None if isinstance(title, str) else f"title {title!r} is not text"))
            if bad:
                raise StoreError(f"item {n}: {bad}")
            rows.append((scheme, code, title))
        changed = 0
        with self._write() as con:
            for row in rows:
                cur = con.execute("INSERT INTO items (scheme, code, title) VALUES (?, ?, ?) ON CONFLICT"
                                  " (scheme, code) DO UPDATE SET title = excluded.title"
                                  " WHERE title != excluded.title", row)
                changed += cur.rowcount
        return changed

    def record_text_rows(self, counts: Mapping[str, int]) -> str:
        """Record how many data rows each free-text title (``text`` code) covers in one coded
        batch. The batch is named by a digest of its (code, rows) list, so recording the same
        batch again changes nothing, while another file's counts add up. Returns the batch."""
        rows = []
        for code, n in sorted(counts.items()):
            bad = _code_problem("text", code, "code") or (
                None if isinstance(n, int) and not isinstance(n, bool) and n >= 0
                else f"rows {n!r} is not a count")
            if bad:
                raise StoreError(f"text rows of {code!r}: {bad}")
            rows.append((code, n))
        batch = hashlib.sha256("".join(f"{c}\t{n}\n" for c, n in rows).encode("utf-8")).hexdigest()[:16]
        with self._write() as con:
            con.executemany("INSERT INTO text_rows (code, batch, rows) VALUES (?, ?, ?)"
                            " ON CONFLICT (code, batch) DO NOTHING", [(c, batch, n) for c, n in rows])
        return batch

    def text_rows_signature(self) -> tuple[int, int]:
        """(entries, rows) of the recorded counts: changes whenever a batch is recorded."""
        with self._read() as con:
            n, total = con.execute("SELECT COUNT(*), COALESCE(SUM(rows), 0) FROM text_rows").fetchone()
        return int(n), int(total)

    def text_rows(self) -> dict[str, int]:
        """code -> data rows a free-text title covers, summed over the batches coded."""
        with self._read() as con:
            return {c: int(n) for c, n in con.execute("SELECT code, SUM(rows) FROM text_rows GROUP BY code")}

    def record_schemes(self, schemes: Mapping[str, Mapping[str, str]]) -> int:
        """Record, per scheme, the classification its codes come from: ``{scheme: {"edition",
        "source", "language", "joined"}}`` (exports name the editions; ``joined``: the files the
        build joined into it, one per line). Returns the number changed."""
        rows = []
        for scheme, info in sorted(schemes.items()):
            if scheme not in SCHEMES:
                raise StoreError(f"scheme {scheme!r} is not one of {', '.join(sorted(SCHEMES))}")
            vals = tuple(str(info.get(k) or "") for k in _SCHEME_FIELDS)
            rows.append((scheme, *vals))
        changed = 0
        with self._write() as con:
            for row in rows:
                changed += con.execute(
                    "INSERT INTO schemes (scheme, edition, source, language, joined) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (scheme) DO UPDATE SET edition = excluded.edition, source = excluded.source,"
                    " language = excluded.language, joined = excluded.joined WHERE edition != excluded.edition"
                    " OR source != excluded.source OR language != excluded.language"
                    " OR joined != excluded.joined", row).rowcount
        return changed

    def schemes(self) -> dict[str, dict[str, str]]:
        """scheme -> {"edition", "source", "language", "joined"} as recorded by :meth:`record_schemes`."""
        with self._read() as con:
            return {r[0]: dict(zip(_SCHEME_FIELDS, r[1:])) for r in con.execute(
                f"SELECT scheme, {', '.join(_SCHEME_FIELDS)} FROM schemes ORDER BY scheme")}

    def knows_code_in(self, con, scheme: str, code: str) -> bool:
        """Whether the catalogue or a link names ``code`` of ``scheme`` (inside a transaction; a
        look-up in the catalogue's key and the links' target index, not a scan)."""
        return con.execute("SELECT EXISTS (SELECT 1 FROM items WHERE scheme = ? AND code = ?)"
                           " OR EXISTS (SELECT 1 FROM link_state WHERE target_scheme = ? AND target_code = ?)",
                           (scheme, code, scheme, code)).fetchone()[0] == 1

    def known_codes(self, scheme: str) -> set[str]:
        """Codes of ``scheme`` the store knows: those its links name and its catalogue holds."""
        return set(self.items(scheme))

    def items(self, scheme: str) -> dict[str, str]:
        """code -> title of every ``scheme`` code the store knows (catalogue first, then the
        titles links carry), in code order."""
        out: dict[str, str] = {}
        with self._read() as con:
            for code, title in con.execute("SELECT code, title FROM items WHERE scheme = ?", (scheme,)):
                out[code] = title
            for side in ("target", "source"):
                for code, title in con.execute(f"SELECT {side}_code, {side}_title FROM link_state"
                                               f" WHERE {side}_scheme = ? ORDER BY version", (scheme,)):
                    if not out.get(code):
                        out[code] = title
        return {c: out[c] for c in sorted(out, key=code_sort_key)}
