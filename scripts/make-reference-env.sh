#!/usr/bin/env bash
# Builds the REFERENCE environment: the official HEAR 2021 evaluation kit (heareval==2021.1.3)
# and baseline (hearbaseline==2021.1.1) in an isolated virtualenv, for cross-checks only
# (scripts/crosscheck.py). It is not a dependency of hearbot. See docs/hear-protocol.md §8 and
# tests/data/reference/README.md.
#
#   bash scripts/make-reference-env.sh           create or update (no-op when up to date)
#   bash scripts/make-reference-env.sh --force   delete and rebuild from scratch
#
# Environment:
#   REFENV      where to build it (default: <repo>/.refenv, git-ignored via .git/info/exclude)
#   PYTHON      interpreter for the venv (default python3; must be 3.11: tensorflow-cpu 2.15.1
#               has no wheels past 3.11)
#   TORCH_SPEC  torch requirement (default torch==2.13.0, the CPU wheel this machine kind
#               keeps on disk; torch==2.5.1 from PyPI is a CUDA build that pulls ~3 GB of
#               nvidia-* wheels). With torch >= 2.6 the kit needs TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1
#               at run time (its checkpoints pickle torch classes); crosscheck.py sets it.
#               With another torch than 2.13.0, the frozen sympy and mpmath pins are dropped
#               (torch pins sympy exactly: 2.6.0 needs 1.13.1), e.g.
#               REFENV=../refenv-torch26 TORCH_SPEC=torch==2.6.0 bash scripts/make-reference-env.sh
#
# Deviations from the kit's own pins, all forced by Python 3.11: numpy 1.26 (kit: 1.19.2),
# numba 0.68 (kit: 0.48), pytorch-lightning 1.8.6 (the kit uses Trainer(gpus=) and
# validation_epoch_end, both gone in 2.0), librosa 0.9.2 (hearbaseline calls
# librosa.filters.mel positionally, a TypeError from librosa 0.10 on), setuptools<81
# (dcase_util and lightning_lite import pkg_resources).
#
# Exit status: 0 built or already up to date; 1 a step failed (the message says which);
# 2 bad usage or unsupported Python.
set -Eeuo pipefail

say() { printf '==> %s\n' "$*"; }
die() { printf 'make-reference-env: ERROR: %s\n' "$*" >&2; exit 1; }
trap 'rc=$?; printf "make-reference-env: ERROR: command failed (exit %s) at line %s: %s\n" "$rc" "$LINENO" "$BASH_COMMAND" >&2; exit 1' ERR

root=$(cd "$(dirname "$0")/.." && pwd)
env_dir=${REFENV:-$root/.refenv}
python=${PYTHON:-python3}
torch_spec=${TORCH_SPEC:-torch==2.13.0}
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "make-reference-env: unknown option $arg (use --force)" >&2; exit 2 ;;
  esac
done

start=$(date +%s)
export PIP_DISABLE_PIP_VERSION_CHECK=1

# --- interpreter -----------------------------------------------------------------------------
if ! command -v "$python" >/dev/null 2>&1; then
  echo "make-reference-env: $python not found (set PYTHON)" >&2; exit 2
fi
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$pyver" != "3.11" ]; then
  echo "make-reference-env: Python 3.11 is needed ($python is $pyver): tensorflow-cpu 2.15.1" \
       "and this pinned set exist for 3.11" >&2
  exit 2
fi
say "reference env: $env_dir (Python $pyver from $(command -v "$python"), $torch_spec)"

# --- the recipe ------------------------------------------------------------------------------
# Top-level requirements: docs/hear-protocol.md §8, plus librosa 0.9 for hearbaseline.
requirements=(
  "numpy==1.26.4"
  "$torch_spec"
  "pytorch-lightning==1.8.6"
  "tensorflow-cpu==2.15.1"
  "sed_eval==0.2.1"
  "dcase_util==0.2.20"
  "intervaltree==3.2.1"
  "more-itertools==11.2.1"
  "pandas==2.3.3"
  "scikit-learn==1.9.1"
  "soundfile==0.14.0"
  "torchinfo==1.8.0"
  "python-slugify==9.2.0"
  "click==8.5.1"
  "tqdm==4.70.1"
  "pynvml==13.0.1"
  "setuptools==80.10.2"
  "librosa==0.9.2"
  "numba==0.68.1"
  "llvmlite==0.50.0"
  "resampy==0.4.3"
)
# Installed without their declared dependencies (numpy==1.19.2, numba==0.48, spotty,
# speechbrain, transformers, torchcrepe, torchopenl3: none installable or needed here).
kit=("heareval==2021.1.3" "hearbaseline==2021.1.1")
# Every transitive version, frozen from a working build (2026-11-26), so a rebuild resolves
# to the same set. torch is left to TORCH_SPEC.
read -r -d '' constraints <<'EOF' || true
absl-py==2.5.1
aiohappyeyeballs==2.7.1
aiohttp==3.14.5
aiosignal==1.4.0
astunparse==1.6.3
attrs==26.1.0
audioread==3.1.0
certifi==2026.10.19.post1
cffi==2.1.1
charset-normalizer==3.5.3
click==8.5.1
cloudpickle==3.1.3
contourpy==1.3.3
cryptography==50.0.2
cycler==0.12.1
dcase_util==0.2.20
decorator==5.3.1
filelock==4.3.1
flatbuffers==25.12.19
fonttools==4.68.0
frozenlist==1.8.0
fsspec==2026.9.0
future==1.0.0
gast==0.7.0
google-auth==2.63.0
google-auth-oauthlib==1.5.0
google-pasta==0.2.0
grpcio==1.85.3
h5py==3.16.0
idna==3.20
intervaltree==3.2.1
Jinja2==3.1.6
joblib==1.6.0
keras==2.15.0
kiwisolver==1.5.1
libclang==18.1.1
librosa==0.9.2
lightning-utilities==0.15.3
llvmlite==0.50.0
Markdown==3.11.3
MarkupSafe==3.0.4
matplotlib==3.11.2
ml-dtypes==0.3.2
more-itertools==11.2.1
mpmath==1.3.0
multidict==7.2.1
narwhals==2.29.0
networkx==3.6.1
numba==0.68.1
numpy==1.26.4
nvidia-ml-py==13.615.71
oauthlib==4.0.1
opt_einsum==3.4.0
packaging==26.4
pandas==2.3.3
pillow==13.0.0
platformdirs==4.14.8
pooch==1.9.0
propcache==0.5.4
protobuf==4.25.9
pyasn1==0.6.5
pyasn1_modules==0.4.2
pycparser==3.12
pydot-ng==2.0.0
pynvml==13.0.1
pyparsing==3.3.3
python-dateutil==4.0.0
python-magic==0.4.27
python-slugify==9.2.0
pytorch-lightning==1.8.6
pytz==2026.6
PyYAML==6.0.4
requests==2.34.2
requests-oauthlib==2.0.0
resampy==0.4.3
scikit-learn==1.9.1
scipy==1.17.1
sed_eval==0.2.1
six==1.17.0
sortedcontainers==2.4.0
soundfile==0.14.0
sympy==1.14.0
tensorboard==2.15.2
tensorboard-data-server==0.7.2
tensorboardX==2.6.5
tensorflow-cpu==2.15.1
tensorflow-estimator==2.15.0
tensorflow-io-gcs-filesystem==0.37.1
termcolor==3.3.0
text-unidecode==1.3
threadpoolctl==3.8.0
torchinfo==1.8.0
torchmetrics==1.9.0
tqdm==4.70.1
typing_extensions==4.16.0
tzdata==2026.6
urllib3==2.8.0
validators==0.36.0
Werkzeug==3.1.9
wrapt==1.14.2
yarl==1.25.1
EOF
# The frozen set is torch 2.13's. Another TORCH_SPEC brings its own exact pins of what torch
# needs (torch 2.6.0 requires sympy==1.13.1), so those two are left to torch's resolver.
if [ "$torch_spec" != "torch==2.13.0" ]; then
  constraints=$(printf '%s\n' "$constraints" | grep -v -e '^sympy==' -e '^mpmath==')
fi

recipe_hash=$(printf '%s\n' "$pyver" "${requirements[@]}" "${kit[@]}" "$constraints" \
  | sha256sum | cut -c1-16)
marker="$env_dir/.hear-reference-env"

smoke_test() {
  TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 TF_CPP_MIN_LOG_LEVEL=3 "$env_dir/bin/python" -W ignore - <<'PY'
import importlib.metadata as md
import heareval.embeddings.task_embeddings  # noqa: F401  (imports tensorflow)
import heareval.predictions.task_predictions  # noqa: F401  (imports pytorch_lightning)
import heareval.score  # noqa: F401  (imports sed_eval, dcase_util)
import hearbaseline.naive as naive
import librosa
import torch

model = naive.load_model()
emb = naive.get_scene_embeddings(torch.zeros(2, 44100), model)
assert tuple(emb.shape) == (2, 4096) and emb.dtype == torch.float32, emb.shape
assert tuple(int(x) for x in librosa.__version__.split(".")[:2]) < (0, 10), librosa.__version__
names = ["heareval", "hearbaseline", "torch", "pytorch-lightning", "tensorflow-cpu", "numpy",
         "pandas", "scikit-learn", "scipy", "sed_eval", "dcase_util", "librosa", "numba"]
print("    " + " ".join(f"{n}=={md.version(n)}" for n in names))
PY
}

if [ "$force" = 0 ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$recipe_hash" ]; then
  say "recipe unchanged ($recipe_hash); checking that the kit still imports and runs"
  if smoke_test; then
    say "up to date: $(du -sh "$env_dir" | cut -f1) in $env_dir ($(( $(date +%s) - start )) s)"
    exit 0
  fi
  say "smoke test failed; rebuilding"
  force=1
fi

# --- (re)create the virtualenv ---------------------------------------------------------------
if [ -e "$env_dir" ]; then
  if [ "$force" = 1 ] || [ ! -f "$marker" ] || [ "$(cat "$marker")" != "$recipe_hash" ]; then
    [ -f "$env_dir/pyvenv.cfg" ] || die "$env_dir exists and is not a virtualenv; not deleting it"
    say "removing the old environment ($env_dir)"
    rm -rf -- "$env_dir"
  fi
fi
if [ "$env_dir" = "$root/.refenv" ] && [ -d "$root/.git" ]; then
  exclude="$root/.git/info/exclude"
  mkdir -p "$(dirname "$exclude")"
  if ! grep -qxF '/.refenv/' "$exclude" 2>/dev/null; then
    say "adding /.refenv/ to .git/info/exclude"
    echo '/.refenv/' >> "$exclude"
  fi
fi
say "creating the virtualenv"
"$python" -m venv "$env_dir"
constraints_file="$env_dir/reference-constraints.txt"
printf '%s\n' "$constraints" > "$constraints_file"

say "pip install (${#requirements[@]} pinned packages, constraints: $constraints_file)"
printf '    %s\n' "${requirements[@]}"
"$env_dir/bin/python" -m pip install --no-input -c "$constraints_file" "${requirements[@]}" \
  || die "pip install of the pinned set failed (see pip's message above)"

say "pip install --no-deps ${kit[*]}"
"$env_dir/bin/python" -m pip install --no-input --no-deps "${kit[@]}" \
  || die "pip install --no-deps ${kit[*]} failed"

torch_version=$("$env_dir/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))')
case "$torch_version" in
  *+cpu) ;;
  *) say "WARNING: torch $torch_version is not a CPU build; expect several GB of CUDA wheels" ;;
esac

say "smoke test: import the kit (tensorflow, pytorch-lightning, sed_eval), run hearbaseline.naive"
smoke_test || die "the environment was built but the smoke test failed (see above)"

"$env_dir/bin/python" -m pip freeze > "$env_dir/reference-freeze.txt"
echo "$recipe_hash" > "$marker"
say "done: $(du -sh "$env_dir" | cut -f1) in $env_dir, $(( $(date +%s) - start )) s"
say "run the kit with: TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 $env_dir/bin/python -m heareval.predictions.runner ..."
