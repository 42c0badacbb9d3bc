"""Files the site hands out (timetables, day sheets, notices, calendar feeds) and the names a
browser saves them under.

The name goes into `Content-Disposition` through Flask's `send_file(download_name=...)`, which
quotes it and, for anything beyond plain ASCII, adds RFC 6266's `filename*` (RFC 5987 encoding),
so no value can close the quotes and add a parameter of its own. Names are built from the app's
own data (a district's code, a date, a van of the sheets), never from a request's text.
"""

from __future__ import annotations

import io
import re

from flask import Response, send_file

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def download(
    body: bytes | str,
    name: str,
    mimetype: str,
    *,
    inline: bool = False,
    private: bool = False,
) -> Response:
    """`body` as a file called `name` (shown in the browser when `inline`, else saved).

    `private`: never kept by a cache (personal data: day sheets, notices)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    name = _CONTROL.sub("_", name)  # a header cannot carry a line break (nor should a name)
    response = send_file(
        io.BytesIO(data),
        mimetype=mimetype,
        as_attachment=not inline,
        download_name=name,
        conditional=False,
        etag=False,
    )
    if private:
        response.headers["Cache-Control"] = "no-store"
    return response
