"""Exact mode's full training batches replayed from one CUDA graph.

On a GPU, a training step of the kit's small classifier is a few dozen kernels of microseconds
each; launching them from Python costs more than running them, so eager exact training is
bound by Python, not by the data. A CUDA graph launches the captured forward and backward of a
full batch at once. What makes the replayed step the eager step, bit for bit:

* the same kernels on the same shapes: the batch is copied into the graph's fixed input
  buffers, and the loss and its gradients are computed by the captured kernels themselves;
* Dropout draws from the default CUDA generator in capture-safe form: each replay reads the
  generator's current seed and offset and then advances the offset by what the step consumes,
  as the eager kernels do one by one;
* the gradients the replay writes are the parameters' `.grad` for the optimizer, which still
  steps eagerly (the kit's Adam, unchanged); an eager step (the last, smaller batch of an
  epoch) sets its own gradients and the next replay points `.grad` back at the graph's;
* capturing needs a warm-up pass: what it changes (BatchNorm running statistics and batch
  count, the CUDA generator's offset, the gradients) is put back before training goes on.

`tests/evaluation/test_step_graph.py` checks, on CUDA, that a grid point trained with graphed
steps ends with the same bits as one trained eagerly; `benchmarks/exact_training_graph.py`
measures the gain. On the CPU, or when capture fails, training stays eager.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import nn

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class GraphedStep:
    """Forward and backward of one full batch, captured once and replayed per batch."""

    def __init__(
        self,
        graph: torch.cuda.CUDAGraph,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        params: list[nn.Parameter],
        grads: list[torch.Tensor],
    ) -> None:
        self._graph = graph
        self._inputs = inputs
        self._targets = targets
        self._params = params
        self._grads = grads
        self.rows = len(inputs)

    def run(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        """Set every parameter's `.grad` to the loss gradient on (xb, yb), as
        `zero_grad(); loss(model(xb), yb).backward()` in train mode would."""
        self._inputs.copy_(xb)
        self._targets.copy_(yb)
        self._graph.replay()
        for param, grad in zip(self._params, self._grads, strict=True):
            param.grad = grad


def _warm_up(model: nn.Module, loss: Loss, xb: torch.Tensor, yb: torch.Tensor) -> None:
    """Forward and backward on a side stream (cuBLAS and autograd set themselves up), as
    capture requires."""
    side = torch.cuda.Stream(xb.device)
    side.wait_stream(torch.cuda.current_stream(xb.device))
    with torch.cuda.stream(side):
        for _ in range(2):
            model.zero_grad(set_to_none=True)
            loss(model(xb), yb).backward()
    torch.cuda.current_stream(xb.device).wait_stream(side)


def capture_step(
    model: nn.Module, loss: Loss, xb: torch.Tensor, yb: torch.Tensor
) -> GraphedStep | None:
    """The train-mode step of `model` on batches shaped like (xb, yb), or None when the device
    is not CUDA or capture fails (then training stays eager). Leaves the model, its gradients
    and the CUDA generator as they were."""
    if xb.device.type != "cuda":
        return None
    device = xb.device
    params = [p for p in model.parameters() if p.requires_grad]
    saved = {name: value.detach().clone() for name, value in model.state_dict().items()}
    rng = torch.cuda.get_rng_state(device)
    inputs, targets = xb.detach().clone(), yb.detach().clone()
    model.train()
    try:
        _warm_up(model, loss, inputs, targets)
        model.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            loss(model(inputs), targets).backward()
        grads = [p.grad for p in params]
        if any(g is None for g in grads):
            raise RuntimeError("a parameter got no gradient in the captured step")
        step: GraphedStep | None = GraphedStep(
            graph, inputs, targets, params, [g for g in grads if g is not None]
        )
    except RuntimeError as exc:
        warnings.warn(f"CUDA graph capture failed, training eagerly: {exc}", stacklevel=2)
        step = None
    with torch.no_grad():
        for name, value in model.state_dict().items():
            value.copy_(saved[name])
    model.zero_grad(set_to_none=True)
    torch.cuda.set_rng_state(rng, device)
    return step
