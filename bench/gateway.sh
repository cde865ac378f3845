#!/usr/bin/env bash
# The gateway against hitting a replica directly on loopback, and against nginx in
# front of the same replica (wrk at saturation: throughput and p99; an open-loop load
# generator at two fixed rates, the targets interleaved: added p50/p99), same replica,
# same run; then the time a deploy takes from the command to switched traffic, split
# into the app's own start time and pyship's part.
#
#   bash bench/gateway.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fixtures.sh >/dev/null
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx >/dev/null
fi
mkdir -p bin && go build -o bin/pyship ./cmd/pyship && go build -o bin/loadgen ./bench/loadgen
fixtures=${PYSHIP_FIXTURES:-/var/cache/pyship-fixtures}
work=$(mktemp -d)
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
iport=$(freeport)
(cd "$fixtures/index" && exec python3 -m http.server "$iport" --bind 127.0.0.1 >/dev/null 2>&1) & ipid=$!
gport=$(freeport)
flags=(--state-dir "$work/state" --gateway "127.0.0.1:$gport")
# A server that closes every connection (gunicorn's sync worker) leaves tens of
# thousands of TIME_WAIT sockets; untuned, they exhaust the ephemeral ports and rounds
# swing 3x. For the run only (restored on exit): reuse TIME_WAIT ports, widen the port range.
old_reuse=$(sysctl -n net.ipv4.tcp_tw_reuse); old_range=$(sysctl -n net.ipv4.ip_local_port_range | tr -s '\t ' ' ')
tuned=0
if sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="15000 64999" 2>/dev/null; then tuned=1; fi
echo "host: $(nproc) cores; tcp_tw_reuse=1 and ports 15000-64999 for the run: $([ $tuned = 1 ] && echo yes || echo 'no (not root?)')"
cleanup() { [ $tuned = 1 ] && sysctl -qw net.ipv4.tcp_tw_reuse="$old_reuse" net.ipv4.ip_local_port_range="$old_range"; bin/pyship down bench --yes "${flags[@]}" >/dev/null 2>&1 || true; docker rm -f "$(docker ps -aq --filter label=pyship.gateway.listen=127.0.0.1:$gport)" >/dev/null 2>&1 || true; kill $ipid 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
sleep 0.5
bin/pyship deploy examples/flask --app bench "${flags[@]}" --base pyship-fixtures/python:3.11-slim -i "http://127.0.0.1:$iport/simple/" --cache-dir "$work/cache" >/dev/null 2>&1
own="$(docker ps --filter label=pyship.app=bench --format '{{.Label "pyship.ip"}}' | head -1):5000"
replica=$(bin/pyship status bench --json "${flags[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["replicas"][0]["address"])')
# nginx in front of the same replica, as the reference proxy: one worker (the gateway
# runs with GOMAXPROCS = half the cores), keep-alive upstream, a buffered access log,
# X-Forwarded-For: what a hop costs on this machine, whoever makes it.
nport=$(freeport)
cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log $work/nginx-access.log combined buffer=64k flush=1s;
  upstream app { server $own; keepalive 64; }
  server {
    listen 127.0.0.1:$nport;
    location / {
      proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
}
NGINX
nginx -c "$work/nginx.conf"
trap 'kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; cleanup' EXIT
# Four ways to the same replica: its published loopback port (through the engine's
# docker-proxy: "directly on loopback"), its own address (what the gateway dials),
# pyship's gateway, nginx.
urls=("http://$replica/" "http://$own/" "http://127.0.0.1:$gport/" "http://127.0.0.1:$nport/")
hosts=("" "" "bench.localhost" "")
wrk_one() { # target index → "rps p99_ms bad"
  local h=()
  if [ -n "${hosts[$1]}" ]; then h=(-H "Host: ${hosts[$1]}"); fi
  wrk -t2 -c16 -d10s --latency "${h[@]}" "${urls[$1]}" 2>&1 | python3 -c '
import re,sys
t=sys.stdin.read()
rps=float(re.search(r"Requests/sec:\s+([\d.]+)",t).group(1))
m=re.search(r"99%\s+([\d.]+)(us|ms|s)\b",t); v=float(m.group(1))*{"us":0.001,"ms":1,"s":1000}[m.group(2)]
e=re.search(r"Non-2xx or 3xx responses: (\d+)",t); s=re.search(r"Socket errors: (.*)",t)
print(rps, v, int(e.group(1) if e else 0) + (1 if s else 0))'
}
for k in 0 1 2 3; do wrk_one $k >/dev/null; done # warm up
rounds=${ROUNDS:-5}
echo "saturation: wrk -t2 -c16 -d10s, GET / of the flask example (gunicorn, 2 workers x 4 threads, keep-alive), one replica; $rounds rounds, targets alternating"
: >"$work/sat"
for round in $(seq 1 "$rounds"); do
  line=""
  for k in 0 1 2 3; do line="$line $(wrk_one $k)"; done
  echo "$line" >>"$work/sat"
  python3 - "$round" $line <<'PY'
import sys
r, v = sys.argv[1], [float(x) for x in sys.argv[2:]]
n = ["loopback port", "own address", "gateway", "nginx"]
print(f"  round {r}  " + " | ".join(f"{n[k]} {v[3*k]:5.0f} req/s p99 {v[3*k+1]:6.2f} ms" + (f" ({int(v[3*k+2])} bad)" if v[3*k+2] else "") for k in range(4)))
PY
done
python3 - "$work/sat" <<'PY'
import statistics, sys
rows = [[float(x) for x in l.split()] for l in open(sys.argv[1])]
med = lambda f: statistics.median(f(r) for r in rows)
print(f"  median throughput: gateway {med(lambda r: r[6]/r[0])*100:.0f}% of the loopback port, {med(lambda r: r[6]/r[3])*100:.0f}% of the own address; nginx {med(lambda r: r[9]/r[0])*100:.0f}% and {med(lambda r: r[9]/r[3])*100:.0f}%; gateway {med(lambda r: r[6]/r[9])*100:.0f}% of nginx")
print(f"  median added p99 at saturation: gateway {med(lambda r: r[7]-r[1]):+.2f} ms vs the loopback port, {med(lambda r: r[7]-r[4]):+.2f} ms vs the own address; nginx {med(lambda r: r[10]-r[1]):+.2f} / {med(lambda r: r[10]-r[4]):+.2f} ms")
PY
# Latency at fixed rates (a quarter and half of the lowest saturation throughput):
# the hop's own cost rather than the queueing of a saturated 2-core machine. One
# open-loop generator sends each request to the next target in turn, so the four
# paths are measured at the same moments: this machine's speed drifts from one minute
# to the next by more than a proxy adds, and one run per target after another
# compared the minutes. Each latency counts from when its request was due.
low=$(python3 -c "
import statistics
rows=[[float(x) for x in l.split()] for l in open('$work/sat')]
print(min(statistics.median(r[3*k] for r in rows) for k in range(4)))")
frounds=${FIXED_ROUNDS:-3}
fdur=${FIXED_SECONDS:-30}
names=("loopback port" "own address" "gateway" "nginx")
targets=()
for k in 0 1 2 3; do
  t="t$k=${urls[$k]}"
  if [ -n "${hosts[$k]}" ]; then t="$t@${hosts[$k]}"; fi
  targets+=(-target "$t")
done
for share in 25 50; do
  rate=$(python3 -c "print(int($low*$share/100))")
  echo "fixed rate: $rate req/s in all ($share% of the lowest median throughput above), the four targets interleaved, ${fdur} s per round, $frounds rounds"
  : >"$work/fixed"
  for round in $(seq 1 "$frounds"); do
    bin/loadgen -json "${targets[@]}" -rate "$rate" -duration "${fdur}s" | tr '\n' '|' | sed 's/|$//' >>"$work/fixed"
    echo >>"$work/fixed"
    python3 - "$round" "$(tail -1 "$work/fixed")" <<'PY'
import json, sys
v = [json.loads(x) for x in sys.argv[2].split("|")]
n = ["loopback port", "own address", "gateway", "nginx"]
print(f"  round {sys.argv[1]}  " + " | ".join(f"{n[k]} p50 {v[k]['p50_ms']:.2f} p99 {v[k]['p99_ms']:.2f} ms" + (f" ({v[k]['errors']} errors)" if v[k]['errors'] else "") for k in range(4)))
PY
  done
  python3 - "$work/fixed" <<'PY'
import json, statistics, sys
rows = [[json.loads(x) for x in l.strip().split("|")] for l in open(sys.argv[1]) if l.strip()]
med = lambda f: statistics.median(f(r) for r in rows)
for proxy, p in (("gateway", 2), ("nginx", 3)):
    print(f"  median added by {proxy}: p50 {med(lambda r: r[p]['p50_ms']-r[0]['p50_ms']):+.2f} ms, p99 {med(lambda r: r[p]['p99_ms']-r[0]['p99_ms']):+.2f} ms vs the loopback port; p50 {med(lambda r: r[p]['p50_ms']-r[1]['p50_ms']):+.2f} ms, p99 {med(lambda r: r[p]['p99_ms']-r[1]['p99_ms']):+.2f} ms vs the own address")
PY
done
echo "deploys (a settings change: new revision, health-gated switch, drain, stop):"
for i in 1 2 3; do
  t0=$(date +%s.%N)
  log=$(bin/pyship env set bench "RUN=$i" "${flags[@]}" 2>&1 >/dev/null)
  t1=$(date +%s.%N)
  python3 - "$t0" "$t1" "$log" <<'PY'
import re, sys
t0, t1, log = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
ts = lambda pat: float(re.search(r"\[\s*([\d.]+)s\] " + pat, log).group(1))
start, healthy, switched = ts("revision \S+: starting"), float(re.search(r"healthy ([\d.]+)s", log).group(1)), ts("traffic:")
print(f"  command → switched traffic {switched:.2f}s, of which the app's own start {healthy:.2f}s: pyship's part {switched-healthy:.2f}s; command total {t1-t0:.2f}s")
PY
done
