#!/usr/bin/env bash
# Fuzzes every decoder of untrusted bytes (core/fuzz/fuzz_targets: protocol frames, vCard, CSV,
# uploaded files, sync payloads) for FICHE_FUZZ_SECONDS each (default 30), after replaying the
# inputs kept in core/fuzz/regressions/TARGET (crashers found earlier, and seeds). Installs
# cargo-fuzz (pinned) when missing; RUSTC_BOOTSTRAP=1 lets the stable toolchain build libFuzzer's
# instrumentation. A crash leaves its input in core/fuzz/artifacts/TARGET: keep it under
# regressions/ with the fix. `scripts/fuzz.sh decode_message` runs one target.
set -euo pipefail
cd "$(dirname "$0")/../core/fuzz"
export RUSTC_BOOTSTRAP=1
seconds="${FICHE_FUZZ_SECONDS:-30}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz 0.13.2"
    cargo install --locked cargo-fuzz --version 0.13.2
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode_message vcard csv blob_sniff sync_payload)
# The largest input each target is given: a whole frame for the protocol decoder (the server's
# --max-message-bytes default), a few MiB elsewhere.
max_len() {
    case "$1" in
        decode_message) echo 33554432 ;;
        blob_sniff) echo 1048576 ;;
        *) echo 4194304 ;;
    esac
}
for t in "${targets[@]}"; do
    echo "== building $t"
    cargo fuzz build "$t" 2>&1 | tail -n 2
done
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "regressions/$t"
    echo "== $t: replaying $(find "regressions/$t" -type f | wc -l) kept inputs"
    if [ -n "$(ls -A "regressions/$t")" ]; then
        cargo fuzz run "$t" regressions/"$t"/* -- -runs=1 2>&1 | tail -n 2
    fi
    echo "== $t: fuzzing for ${seconds}s"
    cargo fuzz run "$t" "corpus/$t" "regressions/$t" -- \
        -max_total_time="$seconds" -max_len="$(max_len "$t")" -rss_limit_mb=4096 \
        -print_final_stats=1 2>&1 | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done|==[0-9]+==ERROR|SUMMARY)' || true
    # A crash makes cargo fuzz exit non-zero; the grep above hides that: look for its artifact.
    if [ -n "$(ls -A "artifacts/$t" 2>/dev/null)" ]; then
        echo "fuzz target $t crashed; inputs in core/fuzz/artifacts/$t" >&2
        exit 1
    fi
done
