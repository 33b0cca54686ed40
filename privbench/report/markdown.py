"""``report.md``: the document as Markdown; figures are the PNG files beside it, tables pipe tables."""

from __future__ import annotations

import pandas as pd

from privbench.report.document import Block, Bullets, Document, Figure, Table


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def pipe_table(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(_cell(c) for c in table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def _block(block: Block) -> str:
    if isinstance(block, Table):
        return f"{block.caption} ([{block.name}.csv]({block.name}.csv))\n\n{pipe_table(block.shown)}"
    if isinstance(block, Figure):
        return f"![{block.caption}]({block.name}.png)\n\n*{block.caption}*"
    if isinstance(block, Bullets):
        return "\n".join(f"- {item}" for item in block.items)
    return block


def markdown(document: Document) -> str:
    parts = [f"# {document.title}"]
    for section in document.sections:
        parts.append(f"## {section.title}")
        parts += [_block(b) for b in section.blocks]
    return "\n\n".join(parts) + "\n"
