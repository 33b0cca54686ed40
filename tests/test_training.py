"""The one training loop and factory: wrappers, early stopping, and what DP-SGD (Opacus) needs of them."""

import dataclasses
import math
from itertools import islice

import numpy as np
import pytest
import torch
from opacus import GradSampleModule, PrivacyEngine
from opacus.data_loader import DPDataLoader, wrap_collate_with_empty
from opacus.validators import ModuleValidator
from torch import nn
from torch.func import functional_call, grad, vmap
from torch.utils.data import default_collate

from privbench.config import build, profile_values
from privbench.data.frame_transform import FrameTransform
from privbench.data.frames import FrameSequence, FrameStore
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.data.windows import Sequence
from privbench.data.writer import open_frames_file
from privbench.methods.au import AUConfig, AUMethod
from privbench.models.backbone import build_backbone
from privbench.models.heads import SequenceRegressor
from privbench.progress import Progress
from privbench.settings import BackboneConfig, FrameSettings, HeadSettings, OptimiserSettings, WindowSettings
from privbench.train.loop import TrainingSetup, fit, run_steps, train_epoch
from privbench.train.setup import (
    au_model,
    au_training,
    central_training,
    client_training,
    frame_model,
    frame_warmup_training,
)

pytestmark = pytest.mark.filterwarnings(  # Opacus's notes: secure RNG off, backward hooks on inputs without grad
    "ignore:Secure RNG turned off:UserWarning", "ignore:Full backward hook is firing:UserWarning")
CPU = torch.device("cpu")
QUIET = Progress(enabled=False)
HEAD = HeadSettings(hidden=4, layers=1, fc_units=4, dropout=0.0)
WINDOWS = WindowSettings(seq_len=8, stride=4)


def sequences(count: int = 3, frames: int = 60, features: int = 5) -> list[Sequence]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(count):
        inputs = rng.normal(size=(frames, features)).astype(np.float32)
        labels = np.tanh(inputs[:, :2] + 0.1 * rng.normal(size=(frames, 2))).astype(np.float32)
        out.append(Sequence(f"P{i}", inputs, labels))
    return out


def optim(loss: str = "mse", batch_size: int = 4) -> OptimiserSettings:
    return OptimiserSettings(loss=loss, lr=1e-2, batch_size=batch_size)


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_the_loop_trains_whatever_the_wrapper_returns():
    torch.manual_seed(0)
    model = au_model(5, "bigru", HEAD)
    steps = []

    class CountingSGD(torch.optim.SGD):
        def step(self, closure=None):
            steps.append(1)
            return super().step(closure)

    def frozen(setup):  # a wrapper swapping the optimiser: a step that changes nothing
        return dataclasses.replace(setup, optimizer=CountingSGD(setup.model.parameters(), lr=0.0))

    setup = au_training(model, sequences(), windows=WINDOWS, optim=optim(), seed=0, wrap=frozen)
    before = weights(model)
    history = fit(setup, epochs=2, device=CPU, progress=QUIET)
    assert len(steps) == 2 * len(setup.loader) and len(history.train_loss) == 2
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    plain = au_training(model, sequences(), windows=WINDOWS, optim=optim(), seed=0)
    train_epoch(plain, CPU)
    assert not all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    torch.manual_seed(0)
    model = au_model(5, "rnn", HEAD)
    setup = au_training(model, sequences(), windows=WINDOWS, optim=optim(), seed=0)
    scores, seen = iter([0.1, 0.5, 0.3, 0.2, 0.9, 0.95]), []

    def validate(m: nn.Module) -> float:
        seen.append(weights(m))
        return next(scores)

    history = fit(setup, epochs=6, device=CPU, progress=QUIET, validate=validate, patience=2)
    assert history.validation_score == [0.1, 0.5, 0.3, 0.2]  # two epochs without improvement after 0.5
    assert history.best_epoch == 1 and len(history.train_loss) == 4
    assert all(torch.equal(seen[1][k], v) for k, v in model.state_dict().items())
    assert not all(torch.equal(seen[3][k], v) for k, v in model.state_dict().items())


def test_au_without_validation_participants_keeps_the_last_epoch(tiny_dataset):
    config = dataclasses.replace(build(AUConfig, profile_values("au", "quick"), "quick"), epochs=3)
    dataset = Dataset(tiny_dataset)
    ids = sorted(dataset.ids)
    split = Split(fold=0, train=tuple(ids[:4]), validation=(), test=tuple(ids[4:]))
    output = AUMethod().train_fold(dataset, split, config, "rnn", 0, CPU, QUIET)
    assert output.history.best_epoch == 2 and output.history.validation_score == []


@pytest.mark.parametrize("rnn", ["rnn", "bigru", "bilstm"])
def test_every_head_has_an_opacus_form_with_the_same_function(rnn):
    torch.manual_seed(0)
    plain = SequenceRegressor(5, rnn, 4, 2, 4)
    private = SequenceRegressor(5, rnn, 4, 2, 4, dp_layers=True)
    assert private.state_dict().keys() == plain.state_dict().keys()
    private.load_state_dict(plain.state_dict())
    x = torch.randn(3, 7, 5)
    torch.testing.assert_close(private(x), plain(x), atol=1e-5, rtol=1e-5)
    assert ModuleValidator.validate(private, strict=False) == []
    if rnn == "rnn":  # Opacus neither flags nor replaces nn.RNN, and cannot compute its per-sample gradients
        assert isinstance(ModuleValidator.fix(plain).rnn, nn.RNN)
    hooked = GradSampleModule(private, loss_reduction="sum")
    hooked(x).sum().backward()
    per_sample = [p.grad_sample for p in private.parameters()]
    hooked._close()
    for i in range(len(x)):
        alone = torch.autograd.grad(private(x[i : i + 1]).sum(), list(private.parameters()))
        for sample, g in zip(per_sample, alone):
            torch.testing.assert_close(sample[i], g, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("loss", ["ccc_window", "mse"])
def test_opacus_makes_the_au_stage_private_and_the_loop_trains_it(loss):
    torch.manual_seed(0)
    model = au_model(5, "bigru", HEAD, dp_compatible=True)
    engine = PrivacyEngine()

    def private(setup):
        module, optimizer, loader = engine.make_private(module=setup.model, optimizer=setup.optimizer,
                                                        data_loader=setup.loader, noise_multiplier=1.0,
                                                        max_grad_norm=1.0)
        return dataclasses.replace(setup, model=module, optimizer=optimizer, loader=loader)

    setup = au_training(model, sequences(count=4, frames=100), windows=WINDOWS, optim=optim(loss, 8), seed=0,
                        wrap=private)
    assert isinstance(setup.loader, DPDataLoader) and setup.loader.sample_rate == pytest.approx(8 / 96, rel=0.1)
    before = weights(model)
    history = fit(setup, epochs=1, device=CPU, progress=QUIET, model=model)
    assert math.isfinite(history.train_loss[0])
    assert not all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # trained in place
    epsilon = engine.get_epsilon(1e-5)
    assert isinstance(epsilon, float) and 0 < epsilon < math.inf


@pytest.fixture(scope="module")
def frame_sequences(tmp_path_factory):
    root = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    out = []
    for pid in ("A", "B"):
        frames = open_frames_file(root / f"{pid}.npy", 40, 16)
        frames[:] = rng.integers(0, 256, size=frames.shape, dtype=np.uint8)
        frames.flush()
        gold = rng.uniform(-1, 1, size=(40, 2)).astype(np.float32)
        out.append(FrameSequence(pid, FrameStore(root / f"{pid}.npy"), gold, step=1,
                                 transform=FrameTransform("person", 16)))
    return out


def test_a_window_is_the_sample_of_a_dp_compatible_frame_model():
    head = HeadSettings(hidden=3, layers=1, fc_units=3, dropout=0.0)
    model, _ = frame_model(head, BackboneConfig("none", "group"), "bigru", 0, dp_compatible=True)
    flat, _ = frame_model(head, BackboneConfig("none", "group"), "bigru", 0, dp_compatible=True)
    flat.per_step_backbone = False  # the default pass: the backbone on the flattened [B * T, 3, S, S]
    torch.manual_seed(1)
    frames, labels = torch.randn(3, 2, 3, 16, 16), torch.randn(3, 2, 2)
    torch.testing.assert_close(model(frames), flat(frames), atol=1e-5, rtol=1e-4)  # GroupNorm: same function
    names = [n for n, _ in model.named_parameters() if not n.startswith("frame_head")]
    params = {n: p.detach().requires_grad_() for n, p in model.named_parameters() if n in names}

    def window_loss(p, x, y):
        return nn.functional.mse_loss(functional_call(model, p, (x[None],)), y[None])

    per_window = vmap(grad(window_loss), in_dims=(None, 0, 0))(params, frames, labels)
    hooked = GradSampleModule(model, loss_reduction="sum")
    nn.functional.mse_loss(hooked(frames), labels, reduction="sum").div(labels[0].numel()).backward()
    hooks = {n: p.grad_sample for n, p in model.named_parameters() if n in names}
    hooked._close()
    for i in range(len(frames)):
        alone = dict(zip(names, torch.autograd.grad(window_loss(params, frames[i], labels[i]), list(params.values()))))
        for name in names:
            torch.testing.assert_close(per_window[name][i], alone[name], atol=1e-5, rtol=1e-3)
            torch.testing.assert_close(hooks[name][i], alone[name], atol=1e-5, rtol=1e-3)
    per_frame = GradSampleModule(flat)  # the flattened pass: Opacus would see frames, not windows
    flat(frames).sum().backward()
    assert flat.backbone.conv1.weight.grad_sample.shape[0] == 3 * 2
    per_frame._close()


def test_every_loader_can_be_rebuilt_for_poisson_sampling(frame_sequences):
    head = HeadSettings(hidden=3, layers=1, fc_units=3, dropout=0.0)
    model, _ = frame_model(head, BackboneConfig("none", "group"), "rnn", 0)
    frames = FrameSettings(frame_step=1, input_size=16, normalise="person", warmup_steps=5, warmup_batch=8,
                           backbone_lr_scale=1.0, backbone=BackboneConfig("none", "group"))
    windows = WindowSettings(seq_len=4, stride=2)
    setups = {
        "au": au_training(au_model(5, "rnn", head), sequences(), windows=WINDOWS, optim=optim(), seed=0),
        "warm-up": frame_warmup_training(model, frame_sequences, steps=5, batch_size=8, lr=1e-3, loss="mse", seed=0),
        "central": central_training(model, frame_sequences, windows=windows, optim=optim(), frames=frames, epochs=2,
                                    windows_per_epoch=8, schedule="onecycle", num_workers=0, seed=0),
        "client": client_training(model, frame_sequences[0], windows=windows, optim=optim(), backbone_lr_scale=1.0,
                                  seed=0),
    }
    for name, setup in setups.items():
        size, batch = len(setup.loader.dataset), setup.loader.batch_size
        assert size > 4 * batch, name
        poisson = DPDataLoader.from_data_loader(setup.loader)
        assert poisson.sample_rate * size == pytest.approx(batch, rel=0.2), name  # the expected batch stays
    central = setups["central"]  # without DP: an epoch is still windows_per_epoch windows, a new draw each time
    epochs = [sorted(i for b in islice(central.loader.batch_sampler, central.steps_per_epoch) for i in b)
              for _ in range(2)]
    assert [len(set(e)) for e in epochs] == [8, 8] and epochs[0] != epochs[1]
    assert train_epoch(central, CPU)[1] == 8 * 4  # labelled frames
    warmup = setups["warm-up"]
    assert len(run_steps(warmup, device=CPU, steps=warmup.steps_per_epoch)[0]) == 5


def test_an_empty_poisson_batch_is_stepped_but_not_scored():
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(6, 3, 2), torch.randn(6, 3, 2))
    loader = torch.utils.data.DataLoader(data, batch_sampler=[[0, 1], [], [2, 3, 4]],
                                         collate_fn=wrap_collate_with_empty(collate_fn=default_collate))
    steps = []

    class Counting(torch.optim.SGD):
        def step(self, closure=None):
            steps.append(1)
            return super().step(closure)

    model = nn.Linear(2, 2)
    setup = TrainingSetup(model, Counting(model.parameters(), lr=0.1), loader, nn.functional.mse_loss)
    losses, frames = run_steps(setup, device=CPU)
    assert len(steps) == 3 and len(losses) == 2 and frames == 5 * 3
    assert all(math.isfinite(v) for v in losses) and all(torch.isfinite(p).all() for p in model.parameters())
