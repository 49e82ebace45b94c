"""The downstream classifier of the kit (`FullyConnectedPrediction`), built in the same order.

Module creation order matters: each `torch.nn.Linear` draws its default init (weight, then
bias) from the global torch generator, and the xavier re-initialisation of its weight draws
right after, before the next layer is created. After the model, the kit's
`torchinfo.summary(predictor, input_size=(64, nfeatures))` draws `torch.rand(64, nfeatures)`
(torchinfo >= 1.6 runs that forward pass in eval mode, so nothing else changes).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

Initializer = Callable[..., torch.Tensor]
# The kit's grid values for "initialization" are these two functions themselves.
INITIALIZERS: tuple[Initializer, ...] = (nn.init.xavier_uniform_, nn.init.xavier_normal_)
TORCHINFO_BATCH = 64


class Classifier(nn.Module):
    """[Linear(d, h) -> BatchNorm1d(h) -> Dropout(p) -> ReLU] x hidden_layers -> Linear(., L).

    The weight of each Linear gets `initialization(weight, gain)` with gain 1 (calculate_gain
    "linear") for the first layer and sqrt(2) ("relu") for every later one, the projection
    included; biases keep torch's default init. hidden_layers = 0 means no hidden stack.
    """

    def __init__(
        self,
        n_features: int,
        n_labels: int,
        *,
        multilabel: bool,
        hidden_layers: int,
        hidden_dim: int,
        dropout: float,
        initialization: Initializer,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width, activation = n_features, "linear"
        for _ in range(hidden_layers):
            linear = nn.Linear(width, hidden_dim)
            initialization(linear.weight, gain=nn.init.calculate_gain(activation))
            layers += [linear, nn.BatchNorm1d(hidden_dim), nn.Dropout(dropout), nn.ReLU()]
            width, activation = hidden_dim, "relu"
        self.hidden: nn.Module = nn.Sequential(*layers) if layers else nn.Identity()
        self.projection = nn.Linear(width, n_labels)
        initialization(self.projection.weight, gain=nn.init.calculate_gain(activation))
        self.multilabel = multilabel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits."""
        return self.projection(self.hidden(x))

    def activate(self, logits: torch.Tensor) -> torch.Tensor:
        """Probabilities: sigmoid (multilabel) or softmax over labels (multiclass)."""
        return torch.sigmoid(logits) if self.multilabel else torch.softmax(logits, dim=1)

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean BCE-with-logits (multilabel) or mean cross-entropy on argmax(target)."""
        if self.multilabel:
            return nn.functional.binary_cross_entropy_with_logits(logits, targets)
        return nn.functional.cross_entropy(logits, targets.argmax(dim=1))


def build_classifier(
    n_features: int,
    n_labels: int,
    *,
    multilabel: bool,
    hidden_layers: int,
    hidden_dim: int,
    dropout: float,
    initialization: Initializer,
) -> Classifier:
    """The classifier, then the torchinfo input draw, exactly as the kit consumes the stream."""
    model = Classifier(
        n_features,
        n_labels,
        multilabel=multilabel,
        hidden_layers=hidden_layers,
        hidden_dim=hidden_dim,
        dropout=dropout,
        initialization=initialization,
    )
    torch.rand(TORCHINFO_BATCH, n_features)
    return model
