"""search through an index on each database: pg_trgm GIN indexes on PostgreSQL, FTS5
trigram tables on SQLite, FULLTEXT indexes on MariaDB (see agora.db.search)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

from agora.db.search import SearchIndex, sqlite_drop_search_table, sqlite_search_table

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCHED = (
    SearchIndex("posts", ("title", "content")),
    SearchIndex("users", ("username", "full_name", "email")),
    SearchIndex("products", ("name", "description")),
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # A trusted extension: the database's owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for index in SEARCHED:
        if dialect == "postgresql":
            for column in index.columns:
                op.execute(
                    f"CREATE INDEX {index.name}_{column} ON {index.table} "
                    f"USING gin ({column} gin_trgm_ops)"
                )
        elif dialect == "sqlite":
            for statement in sqlite_search_table(index):
                op.execute(statement)
        else:
            columns = ", ".join(index.columns)
            op.execute(f"CREATE FULLTEXT INDEX {index.name} ON {index.table} ({columns})")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for index in SEARCHED:
        if dialect == "postgresql":
            for column in index.columns:
                op.execute(f"DROP INDEX {index.name}_{column}")
        elif dialect == "sqlite":
            for statement in sqlite_drop_search_table(index):
                op.execute(statement)
        else:
            op.execute(f"DROP INDEX {index.name} ON {index.table}")
