"""Dispatcher sign-in: users, Argon2 password hashes, Flask-Login sessions.

Passwords are hashed with Argon2id through argon2-cffi (the Password Hashing Competition's
winner and OWASP's first choice; argon2-cffi is maintained and has `check_needs_rehash`, so
hashes follow the library's parameters as they are raised). passlib was not used: its last
release is from 2020 and it breaks with current bcrypt releases.

A session names the user by `id:session_token`; signing out, being disabled and a new password
change the token, so every session of that user ends at its next request (a copied cookie
included), not when its cookie expires. A session also ends after `session_idle_minutes`
without a request (a crew's: `crew_session_idle_minutes`, since the van's phone lies idle
through a long stop) and `session_max_hours` after signing in (`web.config`), read on the app's
clock from the two times the signed session cookie carries. A crew's session cookie is kept
when the phone's browser closes (a persistent cookie, expiring with the absolute maximum).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app, session
from flask_login import LoginManager, login_user
from sqlalchemy import select

from taxvan.errors import TaxvanError
from taxvan.io.loaders import FORMULA_FIRST
from web.clock import china_now
from web.db import audit
from web.db.models import District, User
from web.extensions import db
from web.operations.unit import transaction

ROLES = ("dispatcher", "admin", "crew")
"""A dispatcher runs one district; an admin all of them; a van's crew (`crew`) reads its
district's day sheets and records its visits on the van's phone, and nothing else."""
DISTRICT_ROLES = ("dispatcher", "crew")
"""Roles that need a district."""
MIN_PASSWORD = 10
"""Characters a password needs at least (NIST SP 800-63B asks for 8 at the very least)."""
MIN_DISTINCT = 5
"""Different characters a password needs at least: "aaaaaaaaaa" and "1212121212" are refused."""

SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
"""Session keys: when this browser signed in and when it last asked for a console page (POSIX
seconds on the app's clock). The session cookie is signed, so neither can be moved forward."""
ENDED = "session_ended"
"""Session key: why the last session of this browser ended ("idle", "lifetime", "ended"), for the
sign-in page to say."""
ENDED_IDLE = "session_idle_minutes"
"""Session key: the idle minutes the ended session was allowed (a crew's are longer)."""
SEEN_STEP_S = 60
"""The last-seen time is rewritten at most once a minute, not on every request."""

hasher = PasswordHasher()
_DUMMY_HASH = hasher.hash(secrets.token_hex(16))
"""Verified against when the name is unknown, so a wrong name takes as long as a wrong
password and the timing does not tell which names exist."""

login_manager = LoginManager()
login_manager.login_view = "dispatch.sign_in"
login_manager.session_protection = None
"""Flask-Login's "strong"/"basic" protection rewrites the session of every visitor whose session
holds anything (a chosen language) on every public page; the session token in the user id
already ends stolen or stale sessions at sign-out, a new password or a disabled account."""


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


@dataclass(frozen=True)
class PasswordProblem:
    """One reason a password form is refused: the form field it is about and a code."""

    field: str
    """"current", "new" or "repeat"."""
    code: str
    """"wrong" (the current password), "short", "few_characters", "contains_name",
    "unchanged" (the new one is the current one), "mismatch" (the two copies differ)."""

    def text(self) -> str:
        """In English, for the command line (the console translates the code)."""
        return {
            "wrong": "the current password is wrong",
            "short": f"the password needs at least {MIN_PASSWORD} characters",
            "few_characters": f"the password needs at least {MIN_DISTINCT} different characters",
            "contains_name": "the password must not contain the user name",
            "unchanged": "the new password must differ from the current one",
            "mismatch": "the two passwords differ",
        }[self.code]


class WeakPasswordError(UserError):
    """A password is refused; `problems` says why, each at its field."""

    def __init__(self, problems: list[PasswordProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.text() for p in problems))


def normalise_name(name: str) -> str:
    """User names compare without case and Unicode width differences (NFKC, casefolded)."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def find_user(name: str) -> User | None:
    return db.session.scalar(select(User).where(User.name == normalise_name(name)))


def user_by_id(user_id: int) -> User | None:
    """The user with this id, if there is one."""
    return db.session.get(User, user_id)


def has_users() -> bool:
    """Whether anyone can sign in at all (a new installation has no user yet)."""
    return db.session.scalar(select(User.id).limit(1)) is not None


def all_users() -> list[User]:
    """Every console user, by name."""
    return list(db.session.scalars(select(User).order_by(User.name)))


def name_misleads(name: str) -> bool:
    """Whether a user name would read as another on a screen or run in a spreadsheet: it has
    invisible or control characters (a terminal escape, a zero-width space, a right-to-left
    override) or starts like a formula. A name is shown in the audit log and its downloads."""
    key = normalise_name(name)
    return key[:1] in FORMULA_FIRST or any(unicodedata.category(c)[0] == "C" for c in key)


def create_user(name: str, password: str, role: str, district: District | None) -> User:
    """A new active user; a dispatcher needs a district, an admin may have one."""
    key = normalise_name(name)
    if not key or len(key) > 60 or any(c.isspace() for c in key):
        raise UserError("a user name is 1 to 60 characters without spaces")
    if name_misleads(key):
        raise UserError(
            "a user name has no invisible or control characters and does not start with =, + or @"
        )
    if role not in ROLES:
        raise UserError(f"the role is one of {', '.join(ROLES)}, not {role!r}")
    if role in DISTRICT_ROLES and district is None:
        raise UserError(f"a {role} needs a district (--district CODE)")
    if problems := password_problems(key, password, password):
        raise WeakPasswordError(problems)
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


def password_problems(name: str, password: str, repeat: str) -> list[PasswordProblem]:
    """What keeps `password` from being `name`'s new password (empty when nothing does).

    Length first (NIST SP 800-63B: length, not composition rules), then what makes a long
    password guessable all the same: a few characters repeated, or the user name inside it."""
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(PasswordProblem("new", "short"))
    elif len(set(password)) < MIN_DISTINCT:
        problems.append(PasswordProblem("new", "few_characters"))
    elif len(name) >= 3 and normalise_name(name) in normalise_name(password):
        problems.append(PasswordProblem("new", "contains_name"))
    if repeat != password:
        problems.append(PasswordProblem("repeat", "mismatch"))
    return problems


def end_sessions(user: User) -> None:
    """End every session of `user`, on every browser, at its next request (a new token)."""
    user.session_token = secrets.token_hex(16)


def disable_user(name: str) -> User:
    """Disable a user and end their sessions (the session token changes)."""
    user = find_user(name)
    if user is None:
        raise UserNotFoundError(normalise_name(name))
    user.active = False
    end_sessions(user)
    return user


def set_password(user: User, password: str) -> None:
    """Give `user` a new password and end their sessions (the caller checked it)."""
    user.password_hash = hasher.hash(password)
    end_sessions(user)


def _verified(user: User, password: str) -> bool:
    try:
        return hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_own_password(user_id: int, current: str, new: str, repeat: str) -> User:
    """A user's new password, given their current one; every session of theirs ends (the
    caller starts the browser's own afresh). Raises `WeakPasswordError` with every problem."""

    def work(_unit: object) -> User:
        user = db.session.get(User, user_id)
        if user is None or not user.active:
            raise UserNotFoundError(str(user_id))
        problems = [] if _verified(user, current) else [PasswordProblem("current", "wrong")]
        found = password_problems(user.name, new, repeat)
        if not found and problems == [] and new == current:
            found = [PasswordProblem("new", "unchanged")]
        if problems or found:
            raise WeakPasswordError(problems + found)
        set_password(user, new)
        audit.record(
            "password_change",
            actor=user.name,
            user=user,
            district=user.district,
            details={"user": user.name},
        )
        return user

    return transaction(work, keep_loaded=True)


def reset_password(name: str, new: str, repeat: str, actor: str) -> User:
    """An administrator (or the command line, `actor`) gives user `name` a new password; every
    session of theirs ends. Raises `UserNotFoundError` or `WeakPasswordError`."""

    def work(_unit: object) -> User:
        user = find_user(name)
        if user is None:
            raise UserNotFoundError(normalise_name(name))
        if problems := password_problems(user.name, new, repeat):
            raise WeakPasswordError(problems)
        set_password(user, new)
        audit.record(
            "password_reset",
            actor=actor,
            district=user.district,
            details={"user": user.name},
        )
        return user

    return transaction(work, keep_loaded=True)


def sign_out(user_id: int, address: str | None) -> None:
    """Sign a user out: the audit entry, and every session of theirs ends on the server, so a
    copy of the session cookie taken before (a shared or lost computer) no longer opens the
    console."""

    def work(_unit: object) -> None:
        user = db.session.get(User, user_id)
        if user is None:
            return
        end_sessions(user)
        audit.record(
            "sign_out",
            actor=user.name,
            user=user,
            district=user.district,
            details={"address": address},
        )

    transaction(work)


def start_session(user: User) -> None:
    """A new console session for `user` in this browser: nothing from before signing in
    carries over (session fixation, an old CSRF token), except the language chosen; its
    idle and absolute clocks start now."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user)
    session.permanent = user.role == "crew"
    now = int(china_now().timestamp())
    session[SIGNED_IN_AT] = session[SEEN_AT] = now


def idle_minutes(role: str) -> float:
    """How long a session of `role` may go without a request."""
    cfg = current_app.config["TAXVAN"]
    return cfg.crew_session_idle_minutes if role == "crew" else cfg.session_idle_minutes


def _session_end(role: str) -> str | None:
    """Why this browser's session is over on the app's clock ("idle", "lifetime"), else None;
    a session without its times (from before they were kept) is over too."""
    started, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if not isinstance(started, int) or not isinstance(seen, int):
        return "lifetime"
    cfg = current_app.config["TAXVAN"]
    now = int(china_now().timestamp())
    if now - started > cfg.session_max_hours * 3600:
        return "lifetime"
    if now - seen > idle_minutes(role) * 60:
        return "idle"
    if now - seen >= SEEN_STEP_S:
        session[SEEN_AT] = now
    return None


def _forget(reason: str, idle: float | None = None) -> None:
    """Drop the ended session's sign-in (Flask-Login's keys and the times), keep the rest;
    `idle`: the minutes without a request it was allowed, for the sign-in page to say."""
    for key in ("_user_id", "_fresh", "_id", SIGNED_IN_AT, SEEN_AT):
        session.pop(key, None)
    session[ENDED] = reason
    if idle is not None:
        session[ENDED_IDLE] = round(idle)


def authenticate(name: str, password: str) -> User | None:
    """The active user with this name and password, else None (whichever part was wrong)."""
    user = find_user(name)
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            hasher.verify(_DUMMY_HASH, password)
        return None
    if not _verified(user, password):
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
        _forget("ended")
        return None
    if (reason := _session_end(user.role)) is not None:
        _forget(reason, idle_minutes(user.role))
        return None
    return user


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    # A crew's persistent cookie lasts no longer than a session may (the server ends it anyway).
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(
        hours=app.config["TAXVAN"].session_max_hours
    )
