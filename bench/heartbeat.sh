#!/bin/sh
# bench/heartbeat.sh — how many progress heartbeats Lectern acknowledges
# per second, and how long students wait for the answer.
#
# Builds ./bench/heartbeat and runs it once on SQLite (a file in a temporary
# directory) and, when LECTERN_BENCH_POSTGRES_URL names a PostgreSQL server
# (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable), once
# on a scratch database created there and dropped afterwards. Each run
# prepares a course with an hour-long lesson and 200 students, starts a
# server in the same process on a loopback port and has every student send
# heartbeats over HTTP, the next as soon as the previous is acknowledged,
# for 20 s after a 2 s warm-up. It prints beats/s and the latency
# percentiles (p50, p90, p99, max) of each.
#
# With LECTERN_BENCH_BEFORE=<commit>, the program is also built from that
# commit (a temporary git worktree) and each database is measured with it
# right after the current tree: before and after in one run, under the
# same load on the machine.
#
# Usage: bench/heartbeat.sh [flags for bench/heartbeat, e.g. -students 500 -duration 30s]
# The program's -h lists them, including -url to drive a Lectern already
# running on the same database and -cpuprofile to see where time goes.
# Figures depend on the machine: the script prints its cores and load.
set -eu
cd "$(dirname "$0")/.."
before=${LECTERN_BENCH_BEFORE:-}
tmp=$(mktemp -d)
cleanup() {
	if [ -n "$before" ] && [ -d "$tmp/before-tree" ]; then
		git worktree remove --force "$tmp/before-tree" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
go build -o "$tmp/heartbeat" ./bench/heartbeat
if [ -n "$before" ]; then
	git worktree add -q --detach "$tmp/before-tree" "$before"
	(cd "$tmp/before-tree" && go build -o "$tmp/heartbeat-before" ./bench/heartbeat)
fi
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
"$tmp/heartbeat" -database-url "sqlite:$tmp/bench.db" "$@"
if [ -n "$before" ]; then
	echo "before ($before):"
	"$tmp/heartbeat-before" -database-url "sqlite:$tmp/bench-before.db" "$@"
fi
if [ -n "${LECTERN_BENCH_POSTGRES_URL:-}" ]; then
	"$tmp/heartbeat" -postgres-server "$LECTERN_BENCH_POSTGRES_URL" "$@"
	if [ -n "$before" ]; then
		echo "before ($before):"
		"$tmp/heartbeat-before" -postgres-server "$LECTERN_BENCH_POSTGRES_URL" "$@"
	fi
fi
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
