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
# for 20 s after a 2 s warm-up.
#
# Usage: bench/heartbeat.sh [flags for bench/heartbeat, e.g. -students 500 -duration 30s]
# The program's -h lists them, including -url to drive a Lectern already
# running on the same database. Figures depend on the machine: note its
# cores and whether it was otherwise idle.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/heartbeat" ./bench/heartbeat
"$tmp/heartbeat" -database-url "sqlite:$tmp/bench.db" "$@"
if [ -n "${LECTERN_BENCH_POSTGRES_URL:-}" ]; then
	"$tmp/heartbeat" -postgres-server "$LECTERN_BENCH_POSTGRES_URL" "$@"
fi
