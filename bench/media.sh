#!/bin/sh
# bench/media.sh — segments per second from Lectern's /media route against
# nginx serving the same file on this machine, in one run, and Lectern's
# memory across a long run of many connections.
#
# Installs wrk and nginx from Debian's packages when they are missing, builds
# ./bench/media (a Lectern with one published lesson, SQLite and disk storage,
# in a temporary directory), starts nginx (sendfile on, no access log) on a
# loopback port serving the very file Lectern stores, then:
#   1. wrk against nginx, then against Lectern: requests/s of each, the ratio,
#      and the CPU time each server spent per request (from /proc: less
#      disturbed than the rate when the machine is shared);
#   2. wrk with LECTERN_BENCH_MEMORY_CONNECTIONS (500) connections for
#      LECTERN_BENCH_MEMORY_SECONDS (60) against Lectern, printing its
#      resident memory every 10 s and the requests/s.
# With LECTERN_BENCH_BEFORE=<commit>, the same program is also built from
# that commit (in a temporary git worktree) and step 1 runs against it too,
# in the same run: before and after under the same load on the machine
# (a976c28 is the build before the media work of issue 16; bench/README.md).
#
# Usage: bench/media.sh
# Settings (environment): LECTERN_BENCH_SIZE (segment bytes, 1270000),
# LECTERN_BENCH_CONNECTIONS (64), LECTERN_BENCH_SECONDS (15),
# LECTERN_BENCH_THREADS (2), LECTERN_BENCH_MEMORY_CONNECTIONS,
# LECTERN_BENCH_MEMORY_SECONDS, LECTERN_BENCH_BEFORE.
# Figures depend on the machine: the script prints its cores and load.
# To profile Lectern under this load, run ./bench/media with -pprof ADDR
# and wrk against the URL it prints (README, Benchmarks).
set -eu
cd "$(dirname "$0")/.."
size=${LECTERN_BENCH_SIZE:-1270000}
conns=${LECTERN_BENCH_CONNECTIONS:-64}
secs=${LECTERN_BENCH_SECONDS:-15}
threads=${LECTERN_BENCH_THREADS:-2}
memconns=${LECTERN_BENCH_MEMORY_CONNECTIONS:-500}
memsecs=${LECTERN_BENCH_MEMORY_SECONDS:-60}
before=${LECTERN_BENCH_BEFORE:-}

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
	echo "installing wrk and nginx-light from Debian's packages"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk nginx-light >/dev/null
fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "$before" ] && [ -d "$tmp/before-tree" ]; then
		git worktree remove --force "$tmp/before-tree" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

go build -o "$tmp/media" ./bench/media
if [ -n "$before" ]; then
	git worktree add -q --detach "$tmp/before-tree" "$before"
	rm -rf "$tmp/before-tree/bench/media"
	cp -r bench/media "$tmp/before-tree/bench/media"
	(cd "$tmp/before-tree" && go build -o "$tmp/media-before" ./bench/media)
fi

# start NAME BINARY: starts a Lectern and sets $url, $file, $pid.
start() {
	mkdir -p "$tmp/$1"
	"$2" -data "$tmp/$1" >"$tmp/$1.out" 2>"$tmp/$1.err" &
	pid=$!
	pids="$pids $pid"
	i=0
	while ! grep -q '^file ' "$tmp/$1.out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
			echo "$1 did not start:" >&2
			cat "$tmp/$1.err" >&2
			exit 1
		fi
		sleep 0.1
	done
	url=$(sed -n 's/^url //p' "$tmp/$1.out")
	file=$(sed -n 's/^file //p' "$tmp/$1.out")
}

# ticks PID...: CPU time (user + system, in clock ticks) of the processes
# and their children (nginx's workers).
ticks() {
	all="$*"
	for p in "$@"; do all="$all $(ps -o pid= --ppid "$p" 2>/dev/null || true)"; done
	t=0
	for p in $all; do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
hz=$(getconf CLK_TCK)

# rps URL PID: requests/s of one wrk run (and its latency line); sets
# $cpu to the CPU microseconds the server (PID) spent per request, a
# figure that other load on the machine disturbs far less than the rate.
rps() {
	t0=$(ticks "$2")
	wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "$1" >"$tmp/wrk.out" 2>&1
	t1=$(ticks "$2")
	reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$tmp/wrk.out")
	cpu=$(awk "BEGIN{printf \"%.0f\", ($t1 - $t0) * 1000000 / $hz / ($reqs > 0 ? $reqs : 1)}")
	if grep -q 'Non-2xx' "$tmp/wrk.out"; then
		echo "wrk saw errors:" >&2
		cat "$tmp/wrk.out" >&2
		exit 1
	fi
	sed -n 's/^Requests\/sec: *//p' "$tmp/wrk.out"
}

start after "$tmp/media"
after_url=$url
after_pid=$pid
after_file=$file
if [ -n "$before" ]; then
	start before "$tmp/media-before"
	before_url=$url
	before_pid=$pid
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/nginx/logs"
# As root, nginx's workers would run as an unprivileged user that cannot
# read the temporary directory: they stay root (loopback only).
user=""
[ "$(id -u)" = 0 ] && user="user root;"
cat >"$tmp/nginx/nginx.conf" <<CONF
$user
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 100000;
	client_body_temp_path $tmp/nginx/body;
	proxy_temp_path $tmp/nginx/proxy;
	fastcgi_temp_path $tmp/nginx/fastcgi;
	uwsgi_temp_path $tmp/nginx/uwsgi;
	scgi_temp_path $tmp/nginx/scgi;
	server {
		listen 127.0.0.1:$port;
		location = /seg.m4s { alias $after_file; default_type video/iso.segment; }
	}
}
CONF
"$nginx" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
pids="$pids $nginx_pid"
sleep 0.5
nginx_url="http://127.0.0.1:$port/seg.m4s"
curl -sf -o "$tmp/a" "$nginx_url" || { echo "nginx did not serve the file:" >&2; cat "$tmp/nginx/logs/error.log" >&2; exit 1; }
curl -sf -o "$tmp/b" "$after_url"
cmp -s "$tmp/a" "$tmp/b" || { echo "nginx and Lectern answer different bytes" >&2; exit 1; }

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "segment: $size bytes; wrk -t$threads -c$conns -d${secs}s"
rps "$nginx_url" "$nginx_pid" >"$tmp/rate"
n=$(cat "$tmp/rate")
ncpu=$cpu
echo "nginx:          $n requests/s, $ncpu us CPU per request"
rps "$after_url" "$after_pid" >"$tmp/rate"
a=$(cat "$tmp/rate")
echo "lectern:        $a requests/s ($(awk "BEGIN{printf \"%.2f\", $a/$n}")x nginx), $cpu us CPU per request ($(awk "BEGIN{printf \"%.2f\", $ncpu/$cpu}")x nginx's efficiency)  $(grep '99%' "$tmp/wrk.out" | tr -s ' ')"
if [ -n "$before" ]; then
	rps "$before_url" "$before_pid" >"$tmp/rate"
	b=$(cat "$tmp/rate")
	echo "lectern before: $b requests/s ($(awk "BEGIN{printf \"%.2f\", $b/$n}")x nginx), $cpu us CPU per request ($(awk "BEGIN{printf \"%.2f\", $ncpu/$cpu}")x nginx's efficiency) at $before  $(grep '99%' "$tmp/wrk.out" | tr -s ' ')"
fi
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) after the rate runs"

rss() { awk '/^VmRSS/{printf "%.1f MiB", $2/1024}' "/proc/$1/status"; }
echo "memory: wrk -c$memconns for ${memsecs}s against Lectern; resident memory at start $(rss "$after_pid")"
wrk -t"$threads" -c"$memconns" -d"${memsecs}s" "$after_url" >"$tmp/wrk-mem.out" 2>&1 &
wrkpid=$!
t=0
while kill -0 "$wrkpid" 2>/dev/null; do
	sleep 10
	t=$((t + 10))
	kill -0 "$wrkpid" 2>/dev/null && echo "  ${t}s: $(rss "$after_pid")"
done
wait "$wrkpid" || true
echo "  after: $(rss "$after_pid"); $(sed -n 's/^Requests\/sec: */requests\/s /p' "$tmp/wrk-mem.out"); $(grep -E 'Non-2xx|Socket errors' "$tmp/wrk-mem.out" || echo 'no errors')"
