"""Route planning: distance matrices, the planning problem and the OR-Tools model.

Plain data in, plain data out: `plan_week(dataset, week, ...)` (`routes.planner`) is the one
entry point, from the weekly template to the checked plan of a calendar week; underneath,
`solve_week(problem, params)` takes a `WeekProblem` and returns a `Plan`, or raises
`PlanningError`. Only `routes.engine` imports OR-Tools.
"""

from __future__ import annotations

from typing import Any

__all__ = ["WeekPlan", "plan_week"]


def __getattr__(name: str) -> Any:
    """`routes.plan_week` without loading OR-Tools for every `import routes.matrix`."""
    if name in __all__:
        from routes import planner

        return getattr(planner, name)
    raise AttributeError(f"module 'routes' has no attribute {name!r}")
