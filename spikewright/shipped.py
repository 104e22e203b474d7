"""The models shipped with spikewright (trained, converted, recorded)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["MODELS_DIR", "DEFAULT_MODEL", "model_dir", "shipped_models", "shipped_hw_config"]

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = "mnist_mlp_t1"


def shipped_models() -> list[str]:
    if not MODELS_DIR.is_dir():
        return []
    return sorted(p.name for p in MODELS_DIR.iterdir() if (p / "ir" / "network.json").is_file())


def model_dir(name: str) -> Path:
    """The folder of a shipped model: ``checkpoint.pt``, ``ir/``, ``training.json``."""
    path = MODELS_DIR / name
    if not (path / "ir" / "network.json").is_file():
        raise ValueError(f"shipped model must be one of {', '.join(shipped_models())}, "
                         f"not {name!r}")
    return path



def shipped_hw_config(name: str) -> dict:
    """The HwConfig (JSON) that ``spikewright run`` uses for a shipped model by default."""
    import json
    path = model_dir(name) / "hw_config.json"
    return json.loads(path.read_text()) if path.is_file() else {}
