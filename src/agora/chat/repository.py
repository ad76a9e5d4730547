"""All SQL of chat history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import joinedload

from agora.chat.models import Conversation, Message
from agora.db.keyset import Ordering
from agora.db.repository import AnyRow, Repository
from agora.db.streams import bounded_batches
from agora.db.types import utc_now

if TYPE_CHECKING:
    import uuid
    from collections.abc import AsyncIterator, Sequence

    from sqlalchemy import ColumnElement

    from agora.chat.schemas import MessageCreate


# The fields of an exported message: those of a message in the API.
EXPORT_COLUMNS = ("id", "conversation_id", "role", "content", "created_at")


# Statements about one conversation, built once (see agora.db.repository) and run with
# `_ownership(...)`: restricted by `_OWNED`, they match nothing when the caller does not
# own the conversation.
_BY_ID = Conversation.id == bindparam("conversation")
_BY_OWNER = Conversation.owner_id == bindparam("owner")
_OWNED = (_BY_ID, _BY_OWNER)
# populate_existing: an owner read again after a transfer must not come from the session.
_WITH_OWNER_BY_ID = (
    select(Conversation)
    .where(_BY_ID)
    .options(joinedload(Conversation.owner))
    .execution_options(populate_existing=True)
)
_OWNED_WITH_OWNER = _WITH_OWNER_BY_ID.where(_BY_OWNER)
_IS_OWNED = select(select(Conversation.id).where(*_OWNED).exists())
_RECORD_MESSAGES = (
    update(Conversation)
    .where(*_OWNED)
    .values(
        updated_at=bindparam("now"), message_count=Conversation.message_count + bindparam("added")
    )
)
_CHANGE_OWNER = (
    update(Conversation)
    .where(*_OWNED)
    .values(updated_at=bindparam("now"), owner_id=bindparam("new_owner"))
)
_DELETE_OWNED = delete(Conversation).where(*_OWNED)
_EXPORT = (
    select(*(getattr(Message, column) for column in EXPORT_COLUMNS))
    .join(Conversation, Conversation.id == Message.conversation_id)
    .where(*_OWNED)
    .order_by(Message.id)
)


WITH_OWNER = (joinedload(Conversation.owner),)
RECENTLY_ACTIVE_FIRST = Ordering(
    "conversations", Conversation.updated_at.desc(), Conversation.id.desc()
)


def _ownership(conversation_id: uuid.UUID, owner_id: int) -> dict[str, Any]:
    return {"conversation": conversation_id, "owner": owner_id}


class ConversationRepository(Repository[Conversation]):
    model = Conversation

    async def get_with_owner(
        self, conversation_id: uuid.UUID, owner_id: int | None = None
    ) -> Conversation | None:
        """The conversation and its owner; with `owner_id`, only if that user owns it."""
        if owner_id is None:
            result = await self.session.execute(
                _WITH_OWNER_BY_ID, {"conversation": conversation_id}
            )
        else:
            result = await self.session.execute(
                _OWNED_WITH_OWNER, _ownership(conversation_id, owner_id)
            )
        conversation: Conversation | None = result.scalar_one_or_none()
        return conversation

    async def is_owned(self, conversation_id: uuid.UUID, owner_id: int) -> bool:
        result = await self.session.execute(_IS_OWNED, _ownership(conversation_id, owner_id))
        return bool(result.scalar())

    async def record_messages(self, conversation_id: uuid.UUID, owner_id: int, added: int) -> bool:
        """Count `added` new messages and mark the conversation active, if `owner_id` owns
        it. The UPDATE also takes the row's lock until COMMIT, so appends to one
        conversation happen one after the other and their ids grow in commit order: a
        reader paging by id never misses a batch that commits late."""
        parameters = {**_ownership(conversation_id, owner_id), "now": utc_now(), "added": added}
        return await self.affected(_RECORD_MESSAGES, parameters) == 1

    async def change_owner(
        self, conversation_id: uuid.UUID, owner_id: int, new_owner_id: int
    ) -> bool:
        """Give the conversation to `new_owner_id` if `owner_id` still owns it: of two
        concurrent transfers, the second finds nothing to update."""
        parameters = {
            **_ownership(conversation_id, owner_id),
            "now": utc_now(),
            "new_owner": new_owner_id,
        }
        return await self.affected(_CHANGE_OWNER, parameters) == 1

    async def recount_messages(self) -> None:
        """Set every conversation's message count from its messages (after a bulk load,
        which writes messages without counting them)."""
        counted = (
            select(func.count(Message.id))
            .where(Message.conversation_id == Conversation.id)
            .scalar_subquery()
        )
        await self.affected(update(Conversation).values(message_count=counted))

    async def delete_owned(self, conversation_id: uuid.UUID, owner_id: int) -> bool:
        """Delete it if `owner_id` owns it; its messages go with it in the database."""
        return await self.affected(_DELETE_OWNED, _ownership(conversation_id, owner_id)) == 1


def messages_after(conversation_id: uuid.UUID, position: int | None) -> list[ColumnElement[bool]]:
    """The conversation's messages with ids above `position` (all with None)."""
    where = [Message.conversation_id == conversation_id]
    if position is not None:
        where.append(Message.id > position)
    return where


class MessageRepository(Repository[Message]):
    model = Message

    async def append(
        self, conversation_id: uuid.UUID, messages: Sequence[MessageCreate]
    ) -> list[AnyRow]:
        """One multi-row INSERT; the messages come back in order, ids ascending."""
        now = utc_now()
        return await self.insert_returning(
            [
                {
                    "conversation_id": conversation_id,
                    "role": message.role,
                    "content": message.content,
                    "created_at": now,
                }
                for message in messages
            ]
        )

    async def export(
        self, conversation_id: uuid.UUID, owner_id: int
    ) -> AsyncIterator[Sequence[AnyRow]]:
        """Every message of the conversation, oldest first, in batches bounded in rows
        and bytes (`bounded_batches`) streamed from a server-side cursor. Checks
        ownership in the same statement, so a conversation transferred away meanwhile
        exports nothing."""
        result = await self.session.stream(_EXPORT, _ownership(conversation_id, owner_id))
        async for batch in bounded_batches(result):
            yield batch
