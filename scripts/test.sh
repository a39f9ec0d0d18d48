#!/usr/bin/env bash
# Runs every check and test of the workspace. Needs only the machine's Rust toolchain for now;
# later steps (npm peers, generated bindings) install what they need here.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# --all-targets also runs the criterion benchmarks once each, in test mode, on small data.
FICHE_BENCH_QUICK=1 cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
