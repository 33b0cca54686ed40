"""The ``facenet`` face matcher: facenet-pytorch's InceptionResnetV1 (512-d embeddings) with the
VGGFace2 weights, 20180402-114759-vggface2.pt, read from the path the user gives or from where
facenet-pytorch (or torch hub) caches downloads. They are never downloaded. Images are resized to
160 px and standardised as facenet-pytorch's ``fixed_image_standardization`` does.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from privbench.attacks.faces.matchers import EmbeddingMatcher, FaceMatcher, MatcherKind, MatcherOptions, resize
from privbench.errors import InputError

CHECKPOINT = "20180402-114759-vggface2.pt"
SIZE = 160
BATCH = 64


def weight_candidates(options: MatcherOptions) -> list[Path]:
    """The weights file given, else the cache files facenet-pytorch and torch hub would download to."""
    if options.facenet_weights is not None:
        return [Path(options.facenet_weights)]
    import torch
    from facenet_pytorch.models.inception_resnet_v1 import get_torch_home

    folders = [Path(get_torch_home()) / "checkpoints", Path(torch.hub.get_dir()) / "checkpoints"]
    return list(dict.fromkeys(folder / CHECKPOINT for folder in folders))


def unavailable(options: MatcherOptions) -> str | None:
    """What the facenet matcher lacks here, in one line; None when it can run."""
    if importlib.util.find_spec("facenet_pytorch") is None:
        return "face matcher 'facenet' is not installed: pip install facenet-pytorch==2.5.3"
    candidates = weight_candidates(options)
    if not any(path.is_file() for path in candidates):
        return (f"face matcher 'facenet' needs the VGGFace2 weights ({CHECKPOINT}; never downloaded): "
                f"none at {', '.join(map(str, candidates))}; give the file's path as facenet_weights")
    return None


class FacenetEmbeddings:
    """L2-normalised 512-d InceptionResnetV1 embeddings, computed in batches on ``device``."""

    def __init__(self, weights: Path, device: str) -> None:
        import torch
        from facenet_pytorch import InceptionResnetV1

        self.device = device
        self.model = InceptionResnetV1(pretrained=None, classify=False)  # pretrained=... would download
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            # the classifier head over VGGFace2's 8631 training identities is not part of the embedding
            self.model.load_state_dict({k: v for k, v in state.items() if not k.startswith("logits.")})
        except Exception as err:  # torch.load raises many kinds on a file that is not a state dict
            raise InputError(f"{weights}: not InceptionResnetV1 weights ({str(err).splitlines()[0][:200]})") from None
        self.model.eval().to(device)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(images), BATCH):
                batch = (resize(images[start:start + BATCH], SIZE) - 127.5) / 128.0  # fixed_image_standardization
                out.append(self.model(batch.to(self.device)).cpu().numpy())
        return np.concatenate(out).astype(float)


def build(options: MatcherOptions) -> FaceMatcher:
    weights = next(path for path in weight_candidates(options) if path.is_file())
    return EmbeddingMatcher(FacenetEmbeddings(weights, options.device))


FACENET = MatcherKind(unavailable=unavailable, build=build)
