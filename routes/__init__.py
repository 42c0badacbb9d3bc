"""Route planning: distance matrices, the planning problem and the OR-Tools model.

Plain data in, plain data out: `solve_week(problem, params)` takes a `WeekProblem` and
returns a `Plan`, or raises `PlanningError`. Only `routes.engine` imports OR-Tools.
"""
