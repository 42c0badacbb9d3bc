"""Who sees a taxpayer's name and mobile number in the console: one rule, written once.

The rule (README, "Names and phones in the console"): a taxpayer's name and mobile number, and a
door-to-door request's firm, contact, address and credit code, are shown whole to a signed-in
user whose own district is the row's district: its dispatchers, who call the taxpayers and
print the crew's sheets (and an admin who belongs to that district, who works there). Everyone
else (an admin of no district or of another; a dispatcher of another district, whom the
console's guard refuses anyway) sees them masked, on every page and in every download alike:

* a name keeps its first character: 纳税人1 -> 纳*;
* a mobile number keeps its first three and last four digits: 13800138000 -> 138****8000
  (enough to tell rows apart and to recognise a number read out on the phone, not to call it);
* an address or a credit code is hidden whole: •••;
* a notice whose text names the taxpayer (a door-to-door answer names the firm and its
  address) is hidden whole.

Pages and downloads call `people_for(user, district_id)` once and show every value through the
`People` it returns; nothing else decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taxvan.notices import NoticeKind

HIDDEN = "•••"
"""What a masked address, credit code or notice text shows."""

NAMING_KINDS = frozenset({NoticeKind.DOOR_ACCEPTED.value, NoticeKind.DOOR_DECLINED.value})
"""Notice kinds whose text names the taxpayer (the firm and its address)."""


def mask_name(name: str | None) -> str:
    """A name with only its first character: 纳税人1 -> 纳*."""
    return f"{name[0]}*" if name else ""


def mask_phone(phone: str | None) -> str:
    """A mobile number with its first three and last four digits: 138****8000."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def mask_text(text: str | None) -> str:
    """An address, a credit code or a text naming someone, hidden whole."""
    return HIDDEN if text else ""


@dataclass(frozen=True)
class People:
    """How one user sees the personal data of one district's rows."""

    full: bool
    """True: names and numbers whole (tel: links on phones); False: masked."""

    def name(self, value: str | None) -> str:
        return (value or "") if self.full else mask_name(value)

    def phone(self, value: str | None) -> str:
        return (value or "") if self.full else mask_phone(value)

    def private(self, value: str | None) -> str:
        """An address or a credit code."""
        return (value or "") if self.full else mask_text(value)

    def notice_text(self, kind: str, text: str) -> str:
        """An outbox notice's text: hidden whole when it names the taxpayer."""
        return text if self.full or str(kind) not in NAMING_KINDS else mask_text(text)


def people_for(user: Any, district_id: int | None) -> People:
    """How `user` (the signed-in console user: role, district) sees names and phones of rows
    of district `district_id`: whole for the district's own people, else masked."""
    if user is None or not getattr(user, "is_authenticated", False):
        return People(full=False)
    own = getattr(user, "district_id", None)
    return People(full=own is not None and district_id is not None and own == district_id)
