#!/usr/bin/env bash
# The test command: installs the real tools the conformance tests run against (see
# install-tools.sh), then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-tools.sh
cargo test --workspace "$@"
