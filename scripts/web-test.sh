#!/usr/bin/env bash
# The web client's tests: unit tests (validators and records against the fixtures shared
# with fiche-core, the generated types up to date) and end-to-end tests in Debian's Chromium
# against the real fiche-server and `fiche` binaries. Installs what it needs on a fresh
# Debian machine: chromium (apt) when missing, the pinned npm packages of web/ (npm ci).
#
#   FICHE_SERVER / FICHE_CLI   the binaries (default: $CARGO_TARGET_DIR/debug/…, built here
#                              when missing)
#   FICHE_WEB_CLIENTS          clients seeded for the list figures (default 10000)
#
# Screenshots go to web/test-results/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export FICHE_SERVER="${FICHE_SERVER:-$CARGO_TARGET_DIR/debug/fiche-server}"
export FICHE_CLI="${FICHE_CLI:-$CARGO_TARGET_DIR/debug/fiche}"

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (apt)"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

echo "== npm ci (web/)"
(cd web && npm ci --no-audit --no-fund --loglevel=error)

echo "== build the web client (types checked against the schema, tsc, vite)"
(cd web && npm run build --silent)

if [ ! -x "$FICHE_SERVER" ] || [ ! -x "$FICHE_CLI" ]; then
  echo "== cargo build (fiche-server, fiche)"
  FICHE_WEB_BUILD=0 cargo build -q -p fiche-sync-server -p fiche-cli
fi

echo "== unit tests (shared fixtures)"
(cd web && npm run --silent test:unit)

echo "== end-to-end tests (Chromium, fiche-server $FICHE_SERVER)"
(cd web && node --test --test-concurrency=1 --test-timeout=600000 test/e2e/*.test.mjs)
