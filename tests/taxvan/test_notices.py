"""Notice texts: every kind in both languages fits one SMS with the longest realistic names,
cut cleanly, and never with a booking code, a date or a time cut."""

from __future__ import annotations

import datetime as dt

import pytest

from taxvan.notices import (
    GSM_LIMIT,
    UCS2_LIMIT,
    NoticeData,
    NoticeKind,
    fits_one_sms,
    format_day,
    render,
    shorten,
    sms_units,
)

CODE = "ABCDEFGH"
DAY = dt.date(2026, 12, 30)  # Wednesday 30 December: the longest day in both languages

LONG_ZH = NoticeData(
    code=CODE,
    date=DAY,
    start="13:45",
    end="16:15",
    place="黄旗堡街道潍坊滨海经济技术开发区新材料产业园区管理委员会服务中心（示例）",
    service="全事项预约与辅导办理服务",
    name="潍坊市坊子区黄旗堡街道某某新能源新材料科技股份有限公司第一分公司",
    reason="暴雨红色预警道路积水严重部分路段封闭无法通行",
    hotline="0536-12366",
)
LONG_EN = NoticeData(
    code=CODE,
    date=DAY,
    start="13:45",
    end="16:15",
    place="Huangqibao Sub-district Weifang Binhai Economic Development Zone New Materials "
    "Industrial Park Service Centre",
    service="Appointment for any other matter with guided handling",
    name="Weifang Fangzi Huangqibao Something New Energy Materials Technology Co., Ltd. "
    "First Branch",
    reason="red rainstorm warning, roads flooded and closed",
    hotline="0536-12366",
)
SHORT = NoticeData(
    code=CODE,
    date=DAY,
    start="09:00",
    end="10:00",
    place="西曹庄村委会",
    service="咨询",
    name="王记理发店",
    reason="车辆故障",
    hotline="12366",
)


def _mixed() -> NoticeData:
    """An English notice names the Chinese stop (stop names are Chinese only)."""
    return NoticeData(**{**LONG_EN.__dict__, "place": LONG_ZH.place, "name": LONG_ZH.name})


CASES = [
    ("zh", LONG_ZH),
    ("en", LONG_EN),
    ("en", _mixed()),
    ("zh", SHORT),
    ("en", SHORT),
]


@pytest.mark.parametrize("kind", list(NoticeKind))
@pytest.mark.parametrize(("lang", "data"), CASES)
def test_every_kind_fits_one_sms_and_keeps_code_date_and_time(kind, lang, data):
    text = render(kind, data, lang)
    length, limit = sms_units(text)
    assert length <= limit, text
    if kind is NoticeKind.DOOR_DECLINED:  # no date: a reason and whom to call
        assert data.hotline in text
        return
    assert format_day(DAY, lang) in text and data.start in text
    if kind is NoticeKind.DOOR_ACCEPTED:
        assert data.end in text
    else:
        assert CODE in text


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_short_names_are_never_cut(kind):
    for lang in ("zh", "en"):
        text = render(kind, SHORT, lang)
        assert "…" not in text and "..." not in text, text
    assert "西曹庄村委会" in render(kind, SHORT, "zh") or kind in (
        NoticeKind.DOOR_DECLINED,
        NoticeKind.DOOR_CANCELLED,
        NoticeKind.VISIT_CANCELLED,
    )


def test_chinese_text_counts_against_70_and_english_against_160():
    assert sms_units("预约" * 35) == (70, UCS2_LIMIT)
    assert fits_one_sms("预约" * 35) and not fits_one_sms("预约" * 35 + "。")
    assert sms_units("a" * 160) == (160, GSM_LIMIT) and not fits_one_sms("a" * 161)
    # One character outside the GSM alphabet turns the whole message into UCS-2.
    assert sms_units("a" * 69 + "坊")[1] == UCS2_LIMIT
    # GSM extension characters take two septets.
    assert sms_units("[x]") == (5, GSM_LIMIT)


def test_an_english_notice_with_a_chinese_place_fits_70():
    text = render(NoticeKind.BOOKED, _mixed(), "en")
    assert sms_units(text)[1] == UCS2_LIMIT and len(text) <= 70
    assert text.startswith("Booked: ")


def test_a_long_place_is_cut_cleanly_and_the_rest_is_whole():
    huge = NoticeData(**{**LONG_ZH.__dict__, "place": LONG_ZH.place * 2})
    text = render(NoticeKind.REMINDER, huge, "zh")
    assert "…" in text and sms_units(text)[0] == UCS2_LIMIT
    assert "黄旗堡街道" in text  # the start of the name is kept
    assert "…（" not in text and "（…" not in text
    english = render(NoticeKind.BOOKED, LONG_EN, "en")
    # Latin names are cut between words, with an ASCII ellipsis (stays in GSM-7).
    cut = [w for w in english.split() if w.endswith("...")]
    assert sms_units(english)[1] == GSM_LIMIT
    for word in cut:
        assert (
            word[:-3] in LONG_EN.place.split() + LONG_EN.service.split()
            or word[:-3].rstrip(",") in (LONG_EN.place + " " + LONG_EN.service).split()
        )


def test_shorten_never_leaves_a_dangling_bracket_or_half_word():
    assert shorten("太保庄街道重点项目工地（示例）", 13, "…") == "太保庄街道重点项目工地…"
    assert shorten("Key Project Site Industrial Park", 20, "...") == "Key Project Site..."
    assert shorten("短名", 10, "…") == "短名"


def test_dates_read_naturally():
    assert format_day(dt.date(2026, 12, 1), "zh") == "12月1日周二"
    assert format_day(dt.date(2026, 12, 1), "en") == "Tue 1 Dec"


def test_an_unknown_language_falls_back_to_chinese():
    assert render(NoticeKind.BOOKED, SHORT, "fr").startswith("预约成功")
