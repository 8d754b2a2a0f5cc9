#!/bin/sh
# refresh.sh copies axe-core's browser build from the npm registry into
# this directory, for the accessibility tests (browsertest/a11y_test.go).
# The version is pinned exactly here and written to VERSION; the copy is
# committed, so the tests need no Node or network. To move to a new
# version, change AXE_VERSION (see `npm view axe-core version`), then:
#
#   go generate ./browsertest     # or: sh browsertest/testdata/axe/refresh.sh
#   git add browsertest/testdata/axe
#
# npm pack checks the tarball against the registry's integrity hash.
set -eu
AXE_VERSION=4.14.1
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null && tar -xzf "axe-core-$AXE_VERSION.tgz")
cp "$tmp/package/axe.min.js" axe.min.js
cp "$tmp/package/LICENSE" LICENSE
got=$(node -p "require('$tmp/package/package.json').version")
[ "$got" = "$AXE_VERSION" ] || { echo "npm gave axe-core $got, want $AXE_VERSION" >&2; exit 1; }
printf 'axe-core %s (npm), license %s, file axe.min.js\n' "$got" "$(node -p "require('$tmp/package/package.json').license")" > VERSION
cat VERSION
