#!/usr/bin/env bash
# Generates the uniffi bindings of fiche-mobile from the built library.
#   scripts/bindings.sh LANGUAGE OUT_DIR     (LANGUAGE: kotlin, swift or python)
# Builds the library (debug) first; puts the library beside Python bindings so they load.
# Generated files are not committed.
set -euo pipefail
cd "$(dirname "$0")/.."
lang="$1"
out="$2"
target="${CARGO_TARGET_DIR:-target}"
cargo build --locked -q -p fiche-mobile --lib
lib="$target/debug/libfiche_mobile.so"
mkdir -p "$out"
cargo run --locked -q -p fiche-mobile --bin uniffi-bindgen -- \
    generate --library "$lib" --language "$lang" --out-dir "$out" --no-format
if [ "$lang" = python ]; then
    cp "$lib" "$out/"
fi
