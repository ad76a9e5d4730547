"""Text search through an index made for it, on each database, behind one expression.

`text_search(table's SearchIndex, text, *columns)` is a condition: `text` occurs in one
of `columns`, ignoring case, with ``%`` and ``_`` matching themselves. Each database
answers it from its own index, which the migrations create (they are not in the models'
metadata: `SEARCH_PREFIX` names them, and `alembic check` leaves them alone):

- PostgreSQL: ``ILIKE`` through a ``pg_trgm`` GIN index per column: the same substring
  semantics, indexed for any text of 3 characters or more.
- SQLite: an FTS5 table with the trigram tokenizer (kept by triggers) answers a phrase
  query, which is a substring match, for text of 3 characters or more (Unicode case
  folding, where SQLite's LIKE folds ASCII only). Shorter text scans with LIKE.
- MariaDB: a FULLTEXT index finds the rows where each word of `text` (3 characters or
  more, not a stop word) begins a word; LIKE then keeps those where `text` occurs as
  typed. So "harb" and "harbor light" find "Harbor lights", but "arbor" does not find
  "harbor" there: matches must start at a word. Text without such a word scans with
  LIKE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    column,
    func,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import BindParameter
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.sql.compiler import SQLCompiler

    from agora.db.keyset import Ordering
    from agora.db.totals import AnySelect
    from agora.kernel.pages import PageRequest

# Names of the search structures (indexes, FTS5 tables and their triggers).
SEARCH_PREFIX = "search_"
# Shorter text has no trigram, and no FULLTEXT token (innodb_ft_min_token_size).
MIN_INDEXED_LENGTH = 3
# InnoDB's default stop words: never indexed, so never required of a match.
# fmt: off
INNODB_STOP_WORDS = frozenset({
    "a", "about", "an", "are", "as", "at", "be", "by", "com", "de", "en", "for", "from",
    "how", "i", "in", "is", "it", "la", "of", "on", "or", "that", "the", "this", "to",
    "was", "what", "when", "where", "who", "will", "with", "und", "www",
})
# fmt: on
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class SearchIndex:
    """The searchable text columns of a table, as its search structures cover them."""

    table: str
    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{SEARCH_PREFIX}{self.table}"


class TextSearch(ColumnElement[bool]):
    """See the module; built by `text_search`."""

    inherit_cache = False
    # (Untyped: typed Boolean, MySQL's compiler would compare the whole condition to 1,
    # which hides MATCH from MariaDB's optimizer.)

    def __init__(
        self, index: SearchIndex, text: str, columns: Sequence[Any], *, scan: bool = False
    ) -> None:
        self.index = index
        self.text = text
        self.columns = tuple(columns)
        # Compiled as the plain substring match, which reads rows in the list's order
        # and stops at the page: see `choose_search`.
        self.scan = scan

    def substring(self, *, like_ignores_case: bool = False) -> ColumnElement[bool]:
        """The text in one of the columns, ignoring case: by ILIKE or lower(), or where
        LIKE already ignores case (SQLite's, for ASCII, as its lower() does) by LIKE,
        which spares a lower() of every value read. (MariaDB's LIKE ignores case only
        under a _ci collation, which the schema does not pin.)"""
        if like_ignores_case:
            return or_(*(column.contains(self.text, autoescape=True) for column in self.columns))
        return or_(*(column.icontains(self.text, autoescape=True) for column in self.columns))

    def scanning(self) -> TextSearch:
        return TextSearch(self.index, self.text, self.columns, scan=True)


def text_search(index: SearchIndex, text: str, *columns: Any) -> ColumnElement[bool]:
    return TextSearch(index, text, columns)


def _grouped(compiler: SQLCompiler, condition: ColumnElement[bool], **kw: Any) -> str:
    """The condition in parentheses: it stands inside other conditions (an OR within an
    AND would otherwise bind to its neighbours)."""
    return f"({compiler.process(condition, **kw)})"


@compiles(TextSearch)
def _substring(element: TextSearch, compiler: SQLCompiler, **kw: Any) -> str:
    """PostgreSQL (pg_trgm makes it indexed) and any other database."""
    return _grouped(compiler, element.substring(), **kw)


@compiles(TextSearch, "sqlite")
def _fts5(element: TextSearch, compiler: SQLCompiler, **kw: Any) -> str:
    if element.scan or len(element.text) < MIN_INDEXED_LENGTH:
        return _grouped(compiler, element.substring(like_ignores_case=True), **kw)
    names = " ".join(column.key for column in element.columns)
    phrase = element.text.replace('"', '""')
    search = table(element.index.name, column("rowid"))
    query: BindParameter[str] = bindparam("search_query", f'{{{names}}} : "{phrase}"', unique=True)
    matching = select(search.c.rowid).where(
        text(f"{element.index.name} MATCH :search_query").bindparams(query)
    )
    rowid = element.columns[0].table.c.id
    return _grouped(compiler, rowid.in_(matching), **kw)


@compiles(TextSearch, "mysql")
@compiles(TextSearch, "mariadb")
def _fulltext(element: TextSearch, compiler: SQLCompiler, **kw: Any) -> str:
    words = {
        word
        for word in _WORDS.findall(element.text.lower())
        if len(word) >= MIN_INDEXED_LENGTH and word not in INNODB_STOP_WORDS
    }
    if not words:
        return _grouped(compiler, element.substring(), **kw)
    # What the index means, said of the searched columns alone: each word begins a word
    # in one of them (so a scan finds what the index finds, and the index's other
    # columns, an email say, are never searched through it).
    starts = [
        or_(*(column.regexp_match(rf"(?i)\b{word}") for column in element.columns))
        for word in sorted(words)
    ]
    matched = and_(element.substring(), *starts)
    if element.scan:
        return _grouped(compiler, matched, **kw)
    table_ = element.columns[0].table
    if not isinstance(table_, Table):
        raise TypeError("text_search searches the columns of one table")
    every = [table_.c[name] for name in element.index.columns]
    required = " ".join(f"+{word}*" for word in sorted(words))
    found = mysql.match(*every, against=required).in_boolean_mode()
    return _grouped(compiler, and_(found, matched), **kw)


def split_search(
    where: Sequence[ColumnElement[bool]],
) -> tuple[list[ColumnElement[bool]], TextSearch | None]:
    """A list's filters, and its text search apart (`paginate` applies it)."""
    searches = [condition for condition in where if isinstance(condition, TextSearch)]
    if len(searches) != 1:
        return list(where), None
    return [condition for condition in where if condition is not searches[0]], searches[0]


# Rows of the list, in its order, in which a search looks for a page before it asks the
# index (see `choose_search`).
SCAN_WINDOW = 1_000


async def choose_search(
    session: AsyncSession,
    search: TextSearch,
    listed: AnySelect,
    ordering: Ordering,
    page: PageRequest,
) -> TextSearch:
    """How to answer `search` within the list `listed` (its other filters): through the
    index, or by scanning the list in its order.

    An index answers "which rows hold this text" for all of them before the list's
    order and limit apply: for a rare text, a few rows, at once; for text in half the
    rows, hundreds of thousands (14 s for a word in most of 500,000 posts on MariaDB,
    where no planner weighs the two). A scan in the list's order stops at the page:
    fast exactly when the text is common. So the next `SCAN_WINDOW` rows of the list
    (from the cursor's position, if any) are looked at first: when they hold a page of
    matches, or the list ends in them, the scan is the answer; otherwise the text is
    rare there, and the index is. (An offset page of a common text scans to its offset:
    at most the API's 10,000 matches, a few thousand rows when the text is common.)
    PostgreSQL's planner makes this choice itself, from its trigram indexes' statistics.
    """
    if session.get_bind().dialect.name == "postgresql":
        return search
    window = listed.with_only_columns(*ordering.key_columns(), *search.columns)
    if page.after is not None:
        window = window.where(ordering.after(page.after))
    rows = window.order_by(*ordering.order_by).limit(SCAN_WINDOW).subquery()
    shown = [rows.c[str(column.key)] for column in search.columns]
    scanned = TextSearch(search.index, search.text, shown, scan=True)
    matches = func.coalesce(func.sum(case((scanned, 1), else_=0)), 0)
    examined, found = (await session.execute(select(func.count(), matches).select_from(rows))).one()
    common = found > page.limit or examined < SCAN_WINDOW
    return search.scanning() if common else search


def sqlite_search_table(index: SearchIndex) -> list[str]:
    """The DDL of a table's FTS5 search table on SQLite: the trigram table over the
    table's rows (external content: the text is stored once), filled from them, and the
    triggers that keep it in step. A migration that rebuilds the table in batch mode
    drops its triggers: it runs `sqlite_drop_search_table` and this again."""
    name, source, columns = index.name, index.table, ", ".join(index.columns)
    new = ", ".join(f"new.{column}" for column in index.columns)
    old = ", ".join(f"old.{column}" for column in index.columns)
    # (S608: the names come from the code, never from input.)
    forget = f"INSERT INTO {name}({name}, rowid, {columns}) VALUES ('delete', old.id, {old});"  # noqa: S608
    remember = f"INSERT INTO {name}(rowid, {columns}) VALUES (new.id, {new});"  # noqa: S608
    return [
        f"CREATE VIRTUAL TABLE {name} USING fts5({columns}, content='{source}', "
        "content_rowid='id', tokenize='trigram')",
        f"INSERT INTO {name}({name}) VALUES ('rebuild')",  # noqa: S608
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON {source} BEGIN {remember} END",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON {source} BEGIN {forget} END",
        f"CREATE TRIGGER {name}_update AFTER UPDATE OF {columns} ON {source} "
        f"BEGIN {forget} {remember} END",
    ]


def sqlite_drop_search_table(index: SearchIndex) -> list[str]:
    triggers = [f"DROP TRIGGER {index.name}_{event}" for event in ("insert", "delete", "update")]
    return [*triggers, f"DROP TABLE {index.name}"]
