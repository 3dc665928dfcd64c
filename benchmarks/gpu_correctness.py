"""Correctness of the recurrent layer's paths on a CUDA device (run by benchmarks/gpu_check.sh).

For every cell formulation, 2 layers, bidirectional, padded batch:
- "bptt" on CUDA in float64 against "autograd" on CUDA: outputs, final states, gradients of x, the
  initial state and every parameter within a relative error of 1e-10;
- "torch" (cuDNN) on CUDA in float32 against "autograd" on the CPU in float64 (TF32 off): within 1e-5;
- "bptt" in float32 on CUDA against the same float64 reference: within 1e-5;
- "torch" against "autograd", both in float32 on CUDA, with weight dropout on the recurrent matrices,
  with locked dropout between the layers (the same masks), and with gradients taken in eval mode (dynamic
  evaluation; cuDNN must then run its training path without dropout): within 1e-5;
- a language model of each cell, stepped one token at a time with its state carried (as generation
  does), against one pass over the whole sequence, on the device: within 1e-5;
- the torch path warns nothing (cuDNN warns about weights outside one flat buffer unless rnnkit silences it).
Exits 1 and names the failing check if any differs.

    python benchmarks/gpu_correctness.py            # --device cpu runs the same checks on the CPU
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings

import torch

from rnnkit.layers import Recurrent
from rnnkit.models.language_model import RNNLanguageModel

log = logging.getLogger("gpu_correctness")

FORMS = [("elman", "lecture", g) for g in ("tanh", "relu", "sigmoid", "identity")] + [
    ("gru", "lecture", "tanh"), ("gru", "cudnn", "tanh"), ("lstm", "lecture", "tanh")]


def run(layer: Recurrent, backend: str, x: torch.Tensor, h0: torch.Tensor, lengths: torch.Tensor,
        weight: torch.Tensor) -> list[torch.Tensor]:
    """Outputs, final states and gradients (x, h0, every parameter) as float64 CPU tensors."""
    layer.backend = backend
    x = x.detach().requires_grad_()
    h0 = h0.detach().requires_grad_()
    state = (h0, torch.zeros_like(h0)) if layer.cell == "lstm" else h0
    out, final = layer(x, state, lengths)
    finals = final if isinstance(final, tuple) else (final,)
    grads = torch.autograd.grad((out * weight).sum() + sum(f.sum() for f in finals),
                                [x, h0, *layer.parameters()])
    return [t.detach().double().cpu() for t in (out, *finals, *grads)]


def dropout_error(layer: Recurrent, args: tuple[torch.Tensor, ...], **dropouts: float | bool) -> float:
    """Relative error of cuDNN against autograd in training with ``dropouts`` set on the layer (weight
    dropout, or locked dropout between layers): the same seed draws the same masks on both paths, so they
    must agree (the CPU tests check this on oneDNN)."""
    kept = {name: getattr(layer, name) for name in dropouts}
    for name, value in dropouts.items():
        setattr(layer, name, value)
    results = []
    for backend in ("torch", "autograd"):
        torch.manual_seed(1)
        results.append(run(layer, backend, *args))
    for name, value in kept.items():
        setattr(layer, name, value)
    return rel_err(*results)


def eval_mode_error(layer: Recurrent, args: tuple[torch.Tensor, ...]) -> float:
    """Relative error of cuDNN against autograd when gradients are taken in eval mode, as dynamic evaluation
    does: cuDNN differentiates only its training path, which must then run without the layer's dropout."""
    kept = layer.dropout
    layer.dropout = 0.3
    layer.eval()
    try:
        return rel_err(run(layer, "torch", *args), run(layer, "autograd", *args))
    finally:
        layer.dropout = kept
        layer.train()


def rel_err(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return max(float((p - q).norm() / q.norm().clamp_min(1e-300)) for p, q in zip(a, b, strict=True))


def stepping_error(cell: str, variant: str, device: torch.device) -> float:
    """Largest relative error of one-token-at-a-time logits (state carried) against one whole pass."""
    torch.manual_seed(0)
    model = RNNLanguageModel(20, embedding_size=8, hidden_size=16, num_layers=2, cell=cell, variant=variant)
    model = model.to(device).eval()
    ids = torch.randint(0, 20, (3, 12), device=device)
    with torch.no_grad():
        whole, _ = model(ids)
        state, steps = None, []
        for t in range(ids.size(1)):
            logits, state = model(ids[:, t : t + 1], state)
            steps.append(logits)
    return rel_err([torch.cat(steps, dim=1).double().cpu()], [whole.double().cpu()])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", help="the device under test (default cuda)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        log.error("no CUDA device")
        return 1
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cuda = torch.device(args.device)
    failures = []
    for cell, variant, g in FORMS:
        torch.manual_seed(0)
        layer = Recurrent(cell, 6, 8, num_layers=2, bidirectional=True, variant=variant, nonlinearity=g)
        x, h0 = torch.randn(4, 9, 6), torch.randn(4, 4, 8)
        lengths, weight = torch.tensor([9, 3, 6, 1]), torch.randn(4, 9, 16)
        reference = run(layer.double(), "autograd", x.double(), h0.double(), lengths, weight.double())
        checks = []
        layer64 = layer.to(cuda)
        args64 = (x.double().to(cuda), h0.double().to(cuda), lengths.to(cuda), weight.double().to(cuda))
        checks.append(("bptt float64 vs autograd float64, both on the device",
                       rel_err(run(layer64, "bptt", *args64), run(layer64, "autograd", *args64)), 1e-10))
        layer32 = layer64.float()
        args32 = (x.to(cuda), h0.to(cuda), lengths.to(cuda), weight.to(cuda))
        checks.append(("bptt float32 on the device vs autograd float64 CPU",
                       rel_err(run(layer32, "bptt", *args32), reference), 1e-5))
        if (cell, variant if cell == "gru" else g) in {("elman", "tanh"), ("elman", "relu"), ("gru", "cudnn"),
                                                        ("lstm", "tanh")}:
            with warnings.catch_warnings(record=True) as caught:  # e.g. cuDNN's about non-flat weights
                warnings.simplefilter("always")
                torch_run = run(layer32, "torch", *args32)
            checks.append(("torch float32 on the device vs autograd float64 CPU", rel_err(torch_run, reference),
                           1e-5))
            if caught:
                log.error("%s %s %s: the torch path warned: %s", cell, variant, g, caught[0].message)
                failures.append(f"{cell}/{variant}/{g}: the torch path warned")
            checks.append(("torch vs autograd, weight dropout, same masks, on device",
                           dropout_error(layer32, args32, weight_dropout=0.3), 1e-5))
            checks.append(("torch vs autograd, locked dropout, same masks, on device",
                           dropout_error(layer32, args32, dropout=0.3, locked_dropout=True), 1e-5))
            checks.append(("torch vs autograd, gradients in eval mode, on device",
                           eval_mode_error(layer32, args32), 1e-5))
        for name, err, tol in checks:
            ok = err <= tol
            log.info("%-5s %-8s %-8s %-52s rel. error %.2e (≤ %.0e) %s", cell, variant, g, name, err, tol,
                     "ok" if ok else "FAIL")
            if not ok:
                failures.append(f"{cell}/{variant}/{g}: {name}")
    for cell, variant in (("elman", "lecture"), ("gru", "lecture"), ("gru", "cudnn"), ("lstm", "lecture")):
        err = stepping_error(cell, variant, cuda)
        log.info("%-5s %-8s LM stepped token by token vs one pass, on the device   rel. error %.2e (≤ 1e-05) %s",
                 cell, variant, err, "ok" if err <= 1e-5 else "FAIL")
        if err > 1e-5:
            failures.append(f"{cell}/{variant}: LM stepping")
    if failures:
        log.error("FAILED: %s", "; ".join(failures))
        return 1
    log.info("all GPU checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
