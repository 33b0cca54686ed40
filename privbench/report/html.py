"""``report.html``: one self-contained file. Inline CSS, every figure a base64 PNG data URI, no script,
no external font or URL; its Content-Security-Policy forbids fetching anything but data: images."""

from __future__ import annotations

import base64
import re
from html import escape

import pandas as pd

from privbench.report.document import Block, Bullets, Document, Figure, Table

POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 2rem auto;
       max-width: 78rem; padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
nav ul { columns: 2; }
.scroll { overflow-x: auto; margin: 0.6rem 0 1.2rem; }
table { border-collapse: collapse; font-size: 0.82rem; }
th, td { border: 1px solid #d4d4d4; padding: 0.25rem 0.5rem; text-align: left; white-space: nowrap; }
th { background: #f2f2f2; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
p.caption { font-size: 0.85rem; color: #444; margin-bottom: 0.2rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #444; }
"""


def anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


NUMERIC = re.compile(r"^[-+]?[0-9.,]+(e[-+]?[0-9]+)?( .*)?$")


def _cell(value: object) -> str:
    text = str(value)
    return f'<td class="n">{escape(text)}</td>' if NUMERIC.match(text) else f"<td>{escape(text)}</td>"


def _table(block: Table) -> str:
    shown: pd.DataFrame = block.shown
    head = "".join(f"<th>{escape(str(c))}</th>" for c in shown.columns)
    rows = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in shown.itertuples(index=False))
    caption = f"{escape(block.caption)} (also as {escape(block.name)}.csv)"
    return f'<p class="caption">{caption}</p><div class="scroll"><table><thead><tr>{head}</tr></thead>' \
           f"<tbody>{rows}</tbody></table></div>"


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _block(block: Block) -> str:
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Figure):
        return (f'<figure><img src="{data_uri(block.png)}" alt="{escape(block.caption)}">'
                f"<figcaption>{escape(block.caption)}</figcaption></figure>")
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in block.items) + "</ul>"
    return f"<p>{escape(block)}</p>"


def html(document: Document) -> str:
    contents = "".join(f'<li><a href="#{anchor(s.title)}">{escape(s.title)}</a></li>' for s in document.sections)
    body = "".join(f'<section id="{anchor(s.title)}"><h2>{escape(s.title)}</h2>' + "".join(_block(b) for b in s.blocks)
                   + "</section>" for s in document.sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(document.title)}</title><style>{STYLE}</style></head>"
            f"<body><h1>{escape(document.title)}</h1><nav><ul>{contents}</ul></nav>{body}</body></html>\n")
