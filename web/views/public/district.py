"""Public URLs name their district: `/d/<code>/...`. One place binds the code to the district.

A blueprint bound here takes `<district>` from the URL, looks the district up once per request
(`g.district`; an unknown code is a 404) and fills it in when the same pages link to each other,
so `url_for("public.stop_page", stop_id=...)` inside a district's page stays in that district.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g
from flask_babel import get_locale
from sqlalchemy import exists, select

from web.db.models import District, PublishedWeek
from web.extensions import db
from web.views.inputs import text_problem

PREFIX = "/d/<district>"


def bind(bp: Blueprint) -> None:
    """Make `bp`'s routes (registered under PREFIX) district pages."""

    @bp.url_value_preprocessor
    def pull_district(endpoint: str | None, values: dict[str, Any] | None) -> None:
        code = (values or {}).pop("district", None)
        # Runs before the app's text guard (`web.views.inputs`): a code no database can store
        # (a NUL, which PostgreSQL refuses) names no district, so it is a 404 like any other.
        district = (
            db.session.scalar(select(District).where(District.code == code))
            if code and not text_problem(code)
            else None
        )
        if district is None:
            abort(404)
        g.district = district

    @bp.url_defaults
    def push_district(endpoint: str, values: dict[str, Any]) -> None:
        if "district" in values or "district" not in g:
            return
        if current_app.url_map.is_endpoint_expecting(endpoint, "district"):
            values["district"] = g.district.code


def current() -> District:
    """The district of this request's URL (only inside a bound blueprint's views)."""
    district: District = g.district
    return district


def current_or_none() -> District | None:
    return g.get("district")


def name(district: District) -> str:
    """The district's name in the page's language."""
    return district.name if str(get_locale()).startswith("zh") else district.name_en


def published() -> list[District]:
    """Districts with at least one published week, by code: the ones the public site lists."""
    return list(
        db.session.scalars(
            select(District)
            .where(exists().where(PublishedWeek.district_id == District.id))
            .order_by(District.code)
        )
    )
