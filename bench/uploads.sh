#!/bin/sh
# bench/uploads.sh — RELIABILITY 19: 20 teachers uploading 1 GiB each at
# once to a real "lectern serve", with transcodes limited to 2.
#
# Builds ./bench/uploads and runs it. Each recording is a real clip
# followed by an MP4 free box of zeros, generated as it is sent, so the
# worker really transcodes all 20. The program prints how long the uploads
# took, the server's heap and resident memory idle and while they ran, the
# jobs' states once the last upload was answered, and the most transcodes
# seen running at once (jobs API and ffmpeg processes). It writes about
# 21 GiB to a temporary directory (TMPDIR) and removes it.
#
# Usage: bench/uploads.sh [flags, e.g. -teachers 10 -size 256MiB -limit 4]
# (-h lists them). `go test ./bench/uploads` runs the short variant CI
# runs (TestAcceptance19_ConcurrentUploads, 32 MiB each).
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/uploads" ./bench/uploads
go build -o "$tmp/lectern" ./cmd/lectern
"$tmp/uploads" -lectern "$tmp/lectern" "$@"
