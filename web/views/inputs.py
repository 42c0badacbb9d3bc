"""Input at the edge: ids in URLs, text in query strings, forms and JSON bodies.

Everything a request carries is checked here before a view or the booking service sees it, so
that bad input is answered with a 4xx that names the field instead of reaching the database
and failing there (PostgreSQL refuses NUL characters in text and ids beyond its `integer`;
neither driver can encode a lone UTF-16 surrogate). Both databases then answer alike.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from flask import Flask, current_app, request
from jsonschema import Draft202012Validator, validators
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map
from wtforms import IntegerField

F = TypeVar("F", bound=Callable[..., Any])

MAX_ROW_ID = 2**31 - 1
"""The largest id a URL or a JSON body may name: PostgreSQL's `integer`. SQLite would take up
to 2**63 - 1; bounding both alike makes an impossible id a plain "not found" on either."""

YEARS = (2000, 2099)
"""The first and last year a date or an ISO week in a request may name: the service's working
life with a wide margin. Nothing is stored outside it, and arithmetic on far dates fails (the day
after 9999-12-31 does not exist); the API's document says the same (`ISO_WEEK`)."""

MAX_JSON_BYTES = 16 * 1024
"""Largest JSON body the API reads: a booking is a few hundred bytes."""

UPLOAD_PATH = re.compile(r"/dispatch/districts/[^/]+/import|/dispatch/new-district")
"""Only the console's import and new district take files, so only a POST there may reach the
upload limit; everywhere else the request limit (MAX_CONTENT_LENGTH) applies, chunked bodies
included."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _is_strict_int(_checker: object, value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_Validator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_strict_int),
)
"""JSON Schema 2020-12, except that an integer is written as one: `1.0` is not an id."""


class RowIdConverter(IntegerConverter):
    """`<row_id:name>`: a positive id that fits PostgreSQL's `integer`; anything else is a 404.

    Werkzeug's `int` converter accepts any number of digits; the database then fails on the
    ones it cannot hold (PostgreSQL beyond 2**31 - 1, SQLite beyond 2**63 - 1).
    """

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, min=1, max=MAX_ROW_ID)


class BadInput(BadRequest):
    """A request whose fields cannot be taken at all (400): `errors` maps field to problem."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class SchemaErrors(Exception):
    """A JSON body or query that contradicts the API's schema (422), field by field."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text by either database, or None if it can."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate; send valid UTF-8 text"
    return None


def line_problem(value: str) -> str | None:
    """Why `value` is not one line of printable text (a name, a code), or None if it is."""
    if problem := text_problem(value):
        return problem
    if _CONTROL.search(value):
        return "contains a control character"
    return None


def one_line_problem(value: str) -> str | None:
    """Why `value` is not one line of text (an id, a name in a file name), or None if it is:
    as `line_problem`, and no tab or line break either."""
    if problem := line_problem(value):
        return problem
    if any(c in value for c in "\t\r\n"):
        return "contains a tab or a line break"
    return None


def _first_problems(fields: Iterable[tuple[str, Any]]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, value in fields:
        if isinstance(value, str) and name not in errors and (problem := text_problem(value)):
            errors[name] = problem
    return errors


def reject_unstorable_text() -> None:
    """`before_request`: a path part, query parameter or form field no database can store is
    refused (400) before any view runs, naming the field."""
    errors = _first_problems((request.view_args or {}).items())
    errors |= _first_problems(request.args.items(multi=True))
    if request.is_json and not request.path.startswith("/api/") and not _marked("takes_json"):
        # Flask-WTF would read a JSON body as the form's fields (numbers, lists and objects
        # where the fields expect text): only the API and views marked `takes_json` (which
        # check their body's text themselves) take JSON.
        raise BadInput({"body": "this page takes a form, not JSON"})
    if request.mimetype in _FORM_TYPES:
        errors |= _first_problems(request.form.items(multi=True))
        if request.files and not _takes_files():
            # Flask-WTF reads files and text fields alike: a file sent as the name would reach
            # a text field's validators (a 500), so a view that takes no files refuses them.
            errors |= {name: "a file was sent where text is expected" for name in request.files}
    if errors:
        raise BadInput(errors)


def takes_files(view: F) -> F:
    """Mark a view whose form has file fields; every other view refuses file parts (400)."""
    view.takes_files = True  # type: ignore[attr-defined]
    return view


def takes_json(view: F) -> F:
    """Mark a console view that reads a JSON body (no form): it checks the body's text itself
    (`text_problem`)."""
    view.takes_json = True  # type: ignore[attr-defined]
    return view


def _marked(flag: str) -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, flag, False))


def _takes_files() -> bool:
    return _marked("takes_files")


class WholeNumberField(IntegerField):
    """WTForms' IntegerField, refusing more than `MAX_DIGITS` digits as not a number: a longer
    one would reach `NumberRange`, which turns it into a float and fails (OverflowError)."""

    MAX_DIGITS = 12
    data: int | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist:
            value = valuelist[0]
            digits = value.strip().lstrip("+-") if isinstance(value, str) else None
            if digits is None or len(digits) > self.MAX_DIGITS:
                self.data = None
                raise ValueError(self.gettext("Not a valid integer value."))
        super().process_formdata(valuelist)


def read_json(limit: int = MAX_JSON_BYTES) -> Any:
    """The request's JSON body, read only if it is at most `limit` bytes (else 413).

    Raises SchemaErrors naming `body` when it is not JSON, nests too deeply for the parser,
    or is not UTF-8.
    """
    request.max_content_length = min(limit, request.max_content_length or limit)
    raw = request.get_data(cache=True)  # raises RequestEntityTooLarge past the limit
    if not request.is_json:
        raise SchemaErrors({"body": "send a JSON object with Content-Type application/json"})
    try:
        return json.loads(raw)
    except RecursionError:
        raise SchemaErrors({"body": "the JSON nests too deeply"}) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise SchemaErrors({"body": f"not valid JSON: {exc}"}) from None


def _field_of(error: Any) -> str:
    if error.validator == "required":
        return str(error.message).split("'")[1]
    return ".".join(str(p) for p in error.absolute_path) or "body"


def check_schema(
    instance: Any, schema: Mapping[str, Any], messages: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Every field of `instance` that `schema` (JSON Schema 2020-12) refuses, with why.

    The schema is the one the OpenAPI document publishes, so the API accepts exactly what its
    document says. `messages` gives a plainer message per field than the validator's.
    Strings are also checked for what no database can store (NUL, lone surrogates).
    """
    messages = messages or {}
    errors: dict[str, str] = {}
    for error in _Validator(schema).iter_errors(instance):
        field = _field_of(error)
        if field in errors:
            continue
        if error.validator == "required":
            errors[field] = "required"
        elif error.validator == "type":
            errors[field] = f"expected {_type_name(error.validator_value)}"
        else:
            errors[field] = messages.get(field, str(error.message))
    if isinstance(instance, dict):
        for field, value in instance.items():
            if isinstance(value, str) and field not in errors and (p := line_problem(value)):
                errors[str(field)] = p
    return errors


def _type_name(value: Any) -> str:
    names = {"string": "a string", "integer": "an integer", "object": "a JSON object"}
    if isinstance(value, list):
        return " or ".join(names.get(v, str(v)) for v in value)
    return names.get(value, str(value))


class KnownLengthBodies:
    """WSGI middleware: a body sent without Content-Length (chunked) is read here up to one
    byte past the app's MAX_CONTENT_LENGTH and handed on with the length read, so that Flask
    refuses it with 413 (through the app's own error page) when it is too large.

    Without this a chunked body is cut off at the limit instead of refused, so a 20 MB body
    would be read as its first bytes (a JSON prefix taken for the whole, a generic 400 on
    forms). With a known length every limit of Flask and `read_json` applies as usual.
    """

    def __init__(self, app: Flask) -> None:
        self.flask = app
        self.wsgi_app = app.wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if environ.get("CONTENT_LENGTH") and not chunked:
            # The server may say it ends the stream itself (`wsgi.input_terminated`); Werkzeug
            # then reads to its end and takes a body cut short (the client stopped sending
            # before Content-Length) as if it were whole. Without the flag it reads exactly
            # Content-Length bytes and answers a short body with 400.
            environ.pop("wsgi.input_terminated", None)
        elif chunked and not environ.get("CONTENT_LENGTH"):
            limit = self.flask.config.get("MAX_CONTENT_LENGTH") or MAX_JSON_BYTES
            upload = UPLOAD_PATH.fullmatch(environ.get("PATH_INFO", ""))
            if upload and environ.get("REQUEST_METHOD") == "POST":
                cfg = self.flask.config.get("TAXVAN")
                limit = max(limit, getattr(cfg, "max_upload_bytes", 0))
            body = environ["wsgi.input"].read(limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["wsgi.input_terminated"] = False
        return self.wsgi_app(environ, start_response)


def register_inputs(app: Flask) -> None:
    """The `row_id` URL converter, the text guard and bodies of known length (the body limit is
    MAX_CONTENT_LENGTH).

    Call before registering blueprints: their URL rules use the converter.
    """
    app.url_map.converters["row_id"] = RowIdConverter
    app.before_request(reject_unstorable_text)
    app.wsgi_app = KnownLengthBodies(app)  # type: ignore[method-assign]
