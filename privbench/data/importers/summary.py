"""What an import wrote and what it had to mask (printed by the CLI, kept in manifest.json)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

LABELS = {
    "participants": "participants",
    "rows": "rows (frames on the time grid)",
    "masked_rows": "masked AU rows (success = 0)",
    "interpolated_rows": "interpolated AU rows",
    "frames": "face frames written",
    "faces_not_found": "frames without a detected face",
}


@dataclass
class ImportSummary:
    """Counts over all participants of one import."""

    participants: int = 0
    rows: int = 0
    masked_rows: int = 0
    interpolated_rows: int = 0
    frames: int = 0
    faces_not_found: int = 0

    def counts(self) -> dict[str, int]:
        return asdict(self)
