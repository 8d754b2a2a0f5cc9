#!/bin/sh
# bench/cores.sh — what this machine's cores give when all are busy at
# once, the fact behind every CPU-seconds figure in bench/chunks.sh.
#
# Runs the same single-threaded x264 encode (one thread for the decoder,
# the filters and the encoder: no waiting between threads) alone, then one
# copy per core at once, a few times each, and prints for every run the
# seconds ffmpeg spent (-benchmark: utime, stime, rtime). Two figures sum
# it up:
#   - CPU seconds per encode, all cores busy ÷ alone: how much more CPU
#     time the same work is charged when every core is busy (1.00 on a
#     machine whose cores share nothing; more where virtual CPUs share a
#     physical core, its caches or its power budget);
#   - throughput with all cores busy ÷ (cores × one alone): what the
#     machine delivers as a share of what its core count promises.
# A transcode that keeps every core busy (chunks on several workers) is
# charged the first factor on its CPU seconds, one that leaves a core idle
# part of the time (a single ffmpeg) only partly.
#
# Usage: bench/cores.sh [runs, default 3]
set -eu
runs=${1:-3}
ffmpeg=${LECTERN_FFMPEG:-ffmpeg}
cores=$(nproc)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$ffmpeg" -hide_banner -nostdin -v error -f lavfi -i testsrc2=size=1280x720:rate=30:duration=20 \
	-c:v libx264 -preset ultrafast -y "$tmp/clip.mp4"

# encode N: one encode, its -benchmark line into $tmp/bench.N.
encode() {
	"$ffmpeg" -hide_banner -nostdin -benchmark -threads 1 -i "$tmp/clip.mp4" -filter_threads 1 \
		-c:v libx264 -preset veryfast -threads 1 -f null - 2>&1 | grep '^bench: utime' >"$tmp/bench.$1"
}

# field NAME FILE: seconds of utime, stime or rtime in a -benchmark line.
field() { sed -n "s/.*$1=\([0-9.]*\)s.*/\1/p" "$2"; }

alone_cpu=0 alone_wall=0 busy_cpu=0 busy_wall=0
for r in $(seq "$runs"); do
	encode a
	u=$(field utime "$tmp/bench.a") s=$(field stime "$tmp/bench.a") w=$(field rtime "$tmp/bench.a")
	echo "run $r, alone:          CPU $(echo "$u + $s" | bc) s, wall $w s"
	alone_cpu=$(echo "$alone_cpu + $u + $s" | bc) alone_wall=$(echo "$alone_wall + $w" | bc)

	for i in $(seq "$cores"); do encode "$i" & done
	wait
	slowest=0
	for i in $(seq "$cores"); do
		u=$(field utime "$tmp/bench.$i") s=$(field stime "$tmp/bench.$i") w=$(field rtime "$tmp/bench.$i")
		echo "run $r, $cores at once, #$i: CPU $(echo "$u + $s" | bc) s, wall $w s"
		busy_cpu=$(echo "$busy_cpu + $u + $s" | bc)
		slowest=$(echo "if ($w > $slowest) $w else $slowest" | bc)
	done
	busy_wall=$(echo "$busy_wall + $slowest" | bc)
done

echo
echo "$cores cores; $runs runs of each:"
echo "CPU seconds per encode, all cores busy ÷ alone: $(echo "scale=2; ($busy_cpu / $cores) / $alone_cpu" | bc)"
echo "throughput, all cores busy ÷ ($cores × one alone): $(echo "scale=2; $alone_wall / $busy_wall" | bc)"
