"""HTTP endpoints of chat history (/conversations)."""

import uuid
from typing import Annotated

from fastapi import Depends, Response, status
from fastapi.responses import StreamingResponse

from agora.api.dependencies import SessionDep
from agora.api.params import CursorPagination, Pagination
from agora.api.routing import api_router
from agora.api.schemas import CursorPage, Page, not_found
from agora.api.security import CurrentUser
from agora.api.streaming import MEDIA_TYPES, ExportsDep
from agora.chat.repository import EXPORT_COLUMNS
from agora.chat.schemas import (
    BATCH_MAX_BYTES,
    ConversationCreate,
    ConversationDetail,
    ConversationRead,
    ConversationTransfer,
    ConversationUpdate,
    MessageBatch,
    MessageList,
    MessageRead,
)
from agora.chat.service import ChatService

router = api_router("/conversations", tags=["chat"])


async def get_chat_service(session: SessionDep) -> ChatService:
    return ChatService(session)


ChatServiceDep = Annotated[ChatService, Depends(get_chat_service)]
# Anyone's but the caller's conversation is a 404 as much as a missing one.
OWNED = not_found("no such conversation, or not the caller's")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ConversationRead)
async def start_conversation(
    data: ConversationCreate, owner: CurrentUser, chat: ChatServiceDep
) -> ConversationRead:
    return await chat.start(owner, data)


@router.get("", response_model=Page[ConversationRead] | CursorPage[ConversationRead])
async def list_conversations(
    owner: CurrentUser, chat: ChatServiceDep, pagination: Pagination
) -> Page[ConversationRead] | CursorPage[ConversationRead]:
    """The caller's conversations, most recently active first."""
    result = await chat.of_owner(owner, pagination.request)
    return pagination.listing(result, Page[ConversationRead], CursorPage[ConversationRead])


@router.get("/{conversation_id}", response_model=ConversationDetail, responses=OWNED)
async def read_conversation(
    conversation_id: uuid.UUID, owner: CurrentUser, chat: ChatServiceDep
) -> ConversationDetail:
    """With its 20 latest messages, oldest of them first."""
    return await chat.get(owner, conversation_id)


@router.patch("/{conversation_id}", response_model=ConversationRead, responses=OWNED)
async def rename_conversation(
    conversation_id: uuid.UUID, data: ConversationUpdate, owner: CurrentUser, chat: ChatServiceDep
) -> ConversationRead:
    return await chat.rename(owner, conversation_id, data)


@router.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT, responses=OWNED)
async def delete_conversation(
    conversation_id: uuid.UUID, owner: CurrentUser, chat: ChatServiceDep
) -> Response:
    """Its messages go with it."""
    await chat.delete(owner, conversation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageList,
    responses=OWNED,
    max_body_size=BATCH_MAX_BYTES,
)
async def append_messages(
    conversation_id: uuid.UUID, batch: MessageBatch, owner: CurrentUser, chat: ChatServiceDep
) -> MessageList:
    """1 to 1,000 messages, stored all or nothing, in order (ids ascending)."""
    return await chat.append(owner, conversation_id, batch)


@router.get("/{conversation_id}/messages", response_model=CursorPage[MessageRead], responses=OWNED)
async def list_messages(
    conversation_id: uuid.UUID, owner: CurrentUser, chat: ChatServiceDep, page: CursorPagination
) -> CursorPage[MessageRead]:
    """Oldest first. `next_cursor` continues after the last message of the page; it is
    null only when there is nothing after the cursor yet, so a client that keeps its last
    cursor can come back later for messages appended since."""
    messages = await chat.messages_after(owner, conversation_id, page.after, page.limit)
    position = messages[-1].id if messages else None
    return CursorPage[MessageRead].model_validate(page.page(messages, position))


@router.post("/{conversation_id}/transfer", response_model=ConversationRead, responses=OWNED)
async def transfer_conversation(
    conversation_id: uuid.UUID, data: ConversationTransfer, owner: CurrentUser, chat: ChatServiceDep
) -> ConversationRead:
    """Give the conversation to another active user; 422 `invalid_recipient` otherwise."""
    return await chat.transfer(owner, conversation_id, data.to_user_id)


@router.get(
    "/{conversation_id}/export",
    response_class=StreamingResponse,
    responses={200: {"content": {MEDIA_TYPES["ndjson"]: {}}}, **OWNED},
)
async def export_conversation(
    conversation_id: uuid.UUID, owner: CurrentUser, chat: ChatServiceDep, exports: ExportsDep
) -> StreamingResponse:
    """Every message, oldest first, one JSON object per line (each shaped like the
    messages of the message list), streamed from the database without holding the
    conversation in memory."""
    return await exports.start(
        owner.id,
        await chat.export(owner, conversation_id),
        file_format="ndjson",
        columns=EXPORT_COLUMNS,
        filename=f"conversation-{conversation_id}",
    )
