"""A domain message reads in English by itself and in the reader's language through the web."""

from __future__ import annotations

from taxvan.messages import N_, message, render


def test_a_message_fills_its_values_and_nested_messages_in_english() -> None:
    day = message(N_("Thursday"))
    msg = message(N_("no room on %(day)s for %(stop)s"), day=day, stop="P")
    assert str(msg) == "no room on Thursday for P"


def test_a_message_uses_the_translated_template_for_itself_and_its_parts() -> None:
    table = {"Thursday": "周四", "no room on %(day)s for %(stop)s": "%(day)s没有空余时间给%(stop)s"}
    msg = message(N_("no room on %(day)s for %(stop)s"), day=message(N_("Thursday")), stop="P")
    assert render(msg, table.__getitem__) == "周四没有空余时间给P"
