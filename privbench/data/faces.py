"""Synthetic faces: a parametric renderer of AU-driven face crops in pure numpy.

A face is a stack of soft (anti-aliased) shapes: hair, skin, cheeks, eyes, brows, nose and lips.
A per-person `FaceIdentity` places and colours them; the 17 AU intensities of each frame deform
them (FACS-motivated). Frames are drawn a batch at a time, channel-first in float32, under a
slowly drifting head pose, lighting and background colour, with Gaussian sensor noise.
Coordinates: the crop spans -1..1 both ways, u pointing right and v down; the face is symmetric
in u, so paired features (eyes, brows, cheeks, nostrils) are drawn once, on |u|.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from statistics import NormalDist

import numpy as np

from privbench.data.layout import AU_INTENSITY

REFERENCE_AGE = 32.0
NOISE_SIGMA = 4.5  # sensor noise, grey levels
FACE_Y = 0.06  # face centre, a little below the crop centre

# trait: (population mean, person-specific sd, male-minus-female half-difference, change per decade)
_TRAITS: dict[str, tuple[float, float, float, float]] = {
    "face_w": (0.64, 0.035, 0.02, 0.0), "face_h": (0.78, 0.035, 0.02, 0.005),
    "jaw_w": (0.50, 0.04, 0.05, 0.005), "eye_dx": (0.27, 0.018, 0.005, 0.0),
    "eye_y": (-0.10, 0.025, 0.0, 0.0), "eye_w": (0.115, 0.012, -0.004, 0.0),
    "eye_h": (0.065, 0.008, -0.006, -0.003), "brow_gap": (0.12, 0.015, -0.012, 0.0),
    "brow_thick": (0.05, 0.008, 0.012, -0.002), "brow_len": (0.22, 0.02, 0.01, 0.0),
    "nose_len": (0.30, 0.025, 0.015, 0.005), "nose_w": (0.075, 0.01, 0.01, 0.002),
    "mouth_y": (0.43, 0.025, 0.01, 0.005), "mouth_w": (0.20, 0.018, 0.01, 0.0),
    "lip_thick": (0.045, 0.007, -0.006, -0.003), "hairline": (-0.48, 0.06, -0.02, -0.02),
    "hair_volume": (0.10, 0.04, -0.04, 0.0), "hair_length": (0.15, 0.2, -0.25, 0.0),
    "wrinkles": (0.05, 0.03, 0.01, 0.06), "skin_tone": (0.35, 0.22, 0.03, 0.03),
    "skin_warmth": (0.0, 1.0, 0.0, 0.0), "hair_darkness": (0.6, 0.25, 0.05, 0.0),
    "hair_redness": (0.0, 1.0, 0.0, 0.0), "greyness": (0.03, 0.06, 0.02, 0.12),
    "iris_darkness": (0.6, 0.3, 0.0, 0.0), "lip_redness": (0.5, 0.2, -0.15, -0.04),
}
# per-frame nuisance: shift x, y, rotation, log scale | light gradient x, y, log brightness | background RGB
_NUISANCE_SD = np.array([0.035, 0.035, 0.05, 0.03, 0.15, 0.15, 0.1, 0.04, 0.04, 0.04])
_NUISANCE_RHO = np.array([0.96] * 4 + [0.995] * 6)  # per-frame persistence of each random walk
_BACKGROUND = np.array([0.45, 0.50, 0.55])
_SCLERA, _LASH, _MOUTH = (0.93, 0.91, 0.88), (0.12, 0.08, 0.07), (0.25, 0.07, 0.07)
_TEETH = (0.88, 0.85, 0.78)

RGB = tuple[float, float, float]
Num = float | np.ndarray


@dataclass(frozen=True)
class FaceIdentity:
    """One person's appearance. Lengths are in crop half-widths (the crop spans -1..1, v pointing
    down); colours are RGB in 0..1; `wrinkles` is the strength of age lines."""

    face_w: float
    face_h: float
    jaw_w: float
    eye_dx: float
    eye_y: float
    eye_w: float
    eye_h: float
    brow_gap: float
    brow_thick: float
    brow_len: float
    nose_len: float
    nose_w: float
    mouth_y: float
    mouth_w: float
    lip_thick: float
    hairline: float
    hair_volume: float
    hair_length: float
    wrinkles: float
    skin: RGB
    hair: RGB
    iris: RGB
    lip: RGB


def sample_identity(
    rng: np.random.Generator, gender: str, age: float, identity_strength: float = 1.0, demographic_strength: float = 1.0
) -> FaceIdentity:
    """Draw one person's appearance: each trait is its population mean, plus `demographic_strength`
    times the effect of gender ('F' or 'M'; anything else counts as midway) and age (wider jaw and
    thicker brows for men; darker skin, greyer hair and more wrinkles with age), plus
    `identity_strength` times a person-specific deviation. The rng is consumed the same way for any
    strengths; with both 0 every person gets the same identity."""
    sign = {"F": -1.0, "M": 1.0}.get(gender, 0.0)
    decades = (age - REFERENCE_AGE) / 10 if math.isfinite(age) else 0.0
    mean, sd, male, per_decade = np.array(list(_TRAITS.values())).T
    deviation = rng.standard_normal(len(_TRAITS))
    value = mean + demographic_strength * (sign * male + decades * per_decade) + identity_strength * sd * deviation
    t = dict(zip(_TRAITS, value.tolist()))
    t.update(hair_volume=max(t["hair_volume"], 0.02), hair_length=max(t["hair_length"], -0.2))
    for k in ("wrinkles", "skin_tone", "hair_darkness", "greyness", "iris_darkness"):
        t[k] = min(max(t[k], 0.0), 1.0)
    skin = _mix((0.96, 0.80, 0.70), (0.42, 0.28, 0.20), t["skin_tone"], 0.03 * t["skin_warmth"])
    hair = _mix((0.80, 0.66, 0.42), (0.10, 0.07, 0.05), t["hair_darkness"], 0.06 * t["hair_redness"])
    red = t["lip_redness"]
    return FaceIdentity(
        **{k: t[k] for k in FaceIdentity.__dataclass_fields__ if k in t},
        skin=skin,
        hair=_mix(hair, (0.75, 0.75, 0.73), t["greyness"]),
        iris=_mix((0.35, 0.52, 0.62), (0.22, 0.12, 0.06), t["iris_darkness"]),
        lip=_tint(skin, (0.95, 0.72 - 0.15 * red, 0.72 - 0.12 * red)),
    )


def render_frames(
    identity: FaceIdentity, au_intensity: np.ndarray, size: int, rng: np.random.Generator, out: np.ndarray,
    batch: int = 256, nuisance_scale: float = 1.0,
) -> None:
    """Render one frame per row of `au_intensity` ([T, 17], 0..5, columns in AU_INTENSITY order)
    into `out` (uint8 [T, size, size, 3], e.g. an np.memmap), `batch` frames at a time, so working
    memory is O(batch * size^2) floats (plus O(T) for the pose and lighting walks).

    AU01/AU02 raise the inner/outer brows, AU04 lowers them and draws them together; AU05 widens
    the eyes, AU06 and AU07 narrow them (AU06 also raises and flushes the cheeks), AU45 closes them;
    AU09 wrinkles the nose; AU10 raises the upper lip; AU12 lifts the mouth corners, AU14 dimples
    them, AU15 pulls them down; AU17 raises the chin; AU20 stretches the lips, AU23 thins them;
    AU25 parts them and AU26 drops the jaw. Head pose, lighting and background colour follow slow
    random walks (their amplitude times `nuisance_scale`); sensor noise is Gaussian. All randomness
    comes from `rng`."""
    au = np.asarray(au_intensity, dtype=np.float32)
    if au.ndim != 2 or au.shape[1] != len(AU_INTENSITY):
        raise ValueError(f"au_intensity must be [T, {len(AU_INTENSITY)}], got {au.shape}")
    if out.shape != (len(au), size, size, 3) or out.dtype != np.uint8:
        raise ValueError(f"out must be uint8 {(len(au), size, size, 3)}, got {out.dtype} {out.shape}")
    au = np.clip(np.nan_to_num(au), 0, 5) / np.float32(5)
    nuisance = _nuisance(rng, len(au)) * np.float32(nuisance_scale)
    for start in range(0, len(au), batch):
        stop = min(start + batch, len(au))
        img = _draw(identity, au[start:stop], nuisance[start:stop], size)
        img += _noise_table().take(rng.integers(0, 65536, img.shape, dtype=np.uint16))
        np.clip(img, 0, 255, out=img)
        out[start:stop] = img.transpose(1, 2, 3, 0)


@cache
def _noise_table() -> np.ndarray:
    """Sensor noise (+0.5, to round on the uint8 cast) at 65536 Gaussian quantiles: indexing it with
    16-bit uniforms draws Gaussian noise three times faster than `standard_normal`."""
    normal = NormalDist(0.5, NOISE_SIGMA)
    return np.array([normal.inv_cdf((i + 0.5) / 65536) for i in range(65536)], np.float32)


def _nuisance(rng: np.random.Generator, count: int) -> np.ndarray:
    """[count, 10] float32 smooth random walks: two cascaded AR(1) filters, stationary from frame 0."""
    rho, gain = _NUISANCE_RHO, np.sqrt(1 - _NUISANCE_RHO**2)
    shocks = rng.standard_normal((count + 2, len(rho)))
    first, second = shocks[0], (shocks[0] + rho * shocks[1]) / gain
    walk = np.empty((count, len(rho)))
    for i in range(count):
        first = rho * first + gain * shocks[i + 2]
        second = rho * second + gain * first
        walk[i] = second
    return (walk * (_NUISANCE_SD * gain / np.sqrt(1 + rho**2))).astype(np.float32)


class _Canvas:
    """A batch of frames being drawn: each pixel's face coordinates and a channel-first image."""

    def __init__(self, pose: np.ndarray, size: int) -> None:
        self.size, self.k = size, size / 2  # k: pixels per face unit
        self.grid = (np.arange(size, dtype=np.float32) + 0.5) * np.float32(2 / size) - 1
        shift_x, shift_y, angle, log_scale = (pose[:, i, None, None] for i in range(4))
        self.cos, self.sin, self.scale = np.cos(angle), np.sin(angle), np.exp(log_scale)
        self.shift = (shift_x, shift_y)
        x, y = self.grid[None, None, :] - shift_x, self.grid[None, :, None] - shift_y
        self.u = (self.cos * x + self.sin * y) / self.scale
        self.v = (self.cos * y - self.sin * x) / self.scale
        self.img = np.empty((3, len(pose), size, size), np.float32)

    def region(self, x0: float, x1: float, y0: float, y1: float) -> tuple[tuple[slice, ...], np.ndarray, np.ndarray]:
        """The pixels that face-coordinate box covers in any frame of the batch, with their u and v."""
        qx, qy = np.array([x0, x1, x0, x1]), np.array([y0, y0, y1, y1])
        px = self.scale * (self.cos * qx - self.sin * qy) + self.shift[0]
        py = self.scale * (self.sin * qx + self.cos * qy) + self.shift[1]
        rows, cols = (
            slice(max(math.floor((p.min() + 1) * self.k) - 1, 0), min(math.ceil((p.max() + 1) * self.k) + 1, self.size))
            for p in (py, px)
        )
        win = (slice(None), rows, cols)
        return win, self.u[win], self.v[win]

    def paint(self, win: tuple[slice, ...], alpha: np.ndarray, colour: RGB) -> None:
        """Composite a flat colour over the window with coverage `alpha`."""
        for c in range(3):
            layer = self.img[(c, *win)]
            layer += alpha * (colour[c] - layer)


def _ramp(distance: np.ndarray, k: float | np.ndarray) -> np.ndarray:
    """Coverage from a signed distance (positive inside), ramping over 1/k units; works in place."""
    distance *= k
    distance += 0.5
    return np.clip(distance, 0, 1, out=distance)


def _ellipse(u: np.ndarray, v: np.ndarray, cx: Num, cy: Num, rx: Num, ry: Num, k: float | None = None) -> np.ndarray:
    """Coverage of an ellipse, anti-aliased over 1/k units at its rim; with k None, a blob fading
    as 1 - r^2 to its rim. Centre and radii may be per-frame [B, 1, 1] arrays."""
    du, dv = (u - cx) / rx, (v - cy) / ry
    du *= du
    dv *= dv
    du += dv
    np.subtract(1, du, out=du)  # near the rim, the distance inside is about (1 - r^2) * radius / 2
    return np.maximum(du, 0, out=du) if k is None else _ramp(du, np.minimum(rx, ry) * (k / 2))


def _stripes(v: np.ndarray, size: int) -> np.ndarray:
    """Horizontal wrinkle lines, 0..1, at least three pixels apart."""
    return 0.5 + 0.5 * np.cos(v * (2 * math.pi / max(0.09, 6 / size)))


def _mix(a: RGB, b: RGB, t: float, warmth: float = 0.0) -> RGB:
    """a blended towards b by t, warmth added to red and taken from blue, clipped to 0..1."""
    mixed = np.add(a, np.multiply(np.subtract(b, a), t)) + np.multiply(warmth, (1, 0, -1))
    return tuple(np.clip(mixed, 0, 1).tolist())


def _tint(colour: RGB, factor: RGB | float) -> RGB:
    """A colour scaled channel by channel, clipped to 0..1."""
    return tuple(np.clip(np.multiply(colour, factor), 0, 1).tolist())


def _draw(f: FaceIdentity, w: np.ndarray, nuisance: np.ndarray, size: int) -> np.ndarray:
    """One batch as channel-first float32 grey levels, before noise; w holds AU intensities in 0..1."""
    a = {name[2:4]: w[:, i, None, None] for i, name in enumerate(AU_INTENSITY)}
    cv = _Canvas(nuisance[:, :4], size)
    cv.img[:] = (_BACKGROUND[:, None] + nuisance[:, 7:].T)[:, :, None, None]
    shadow = _paint_head(cv, f, a)
    _paint_forehead(cv, f, a, shadow)
    _paint_cheeks(cv, f, a)
    _paint_eyes(cv, f, a, shadow)
    _paint_brows(cv, f, a, shadow)
    _paint_nose(cv, f, a, shadow)
    _paint_mouth(cv, f, a, shadow)
    _light(cv, nuisance)
    return cv.img


def _paint_head(cv: _Canvas, f: FaceIdentity, a: dict[str, np.ndarray]) -> np.ndarray:
    """Hair behind the head; skin = cranium + jaw (AU26 drops it, AU17 raises the chin), under the
    fringe; returns the tint of shadows on this skin."""
    k, u, v, full = cv.k, cv.u, cv.v, (slice(None),) * 3
    hair = _ellipse(u, v, 0, FACE_Y - 0.04, f.face_w + f.hair_volume, f.face_h + 0.6 * f.hair_volume, k)
    hair *= _ramp(f.hair_length - v, k)
    cv.paint(full, hair, f.hair)
    drop = 0.05 * a["26"] - 0.012 * a["17"]
    skin = _ellipse(u, v, 0, FACE_Y - 0.1, f.face_w, 0.85 * f.face_h, k)
    np.maximum(skin, _ellipse(u, v, 0, FACE_Y + 0.15 + drop, f.jaw_w, f.face_h - 0.15 + drop, k), out=skin)
    win, U, V = cv.region(-f.face_w, f.face_w, -1.2, f.hairline + 0.4 * f.face_w**2 + 0.05)
    skin[win] *= _ramp(V - f.hairline - 0.4 * U * U, k)
    cv.paint(full, skin, f.skin)
    return _tint(f.skin, 0.75)


def _paint_forehead(cv: _Canvas, f: FaceIdentity, a: dict[str, np.ndarray], shadow: np.ndarray) -> None:
    """Forehead lines: age, deepened by raised brows (AU01, AU02)."""
    k, size = cv.k, cv.size
    top, bottom = f.hairline + 0.05, f.eye_y - f.brow_gap - 0.05
    win, U, V = cv.region(-0.42, 0.42, top, bottom)
    lines = _stripes(V, size) * _ellipse(U, V, 0, (top + bottom) / 2, 0.42, (bottom - top) / 2)
    lines *= f.wrinkles + 0.3 * (a["01"] + a["02"])
    cv.paint(win, lines, shadow)


def _paint_cheeks(cv: _Canvas, f: FaceIdentity, a: dict[str, np.ndarray]) -> None:
    """Cheeks: raised and flushed by AU06."""
    win, U, V = cv.region(-f.eye_dx - 0.23, f.eye_dx + 0.23, f.eye_y + 0.09, f.eye_y + 0.41)
    cheek = _ellipse(np.abs(U), V, f.eye_dx + 0.05, f.eye_y + 0.27 - 0.06 * a["06"], 0.18, 0.12)
    cv.paint(win, cheek * (0.15 + 0.6 * a["06"]), _tint(f.skin, (0.97, 0.74, 0.72)))


def _paint_eyes(cv: _Canvas, f: FaceIdentity, a: dict[str, np.ndarray], shadow: np.ndarray) -> None:
    """Eyes: socket shadow, lash line, white, iris; the opening widens (AU05), narrows (AU06, AU07),
    shuts (AU45)."""
    k = cv.k
    opening = np.clip(1 + 0.5 * a["05"] - 0.3 * a["07"] - 0.3 * a["06"] - 1.2 * a["45"], 0, None)
    eye_y, eye_h, lash = f.eye_y - 0.012 * a["06"], f.eye_h * opening + 1e-3, max(0.012, 0.5 / k)
    reach = f.eye_dx + 1.5 * f.eye_w
    win, U, V = cv.region(-reach, reach, f.eye_y - 0.015 - 2 * f.eye_h, f.eye_y + 1.5 * f.eye_h + 2 * lash)
    X = np.abs(U)
    cv.paint(win, 0.4 * _ellipse(X, V, f.eye_dx, f.eye_y - 0.015, 1.5 * f.eye_w, 2 * f.eye_h), shadow)
    cv.paint(win, _ellipse(X, V, f.eye_dx, eye_y, f.eye_w + lash, eye_h + lash, k), _LASH)
    white = _ellipse(X, V, f.eye_dx, eye_y, f.eye_w, eye_h, k)
    cv.paint(win, white, _SCLERA)
    white *= _ellipse(X, V, f.eye_dx, eye_y, f.eye_h, f.eye_h, k)
    cv.paint(win, white, f.iris)


def _paint_brows(cv: _Canvas, f: FaceIdentity, a: dict[str, np.ndarray], shadow: np.ndarray) -> None:
    """Brows: AU01 raises the inner ends, AU02 the outer ends, AU04 lowers them and draws them together."""
    k = cv.k
    inner, outer = f.eye_dx - f.brow_len / 2 - 0.035 * a["04"], f.eye_dx + f.brow_len / 2
    base = f.eye_y - f.brow_gap
    win, U, V = cv.region(-outer - 0.04, outer + 0.04, base - 0.17, base + 0.1)
    X = np.abs(U)
    t = (X - inner) / (outer - inner)
    centre = base - 0.1 * t * (1 - t) - 0.09 * a["01"] * (1 - t) - 0.08 * a["02"] * t + 0.06 * a["04"] * (1 - 0.6 * t)
    brow = f.brow_thick * (0.6 - 0.25 * t) - np.abs(V - centre)
    brow = np.minimum(brow, np.minimum(X - inner, outer - X))
    cv.paint(win, _ramp(brow, k), _tint(f.hair, 0.5))


def _paint_nose(cv: _Canvas, f: FaceIdentity, a: dict[str, np.ndarray], shadow: np.ndarray) -> None:
    """Nose: side shading, bridge wrinkles (AU09), tip shadow and nostrils (raised by AU09, AU10)."""
    k, size = cv.k, cv.size
    tip = f.eye_y + f.nose_len - 0.02 * a["09"] - 0.015 * a["10"]
    win, U, V = cv.region(-2 * f.nose_w, 2 * f.nose_w, f.eye_y - 0.02, f.eye_y + f.nose_len + 0.08)
    X = np.abs(U)
    sides = _ellipse(U, V, 0, f.eye_y + 0.55 * f.nose_len, 1.6 * f.nose_w, 0.6 * f.nose_len)
    cv.paint(win, sides * X * (0.4 / f.nose_w), shadow)
    bridge = _stripes(V, size) * _ellipse(U, V, 0, f.eye_y + 0.08, 1.8 * f.nose_w, 0.08)
    cv.paint(win, bridge * (0.8 * a["09"]), shadow)
    cv.paint(win, 0.4 * _ellipse(U, V, 0, tip + 0.035, 1.5 * f.nose_w, 0.04), shadow)
    nostril = _ellipse(X, V, 0.55 * f.nose_w, tip, 0.45 * f.nose_w, 0.025, k)
    cv.paint(win, 0.85 * nostril, _tint(f.skin, 0.35))


def _paint_mouth(cv: _Canvas, f: FaceIdentity, a: dict[str, np.ndarray], shadow: np.ndarray) -> None:
    """Mouth: corners lifted (AU12) or pulled down (AU15), lips stretched (AU20) or thinned (AU23),
    parted (AU25) with the upper lip raised (AU10) and the jaw dropped (AU26)."""
    k = cv.k
    width = f.mouth_w * (1 + 0.25 * a["20"] + 0.15 * a["12"] + 0.08 * a["14"] - 0.15 * a["23"] - 0.08 * a["26"])
    lift = 0.07 * a["12"] - 0.055 * a["15"] + 0.01 * a["14"]
    above = 0.012 * a["25"] + 0.025 * a["10"] + 0.02 * a["26"]
    below = 0.02 * a["25"] + 0.10 * a["26"]
    upper, lower = f.lip_thick * (1 - 0.6 * a["23"]), f.lip_thick * (1.3 - 0.8 * a["23"] - 0.3 * a["17"])
    reach = 1.5 * f.mouth_w + 0.06
    win, U, V = cv.region(-reach, reach, f.mouth_y - 0.15, f.mouth_y + 0.32)
    X = np.abs(U)
    t2 = np.square(X / width)
    span = 1 - t2  # lips taper to nothing at the corners
    seam = V - f.mouth_y + lift * t2
    lips = np.minimum(seam + (above + upper) * span, (below + lower) * span - seam)
    cv.paint(win, _ramp(lips, k), f.lip)
    gap = _ramp(np.minimum(np.minimum(seam + above * span, below * span - seam), 0.95 * width - X), k)
    cv.paint(win, gap, _MOUTH)
    gap *= _ramp(0.035 - above * span - seam, k)
    gap *= np.clip(40 * (above + below), 0, 1)
    cv.paint(win, gap, _TEETH)
    cv.paint(win, 0.6 * a["14"] * _ellipse(X, V, width + 0.03, f.mouth_y - lift, 0.02, 0.02, k), shadow)
    chin = _ellipse(U, V, 0, f.mouth_y + below + lower + 0.07, 0.14, 0.05)
    cv.paint(win, chin * (0.1 + 0.5 * a["17"]), shadow)


def _light(cv: _Canvas, nuisance: np.ndarray) -> None:
    """Lighting: brightness and a directional gradient, in grey levels."""
    gx, gy, bright = (nuisance[:, i, None, None] for i in range(4, 7))
    level = 255 * np.exp(bright)
    cv.img *= level * (1 + gx * cv.grid[None, None, :]) + (level * gy) * cv.grid[None, :, None]
