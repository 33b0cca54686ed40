import pytest

from privbench.data.splits import make_splits, participant_folds
from privbench.errors import ConfigError

IDS = [f"P{i:02d}" for i in range(23)]


def test_each_participant_is_tested_exactly_once():
    folds = participant_folds(IDS, 8, seed=0)
    tested = [p for fold in folds for p in fold]
    assert sorted(tested) == sorted(IDS)
    assert {len(f) for f in folds} == {2, 3}


def test_train_validation_and_test_are_disjoint_and_cover_everyone():
    for split in make_splits(IDS, 8, seed=1, validation=2):
        train, val, test = set(split.train), set(split.validation), set(split.test)
        assert not (train & val or train & test or val & test)
        assert train | val | test == set(IDS)
        assert len(val) == 2


def test_folds_are_deterministic_by_seed():
    assert participant_folds(IDS, 8, 3) == participant_folds(IDS, 8, 3)
    assert participant_folds(IDS, 8, 3) != participant_folds(IDS, 8, 4)
    assert make_splits(IDS, 8, 3, 2) == make_splits(list(reversed(IDS)), 8, 3, 2)


@pytest.mark.parametrize("k", [1, 24])
def test_impossible_fold_counts_are_rejected(k):
    with pytest.raises(ConfigError, match="folds"):
        participant_folds(IDS, k, 0)


def test_validation_cannot_take_every_training_participant():
    with pytest.raises(ConfigError, match="val_participants"):
        make_splits(IDS[:4], 2, 0, validation=2)
