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

from sqlalchemy import ColumnElement, Table, and_, bindparam, column, or_, select, table, text
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.types import Boolean

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import BindParameter
    from sqlalchemy.sql.compiler import SQLCompiler

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
    type = Boolean()

    def __init__(self, index: SearchIndex, text: str, columns: Sequence[Any]) -> None:
        self.index = index
        self.text = text
        self.columns = tuple(columns)

    def substring(self) -> ColumnElement[bool]:
        return or_(*(column.icontains(self.text, autoescape=True) for column in self.columns))


def text_search(index: SearchIndex, text: str, *columns: Any) -> ColumnElement[bool]:
    return TextSearch(index, text, columns)


@compiles(TextSearch)
def _substring(element: TextSearch, compiler: SQLCompiler, **kw: Any) -> str:
    """PostgreSQL (pg_trgm makes it indexed) and any other database."""
    return compiler.process(element.substring(), **kw)


@compiles(TextSearch, "sqlite")
def _fts5(element: TextSearch, compiler: SQLCompiler, **kw: Any) -> str:
    if len(element.text) < MIN_INDEXED_LENGTH:
        return compiler.process(element.substring(), **kw)
    names = " ".join(column.key for column in element.columns)
    phrase = element.text.replace('"', '""')
    search = table(element.index.name, column("rowid"))
    query: BindParameter[str] = bindparam("search_query", f'{{{names}}} : "{phrase}"', unique=True)
    matching = select(search.c.rowid).where(
        text(f"{element.index.name} MATCH :search_query").bindparams(query)
    )
    rowid = element.columns[0].table.c.id
    return compiler.process(rowid.in_(matching), **kw)


@compiles(TextSearch, "mysql")
@compiles(TextSearch, "mariadb")
def _fulltext(element: TextSearch, compiler: SQLCompiler, **kw: Any) -> str:
    words = {
        word
        for word in _WORDS.findall(element.text.lower())
        if len(word) >= MIN_INDEXED_LENGTH and word not in INNODB_STOP_WORDS
    }
    if not words:
        return compiler.process(element.substring(), **kw)
    table_ = element.columns[0].table
    if not isinstance(table_, Table):
        raise TypeError("text_search searches the columns of one table")
    every = [table_.c[name] for name in element.index.columns]
    required = " ".join(f"+{word}*" for word in sorted(words))
    found = mysql.match(*every, against=required).in_boolean_mode()
    return compiler.process(and_(found, element.substring()), **kw)


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
