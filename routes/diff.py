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
from taxvan.messages import N_, Message, Names, from_json, joined, message
from taxvan.timetable import TimetableRow
from taxvan.workdays import WEEKDAY_EN, holiday_name, iso_week_label, weekday_name

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
    detail: Message | str

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
            "detail": str(self.detail),
        }


@dataclass(frozen=True, slots=True)
class GoneStop:
    """A stop the published week visits and the new plan does not visit at all, and why."""

    stop_id: str
    stop_name: str
    street: str
    visits: int
    """How many published visits it had this week."""
    reason: str
    detail: Message | str


@dataclass(frozen=True)
class PlanDiff:
    """The changes a new plan makes to the published timetable of its week."""

    week: str
    changes: tuple[VisitChange, ...]
    unchanged: int
    other_weeks: int = 0
    """Published rows of other weeks, left out of the comparison."""
    gone: tuple[GoneStop, ...] = ()
    """Stops no visit of the new plan goes to any more, each with its reason."""

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
            "gone": [
                {
                    "stop_id": g.stop_id,
                    "stop_name": g.stop_name,
                    "street": g.street,
                    "visits": g.visits,
                    "reason": g.reason,
                    "detail": str(g.detail),
                }
                for g in self.gone
            ],
        }


@dataclass(frozen=True)
class DiffContext:
    """What is known about the new plan, from which the reasons come."""

    week: str
    holidays: Mapping[dt.date, Names | str] = field(default_factory=dict)
    """Dates of the week the calendar takes off, with the holiday's name."""
    makeup_days: frozenset[dt.date] = frozenset()
    adjustments: Adjustments = field(default_factory=Adjustments)
    dropped: Mapping[str, tuple[Message | str, ...]] = field(default_factory=dict)
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
    replan_cause: str = ""
    """Why the template was planned anew, a key of `REPLAN_CAUSES` ("": not known)."""


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
    what: Message
    """What the dispatcher changed about the stop ("stop 1 pinned to Thu 10:00")."""
    via: str = ""
    """The stop whose visit moved for it first (a chain of visits making room)."""
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class _Said:
    """A change's reason: its code, in words, and the cause it made room for (if any)."""

    code: str
    detail: Message
    root: _Cause | None = None


@dataclass
class _Causes:
    """What the dispatcher changed, where: date -> causes (an adjusted stop that had or has
    a visit on that date, or a visit that made room for one), and street -> the excluded
    stop whose street it is; and the stops each street keeps in the new plan."""

    by_date: dict[dt.date, list[_Cause]] = field(default_factory=dict)
    excluded_street: dict[str, str] = field(default_factory=dict)
    demand: Message | str = ""
    """The changes that make the week ask for other visits (exclusions, visits, dwell)."""
    street_stops: dict[str, list[str]] = field(default_factory=dict)
    """Street -> names of its stops the new plan visits."""

    def add(self, date: dt.date, cause: _Cause) -> bool:
        here = self.by_date.setdefault(date, [])
        if any(c.what == cause.what for c in here):
            return False
        here.append(cause)
        return True


def _causes(published: list[_Row], planned: list[_Row], adj: Adjustments) -> _Causes:
    """The dates each adjusted stop's visits leave or come to, with what was changed: a
    visit that moves from or to such a date without a reason of its own made room for it."""
    what: dict[str, Message] = {}
    for stop in sorted(adj.excluded_stops):
        what[stop] = message(N_("the exclusion of stop %(stop)s"), stop=stop)
    for stop, n in sorted(adj.visits_map().items()):
        what[stop] = message(
            N_("stop %(stop)s now having %(count)d visit(s) a week"), stop=stop, count=n
        )
    for stop, minutes in sorted(adj.dwell_map().items()):
        what[stop] = message(
            N_("stop %(stop)s now staying %(minutes)d min"), stop=stop, minutes=minutes
        )
    demand = joined(list(what.values()))
    pinned = set()
    for pin in adj.pins:
        what[pin.stop_id] = pin.said()
        pinned.add(pin.stop_id)
    out = _Causes(demand=demand)
    for r in [*published, *planned]:
        if r.stop_id in what:
            out.add(r.time.date, _Cause(r.stop_id, what[r.stop_id], pinned=r.stop_id in pinned))
        if r.stop_id in adj.excluded_stops and r.street:
            out.excluded_street.setdefault(r.street, r.stop_id)
    for r in planned:
        names = out.street_stops.setdefault(r.street, [])
        name = r.stop_name or r.stop_id
        if name not in names:
            names.append(name)
    return out


def _listed(items: Iterable[Message | str]) -> Message | str:
    """Names or days one after another: "A, B" (A、B in Chinese)."""
    return joined(list(items), message(N_("%(first)s, %(rest)s")))


def _made_room(
    kind: str,
    stop_id: str,
    street: str,
    old: VisitTime | None,
    new: VisitTime | None,
    ctx: DiffContext,
    causes: _Causes,
) -> _Said | None:
    """The reason of a change with no reason of its own: a visit of a street whose stop was
    excluded appears or disappears because the street's visits were chosen again; with a
    template planned near the previous one, a visit moved from or to a date an adjusted stop
    left or came to made room for it (pins named first), and one that follows nothing of its
    day follows the visits the changed demand asks for."""
    excluded = causes.excluded_street.get(street)
    if kind != "moved" and excluded is not None:
        return _Said(
            "stop_excluded",
            message(
                N_(
                    "stop %(stop)s of the same street is excluded, so the street's visits were "
                    "chosen again"
                ),
                stop=excluded,
            ),
        )
    if not ctx.near_previous:
        return None
    return _room_for(stop_id, old, new, causes) or _room_for_demand(ctx, causes)


def _room_for(
    stop_id: str, old: VisitTime | None, new: VisitTime | None, causes: _Causes
) -> _Said | None:
    """A visit moved from or to a date an adjusted stop left or came to made room for it
    (pins named first, then the adjusted stop itself before a visit that moved for it)."""
    found: list[_Cause] = []
    for t in (old, new):
        if t is not None:
            for c in causes.by_date.get(t.date, []):
                if c.stop_id != stop_id and c.via != stop_id:
                    found.append(c)
    if not found:
        return None
    found.sort(key=lambda c: (not c.pinned, bool(c.via)))
    first = found[0]
    if first.via:
        said = message(
            N_("made room for %(what)s (after stop %(via)s moved for it)"),
            what=first.what,
            via=first.via,
        )
    else:
        said = message(N_("made room for %(what)s"), what=first.what)
    return _Said("made_room", said, first)


def _room_for_demand(ctx: DiffContext, causes: _Causes) -> _Said | None:
    """A visit that follows nothing of its day follows the excluded weekdays' visits, or the
    visits the changed demand asks for."""
    if ctx.adjustments.excluded_weekdays:
        days = _listed(weekday_name(d) for d in sorted(ctx.adjustments.excluded_weekdays))
        return _Said(
            "made_room",
            message(N_("made room for the visits of the excluded weekday(s) %(days)s"), days=days),
        )
    if causes.demand:
        return _Said(
            "made_room",
            message(
                N_(
                    "follows the visits the week asks for after %(changes)s (their stops, "
                    "number and length were derived again)"
                ),
                changes=causes.demand,
            ),
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
) -> _Said:
    """The most specific reason known for a change."""
    causes = causes or _Causes()
    return (
        _calendar_reason(stop_id, old, new, ctx)
        or _data_reason(kind, stop_id, new, ctx)
        or _made_room(kind, stop_id, street, old, new, ctx, causes)
        or _search_reason(kind, street, ctx, causes)
    )


def _calendar_reason(
    stop_id: str, old: VisitTime | None, new: VisitTime | None, ctx: DiffContext
) -> _Said | None:
    """An excluded stop or weekday, a holiday or a make-up working day."""
    adj = ctx.adjustments
    if stop_id in adj.excluded_stops:
        return _Said(
            "stop_excluded",
            message(N_("the dispatcher excluded stop %(stop)s from the plan"), stop=stop_id),
        )
    if old is not None and old.date.weekday() in adj.excluded_weekdays:
        return _Said(
            "day_excluded",
            message(
                N_("the dispatcher excluded %(day)s: the van does not run that weekday"),
                day=weekday_name(old.date.weekday()),
            ),
        )
    if old is not None and old.date in ctx.holidays:
        return _Said(
            "holiday",
            message(
                N_("%(date)s (%(day)s) is a holiday (%(name)s)"),
                date=old.date.isoformat(),
                day=weekday_name(old.date.weekday()),
                name=ctx.holidays[old.date],
            ),
        )
    if new is not None and new.date in ctx.makeup_days:
        return _Said(
            "holiday",
            message(
                N_("%(date)s (%(day)s) is a make-up working day"),
                date=new.date.isoformat(),
                day=weekday_name(new.date.weekday()),
            ),
        )
    return None


def _data_reason(kind: str, stop_id: str, new: VisitTime | None, ctx: DiffContext) -> _Said | None:
    """The stop's pins (those of the new visit's weekday), the stop gone from or new in the
    data, why the plan dropped it, or its visits or dwell asked for."""
    adj = ctx.adjustments
    pins = adj.pins_of(stop_id)
    if pins and kind != "removed":
        held = [p for p in pins if new is None or p.weekday == new.date.weekday()]
        return _Said(
            "pinned",
            message(
                N_("the dispatcher pinned it: %(pins)s"),
                pins=joined([p.said() for p in held or pins]),
            ),
        )
    if ctx.stops is not None and stop_id not in ctx.stops:
        return _Said(
            "stop_removed",
            message(N_("stop %(stop)s is no longer in the district's data"), stop=stop_id),
        )
    if kind == "added" and ctx.published_stops is not None and stop_id not in ctx.published_stops:
        return _Said(
            "stop_added", message(N_("stop %(stop)s is new in the district's data"), stop=stop_id)
        )
    if kind == "removed" and ctx.dropped.get(stop_id):
        unique = {str(r): r for r in ctx.dropped[stop_id]}
        return _Said(
            "dropped",
            message(N_("left out by the planner: %(why)s"), why=joined(list(unique.values()))),
        )
    visits, dwell = adj.visits_map(), adj.dwell_map()
    if stop_id in visits:
        return _Said(
            "visits_changed",
            message(
                N_("the dispatcher set stop %(stop)s to %(count)d visit(s) a week"),
                stop=stop_id,
                count=visits[stop_id],
            ),
        )
    if stop_id in dwell:
        return _Said(
            "dwell_changed",
            message(
                N_("the dispatcher set stop %(stop)s to %(minutes)d min a visit"),
                stop=stop_id,
                minutes=dwell[stop_id],
            ),
        )
    if pins:
        return _Said(
            "pinned",
            message(
                N_("the dispatcher pinned it: %(pins)s"), pins=joined([p.said() for p in pins])
            ),
        )
    return None


REPLAN_CAUSES = {
    "data": N_("the district's data changed since the published plan"),
    "asked": N_("the dispatcher asked for a new weekly template"),
    "adjustments": N_("the adjustments changed"),
}
"""Why a weekly template was planned anew (`DiffContext.replan_cause`)."""


def _search_reason(kind: str, street: str, ctx: DiffContext, causes: _Causes) -> _Said:
    """What is left: the template was planned again (and why, if known), or nothing known."""
    if not ctx.replanned and not ctx.near_previous:
        return _Said("unknown", message(N_("no known reason (published from another plan)")))
    cause = ctx.replan_cause in REPLAN_CAUSES
    why: Message = (
        message(REPLAN_CAUSES[ctx.replan_cause])
        if cause
        else message(N_("no saved template fitted the week"))
    )
    if ctx.near_previous and kind == "moved":
        template = N_(
            "the weekly template was planned anew near the previous one (%(why)s); its new "
            "routes hold this visit at another time"
        )
        return _Said("replanned", message(template, why=why))
    if kind == "moved":
        said = message(
            N_(
                "the weekly template was planned anew (%(why)s) and its routes chosen again; "
                "they hold this visit at another time"
            ),
            why=why,
        )
    elif kind == "added":
        said = message(
            N_(
                "the weekly template was planned anew (%(why)s); it gives %(street)s this "
                "visit to keep the street at its share"
            ),
            why=why,
            street=street or "—",
        )
    elif causes.street_stops.get(street):
        said = message(
            N_(
                "the weekly template was planned anew (%(why)s); %(street)s is served from "
                "%(stops)s instead"
            ),
            why=why,
            street=street,
            stops=_listed(causes.street_stops[street][:3]),
        )
    else:
        said = message(
            N_("the weekly template was planned anew (%(why)s) and no longer holds this visit"),
            why=why,
        )
    return _Said("replanned", said)


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
    gone = tuple(
        _gone(stop_id, [c for c in changes if c.stop_id == stop_id])
        for stop_id, (was, now) in sorted(by_stop.items())
        if was and not now
    )
    return PlanDiff(context.week, tuple(changes), unchanged, other, gone)


def _gone(stop_id: str, removed: list[VisitChange]) -> GoneStop:
    """A stop whose every visit of the week is removed, with the reason of its first."""
    first = removed[0]
    return GoneStop(
        stop_id, first.stop_name, first.street, len(removed), first.reason, first.detail
    )


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
            said = _reason(c.kind, c.stop_id, c.old, c.new, context, causes, c.street)
            changes[i] = dataclasses.replace(c, reason=said.code, detail=said.detail)
            root = said.root
            if said.code == "made_room" and c.kind == "moved" and root is not None:
                for t in (c.old, c.new):
                    if t is not None:
                        grown |= causes.add(
                            t.date, _Cause(root.stop_id, root.what, c.stop_id, root.pinned)
                        )
        if not grown:
            break


def plan_context(week_plan: WeekPlan, published_stops: Iterable[str] | None = None) -> DiffContext:
    """What `week_plan` tells about its changes (see `DiffContext`)."""
    problem = week_plan.problem
    dropped: dict[str, list[Message | str]] = {}
    for d in week_plan.plan.dropped:
        dropped.setdefault(d.stop_id, []).append(d.reason)
    return DiffContext(
        week=week_plan.plan.week,
        holidays={h.date: holiday_name(h) for h in problem.week.holidays},
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


def recorded_holidays(rows: Iterable[Mapping[str, Any]]) -> dict[dt.date, Names | str]:
    """A report's holidays (`date`, `name`, `name_zh`) as the context's date -> name."""
    return {
        dt.date.fromisoformat(h["date"]): Names(str(h.get("name", "")), str(h.get("name_zh", "")))
        for h in rows
    }


def recorded_dropped(rows: Iterable[Mapping[str, Any]]) -> dict[str, tuple[Message | str, ...]]:
    """A report's dropped visits as the context's stop id -> reasons (stored as messages, or
    as English text in older records)."""
    dropped: dict[str, list[Message | str]] = {}
    for d in rows:
        dropped.setdefault(str(d.get("stop_id", "")), []).append(from_json(d.get("reason", "")))
    return {k: tuple(v) for k, v in dropped.items()}


def context_from_json(doc: Mapping[str, Any]) -> DiffContext:
    """The context a plan's `timetable.json` records (week, holidays, make-up days, dropped
    visits, adjustments, whether the template was planned anew)."""
    return DiffContext(
        week=str(doc["week"]),
        holidays=recorded_holidays(doc.get("holidays", [])),
        makeup_days=frozenset(dt.date.fromisoformat(d) for d in doc.get("makeup_days", [])),
        adjustments=Adjustments.from_dict(doc.get("adjustments") or {}),
        dropped=recorded_dropped(doc.get("dropped", [])),
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
    for g in diff.gone:
        name = f"{g.stop_name} ({g.stop_id})" if g.stop_name else g.stop_id
        lines.append(f"  stop no longer visited: {name}: {g.detail}")
    return "\n".join(lines)
