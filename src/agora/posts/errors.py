"""What the blog refuses."""

from agora.kernel.errors import Forbidden, NotFound


class PostNotFound(NotFound):
    """Also a draft the caller may not see: it does not exist for them."""

    default_detail = "Post not found."


class CommentNotFound(NotFound):
    default_detail = "Comment not found."


class NotYourPost(Forbidden):
    default_detail = "Only the post's author or an admin can change it."


class NotYourComment(Forbidden):
    default_detail = "Only the comment's author, the post's author or an admin can."
