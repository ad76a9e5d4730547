"""What the accounts feature refuses, each with its stable code."""

from agora.kernel.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
)


class EmailTaken(Conflict):
    default_code = "email_taken"
    default_detail = "This email is already registered."


class UsernameTaken(Conflict):
    default_code = "username_taken"
    default_detail = "This username is taken."


class WeakPassword(InvalidInput):
    default_code = "weak_password"
    default_detail = "This password is too easy to guess."


class InvalidCurrentPassword(Forbidden):
    """Changing one's own password or email takes the password in use: a stolen token
    alone must not take the account for good."""

    default_code = "invalid_current_password"
    default_detail = "current_password is missing or wrong."


class InvalidCredentials(NotAuthenticated):
    default_code = "invalid_credentials"
    default_detail = "Incorrect username, email or password."


class UserNotFound(NotFound):
    default_detail = "User not found."


class NotYourAccount(Forbidden):
    default_detail = "You can only change your own account."


class AdminsOnly(Forbidden):
    """Emails and account states are for admins to see and change."""

    default_detail = "Only admins can see or change whether an account is active."


class InvalidGrant(DomainError):
    """A refresh token that cannot be used, whatever the reason: the answer does not say
    which (RFC 6749, 5.2)."""

    default_code = "invalid_grant"
    default_detail = "The refresh token is invalid, expired, used up or revoked."


class RefreshTokenReused(InvalidGrant):
    """A used-up refresh token presented again: evidence that it was stolen (RFC 9700,
    4.14.2). Its session has been ended, and that must be kept although the request is
    refused."""


class SessionNotFound(NotFound):
    default_detail = "Session not found."
