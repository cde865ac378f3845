#!/usr/bin/env bash
# Stops the test cluster cluster-up.sh started in WORKDIR and undoes every change its node made to
# the host, then deletes WORKDIR (keys included). usage: cluster-down.sh WORKDIR
# Idempotent: each step checks what is still there, so it can run after a partial start, after a
# crash, or twice. Set PYSHIP_K8S_KEEP=1 to keep WORKDIR (logs) after everything is stopped.
set -uo pipefail # no -e: one step failing must not leave the later ones undone
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
W=${1:?usage: cluster-down.sh WORKDIR}
[ -d "$W" ] || exit 0
W=$(cd "$W" && pwd)
case $W in /) echo "k8s: refusing WORKDIR /" >&2; exit 2 ;; esac
C=$W/containerd
status=0
say() { echo "k8s: down: $*"; }
node=; [ -f "$W/state/node-started" ] && node=1

# ours PID: the process is one this cluster started (its command line names WORKDIR), not a
# later process that got the same pid.
ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -qF -- "$W"; }
# stop NAME: SIGTERM the process in pids/NAME, SIGKILL after 20 s.
stop() {
  local f=$W/pids/$1 pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if ours "$pid"; then
    kill "$pid" 2>/dev/null
    for i in $(seq 100); do ours "$pid" || break; sleep 0.2; done
    if ours "$pid"; then kill -9 "$pid" 2>/dev/null; say "killed $1 ($pid) after 20s"; else say "stopped $1"; fi
  fi
  rm -f "$f"
}
running() { [ -f "$W/pids/$1" ] && ours "$(cat "$W/pids/$1")"; }

# 1. Pods first, while the kubelet still runs: it tears each sandbox down through CNI (veth, IP,
#    network namespace) only for pods it is told to delete. The controllers stop before, so
#    nothing recreates them.
if running kubelet && running kube-apiserver; then
  stop kube-controller-manager
  stop kube-scheduler
  API=$(cat "$W/state/api")
  api() { curl -sS --max-time 10 --cacert "$W/pki/ca.crt" --cert "$W/pki/admin.crt" --key "$W/pki/admin.key" "$@"; }
  for ns in $(api "$API/api/v1/namespaces" | python3 -c 'import json,sys; print(" ".join(i["metadata"]["name"] for i in json.load(sys.stdin)["items"]))'); do
    api -X DELETE "$API/api/v1/namespaces/$ns/pods?gracePeriodSeconds=2" -o /dev/null
  done
  left=?
  for i in $(seq 120); do
    left=$(api "$API/api/v1/pods" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))') || left=?
    [ "$left" = 0 ] && break
    sleep 0.5
  done
  say "pods left on the node: $left"
fi

# 2. The Kubernetes processes.
for p in kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver; do stop $p; done

# 3. kube-proxy's rules (iptables nat/filter KUBE-*, and nftables/ipvs if any): its own cleanup.
if [ -n "$node" ]; then
  bin=$(cat "$W/state/k8s-bin" 2>/dev/null || echo "$K8S_BIN")
  if [ -x "$bin/kube-proxy" ]; then
    "$bin/kube-proxy" --cleanup > "$W/logs/kube-proxy-cleanup.log" 2>&1 || say "kube-proxy --cleanup failed (see its log)"
  fi
  # 4. What the kubelet adds (KUBE-FIREWALL in INPUT/OUTPUT, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT,
  #    ...) and whatever kube-proxy left: jumps from the built-in chains, then the chains.
  for ipt in iptables ip6tables; do
    command -v $ipt >/dev/null || continue
    for t in filter nat mangle; do
      $ipt -w 5 -t $t -S 2>/dev/null | grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j KUBE-' |
        while read -r -a rule; do rule[0]=-D; $ipt -w 5 -t $t "${rule[@]}"; done
      chains=$($ipt -w 5 -t $t -S 2>/dev/null | awk '/^-N KUBE-/ {print $2}')
      for c in $chains; do $ipt -w 5 -t $t -F "$c"; done
      for c in $chains; do $ipt -w 5 -t $t -X "$c" || status=1; done
      [ -n "$chains" ] && say "removed $ipt $t chains: $(echo $chains)"
    done
  done
  # Tables and built-in chains iptables-nft created for those rules, now empty.
  [ -f "$W/state/nft-before.json" ] && command -v nft >/dev/null && python3 "$here/nft-leftovers.py" "$W/state/nft-before.json"
fi

# 5. Containers the kubelet did not get to delete: kill them through containerd, then through runc
#    (its state is under WORKDIR/runc), so no shim or container process outlives the cluster.
if running containerd; then
  ctr() { command ctr --address "$C/containerd.sock" -n k8s.io "$@"; }
  for t in $(ctr tasks ls -q 2>/dev/null); do ctr tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  for t in $(ctr tasks ls -q 2>/dev/null); do
    for i in $(seq 25); do ctr tasks delete "$t" >/dev/null 2>&1 && break; sleep 0.2; done
  done
fi
stop containerd
# The ids of this node's sandboxes and containers, for libcni's cache below.
ids=$(ls "$W"/runc/*/ "$C/root/io.containerd.grpc.v1.cri/sandboxes" 2>/dev/null | grep -E '^[0-9a-f]{64}$' | sort -u)
# The shim runs runc with --root WORKDIR/runc/<containerd namespace>.
for root in "$W"/runc/*/; do
  [ -d "$root" ] || continue
  for id in $(runc --root "$root" list -q 2>/dev/null); do
    runc --root "$root" delete --force "$id" 2>/dev/null && say "killed and deleted runc container $id"
  done
done
# Shims of this containerd (their -address is its socket) that lost their containers.
for pid in $(pgrep -f -- "-address $C/containerd.sock" 2>/dev/null); do
  ours "$pid" && kill -9 "$pid" 2>/dev/null && say "killed shim $pid"
done

# A killed shim leaves its socket in /run/containerd/s, next to those of the host's containerd:
# remove only sockets that are new since the node started and that nothing listens on.
if [ -f "$W/state/shim-sockets-before" ] && [ -d /run/containerd/s ]; then
  listening=$(ss -xlH 2>/dev/null | awk '{print $5}')
  for s in /run/containerd/s/*; do
    [ -S "$s" ] || continue
    grep -qxF "$(basename "$s")" "$W/state/shim-sockets-before" && continue
    grep -qxF "$s" <<<"$listening" && continue
    rm -f "$s" && say "removed stale shim socket $s"
  done
fi

# 6. Network namespaces containerd made for pods (/run/netns/cni-*) that are still there, and
#    libcni's result cache for this network.
if [ -n "$node" ] && [ -d /run/netns ]; then
  for ns in /run/netns/cni-*; do
    [ -e "$ns" ] || continue
    grep -qxF "$(basename "$ns")" "$W/state/netns-before" 2>/dev/null && continue
    umount "$ns" 2>/dev/null; rm -f "$ns" && say "removed netns $ns"
  done
fi
# Normally CNI DEL removes these; after a crash they stay (the loopback network is containerd's
# own "cni-loopback").
rm -f /var/lib/cni/results/pyship-test-* 2>/dev/null
for id in $ids; do rm -f /var/lib/cni/results/*-"$id"-* 2>/dev/null; done

# 7. The rest of the processes.
for p in registry etcd; do stop $p; done

# 8. Mounts under WORKDIR: the kubelet bind-mounts its root onto itself (rshared), pod volumes
#    (tmpfs for Secrets and tokens), containerd's overlay rootfs and sandbox shm. Deepest first.
mounts() { awk -v w="$W/" 'index($5, w) == 1 || $5 == substr(w, 1, length(w) - 1) {print $5}' /proc/self/mountinfo | sort -r -u; }
for m in $(mounts); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || { say "cannot unmount $m"; status=1; }; done

# 9. The CNI bridge (its veths went with the pods' namespaces).
if [ -f "$W/state/bridge" ]; then
  br=$(cat "$W/state/bridge")
  ip link show "$br" >/dev/null 2>&1 && ip link del "$br" && say "removed bridge $br"
fi

# 10. Kernel settings the kubelet (vm.overcommit_memory, kernel.panic, ...) or the CNI bridge
#     (ip_forward) changed: back to the values recorded before the node started.
if [ -f "$W/state/sysctl" ]; then
  while IFS='=' read -r key val; do
    [ "$(sysctl -n "$key" 2>/dev/null)" = "$val" ] && continue
    sysctl -q -w "$key=$val" >/dev/null && say "restored $key=$val"
  done < "$W/state/sysctl"
fi

# 11. The kubelet's cgroups (kubepods, its QoS classes, leftover pod cgroups), in every hierarchy,
#     if they did not exist before. rmdir removes only empty cgroups, deepest first.
if [ -n "$node" ]; then
  for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/kubepods.slice; do
    [ -d "$c" ] || continue
    grep -qxF "$c" "$W/state/cgroups-before" 2>/dev/null && continue
    # This node's kubelet made the hierarchy, so whatever still runs in it is one of its pods'
    # processes that outlived containerd, runc and the shims: kill them (by pid).
    for i in $(seq 25); do
      pids=$(find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
      [ -z "$pids" ] && break
      [ "$i" = 1 ] && say "killing pod processes left in $c: $(echo $pids)"
      kill -9 $pids 2>/dev/null
      sleep 0.2
    done
    find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
    [ -d "$c" ] && { say "cgroup $c still in use"; status=1; }
  done
fi

# 12. Files at fixed host paths: the kubelet's /var/log/containers links into WORKDIR, and the
#     folders the node created (removed only if this cluster created them and they are empty).
if [ -d /var/log/containers ]; then
  for l in /var/log/containers/*; do
    [ -L "$l" ] && case $(readlink "$l") in "$W"/*) rm -f "$l" ;; esac
  done
fi
if [ -f "$W/state/created-dirs" ]; then
  while read -r d; do
    [ -d "$d" ] || continue
    # The kubelet's device-plugin socket ignores --root-dir: /var/lib/kubelet/device-plugins.
    [ "$d" = /var/lib/kubelet ] && rm -rf "$d/device-plugins"
    find "$d" -depth -type d -empty -delete 2>/dev/null
    [ -d "$d" ] && say "$d (created by this cluster) is not empty; left in place"
  done < "$W/state/created-dirs"
fi

# 13. WORKDIR itself (PKI keys, etcd data, containerd root), unless something is still mounted
#     there: rm -rf through a mount would reach outside it.
if [ -n "$(mounts)" ]; then
  say "mounts remain under $W; not deleting it"; status=1
elif [ "${PYSHIP_K8S_KEEP:-}" = 1 ]; then
  rm -rf "$W/pki" "$W/etcd"
  say "kept $W (logs) without its keys"
else
  rm -rf "$W"
fi
exit $status
