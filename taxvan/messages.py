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


@dataclass(frozen=True)
class Names:
    """A value the data itself names in both languages (a holiday: National Day, 国庆节):
    the catalogue cannot translate it, so the reader's language picks one."""

    en: str
    zh: str = ""

    def __str__(self) -> str:
        return self.en or self.zh

    def pick(self, language: str) -> str:
        if language.startswith("zh") and self.zh:
            return self.zh
        return self.en or self.zh


def message(template: str, **values: Any) -> Message:
    """A Message; `template` should be a literal wrapped in `N_` at the call site."""
    return Message(template, values)


def render(msg: Message | str, lookup: Any, language: str = "en") -> str:
    """Fill in `msg` with `lookup(template)` as the template; nested Messages rendered alike,
    `Names` in `language`."""
    if isinstance(msg, str):
        return msg
    values = {k: _value(v, lookup, language) for k, v in msg.values.items()}
    text: str = lookup(msg.template)
    return text % values if values else text


def _value(value: Any, lookup: Any, language: str) -> Any:
    if isinstance(value, Message):
        return render(value, lookup, language)
    if isinstance(value, Names):
        return value.pick(language)
    return value


def as_json(msg: Message | str) -> Any:
    """`msg` as plain JSON (template and values, nested Messages alike), for a record that is
    stored and read back later in any language; text stays text."""
    if isinstance(msg, str):
        return msg
    return {"template": msg.template, "values": {k: _json_value(v) for k, v in msg.values.items()}}


def _json_value(value: Any) -> Any:
    if isinstance(value, Message):
        return as_json(value)
    if isinstance(value, Names):
        return {"names": {"en": value.en, "zh": value.zh}}
    return value


def from_json(data: Any) -> Message | str:
    """What `as_json` wrote, read back; older records stored plain English text, which is
    shown as it is."""
    if isinstance(data, Message):
        return data
    if isinstance(data, dict) and isinstance(data.get("template"), str):
        raw = data.get("values") or {}
        values = {k: _read_value(v) for k, v in (raw.items() if isinstance(raw, dict) else [])}
        return Message(data["template"], values)
    return "" if data is None else str(data)


def _read_value(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("names"), dict):
        names = value["names"]
        return Names(str(names.get("en", "")), str(names.get("zh", "")))
    if isinstance(value, dict):
        return from_json(value)
    return value


def joined(parts: list[Message | str], separator: Message | None = None) -> Message | str:
    """Several messages as one (`; ` in English, `；` in Chinese by default)."""
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    sep = separator or message(N_("%(first)s; %(rest)s"))
    out = parts[-1]
    for p in reversed(parts[:-1]):
        out = Message(sep.template, {"first": p, "rest": out})
    return out
