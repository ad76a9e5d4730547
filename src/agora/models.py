"""Every feature's models, imported in one place so `Base.metadata` is complete.

Alembic's env.py and anything that looks at the whole schema import this module first.
"""

from agora.chat.models import Conversation, Message
from agora.posts.models import Comment, Post, Tag, post_tags
from agora.users.models import User

__all__ = ["Comment", "Conversation", "Message", "Post", "Tag", "User", "post_tags"]
