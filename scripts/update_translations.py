"""Extract UI messages and merge them into web/translations/zh (Chinese, the default language).

    python scripts/update_translations.py

New messages are added to the catalogue untranslated and listed; translate them in
`web/translations/zh/LC_MESSAGES/messages.po` (or in ZH below for the first pass).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "web" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"

ZH = {
    "The request was not understood.": "请求无法识别。",
    "This page does not exist.": "页面不存在。",
    "This action is not allowed here.": "此处不允许该操作。",
    "Too many requests. Please wait a minute and try again.": "请求过于频繁，请稍候一分钟再试。",
    "Something went wrong.": "出现了问题。",
    "Something went wrong on our side. Please try again later.": "系统出现问题，请稍后再试。",
    "Enter a valid 18-character unified social credit code or resident ID number.": "请输入有效的18位统一社会信用代码或居民身份证号码。",
    "Enter an 11-digit mainland mobile number.": "请输入11位大陆手机号码。",
    "Service": "服务事项",
    "Choose a service.": "请选择服务事项。",
    "Time": "时间",
    "Choose a time.": "请选择时间。",
    "Taxpayer ID (unified social credit code or ID number)": "纳税人识别号（统一社会信用代码或身份证号）",
    "Enter the taxpayer ID.": "请输入纳税人识别号。",
    "Name": "姓名",
    "Enter your name.": "请输入姓名。",
    "At most 100 characters.": "最多100个字符。",
    "Mobile phone": "手机号码",
    "Enter your mobile phone number.": "请输入手机号码。",
    "Booking code": "预约码",
    "Enter the booking code.": "请输入预约码。",
    "Check the code.": "请核对预约码。",
    "New time": "新时间",
    "Choose a new time.": "请选择新的时间。",
    "This time is no longer available.": "该时段已被预约。",
    "This time is no longer available, and this visit is fully booked.": "该时段已被预约，本次服务已约满。",
    "Booking for this time has closed.": "该时段的预约已截止。",
    "You already have a booking at an overlapping time.": "您在相同时间已有预约。",
    "No booking matches this code and phone number.": "没有与该预约码和手机号码相符的预约。",
    "This booking is already cancelled.": "该预约已取消。",
    "Booking for this visit opens on %(when)s.": "本次服务将于 %(when)s 开放预约。",
    "You already hold the most open bookings allowed.": "您的有效预约已达上限。",
    "Link to this page": "本页链接",
    "Mobile tax service van": "移动智能办税车",
    "Skip to content": "跳到正文",
    "Main": "主菜单",
    "Schedule": "服务时间表",
    "My booking": "我的预约",
    "Tax service hotline": "纳税服务热线",
    "All times are China time.": "所有时间均为北京时间。",
    "Booking": "预约",
    "You are booked": "预约成功",
    "Your booking": "您的预约",
    "Status": "状态",
    "booked": "已预约",
    "cancelled": "已取消",
    "moved to a new time": "已改约到新时间",
    "Where": "地点",
    "When": "时间",
    "Bring": "请携带",
    "Keep the code: with it and your phone number you can look up, move or cancel the booking.": "请保存预约码：凭预约码和手机号码可以查询、改约或取消预约。",
    "Cancel this booking": "取消预约",
    "Move to another time": "改约到其他时间",
    "Move the booking": "确认改约",
    "Back to the schedule": "返回服务时间表",
    "No schedule is published yet.": "尚未发布服务时间表。",
    "Where the van is this week": "本周办税车服务安排",
    "%(date)s is a public holiday (%(name)s): the van does not run.": "%(date)s 为法定节假日（%(name)s），办税车暂停服务。",
    "%(date)s is a make-up working day: the van runs.": "%(date)s 为调休工作日，办税车正常服务。",
    "every other week": "隔周",
    "%(date)s is a make-up working day: the van runs the %(weekday)s timetable.": "%(date)s 为调休工作日，办税车按%(weekday)s的时间表服务。",
    "Map of this week's routes": "本周路线地图",
    "Open the map full screen": "全屏查看地图",
    "By day": "按日期",
    "Book": "预约",
    "No visits this week.": "本周没有服务安排。",
    "By street": "按街道",
    "Open data": "开放数据",
    "Timetable": "时间表",
    "Other weeks:": "其他周：",
    "Book a time": "预约办税时间",
    "Nearest free times:": "最近的可预约时间：",
    "Show times": "查看可约时间",
    "No bookable time is left for this service. Walk-ins are welcome at the van.": "该事项已无可预约时间，欢迎现场办理。",
    "Your ID, name and phone are used only for this booking and are never shown in public.": "您的证件号码、姓名和电话仅用于本次预约，不会公开显示。",
    "Look up a booking": "查询预约",
    "Look up": "查询",
    "Day": "星期",
    "No visit in the next two weeks.": "未来两周没有服务安排。",
    "Services:": "服务事项：",
    "Scan to see the times and book": "扫码查看时间并预约",
    "approximate location": "位置为估算",
    "Map of the stop": "服务点地图",
    "Upcoming visits": "近期服务时间",
    "%(n)s times free": "%(n)s 个时段可约",
    "no bookable time (walk-ins welcome)": "已无可约时段（欢迎现场办理）",
    "No visit in the next four weeks.": "未来四周没有服务安排。",
    "Add the visits to your calendar (.ics)": "添加到日历（.ics）",
    "Printable poster": "打印公告海报",
    "Services and what to bring": "服务事项及所需材料",
    "Scan to open this page": "扫码打开本页",
    "past": "已结束",
    "This form has expired. Please go back, reload the page and try again.": "表单已过期，请返回并刷新页面后重试。",
    "%(file)s unpacks to %(found)s MB, more than the limit of %(allowed)s MB.": "%(file)s 解压后为 %(found)s MB，超过上限 %(allowed)s MB。",
    "%(file)s is %(found)s MB, more than the limit of %(allowed)s MB.": "%(file)s 大小为 %(found)s MB，超过上限 %(allowed)s MB。",
    "%(file)s has at least %(found)s rows, more than the limit of %(allowed)s rows.": "%(file)s 至少有 %(found)s 行，超过上限 %(allowed)s 行。",
    "%(file)s has at least %(found)s cells, more than the limit of %(allowed)s cells.": "%(file)s 至少有 %(found)s 个单元格，超过上限 %(allowed)s 个。",
    "%(file)s nests %(found)s levels deep, more than the limit of %(allowed)s levels.": "%(file)s 嵌套 %(found)s 层，超过上限 %(allowed)s 层。",
    "Enter a date between %(first)s and %(last)s.": "请输入 %(first)s 至 %(last)s 之间的日期。",
}


def main() -> int:
    pot = ROOT / "build" / "messages.pot"
    pot.parent.mkdir(exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-o",
            str(pot),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        template = read_po(f)
    old = {}
    if PO.exists():
        with PO.open("rb") as f:
            old = {m.id: m.string for m in read_po(f) if m.id and m.string}
    missing = []
    for message in template:
        if not message.id:
            continue
        message.string = old.get(message.id) or ZH.get(message.id, "")
        if not message.string:
            missing.append(message.id)
    template.locale = "zh"
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as f:
        write_po(f, template, omit_header=False, sort_output=True, width=100)
    for m in missing:
        print(f"untranslated: {m}")
    print(f"wrote {PO}: {len(template) - 1} messages, {len(missing)} untranslated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
