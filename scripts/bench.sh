#!/usr/bin/env bash
# make bench: Sharecast's fan-out measured against nginx in the same run, on this machine.
#
# Paced: one 8 Mbit/s channel (the test origin padded with null packets) to N viewers, against
# nginx (one worker, sendfile, limit_rate 1000000 B/s) serving the same bytes from a file.
# Unpaced: the upstream as fast as it goes, 200 viewers, against nginx without a rate limit.
# Join: time to first byte joining a running channel, against nginx serving a small file.
# Prints one line per figure; timing never decides pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
CLIENTS=${BENCH_CLIENTS:-"100 500 1000 1500 3000"}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-3}
# Which parts run (all by default): fanout join firstframe unpaced metrics rules providers epg.
PARTS=${BENCH_PARTS:-"fanout join firstframe unpaced metrics rules providers epg"}
part() { [[ " $PARTS " == *" $1 "* ]]; }

swift build -c release --product sharecast >/dev/null
swift build -c release --product fanout-load >/dev/null
swift build -c release --product rules-bench >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d /tmp/sharecast-bench.XXXXXX)
# nginx workers run as an unprivileged user and must be able to read the files.
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { for _ in $(seq 1 200); do curl -fs -o /dev/null --max-time 1 "$1" && return 0; sleep 0.05; done; echo "bench: $1 did not come up" >&2; cat "$work"/*.log >&2 2>/dev/null; exit 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
ticks_per_second=$(getconf CLK_TCK)
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# Origins: paced 8 Mbit/s for the live channel, unpaced for the file and the unpaced run.
paced_port=$(free_port); "$bin/sharecast" origin --port "$paced_port" --bitrate 8000000 >/dev/null & pids+=($!)
fast_port=$(free_port); "$bin/sharecast" origin --port "$fast_port" --bitrate 8000000 --unpaced >/dev/null & pids+=($!)
wait_http "http://127.0.0.1:$paced_port/stats"; wait_http "http://127.0.0.1:$fast_port/stats"

# The same bytes as a file for nginx (256 MiB, so unpaced readers do not reach its end).
mkdir -p "$work/www"
curl -s "http://127.0.0.1:$fast_port/file.ts" | head -c $((256 * 1024 * 1024)) > "$work/www/stream.ts" || true
printf 'ok\n' > "$work/www/small.txt"

nginx_port=$(free_port)
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 20000; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 0;
  types { video/mp2t ts; text/plain txt; }
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
    location /paced/ { alias $work/www/; limit_rate 1000000; }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)
wait_http "http://127.0.0.1:$nginx_port/small.txt"
# The worker does the serving; the master only manages it.
nginx_pid=$(pgrep -P "${pids[-1]}" | head -n 1)

start_sharecast() { # name port upstream-url lag-policy
  cat > "$work/$1.yaml" <<CONF
server: {listen: 127.0.0.1, port: $2}
database: {path: $work/$1.sqlite}
security: {rate_limit: {streams_per_minute: 0}}
shared_streaming:
  buffer_path: $work/$1-buffers
  lag_policy: $4
  direct_delivery: ${BENCH_DIRECT:-true}
channels:
  - {id: bench, name: Bench, urls: ["$3"]}
CONF
  "$bin/sharecast" serve --config "$work/$1.yaml" --log-level warning 2>"$work/$1.log" & pids+=($!)
  wait_http "http://127.0.0.1:$2/playlist.m3u"
}
sharecast_port=$(free_port); start_sharecast paced "$sharecast_port" "http://127.0.0.1:$paced_port/bench.ts" disconnect
sharecast_pid=${pids[-1]}
stream_url=$(curl -s "http://127.0.0.1:$sharecast_port/playlist.m3u" | grep /stream/)

# Runs the load client against a server and prints its line plus the server's CPU and RSS.
# CPU is counted over the load client's measuring window only (after its warm-up), like its
# MB/s: a joining viewer's burst (the join backlog) is not charged to the steady state.
measure() { # pid url clients duration warmup
  local before after started ended rss_mid line
  ( sleep "$5"; cpu_ticks "$1" > "$work/ticks"; date +%s.%N > "$work/ticks-at" ) &
  ( sleep $(( $5 + $4 / 2 )); rss_kb "$1" > "$work/rss"
    curl -s "http://127.0.0.1:$paced_port/stats" | sed -n 's/.*"connections_open":\([0-9]*\).*/\1/p' > "$work/upstream" ) &
  line=$("$bin/fanout-load" -c "$3" -d "$4" -w "$5" -r 1000 "$2")
  ended=$(date +%s.%N); after=$(cpu_ticks "$1")
  wait
  before=$(cat "$work/ticks"); started=$(cat "$work/ticks-at")
  rss_mid=$(cat "$work/rss")
  awk -v line="$line" -v b="$before" -v a="$after" -v s="$started" -v e="$ended" -v hz="$ticks_per_second" -v rss="$rss_mid" \
    'BEGIN { printf "%s cpu_pct=%.1f rss_kB=%d\n", line, (a - b) / hz / (e - s) * 100, rss }'
}

if part fanout; then
echo "# paced: one 8 Mbit/s channel, N viewers, ${DURATION}s window after ${WARMUP}s warm-up"
# One viewer first, long enough to fill the ring, so the session runs and its memory is counted
# in the base rather than against the viewers.
"$bin/fanout-load" -c 1 -d 9 -w 1 "$stream_url" >/dev/null
base_rss=$(rss_kb "$sharecast_pid")
for n in $CLIENTS; do
  s=$(measure "$sharecast_pid" "$stream_url" "$n" "$DURATION" "$WARMUP")
  cp "$work/upstream" "$work/upstream.sharecast"
  g=$(measure "$nginx_pid" "http://127.0.0.1:$nginx_port/paced/stream.ts" "$n" "$DURATION" "$WARMUP")
  # Open upstream connections sampled in the middle of Sharecast's run.
  upstream=$(cat "$work/upstream.sharecast")
  awk -v n="$n" -v s="$s" -v g="$g" -v base="$base_rss" -v up="$upstream" '
    function f(line, key,   m) { match(line, key "=[^ ]*"); return substr(line, RSTART + length(key) + 1, RLENGTH - length(key) - 1) }
    BEGIN {
      sm = f(s, "aggregate_MBps"); gm = f(g, "aggregate_MBps"); sc = f(s, "cpu_pct"); gc = f(g, "cpu_pct")
      # CPU per delivered byte against nginx'"'"'s, and the share of nginx'"'"'s throughput delivered.
      per_byte = (gc > 0 && sm > 0) ? (sc / sm) / (gc / gm) : 0
      printf "fanout_clients=%d sharecast_MBps=%s nginx_MBps=%s delivered_vs_nginx=%.2f dropped=%s failed=%s slowest_kBps=%s nginx_slowest_kBps=%s sharecast_cpu_pct=%s nginx_cpu_pct=%s cpu_ratio=%.2f cpu_per_byte_ratio=%.2f ttfb_p50_ms=%s nginx_ttfb_p50_ms=%s rss_per_client_kB=%.1f upstream_connections=%s\n",
        n, sm, gm, (gm > 0 ? sm / gm : 0), f(s, "dropped"), f(s, "failed"), f(s, "slowest_kBps"), f(g, "slowest_kBps"),
        sc, gc, (gc > 0 ? sc / gc : 0), per_byte, f(s, "ttfb_p50_ms"), f(g, "ttfb_p50_ms"),
        (f(s, "rss_kB") - base) / n, up
    }'
done
fi

if part join; then
echo "# join: time to first byte joining the running channel vs nginx's small file (${JOIN_ROUNDS:=5} interleaved rounds of 50 clients at 50/s)"
# One round's p50 moves by a third between runs on a shared 2-core machine (nginx's own too), so
# rounds alternate and the medians of their p50s are compared.
joins=() smalls=()
for _ in $(seq 1 "$JOIN_ROUNDS"); do
  s=$("$bin/fanout-load" -c 50 -d 1 -w 1 -r 50 "$stream_url"); joins+=("$(field ttfb_p50_ms "$s")")
  g=$("$bin/fanout-load" -c 50 -d 1 -w 1 -r 50 "http://127.0.0.1:$nginx_port/small.txt"); smalls+=("$(field ttfb_p50_ms "$g")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
join_p50=$(median "${joins[@]}"); small_p50=$(median "${smalls[@]}")
echo "join_ttfb_p50_ms=$join_p50 nginx_small_ttfb_p50_ms=$small_p50 join_vs_nginx=$(awk -v a="$join_p50" -v b="$small_p50" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') rounds_join=$(IFS=,; echo "${joins[*]}") rounds_nginx=$(IFS=,; echo "${smalls[*]}")"
fi

if part firstframe; then
echo "# firstframe: request to the first decoded frame with ffmpeg at its default settings (TS, 8 Mbit/s), the provider directly as the reference"
# Seconds from start to exit of an ffmpeg that decodes one video frame of $1.
first_frame() {
  local started ended
  started=$(date +%s.%N)
  ffmpeg -nostdin -v error -i "$1" -frames:v 1 -f null - >/dev/null 2>&1 || true
  ended=$(date +%s.%N)
  awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.3f", b - a }'
}
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
# One line of figures: $1 names it, $2 is the provider's URL, $3 the channel's through Sharecast
# (not running yet).
first_frames() {
  local direct cold running keeper
  direct=$(median3 "$(first_frame "$2")" "$(first_frame "$2")" "$(first_frame "$2")")
  # Not running: the upstream is opened for this request.
  cold=$(first_frame "$3")
  # Running: a viewer keeps the channel on while the ring fills, then three joins.
  curl -s -o /dev/null --max-time 40 "$3" & keeper=$!
  sleep 8
  running=$(median3 "$(first_frame "$3")" "$(first_frame "$3")" "$(first_frame "$3")")
  kill "$keeper" 2>/dev/null || true
  awk -v n="$1" -v d="$direct" -v c="$cold" -v r="$running" 'BEGIN {
    printf "firstframe_%s provider_s=%.3f running_s=%.3f (%.2f of the provider; target <= 1.0 s) cold_s=%.3f (provider + %.3f s; target <= +0.3)\n", n, d, r, r / d, c, c - d }'
}
ff_port=$(free_port); start_sharecast firstframe "$ff_port" "http://127.0.0.1:$paced_port/bench.ts" disconnect
first_frames ts "http://127.0.0.1:$paced_port/ff.ts" "$(curl -s "http://127.0.0.1:$ff_port/playlist.m3u" | grep /stream/)"
# The same for an HLS channel: the stand-in origin's 4 s segments of the padded pattern.
hls_port=$(free_port); "$bin/sharecast" origin --hls --port "$hls_port" --bitrate 8000000 >/dev/null & pids+=($!)
wait_http "http://127.0.0.1:$hls_port/live.m3u8"
hls_sharecast_port=$(free_port); start_sharecast hls "$hls_sharecast_port" "http://127.0.0.1:$hls_port/live.m3u8" disconnect
first_frames hls "http://127.0.0.1:$hls_port/live.m3u8" "$(curl -s "http://127.0.0.1:$hls_sharecast_port/playlist.m3u" | grep /stream/)"
fi

if part unpaced; then

echo "# unpaced: the upstream as fast as it goes, 200 viewers (lag policy skip)"
unpaced_port=$(free_port); start_sharecast unpaced "$unpaced_port" "http://127.0.0.1:$fast_port/bench.ts" skip
unpaced_pid=${pids[-1]}
unpaced_url=$(curl -s "http://127.0.0.1:$unpaced_port/playlist.m3u" | grep /stream/)
s=$(measure "$unpaced_pid" "$unpaced_url" 200 5 2)
g=$(measure "$nginx_pid" "http://127.0.0.1:$nginx_port/stream.ts" 200 5 2)
awk -v s="$s" -v g="$g" '
  function f(line, key) { match(line, key "=[^ ]*"); return substr(line, RSTART + length(key) + 1, RLENGTH - length(key) - 1) }
  BEGIN { printf "unpaced_clients=200 sharecast_MBps=%s nginx_MBps=%s ratio=%.2f sharecast_cpu_pct=%s nginx_cpu_pct=%s\n",
    f(s, "aggregate_MBps"), f(g, "aggregate_MBps"), f(s, "aggregate_MBps") / f(g, "aggregate_MBps"), f(s, "cpu_pct"), f(g, "cpu_pct") }'
fi
echo "# targets (issue 16): cpu_ratio <= 1.5 at 1000 and 3000 clients, >= 95% of nginx's MB/s at 3000, 0 dropped, 1 upstream; unpaced ratio >= 0.8; rss_per_client_kB <= 48; join ttfb <= 1.5x nginx small-file ttfb"

if part metrics; then
echo "# metrics: /metrics with 100 channels x 10 viewers vs nginx serving a file of the same size"
slow_port=$(free_port); "$bin/sharecast" origin --port "$slow_port" >/dev/null & pids+=($!)
wait_http "http://127.0.0.1:$slow_port/stats"
metrics_port=$(free_port)
{
  echo "server: {listen: 127.0.0.1, port: $metrics_port}"
  echo "database: {path: $work/metrics.sqlite}"
  echo "security: {rate_limit: {streams_per_minute: 0}}"
  echo "shared_streaming: {buffer_path: $work/metrics-buffers, buffer_size: 1048576}"
  echo "channels:"
  for i in $(seq 1 100); do echo "  - {id: ch$i, name: Channel $i, urls: [\"http://127.0.0.1:$slow_port/ch$i.ts\"]}"; done
} > "$work/metrics.yaml"
"$bin/sharecast" serve --config "$work/metrics.yaml" --log-level warning 2>"$work/metrics.log" & pids+=($!)
wait_http "http://127.0.0.1:$metrics_port/playlist.m3u"
mapfile -t channel_urls < <(curl -s "http://127.0.0.1:$metrics_port/playlist.m3u" | grep /stream/)
"$bin/fanout-load" -c 1000 -d 25 -w 5 -r 500 "${channel_urls[@]}" > "$work/metrics-load.txt" &
load_pid=$!
sleep 8
curl -s "http://127.0.0.1:$metrics_port/metrics" > "$work/www/metrics.txt"
# Scrapes and file fetches alternate (61 of each), so both meet the same moments of the load;
# each figure is its median.
for _ in $(seq 1 61); do
  curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$metrics_port/metrics" >> "$work/scrape-times"
  curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$nginx_port/metrics.txt" >> "$work/file-times"
done
scrape_time=$(sort -n "$work/scrape-times" | sed -n 31p)
file_time=$(sort -n "$work/file-times" | sed -n 31p)
# The handler's own time (collect + encode), from Sharecast's histogram of it.
handler_ms=$(curl -s "http://127.0.0.1:$metrics_port/metrics" | awk '
  /^sharecast_http_request_duration_seconds_sum\{handler="metrics"\}/ { sum = $2 }
  /^sharecast_http_request_duration_seconds_count\{handler="metrics"\}/ { count = $2 }
  END { if (count > 0) printf "%.2f", sum / count * 1000; else print "n/a" }')
size=$(stat -c %s "$work/www/metrics.txt")
series=$(grep -vc '^#' "$work/www/metrics.txt")
wait "$load_pid" || true
awk -v s="$scrape_time" -v f="$file_time" -v size="$size" -v series="$series" -v handler="$handler_ms" -v load="$(cat "$work/metrics-load.txt")" \
  'BEGIN { printf "metrics_channels=100 viewers=1000 scrape_bytes=%d series=%d scrape_ms=%.2f handler_ms=%s nginx_same_size_file_ms=%.2f ratio=%.2f (target <= 2)\n# the scrape is served while the same process streams to the 1000 viewers; nginx is idle\n# load during the scrapes: %s\n", size, series, s * 1000, handler, f * 1000, s / f, load }'
fi

if part rules; then
echo "# rules: 100 alerting rules over 10 000 series, one evaluation round (Sharecast's own evaluator)"
"$bin/rules-bench"
fi

if part providers; then
echo "# providers: a stand-in Xtream panel (sharecast origin --xtream-channels) with 20 000 channels and one login"
xtream_port=$(free_port)
"$bin/sharecast" origin --port "$xtream_port" --xtream-channels 20000 --xtream-logins "bench:bench-pw:1" >"$work/xtream.log" 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$xtream_port/player_api.php"
providers_port=$(free_port)
cat > "$work/providers.yaml" <<CONF
server: {listen: 127.0.0.1, port: $providers_port}
database: {path: $work/providers.sqlite}
security: {rate_limit: {streams_per_minute: 0, api_per_minute: 0}}
shared_streaming: {buffer_path: $work/providers-buffers}
alerting: {enabled: false}
channels: []
providers:
  - {name: bench, type: xtream, server: "http://127.0.0.1:$xtream_port", accounts: [{username: bench, password: bench-pw}], zap_takeover: true}
CONF
providers_api="http://127.0.0.1:$providers_port/api/monitor/providers"
started=$(date +%s.%N)
"$bin/sharecast" serve --config "$work/providers.yaml" --log-level warning 2>"$work/providers.log" & pids+=($!)
providers_pid=${pids[-1]}
wait_http "http://127.0.0.1:$providers_port/healthz"
until curl -s "$providers_api" | grep -q '"channels":20000'; do sleep 0.05; done
imported=$(date +%s.%N)
import_rss=$(awk '/VmHWM/ {print $2}' "/proc/$providers_pid/status")
# One refresh: $1 names it; waits until last_success_at moves.
bench_refresh() {
  local before started done rss
  before=$(curl -s "$providers_api" | grep -o '"refreshes":[0-9]*')
  started=$(date +%s.%N)
  curl -s -o /dev/null -X POST "$providers_api/bench/refresh"
  until [ "$(curl -s "$providers_api" | grep -o '"refreshes":[0-9]*')" != "$before" ]; do sleep 0.02; done
  done=$(date +%s.%N)
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$providers_pid/status")
  awk -v n="$1" -v a="$started" -v b="$done" -v r="$rss" 'BEGIN { printf "providers_refresh_%s channels=20000 seconds=%.2f peak_rss_mb=%.1f\n", n, b - a, r / 1024 }'
}
awk -v a="$started" -v b="$imported" -v r1="$import_rss" \
  'BEGIN { printf "providers_import channels=20000 seconds=%.2f peak_rss_mb=%.1f\n", b - a, r1 / 1024 }'
# Nothing changed: the panel answers the ETags with 304. Then the token rotates: read whole.
bench_refresh unchanged
curl -s -o /dev/null -X POST "http://127.0.0.1:$xtream_port/stand-in/rotate-token"
bench_refresh changed
# Slot takeover: the one login watches channel 1; the same address asks for channel 2.
# The reference: the panel itself, while its login is free.
direct=$(curl -s -o /dev/null --max-time 2 -w '%{time_starttransfer}' "http://127.0.0.1:$xtream_port/live/bench/bench-pw/1001.ts" || true)
sleep 1
mapfile -t urls < <(curl -s "http://127.0.0.1:$providers_port/playlist.m3u" | grep /stream/ | head -2)
curl -s -o /dev/null --max-time 30 "${urls[0]}" & watcher=$!
sleep 3
takeover=$(curl -s -o /dev/null --max-time 3 -w '%{time_starttransfer}' "${urls[1]}" || true)
kill "$watcher" 2>/dev/null || true
awk -v t="$takeover" -v d="$direct" 'BEGIN { printf "providers_takeover first_byte_ms=%.1f (the panel directly, its login free: %.1f ms)\n", t * 1000, d * 1000 }'
# Overlapping zap without takeover: the player asks for channel 2 while channel 1 plays and hangs
# up channel 1 a second later; the figure is channel 2's first byte after channel 1 closed.
kill "$providers_pid" 2>/dev/null || true
wait "$providers_pid" 2>/dev/null || true
zap_port=$(free_port)
sed -e "s/port: $providers_port/port: $zap_port/" -e "s|providers.sqlite|zap.sqlite|" -e "s|providers-buffers|zap-buffers|" \
    -e "s/zap_takeover: true/zap_takeover: false/" "$work/providers.yaml" > "$work/zap.yaml"
"$bin/sharecast" serve --config "$work/zap.yaml" --log-level warning 2>"$work/zap.log" & pids+=($!)
wait_http "http://127.0.0.1:$zap_port/healthz"
until curl -s "http://127.0.0.1:$zap_port/api/monitor/providers" | grep -q '"channels":20000'; do sleep 0.05; done
mapfile -t urls < <(curl -s "http://127.0.0.1:$zap_port/playlist.m3u" | grep /stream/ | head -2)
if [ "${#urls[@]}" -lt 2 ]; then
  echo "bench: the zap server's playlist has no stream URLs" >&2
  curl -s -i "http://127.0.0.1:$zap_port/playlist.m3u" | head -5 >&2
  tail -20 "$work/zap.log" >&2
  exit 1
fi
curl -s -o /dev/null --max-time 30 "${urls[0]}" & watcher=$!
sleep 3
asked=$(date +%s.%N)
curl -s -o /dev/null --max-time 10 -w '%{time_starttransfer}' "${urls[1]}" > "$work/zap.first-byte" & zapper=$!
sleep 1
closed=$(date +%s.%N)
kill "$watcher" 2>/dev/null || true
wait "$zapper" 2>/dev/null || true
awk -v a="$asked" -v c="$closed" -v t="$(cat "$work/zap.first-byte")" \
  'BEGIN { printf "providers_zap first_byte_after_close_ms=%.1f (asked %.0f ms before the old channel closed; target: under 2000)\n", (a + t - c) * 1000, (c - a) * 1000 }'
fi

if part epg; then
echo "# epg: a generated XMLTV guide of 20 000 channels x 7 days (about 1 GB) imported from a file; then /epg.xml of 100 000 programmes against nginx serving the same bytes"
epg_panel_port=$(free_port)
"$bin/sharecast" origin --port "$epg_panel_port" --xtream-channels 20000 --xtream-logins "bench:bench-pw:1" >"$work/epg-panel.log" 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$epg_panel_port/player_api.php"
# Serves the panel's catalog and one file guide; the provider's own guide is off. Two past days
# keep the whole generated schedule, which starts at midnight yesterday.
start_guide_server() { # name port guide-file
  cat > "$work/$1.yaml" <<CONF
server: {listen: 127.0.0.1, port: $2}
database: {path: $work/$1.sqlite}
security: {rate_limit: {streams_per_minute: 0, api_per_minute: 0}}
shared_streaming: {buffer_path: $work/$1-buffers}
alerting: {enabled: false}
channels: []
providers:
  - {name: bench, type: xtream, server: "http://127.0.0.1:$epg_panel_port", accounts: [{username: bench, password: bench-pw}], epg: false}
epg: {past_days: 2}
epg_sources:
  - {name: file, file: $3}
CONF
  "$bin/sharecast" serve --config "$work/$1.yaml" --log-level warning 2>"$work/$1.log" & pids+=($!)
  wait_http "http://127.0.0.1:$2/healthz"
  until curl -s "http://127.0.0.1:$2/api/monitor/providers" | grep -q '"channels":20000'; do sleep 0.05; done
}
# Waits until the guide source has finished one more import than $2 counted; prints its entry.
wait_guide() { # port refreshes-before
  local entry
  while true; do
    entry=$(curl -s "http://127.0.0.1:$1/api/monitor/guide")
    [ "$(grep -o '"refreshes":[0-9]*' <<<"$entry" | head -1 | cut -d: -f2)" -gt "$2" ] 2>/dev/null && { echo "$entry"; return; }
    sleep 0.2
  done
}
guide_refreshes() { curl -s "http://127.0.0.1:$1/api/monitor/guide" | grep -o '"refreshes":[0-9]*' | head -1 | cut -d: -f2; }

# BENCH_EPG_IMPORT=0 skips the gigabyte import (to iterate on serving).
if [ "${BENCH_EPG_IMPORT:-1}" = 1 ]; then
made=$(date +%s.%N)
"$bin/sharecast" origin --xtream-channels 20000 --guide-days 7 --guide-slot-minutes 60 --write-guide "$work/big-guide.xml.part"
awk -v a="$made" -v b="$(date +%s.%N)" -v s="$(stat -c %s "$work/big-guide.xml.part")" \
  'BEGIN { printf "# generated %.0f MB in %.1f s\n", s / 1e6, b - a }'
# The file is not there at start: the first import fails, and the idle server is measured.
big_port=$(free_port); start_guide_server big "$big_port" "$work/big-guide.xml"
big_pid=${pids[-1]}
before=$(wait_guide "$big_port" 0 >/dev/null; guide_refreshes "$big_port")
sleep 2
idle_rss=$(rss_kb "$big_pid")
# Peak RSS from here on (clear_refs 5 resets VmHWM to the current RSS; needs the process' owner).
echo 5 > "/proc/$big_pid/clear_refs" 2>/dev/null || echo "# cannot reset the peak RSS: it includes the start"
mv "$work/big-guide.xml.part" "$work/big-guide.xml"
started=$(date +%s.%N); cpu_before=$(cpu_ticks "$big_pid")
curl -s -o /dev/null -X POST "http://127.0.0.1:$big_port/api/monitor/guide/file/refresh"
entry=$(wait_guide "$big_port" "$before")
done_at=$(date +%s.%N); cpu_after=$(cpu_ticks "$big_pid")
peak_rss=$(awk '/VmHWM/ {print $2}' "/proc/$big_pid/status")
programmes=$(grep -o '"programmes":[0-9]*' <<<"$entry" | head -1 | cut -d: -f2)
error=$(grep -o '"last_error":"[^"]*"' <<<"$entry" || true)
awk -v a="$started" -v b="$done_at" -v s="$(stat -c %s "$work/big-guide.xml")" -v p="$programmes" -v i="$idle_rss" -v h="$peak_rss" \
    -v c0="$cpu_before" -v c1="$cpu_after" -v hz="$ticks_per_second" -v e="$error" \
  'BEGIN { printf "epg_import bytes=%.0fMB programmes=%d seconds=%.1f MB_per_s=%.1f cpu_s=%.1f idle_rss_mb=%.1f peak_rss_mb=%.1f growth_mb=%.1f (target: growth < 100) %s\n",
           s / 1e6, p, b - a, s / 1e6 / (b - a), (c1 - c0) / hz, i / 1024, h / 1024, (h - i) / 1024, e }'
epg_db_mb=$(du -sm "$work/big.sqlite"* | awk '{ s += $1 } END { print s }')
echo "# the store after the import: ${epg_db_mb} MB"
kill "$big_pid" 2>/dev/null || true; wait "$big_pid" 2>/dev/null || true
rm -f "$work/big-guide.xml" "$work/big.sqlite"*
fi

# 100 000 programmes: 1000 of the 20 000 channels, 100 programmes each.
"$bin/sharecast" origin --xtream-channels 1000 --guide-days 5 --guide-slot-minutes 72 --write-guide "$work/guide-100k.xml"
serve_port=$(free_port); start_guide_server served "$serve_port" "$work/guide-100k.xml"
served_pid=${pids[-1]}
entry=$(wait_guide "$serve_port" 0)
grep -q '"programmes":100000' <<<"$entry" || { echo "bench: the 100 000-programme guide did not import: $entry" >&2; exit 1; }
# The first request after an import (it renders the document), then what nginx is measured against.
first=$(curl -s -o "$work/www/epg.xml" -w '%{time_total}' "http://127.0.0.1:$serve_port/epg.xml")
curl -s -o "$work/www/epg.xml.gz" "http://127.0.0.1:$serve_port/epg.xml.gz"
# Median of 20 sequential whole downloads, and the server's CPU over them.
timed_downloads() { # pid url
  local before after
  before=$(cpu_ticks "$1")
  for _ in $(seq 1 20); do curl -s -o /dev/null -w '%{time_total}\n' "$2"; done | sort -n | sed -n 10p > "$work/median"
  after=$(cpu_ticks "$1")
  echo "$(cat "$work/median") $(( after - before ))"
}
read -r s_median s_ticks < <(timed_downloads "$served_pid" "http://127.0.0.1:$serve_port/epg.xml")
read -r n_median n_ticks < <(timed_downloads "$nginx_pid" "http://127.0.0.1:$nginx_port/epg.xml")
read -r sg_median sg_ticks < <(timed_downloads "$served_pid" "http://127.0.0.1:$serve_port/epg.xml.gz")
read -r ng_median ng_ticks < <(timed_downloads "$nginx_pid" "http://127.0.0.1:$nginx_port/epg.xml.gz")
awk -v f="$first" -v s="$s_median" -v n="$n_median" -v st="$s_ticks" -v nt="$n_ticks" -v hz="$ticks_per_second" \
    -v bytes="$(stat -c %s "$work/www/epg.xml")" -v gz="$(stat -c %s "$work/www/epg.xml.gz")" -v sg="$sg_median" -v ng="$ng_median" \
  'BEGIN { printf "epg_serve programmes=100000 bytes=%.1fMB first_ms=%.0f median_ms=%.1f nginx_median_ms=%.1f ratio=%.2f (target <= 2) cpu_s_per_20=%.2f nginx_cpu_s_per_20=%.2f\n",
           bytes / 1e6, f * 1000, s * 1000, n * 1000, s / n, st / hz, nt / hz
           printf "epg_serve_gz bytes=%.1fMB median_ms=%.1f nginx_median_ms=%.1f ratio=%.2f\n", gz / 1e6, sg * 1000, ng * 1000, sg / ng }'
fi
