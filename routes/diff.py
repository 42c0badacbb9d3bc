"""A new plan against the published timetable: every visit that moves, appears or disappears.

"Same place, same time" is the promise to taxpayers, so before a new plan is published the
dispatcher sees each visit it changes and why. Plain data in and out, for the console and
the command line alike:

- the published visits come as plain rows in the shape of `timetable.csv` /
  `routes.publish.timetable_rows` (mappings with `date`, `stop_id`, `start`, `end`, and
  optionally `van`, `stop_name`, `street`; dates as `YYYY-MM-DD` or `date`, times as
  `HH:MM` or minutes), so the web layer can pass its database rows;
- `diff_plan(week_plan, published)` compares a `routes.plan_week` result;
  `diff_rows(old, new, context)` compares two sets of rows with what is known about the new
  one (`DiffContext`, e.g. read back from a plan's `timetable.json`);
- the result, `PlanDiff`, lists a `VisitChange` per visit that moved (other day or time),
  was added or removed, with the old and new date and time and a reason code
  (`REASONS`) and sentence; unchanged visits are counted.

Published rows carry no visit key, so visits are matched stop by stop: the same date and
times are unchanged; of the rest, one on the same date first, then in date order, is a move;
what is left over appears or disappears.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from taxvan.adjustments import Adjustments
from taxvan.clock import hhmm, parse_hhmm
from taxvan.errors import DataFileError, DataProblem
from taxvan.messages import N_, message
from taxvan.timetable import TimetableRow
from taxvan.workdays import WEEKDAY_EN, iso_week_label

if TYPE_CHECKING:
    from routes.planner import WeekPlan

REASONS = {
    "pinned": "the dispatcher pinned the stop to this day or time",
    "stop_excluded": "the dispatcher excluded the stop",
    "day_excluded": "the dispatcher excluded the weekday: the van does not run",
    "holiday": "a holiday or make-up working day of the calendar",
    "stop_added": "the stop is new in the district's data",
    "stop_removed": "the stop is no longer in the district's data",
    "dropped": "the planner left the visit out",
    "visits_changed": "the dispatcher changed the stop's visits a week",
    "dwell_changed": "the dispatcher changed the stop's dwell",
    "made_room": "moved to make room for the dispatcher's change to another stop of its day",
    "replanned": "the weekly template was planned anew",
    "unknown": "no known reason (published from another plan)",
}
"""Reason codes of a change, and what each means (the console translates the codes)."""

KINDS = ("moved", "added", "removed")


@dataclass(frozen=True, slots=True, order=True)
class VisitTime:
    """When a visit is (or was) held: date and start/end minutes, China time."""

    date: dt.date
    start: int
    end: int
    van: str = ""

    def label(self) -> str:
        return (
            f"{WEEKDAY_EN[self.date.weekday()]} {self.date.isoformat()} "
            f"{hhmm(self.start)}-{hhmm(self.end)}"
        )


@dataclass(frozen=True, slots=True)
class VisitChange:
    """One visit that moves (`old` and `new`), appears (`new` only) or disappears (`old`
    only); `reason` is a code of `REASONS`, `detail` says it in a sentence."""

    kind: str
    stop_id: str
    stop_name: str
    street: str
    old: VisitTime | None
    new: VisitTime | None
    reason: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        def when(t: VisitTime | None) -> dict[str, Any] | None:
            if t is None:
                return None
            return {
                "date": t.date.isoformat(),
                "weekday": WEEKDAY_EN[t.date.weekday()],
                "start": hhmm(t.start),
                "end": hhmm(t.end),
                "van": t.van,
            }

        return {
            "kind": self.kind,
            "stop_id": self.stop_id,
            "stop_name": self.stop_name,
            "street": self.street,
            "old": when(self.old),
            "new": when(self.new),
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class PlanDiff:
    """The changes a new plan makes to the published timetable of its week."""

    week: str
    changes: tuple[VisitChange, ...]
    unchanged: int
    other_weeks: int = 0
    """Published rows of other weeks, left out of the comparison."""

    def of_kind(self, kind: str) -> list[VisitChange]:
        return [c for c in self.changes if c.kind == kind]

    def counts(self) -> dict[str, int]:
        out = {k: len(self.of_kind(k)) for k in KINDS}
        out["unchanged"] = self.unchanged
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "counts": self.counts(),
            "other_weeks": self.other_weeks,
            "changes": [c.as_dict() for c in self.changes],
        }


@dataclass(frozen=True)
class DiffContext:
    """What is known about the new plan, from which the reasons come."""

    week: str
    holidays: Mapping[dt.date, str] = field(default_factory=dict)
    """Dates of the week the calendar takes off, with the holiday's name."""
    makeup_days: frozenset[dt.date] = frozenset()
    adjustments: Adjustments = field(default_factory=Adjustments)
    dropped: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Stop id -> the reasons the planner gives for each of its visits left out."""
    stops: frozenset[str] | None = None
    """The stops of the district's data now (None: not known)."""
    published_stops: frozenset[str] | None = None
    """The stops the data held when the old timetable was published (None: not known)."""
    replanned: bool = False
    """Whether the weekly template was planned anew for the new plan."""
    near_previous: bool = False
    """Whether that new template was planned near the previous one (`routes.stability`), so
    that a visit that moves without a reason of its own moved for a change on its day."""


@dataclass(frozen=True, slots=True)
class _Row:
    stop_id: str
    stop_name: str
    street: str
    time: VisitTime


def _rows(rows: Iterable[Mapping[str, Any] | TimetableRow], what: str) -> list[_Row]:
    """Plain rows to typed ones; every bad row is named (row number as in a CSV: the header
    is row 1) in one DataFileError."""
    out: list[_Row] = []
    problems: list[DataProblem] = []
    for i, raw in enumerate(rows, start=2):
        rec = raw.as_record() if isinstance(raw, TimetableRow) else raw
        bad = len(problems)
        stop = str(rec.get("stop_id") or "").strip()
        if not stop:
            empty = message(N_("empty; expected %(expect)s"), expect=message(N_("a stop id")))
            problems.append(DataProblem(empty, i, "stop_id"))
        date = None
        try:
            date = _cell_date(rec.get("date"))
        except ValueError:
            wrong = message(N_("'%(value)s' is not a date YYYY-MM-DD"), value=rec.get("date"))
            problems.append(DataProblem(wrong, i, "date"))
        times = []
        for col in ("start", "end"):
            value = rec.get(col)
            try:
                times.append(_cell_minutes(value))
            except ValueError:
                wrong = message(N_("'%(value)s' is not a time HH:MM"), value=value)
                problems.append(DataProblem(wrong, i, col))
        if len(problems) == bad and date is not None:
            out.append(
                _Row(
                    stop,
                    str(rec.get("stop_name") or ""),
                    str(rec.get("street") or ""),
                    VisitTime(date, times[0], times[1], str(rec.get("van") or "")),
                )
            )
    if problems:
        raise DataFileError(what, problems)
    return out


def _cell_date(value: Any) -> dt.date:
    """A date cell: a date (or datetime), or text YYYY-MM-DD; ValueError otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def _cell_minutes(value: Any) -> int:
    """A time cell as minutes since midnight: minutes already, a time, or text HH:MM;
    ValueError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, dt.time):
        return value.hour * 60 + value.minute
    return parse_hhmm(str(value))


@dataclass(frozen=True, slots=True)
class _Cause:
    stop_id: str
    what: str
    """What the dispatcher changed about the stop ("stop 1, pinned to Thu 10:00")."""
    via: str = ""
    """The stop whose visit moved for it first (a chain of visits making room)."""


@dataclass
class _Causes:
    """What the dispatcher changed, where: date -> causes (an adjusted stop that had or has
    a visit on that date, or a visit that made room for one), and street -> the excluded
    stop whose street it is."""

    by_date: dict[dt.date, list[_Cause]] = field(default_factory=dict)
    excluded_street: dict[str, str] = field(default_factory=dict)
    demand: str = ""
    """The changes that make the week ask for other visits (exclusions, visits, dwell)."""

    def add(self, date: dt.date, cause: _Cause) -> bool:
        here = self.by_date.setdefault(date, [])
        if any(c.what == cause.what for c in here):
            return False
        here.append(cause)
        return True


def _causes(published: list[_Row], planned: list[_Row], adj: Adjustments) -> _Causes:
    """The dates each adjusted stop's visits leave or come to, with what was changed: a
    visit that moves from or to such a date without a reason of its own made room for it."""
    what: dict[str, str] = {}
    for stop in sorted(adj.excluded_stops):
        what[stop] = f"the exclusion of stop {stop}"
    for stop, n in sorted(adj.visits_map().items()):
        what[stop] = f"stop {stop} now having {n} visit(s) a week"
    for stop, minutes in sorted(adj.dwell_map().items()):
        what[stop] = f"stop {stop} now staying {minutes} min"
    demand = "; ".join(what.values())
    for pin in adj.pins:
        what[pin.stop_id] = pin.describe().replace(" pinned to ", ", pinned to ")
    out = _Causes(demand=demand)
    for r in [*published, *planned]:
        if r.stop_id in what:
            out.add(r.time.date, _Cause(r.stop_id, what[r.stop_id]))
        if r.stop_id in adj.excluded_stops and r.street:
            out.excluded_street.setdefault(r.street, r.stop_id)
    return out


def _made_room(
    kind: str,
    stop_id: str,
    street: str,
    old: VisitTime | None,
    new: VisitTime | None,
    ctx: DiffContext,
    causes: _Causes,
) -> tuple[str, str] | None:
    """(code, sentence) for a change with no reason of its own: a visit of a street whose
    stop was excluded appears or disappears because the street's visits were chosen again;
    with a template planned near the previous one, a visit moved from or to a date an
    adjusted stop left or came to made room for it (pins named first), and one that
    follows nothing of its day follows the visits the changed demand asks for."""
    excluded = causes.excluded_street.get(street)
    if kind != "moved" and excluded is not None:
        return (
            "stop_excluded",
            f"stop {excluded} of the same street is excluded, so the street's visits were "
            "chosen again",
        )
    if not ctx.near_previous:
        return None
    found: list[_Cause] = []
    for t in (old, new):
        if t is not None:
            for c in causes.by_date.get(t.date, []):
                if c.stop_id != stop_id and c.via != stop_id:
                    found.append(c)
    if found:
        found.sort(key=lambda c: ("pinned" not in c.what, bool(c.via)))
        first = found[0]
        via = f" (after stop {first.via} moved for it)" if first.via else ""
        return "made_room", f"made room for {first.what}{via}"
    if ctx.adjustments.excluded_weekdays:
        days = ", ".join(WEEKDAY_EN[d] for d in sorted(ctx.adjustments.excluded_weekdays))
        return "made_room", f"made room for the visits of the excluded weekday(s) {days}"
    if causes.demand:
        return (
            "made_room",
            f"follows the visits the week asks for after {causes.demand} (their stops, "
            "number and length were derived again)",
        )
    return None


def _reason(
    kind: str,
    stop_id: str,
    old: VisitTime | None,
    new: VisitTime | None,
    ctx: DiffContext,
    causes: _Causes | None = None,
    street: str = "",
) -> tuple[str, str]:
    """(code, sentence) of the most specific reason known for a change."""
    return (
        _calendar_reason(stop_id, old, new, ctx)
        or _data_reason(kind, stop_id, new, ctx)
        or _made_room(kind, stop_id, street, old, new, ctx, causes or _Causes())
        or _search_reason(ctx)
    )


def _calendar_reason(
    stop_id: str, old: VisitTime | None, new: VisitTime | None, ctx: DiffContext
) -> tuple[str, str] | None:
    """An excluded stop or weekday, a holiday or a make-up working day."""
    adj = ctx.adjustments
    if stop_id in adj.excluded_stops:
        return "stop_excluded", f"stop {stop_id} is excluded from the plan"
    if old is not None and old.date.weekday() in adj.excluded_weekdays:
        day = WEEKDAY_EN[old.date.weekday()]
        return "day_excluded", f"{day} is excluded: the van does not run that weekday"
    if old is not None and old.date in ctx.holidays:
        return "holiday", f"{old.date.isoformat()} is a holiday ({ctx.holidays[old.date]})"
    if new is not None and new.date in ctx.makeup_days:
        return "holiday", f"{new.date.isoformat()} is a make-up working day"
    return None


def _data_reason(
    kind: str, stop_id: str, new: VisitTime | None, ctx: DiffContext
) -> tuple[str, str] | None:
    """The stop's pins (those of the new visit's weekday), the stop gone from or new in the
    data, why the plan dropped it, or its visits or dwell asked for."""
    adj = ctx.adjustments
    pins = adj.pins_of(stop_id)
    if pins and kind != "removed":
        held = [p for p in pins if new is None or p.weekday == new.date.weekday()]
        return "pinned", "; ".join(p.describe() for p in held or pins)
    if ctx.stops is not None and stop_id not in ctx.stops:
        return "stop_removed", f"stop {stop_id} is no longer in the district's data"
    if kind == "added" and ctx.published_stops is not None and stop_id not in ctx.published_stops:
        return "stop_added", f"stop {stop_id} is new in the district's data"
    if kind == "removed" and ctx.dropped.get(stop_id):
        return "dropped", "; ".join(dict.fromkeys(ctx.dropped[stop_id]))
    visits, dwell = adj.visits_map(), adj.dwell_map()
    if stop_id in visits:
        return "visits_changed", f"stop {stop_id} now has {visits[stop_id]} visit(s) a week"
    if stop_id in dwell:
        return "dwell_changed", f"stop {stop_id} now has {dwell[stop_id]} min a visit"
    if pins:
        return "pinned", "; ".join(p.describe() for p in pins)
    return None


def _search_reason(ctx: DiffContext) -> tuple[str, str]:
    """What is left: the template was planned again, or nothing known."""
    if ctx.near_previous:
        return (
            "replanned",
            "the weekly template was planned anew near the previous one; the search moved it",
        )
    if ctx.replanned:
        return "replanned", "the weekly template was planned anew, so times were chosen again"
    return "unknown", REASONS["unknown"]


def diff_rows(
    old: Iterable[Mapping[str, Any] | TimetableRow],
    new: Iterable[Mapping[str, Any] | TimetableRow],
    context: DiffContext,
) -> PlanDiff:
    """The changes from the published rows `old` to the new rows `new` of `context.week`.

    Rows of `old` in other ISO weeks are counted in `other_weeks` and left out. Raises
    `DataFileError` naming every bad row (row 2 = the first one) of either side.
    """
    published = _rows(old, "published timetable")
    planned = _rows(new, "new timetable")
    here = [r for r in published if iso_week_label(r.time.date) == context.week]
    other = len(published) - len(here)
    by_stop: dict[str, tuple[list[_Row], list[_Row]]] = {}
    for r in here:
        by_stop.setdefault(r.stop_id, ([], []))[0].append(r)
    for r in planned:
        by_stop.setdefault(r.stop_id, ([], []))[1].append(r)

    causes = _causes(here, planned, context.adjustments)
    changes: list[VisitChange] = []
    unchanged = 0
    for stop_id, (was, now) in sorted(by_stop.items()):
        stop_changes, kept = _stop_changes(stop_id, was, now)
        changes += stop_changes
        unchanged += kept
    _explain(changes, context, causes)
    changes.sort(key=lambda c: ((c.old or c.new).date, (c.old or c.new).start, c.stop_id))  # type: ignore[union-attr]
    return PlanDiff(context.week, tuple(changes), unchanged, other)


def _stop_changes(stop_id: str, was: list[_Row], now: list[_Row]) -> tuple[list[VisitChange], int]:
    """A stop's changes from its published visits `was` to its new ones `now` (reasons not
    yet given), and how many visits kept their times. A visit moved within its date pairs
    with the new time on that date first."""
    name = next((r.stop_name for r in [*now, *was] if r.stop_name), "")
    street = next((r.street for r in [*now, *was] if r.street), "")
    was = sorted(was, key=lambda r: r.time)
    now = sorted(now, key=lambda r: r.time)
    same = {(r.time.date, r.time.start, r.time.end) for r in now}
    kept = [r for r in was if (r.time.date, r.time.start, r.time.end) in same]
    kept_times = {(r.time.date, r.time.start, r.time.end) for r in kept}
    was = [r for r in was if r not in kept]
    now = [r for r in now if (r.time.date, r.time.start, r.time.end) not in kept_times]
    pairs: list[tuple[_Row, _Row]] = []
    for r in list(was):  # a new time on the same date first
        match = next((n for n in now if n.time.date == r.time.date), None)
        if match is not None:
            pairs.append((r, match))
            was.remove(r)
            now.remove(match)
    pairs += list(zip(was, now, strict=False))
    n_pairs = min(len(was), len(now))
    removed, added = was[n_pairs:], now[n_pairs:]

    items: list[tuple[str, VisitTime | None, VisitTime | None]] = [
        *(("moved", o.time, n.time) for o, n in pairs),
        *(("removed", o.time, None) for o in removed),
        *(("added", None, n.time) for n in added),
    ]
    changes = [VisitChange(kind, stop_id, name, street, o, n, "", "") for kind, o, n in items]
    return changes, len(kept)


def _explain(changes: list[VisitChange], context: DiffContext, causes: _Causes) -> None:
    """Give each change its reason. A visit that made room for an adjusted stop makes its
    own dates causes in turn (a chain of visits making room), until nothing new is found."""
    for _ in range(len(changes) + 1):
        grown = False
        for i, c in enumerate(changes):
            code, detail = _reason(c.kind, c.stop_id, c.old, c.new, context, causes, c.street)
            changes[i] = dataclasses.replace(c, reason=code, detail=detail)
            if code == "made_room" and c.kind == "moved":
                root = next(
                    (
                        x
                        for t in (c.old, c.new)
                        if t is not None
                        for x in causes.by_date.get(t.date, [])
                        if detail.startswith(f"made room for {x.what}")
                    ),
                    None,
                )
                if root is not None:
                    for t in (c.old, c.new):
                        if t is not None:
                            grown |= causes.add(t.date, _Cause(root.stop_id, root.what, c.stop_id))
        if not grown:
            break


def plan_context(week_plan: WeekPlan, published_stops: Iterable[str] | None = None) -> DiffContext:
    """What `week_plan` tells about its changes (see `DiffContext`)."""
    problem = week_plan.problem
    dropped: dict[str, list[str]] = {}
    for d in week_plan.plan.dropped:
        dropped.setdefault(d.stop_id, []).append(d.reason)
    return DiffContext(
        week=week_plan.plan.week,
        holidays={h.date: h.reason for h in problem.week.holidays},
        makeup_days=frozenset(problem.week.makeup_days),
        adjustments=week_plan.adjustments,
        dropped={k: tuple(v) for k, v in dropped.items()},
        stops=frozenset(s.id for s in week_plan.dataset.stops),
        published_stops=None if published_stops is None else frozenset(published_stops),
        replanned=not week_plan.template_reused,
        near_previous=week_plan.near is not None,
    )


def diff_plan(
    week_plan: WeekPlan,
    published: Iterable[Mapping[str, Any] | TimetableRow],
    published_stops: Iterable[str] | None = None,
) -> PlanDiff:
    """The changes `week_plan` (from `routes.plan_week`) makes to the `published` visits.

    `published_stops`, if given, are the stops the data held when the timetable was
    published, so that a visit to a stop added since says so.
    """
    from routes.publish import timetable_rows

    new = timetable_rows(week_plan.plan, week_plan.dataset)
    return diff_rows(published, new, plan_context(week_plan, published_stops))


def context_from_json(doc: Mapping[str, Any]) -> DiffContext:
    """The context a plan's `timetable.json` records (week, holidays, make-up days, dropped
    visits, adjustments, whether the template was planned anew)."""
    dropped: dict[str, list[str]] = {}
    for d in doc.get("dropped", []):
        dropped.setdefault(str(d.get("stop_id", "")), []).append(str(d.get("reason", "")))
    return DiffContext(
        week=str(doc["week"]),
        holidays={
            dt.date.fromisoformat(h["date"]): h.get("name", "") for h in doc.get("holidays", [])
        },
        makeup_days=frozenset(dt.date.fromisoformat(d) for d in doc.get("makeup_days", [])),
        adjustments=Adjustments.from_dict(doc.get("adjustments") or {}),
        dropped={k: tuple(v) for k, v in dropped.items()},
        replanned=doc.get("template_reused") is False,  # unknown in older plans
        near_previous=bool(doc.get("template_near")),
    )


def format_diff(diff: PlanDiff) -> str:
    """The diff for a terminal: the counts, then one line per change with its reason."""
    c = diff.counts()
    lines = [
        f"Changes to the published timetable of {diff.week}: {c['moved']} moved, "
        f"{c['added']} added, {c['removed']} removed, {c['unchanged']} unchanged"
        + (
            f" ({diff.other_weeks} published visits of other weeks left out)"
            if diff.other_weeks
            else ""
        )
    ]
    for ch in diff.changes:
        name = f"{ch.stop_name} ({ch.stop_id})" if ch.stop_name else ch.stop_id
        if ch.kind == "moved":
            assert ch.old is not None and ch.new is not None
            what = f"{ch.old.label()} -> {ch.new.label()}"
        elif ch.kind == "added":
            assert ch.new is not None
            what = f"new: {ch.new.label()}"
        else:
            assert ch.old is not None
            what = f"gone: {ch.old.label()}"
        lines.append(f"  {ch.kind:<8} {name}: {what}  [{ch.reason}: {ch.detail}]")
    return "\n".join(lines)
