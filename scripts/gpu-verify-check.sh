#!/usr/bin/env bash
# One `hearbot verify` of the example model on CUDA and on the CPU of the same machine, with
# --no-install (the runner's own torch), on the demo's synthetic stand-in tasks: shows the
# CUDA path end to end and prints per-stage times. For a GPU runner or a lent GPU machine.
#   bash scripts/gpu-verify-check.sh OUT_DIR
set -euo pipefail
out=${1:?usage: scripts/gpu-verify-check.sh OUT_DIR}
mkdir -p "$out"
export PYTHONPATH="$PWD:$PWD/examples/hear_example_model${PYTHONPATH:+:$PYTHONPATH}"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
  torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
python3 -m bot tasks synth --out "$out/tasks" --sample-rate 16000
python3 - "$out" <<'PY'
import sys
from decimal import Decimal
from pathlib import Path

from bot.demo import STAND_INS, manifest, row

out = Path(sys.argv[1])
model = "HEAR demo example model on a GPU"
placeholder = out / "hear_example_model-1.0.0-py3-none-any.whl"
placeholder.write_bytes(b"--no-install: the model comes from PYTHONPATH")
claims = {column: Decimal("0.5") for column in STAND_INS}
from bot.common.schemas import leaderboard_facts

not_run = [c for c in leaderboard_facts().score_columns if c not in claims]
head = Path("leaderboard.csv").read_bytes() + b"\n" + row(model, claims).encode()
(out / "head.csv").write_bytes(head)
import json

(out / "manifest.json").write_text(json.dumps(manifest(model, placeholder, not_run)))
PY
for device in cuda cpu; do
  args=(--base-file leaderboard.csv --head-file "$out/head.csv" --manifest "$out/manifest.json"
        --tasks-dir "$out/tasks" --no-install --device "$device" --out "$out/$device"
        --work "$out/work-$device" --format text)
  for column_task in "ESC-50=synth_tones-1.0.0-full" "FSD50K=synth_mixtures-1.0.0-full" \
                     "DCASE 2016=synth_events-1.0.0-full"; do
    args+=(--stand-in "$column_task")
  done
  status=0
  python3 -m bot verify "${args[@]}" > "$out/$device.txt" 2> "$out/$device.log" || status=$?
  echo "== $device: hearbot verify exit $status (0 pass, 1 fail: the claims are placeholders)"
  [ -f "$out/$device/result.json" ] || { tail -3 "$out/$device.log"; continue; }
  python3 - "$out/$device/result.json" <<'PY'
import json
import sys

verification = json.load(open(sys.argv[1]))["verification"]
print("device:", verification["environment"]["device"])
print("timings:", verification["timings"])
for column in verification["columns"]:
    if column["reproduced"] is not None:
        print(f"  {column['column']}: reproduced {column['reproduced']:.4f}")
PY
done
