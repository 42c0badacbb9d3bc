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


def test_a_message_stored_as_json_reads_back_and_old_text_stays_text() -> None:
    from taxvan.messages import Names, as_json, from_json

    msg = message(
        N_("%(date)s is a holiday (%(name)s) on %(day)s"),
        date="2026-10-01",
        name=Names("National Day", "国庆节"),
        day=message(N_("Thursday")),
    )
    back = from_json(as_json(msg))
    assert back == msg and str(back) == "2026-10-01 is a holiday (National Day) on Thursday"
    table = {
        "Thursday": "周四",
        "%(date)s is a holiday (%(name)s) on %(day)s": "%(date)s（%(day)s）为%(name)s",
    }
    assert render(back, table.__getitem__, "zh") == "2026-10-01（周四）为国庆节"
    assert from_json("an old English reason") == "an old English reason"
    assert from_json(None) == ""
