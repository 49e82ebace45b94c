#!/usr/bin/env bash
# Sets up this checkout: a virtual environment in .venv with hearbot installed (editable).
#   bash scripts/setup.sh         runtime: the full set (".[verify]": torch, numpy, ...)
#   bash scripts/setup.sh --dev   + test tools (pytest, zizmor, check-jsonschema, ...) and the
#                                 pinned npm packages the tests read (GitHub's OpenAPI spec)
# Safe to re-run: it only installs what is missing or out of date.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    *) echo "setup.sh: unknown option $arg (use --dev)" >&2; exit 2 ;;
  esac
done

# bubblewrap is the sandbox every submitted model runs in (docs/sandbox.md): verification
# fails closed without it. util-linux's setpriv drops root inside it.
if ! command -v bwrap >/dev/null 2>&1 || ! command -v setpriv >/dev/null 2>&1; then
  as_root=()
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)  # e.g. a GitHub-hosted runner
  fi
  if { [ "$(id -u)" = 0 ] || [ "${#as_root[@]}" -gt 0 ]; } && command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: installing bubblewrap (Debian package) for the sandbox"
    "${as_root[@]}" apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq bubblewrap util-linux >/dev/null
  else
    echo "setup.sh: bubblewrap is needed for the sandbox and could not be installed here;" \
         "install it (Debian/Ubuntu: sudo apt-get install bubblewrap) and re-run" >&2
    exit 2
  fi
fi

# Chromium (Debian's package) is what tests/publish/test_site_browser.py reads the published
# leaderboard with, as a person would; only the test tools need it.
# (GitHub's Ubuntu runners come with a Chromium and Google Chrome already.)
if [ "$dev" = 1 ] && ! command -v chromium >/dev/null 2>&1 \
    && ! command -v chromium-browser >/dev/null 2>&1 \
    && ! command -v google-chrome >/dev/null 2>&1; then
  as_root=()
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  fi
  if { [ "$(id -u)" = 0 ] || [ "${#as_root[@]}" -gt 0 ]; } && command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: installing chromium (Debian package) for the browser test of the page"
    "${as_root[@]}" apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium >/dev/null
  else
    echo "setup.sh: chromium is needed for the page's browser test and could not be" \
         "installed here; install it (Debian: sudo apt-get install chromium) and re-run" >&2
    exit 2
  fi
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup.sh: Python 3.11 or newer is needed ($python is $("$python" --version 2>&1))" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [ "$dev" = 1 ]; then
  .venv/bin/python -m pip install -q -e ".[verify,dev]"
else
  .venv/bin/python -m pip install -q -e ".[verify]"
fi

if [ "$dev" = 1 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup.sh: npm is needed for the test data (GitHub's OpenAPI description);" \
         "install Node.js 20+ (Debian: apt-get install nodejs npm)" >&2
    exit 2
  fi
  if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.package-lock-copy.json; then
    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
    cp package-lock.json node_modules/.package-lock-copy.json
  fi
fi
echo "setup.sh: ready (.venv$( [ "$dev" = 1 ] && echo ', dev tools, node_modules'))"
