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
    "booked; the tax bureau changed the time": "已预约（税务局已调整时间）",
    "Your booking was moved": "您的预约已改约",
    "Booking %(old)s was moved to a new time and has a new booking code: %(new)s. Use the new code from now on.": "预约%(old)s已改约到新时间，新的预约码为：%(new)s。今后请使用新的预约码。",
    "The booking now": "现在的预约",
    "New booking code": "新预约码",
    "Open booking %(code)s": "打开预约%(code)s",
    "Before the move": "改约前",
    "Old booking code": "原预约码",
    "The new time and its booking code were sent to your mobile phone by text message.": "新的时间和预约码已通过短信发送到您的手机。",
    "Versions of %(week)s": "%(week)s 的各版本",
    "Door-to-door visits clash with the new version; nothing was published.": "新版本与上门服务时间冲突，未发布。",
    "Called-off visits (%(n)d)": "已停止的服务（%(n)d）",
    "These visits of the current version are called off. The new version keeps them called off; tick one to hold that visit again (it opens for bookings).": "当前版本中以下服务已停止。新版本保持停止；勾选某项即恢复该服务（重新开放预约）。",
    "Hold it again": "恢复服务",
    "lift the call-off": "取消停止",
    "Door-to-door visits the new version clashes with (%(n)d)": "与新版本冲突的上门服务（%(n)d）",
    "A visit of the new version takes the van's time of these accepted door-to-door visits. Publishing calls them off and tells each firm the reason below; or plan again with the van's day kept free.": "新版本的服务占用了以下已同意上门服务的时间。发布将取消这些上门服务，并把下面的原因告知各企业；也可以空出该车当天的时间后重新规划。",
    "Door-to-door visit": "上门服务",
    "New visit": "新服务",
    "Reason the firms are told": "告知企业的原因",
    "This draft cannot be published": "此草案无法发布",
    "Plan the week again": "重新规划本周",
    "Planning runs in the background from the district page. Nothing is published until you confirm on the draft's publish page, which lists every booking the new version would move or cancel.": "规划在区县页面后台运行。在草案的发布页确认之前不会发布任何内容；发布页会列出新版本将改约或取消的每个预约。",
    "Draft #%(id)d, planned %(when)s": "草案 #%(id)d，规划于 %(when)s",
    "Map: tap to pick the point": "地图：点击选择地点",
    "Called off": "已取消",
    "Not a valid integer value.": "请输入整数。",
    "Bookings changed since the preview: nothing was saved. Check the new preview and confirm again.": "预览之后预约有变化，未保存任何内容。请核对新的预览后再次确认。",
    "Door-to-door called off": "上门服务已取消",
    "This week changed since the draft was planned (from version %(base)s; version %(now)d is current now). Plan again from the current version.": "草案规划后本周已有变化（规划时为第 %(base)s 版，现为第 %(now)d 版）。请基于当前版本重新规划。",
    "Give the reason the firms are told.": "请填写告知企业的原因。",
    "Door-to-door visit called off": "上门服务已取消",
    "Password changed": "密码已修改",
    "Password reset by an administrator": "管理员重设密码",
    "You were signed out after %(minutes)d minutes without activity. Sign in again.": "您已 %(minutes)d 分钟无操作，已自动退出。请重新登录。",
    "You were signed out %(hours)d hours after signing in. Sign in again.": "登录已满 %(hours)d 小时，已自动退出。请重新登录。",
    "Your session has ended (signed out, a new password, or the account disabled). Sign in again.": "会话已结束（已退出登录、密码已更改或账号已停用）。请重新登录。",
    "The current password is wrong.": "当前密码不正确。",
    "The new password needs at least %(n)d characters.": "新密码至少 %(n)d 个字符。",
    "The new password needs at least %(n)d different characters.": "新密码至少要有 %(n)d 个不同的字符。",
    "The new password must not contain the user name.": "新密码不能包含用户名。",
    "The new password must differ from the current one.": "新密码不能与当前密码相同。",
    "The two new passwords differ.": "两次输入的新密码不一致。",
    "%(name)s has a new password; their sessions have ended.": "%(name)s 已设置新密码，其所有会话均已结束。",
    "New password": "新密码",
    "New password again": "再次输入新密码",
    "Current password": "当前密码",
    "Enter the new password.": "请输入新密码。",
    "Enter the new password again.": "请再次输入新密码。",
    "Enter your current password.": "请输入当前密码。",
    "New password for %(name)s": "为 %(name)s 设置新密码",
    "Change your password": "修改密码",
    "Your password has been changed. Every other session of yours has ended; this one goes on.": "密码已修改。您在其他地方的会话均已结束，当前会话继续有效。",
    "Back to the console": "返回调度台",
    "At least %(n)d characters, with at least %(d)d different ones, not containing the user name. A few words that only you would put together are easy to remember and hard to guess.": "至少 %(n)d 个字符，其中至少 %(d)d 个不同的字符，且不能包含用户名。几个只有您会放在一起的词语，好记又难猜。",
    "Every session of this user ends at once; tell them the new password in person or by phone.": "该用户的所有会话将立即结束；请当面或通过电话告知新密码。",
    "Save the new password": "保存新密码",
    "Set a new password": "设置新密码",
    "Names and mobile numbers are masked: they are shown in full only to the district's own dispatchers.": "姓名和手机号已部分隐去：只向本辖区的调度员完整显示。",
    "Data package": "数据包",
    "Publish notice list downloaded": "下载发布通知名单",
    "visits overlap": "服务时间重叠",
    "visits outside the crew's shift": "服务超出班次时间",
    "no room for lunch": "没有午餐时间",
    "、": "、",
    "%(van)s %(date)s: %(what)s": "%(van)s %(date)s：%(what)s",
    "The draft breaks a van's day (%(problems)s); plan again.": "草案不符合车辆当日安排（%(problems)s），请重新规划。",
    "Booking %(code)s: no visit of %(stop)s in the new version has room for it; cancel it with a reason instead.": "预约 %(code)s：新版本中 %(stop)s 没有可容纳的班次，请改为取消并填写原因。",
    "Booking %(code)s: give the reason for cancelling it.": "预约 %(code)s：请填写取消原因。",
    "%(file)s unpacks to %(found)s MB, more than the limit of %(allowed)s MB.": "%(file)s 解压后为 %(found)s MB，超过上限 %(allowed)s MB。",
    "%(file)s is %(found)s MB, more than the limit of %(allowed)s MB.": "%(file)s 大小为 %(found)s MB，超过上限 %(allowed)s MB。",
    "%(file)s has at least %(found)s rows, more than the limit of %(allowed)s rows.": "%(file)s 至少有 %(found)s 行，超过上限 %(allowed)s 行。",
    "%(file)s has at least %(found)s cells, more than the limit of %(allowed)s cells.": "%(file)s 至少有 %(found)s 个单元格，超过上限 %(allowed)s 个。",
    "%(file)s nests %(found)s levels deep, more than the limit of %(allowed)s levels.": "%(file)s 嵌套 %(found)s 层，超过上限 %(allowed)s 层。",
    "Enter a date between %(first)s and %(last)s.": "请输入 %(first)s 至 %(last)s 之间的日期。",
    # the base map's review number on posters
    "Map review number: %(number)s": "地图审图号：%(number)s",
    "Zoom in": "放大",
    "Zoom out": "缩小",
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
            ".",
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
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
        # No source locations: they change with every edit and make merges conflict.
        write_po(f, template, omit_header=False, sort_output=True, width=100, no_location=True)
    for m in missing:
        print(f"untranslated: {m}")
    print(f"wrote {PO}: {len(template) - 1} messages, {len(missing)} untranslated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
