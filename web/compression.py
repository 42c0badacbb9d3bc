"""Compressed responses (Flask-Compress): a phone on a slow rural connection loads a page, its map
and its scripts in a fraction of the bytes."""

from __future__ import annotations

import flask_compress
from flask import Response


class Compress(flask_compress.Compress):
    """Flask-Compress that closes the file a compressed static response was streamed from.

    Flask-Compress (1.25) replaces a streamed body, such as a static file, with a generator of
    compressed chunks and drops the file's `close`, so the file is left for the garbage collector
    (a ResourceWarning). The original body's `close` is run when the response is closed.
    """

    def after_request(self, response: Response | None) -> Response:
        source = response.response if response is not None else None
        out = super().after_request(response)
        if source is not None and out.response is not source and hasattr(source, "close"):
            out.call_on_close(source.close)
        return out
