"""taxvan: the domain of the mobile tax-service van.

Plain data and pure functions: places, taxpayers, vans, services, weights, visit demand,
working days and timetables. Nothing here imports Flask or OR-Tools, reads the environment
or touches a database; the planner (`routes`) and the app (`web`) sit on top.
"""
