"""What every layer shares and nothing else: the principal, domain errors, page types.

Pure Python: no SQLAlchemy, no FastAPI. Everything else may import it; it imports nothing
of agora.
"""
