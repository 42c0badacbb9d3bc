"""The world outside: the planner, the map, the SMS gateway."""
