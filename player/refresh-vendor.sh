#!/bin/sh
# refresh-vendor.sh copies the browser libraries pinned in package.json
# (exact versions, locked in package-lock.json) into static/vendor/, where
# go:embed picks them up. The copies are committed, so building Lectern
# needs no Node; run this (or `npm run vendor`) only after changing a
# version in package.json:
#
#   cd player && npm ci --ignore-scripts && ./refresh-vendor.sh
set -eu
cd "$(dirname "$0")"
[ -d node_modules ] || npm ci --ignore-scripts --no-audit --no-fund
out=static/vendor
mkdir -p "$out"
cp node_modules/hls.js/dist/hls.min.js "$out/hls.min.js"
cp node_modules/hls.js/LICENSE "$out/hls.js.LICENSE"
cp node_modules/tus-js-client/dist/tus.min.js "$out/tus.min.js"
cp node_modules/tus-js-client/LICENSE "$out/tus-js-client.LICENSE"
for p in hls.js tus-js-client; do
	printf '%s %s\n' "$p" "$(node -p "require('./node_modules/$p/package.json').version")"
done > "$out/VERSIONS"
cat "$out/VERSIONS"
