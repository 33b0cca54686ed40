import numpy as np
import pytest
import torch

from privbench import ccc
from privbench.evaluate.metrics import ConcordanceCorrelation, ccc_loss, ccc_window_loss, pcc, rmse

rng = np.random.default_rng(0)
X = rng.normal(size=500)
Y = 0.6 * X + rng.normal(scale=0.8, size=500)


def test_ccc_is_one_for_identical_inputs():
    assert ccc(X, X) == pytest.approx(1.0)


def test_ccc_equals_population_formula():
    mx, my = X.mean(), Y.mean()
    cov = np.mean((X - mx) * (Y - my))
    expected = 2 * cov / (np.mean((X - mx) ** 2) + np.mean((Y - my) ** 2) + (mx - my) ** 2)
    assert ccc(X, Y) == pytest.approx(expected, rel=1e-12)
    sample_convention = 2 * np.cov(X, Y)[0, 1] / (X.var(ddof=1) + Y.var(ddof=1) + (mx - my) ** 2)
    assert ccc(X, Y) != pytest.approx(sample_convention, rel=1e-6)


def test_ccc_penalises_bias_and_scale_but_pcc_does_not():
    assert pcc(X, X + 0.5) == pytest.approx(1.0)
    assert ccc(X, X + 0.5) < 0.9
    assert pcc(X, 2 * X) == pytest.approx(1.0)
    assert ccc(X, 2 * X) < 0.9


def test_constant_prediction_scores_zero_ccc_and_pcc():
    assert ccc(X, np.full_like(X, X.mean())) == pytest.approx(0.0, abs=1e-12)
    assert pcc(X, np.full_like(X, 3.0)) == pytest.approx(0.0, abs=1e-12)


def test_columns_are_scored_separately():
    both = np.stack([X, Y], axis=1)
    scores = ccc(both, np.stack([X, X], axis=1))
    assert scores[0] == pytest.approx(1.0)
    assert scores[1] == pytest.approx(ccc(Y, X))
    assert rmse(both, both).tolist() == [0.0, 0.0]


def test_streaming_metric_equals_functional_on_concatenation():
    metric = ConcordanceCorrelation()
    for start in range(0, 500, 128):
        metric.update(X[start : start + 128], Y[start : start + 128])
    assert metric.compute() == pytest.approx(ccc(X, Y), rel=1e-9)


def test_ccc_loss_is_one_minus_ccc_and_accepts_torch():
    x, y = torch.tensor(X).reshape(-1, 1), torch.tensor(Y).reshape(-1, 1)
    assert float(ccc_loss(y, x)) == pytest.approx(1 - ccc(X, Y), abs=1e-6)
    assert ccc(torch.tensor(X), torch.tensor(Y)) == pytest.approx(ccc(X, Y))


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        ccc(X, Y[:10])


def test_the_degenerate_case_agrees_everywhere():
    constant = np.full((30, 2), 0.7)
    assert ccc(constant, constant).tolist() == [1.0, 1.0]
    metric = ConcordanceCorrelation()
    metric.update(constant, constant)
    assert metric.compute().tolist() == [1.0, 1.0]
    assert float(ccc_loss(torch.tensor(constant), torch.tensor(constant))) == pytest.approx(0.0, abs=1e-6)
    assert float(ccc_window_loss(torch.tensor(constant)[None], torch.tensor(constant)[None])) == pytest.approx(0, abs=1e-6)


def test_window_loss_is_the_mean_of_independent_per_window_losses():
    torch.manual_seed(0)
    labels, predictions = torch.randn(4, 25, 2), torch.randn(4, 25, 2, requires_grad=True)
    per_window = [float(ccc_window_loss(predictions[i : i + 1], labels[i : i + 1])) for i in range(4)]
    assert float(ccc_window_loss(predictions, labels)) == pytest.approx(np.mean(per_window), rel=1e-6)
    expected = 1 - np.mean([ccc(labels[i].numpy(), predictions[i].detach().numpy()) for i in range(4)], axis=0)
    assert float(ccc_window_loss(predictions, labels)) == pytest.approx(expected.mean(), rel=1e-5)
    ccc_window_loss(predictions[:1], labels[:1]).backward()
    assert predictions.grad[1:].abs().sum() == 0  # window 0's loss does not reach the other windows
