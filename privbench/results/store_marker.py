"""A benchmark store's marker, ``store.json``: written by the benchmark runner, checked by it and by the
report (both read stores; neither imports the other)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from privbench.errors import InputError

STORE_FORMAT = "privbench-store"
STORE_VERSION = 1
MARKER = "store.json"


def check_store_marker(path: Path) -> dict[str, Any]:
    """The marker at ``path``, checked: this format, this version; anything else is one line."""
    try:
        header = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: malformed JSON ({str(err).splitlines()[0]})") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    if not isinstance(header, dict) or header.get("format") != STORE_FORMAT:
        raise InputError(f"{path}: not a privbench store (format is not {STORE_FORMAT!r})")
    if header.get("version") != STORE_VERSION:
        raise InputError(f"{path}: store version {header.get('version')!r}; this privbench reads version "
                         f"{STORE_VERSION}")
    return header
