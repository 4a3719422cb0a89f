"""Full-text search over the text of stamped pages (SQLite FTS5, trigram tokenizer).

Chinese has no spaces between words, so the index cuts text into
overlapping three-character pieces (FTS5's ``trigram`` tokenizer, SQLite
3.34+): any phrase of three or more characters is found by the index. One-
and two-character queries (合同, 村) fall back to a LIKE scan of the same table.

The index lives in its own file, ``data_dir/search.db``: everything in it is
derived from the ledger (the OCR entries) and can be dropped and rebuilt, and
a search by a supervisor never holds a lock the ledger writer needs.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.ledger.private import create_private

SCHEMA = """
CREATE TABLE IF NOT EXISTS stamped_pages (
    id INTEGER PRIMARY KEY,
    photo_sha256 TEXT NOT NULL UNIQUE,
    village TEXT NOT NULL,
    seal TEXT NOT NULL,              -- seal kind: official / finance / contract / legal_rep
    request_id TEXT,
    device TEXT,
    press_no INTEGER,
    taken_at TEXT NOT NULL,          -- UTC, ISO 8601
    title TEXT,
    amount_fen INTEGER,
    flags TEXT NOT NULL DEFAULT '',  -- space-separated, as in the ledger's OCR entry
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stamped_pages_filter ON stamped_pages (village, seal, taken_at);
CREATE TABLE IF NOT EXISTS page_flags (
    page_id INTEGER NOT NULL REFERENCES stamped_pages(id),
    flag TEXT NOT NULL,
    PRIMARY KEY (flag, page_id)
);
CREATE VIRTUAL TABLE IF NOT EXISTS stamped_pages_fts USING fts5(
    title, text, content='stamped_pages', content_rowid='id', tokenize='trigram'
);
CREATE TRIGGER IF NOT EXISTS stamped_pages_ai AFTER INSERT ON stamped_pages BEGIN
    INSERT INTO stamped_pages_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
"""


class SearchUnavailable(RuntimeError):
    pass


@dataclass
class Hit:
    photo_sha256: str
    village: str
    seal: str
    request_id: str | None
    press_no: int | None
    taken_at: str
    title: str | None
    amount_fen: int | None
    flags: list[str]
    snippet: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# Control characters are no text a page could carry, and FTS5 reads a NUL as the end of its query
# ("unterminated string"): they separate terms like spaces do.
_SEPARATORS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")


def _check_trigram(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.trigram_probe USING fts5(x, tokenize='trigram')")
        conn.execute("DROP TABLE temp.trigram_probe")
    except sqlite3.OperationalError as exc:
        raise SearchUnavailable(
            f"此 SQLite ({sqlite3.sqlite_version}) 不支持 FTS5 trigram: SQLite 3.34 or newer with FTS5 is needed ({exc})"
        ) from None


class SearchIndex:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        create_private(self.path)
        self._conn = sqlite3.connect(self.path, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        _check_trigram(self._conn)
        self._conn.executescript(SCHEMA)

    @classmethod
    def for_data_dir(cls, data_dir: Path | str) -> SearchIndex:
        return cls(Path(data_dir) / "search.db")

    def close(self) -> None:
        self._conn.close()

    def add(
        self,
        photo_sha256: str,
        village: str,
        seal: str,
        taken_at: str,
        text: str,
        title: str | None = None,
        amount_fen: int | None = None,
        flags: Iterable[str] = (),
        request_id: str | None = None,
        device: str | None = None,
        press_no: int | None = None,
    ) -> bool:
        """Index one stamped page; False if that photo is already indexed (adding is idempotent)."""
        flags = sorted(set(flags))
        with self._conn:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO stamped_pages (photo_sha256, village, seal, request_id, device, press_no,"
                " taken_at, title, amount_fen, flags, text) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    photo_sha256,
                    village,
                    seal,
                    request_id,
                    device,
                    press_no,
                    taken_at,
                    title,
                    amount_fen,
                    " ".join(flags),
                    text,
                ),
            )
            if cur.rowcount == 0:
                return False
            page_id = cur.lastrowid
            self._conn.executemany(
                "INSERT INTO page_flags (page_id, flag) VALUES (?, ?)", [(page_id, f) for f in flags]
            )
        return True

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM stamped_pages").fetchone()[0])

    def search(
        self,
        query: str = "",
        village: str | None = None,
        seal: str | None = None,
        since: str | None = None,
        until: str | None = None,
        flag: str | None = None,
        limit: int = 50,
    ) -> list[Hit]:
        """Pages whose title or text contains ``query`` (all of its space-separated terms), newest first.

        ``since``/``until`` bound ``taken_at`` (ISO dates or times, UTC; ``until``
        is exclusive); ``flag`` keeps pages carrying that flag (``any`` for any flag).
        """
        where: list[str] = []
        args: list[Any] = []
        terms = [t for t in _SEPARATORS.split(query) if t]
        long_terms = [t for t in terms if len(t) >= 3]
        short_terms = [t for t in terms if len(t) < 3]
        use_fts = bool(long_terms)
        if use_fts:
            match = " AND ".join('"' + t.replace('"', '""') + '"' for t in long_terms)
            where.append("stamped_pages_fts MATCH ?")
            args.append(match)
        for term in short_terms:
            escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("(p.text LIKE ? ESCAPE '\\' OR coalesce(p.title, '') LIKE ? ESCAPE '\\')")
            args += [f"%{escaped}%"] * 2
        for column, value in (("village", village), ("seal", seal)):
            if value:
                where.append(f"p.{column} = ?")
                args.append(value)
        if since:
            where.append("p.taken_at >= ?")
            args.append(since)
        if until:
            where.append("p.taken_at < ?")
            args.append(until)
        if flag == "any":
            where.append("p.flags != ''")
        elif flag:
            where.append("EXISTS (SELECT 1 FROM page_flags f WHERE f.page_id = p.id AND f.flag = ?)")
            args.append(flag)
        if use_fts:
            sql = (
                "SELECT p.*, snippet(stamped_pages_fts, 1, '[', ']', '…', 12) AS snip FROM stamped_pages_fts "
                "JOIN stamped_pages p ON p.id = stamped_pages_fts.rowid"
            )
        else:
            sql = "SELECT p.*, substr(p.text, 1, 40) AS snip FROM stamped_pages p"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY p.taken_at DESC, p.id DESC LIMIT ?"
        args.append(int(limit))
        self._conn.row_factory = sqlite3.Row
        try:
            rows = self._conn.execute(sql, args).fetchall()
        finally:
            self._conn.row_factory = None
        return [
            Hit(
                photo_sha256=r["photo_sha256"],
                village=r["village"],
                seal=r["seal"],
                request_id=r["request_id"],
                press_no=r["press_no"],
                taken_at=r["taken_at"],
                title=r["title"],
                amount_fen=r["amount_fen"],
                flags=r["flags"].split() if r["flags"] else [],
                snippet=r["snip"] or "",
            )
            for r in rows
        ]


def hits_json(hits: list[Hit]) -> str:
    return json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2)
