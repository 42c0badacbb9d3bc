"""Message catalogues: `.po` files are the source; they are compiled when the app starts.

Compiled `.mo` files are build products, so they are written to the instance folder, not
kept in git. Chinese is the default language; English is a catalogue like any other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
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
    return render(from_json(msg), gettext, str(get_locale() or "zh"))
