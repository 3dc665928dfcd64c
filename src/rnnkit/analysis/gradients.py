r"""The gradient probe: how much of ∂L(T)/∂h(T) is left at h(t), t steps back, for each cell.

The lecture's chain rule, written for any distance (s the cell's state: h for the Elman RNN and the
GRU, the pair (h, c) for the LSTM, whose c is the additive path):

.. math::
    \frac{\partial L^{(T)}}{\partial s^{(t)}} = \frac{\partial L^{(T)}}{\partial s^{(T)}}
    \frac{\partial s^{(T)}}{\partial s^{(T-1)}} \cdots \frac{\partial s^{(t+1)}}{\partial s^{(t)}}

When the step Jacobians ∂s(t+1)/∂s(t) have norms below 1 the product, and with it the learning signal
from far back, vanishes geometrically ("Vanishing gradient problem").

The probe runs one cell over inputs x (B, T, I) from the zero state, takes the loss
L(T) = Σ_b ⟨g_b, h_b(T)⟩ with g_b a random unit vector per example (so ‖∂L/∂h_b(T)‖ = 1 and any real
loss at step T is scaled by the same Jacobian product), and reports, averaged over the batch:

* ``grad_norms[t-1]`` = mean_b ‖∂L(T)/∂s_b(t)‖ for t = 1 … T (autograd, with s(t) taken as
  the input of step t + 1, so that it is exactly the product above);
* ``hidden_grad_norms[t-1]`` = mean_b ‖∂L(T)/∂h_b(t)‖ (the same as grad_norms except for the LSTM);
* ``jacobian_norms[t-1]`` = mean_b σ_max(∂s_b(t+1)/∂s_b(t)) for t = 1 … T − 1, the largest singular
  value of each step Jacobian (torch.func.jacrev, vmapped over the examples; averaged over the first
  few examples only, since an SVD per example and step is the probe's main cost).

Everything runs in float64 on a copy of the cell, so a gradient of 1e-40 is a number and not a zero.
"""

from __future__ import annotations

import copy
import importlib
import json
import math
import pkgutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from rnnkit.cells import RecurrentCell, make_cell
from rnnkit.engine.checkpoint import load_model
from rnnkit.errors import CheckpointError
from rnnkit.layers import Recurrent

THRESHOLD = 1e-3  # "vanished": below this fraction of the gradient at t = T


@dataclass
class GradientProfile:
    """The probe's numbers for one cell.

    Attributes:
        cell: the cell's name ("elman", "gru", "lstm").
        source: "init" or the checkpoint the cell came from.
        length: T. hidden_size: H. batch_size: B (examples averaged over).
        grad_norms: T values, mean_b ‖∂L(T)/∂s(t)‖ for t = 1 … T.
        hidden_grad_norms: T values, mean_b ‖∂L(T)/∂h(t)‖.
        jacobian_norms: T − 1 values, mean σ_max(∂s(t+1)/∂s(t)) for t = 1 … T − 1 (first examples).
        jacobian_examples: how many examples ``jacobian_norms`` averages over.
    """

    cell: str
    source: str
    length: int
    hidden_size: int
    batch_size: int
    grad_norms: list[float]
    hidden_grad_norms: list[float]
    jacobian_norms: list[float]
    jacobian_examples: int

    def by_distance(self) -> list[float]:
        """The gradient norms by distance T − t = 0 … T − 1 (the reverse of ``grad_norms``)."""
        return self.grad_norms[::-1]

    def vanishing_distance(self, threshold: float = THRESHOLD) -> int | None:
        """The first distance T − t at which the norm is below ``threshold`` times its value at t = T,
        or None if it never is within the sequence."""
        norms = self.by_distance()
        return next((d for d, n in enumerate(norms) if n < threshold * norms[0]), None)

    def decay_per_step(self) -> float:
        """The geometric mean of the step ratios ‖∂L/∂s(t)‖ / ‖∂L/∂s(t+1)‖ over the whole sequence."""
        first, last = self.grad_norms[0], self.grad_norms[-1]
        if self.length < 2 or first <= 0.0:
            return 0.0
        return math.exp((math.log(first) - math.log(last)) / (self.length - 1))


def cell_name(cell: RecurrentCell) -> str:
    """"elman", "gru" or "lstm" for a cell object."""
    return type(cell).__name__.removesuffix("Cell").lower()


def _flatten(state: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The state as one vector per example: h (B, H) or [h; c] (B, 2H)."""
    return torch.cat(state, dim=-1) if isinstance(state, tuple) else state


def _unflatten(cell: RecurrentCell, flat: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Inverse of :func:`_flatten`."""
    return tuple(flat.chunk(2, dim=-1)) if cell.num_states == 2 else flat


def step_jacobians(cell: RecurrentCell, x_t: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
    """The Jacobians ∂s(t+1)/∂s(t) of one step for every example.

    Args:
        cell: any rnnkit cell. x_t: (B, I). state: the flattened state s(t), (B, S), S = H or 2H.

    Returns:
        (B, S, S), row i, column j = ∂s_i(t+1)/∂s_j(t).
    """

    def one(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:  # (I,), (S,) -> (S,)
        return _flatten(cell(x[None], _unflatten(cell, s[None])))[0]  # batch of one, as the cells expect

    return torch.func.vmap(torch.func.jacrev(one, argnums=1))(x_t, state)


def probe_cell(
    cell: RecurrentCell,
    inputs: torch.Tensor,
    seed: int = 0,
    source: str = "init",
    jacobian_examples: int = 8,
    directions: torch.Tensor | None = None,
) -> GradientProfile:
    """Measure ∂L(T)/∂s(t) for every t and the step Jacobians of ``cell`` on ``inputs`` (B, T, I).

    L(T) = Σ_b ⟨g_b, h_b(T)⟩ with ``directions`` g (B, H), by default unit vectors drawn with ``seed``.
    σ_max(∂s(t+1)/∂s(t)) is averaged over the first ``jacobian_examples`` examples (an exact SVD each).

    Example:
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> profile = probe_cell(make_cell("elman", 3, 8), torch.randn(4, 20, 3))
        >>> len(profile.grad_norms), len(profile.jacobian_norms), round(profile.grad_norms[-1], 6)
        (20, 19, 1.0)
    """
    B, T, _ = inputs.shape
    cell = copy.deepcopy(cell).double().eval()
    device = next(cell.parameters()).device
    x = inputs.to(device, torch.float64)
    if directions is None:
        directions = torch.randn(B, cell.hidden_size, generator=torch.Generator().manual_seed(seed))  # (B, H)
        directions = directions / directions.norm(dim=1, keepdim=True)
    directions = directions.to(device, torch.float64)

    with torch.enable_grad():  # the probe differentiates even when called under torch.no_grad()
        states = []
        state = cell.init_state(B, x)
        for t in range(T):
            state = cell(x[:, t], state)
            # The LSTM computes h(t) from c(t) inside the step, so autograd's derivative w.r.t. the tensor
            # c(t) would include that path too. Cloning makes s(t) the next step's *input*, whose gradient
            # is exactly the chain rule's: ∂L/∂s(t) = ∂s(t+1)/∂s(t)ᵀ ∂L/∂s(t+1).
            state = tuple(p.clone() for p in state) if isinstance(state, tuple) else state.clone()
            states.append(state)
        parts = [p for s in states for p in (s if isinstance(s, tuple) else (s,))]  # h(1) [c(1)] h(2) ...
        last_h = states[-1][0] if cell.num_states == 2 else states[-1]
        loss = (directions * last_h).sum()
        grads = torch.autograd.grad(loss, parts, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(parts, grads, strict=True)]
    k = cell.num_states
    state_grads = [torch.cat(grads[t * k : (t + 1) * k], dim=1) for t in range(T)]  # T × (B, S)

    # An SVD per example and step is the probe's main cost, so σ_max is averaged over the first
    # ``jacobian_examples`` examples only.
    n = min(B, jacobian_examples)
    with torch.no_grad():
        jacobians = (step_jacobians(cell, x[:n, t + 1], _flatten(states[t])[:n]) for t in range(T - 1))
        jacobian_norms = [float(torch.linalg.matrix_norm(J, ord=2).mean()) for J in jacobians]  # J (n, S, S)
    return GradientProfile(
        cell=cell_name(cell),
        source=source,
        length=T,
        hidden_size=cell.hidden_size,
        batch_size=B,
        grad_norms=[float(g.norm(dim=1).mean()) for g in state_grads],
        hidden_grad_norms=[float(grads[t * k].norm(dim=1).mean()) for t in range(T)],
        jacobian_norms=jacobian_norms,
        jacobian_examples=n,
    )


def first_recurrent(model: nn.Module) -> Recurrent:
    """The first :class:`~rnnkit.layers.Recurrent` submodule of ``model`` (the model itself if it is one)."""
    layer = next((m for m in model.modules() if isinstance(m, Recurrent)), None)
    if layer is None:
        raise ValueError(f"{type(model).__name__} has no rnnkit Recurrent layer to probe")
    return layer


def random_inputs(
    model: nn.Module | None, batch_size: int, length: int, input_size: int, seed: int = 0
) -> torch.Tensor:
    """Inputs (B, T, I) for the probe.

    If ``model`` has an ``nn.Embedding`` whose size is I, the inputs are embeddings of uniformly random
    tokens (what a language model or tagger really feeds its recurrent layer); otherwise x ~ N(0, 1).
    """
    generator = torch.Generator().manual_seed(seed)
    embeddings = [] if model is None else [
        m for m in model.modules() if isinstance(m, nn.Embedding) and m.embedding_dim == input_size
    ]
    if embeddings:
        table = embeddings[0].weight.detach()  # (V, I)
        ids = torch.randint(0, table.size(0), (batch_size, length), generator=generator)  # (B, T)
        return table[ids]  # (B, T, I)
    return torch.randn(batch_size, length, input_size, generator=generator)


def probe_model(
    model: nn.Module,
    length: int = 100,
    batch_size: int = 32,
    seed: int = 0,
    source: str = "model",
    inputs: torch.Tensor | None = None,
) -> GradientProfile:
    """Probe the first cell (layer 0, forward direction) of the model's first Recurrent layer, on
    ``inputs`` (B, T, I) if given, else on :func:`random_inputs`."""
    layer = first_recurrent(model)
    if inputs is None:
        inputs = random_inputs(model, batch_size, length, layer.input_size, seed)
    return probe_cell(layer.cells[0], inputs, seed=seed, source=source)


def probe_at_init(
    cells: Sequence[str] = ("elman", "gru", "lstm"),
    length: int = 100,
    hidden_size: int = 128,
    input_size: int | None = None,
    batch_size: int = 32,
    init: str = "uniform",
    seed: int = 0,
) -> list[GradientProfile]:
    """Probe freshly initialised cells (as :class:`~rnnkit.layers.Recurrent` builds them), one per name.

    Every cell sees the same inputs x ~ N(0, 1), (B, T, I) with I = ``input_size`` (default H).

    Example:
        >>> [p.cell for p in probe_at_init(length=5, hidden_size=4, batch_size=2)]
        ['elman', 'gru', 'lstm']
    """
    input_size = input_size or hidden_size
    inputs = random_inputs(None, batch_size, length, input_size, seed)
    profiles = []
    for name in cells:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            cell = make_cell(name, input_size, hidden_size, init=init)
        profiles.append(probe_cell(cell, inputs, seed=seed))
    return profiles


def model_classes() -> dict[str, type[nn.Module]]:
    """Every model class of :mod:`rnnkit.models` that can be rebuilt from a config, by class name."""
    import rnnkit.models

    classes: dict[str, type[nn.Module]] = {}
    for info in pkgutil.iter_modules(rnnkit.models.__path__):
        module = importlib.import_module(f"rnnkit.models.{info.name}")
        for name, obj in vars(module).items():
            if (isinstance(obj, type) and issubclass(obj, nn.Module) and obj.__module__ == module.__name__
                    and hasattr(obj, "from_config")):
                classes[name] = obj
    return classes


def load_any_model(path: str | Path) -> tuple[nn.Module, dict]:
    """A trained model of any task and its model.json, through the engine's checkpoint loader."""
    classes = model_classes()

    def build(meta: dict) -> nn.Module:
        name = meta["model_class"]
        if name not in classes:
            raise CheckpointError(f"{path}: model class {name!r} is not an rnnkit model "
                                  f"(known: {', '.join(sorted(classes))})")
        try:
            return classes[name].from_config(meta["model_config"])
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{path}: model_config does not fit {name}: {err}") from None

    return load_model(path, build)


def probe_checkpoint(
    path: str | Path, length: int = 100, batch_size: int = 32, seed: int = 0
) -> GradientProfile:
    """Probe a trained model of any task.

    The inputs are the task's own when the checkpoint says which long-range problem it was trained on,
    otherwise those of :func:`random_inputs`.
    """
    model, meta = load_any_model(path)
    problem = meta.get("settings", {}).get("problem") if meta["task"].startswith("longrange") else None
    inputs = None
    if problem is not None:
        from rnnkit.analysis.problems import make_problem  # only long-range checkpoints need it

        inputs = make_problem(problem).generate(batch_size, length, torch.Generator().manual_seed(seed))[0]
        inputs = inputs[:, :length]  # (B, T, I); the copy task's examples are longer than their delay
    return probe_model(model, length, batch_size, seed, str(path), inputs)


def write_profiles(profiles: Sequence[GradientProfile], path: str | Path) -> Path:
    """Write the profiles' numbers (and each one's vanishing distance) as JSON to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{**asdict(p), "vanishing_distance": p.vanishing_distance()} for p in profiles]
    path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return path


def format_table(profiles: Sequence[GradientProfile], threshold: float = THRESHOLD) -> str:
    """A plain-text table: for each cell, the distance at which the gradient falls below ``threshold``
    of its value at t = T, the average decay per step, the norm at the largest distance and the mean
    largest singular value of the step Jacobians."""
    header = f"{'cell':<8} {'T':>5} {'H':>5} {'vanishes at T−t':>16} {'decay/step':>11} " \
             f"{'‖∂L/∂s(1)‖':>11} {'mean σmax(J)':>13}"
    lines = [header, "-" * len(header)]
    for p in profiles:
        d = p.vanishing_distance(threshold)
        where = f"> {p.length - 1}" if d is None else str(d)
        sigma = sum(p.jacobian_norms) / len(p.jacobian_norms) if p.jacobian_norms else float("nan")
        lines.append(f"{p.cell:<8} {p.length:>5} {p.hidden_size:>5} {where:>16} {p.decay_per_step():>11.4f} "
                     f"{p.grad_norms[0]:>11.3e} {sigma:>13.4f}")
    return "\n".join(lines)
