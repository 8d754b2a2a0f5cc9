#!/bin/sh
# bench/redis-outage.sh — RELIABILITY 12 at full length: Redis away for 2
# minutes (a toxiproxy in the test process, first hanging, then refusing
# connections) while streaming and resumable uploads run through a real
# `lectern api` and `lectern worker`. Reports how late the slowest upload
# was answered, what the live-events stream, comments and /readyz answered
# meanwhile, and how long the transcodes took once Redis was back.
#
# It runs TestAcceptance12_RedisAwayDuringUploads in ./cmd/lectern, whose
# CI run keeps Redis away for at least 25 s, with Redis away for as long as
# -for says (default 2m).
#
# Usage: bench/redis-outage.sh [-for 5m]
# Needs what the test needs (see Tests in the README): ffmpeg on PATH and
#   LECTERN_TEST_POSTGRES_URL, LECTERN_TEST_REDIS_URL, LECTERN_TEST_S3_*
set -eu
cd "$(dirname "$0")/.."
duration=2m
while [ $# -gt 0 ]; do
	case "$1" in
	-for) duration=$2; shift 2 ;;
	-for=*) duration=${1#-for=}; shift ;;
	*) echo "usage: bench/redis-outage.sh [-for DURATION]" >&2; exit 2 ;;
	esac
done
: "${LECTERN_TEST_POSTGRES_URL:?set LECTERN_TEST_POSTGRES_URL (see Tests in the README)}"
: "${LECTERN_TEST_REDIS_URL:?set LECTERN_TEST_REDIS_URL (see Tests in the README)}"
: "${LECTERN_TEST_S3_ENDPOINT:?set LECTERN_TEST_S3_ENDPOINT (see Tests in the README)}"
exec go test ./cmd/lectern -run '^TestAcceptance12_RedisAwayDuringUploads$' -count=1 -v -timeout 0 \
	-args -acceptance12.outage="$duration"
