"""Flat settings files shared by every task: split by owner, unknown keys named with their line."""

import pytest

from rnnkit.engine.settings import TRAINING_KEYS, read_settings_file, split_settings, task_keys
from rnnkit.errors import ConfigError
from rnnkit.tasks.classification import Classifier
from rnnkit.tasks.language_model import LanguageModel
from rnnkit.tasks.translation_training import TranslatorSettings


def test_split_by_owner():
    assert split_settings({"hidden_size": 8, "max_steps": 2}, LanguageModel) == ({"hidden_size": 8},
                                                                                {"max_steps": 2})
    with pytest.raises(ConfigError, match=r"^cli: unknown key 'hiden' \(known keys: level, cell, hidden_size"):
        split_settings({"hiden": 8}, LanguageModel, "cli")


@pytest.mark.parametrize(("cls", "key", "value", "expected"), [
    (LanguageModel, "hidden_size", "big", "int"), (LanguageModel, "dropout", True, "float"),
    (Classifier, "lowercase", "yes", "bool"), (Classifier, "lm_features", "fwd", "list or null"),
    (TranslatorSettings, "cell", 3, "str"),
])
def test_values_of_the_wrong_type_are_refused(cls, key, value, expected):
    with pytest.raises(ConfigError, match=rf"^s.json: {key} must be {expected}, got {value!r}$"):
        split_settings({key: value}, cls, "s.json")
    assert split_settings({"lm_features": ["f", "b"]}, Classifier) == ({"lm_features": ["f", "b"]}, {})


def test_task_keys_are_constructor_arguments():
    assert "hidden_size" in task_keys(LanguageModel) and "pooling" in task_keys(Classifier)
    assert not {"train_config", "out_dir"} & set(task_keys(LanguageModel) + task_keys(Classifier))
    assert not set(task_keys(LanguageModel)) & set(TRAINING_KEYS)


def test_file_unknown_key_names_its_line(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{\n  "hidden_size": 8,\n  "lr": 0.1,\n  "dropuot": 0.2\n}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{path}:4: unknown key 'dropuot'"):
        read_settings_file(path, LanguageModel)
    path.write_text('{"hidden_size": 8, "lr": 0.1}', encoding="utf-8")
    assert read_settings_file(path, LanguageModel) == {"hidden_size": 8, "lr": 0.1}
    path.write_text('{"hidden_size": 8.5}', encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{path}: hidden_size must be int, got 8.5$"):
        split_settings(read_settings_file(path, LanguageModel), LanguageModel, str(path))
