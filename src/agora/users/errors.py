"""What the accounts feature refuses, each with its stable code."""

from agora.kernel.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound


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
