"""A synthetic RECOLA-like corpus: people, latent affect, annotators, OpenFace-style AUs.

Every participant's signals come from random streams keyed by (seed, participant index, stream),
so frames can be rendered later, on first need, from the same clean AU intensities. See
docs/data.md for the model and its calibration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import lfilter

from privbench.data.layout import AU_INTENSITY, AU_NUMBERS, AU_PRESENCE
from privbench.data.synthetic_config import (  # noqa: F401  (re-exported)
    MAX_FRAMES,
    MAX_PARTICIPANTS,
    RECOLA_ANNOTATORS,
    SyntheticConfig,
)

LANGUAGES = ("French", "Italian", "German")
LANGUAGE_SHARES = (0.6, 0.25, 0.15)

# FACS-motivated drive of each AU intensity by the positive / negative parts of valence and arousal
# and by speech (columns: v+, v-, a+, a-, speech). Smile: AU06+AU12; sadness/anger/disgust: AU04,
# AU09, AU10, AU15, AU17, AU23; surprise/high arousal: AU01, AU02, AU05, AU26; speech: AU25, AU26.
_DRIVE = {
    "01": (0.0, 0.6, 1.6, 0.0, 0.0), "02": (0.0, 0.0, 1.6, 0.0, 0.0), "04": (0.0, 2.2, 0.0, 0.4, 0.0),
    "05": (0.0, 0.0, 1.8, 0.0, 0.0), "06": (2.2, 0.0, 0.3, 0.0, 0.0), "07": (0.0, 1.0, 0.6, 0.0, 0.0),
    "09": (0.0, 1.3, 0.0, 0.0, 0.0), "10": (0.0, 1.1, 0.0, 0.0, 0.2), "12": (3.0, 0.0, 0.2, 0.0, 0.0),
    "14": (0.8, 0.5, 0.0, 0.0, 0.0), "15": (0.0, 1.9, 0.0, 0.3, 0.0), "17": (0.0, 1.3, 0.0, 0.0, 0.0),
    "20": (0.0, 0.6, 1.0, 0.0, 0.0), "23": (0.0, 1.0, 0.7, 0.0, 0.0), "25": (0.3, 0.0, 1.0, 0.0, 1.6),
    "26": (0.0, 0.0, 0.9, 0.0, 1.3), "45": (0.0, 0.0, 0.0, 0.0, 0.0),
}
_DRIVE_MATRIX = np.array([_DRIVE[n] for n in AU_NUMBERS], dtype=np.float64)  # [17, 5]
_BASELINE = np.array([0.2, 0.15, 0.3, 0.2, 0.2, 0.4, 0.05, 0.2, 0.3, 0.3, 0.2, 0.4, 0.1, 0.15, 0.4, 0.3, 0.1])
_GENDER_SHIFT = {n: s for n, s in zip(("06", "12", "04", "17", "01"), (0.35, 0.45, -0.3, -0.25, 0.25))}
_AGE_SHIFT = {n: s for n, s in zip(("07", "04", "12", "45"), (0.35, 0.25, -0.2, 0.3))}
_SYLLABLES_PER_SECOND = {"French": 5.0, "Italian": 6.5, "German": 4.0}
_STREAMS = {"person": 1, "affect": 2, "annotators": 3, "aus": 4, "face": 5, "render": 6}


@dataclass(frozen=True)
class Person:
    participant_id: str
    gender: str
    age: int
    language: str


@dataclass(frozen=True)
class ParticipantSignals:
    """Everything generated for one participant (arrays are [frames, ...])."""

    person: Person
    latent: np.ndarray  # [T, 2] true valence, arousal
    ratings: np.ndarray  # [T, annotators, 2], quantised to 0.01
    expression: np.ndarray  # [T, 17] clean AU intensities (what the face shows)
    intensity: np.ndarray  # [T, 17] measured AU intensities (OpenFace-like, noisy)
    presence: np.ndarray  # [T, 18] 0/1

    @property
    def gold(self) -> np.ndarray:
        """The gold standard: the mean of the annotators (the paper's definition)."""
        return self.ratings.mean(axis=1)


def stream(cfg: SyntheticConfig, index: int, name: str) -> np.random.Generator:
    """The random stream ``name`` of participant ``index`` (index -1: shared by everyone)."""
    return np.random.default_rng([cfg.seed, index + 1, _STREAMS[name]])


def people(cfg: SyntheticConfig) -> list[Person]:
    """Participants with balanced gender, ages 19-45 and RECOLA-like mother tongues."""
    rng = stream(cfg, -1, "person")
    genders = rng.permutation(["F" if i % 2 == 0 else "M" for i in range(cfg.participants)])
    ages = rng.integers(19, 46, size=cfg.participants)
    languages = rng.choice(LANGUAGES, size=cfg.participants, p=LANGUAGE_SHARES)
    return [
        Person(f"P{i + 1:02d}", str(genders[i]), int(ages[i]), str(languages[i]))
        for i in range(cfg.participants)
    ]


def generate(cfg: SyntheticConfig, index: int, person: Person) -> ParticipantSignals:
    """All signals of participant ``index``."""
    latent = _latent_affect(cfg, stream(cfg, index, "affect"))
    ratings = _annotate(cfg, latent, stream(cfg, index, "annotators"))
    expression, intensity, presence = _action_units(cfg, latent, person, stream(cfg, index, "aus"))
    return ParticipantSignals(person, latent, ratings, expression, intensity, presence)


def _smooth_noise(rng: np.random.Generator, n: int, sigma_frames: float) -> np.ndarray:
    """Gaussian-filtered white noise with unit variance *in expectation*: stationary, so a recording's
    own mean and spread vary from person to person as real sessions do (rescaling every series to its
    own zero mean made each person's first and second half anti-correlated)."""
    x = gaussian_filter1d(rng.standard_normal(n + int(8 * sigma_frames)), sigma_frames, mode="wrap")
    return x[:n] / _kernel_norm(sigma_frames)


def _kernel_norm(sigma_frames: float) -> float:
    """The standard deviation of unit white noise after ``gaussian_filter1d`` with this sigma."""
    impulse = np.zeros(2 * int(4 * sigma_frames + 0.5) + 1)
    impulse[len(impulse) // 2] = 1.0
    return float(np.sqrt(np.square(gaussian_filter1d(impulse, sigma_frames, mode="constant")).sum()))


def _latent_affect(cfg: SyntheticConfig, rng: np.random.Generator) -> np.ndarray:
    """Smooth valence and arousal in (-1, 1): a fast and a slow component, mildly correlated."""
    n, step = cfg.frames, cfg.affect_timescale * cfg.fps
    fast = np.stack([_smooth_noise(rng, n, step) for _ in range(2)], axis=1)
    slow = np.stack([_smooth_noise(rng, n, 5 * step) for _ in range(2)], axis=1)
    z = 0.6 * fast + 0.8 * slow
    z[:, 1] = 0.85 * z[:, 1] + 0.3 * z[:, 0]  # arousal shares a little with valence
    return np.tanh(np.array([0.15, 0.0]) + 0.55 * z)


def _annotate(cfg: SyntheticConfig, latent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Six (or ``annotators``) raters: delay, inertia, gain, bias and drift noise, quantised to 0.01.

    Rater traits are drawn from a stream shared by all participants (the same people rate
    everyone); the noise is per participant.
    """
    traits = stream(cfg, -1, "annotators")
    n, fps = len(latent), cfg.fps
    out = np.empty((n, cfg.annotators, 2))
    for a in range(cfg.annotators):
        delay = int(round(traits.uniform(0.5, 1.5) * cfg.rating_delay * fps))
        inertia = traits.uniform(0.2, 1.0) * fps
        gain, bias = traits.uniform(0.7, 1.2, size=2), traits.normal(0, 0.06, size=2)
        noise_sd = traits.uniform(0.5, 1.5) * cfg.rating_noise
        shifted = latent[np.clip(np.arange(n) - delay, 0, n - 1)]
        smoothed = _exponential_smooth(shifted, inertia)
        drift = np.stack([_smooth_noise(rng, n, fps) for _ in range(2)], axis=1) * noise_sd
        out[:, a] = np.clip(np.round(gain * smoothed + bias + drift, 2), -1, 1)
    return out


def _exponential_smooth(x: np.ndarray, time_constant: float) -> np.ndarray:
    """First-order low-pass (joystick inertia), starting at the first value."""
    alpha = 1.0 / max(time_constant, 1.0)
    y, _ = lfilter([alpha], [1.0, alpha - 1.0], x, axis=0, zi=(1.0 - alpha) * x[:1])
    return y


def _action_units(
    cfg: SyntheticConfig, latent: np.ndarray, person: Person, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clean AU intensities from affect, speech and person habits; noisy measurements; presences."""
    n, fps, k = len(latent), cfg.fps, len(AU_NUMBERS)
    ident, demo = cfg.identity_strength, cfg.demographic_strength
    # Person traits: draw first (fixed consumption), then scale by the knobs.
    offset = rng.normal(0, 0.35, size=k) * ident
    expressivity = np.exp(rng.normal(0, 0.3) * ident)
    habit = rng.normal(0, 0.6, size=k) * ident  # AU co-activation while speaking
    blink_per_minute = 18 * np.exp(rng.normal(0, 0.45) * ident)
    talkativeness = 0.5 + 0.25 * np.tanh(rng.normal() * ident)
    offset = offset + demo * _demographic_shift(person)
    syllables = _SYLLABLES_PER_SECOND["French"] + demo * (
        _SYLLABLES_PER_SECOND[person.language] - _SYLLABLES_PER_SECOND["French"]
    )

    shown = latent + cfg.expression_noise * np.stack(
        [_smooth_noise(rng, n, cfg.affect_timescale * fps) for _ in range(2)], axis=1
    )
    v, a = shown[:, 0], shown[:, 1]
    parts = np.stack([np.maximum(v, 0), np.maximum(-v, 0), np.maximum(a, 0), np.maximum(-a, 0)], axis=1)
    speech = _speech(rng, n, fps, talkativeness, syllables)
    drive = parts @ _DRIVE_MATRIX[:, :4].T * expressivity + np.outer(speech, _DRIVE_MATRIX[:, 4] + habit.clip(0))
    blink = _blinks(rng, n, fps, blink_per_minute * (1 + 0.3 * a))
    expression = np.clip(_BASELINE + offset + drive, 0, 5)
    expression[:, AU_NUMBERS.index("45")] = np.clip(expression[:, AU_NUMBERS.index("45")] + 3.5 * blink, 0, 5)

    noise = np.stack([_smooth_noise(rng, n, 1.5) for _ in range(k)], axis=1) * cfg.au_noise
    intensity = np.clip(np.round(expression + noise, 2), 0, 5)
    detected = expression + rng.normal(0, 0.35, size=expression.shape) > 0.9
    lip_suck = _sparse_events(rng, n, fps, rate_per_minute=2 * np.exp(rng.normal(0, 0.5) * ident), length_s=1.0)
    presence = np.zeros((n, len(AU_PRESENCE)), dtype=np.int8)
    for j, name in enumerate(AU_INTENSITY):
        presence[:, AU_PRESENCE.index(name.replace("_r", "_c"))] = detected[:, j]
    presence[:, AU_PRESENCE.index("AU28_c")] = lip_suck > 0
    return expression, intensity, presence


def _demographic_shift(person: Person) -> np.ndarray:
    shift = np.zeros(len(AU_NUMBERS))
    sign = 1.0 if person.gender == "F" else -1.0
    for n, s in _GENDER_SHIFT.items():
        shift[AU_NUMBERS.index(n)] += sign * s
    for n, s in _AGE_SHIFT.items():
        shift[AU_NUMBERS.index(n)] += s * (person.age - 32) / 13
    return shift


def _speech(rng: np.random.Generator, n: int, fps: float, talk_share: float, syllables: float) -> np.ndarray:
    """Mouth opening while speaking: turns (on/off Markov chain) times a syllable-rate rhythm."""
    mean_turn = 4.0 * fps
    p_stop, p_start = 1 / mean_turn, talk_share / ((1 - talk_share) * mean_turn)
    talking = np.empty(n, dtype=bool)
    state = rng.random() < talk_share
    switches = rng.random(n)
    for t in range(n):
        state = (switches[t] >= p_stop) if state else (switches[t] < p_start)
        talking[t] = state
    rate = syllables * (1 + 0.15 * _smooth_noise(rng, n, fps))
    phase = np.cumsum(2 * np.pi * rate / fps)
    return talking * (0.5 + 0.5 * np.sin(phase))


def _blinks(rng: np.random.Generator, n: int, fps: float, per_minute: np.ndarray) -> np.ndarray:
    """Blink events (Poisson, rate per minute may vary per frame), each a ~0.2 s bump in 0..1."""
    onsets = rng.random(n) < per_minute / 60 / fps
    kernel = np.hanning(max(3, int(0.2 * fps)) + 2)[1:-1]
    return np.clip(_convolve_same(onsets.astype(float), kernel), 0, 1)


def _sparse_events(rng: np.random.Generator, n: int, fps: float, rate_per_minute: float, length_s: float) -> np.ndarray:
    onsets = rng.random(n) < rate_per_minute / 60 / fps
    return _convolve_same(onsets.astype(float), np.ones(max(1, int(length_s * fps))))


def _convolve_same(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``np.convolve(x, kernel, mode="same")`` (bit for bit), but always ``len(x)`` long: numpy's
    "same" is as long as the longer input, so a kernel longer than a short recording would not fit."""
    start = (len(kernel) - 1) // 2
    return np.convolve(x, kernel, mode="full")[start : start + len(x)]
