#!/usr/bin/env bash
# Sets up and builds gotit (scripts/setup.sh), then starts the reactor
# server. Arguments go to gotit-reactor: scripts/run.sh --port 3000 -v
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build >&2
exec build/gotit-reactor "$@"
