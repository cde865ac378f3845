#!/usr/bin/env bash
# The Kubernetes tests from a fresh machine: Debian packages, the Kubernetes binaries (built once,
# then cached), a throwaway cluster, the Go tests in test/k8s against it, and the teardown, which
# runs whatever happens (trap). NODE=real (what scripts/test.sh asks for) adds a kubelet,
# kube-proxy and containerd, which change the host's iptables and network until the teardown;
# NODE=none starts the control plane only, which changes nothing outside its work dir.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/env.sh"
export NODE=${NODE:-real}

bash "$here/deps.sh"
t=$(date +%s)
bash "$here/build.sh"
k8s_log "TIMING binaries ready in $(( $(date +%s) - t ))s"

W=$(mktemp -d /tmp/pyship-k8s.XXXXXX)
down() {
  local rc=$?
  if [ $rc -ne 0 ] && [ -d "$W/logs" ]; then
    for l in "$W"/logs/*.log; do echo "--- last lines of $(basename "$l")"; tail -n 15 "$l"; done >&2
  fi
  t=$(date +%s)
  bash "$here/cluster-down.sh" "$W" || rc=1
  k8s_log "TIMING cluster down in $(( $(date +%s) - t ))s"
  exit $rc
}
trap down EXIT
trap 'exit 130' INT TERM

t=$(date +%s.%N)
bash "$here/cluster-up.sh" "$W"
k8s_log "TIMING cluster up (NODE=$NODE) in $(printf '%.1f' "$(echo "$(date +%s.%N) - $t" | bc)")s"
set -a
. "$W/cluster.env"
set +a
cd "$repo"
go test -count=1 -timeout 15m -v ./test/k8s 2>&1 | grep -Ev '^=== (RUN|PAUSE|CONT)'
