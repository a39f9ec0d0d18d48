#!/usr/bin/env bash
# Runs every check and test of the workspace. Needs the machine's Rust toolchain and Node.js;
# installs the official JavaScript automerge-repo peers (pinned in tests/js/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The JavaScript automerge-repo peers that the interop tests run against.
npm ci --prefix tests/js --no-audit --no-fund
# End-to-end tests start the real binaries: build them first.
cargo build --workspace --bins --locked
# The mobile walk-in flow through the generated Python bindings, against the real server.
target="${CARGO_TARGET_DIR:-target}"
scripts/bindings.sh python "$target/bindings/python"
FICHE_PY_BINDINGS="$target/bindings/python" FICHE_SERVER_BIN="$target/debug/fiche-server" \
    python3 -m unittest discover -s tests/python -v
# Swift: no Swift compiler here; the generated C header must compile (clang, from Debian).
if ! command -v clang >/dev/null; then
    apt-get install -y -qq --no-install-recommends clang >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends clang >/dev/null; }
fi
scripts/bindings.sh swift "$target/bindings/swift"
clang -fsyntax-only -Wall -Werror -Wno-pragma-once-outside-header -x c \
    "$target/bindings/swift/fiche_mobileFFI.h"
# Kotlin: the same walk-in flow compiled with kotlinc and run on the JVM (installs kotlinc
# from npm and JNA from Debian).
scripts/kotlin-test.sh
# The web client: unit tests on the fixtures shared with fiche-core, and end-to-end tests in
# Debian's Chromium (installed when missing) against the real server and devices. 1,000
# seeded clients here; the 10,000-client figures are a separate run (README).
FICHE_WEB_CLIENTS="${FICHE_WEB_CLIENTS:-1000}" FICHE_SERVER="$target/debug/fiche-server" \
    FICHE_CLI="$target/debug/fiche" scripts/web-test.sh
# --all-targets also runs the criterion benchmarks once each, in test mode, on small data.
FICHE_BENCH_QUICK=1 cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
# Every decoder of untrusted bytes fuzzed briefly (libFuzzer through cargo-fuzz, installed when
# missing), after replaying the inputs kept in core/fuzz/regressions.
FICHE_FUZZ_SECONDS="${FICHE_FUZZ_SECONDS:-30}" scripts/fuzz.sh
# The benchmarks against the reference JavaScript server, small, so that they keep working
# (the full run is in the README and bench/RESULTS.md). The plots need a font (Debian's).
if [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
    apt-get install -y -qq --no-install-recommends fonts-dejavu-core >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-dejavu-core >/dev/null; }
fi
cargo run --locked -q -p fiche-bench -- --quick --records 200 --devices 30 --stored 500 \
    --max-rate 200 --plots "$target/bench-quick" --report "$target/bench-quick/RESULTS.md"
cargo run --locked -q -p fiche-tests --bin blob-bench -- 1000000
