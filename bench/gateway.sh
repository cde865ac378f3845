#!/usr/bin/env bash
# The gateway against hitting a replica directly on loopback (wrk: throughput and p99
# latency, same replica, same run), and the time a deploy takes from the command to
# switched traffic, split into the app's own start time and pyship's part.
#
#   bash bench/gateway.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fixtures.sh >/dev/null
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
mkdir -p bin && CGO_ENABLED=0 go build -o bin/pyship ./cmd/pyship && go build -o bin/loadgen ./bench/loadgen
fixtures=${PYSHIP_FIXTURES:-/var/cache/pyship-fixtures}
work=$(mktemp -d)
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
iport=$(freeport)
(cd "$fixtures/index" && exec python3 -m http.server "$iport" --bind 127.0.0.1 >/dev/null 2>&1) & ipid=$!
gport=$(freeport)
flags=(--state-dir "$work/state" --gateway "127.0.0.1:$gport")
# gunicorn's sync workers close every connection, so a run leaves tens of thousands of
# TIME_WAIT sockets; untuned, they exhaust the ephemeral ports and rounds swing 3x.
# For the run only (restored on exit): reuse TIME_WAIT ports, widen the port range.
old_reuse=$(sysctl -n net.ipv4.tcp_tw_reuse); old_range=$(sysctl -n net.ipv4.ip_local_port_range | tr -s '\t ' ' ')
tuned=0
if sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="15000 64999" 2>/dev/null; then tuned=1; fi
echo "host: $(nproc) cores; tcp_tw_reuse=1 and ports 15000-64999 for the run: $([ $tuned = 1 ] && echo yes || echo 'no (not root?)')"
cleanup() { [ $tuned = 1 ] && sysctl -qw net.ipv4.tcp_tw_reuse="$old_reuse" net.ipv4.ip_local_port_range="$old_range"; bin/pyship down bench "${flags[@]}" >/dev/null 2>&1 || true; docker rm -f "$(docker ps -aq --filter label=pyship.gateway.listen=127.0.0.1:$gport)" >/dev/null 2>&1 || true; kill $ipid 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
sleep 0.5
bin/pyship deploy examples/flask --app bench "${flags[@]}" --base pyship-fixtures/python:3.11-slim -i "http://127.0.0.1:$iport/simple/" --cache-dir "$work/cache" >/dev/null 2>&1
own="$(docker ps --filter label=pyship.app=bench --format '{{.Label "pyship.ip"}}' | head -1):5000"
replica=$(bin/pyship status bench --json "${flags[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["replicas"][0]["Address"])')
# wrk, and what docker-proxy (the engine's userland port forwarder, in both paths)
# costs meanwhile: on a small machine it is often the bottleneck, not the gateway.
run_wrk() {
  wrk -t2 -c16 -d10s --latency "$@" >"$work/wrk" 2>&1 &
  local w=$!
  sleep 5
  top -b -n2 -d1 | awk '/docker-pr/ {c=$9} END {print "docker-proxy-cpu: " (c==""?"?":c) "%"}' >"$work/top"
  wait $w
  cat "$work/wrk" "$work/top"
}
parse() { python3 -c '
import re,sys
t=sys.stdin.read()
rps=float(re.search(r"Requests/sec:\s+([\d.]+)",t).group(1))
m=re.search(r"99%\s+([\d.]+)(us|ms|s)\b",t); v=float(m.group(1))*{"us":0.001,"ms":1,"s":1000}[m.group(2)]
errs=re.search(r"Non-2xx or 3xx responses: (\d+)",t); sock=re.search(r"Socket errors: (.*)",t)
dp=re.search(r"docker-proxy-cpu: (\S+)",t)
print(rps, v, (errs.group(1) if errs else "0"), (sock.group(1).replace(" ","_") if sock else "none"), dp.group(1) if dp else "?")'; }
run_wrk "http://$replica/" >/dev/null # warm up
direct_sum=""; gateway_sum=""
echo "load: wrk -t2 -c16 -d10s, GET / of the flask example (gunicorn, 2 workers x 4 threads, keep-alive), one replica; three alternating rounds"
for round in 1 2 3; do
  read -r d_rps d_p99 d_err d_sock d_dp < <(run_wrk "http://$replica/" | parse)
  direct_sum="$direct_sum$d_rps,"
  read -r g_rps g_p99 g_err g_sock g_dp < <(run_wrk -H "Host: bench.localhost" "http://127.0.0.1:$gport/" | parse)
  gateway_sum="$gateway_sum$g_rps,"
  printf '  round %s  direct %6.0f req/s p99 %6.2f ms (docker-proxy %s) | gateway %6.0f req/s p99 %6.2f ms (docker-proxy %s, non-2xx %s, socket errors %s) | throughput %5.1f%%  added p99 %+6.2f ms\n' \
    "$round" "$d_rps" "$d_p99" "$d_dp" "$g_rps" "$g_p99" "$g_dp" "$g_err" "$g_sock" "$(python3 -c "print($g_rps/$d_rps*100)")" "$(python3 -c "print($g_p99-$d_p99)")"
  echo "           TIME_WAIT sockets now: $(ss -tan state time-wait | tail -n +2 | wc -l)"
done
# Latency at a fixed rate that loads both paths to at most half their capacity (half
# the lower of the two throughputs above): the gateway's own cost, not the queueing of
# a saturated 2-core machine (open loop; latency counted from when each request was due).
rate=$(python3 -c "print(int(min(sum([$direct_sum]), sum([$gateway_sum]))/3/2))")
rounds=${ROUNDS:-5}
echo "fixed rate: $rate req/s (half the lower throughput above), 15 s per target, $rounds alternating rounds, GET / of the same replica"
: >"$work/fixed"
for round in $(seq 1 "$rounds"); do
  d=$(bin/loadgen -json -url "http://$replica/" -rate "$rate" -duration 15s)
  g=$(bin/loadgen -json -url "http://127.0.0.1:$gport/" -host bench.localhost -rate "$rate" -duration 15s)
  o=$(bin/loadgen -json -url "http://$own/" -rate "$rate" -duration 15s)
  echo "$d|$g|$o" >>"$work/fixed"
  python3 - "$round" "$d" "$g" "$o" <<'PY'
import json, sys
r, d, g, o = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
print(f"  round {r}  loopback port p50 {d['p50_ms']:.2f} p99 {d['p99_ms']:.2f} | own address p50 {o['p50_ms']:.2f} p99 {o['p99_ms']:.2f} | gateway p50 {g['p50_ms']:.2f} p99 {g['p99_ms']:.2f} ms  (errors {d['errors']}/{o['errors']}/{g['errors']})")
PY
done
python3 - "$work/fixed" <<'PY'
import json, statistics, sys
rows = [[json.loads(x) for x in l.strip().split("|")] for l in open(sys.argv[1])]
med = lambda f: statistics.median(f(r) for r in rows)
for name, i in (("the loopback port", 0), ("the replica's own address (what the gateway dials)", 2)):
    print(f"  median over rounds, gateway vs {name}: added p50 {med(lambda r: r[1]['p50_ms']-r[i]['p50_ms']):+.2f} ms, added p99 {med(lambda r: r[1]['p99_ms']-r[i]['p99_ms']):+.2f} ms")
PY
echo "deploys (a settings change: new revision, health-gated switch, drain, stop):"
for i in 1 2 3; do
  t0=$(date +%s.%N)
  log=$(bin/pyship env set --app bench "RUN=$i" "${flags[@]}" 2>&1 >/dev/null)
  t1=$(date +%s.%N)
  python3 - "$t0" "$t1" "$log" <<'PY'
import re, sys
t0, t1, log = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
ts = lambda pat: float(re.search(r"\[\s*([\d.]+)s\] " + pat, log).group(1))
start, healthy, switched = ts("revision \S+: starting"), float(re.search(r"healthy ([\d.]+)s", log).group(1)), ts("traffic:")
print(f"  command → switched traffic {switched:.2f}s, of which the app's own start {healthy:.2f}s: pyship's part {switched-healthy:.2f}s; command total {t1-t0:.2f}s")
PY
done
