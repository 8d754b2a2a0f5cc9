#!/bin/sh
# bench/transcode.sh — how fast Lectern transcodes a lesson, and what the
# one-process ladder saves.
#
# Generates a 60 s 1080p30 clip with sound (lavfi testsrc2 + sine, encoded
# quickly; it is only the input), then runs BenchmarkLadder in ./transcode
# once:
#   OneProcess      the product's path (Pipeline.Encode): one ffmpeg, one
#                   decode, split and scaled into 1080p/720p/480p/360p plus
#                   the AAC rendition
#   ProcessPerRung  the same ladder with one ffmpeg process per rendition,
#                   one after another (built for comparison only)
# Each reports ns/op and wall/src: wall time divided by the 60 s source
# duration (below 1 is faster than real time).
#
# Usage: bench/transcode.sh [extra go test flags, e.g. -count 3]
# Needs go, ffmpeg and ffprobe on PATH (or LECTERN_FFMPEG/LECTERN_FFPROBE).
# Figures depend on the machine: run on an idle one and note its cores.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${LECTERN_FFMPEG:-ffmpeg}" -hide_banner -nostdin -v error \
	-f lavfi -i testsrc2=size=1920x1080:rate=30:duration=60 \
	-f lavfi -i sine=frequency=440:duration=60 \
	-c:v libx264 -preset ultrafast -crf 18 -c:a aac -shortest -y "$tmp/source.mp4"
LECTERN_BENCH_SOURCE="$tmp/source.mp4" \
	go test -run '^$' -bench '^BenchmarkLadder$' -benchtime 1x -count 1 "$@" ./transcode
