"""What chat history refuses."""

from agora.kernel.errors import NotFound


class ConversationNotFound(NotFound):
    """Also someone else's conversation: it does not exist for the caller."""

    default_detail = "Conversation not found."
