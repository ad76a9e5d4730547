"""Every feature's models, imported in one place so `Base.metadata` is complete.

Alembic's env.py and anything that looks at the whole schema import this module first.
"""

from agora.users.models import User

__all__ = ["User"]
