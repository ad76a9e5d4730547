"""lists that stay fast at millions of rows: post counts kept on tags and users, tag
links dated and published like their posts, indexes that end in the id for keyset
pagination

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from agora.db.types import BigId, UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The catalogue's indexes, which now end in the id (the tiebreak of every sort).
PRODUCT_INDEXES = ("price_cents", "name", "created_at")

posts = sa.table(
    "posts",
    sa.column("id", BigId),
    sa.column("author_id", BigId),
    sa.column("is_published", sa.Boolean),
    sa.column("created_at", UTCDateTime()),
)
post_tags = sa.table(
    "post_tags",
    sa.column("post_id", BigId),
    sa.column("tag_id", BigId),
    sa.column("created_at", UTCDateTime()),
    sa.column("is_published", sa.Boolean),
)
LINK_INDEX = ["tag_id", "created_at", "post_id", "is_published"]
tags = sa.table("tags", sa.column("id", BigId), sa.column("post_count", BigId))
users = sa.table("users", sa.column("id", BigId), sa.column("post_count", BigId))


def upgrade() -> None:
    op.add_column("post_tags", sa.Column("created_at", UTCDateTime(), nullable=True))
    op.add_column("post_tags", sa.Column("is_published", sa.Boolean(), nullable=True))
    op.execute(
        post_tags.update().values(
            created_at=sa.select(posts.c.created_at)
            .where(posts.c.id == post_tags.c.post_id)
            .scalar_subquery(),
            is_published=sa.select(posts.c.is_published)
            .where(posts.c.id == post_tags.c.post_id)
            .scalar_subquery(),
        )
    )
    with op.batch_alter_table("post_tags") as batch:
        batch.alter_column("created_at", existing_type=UTCDateTime(), nullable=False)
        batch.alter_column("is_published", existing_type=sa.Boolean(), nullable=False)
    # The new index serves the tag's foreign key before the old one goes (MariaDB
    # refuses to drop the only index of a foreign key).
    op.create_index(op.f("ix_post_tags_" + "_".join(LINK_INDEX)), "post_tags", LINK_INDEX)
    op.drop_index("ix_post_tags_tag_id", table_name="post_tags")

    op.add_column("tags", sa.Column("post_count", BigId, server_default="0", nullable=False))
    published_links = (
        sa.select(sa.func.count())
        .select_from(post_tags.join(posts, posts.c.id == post_tags.c.post_id))
        .where(post_tags.c.tag_id == tags.c.id, posts.c.is_published.is_(True))
        .scalar_subquery()
    )
    op.execute(tags.update().values(post_count=published_links))
    op.create_index("ix_tags_popularity", "tags", [sa.text("post_count DESC"), "name"])

    op.add_column("users", sa.Column("post_count", BigId, server_default="0", nullable=False))
    published_posts = (
        sa.select(sa.func.count())
        .select_from(posts)
        .where(posts.c.author_id == users.c.id, posts.c.is_published.is_(True))
        .scalar_subquery()
    )
    op.execute(users.update().values(post_count=published_posts))
    op.create_index("ix_users_post_count", "users", [sa.text("post_count DESC"), "id"])

    for column in PRODUCT_INDEXES:
        op.create_index(
            op.f(f"ix_products_is_active_{column}_id"), "products", ["is_active", column, "id"]
        )
        op.drop_index(f"ix_products_is_active_{column}", table_name="products")


def downgrade() -> None:
    for column in PRODUCT_INDEXES:
        op.create_index(f"ix_products_is_active_{column}", "products", ["is_active", column])
        op.drop_index(op.f(f"ix_products_is_active_{column}_id"), table_name="products")
    op.drop_index("ix_users_post_count", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("post_count")
    op.drop_index("ix_tags_popularity", table_name="tags")
    with op.batch_alter_table("tags") as batch:
        batch.drop_column("post_count")
    op.create_index("ix_post_tags_tag_id", "post_tags", ["tag_id"])
    op.drop_index(op.f("ix_post_tags_" + "_".join(LINK_INDEX)), table_name="post_tags")
    with op.batch_alter_table("post_tags") as batch:
        batch.drop_column("is_published")
        batch.drop_column("created_at")
