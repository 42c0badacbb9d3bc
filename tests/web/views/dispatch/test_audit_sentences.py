"""Every action the audit log records reads as a sentence in the console's log, never as
"other action"."""

from __future__ import annotations

from web.db.audit import ACTIONS
from web.views.dispatch.audit_words import SENTENCES


def test_every_audit_action_has_its_sentence():
    assert set(ACTIONS) - set(SENTENCES) == set()
