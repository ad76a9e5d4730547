"""agora: a community-marketplace API on FastAPI and SQLAlchemy async."""

__version__ = "0.1.0"
