"""A data set's identity, as the benchmark keys jobs by it."""

from __future__ import annotations

import hashlib

from privbench.data.generate import config_key
from privbench.data.manifest import dataset_folder
from privbench.data.synthetic import SyntheticConfig
from privbench.errors import DatasetError


def dataset_identity(data: str, synthetic: SyntheticConfig | None) -> dict[str, str]:
    """``{"kind", "id", ...}``. The synthetic corpus is a pure function of its settings and the
    generator's version, so its id is the cache key; a folder's id hashes its manifest.json and the
    size of every file in it (a re-import or an edited table changes it)."""
    if synthetic is not None:
        return {"kind": "synthetic", "id": f"synthetic-{config_key(synthetic)}"}
    root = dataset_folder(data)
    manifest = root / "manifest.json"
    if not manifest.is_file():
        raise DatasetError(f"{root}: not a privbench dataset (no manifest.json)")
    digest = hashlib.sha256(manifest.read_bytes())
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(root)}\0{path.stat().st_size}\n".encode())
    return {"kind": "folder", "id": f"{root.resolve().name}-{digest.hexdigest()[:16]}", "path": str(root.resolve())}
