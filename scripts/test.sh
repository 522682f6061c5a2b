#!/usr/bin/env bash
# The test command: installs the real tools the conformance tests run against (see
# install-tools.sh), builds the release demo, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-tools.sh
# The release demo, which examples/tests/demo_idle.rs measures idle (its CPU time is the
# product's, not a debug build's).
cargo build --release -p examples --bin demo
cargo test --workspace "$@"
