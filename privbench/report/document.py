"""The report as data: sections of paragraphs, bullet lists, tables and figures, rendered to Markdown
and HTML by ``markdown`` and ``html``; number formatting shared by every table."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

DASH = "—"


@dataclass(frozen=True)
class Table:
    """``data`` (raw numbers) is written as ``<name>.csv``; ``shown`` (formatted text) is what people read."""

    name: str
    caption: str
    data: pd.DataFrame
    shown: pd.DataFrame


@dataclass(frozen=True)
class Figure:
    """A PNG written as ``<name>.png`` and embedded in the HTML."""

    name: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


Block = str | Table | Figure | Bullets


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    title: str
    sections: tuple[Section, ...]

    @property
    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    @property
    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]


def missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float | None, digits: int = 3) -> str:
    """``0.583``; a missing value as a dash; ``-0.000`` as ``0.000``."""
    return DASH if missing(value) else f"{round(float(value), digits) + 0.0:.{digits}f}"


def mean_std(mean: float | None, std: float | None, digits: int = 3) -> str:
    if missing(mean):
        return DASH
    return number(mean, digits) + ("" if missing(std) else f" ± {number(std, digits)}")


def with_interval(value: float | None, interval: tuple[float, float] | None, digits: int = 3) -> str:
    """``0.833 (0.535-0.969)``: a value and its 95% interval."""
    if missing(value):
        return DASH
    return number(value, digits) + ("" if interval is None else
                                    f" ({number(interval[0], digits)}-{number(interval[1], digits)})")


def quantity(value: float | None) -> str:
    """A cost of any size, three significant digits: ``0.00196``, ``2.95``, ``1,681``, ``3.6e+08``."""
    if missing(value):
        return DASH
    value = float(value)
    if value != 0 and (abs(value) >= 1e7 or abs(value) < 1e-3):
        return f"{value:.2e}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
