import pytest

from privbench.config import build, override, profile_values
from privbench.errors import ConfigError
from privbench.experiment import resolve
from privbench.methods.au import AUConfig


def test_profiles_inherit_default_and_paper_refines_per_rnn():
    quick = profile_values("au", "quick")
    assert quick["epochs"] == 8 and quick["fc_units"] == 10
    paper = {rnn: build(AUConfig, profile_values("au", "paper", rnn), "x") for rnn in ("bigru", "bilstm", "rnn")}
    assert (paper["bigru"].seq_len, paper["bigru"].hidden, paper["bigru"].layers) == (600, 512, 6)
    assert (paper["bilstm"].seq_len, paper["bilstm"].hidden, paper["bilstm"].layers) == (600, 128, 6)
    assert (paper["rnn"].seq_len, paper["rnn"].hidden, paper["rnn"].layers) == (2000, 128, 2)
    assert all(c.lr == 1e-4 and c.epochs == 100 for c in paper.values())


def test_set_overrides_are_typed():
    spec = resolve("au", "rnn", "quick", assignments=["lr=1e-2", "loss=ccc", "data.participants=5"])
    assert spec.train.lr == 0.01 and spec.train.loss == "ccc"
    assert spec.synthetic.participants == 5


@pytest.mark.parametrize(
    "assignment, message",
    [
        ("nosuchkey=1", "unknown key 'nosuchkey'"),
        ("epochs=ten", "expected an integer"),
        ("loss=mae", "not one of"),
        ("seq_len=-5", "seq_len must be positive"),
        ("data.participants=1", "participants must be at least 2"),
        ("data.colour=3", "unknown key 'colour'"),
        ("lr", "expected key=value"),
    ],
)
def test_bad_overrides_name_the_problem(assignment, message):
    with pytest.raises(ConfigError, match=message):
        resolve("au", "bigru", "quick", assignments=[assignment])


@pytest.mark.parametrize(
    "kwargs, message",
    [({"method": "svm"}, "unknown method 'svm'; valid: au, central, fedavg"), ({"rnn": "tcn"}, "unknown rnn 'tcn'"),
     ({"profile": "huge"}, "unknown profile"), ({"device": "tpu"}, "unknown device")],
)
def test_unknown_names_list_the_valid_ones(kwargs, message):
    args = {"method": "au", "rnn": "bigru", **kwargs}
    with pytest.raises(ConfigError, match=message):
        resolve(args.pop("method"), args.pop("rnn"), **args)


def test_override_leaves_the_original_untouched():
    cfg = build(AUConfig, profile_values("au", "default"), "x")
    changed = override(cfg, ["hidden=8"])
    assert cfg.hidden == 32 and changed.hidden == 8
