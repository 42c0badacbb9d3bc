"""Message catalogues: `.po` files are the source; they are compiled when the app starts.

Compiled `.mo` files are build products, so they are written to the instance folder, not
kept in git. Chinese is the default language; English is a catalogue like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, has_app_context
from flask_babel import get_locale, gettext

from taxvan.messages import Message, from_json, render

SOURCE = Path(__file__).resolve().parent / "translations"


def compiled_catalogs(app: Flask) -> Path:
    """Compile every `translations/<lang>/LC_MESSAGES/messages.po` that changed; return the dir."""
    target = Path(app.instance_path) / "translations"
    for po in SOURCE.glob("*/LC_MESSAGES/messages.po"):
        mo = target / po.relative_to(SOURCE).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalog = read_po(f)
        tmp = mo.with_suffix(".tmp")
        with tmp.open("wb") as f:
            write_mo(f, catalog)
        tmp.replace(mo)
    return target


def translate(msg: Message | str | Any) -> str:
    """The domain's `Message` in the reader's language, nested Messages translated too; a
    Message stored as JSON (`taxvan.messages.as_json`) or older plain text is read back
    first (`from_json`)."""
    read = from_json(msg)
    if isinstance(read, Message) and has_app_context() and g.get("stop_names_of") is not None:
        if g.get("stop_names") is None:
            g.stop_names = g.stop_names_of()
        read = _named(read, g.stop_names)
    return render(read, gettext, str(get_locale() or "zh"))


STOP_KEYS = frozenset({"stop"})
"""The names of a message's values that hold a stop id (the domain names stops by id)."""
STOP_LIST_KEYS = frozenset({"stops"})
"""... and of those that hold several, joined."""


def show_stop_names(names_of: Callable[[], Mapping[str, str]]) -> None:
    """For this request, messages that name a stop by id show its name instead: a dispatcher
    reads "高家庄村委会", not "370704008285". `names_of` is asked once, when a message needs it."""
    g.stop_names_of = names_of
    g.stop_names = None


def _named(msg: Message, names: Mapping[str, str], all_stops: bool = False) -> Message:
    """`msg` with stop ids under `STOP_KEYS` named; a list of stops (`STOP_LIST_KEYS`, joined
    as nested messages) has every part named."""
    values: dict[str, Any] = {}
    for k, v in msg.values.items():
        stops = all_stops or k in STOP_LIST_KEYS
        if isinstance(v, Message):
            values[k] = _named(v, names, stops)
        elif isinstance(v, str) and (stops or k in STOP_KEYS):
            values[k] = names.get(v, v)
        else:
            values[k] = v
    return Message(msg.template, values)
