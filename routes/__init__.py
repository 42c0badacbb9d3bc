"""Route planning: distance matrices, the planning problem and the OR-Tools model.

Plain data in, plain data out: `plan_week(dataset, week, ..., adjustments=...)`
(`routes.planner`) is the one entry point, from the weekly template to the checked plan of
a calendar week; underneath, `solve_week(problem, params)` takes a `WeekProblem` and returns
a `Plan`, or raises `PlanningError`. `Adjustments` (pins, excluded stops and days, visits a
week, dwell) and `diff_plan` (a new plan against the published timetable) are plain data
for the dispatcher console. Only `routes.engine` imports OR-Tools.
"""

from __future__ import annotations

from typing import Any

from taxvan.adjustments import (
    AdjustmentError,
    AdjustmentProblem,
    Adjustments,
    Pin,
    PinError,
)

__all__ = [
    "AdjustmentError",
    "AdjustmentProblem",
    "Adjustments",
    "Pin",
    "PinError",
    "PlanDiff",
    "WeekPlan",
    "diff_plan",
    "plan_week",
]

_LAZY = {"WeekPlan": "planner", "plan_week": "planner", "PlanDiff": "diff", "diff_plan": "diff"}


def __getattr__(name: str) -> Any:
    """`routes.plan_week` without loading OR-Tools for every `import routes.matrix`."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"routes.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'routes' has no attribute {name!r}")
