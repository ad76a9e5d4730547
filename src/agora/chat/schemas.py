"""Request and response bodies for conversations and messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from agora.api.schemas import EntityId, InputModel, OutputModel, UpdateModel
from agora.chat.models import TITLE_MAX_LENGTH, Role
from agora.users.schemas import UserRef

MAX_MESSAGES_PER_BATCH = 1000
# Characters; a long pasted document or assistant answer fits, a runaway one does not.
MESSAGE_MAX_LENGTH = 200_000
# A batch's body, in bytes: fewer than its messages could add up to at their longest.
BATCH_MAX_BYTES = 16 * 1024 * 1024
LATEST_MESSAGES = 20

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX_LENGTH)
]


class ConversationCreate(InputModel):
    title: Title


class ConversationUpdate(UpdateModel):
    title: Title | None = None


class MessageCreate(InputModel):
    role: Role
    content: Annotated[str, StringConstraints(max_length=MESSAGE_MAX_LENGTH)]


class MessageBatch(InputModel):
    """Appended all or nothing, in this order."""

    messages: Annotated[list[MessageCreate], Field(min_length=1, max_length=MAX_MESSAGES_PER_BATCH)]


class MessageRead(OutputModel):
    id: int
    conversation_id: uuid.UUID
    role: Role
    content: str
    created_at: datetime


class MessageList(OutputModel):
    items: list[MessageRead]


class ConversationRead(OutputModel):
    id: uuid.UUID
    title: str
    owner: UserRef
    created_at: datetime
    updated_at: datetime
    message_count: int


class ConversationDetail(ConversationRead):
    """With the latest messages (up to 20), oldest of them first."""

    messages: list[MessageRead]


class ConversationTransfer(InputModel):
    to_user_id: EntityId
