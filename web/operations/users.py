"""Dispatcher sign-in: users, Argon2 password hashes, Flask-Login sessions.

Passwords are hashed with Argon2id through argon2-cffi (the Password Hashing Competition's
winner and OWASP's first choice; argon2-cffi is maintained and has `check_needs_rehash`, so
hashes follow the library's parameters as they are raised). passlib was not used: its last
release is from 2020 and it breaks with current bcrypt releases.

A session names the user by `id:session_token`; disabling a user changes the token, so every
session of that user ends at its next request, not when its cookie expires.
"""

from __future__ import annotations

import contextlib
import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask
from flask_login import LoginManager
from sqlalchemy import select

from taxvan.errors import TaxvanError
from web.clock import china_now
from web.db.models import District, User
from web.extensions import db

ROLES = ("dispatcher", "admin")
MIN_PASSWORD = 10
"""Characters a password needs at least (NIST SP 800-63B asks for 8 at the very least)."""

hasher = PasswordHasher()
_DUMMY_HASH = hasher.hash(secrets.token_hex(16))
"""Verified against when the name is unknown, so a wrong name takes as long as a wrong
password and the timing does not tell which names exist."""

login_manager = LoginManager()
login_manager.login_view = "dispatch.sign_in"
login_manager.session_protection = None
"""Flask-Login's "strong"/"basic" protection rewrites the session of every visitor whose session
holds anything (a chosen language) on every public page; the session token in the user id
already ends stolen or stale sessions when a user is disabled."""


class UserError(TaxvanError):
    """A user command cannot be carried out as asked (the message says why)."""


class UserExistsError(UserError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"a user named {name!r} already exists")


class UserNotFoundError(UserError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no user named {name!r}")


class WeakPasswordError(UserError):
    def __init__(self, length: int) -> None:
        self.length = length
        super().__init__(f"the password has {length} characters; it needs at least {MIN_PASSWORD}")


def normalise_name(name: str) -> str:
    """User names compare without case and Unicode width differences (NFKC, casefolded)."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def find_user(name: str) -> User | None:
    return db.session.scalar(select(User).where(User.name == normalise_name(name)))


def user_by_id(user_id: int) -> User | None:
    """The user with this id, if there is one."""
    return db.session.get(User, user_id)


def all_users() -> list[User]:
    """Every console user, by name."""
    return list(db.session.scalars(select(User).order_by(User.name)))


def create_user(name: str, password: str, role: str, district: District | None) -> User:
    """A new active user; a dispatcher needs a district, an admin may have one."""
    key = normalise_name(name)
    if not key or len(key) > 60 or any(c.isspace() for c in key):
        raise UserError("a user name is 1 to 60 characters without spaces")
    if role not in ROLES:
        raise UserError(f"the role is one of {', '.join(ROLES)}, not {role!r}")
    if role == "dispatcher" and district is None:
        raise UserError("a dispatcher needs a district (--district CODE)")
    if len(password) < MIN_PASSWORD:
        raise WeakPasswordError(len(password))
    if find_user(key) is not None:
        raise UserExistsError(key)
    user = User(
        name=key,
        password_hash=hasher.hash(password),
        role=role,
        district=district,
        active=True,
        session_token=secrets.token_hex(16),
        created_at=china_now().replace(tzinfo=None),
    )
    db.session.add(user)
    return user


def disable_user(name: str) -> User:
    """Disable a user and end their sessions (the session token changes)."""
    user = find_user(name)
    if user is None:
        raise UserNotFoundError(normalise_name(name))
    user.active = False
    user.session_token = secrets.token_hex(16)
    return user


def authenticate(name: str, password: str) -> User | None:
    """The active user with this name and password, else None (whichever part was wrong)."""
    user = find_user(name)
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    ident, _, token = user_id.partition(":")
    if not ident.isdigit():
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.active or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
