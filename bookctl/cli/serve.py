"""`bookctl serve`: registered by the API package once it exists."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    return None
