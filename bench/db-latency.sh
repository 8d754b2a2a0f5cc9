#!/bin/sh
# bench/db-latency.sh — RELIABILITY 16 for longer: 500 ms ± 200 ms of
# latency on Lectern's links to PostgreSQL and Redis (toxiproxy, in the
# test process) while ten API clients call it and a transcode runs through
# it. Reports each kind of request's p99 without and with the latency, the
# budget it must stay within (its normal p99 plus the latency its round
# trips can gain), and whether the transcode's task kept its lease.
#
# It runs TestAcceptance16_DatabaseAndRedisLatency in ./cmd/lectern, whose
# CI run keeps the latency on for 25 s, with the latency on for as long as
# -for says (default 5m).
#
# Usage: bench/db-latency.sh [-for 10m]
# Needs what the test needs (see Tests in the README): ffmpeg on PATH and
#   LECTERN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
#   LECTERN_TEST_REDIS_URL=redis://127.0.0.1:6379/0
set -eu
cd "$(dirname "$0")/.."
duration=5m
while [ $# -gt 0 ]; do
	case "$1" in
	-for) duration=$2; shift 2 ;;
	-for=*) duration=${1#-for=}; shift ;;
	*) echo "usage: bench/db-latency.sh [-for DURATION]" >&2; exit 2 ;;
	esac
done
: "${LECTERN_TEST_POSTGRES_URL:?set LECTERN_TEST_POSTGRES_URL (see Tests in the README)}"
: "${LECTERN_TEST_REDIS_URL:?set LECTERN_TEST_REDIS_URL (see Tests in the README)}"
exec go test ./cmd/lectern -run '^TestAcceptance16_DatabaseAndRedisLatency$' -count=1 -v -timeout 0 \
	-args -acceptance16.latency-for="$duration"
