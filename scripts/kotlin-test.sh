#!/usr/bin/env bash
# The walk-in flow through the generated Kotlin bindings, compiled with kotlinc (npm package
# kotlin-compiler, pinned in tests/kotlin/package.json; it bundles kotlinx-coroutines) against
# Debian's JNA, run on the machine's Java 17 with the real fiche-server.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
if [ ! -f /usr/share/java/jna.jar ]; then
    apt-get install -y -qq --no-install-recommends libjna-java >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends libjna-java >/dev/null; }
fi
npm ci --prefix tests/kotlin --no-audit --no-fund >/dev/null
kotlin=tests/kotlin/node_modules/kotlin-compiler
out="$target/bindings/kotlin"
scripts/bindings.sh kotlin "$out"
classpath="/usr/share/java/jna.jar:$kotlin/lib/kotlinx-coroutines-core-jvm.jar"
"$kotlin/bin/kotlinc" -nowarn -cp "$classpath" -include-runtime -d "$target/walk-in.jar" \
    tests/kotlin/WalkIn.kt "$out/uniffi/fiche_mobile/fiche_mobile.kt"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
java -Djna.library.path="$target/debug" -cp "$target/walk-in.jar:$classpath" WalkInKt \
    "$target/debug/fiche-server" "$work"
