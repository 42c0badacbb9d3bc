"""Senders: how a notice leaves the outbox.

`OutboxOnly` (the default) sends nothing: notices stay in the outbox, where the bureau reads
and exports them to send by hand. `HttpGateway` posts each notice to an SMS gateway over HTTP
(`TAXVAN_SMS_URL`):

    POST <TAXVAN_SMS_URL>
    Content-Type: application/json; charset=utf-8
    Authorization: Bearer <TAXVAN_SMS_TOKEN>          (when a token is set)
    Idempotency-Key: taxvan-notice-<id>
    {"id": "taxvan-notice-<id>", "phone": "13800138000", "text": "...", "lang": "zh"}

Any 2xx is delivered. A 4xx other than 401, 403, 408, 409 and 429 means the gateway refused
this message (a bad number, a text it will not send): it is not retried. Anything else (5xx,
a timeout, no connection, a refused token) is retried later; the idempotency key lets the
gateway drop a message it received twice (a run that died after sending, before recording).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class Outgoing:
    """A claimed notice as a sender sees it."""

    id: int
    phone: str
    text: str
    lang: str
    attempts: int


RETRIED_4XX = frozenset({401, 403, 408, 409, 429})
"""Client errors worth trying again: the token (fixable), a timeout, a conflict, a rate limit."""


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt to send a notice."""

    result: Literal["sent", "retry", "rejected"]
    error: str = ""


class Sender(Protocol):
    """Something that delivers notices; `delivers` False keeps them in the outbox."""

    delivers: bool

    def send(self, notice: Outgoing) -> Outcome: ...


class OutboxOnly:
    """The default: nothing leaves; the dispatcher reads and exports the outbox."""

    delivers = False

    def send(self, notice: Outgoing) -> Outcome:  # pragma: no cover - never called
        return Outcome("retry", "no SMS gateway configured")


def idempotency_key(notice: Outgoing) -> str:
    return f"taxvan-notice-{notice.id}"


class HttpGateway:
    """An SMS gateway reached with one JSON POST per notice (see the module docstring)."""

    delivers = True

    def __init__(self, url: str, token: str = "", timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def request(self, notice: Outgoing) -> urllib.request.Request:
        key = idempotency_key(notice)
        body = {"id": key, "phone": notice.phone, "text": notice.text, "lang": notice.lang}
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": key,
            "User-Agent": "taxvan-notices",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body, ensure_ascii=False).encode()
        return urllib.request.Request(self.url, data=data, headers=headers, method="POST")

    def send(self, notice: Outgoing) -> Outcome:
        try:
            with urllib.request.urlopen(self.request(notice), timeout=self.timeout) as resp:
                resp.read(1024)
                return Outcome("sent")
        except urllib.error.HTTPError as exc:
            detail = _excerpt(exc)
            error = f"HTTP {exc.code}{': ' + detail if detail else ''}"
            if 400 <= exc.code < 500 and exc.code not in RETRIED_4XX:
                return Outcome("rejected", error)
            return Outcome("retry", error)
        except TimeoutError:
            return Outcome("retry", f"no answer within {self.timeout:g} s")
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                return Outcome("retry", f"no answer within {self.timeout:g} s")
            return Outcome("retry", f"cannot reach the gateway: {reason}")
        except OSError as exc:  # a connection reset half-way
            return Outcome("retry", f"connection failed: {exc}")


def _excerpt(exc: urllib.error.HTTPError) -> str:
    """The start of the gateway's error body, on one line (it is stored as the last error)."""
    try:
        raw = exc.read(300)
    except OSError:
        return ""
    return " ".join(raw.decode("utf-8", "replace").split())[:200]
