"""Write ``training.json`` beside a shipped model: how it was trained and converted (with
``stages``, first to last, when it was fine-tuned or recalibrated from another checkpoint).

Usage: .venv/bin/python tools/describe_model.py spikewright/models/NAME "spikewright convert ..."
"""

import json
import sys
from pathlib import Path

from spikewright.golden import load
from spikewright.golden.train import load_checkpoint


def main():
    folder, convert_command = Path(sys.argv[1]), sys.argv[2]
    _, info = load_checkpoint(folder / "checkpoint.pt")
    network = load(folder / "ir")
    stages, stage = [], info
    while stage is not None:
        stages.insert(0, {key: stage.get(key) for key in (
            "command", "seed", "epochs", "train_time_s", "torch_threads", "accuracy",
            "history")})
        stage = stage.get("init")
    record = {
        "train_command": info["command"],
        "seed": info["seed"],
        "epochs": info["epochs"],
        "train_time_s": round(info["train_time_s"], 1),
        "torch_threads": info.get("torch_threads"),
        "machine": "2-core CPU (torch 2.13.0 CPU build)",
        "convert_command": convert_command,
        "ir_digest": network.digest(),
        "test_accuracy": info["accuracy"],
        "history": info["history"],
    }
    if len(stages) > 1:
        record["stages"] = stages
        record["total_train_time_s"] = round(sum(s["train_time_s"] or 0 for s in stages), 1)
    (folder / "training.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
