"""Participant metadata tables (gender, age, language, ...) as copies of corpora ship them."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from privbench.data.importers.tables import read_delimited
from privbench.errors import DatasetError

# normalised header -> layout column; anything else is kept under its normalised name
HEADERS = {
    "participant_id": "participant_id", "participant": "participant_id", "participant_name": "participant_id",
    "participantid": "participant_id", "subject": "participant_id", "subject_id": "participant_id",
    "speaker": "participant_id", "id": "participant_id", "pid": "participant_id",
    "gender": "gender", "sex": "gender",
    "age": "age", "age_years": "age",
    "language": "language", "mother_tongue": "language", "mothertongue": "language", "native_language": "language",
    "first_language": "language", "l1": "language",
}
GENDERS = {"f": "F", "female": "F", "woman": "F", "w": "F", "m": "M", "male": "M", "man": "M"}


def header_key(name: str) -> str:
    """'Mother Tongue ' -> 'mother_tongue'."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def id_key(value: object) -> str:
    """A participant id for matching: 'P016', 'p16' and '16' all give '16'; 'train_1' gives 'TRAIN_1'."""
    text = str(value).strip().upper()
    digits = text[1:] if text.startswith("P") and text[1:].isdigit() else text
    return str(int(digits)) if digits.isdigit() else text


def read_metadata(path: Path, participants: list[str]) -> dict[str, dict]:
    """participant id -> {gender, age, language, other columns...} for the given participants
    (matched with ``id_key``; participants missing from the table get no fields)."""
    table = read_delimited(Path(path))
    columns = [HEADERS.get(header_key(c), header_key(c)) for c in table.columns]
    if "participant_id" not in columns:
        raise DatasetError(f"{path}: no participant column (expected one of participant_id, participant, subject, id)")
    if len(set(columns)) != len(columns):
        duplicate = next(c for c in columns if columns.count(c) > 1)
        raise DatasetError(f"{path}: two columns map to {duplicate!r}")
    table.columns = columns
    table = table.dropna(subset=["participant_id"])
    if "gender" in table:
        table["gender"] = [GENDERS.get(str(g).strip().lower(), g) if pd.notna(g) else g for g in table["gender"]]
    rows = {id_key(row["participant_id"]): row for row in table.to_dict("records")}
    return {
        pid: {k: v for k, v in rows[id_key(pid)].items() if k != "participant_id" and pd.notna(v)}
        for pid in participants if id_key(pid) in rows
    }
