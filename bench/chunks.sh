#!/bin/sh
# bench/chunks.sh — issue 13's measurement: how soon a long lecture is
# playable and ready, chunked across workers, against today's
# single-process ladder.
#
# Generates a 10-minute 1080p30 lecture (slides that change every 20 s
# with a talking-head corner, and speech-like audio: pink noise in
# syllable-rate bursts), then runs TestBenchChunkedLecture in
# ./cmd/lectern on real processes in scaled mode (PostgreSQL, Redis,
# MinIO, as the cmd/lectern tests find them: source /work/notes/testenv.sh
# or set LECTERN_TEST_*): the single-process ladder on one worker, then
# the chunked transcode on one and on two worker processes. Each prints
# a BENCH line: seconds from upload complete to first playable and to
# ready, CPU seconds of the workers and their ffmpeg, bytes published,
# and the chunk times.
#
# Usage: bench/chunks.sh [minutes, default 10]
set -eu
cd "$(dirname "$0")/.."
min=${1:-10}
secs=$((min * 60))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${LECTERN_FFMPEG:-ffmpeg}" -hide_banner -nostdin -v error \
	-filter_complex "color=c=0xf4f1e8:size=1920x1080:rate=30:duration=$secs,drawtext=text='Slide %{eif\\:floor(t/20)+1\\:d}':fontsize=96:x=120:y=100:fontcolor=0x202020,drawbox=x=120:y=260:w=1100:h=12:color=0x3060a0:t=fill,drawbox=x=120:y=340:w=900:h=10:color=0x808080:t=fill,drawbox=x=120:y=400:w=1000:h=10:color=0x808080:t=fill[bg];testsrc2=size=480x270:rate=30:duration=$secs[cam];[bg][cam]overlay=x=1400:y=780[v];anoisesrc=color=pink:amplitude=0.3:duration=$secs:sample_rate=48000,volume='0.2+0.8*abs(sin(2*PI*2.5*t))':eval=frame[a]" \
	-map '[v]' -map '[a]' -c:v libx264 -preset ultrafast -crf 20 -c:a aac -b:a 128k -y "$tmp/lecture.mp4"
LECTERN_BENCH_SOURCE="$tmp/lecture.mp4" \
	go test -count 1 -timeout 3h -run '^TestBenchChunkedLecture$' -v ./cmd/lectern 2>&1 | grep -E 'BENCH|^(---|ok|FAIL)'
