#!/usr/bin/env bash
# Restarts the local Docker engine as a reboot would (every container stops, then the
# engine starts again and brings back those with a restart policy). Used by the
# engine-restart test; by systemd when it manages docker, else by hand, with the
# command line and environment the running daemon was started with.
set -euo pipefail
if command -v systemctl >/dev/null && systemctl is-active --quiet docker 2>/dev/null; then
  exec systemctl restart docker
fi
pid=$(cat /var/run/docker.pid)
mapfile -d '' cmd <"/proc/$pid/cmdline"
mapfile -d '' envv <"/proc/$pid/environ"
kill -TERM "$pid"
for _ in $(seq 1 240); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$pid" 2>/dev/null; then echo "restart-engine: dockerd $pid did not stop" >&2; exit 1; fi
setsid env -i "${envv[@]}" "${cmd[@]}" >>/var/log/pyship-dockerd.log 2>&1 </dev/null &
for _ in $(seq 1 120); do docker version >/dev/null 2>&1 && exit 0; sleep 0.5; done
echo "restart-engine: the engine did not come back (see /var/log/pyship-dockerd.log)" >&2
exit 1
