"""What leaves the user at the AU privacy level: the release transforms, part of the system under test.

A study applies a transform to each participant's AU series before anything leaves the user; the ``au``
method trains on the transformed series and the attacks (``privbench.attacks``) receive the same series,
bit for bit, for the same settings (``--set release=NAME`` and the transform's strength settings).
``TRANSFORMS`` names them without importing any (``privbench list``, config checks); docs/defences.md
says what each removes.
"""

from __future__ import annotations

from privbench.registry import Registry

TRANSFORMS: Registry = Registry("release")
TRANSFORMS.declare("raw", "privbench.release.basic:RAW", "the 17 AU intensities and 18 presences as OpenFace writes them")
TRANSFORMS.declare("intensities", "privbench.release.basic:INTENSITIES", "only the 17 AU intensities (presences withheld)")
TRANSFORMS.declare("zscore", "privbench.release.basic:ZSCORE", "every AU column z-scored per participant (removes "
                   "each person's baseline and range)")
TRANSFORMS.declare("noise", "privbench.release.basic:NOISE", "Gaussian noise at signal-to-noise ratio noise.snr "
                   "(variance ratio, per column and participant)")
TRANSFORMS.declare("ldp", "privbench.release.ldp:LDP", "local DP: each ldp.window_seconds window's clipped AU means "
                   "privatised (Laplace or Gaussian) at ldp.epsilon per window, composed over a participant's windows")
TRANSFORMS.declare("coarsen", "privbench.release.basic:COARSEN", "means over coarsen.seconds blocks (removes fast "
                   "dynamics such as blinks)")
TRANSFORMS.declare("quantise", "privbench.release.basic:QUANTISE", "AU intensities rounded to quantise.levels levels "
                   "over their range")
TRANSFORMS.declare("privatiser", "privbench.release.privatiser:PRIVATISER", "a small learned encoder, trained on a "
                   "public population to keep valence/arousal and defeat an identity classifier (gradient reversal)")
TRANSFORMS.declare("predictions", "privbench.release.predictions:PREDICTIONS", "a trained model's valence/arousal "
                   "outputs (--from-run RUN_DIR): the strongest release, for comparison; attacks only")
TRANSFORMS.declare("run", "privbench.release.predictions:TRAINED", "the AU release the --from-run run trained on "
                   "(its release settings, read from its config.yaml); attacks only")
NEEDS_RUN = ("predictions", "run")  # releases read from a run folder: an attack's, never a training input

# The strengths the benchmark measures (each a value of its defence axis, ``release-<name>[-<label>]``):
# label -> the ``--set`` assignments, weakest first. docs/defences.md has the measured frontier.
STRENGTHS: dict[str, dict[str, tuple[str, ...]]] = {
    "intensities": {"": ()},
    "zscore": {"": ()},
    "noise": {f"snr{snr}": (f"noise.snr={snr}",) for snr in ("3", "1", "0.3")},
    "ldp": {f"e{epsilon}": (f"ldp.epsilon={epsilon}",) for epsilon in ("1000", "100", "10")},
    "coarsen": {f"{seconds}s": (f"coarsen.seconds={seconds}",) for seconds in ("1", "4", "10")},
    "quantise": {f"{levels}levels": (f"quantise.levels={levels}",) for levels in ("6", "3", "2")},
    "privatiser": {f"w{weight}": (f"privatiser.weight={weight}",) for weight in ("0.3", "1", "3")},
}

__all__ = ["NEEDS_RUN", "STRENGTHS", "TRANSFORMS"]
