#!/bin/sh
# bench/viewers.sh — RELIABILITY 17: hundreds of students watching one
# lesson at once, as hls.js loads it, against a real "lectern serve".
#
# Builds ./bench/viewers and runs it. By default 500 viewers join over
# 30 s and watch a transcoded 3-minute 720p lesson for 30 minutes; the
# program prints the segment latency percentiles, the stalls, the start-up
# times and the server's heap, resident memory and goroutines before,
# during and after. Needs ffmpeg and ffprobe on PATH (or -ffmpeg/-ffprobe).
#
# Usage: bench/viewers.sh [flags, e.g. -viewers 200 -duration 5m]
# (-h lists them). `go test ./bench/viewers` runs the short variant CI
# runs (TestAcceptance17_ConcurrentViewers). Figures depend on the
# machine: note its cores and whether it was otherwise idle.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/viewers" ./bench/viewers
go build -o "$tmp/lectern" ./cmd/lectern
"$tmp/viewers" -lectern "$tmp/lectern" "$@"
