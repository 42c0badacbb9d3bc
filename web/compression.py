"""Compressed responses (Flask-Compress): a phone on a slow rural connection loads a page, its map
and its scripts in a fraction of the bytes.

Besides Flask-Compress's own list, the calendar feeds (`text/calendar`) and the CSV files
(`text/csv`: open data, day sheets) are compressed. Static files are streamed from disk, and
Flask-Compress compresses a streamed body only with `COMPRESS_ALGORITHM_STREAMING`, which leaves
gzip out by default: a client that offers only gzip (older phones' browsers, many download tools)
got leaflet.js's 147 KB uncompressed. gzip is added there: zlib compresses chunk by chunk into
one well-formed gzip stream, as it does for deflate.
"""

from __future__ import annotations

import flask_compress
from flask import Flask, Response

MORE_MIMETYPES = ("text/calendar", "text/csv")
"""Compressed besides Flask-Compress's own list."""

STREAMING_ALGORITHMS = ("zstd", "br", "gzip", "deflate")
"""For streamed bodies (static files): Flask-Compress's choice, with gzip."""


class Compress(flask_compress.Compress):
    """Flask-Compress that also compresses calendars and CSV, streams gzip (static files with
    `Accept-Encoding: gzip`), and closes the file a compressed static response was streamed from.

    Flask-Compress (1.25) replaces a streamed body, such as a static file, with a generator of
    compressed chunks and drops the file's `close`, so the file is left for the garbage collector
    (a ResourceWarning). The original body's `close` is run when the response is closed.
    """

    def init_app(self, app: Flask) -> None:
        app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", list(STREAMING_ALGORITHMS))
        super().init_app(app)
        more = [m for m in MORE_MIMETYPES if m not in self.compress_mimetypes_set]
        app.config["COMPRESS_MIMETYPES"] = [*app.config["COMPRESS_MIMETYPES"], *more]
        self.compress_mimetypes_set.update(more)

    def after_request(self, response: Response | None) -> Response:
        source = response.response if response is not None else None
        out = super().after_request(response)
        if source is not None and out.response is not source and hasattr(source, "close"):
            out.call_on_close(source.close)
        return out
