"""Messages the domain and the planner give to people, kept translatable.

The domain has no Flask and no catalogue, so it cannot translate; it must not format English
either, or the Chinese console shows English. A `Message` is an English template with named
`%(name)s` placeholders and the values to put in them. `str()` gives the English text (logs,
the command line in English); the web layer translates the template and then fills it in
(`web.i18n.translate`). Values may be Messages themselves: they are translated first.

Mark every template with `N_` where it is written, so the catalogue extraction finds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def N_(template: str) -> str:
    """Mark `template` for translation; return it unchanged."""
    return template


@dataclass(frozen=True)
class Message:
    """An English template with named placeholders and their values."""

    template: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return render(self, lambda template: template)


def message(template: str, **values: Any) -> Message:
    """A Message; `template` should be a literal wrapped in `N_` at the call site."""
    return Message(template, values)


def render(msg: Message | str, lookup: Any) -> str:
    """Fill in `msg` with `lookup(template)` as the template; nested Messages rendered alike."""
    if isinstance(msg, str):
        return msg
    values = {k: render(v, lookup) if isinstance(v, Message) else v for k, v in msg.values.items()}
    text: str = lookup(msg.template)
    return text % values if values else text
