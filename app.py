"""Entry point: `flask --app app run`, `flask --app app plan ...`."""

from web import create_app

app = create_app()
