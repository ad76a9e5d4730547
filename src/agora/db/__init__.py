"""The data-access kit: engines, sessions, the declarative base and the generic repository.

It knows SQLAlchemy and the three supported databases, and no feature.
"""
