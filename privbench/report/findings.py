"""The findings: for each of the paper's two privacy claims, whether this store's measurements support it.

Rules: a measurement refutes the claim when the attack's 95% interval lies above its baseline (chance,
the majority class, the mean face); it is consistent with the claim when the interval contains the
baseline or lies below it. A claim is not supported when any of its measurements refutes it,
supported when every part of it was measured and none does, and not measured without such attacks.
"""

from __future__ import annotations

from dataclasses import dataclass

from privbench.report.privacy import ABOVE, Measure, measures
from privbench.report.records import AttackRun

NOT_SUPPORTED, SUPPORTED, NOT_MEASURED = "not supported", "supported", "not measured"
CLAIM_AUS = "(1) Action Units instead of images keep identity and demographics private"
CLAIM_UPDATES = "(2) federated updates instead of data keep faces private"
RULES = ("Rules: a measurement refutes a claim when the attack's 95% interval lies above its baseline; it is "
         "consistent with the claim when the interval contains the baseline or lies below it. A claim is not "
         "supported when any measurement refutes it, supported when each of its parts was measured and none does, "
         "not measured when the inputs hold no such attack. Claim (1) rests on re-identification (top-1) and "
         "demographics (balanced accuracy per attribute) from released AUs; claim (2) on gradient inversion "
         "(PSNR against the mean face, re-identification against chance) of federated updates.")


BASELINES = {"chance": "chance", "majority": "the majority baseline", "mean face": "the mean face"}


def _figure(value: float | None) -> str:
    return "?" if value is None else f"{round(value, 2) + 0.0:.2f}"


def evidence_line(measure: Measure) -> str:
    """'reid top-1 from the raw AU release: 0.83 (95% 0.54-0.97) vs chance 0.10: above chance, refutes the claim'."""
    run = measure.run
    where = (f"from the {run.threat.get('release', '?')} AU release" if run.on_au_release
             else f"on {run.release}" + (f" of {run.target_label}" if run.target else ""))
    where += f" [data {run.data}]" if run.data and not run.target else ""
    interval = "" if measure.interval is None else f" (95% {_figure(measure.interval[0])}-{_figure(measure.interval[1])})"
    p_value = "" if measure.p_value is None else f", permutation p {_figure(measure.p_value)}"
    head = (f"{run.attack} {measure.label} {where}: {_figure(measure.value)}{interval} vs {measure.baseline_kind} "
            f"{_figure(measure.baseline)}{p_value}")
    if measure.side is None:
        return f"{head}: no 95% interval, not judged"
    baseline = BASELINES.get(measure.baseline_kind, measure.baseline_kind)
    if measure.side == ABOVE:
        return f"{head}: the interval lies above {baseline}, which refutes the claim"
    where = "contains" if measure.side == "at" else "lies below"
    return f"{head}: the interval {where} {baseline}, consistent with the claim"


@dataclass(frozen=True)
class Part:
    """One part of a claim (identity, demographics, faces) and the measurements it rests on."""

    name: str
    evidence: tuple[Measure, ...]

    @property
    def verdict(self) -> str:
        judged = [m for m in self.evidence if m.side is not None]
        if not judged:
            return NOT_MEASURED
        return NOT_SUPPORTED if any(m.side == ABOVE for m in judged) else SUPPORTED


@dataclass(frozen=True)
class Finding:
    claim: str
    parts: tuple[Part, ...]

    @property
    def verdict(self) -> str:
        verdicts = [p.verdict for p in self.parts]
        if NOT_SUPPORTED in verdicts:
            return NOT_SUPPORTED
        if all(v == SUPPORTED for v in verdicts):
            return SUPPORTED
        if SUPPORTED in verdicts:
            unmeasured = ", ".join(p.name for p in self.parts if p.verdict == NOT_MEASURED)
            return f"{SUPPORTED} where measured ({unmeasured} not measured)"
        return NOT_MEASURED

    def summary(self) -> str:
        """'Claim ...: not supported (identity not supported, demographics supported; 1 of 4 measurements above
        their baseline).'"""
        judged = [m for p in self.parts for m in p.evidence if m.side is not None]
        parts = ", ".join(f"{p.name} {p.verdict}" for p in self.parts) if len(self.parts) > 1 else ""
        counted = f"{sum(m.side == ABOVE for m in judged)} of {len(judged)} measurements above their baseline" \
            if judged else ""
        detail = "; ".join(text for text in (parts, counted) if text)
        return f"Claim {self.claim}: {self.verdict}" + (f" ({detail})." if detail else ".")

    def lines(self) -> tuple[str, ...]:
        """One line per measurement, or per part that has none."""
        found: list[str] = []
        for part in self.parts:
            if not part.evidence:
                found.append(f"{part.name}: not measured (no such attack among the inputs)")
            found += [evidence_line(m) for m in part.evidence]
        return tuple(found)


def _pick(attacks: list[AttackRun], keep) -> tuple[Measure, ...]:
    return tuple(m for run in attacks for m in measures(run) if keep(run, m))


def findings(attacks: list[AttackRun]) -> tuple[Finding, Finding]:
    """The two claims, judged on the store's attacks."""
    identity = _pick(attacks, lambda r, m: r.attack == "reid" and r.on_au_release and m.metric == "top1")
    demographics = _pick(attacks, lambda r, m: r.attack == "demographics" and r.on_au_release
                         and m.metric.endswith("_balanced_accuracy"))
    faces = _pick(attacks, lambda r, m: r.attack == "gradinv" and m.metric in ("psnr", "reid_rate"))
    return (Finding(CLAIM_AUS, (Part("identity", identity), Part("demographics", demographics))),
            Finding(CLAIM_UPDATES, (Part("faces", faces),)))
