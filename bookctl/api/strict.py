"""Strict JSON types for request bodies.

Litestar converts request data with msgspec in lax mode (it has to: path and query values arrive as strings), so a
JSON body's `0` would pass as `false` and `"5"` as `5`. For bodies that is wrong: the OpenAPI schema says
boolean, so a generated client, and the server, must agree. `strict_body(T)` is a `before_request` hook that
decodes the body strictly as `T`; when only the strict decoding fails (the lax one passes), it answers 400 naming
the field. Every other problem is left to Litestar's own validation (and its field-by-field 400).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request

from bookctl.errors import ValidationError

_AT = re.compile(r"at `\$\.?([A-Za-z_][A-Za-z0-9_]*)")


def strict_body(struct: type) -> Any:
    async def hook(request: Request) -> None:
        body = await request.body()
        if not body:
            return None
        try:
            msgspec.json.decode(body, type=struct)  # strict: no 0 for false, no "5" for 5
            return None
        except msgspec.DecodeError as strict_error:
            try:
                msgspec.convert(msgspec.json.decode(body), type=struct, strict=False)
            except (msgspec.DecodeError, msgspec.ValidationError, TypeError):
                return None  # not only a coercion: Litestar's validation reports it
            match = _AT.search(str(strict_error))
            field = match.group(1) if match else None
            message = str(strict_error).split(" - at ", 1)[0]
            raise ValidationError(f"invalid input: {field + ': ' if field else ''}{message}",
                                  detail={"errors": [{"field": field, "source": "body", "message": message}]}) \
                from None

    return hook
