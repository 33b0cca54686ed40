"""Options shared by several commands."""

from __future__ import annotations

import enum
from typing import Annotated, Optional

import typer


class OutputFormat(str, enum.Enum):
    table = "table"
    json = "json"


SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a config key: KEY=VALUE (repeatable; data.KEY for the synthetic data)."),
]
ProfileOption = Annotated[str, typer.Option(help="quick (seconds, for tests), default, or paper (Table I).")]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table for people, json for scripts.")]
