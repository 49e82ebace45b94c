"""hear_example_model: a small, fixed-weight HEAR 2021 API model.

Frames every ``hop_ms`` (default 50 ms, centred at 0, hop, 2·hop, ... ms up to the clip's
end), a Hann-windowed FFT of about 25 ms, a log mel spectrogram (``n_mels`` bands,
50 Hz-8 kHz) and a fixed random projection of it (``projection_dim`` values through tanh);
the timestamp embedding is both, concatenated, times ``scale``. The scene embedding is the
mean of the timestamp embeddings over time. No training, no downloads: the projection comes
from a tiny integer generator (SplitMix64) seeded with ``seed``, so it is the same on every
machine and torch version.

Model options (``load_model(model_file_path="", **options)``; ``--model-options`` JSON):

- ``sample_rate`` (16000): one of 16000, 22050, 32000, 44100, 48000.
- ``hop_ms`` (50.0), ``n_mels`` (64), ``projection_dim`` (64), ``seed`` (0).
- ``scale`` (1.0): multiplies every embedding; an easy way to make a variant whose outputs
  differ deterministically.
- ``fault`` ("none"): for testing verifiers only, a deliberate API violation: "nan" (NaN in
  the embeddings), "float64" (embeddings in float64), "irregular_hop" (uneven timestamps),
  "late_timestamps" (timestamps past the end of the audio), "wrong_size" (one value short),
  "raise" (get_*_embeddings raise RuntimeError).

A weights file (``model_file_path``) is optional: a JSON file as written by `save_weights`,
holding the projection matrix and the options it was made with (explicit options win).
"""

from __future__ import annotations

import json
import math
from typing import Any

import torch

__version__ = "1.0.0"

SAMPLE_RATES = (16000, 22050, 32000, 44100, 48000)
FAULTS = ("none", "nan", "float64", "irregular_hop", "late_timestamps", "wrong_size", "raise")
WEIGHTS_FORMAT = "hear_example_model.weights/1"
DEFAULTS: dict[str, Any] = {
    "sample_rate": 16000,
    "hop_ms": 50.0,
    "n_mels": 64,
    "projection_dim": 64,
    "seed": 0,
    "scale": 1.0,
    "fault": "none",
}
F_MIN, F_MAX = 50.0, 8000.0
LOG_FLOOR = 1e-6
_MASK64 = (1 << 64) - 1


def splitmix64_uniform(seed: int, count: int) -> list[float]:
    """`count` floats in [-1, 1) from SplitMix64: identical on every platform."""
    state = seed & _MASK64
    values = []
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & _MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        z ^= z >> 31
        values.append((z >> 11) / float(1 << 53) * 2.0 - 1.0)
    return values


def _hz_to_mel(hz: float) -> float:
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: float) -> float:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> torch.Tensor:
    """(n_fft // 2 + 1, n_mels) triangular filters on the HTK mel scale, in float64."""
    f_max = min(F_MAX, sample_rate / 2.0)
    low, high = _hz_to_mel(F_MIN), _hz_to_mel(f_max)
    edges = [_mel_to_hz(low + (high - low) * i / (n_mels + 1)) for i in range(n_mels + 2)]
    bins = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * sample_rate / n_fft
    bank = torch.zeros(n_fft // 2 + 1, n_mels, dtype=torch.float64)
    for m in range(n_mels):
        left, centre, right = edges[m], edges[m + 1], edges[m + 2]
        rising = (bins - left) / (centre - left)
        falling = (right - bins) / (right - centre)
        bank[:, m] = torch.clamp(torch.minimum(rising, falling), min=0.0)
    return bank


def _fft_size(sample_rate: int) -> int:
    return 2 ** round(math.log2(0.025 * sample_rate))


class ExampleModel(torch.nn.Module):
    def __init__(
        self,
        sample_rate: int = 16000,
        hop_ms: float = 50.0,
        n_mels: int = 64,
        projection_dim: int = 64,
        seed: int = 0,
        scale: float = 1.0,
        fault: str = "none",
        projection: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        _check_options(sample_rate, hop_ms, n_mels, projection_dim, scale, fault)
        self.sample_rate = int(sample_rate)
        self.hop_ms = float(hop_ms)
        self.scale = float(scale)
        self.fault = fault
        self.seed = int(seed)
        self.n_fft = _fft_size(self.sample_rate)
        self.scene_embedding_size = n_mels + projection_dim
        self.timestamp_embedding_size = n_mels + projection_dim
        if projection is None:
            values = splitmix64_uniform(self.seed, n_mels * projection_dim)
            projection = torch.tensor(values, dtype=torch.float64).reshape(n_mels, projection_dim)
        if tuple(projection.shape) != (n_mels, projection_dim):
            raise ValueError(
                f"projection has shape {tuple(projection.shape)}, expected "
                f"({n_mels}, {projection_dim})"
            )
        gain = 0.25 * math.sqrt(3.0 / n_mels)
        self.register_buffer("projection", (projection * gain).to(torch.float32))
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True))
        self.register_buffer(
            "mel", mel_filterbank(self.sample_rate, self.n_fft, n_mels).to(torch.float32)
        )
        self.eval()

    def n_frames(self, n_samples: int) -> int:
        """Frames centred at k·hop for every k with k·hop ≤ the clip length."""
        hop_samples = self.hop_ms * self.sample_rate / 1000.0
        return math.floor(n_samples / hop_samples + 1e-9) + 1

    def timestamps_ms(self, n_samples: int) -> torch.Tensor:
        return torch.arange(self.n_frames(n_samples), dtype=torch.float64) * self.hop_ms

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """audio (n, samples) → (embeddings (n, T, D) float32, timestamps (n, T) in ms)."""
        if audio.ndim != 2:
            raise ValueError(f"audio must be (n_sounds, n_samples), not {tuple(audio.shape)}")
        audio = audio.to(torch.float32)
        times = self.timestamps_ms(audio.shape[1])
        centres = torch.round(times * self.sample_rate / 1000.0).to(torch.long)
        half = self.n_fft // 2
        padded = torch.nn.functional.pad(audio, (half, half))
        index = centres[:, None].to(audio.device) + torch.arange(self.n_fft, device=audio.device)
        frames = padded[:, index] * self.window
        power = torch.fft.rfft(frames, dim=-1).abs() ** 2
        log_mel = torch.log(power @ self.mel + LOG_FLOOR)
        projected = torch.tanh(log_mel @ self.projection)
        embeddings = torch.cat([log_mel, projected], dim=-1) * self.scale
        timestamps = times.to(torch.float32).to(audio.device).expand(audio.shape[0], -1)
        return embeddings, timestamps.contiguous()


def _check_options(
    sample_rate: int, hop_ms: float, n_mels: int, projection_dim: int, scale: float, fault: str
) -> None:
    if sample_rate not in SAMPLE_RATES:
        raise ValueError(f"sample_rate must be one of {SAMPLE_RATES}, not {sample_rate!r}")
    if not (isinstance(hop_ms, (int, float)) and 1.0 <= hop_ms <= 1000.0):
        raise ValueError(f"hop_ms must be between 1 and 1000, not {hop_ms!r}")
    for name, value in (("n_mels", n_mels), ("projection_dim", projection_dim)):
        if not (isinstance(value, int) and 1 <= value <= 1024):
            raise ValueError(f"{name} must be an int from 1 to 1024, not {value!r}")
    if not (isinstance(scale, (int, float)) and math.isfinite(scale)):
        raise ValueError(f"scale must be a finite number, not {scale!r}")
    if fault not in FAULTS:
        raise ValueError(f"fault must be one of {FAULTS}, not {fault!r}")


def load_model(model_file_path: str = "", **options: Any) -> ExampleModel:
    """The HEAR API entry point. Unknown options are an error (so typos do not pass)."""
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unknown model option(s) {unknown}; known: {sorted(DEFAULTS)}")
    settings = dict(DEFAULTS)
    projection = None
    if model_file_path:
        saved_options, projection = read_weights(model_file_path)
        settings.update(saved_options)
    settings.update(options)
    return ExampleModel(projection=projection, **settings)


def read_weights(path: str) -> tuple[dict[str, Any], torch.Tensor]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or data.get("format") != WEIGHTS_FORMAT:
        raise ValueError(f"{path} is not a {WEIGHTS_FORMAT} file")
    options = {k: v for k, v in data.get("options", {}).items() if k in DEFAULTS}
    return options, torch.tensor(data["projection"], dtype=torch.float64)


def save_weights(model: ExampleModel, path: str) -> None:
    """Write the model's projection and options as JSON (no pickles)."""
    gain = 0.25 * math.sqrt(3.0 / model.mel.shape[1])
    data = {
        "format": WEIGHTS_FORMAT,
        "options": {
            "sample_rate": model.sample_rate,
            "hop_ms": model.hop_ms,
            "n_mels": int(model.mel.shape[1]),
            "projection_dim": int(model.projection.shape[1]),
            "seed": model.seed,
            "scale": model.scale,
        },
        "projection": (model.projection.to(torch.float64) / gain).tolist(),
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle)


def _faulty(model: ExampleModel, embeddings: torch.Tensor) -> torch.Tensor:
    if model.fault == "nan":
        embeddings = embeddings.clone()
        embeddings.view(-1)[0] = float("nan")
    elif model.fault == "float64":
        embeddings = embeddings.to(torch.float64)
    elif model.fault == "wrong_size":
        embeddings = embeddings[..., :-1]
    return embeddings


def get_timestamp_embeddings(
    audio: torch.Tensor, model: ExampleModel
) -> tuple[torch.Tensor, torch.Tensor]:
    if model.fault == "raise":
        raise RuntimeError("hear_example_model: deliberate failure (fault='raise')")
    embeddings, timestamps = model(audio)
    if model.fault == "irregular_hop" and timestamps.shape[1] > 2:
        timestamps = timestamps.clone()
        timestamps[:, 1::2] += 5.0  # steps alternate hop + 5 and hop - 5 ms
    elif model.fault == "late_timestamps":
        timestamps = timestamps + 2.0 * model.hop_ms
    return _faulty(model, embeddings), timestamps


def get_scene_embeddings(audio: torch.Tensor, model: ExampleModel) -> torch.Tensor:
    if model.fault == "raise":
        raise RuntimeError("hear_example_model: deliberate failure (fault='raise')")
    embeddings, _ = model(audio)
    return _faulty(model, embeddings.mean(dim=1))
