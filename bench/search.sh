#!/bin/sh
# bench/search.sh — how long a search takes in a school's worth of
# captions.
#
# Builds ./bench/search and runs it once on SQLite (a file in a temporary
# directory) and, when LECTERN_BENCH_POSTGRES_URL names a PostgreSQL server
# (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable), once
# on a scratch database created there and dropped afterwards. Each run
# fills the database with 1,000 lessons in 50 courses, an hour of captions
# each (900 cues of Zipf-distributed words) and a few comments, then times
# 100 rounds of searches for a student of 3 of the courses: a very common
# word, a common word, a rare word, a phrase, two words, no hit, and a
# common word in one course. Filling takes about a minute on SQLite and
# five on PostgreSQL on a 2-core machine.
#
# Usage: bench/search.sh [flags for bench/search, e.g. -lessons 200 -runs 50]
# The program's -h lists them. Figures depend on the machine: note its
# cores and whether it was otherwise idle; the CPU columns do not.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/search" ./bench/search
"$tmp/search" -database-url "sqlite:$tmp/bench.db" "$@"
if [ -n "${LECTERN_BENCH_POSTGRES_URL:-}" ]; then
	"$tmp/search" -postgres-server "$LECTERN_BENCH_POSTGRES_URL" "$@"
fi
