"""What can be exported and imported, table by table.

Exports list every row with the columns given here, oldest id first: a user's password
hash is never among them. Imports write straight into a table; money and its history
(wallets, ledger, orders) are not importable, since only the API keeps their invariants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select

from agora.chat.models import Conversation, Message
from agora.db.base import Base
from agora.posts.models import Comment, Post, Tag
from agora.shop.models import Order, OrderItem, Product
from agora.users.models import User

if TYPE_CHECKING:
    from sqlalchemy import Table

    from agora.db.repository import AnySelect

_EXPORTED_COLUMNS: dict[str, tuple[Any, ...]] = {
    "users": (
        User.id,
        User.email,
        User.username,
        User.full_name,
        User.is_active,
        User.is_superuser,
        User.created_at,
        User.updated_at,
        User.deleted_at,
    ),
    "posts": (
        Post.id,
        Post.author_id,
        Post.title,
        Post.content,
        Post.is_published,
        Post.created_at,
        Post.updated_at,
    ),
    "orders": (
        Order.id,
        Order.user_id,
        Order.order_number,
        Order.status,
        Order.total_cents,
        Order.created_at,
        Order.updated_at,
    ),
    "order_items": (
        OrderItem.id,
        OrderItem.order_id,
        OrderItem.product_id,
        OrderItem.name,
        OrderItem.unit_price_cents,
        OrderItem.quantity,
    ),
    "comments": (
        Comment.id,
        Comment.post_id,
        Comment.author_id,
        Comment.content,
        Comment.created_at,
    ),
    "conversations": (
        Conversation.id,
        Conversation.owner_id,
        Conversation.title,
        Conversation.message_count,
        Conversation.created_at,
        Conversation.updated_at,
    ),
    "messages": (
        Message.id,
        Message.conversation_id,
        Message.role,
        Message.content,
        Message.created_at,
    ),
    "products": (
        Product.id,
        Product.name,
        Product.description,
        Product.price_cents,
        Product.stock,
        Product.is_active,
        Product.created_at,
        Product.updated_at,
    ),
    "tags": (Tag.id, Tag.name),
}
# The admin API offers these; the command line offers all of EXPORTABLE.
HttpExport = Literal["users", "posts", "orders"]
EXPORTABLE = tuple(_EXPORTED_COLUMNS)

IMPORTABLE: dict[str, Table] = {
    name: Base.metadata.tables[name]
    for name in (
        "users",
        "posts",
        "tags",
        "post_tags",
        "comments",
        "conversations",
        "messages",
        "products",
    )
}


def export_columns(name: str) -> tuple[str, ...]:
    return tuple(column.key for column in _EXPORTED_COLUMNS[name])


def export_statement(name: str) -> AnySelect:
    """Every row of the export, oldest id first (to stream: `agora.db.streams`)."""
    columns = _EXPORTED_COLUMNS[name]
    return select(*columns).order_by(columns[0])
