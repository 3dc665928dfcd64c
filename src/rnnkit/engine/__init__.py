"""rnnkit.engine: the one training loop shared by every task.

A task object gives batches and a loss (``TrainingTask``); ``Trainer`` owns the optimiser, schedule,
clipping, carried TBPTT state, validation, early stopping, checkpoints, metrics log, curves and DDP.

    >>> from rnnkit.engine import TrainConfig, Trainer
    >>> TrainConfig(optimizer="sgd", lr=0.1).optimizer
    'sgd'
"""

from rnnkit.engine.checkpoint import (
    config_builder,
    load_checkpoint,
    load_model,
    read_meta,
    read_task,
    resolve,
    save_model,
)
from rnnkit.engine.config import TrainConfig, add_train_arguments, train_config_from_args
from rnnkit.engine.structures import detach, to_device
from rnnkit.engine.task import StepResult, TrainingTask, evaluating
from rnnkit.engine.trainer import Trainer, TrainResult, resolve_device

__all__ = [
    "StepResult",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingTask",
    "add_train_arguments",
    "config_builder",
    "detach",
    "evaluating",
    "load_checkpoint",
    "load_model",
    "read_meta",
    "read_task",
    "resolve",
    "resolve_device",
    "save_model",
    "to_device",
    "train_config_from_args",
]
