#!/usr/bin/env bash
# Sets up anogen on a fresh machine: installs what is missing, then `npm ci` (which builds the
# native addon against libtorch and compiles the TypeScript).
#
#   bash scripts/setup.sh            # from the repository root (or anywhere: it cds there)
#   bash scripts/setup.sh --dry-run  # print the commands it would run, run nothing
#
# - Node.js 20 or later and npm must already be installed (a clear message says how otherwise).
# - Debian 12/13 and Ubuntu: when libtorch is missing (no /usr/include/torch and LIBTORCH unset),
#   and for any of python3, make, g++ that is missing: `apt-get update && apt-get install -y
#   libtorch-dev python3 make g++` (only the missing ones), as root or through sudo.
# - Elsewhere: set LIBTORCH=/path/to/libtorch (the official C++ archive, cxx11 ABI) first.
# Idempotent: with everything installed it only runs `npm ci`.
set -euo pipefail

DRY_RUN=0
for arg in "$@"; do
  case "$arg" in
    --dry-run | -n) DRY_RUN=1 ;;
    -h | --help)
      sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup.sh: unknown option '$arg'; valid options: --dry-run, --help" >&2
      exit 2
      ;;
  esac
done

cd "$(dirname "$0")/.."

# Where libtorch's headers are looked for (the Debian package's place; overridable for tests).
TORCH_INCLUDE="${ANOGEN_SETUP_TORCH_INCLUDE:-/usr/include/torch}"

run() {
  if [ "$DRY_RUN" = 1 ]; then
    echo "$*"
  else
    echo "+ $*" >&2
    "$@"
  fi
}

die() {
  echo "setup.sh: $*" >&2
  exit 1
}

# 1. Node.js 20+ and npm (not installed by this script: distributions ship very different versions).
if ! command -v node > /dev/null 2>&1; then
  die "Node.js 20 or later is required and 'node' is not on PATH. Install it first, e.g. on Debian 13: apt-get install nodejs npm; on Debian 12 / Ubuntu: NodeSource's node_20.x (or newer) packages, or nvm (https://github.com/nvm-sh/nvm); then run this again."
fi
NODE_VERSION="$(node --version 2> /dev/null || true)"
NODE_MAJOR="$(printf '%s' "$NODE_VERSION" | sed -n 's/^v\([0-9][0-9]*\)\..*/\1/p')"
if [ -z "$NODE_MAJOR" ] || [ "$NODE_MAJOR" -lt 20 ]; then
  die "Node.js 20 or later is required; this 'node' is ${NODE_VERSION:-unknown} ($(command -v node)). Install Node 20+ (NodeSource's node_20.x packages or nvm) and run this again."
fi
if ! command -v npm > /dev/null 2>&1; then
  die "npm is not on PATH (Node.js ${NODE_VERSION} is); install npm (Debian/Ubuntu: apt-get install npm) and run this again."
fi

# 2. System packages: libtorch (unless LIBTORCH points to an unpacked archive) and the C++ build tools.
PACKAGES=()
if [ -z "${LIBTORCH:-}" ] && [ ! -d "$TORCH_INCLUDE" ]; then PACKAGES+=(libtorch-dev); fi
for tool in python3 make g++; do
  if ! command -v "$tool" > /dev/null 2>&1; then PACKAGES+=("$tool"); fi
done
if [ "${#PACKAGES[@]}" -gt 0 ]; then
  if ! command -v apt-get > /dev/null 2>&1; then
    die "missing: ${PACKAGES[*]}, and this is not a Debian/Ubuntu system (no apt-get). Install python3, make and g++ with your package manager, and for libtorch unpack the official libtorch C++ archive (https://pytorch.org, cxx11 ABI) and set LIBTORCH=/path/to/libtorch; then run this again."
  fi
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo > /dev/null 2>&1; then
      SUDO=(sudo)
    elif [ "$DRY_RUN" = 0 ]; then
      die "missing: ${PACKAGES[*]}; installing them needs root: run this script as root, or install sudo, or run: apt-get update && apt-get install -y ${PACKAGES[*]}"
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  run ${SUDO[@]+"${SUDO[@]}"} apt-get update
  run ${SUDO[@]+"${SUDO[@]}"} apt-get install -y "${PACKAGES[@]}"
fi

# 3. The npm dependencies, the native addon and the compiled TypeScript.
run npm ci
if [ "$DRY_RUN" = 0 ]; then
  echo "setup.sh: done. Try: npm run demo (or node bin/anogen.js demo); npm test runs the tests; README.md says how to put anogen on your PATH." >&2
fi
