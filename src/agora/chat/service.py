"""Business rules of chat history: a conversation exists only for its owner.

Everyone else gets 404 for it, on every endpoint, exactly as for one that does not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agora.chat.errors import ConversationNotFound
from agora.chat.models import Conversation, Message
from agora.chat.repository import (
    RECENTLY_ACTIVE_FIRST,
    WITH_OWNER,
    ConversationRepository,
    MessageRepository,
    messages_after,
)
from agora.chat.schemas import (
    LATEST_MESSAGES,
    ConversationDetail,
    ConversationRead,
    MessageList,
    MessageRead,
)
from agora.kernel.errors import InvalidRecipient
from agora.users.service import UserService

if TYPE_CHECKING:
    import uuid
    from collections.abc import AsyncIterator, Callable, Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from agora.chat.schemas import ConversationCreate, ConversationUpdate, MessageBatch
    from agora.db.repository import AnyRow
    from agora.kernel.pages import PageRequest, PageResult
    from agora.kernel.principal import Principal


class ChatService:
    def __init__(self, session: AsyncSession) -> None:
        self.conversations = ConversationRepository(session)
        self.messages = MessageRepository(session)
        self.users = UserService(session)

    async def start(self, owner: Principal, data: ConversationCreate) -> ConversationRead:
        conversation = await self.conversations.add(
            Conversation(owner_id=owner.id, title=data.title)
        )
        return ConversationRead.model_validate(await self._owned(owner, conversation.id))

    async def of_owner(self, owner: Principal, page: PageRequest) -> PageResult[ConversationRead]:
        """The owner's conversations, most recently active first. A conversation that
        becomes active while a client walks the list by cursor moves to the front, behind
        the client: it is not listed again further down."""
        found = await self.conversations.list_and_count(
            Conversation.owner_id == owner.id,
            ordering=RECENTLY_ACTIVE_FIRST,
            page=page,
            options=WITH_OWNER,
        )
        return found.map(ConversationRead.model_validate)

    async def get(self, owner: Principal, conversation_id: uuid.UUID) -> ConversationDetail:
        """The conversation and its latest messages, oldest of them first."""
        conversation = await self._owned(owner, conversation_id)
        newest_first = await self.messages.list(
            *messages_after(conversation.id, None),
            order_by=(Message.id.desc(),),
            limit=LATEST_MESSAGES,
        )
        return ConversationDetail.model_validate(
            {
                **ConversationRead.model_validate(conversation).model_dump(),
                "messages": newest_first[::-1],
            }
        )

    async def rename(
        self, owner: Principal, conversation_id: uuid.UUID, data: ConversationUpdate
    ) -> ConversationRead:
        conversation = await self._owned(owner, conversation_id)
        renamed = await self.conversations.update(conversation, data.changes())
        return ConversationRead.model_validate(renamed)

    async def delete(self, owner: Principal, conversation_id: uuid.UUID) -> None:
        if not await self.conversations.delete_owned(conversation_id, owner.id):
            raise ConversationNotFound

    async def append(
        self, owner: Principal, conversation_id: uuid.UUID, batch: MessageBatch
    ) -> MessageList:
        """All the batch's messages or, on any failure, none of them."""
        added = len(batch.messages)
        if not await self.conversations.record_messages(conversation_id, owner.id, added):
            raise ConversationNotFound
        stored = await self.messages.append(conversation_id, batch.messages)
        return MessageList.model_validate({"items": stored})

    async def messages_after(
        self, owner: Principal, conversation_id: uuid.UUID, position: int | None, limit: int
    ) -> list[MessageRead]:
        """Up to `limit` messages after `position`, oldest first."""
        await self.ensure_owned(owner, conversation_id)
        messages = await self.messages.list(
            *messages_after(conversation_id, position), order_by=(Message.id,), limit=limit
        )
        return [MessageRead.model_validate(message) for message in messages]

    async def transfer(
        self, owner: Principal, conversation_id: uuid.UUID, recipient_id: int
    ) -> ConversationRead:
        await self.ensure_owned(owner, conversation_id)
        if recipient_id == owner.id or await self.users.get_principal_or_none(recipient_id) is None:
            raise InvalidRecipient
        if not await self.conversations.change_owner(conversation_id, owner.id, recipient_id):
            raise ConversationNotFound  # transferred (or deleted) by a concurrent request
        transferred = await self.conversations.get_with_owner(conversation_id)
        assert transferred is not None  # changed by this transaction, which still holds it
        return ConversationRead.model_validate(transferred)

    async def recount_messages(self) -> None:
        """Set every conversation's message count from its messages (after a bulk load,
        which writes messages without counting them)."""
        await self.conversations.recount_messages()

    async def export(
        self, owner: Principal, conversation_id: uuid.UUID
    ) -> Callable[[AsyncSession], AsyncIterator[Sequence[AnyRow]]]:
        """Every message of an owned conversation, in batches, as a stream to read later
        on a session of its own (the response outlives this unit of work)."""
        await self.ensure_owned(owner, conversation_id)

        def batches(session: AsyncSession) -> AsyncIterator[Sequence[AnyRow]]:
            return MessageRepository(session).export(conversation_id, owner.id)

        return batches

    async def ensure_owned(self, owner: Principal, conversation_id: uuid.UUID) -> None:
        if not await self.conversations.is_owned(conversation_id, owner.id):
            raise ConversationNotFound

    async def _owned(self, owner: Principal, conversation_id: uuid.UUID) -> Conversation:
        conversation = await self.conversations.get_with_owner(conversation_id, owner.id)
        if conversation is None:
            raise ConversationNotFound
        return conversation
