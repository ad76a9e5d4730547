"""Conversations and their messages, as chat and AI-assistant applications store them."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from agora.db.base import Base, IdPK, Timestamp, TimestampMixin
from agora.db.types import BigId, LongText, one_of, utc_now
from agora.users.models import User


class Role(StrEnum):
    """Who wrote a message, as chat and assistant APIs name them."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"


TITLE_MAX_LENGTH = 200


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        one_of("role", Role, name="role"),
        # Cursor pagination walks a conversation's messages by id.
        Index(None, "conversation_id", "id"),
    )

    id: Mapped[IdPK]
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(LongText)
    created_at: Mapped[Timestamp] = mapped_column(default=utc_now)


class Conversation(TimestampMixin, Base):
    """`updated_at` moves with every change, new messages included, so the owner's list
    is "most recently active first". `message_count` is kept by the same statement that
    appends messages (they are never deleted one by one), so it costs nothing to read."""

    __tablename__ = "conversations"
    __table_args__ = (Index(None, "owner_id", "updated_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    message_count: Mapped[int] = mapped_column(BigId, default=0)

    owner: Mapped[User] = relationship(lazy="raise")
    # Never loaded whole: a conversation can hold millions of messages. Deleting the
    # conversation deletes them in the database.
    messages: WriteOnlyMapped[Message] = relationship(passive_deletes=True)
