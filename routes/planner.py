"""The planner's one entry point: `plan_week(dataset, week, ...) -> WeekPlan`.

The real workflow, in one place, for the `taxvan plan` command, the Flask `plan` and
`publish` commands, the test fixtures and `bench/week.py` alike (so the benchmark measures
what the command ships):

1. the standard week's problem (`build_week_problem(..., template=True)`) and its
   alternating pairs (`routes.template.pair_alternating`);
2. the weekly template: read back from the templates folder when one was saved under the
   same fingerprint (the data, the settings and the travel model's `MatrixProvider.key()`)
   and searched for at least as long as asked; otherwise planned and checked, then saved.
   With the covering choice, a template that leaves a chosen stop out of every week is
   planned again with the days' budget (`_choose_and_plan`): a chosen stop is a served stop;
3. the template applied to the calendar week (`calendar_problem`, `apply_template`), checked
   independently (`routes.check`) and reported.

Writing files and maps is the caller's business (`web.adapters.planner`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from routes.check import check_plan
from routes.engine import SearchParams, StopFn
from routes.matrix import GeodesicProvider, MatrixProvider
from routes.plan import Plan
from routes.problem import CoverLimits, PlanSettings, WeekProblem, build_week_problem
from routes.report import plan_report
from routes.stability import PreviousTemplate, Stability
from routes.template import FORMAT as TEMPLATE_FORMAT
from routes.template import (
    Pairs,
    TemplateProblem,
    apply_template,
    calendar_problem,
    pair_alternating,
    template_from_dict,
    template_to_dict,
)
from routes.weekly import ProgressFn, solve_week
from taxvan.adjustments import Adjustments, check_adjustments
from taxvan.clock import GRID_MINUTES, floor_to_grid
from taxvan.dataset import Dataset
from taxvan.demand import WeekDemand
from taxvan.errors import PlanningError
from taxvan.io.timetable_files import write_json
from taxvan.learning import LearnedWeights, LearningRules, VisitCounts, learn_weights
from taxvan.messages import N_, Message, message
from taxvan.workdays import parse_iso_week

Say = Callable[[Message | str], None]
"""Where the planner tells what it does: a line, as a message (`str()` is the English)."""


def _silent(_message: Message | str) -> None:
    pass


@dataclass(frozen=True)
class WeekPlan:
    """One calendar week planned from the weekly template, and what it was made from."""

    dataset: Dataset
    problem: WeekProblem
    """The calendar week's problem: its working dates and the visits due (the plan is
    checked against it)."""
    plan: Plan
    report: dict[str, Any]
    template: Plan
    standard: TemplateProblem
    """The standard week the template was planned on (`standard.paired`) and its pairs."""
    fingerprint: str
    template_path: Path | None
    """Where the template is kept (None: no templates folder was given)."""
    template_reused: bool
    adjustments: Adjustments = field(default_factory=Adjustments)
    """The dispatcher's adjustments the week was planned with (none by default)."""
    near: str | None = None
    """Where the template started from and was held near when it was planned (a previous
    template's path or fingerprint, `routes.stability`; a reused template says what it was
    planned near); None when it was planned from scratch."""
    cover_limits: CoverLimits = field(default_factory=CoverLimits)
    """What the week's routes taught the covering choice (`_choose_and_plan`); kept with the
    template (`template_record`) so that reusing it, or planning near it, chooses alike."""
    learned: LearnedWeights | None = None
    """The weights learned from the records the week was planned with (None: none given)."""


class PlanCheckFailed(PlanningError):
    """A plan failed the independent check; `problems` lists what is wrong."""

    def __init__(self, what: str, problems: list[str]) -> None:
        super().__init__(f"{what} failed its own check: " + "; ".join(problems[:3]))
        self.problems = problems


def _canonical(obj: Any) -> Any:
    """JSON for what `json` does not know, the same in every process (sets sorted, so that
    hash randomisation never changes a fingerprint)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [type(obj).__name__, *(getattr(obj, f.name) for f in dataclasses.fields(obj))]
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=repr)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dt.date | dt.time):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    # Anything else by its text: a type whose text changes from run to run would only cost a
    # new template each time (tests/routes/test_planner.py would see it), never a wrong one.
    return [type(obj).__name__, repr(obj)]


DISPLAY_NAMES = frozenset({"name", "name_en", "name_zh", "materials_zh", "materials_en"})
"""Fields that are only text for people (the names of stops, streets, vans, services,
taxpayers and the district; what a service asks taxpayers to bring): none enters the planning
model, so none enters the fingerprint."""


def _canonical_without_names(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [
            type(obj).__name__,
            *(
                "" if f.name in DISPLAY_NAMES else getattr(obj, f.name)
                for f in dataclasses.fields(obj)
            ),
        ]
    return _canonical(obj)


def template_fingerprint(
    dataset: Dataset,
    provider: MatrixProvider,
    settings: PlanSettings,
    adjustments: Adjustments | None = None,
    *,
    with_names: bool = False,
    learned: Mapping[str, Any] | None = None,
) -> str:
    """What the weekly template depends on: the district's data, the planning settings, the
    travel model (`provider.key()`), the dispatcher's adjustments and the template format.
    A change to any of them gives a new fingerprint, hence a new template; a change to
    nothing reuses the saved one. No adjustments hash as before there were any, so the
    templates saved by earlier versions stay in use.

    The calendar file is left out (and the loader's warnings, which only describe the
    data): the template is a standard week, so entering next year's holiday schedule
    changes which days run, never every stop's times. So are the names (`DISPLAY_NAMES`): a
    stop renamed, a typo mended, keeps its times. `with_names` gives the fingerprint of
    earlier versions, which hashed the names too (their saved templates are still found).
    Visits sized by learned weights (`learned`, `demand_key`) make a template of their own."""
    data = dataclasses.replace(dataset, calendar=(), warnings=())
    h = hashlib.sha256()
    parts: list[Any] = [data, settings, provider.key(), TEMPLATE_FORMAT]
    if adjustments:
        parts.append(adjustments.as_dict())
    if learned:  # visits sized by recorded demand (`demand_key`); none: as before
        parts.append({"learned": learned})
    for i, part in enumerate(parts):
        default = _canonical if with_names or i > 0 else _canonical_without_names
        h.update(json.dumps(part, default=default, ensure_ascii=False).encode() + b"\0")
    return h.hexdigest()[:16]


def _template_path(
    templates: Path,
    fingerprint: str,
    dataset: Dataset,
    provider: MatrixProvider,
    settings: PlanSettings,
    adjustments: Adjustments | None,
) -> Path:
    """Where the template of `fingerprint` is kept. One saved by an earlier version under its
    fingerprint with the names is copied to the new name first, so that upgrading taxvan
    does not plan every district's timetable anew."""
    path = templates / f"{fingerprint}.json"
    if not path.exists():
        old = templates / (
            template_fingerprint(dataset, provider, settings, adjustments, with_names=True)
            + ".json"
        )
        if old.exists():
            try:
                data = json.loads(old.read_text("utf-8"))
                if isinstance(data, dict):
                    write_json(path, {**data, "fingerprint": fingerprint})
            except ValueError:
                return path  # unreadable: planned anew, as a bad saved template is
            except OSError:
                return old  # a folder that cannot be written: read the old file where it is
    return path


def _saved_template(
    path: Path, template_problem: WeekProblem, params: SearchParams, say: Say
) -> Plan | None:
    """The saved template if it fits; one searched for less time than asked is planned anew,
    so that a quick trial run never becomes the published timetable for good."""
    if not path.exists():
        return None
    try:
        template = template_from_dict(json.loads(path.read_text("utf-8")), template_problem)
    except (ValueError, PlanningError) as exc:
        say(
            message(
                N_("  the saved template %(path)s cannot be used (%(why)s); planning a new one"),
                path=path.name,
                why=str(exc),
            )
        )
        return None
    if template.search.time_limit_s < params.time_limit_s:
        say(
            message(
                N_(
                    "  the saved template was searched for %(saved)s s, less than the %(asked)s s "
                    "asked; planning a new one"
                ),
                saved=f"{template.search.time_limit_s:g}",
                asked=f"{params.time_limit_s:g}",
            )
        )
        return None
    return template


CHOICE_ROUNDS = 8
"""Most times the weekly template is planned for one plan (`_choose_and_plan`): while the
routes leave chosen stops out of every week, the week is asked for the service minutes the
routes held, then chosen again without the stops left out, and the template planned anew;
the last round's template stands. The second district with a far street takes 4-5 rounds."""


def unheld_chosen(template: Plan, problem: WeekProblem, pairs: Pairs) -> list[str]:
    """Stops the covering choice took that the template holds no visit of, so that every
    week would leave them out, in the order they were chosen."""
    if problem.cover is None:
        return []
    held: set[str] = set()
    for v in template.visits:
        held |= {m.stop_id for m in pairs[v.stop_id]} if v.stop_id in pairs else {v.stop_id}
    return [s for s in problem.cover.chosen if s not in held]


def tighter_limits(limits: CoverLimits, unheld: list[str], template: Plan) -> CoverLimits:
    """The covering choice's limits once the template left `unheld` chosen stops out of
    every week. The week first asks for no more service minutes than the template held (the
    days' budget): shorter visits, the same stops, which is what coverage wants. Once it
    has, a chosen stop still left out is not chosen again, so the next-best stop is."""
    why = message(
        N_(
            "not chosen: the week's routes had no room for it on any day, with the driving "
            "the other chosen stops need; the next-best stop was chosen instead"
        )
    )
    held = floor_to_grid(sum(v.end - v.start for v in template.visits), GRID_MINUTES)
    budget = held if limits.service_minutes is None else min(held, limits.service_minutes)
    if limits.service_minutes is None:
        return CoverLimits(limits.left_out, budget)
    return CoverLimits({**limits.left_out, **dict.fromkeys(unheld, why)}, budget)


def template_record(template: Plan, fingerprint: str, limits: CoverLimits) -> dict[str, Any]:
    """The template as saved (`template_to_dict`) with the covering choice's limits it was
    planned under, which reusing it, or planning near it, starts from."""
    return {
        **template_to_dict(template, fingerprint),
        "cover_limits": {
            "left_out": {
                sid: {"template": m.template, "values": dict(m.values)}
                for sid, m in limits.left_out.items()
            },
            "service_minutes": limits.service_minutes,
        },
    }


def _limits_of(data: Any) -> CoverLimits:
    """The limits in a saved template's data (none when it has none or they do not read)."""
    try:
        saved = data.get("cover_limits") or {}
        left_out = {
            str(sid): Message(str(m["template"]), dict(m["values"]))
            for sid, m in saved.get("left_out", {}).items()
        }
        minutes = saved.get("service_minutes")
        return CoverLimits(left_out, minutes if isinstance(minutes, int) else None)
    except (AttributeError, KeyError, TypeError, ValueError):
        return CoverLimits()


def _start_limits(path: Path | None, previous: Previous | None, base: Path | None) -> CoverLimits:
    """The limits the covering choice starts from: those the template of the same
    fingerprint was planned under, else the previous template's (given, or the district's
    without adjustments), so a plan near a previous template chooses the same stops; none
    when there is nothing to start from."""
    for source in (path, previous, base):
        if isinstance(source, Path):
            try:
                if source.exists():
                    return _limits_of(json.loads(source.read_text("utf-8")))
            except (OSError, ValueError):
                return CoverLimits()
        elif isinstance(source, Mapping):
            return _limits_of(source)
    return CoverLimits()


@dataclass(frozen=True)
class _Search:
    """How the template is searched for, whatever round of the choice it is."""

    params: SearchParams
    progress: ProgressFn | None
    near: PreviousTemplate | None
    stability: Stability | None
    stop: StopFn | None
    say: Say


def _solve_template(standard: TemplateProblem, search: _Search) -> Plan:
    """One search for the weekly template of `standard`, checked independently."""
    base, params, say = standard.base, search.params, search.say
    say(
        message(
            N_(
                "  %(remote)d remote taxpayers; the weekly template has %(days)d working days "
                "and asks for %(visits)d visits (%(shared)d of them shared by two "
                "every-other-week stops)"
            ),
            remote=base.weights.total_remote,
            days=len(base.week.dates),
            visits=len(standard.paired.demand.visits),
            shared=len(standard.pairs),
        )
    )
    say(
        message(
            N_(
                "Planning the weekly template (up to %(limit)s s, %(workers)d search(es) side "
                "by side) ..."
            ),
            limit=f"{params.time_limit_s:g}",
            workers=params.workers,
        )
    )
    near = search.near
    if near is not None:
        where = near.source or near.fingerprint or "given"
        say(
            message(
                N_("  near the previous template (%(where)s): its routes first, moves cost"),
                where=where,
            )
        )
    template = solve_week(
        standard.paired, params, search.progress, near, search.stability, search.stop
    )
    problems = check_plan(template, standard.paired)
    if problems:
        raise PlanCheckFailed("the template", problems)
    return template


def _choose_and_plan(
    build: Callable[[CoverLimits], WeekProblem],
    standard: TemplateProblem,
    limits: CoverLimits,
    search: _Search,
) -> tuple[TemplateProblem, Plan, CoverLimits]:
    """The weekly template, planned until it holds every stop the covering choice took
    (at most `CHOICE_ROUNDS` times): while the routes leave a chosen stop out of every week,
    the week's service minutes are cut to what the routes held, then such a stop is swapped
    for the next-best one (`tighter_limits`). Returns the standard week, its template and
    the limits it was chosen under.

    Near a previous template (`search.near`) the choice is the one it was planned under
    (`_start_limits`) and stays: choosing again would resize and move visits the change
    did not touch, so a stop a pin or an exclusion leaves no room for is reported dropped,
    as what that adjustment costs."""
    rounds = 1 if search.near is not None else CHOICE_ROUNDS
    for round_ in range(1, rounds + 1):
        template = _solve_template(standard, search)
        unheld = unheld_chosen(template, standard.base, standard.pairs)
        if not unheld or round_ == rounds:
            break
        search.say(
            message(
                N_(
                    "  %(n)d chosen stop(s) fit no day of the week's routes; planning again "
                    "with what the days hold (round %(round)d of %(rounds)d)"
                ),
                n=len(unheld),
                round=round_ + 1,
                rounds=CHOICE_ROUNDS,
            )
        )
        limits = tighter_limits(limits, unheld, template)
        standard = pair_alternating(build(limits))
    return standard, template, limits


def demand_key(demand: WeekDemand) -> dict[str, Any]:
    """What a week's visits are, for the fingerprint of a template planned with learned
    weights: each stop's visits a week and their length, each street's minutes. Records
    that move a stop's estimate without changing its visits keep the template."""
    visits = sorted({(v.stop_id, v.count, v.dwell, v.biweekly) for v in demand.visits})
    return {
        "visits": [list(v) for v in visits],
        "streets": dict(sorted(demand.street_target_minutes.items())),
    }


def _learned(
    base: WeekProblem, records: Sequence[VisitCounts], learning: LearningRules | None
) -> LearnedWeights | None:
    """The week's weights learned from `records` against the registry's (None: no records,
    or learning is off)."""
    rules = learning or LearningRules()
    if not records or not rules.enabled:
        return None
    # Only the stops the week sizes visits by: with the covering choice, the chosen ones (a
    # stop no longer chosen has its taxpayers counted at the nearest chosen stop).
    weighted = base.weights.stop_remote
    street_of = {s.id: s.street_code for s in base.dataset.stops if weighted.get(s.id, 0) > 0}
    return learn_weights(base.weights, records, street_of, rules)


def _planned_near(path: Path | None) -> str | None:
    """What a saved template was planned near, as recorded in it."""
    if path is None:
        return None
    recorded = json.loads(path.read_text("utf-8")).get("planned_near")
    return recorded if isinstance(recorded, str) else None


Previous = PreviousTemplate | Mapping[str, Any] | Path
"""A previous template: read, as its JSON data (`template_to_dict`), or its file."""


def _previous(
    previous: Previous | None,
    base_path: Path | None,
    say: Say,
) -> PreviousTemplate | None:
    """The template a new one is planned near: `previous` when given, else the district's
    template without adjustments (the same data, settings and travel model) if the templates
    folder holds it (`base_path`, None when that is the template being planned), else None
    (planned from scratch)."""
    if isinstance(previous, PreviousTemplate):
        return previous
    if isinstance(previous, Path):
        return PreviousTemplate.from_file(previous)
    if previous is not None:
        return PreviousTemplate.from_dict(previous, "given")
    if base_path is None or not base_path.exists():
        return None
    try:
        return PreviousTemplate.from_file(base_path)
    except PlanningError as exc:
        say(message(N_("  %(why)s; planning from scratch"), why=str(exc)))
        return None


def plan_week(
    dataset: Dataset,
    week: str,
    provider: MatrixProvider | None = None,
    settings: PlanSettings | None = None,
    params: SearchParams | None = None,
    templates: Path | None = None,
    *,
    new_template: bool = False,
    say: Say = _silent,
    progress: ProgressFn | None = None,
    adjustments: Adjustments | None = None,
    stop: StopFn | None = None,
    previous: Previous | None = None,
    stability: Stability | None = None,
    records: Sequence[VisitCounts] = (),
    learning: LearningRules | None = None,
) -> WeekPlan:
    """Plan ISO week `week` ("2026-W49") of `dataset` from the weekly template.

    `templates` is the folder the templates are kept in, by fingerprint: a saved template
    that fits is reused (no search), so a stop keeps its times from week to week;
    `new_template` plans a fresh one all the same. Without a folder, the template is planned
    every time and not kept. Raises `PlanningError` (or `TaxvanError` for a bad week) with
    a message for people. `stop` (asked often while the template is searched for; cheap)
    ends the search early with `routes.engine.SearchStopped`, and nothing is saved.

    `adjustments` (`taxvan.adjustments.Adjustments`: pins, excluded stops and weekdays,
    visits a week, dwell) are checked first (`AdjustmentError` lists every problem), are
    part of the template's fingerprint and shape the template: a pin is a constraint of the
    search, and one that cannot hold raises `PinError` naming it.

    A template planned anew is planned near the previous one (`routes.stability`): it starts
    from its routes, and a visit leaving its weekday, van or time costs what `stability`
    says, so only what the change needs moves. The previous template is `previous` (a
    `PreviousTemplate`, a template's JSON data or its `template.json`; the console passes
    the published week's), else the district's template without adjustments from
    `templates` when the folder holds it. `new_template` plans from scratch, near nothing.

    `records` (what the crew counted at past visits) with `learning` on (the default rules)
    replace the registry's weight of each stop whose recorded demand is clearly not what the
    registry says (`taxvan.learning.learn_weights`): such a week has a template of its own,
    planned near the one without the records like any re-plan, and its report's notes say
    why each such stop's visits changed. No records, or none that pass the rules: planned
    as before.
    """
    provider = provider or GeodesicProvider()
    settings = settings or PlanSettings()
    params = params or SearchParams()
    adjustments = adjustments or Adjustments()
    label = parse_iso_week(week).label
    check_adjustments(adjustments, dataset)
    say(message(N_("Computing travel times and weights ...")))
    fingerprint = template_fingerprint(dataset, provider, settings, adjustments)
    path = (
        None
        if templates is None
        else _template_path(templates, fingerprint, dataset, provider, settings, adjustments)
    )
    base_fp = template_fingerprint(dataset, provider, settings)
    base_path = (
        None
        if templates is None or base_fp == fingerprint
        else _template_path(templates, base_fp, dataset, provider, settings, None)
    )
    limits = CoverLimits() if new_template else _start_limits(path, previous, base_path)
    base = build_week_problem(dataset, label, provider, settings, True, adjustments, limits)
    learned = _learned(base, records, learning)
    if learned is not None and learned.changed:
        say(message(N_("  recorded demand changes %(n)d stop(s)"), n=len(learned.changed)))
        base = build_week_problem(
            dataset, label, provider, settings, True, adjustments, limits, learned
        )
        fingerprint = template_fingerprint(
            dataset, provider, settings, adjustments, learned=demand_key(base.demand)
        )
        if templates is not None:
            path = templates / f"{fingerprint}.json"
            base_path = _template_path(templates, base_fp, dataset, provider, settings, None)
        kept = limits if new_template else _start_limits(path, previous, base_path)
        if kept != limits:  # the template of these visits was planned under other limits
            limits = kept
            base = build_week_problem(
                dataset, label, provider, settings, True, adjustments, limits, learned
            )
    standard = pair_alternating(base)
    template = None
    if path is not None and not new_template:
        template = _saved_template(path, standard.paired, params, say)
    reused = template is not None
    where = _planned_near(path) if reused else None
    if template is None:
        near = None if new_template else _previous(previous, base_path, say)
        if near is not None:
            where = near.source or near.fingerprint or "given"
        standard, template, limits = _choose_and_plan(
            lambda lim: build_week_problem(
                dataset, label, provider, settings, True, adjustments, lim, learned
            ),
            standard,
            limits,
            _Search(params, progress, near, stability, stop, say),
        )
        base = standard.base
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            saved = template_record(template, fingerprint, limits)
            if where is not None:
                saved["planned_near"] = where  # read back when the template is reused
            write_json(path, saved)
    else:
        say(
            message(
                N_("Using the weekly template %(path)s (same data and settings)"),
                path=str(path),
            )
        )
    problem = calendar_problem(base, label)
    plan = apply_template(template, problem, standard.pairs)
    say(
        message(
            N_(
                "  week %(week)s has %(days)d working days; %(held)d of its %(asked)d visits "
                "are held"
            ),
            week=problem.week.label,
            days=len(problem.week.dates),
            held=len(plan.visits),
            asked=len(problem.demand.visits),
        )
    )
    problems = check_plan(plan, problem)
    if problems:
        raise PlanCheckFailed("the plan", problems)
    return WeekPlan(
        dataset=dataset,
        problem=problem,
        plan=plan,
        report=plan_report(plan, problem),
        template=template,
        standard=standard,
        fingerprint=fingerprint,
        template_path=path,
        template_reused=reused,
        adjustments=adjustments,
        near=where,
        cover_limits=limits,
        learned=learned,
    )
