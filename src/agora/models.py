"""Every feature's models, imported in one place so `Base.metadata` is complete.

Alembic's env.py and anything that looks at the whole schema import this module first.
"""

from agora.chat.models import Conversation, Message
from agora.db.idempotency import IdempotencyRecord
from agora.posts.models import Comment, Post, Tag, post_tags
from agora.shop.models import Order, OrderItem, Product
from agora.users.models import RefreshToken, User, UserSession
from agora.wallet.models import LedgerEntry, Wallet

__all__ = [
    "Comment",
    "Conversation",
    "IdempotencyRecord",
    "LedgerEntry",
    "Message",
    "Order",
    "OrderItem",
    "Post",
    "Product",
    "RefreshToken",
    "Tag",
    "User",
    "UserSession",
    "Wallet",
    "post_tags",
]
