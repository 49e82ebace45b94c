"""A HEAR-API reference model for timing: a wav2vec2-base-shaped encoder with random weights.

A strided 1-D convolution front-end (the wav2vec2 feature encoder: 7 layers, 512 channels,
total stride 320, i.e. 20 ms frames at 16 kHz) and a Transformer encoder. `size="base"` (the
default) is 94 M parameters, like wav2vec2-base; `size="small"` (4 layers of width 256)
is for CPU runs. Weights are random (seeded): only the compute matters here.
"""

from __future__ import annotations

import torch

SIZES = {"base": (768, 12, 12, 3072), "small": (256, 4, 4, 1024)}
CONV = ((512, 10, 5), (512, 3, 2), (512, 3, 2), (512, 3, 2), (512, 3, 2), (512, 2, 2), (512, 2, 2))
HOP_MS = 20.0


class ReferenceModel(torch.nn.Module):
    sample_rate = 16000

    def __init__(self, size: str = "base") -> None:
        super().__init__()
        width, layers, heads, hidden = SIZES[size]
        self.scene_embedding_size = width
        self.timestamp_embedding_size = width
        blocks: list[torch.nn.Module] = []
        channels = 1
        for out, kernel, stride in CONV:
            blocks += [torch.nn.Conv1d(channels, out, kernel, stride, bias=False), torch.nn.GELU()]
            channels = out
        self.features = torch.nn.Sequential(*blocks)
        self.project = torch.nn.Linear(channels, width)
        # wav2vec2's convolutional position embedding (kernel 128, 16 groups).
        self.position = torch.nn.Conv1d(width, width, 128, padding=64, groups=16)
        layer = torch.nn.TransformerEncoderLayer(width, heads, hidden, batch_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.eval()

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        frames = self.project(self.features(audio[:, None, :]).transpose(1, 2))
        position = self.position(frames.transpose(1, 2))[:, :, : frames.shape[1]]
        return self.encoder(frames + torch.nn.functional.gelu(position).transpose(1, 2))


def load_model(model_file_path: str = "", size: str = "base", seed: int = 0) -> ReferenceModel:
    torch.manual_seed(seed)
    return ReferenceModel(size)


def get_timestamp_embeddings(
    audio: torch.Tensor, model: ReferenceModel
) -> tuple[torch.Tensor, torch.Tensor]:
    embeddings = model(audio)
    count = embeddings.shape[1]
    timestamps = (torch.arange(count, device=audio.device) + 0.5) * HOP_MS
    return embeddings, timestamps.expand(audio.shape[0], -1)


def get_scene_embeddings(audio: torch.Tensor, model: ReferenceModel) -> torch.Tensor:
    return model(audio).mean(dim=1)
