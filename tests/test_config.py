import pytest

from privbench.config import build, keys_of, override, profile_values, to_dict
from privbench.errors import ConfigError
from privbench.experiment import resolve
from privbench.methods.au import AUConfig


def test_profiles_inherit_default_and_paper_refines_per_rnn():
    quick = profile_values("au", "quick")
    assert quick["epochs"] == 8 and quick["fc_units"] == 10
    paper = {rnn: build(AUConfig, profile_values("au", "paper", rnn), "x") for rnn in ("bigru", "bilstm", "rnn")}
    shapes = {rnn: (c.windows.seq_len, c.head.hidden, c.head.layers) for rnn, c in paper.items()}
    assert shapes == {"bigru": (600, 512, 6), "bilstm": (600, 128, 6), "rnn": (2000, 128, 2)}
    assert all(c.optim.lr == 1e-4 and c.epochs == 100 for c in paper.values())


def test_set_overrides_are_typed():
    spec = resolve("au", "rnn", "quick", assignments=["lr=1e-2", "loss=ccc", "data.participants=5"])
    assert spec.train.optim.lr == 0.01 and spec.train.optim.loss == "ccc"
    assert spec.synthetic.participants == 5


@pytest.mark.parametrize(
    "assignment, message",
    [
        ("nosuchkey=1", "unknown key 'nosuchkey'"),
        ("epochs=ten", "expected an integer"),
        ("loss=mae", "not one of"),
        ("seq_len=-5", "seq_len must be positive"),
        ("data.participants=1", "participants must be in 2..10,000"),
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


@pytest.mark.parametrize("assignments", [["rounds=1", "warmup_rounds=1"], ["warmup_rounds=1", "rounds=1"]])
def test_overrides_are_checked_together_in_any_order(assignments):
    # rounds=1 alone is below the default's 20 warm-up rounds; with warmup_rounds=1 it is valid, in either order
    spec = resolve("fedavg", "bigru", "default", assignments=assignments)
    assert (spec.train.federation.rounds, spec.train.federation.warmup_rounds) == (1, 1)
    with pytest.raises(ConfigError, match="warmup_rounds"):
        resolve("fedavg", "bigru", "default", assignments=["rounds=1"])


def test_override_leaves_the_original_untouched():
    cfg = build(AUConfig, profile_values("au", "default"), "x")
    changed = override(cfg, ["hidden=8"])
    assert cfg.head.hidden == 32 and changed.head.hidden == 8


@pytest.mark.parametrize("method", ["au", "central", "fedavg"])
def test_every_yaml_key_reaches_the_typed_config_and_round_trips(method):
    from privbench.methods import METHODS

    config_type = METHODS.get(method).config_type
    values = profile_values(method, "default")
    config = build(config_type, values, method)
    assert sorted(keys_of(config_type)) == sorted(values)  # the YAML lists every key, no more
    assert build(config_type, to_dict(config), "again") == config
    assert override(config, ["lr=0.5"]).optim.lr == 0.5  # flat keys reach their group ...
    assert override(config, ["optim.lr=0.5"]).optim.lr == 0.5  # ... and so does the long form


def test_a_key_missing_from_a_group_is_named():
    values = profile_values("fedavg", "default")
    del values["client_timeout"]
    from privbench.methods.fedavg import FedAvgConfig

    with pytest.raises(ConfigError, match="missing key.*client_timeout"):
        build(FedAvgConfig, values, "fedavg")


def test_groups_are_keyword_only():
    from privbench.settings import WindowSettings

    with pytest.raises(TypeError):
        WindowSettings(16, 8)
