#!/bin/sh
# bench/chunks.sh — issue 13's measurement: how soon a long lecture is
# playable and ready, chunked across workers, against today's
# single-process ladder and one ffmpeg process per rung.
#
# Generates a 1080p30 lecture (default 10 minutes): slides that change
# every 20 s with a moving talking-head corner, and speech (espeak-ng,
# looped, over faint room noise; pink noise in syllable-rate bursts when
# espeak-ng is missing). Then:
#   1. BenchmarkLadder/ProcessPerRung in ./transcode on it, once: one
#      ffmpeg per rung, one after another (the wall-time comparison);
#   2. TestBenchChunkedLecture in ./cmd/lectern on real processes in
#      scaled mode (lectern api + N lectern worker on PostgreSQL, Redis,
#      MinIO, as the cmd/lectern tests find them: the LECTERN_TEST_*
#      variables, README "Tests"): the single-process
#      ladder (LECTERN_CHUNK_SECONDS=0) on one worker, then the chunked
#      transcode on one and on two workers. It prints per-run timings,
#      per-chunk times, and a Markdown table for the README.
# bench/README.md, "Chunked transcoding", explains every column.
#
# Usage: bench/chunks.sh [minutes, default 10]
# Environment: LECTERN_BENCH_CHUNK_SECONDS (default 32, the product's
# default), LECTERN_BENCH_RUNS (default "single,chunked1,chunked2"),
# LECTERN_BENCH_PER_RUNG=0 skips step 1, LECTERN_BENCH_ROUNDS=n repeats
# steps 1 and 2 n times (each round's ratios against its own per-rung
# run; the rows of every round at the end), LECTERN_BENCH_UNTIL=playable
# ends each run at first playable (a quick look at a long lecture's start), LECTERN_BENCH_KEEP=dir keeps the
# source and the report (chunks-report.md) there, and reuses the source.
set -eu
cd "$(dirname "$0")/.."
min=${1:-10}
secs=$((min * 60))
ffmpeg=${LECTERN_FFMPEG:-ffmpeg}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dir=${LECTERN_BENCH_KEEP:-$tmp}
mkdir -p "$dir"
src="$dir/lecture-${min}min.mp4"

if [ ! -s "$src" ]; then
	echo "generating a ${min}-minute 1080p lecture in $src" >&2
	video="color=c=0xf4f1e8:size=1920x1080:rate=30:duration=$secs,drawtext=text='Slide %{eif\\:floor(t/20)+1\\:d}':fontsize=96:x=120:y=100:fontcolor=0x202020,drawbox=x=120:y=260:w=1100:h=12:color=0x3060a0:t=fill,drawbox=x=120:y=340:w=900:h=10:color=0x808080:t=fill,drawbox=x=120:y=400:w=1000:h=10:color=0x808080:t=fill,drawbox=x=120:y=460:w='mod(floor(t/20)*97,700)+200':h=10:color=0x808080:t=fill[bg];testsrc2=size=480x270:rate=30:duration=$secs[cam];[bg][cam]overlay=x=1400:y=780[v]"
	if command -v espeak-ng >/dev/null 2>&1; then
		espeak-ng -s 150 -w "$tmp/speech.wav" "Today we look at how a video server turns one recording into a ladder of renditions. \
The recording is cut into pieces on segment boundaries. Each piece is encoded at every resolution, and the pieces are \
stitched into one playlist. A student can start watching as soon as the opening piece and the sound are stored. \
Let us see why the keyframes must fall on every segment boundary, and what happens to the timestamps at each join."
		"$ffmpeg" -hide_banner -nostdin -v error -stream_loop -1 -i "$tmp/speech.wav" \
			-filter_complex "$video;[0:a]aresample=48000,aformat=channel_layouts=mono,atrim=duration=$secs[sp];anoisesrc=color=pink:amplitude=0.01:duration=$secs:sample_rate=48000[room];[sp][room]amix=inputs=2:duration=first:normalize=0[a]" \
			-map '[v]' -map '[a]' -c:v libx264 -preset ultrafast -crf 20 -c:a aac -b:a 128k -t "$secs" -y "$src"
	else
		"$ffmpeg" -hide_banner -nostdin -v error \
			-filter_complex "$video;anoisesrc=color=pink:amplitude=0.3:duration=$secs:sample_rate=48000,volume='0.2+0.8*abs(sin(2*PI*2.5*t))':eval=frame[a]" \
			-map '[v]' -map '[a]' -c:v libx264 -preset ultrafast -crf 20 -c:a aac -b:a 128k -y "$src"
	fi
fi

# Each round measures per-rung and the product's runs back to back: this
# machine's speed drifts by several per cent over minutes (bench/cores.sh),
# so each round's ratios compare runs made minutes apart, not hours.
rounds=${LECTERN_BENCH_ROUNDS:-1}
summary=""
for round in $(seq "$rounds"); do
	[ "$rounds" -gt 1 ] && echo "round $round of $rounds" >&2
	per_rung=""
	if [ "${LECTERN_BENCH_PER_RUNG:-1}" != 0 ]; then
		echo "one ffmpeg per rung (BenchmarkLadder/ProcessPerRung) on $src" >&2
		out=$(LECTERN_BENCH_SOURCE="$src" go test -count 1 -timeout 3h -run '^$' \
			-bench '^BenchmarkLadder$/^ProcessPerRung$' -benchtime 1x ./transcode)
		echo "$out" | grep -E '^Benchmark' >&2 || { echo "$out" >&2; exit 1; }
		per_rung=$(echo "$out" | awk '/^BenchmarkLadder\/ProcessPerRung/ { for (i = 1; i < NF; i++) if ($(i+1) == "ns/op") printf "%.1f", $i / 1e9 }')
	fi

	echo "scaled-mode runs (TestBenchChunkedLecture) on $src" >&2
	report="$dir/chunks-report.md"
	[ "$rounds" -gt 1 ] && report="$dir/chunks-report-$round.md"
	rm -f "$report"
	LECTERN_BENCH_SOURCE="$src" LECTERN_BENCH_PER_RUNG_SECONDS="$per_rung" LECTERN_BENCH_REPORT="$report" \
		go test -count 1 -timeout 4h -run '^TestBenchChunkedLecture$' -v ./cmd/lectern 2>&1 |
		grep --line-buffered -E 'BENCH|^ *--- |^(ok|FAIL|panic)' || true
	if [ -s "$report" ]; then
		cat "$report"
		# (A command substitution drops trailing newlines: the line breaks are literal.)
		summary="$summary
round $round:
$(grep -E '^\| (one ffmpeg|single|chunked)' "$report" || true)"
	fi
done
if [ "$rounds" -gt 1 ]; then
	printf '\nThe rounds, one after another (per-rung, then the product'"'"'s runs):\n%s\n' "$summary"
fi
