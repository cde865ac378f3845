#!/usr/bin/env bash
# Starts a throwaway Kubernetes cluster for the tests: usage cluster-up.sh WORKDIR
#
# Control plane (always): etcd, kube-apiserver, kube-controller-manager, kube-scheduler on free
# loopback ports, with a fresh PKI; no change to the host outside WORKDIR.
# NODE=real adds a node: a loopback registry, a private containerd (own socket, root, state and runc
# root under WORKDIR), a CNI bridge, kubelet and kube-proxy. Those DO change the host (iptables
# chains, a bridge, network namespaces, mounts, a few sysctls, cgroups): cluster-down.sh undoes
# each one, and runs by itself when this script fails.
#
# Writes WORKDIR/cluster.env: KUBECONFIG and what the Go tests in this folder read.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/env.sh"
W=${1:?usage: cluster-up.sh WORKDIR}
NODE=${NODE:-none}
case $NODE in none | real) ;; *) echo "k8s: NODE must be none or real, not $NODE" >&2; exit 2 ;; esac

mkdir -p "$W"
W=$(cd "$W" && pwd)
# cluster-down.sh finds everything it must undo from what this script records in WORKDIR.
trap 'rc=$?; if [ $rc -ne 0 ]; then echo "k8s: cluster-up failed (exit $rc); tearing down" >&2; "$here/cluster-down.sh" "$W" >&2 || true; fi' EXIT
trap 'exit 130' INT TERM

mkdir -p "$W"/{logs,pids,state,kubeconfig}
start=$(date +%s.%N)
elapsed() { printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)"; }

free_port() { # ADDRESS: a TCP port free on ADDRESS now
  python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"
}
# spawn NAME CMD...: start CMD in the background, its output in logs/NAME.log, its pid in pids/NAME.
spawn() {
  local name=$1; shift
  setsid "$@" > "$W/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$W/pids/$name"
}
# wait_until DESCRIPTION SECONDS LOG CMD...: poll CMD (bounded); on timeout show LOG's tail and fail.
wait_until() {
  local what=$1 limit=$2 log=$3; shift 3
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge $deadline ]; then
      echo "k8s: $what: not ready after ${limit}s; last lines of $log:" >&2
      tail -n 30 "$W/logs/$log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

# Cluster addresses: a service range and a pod subnet that overlap no network this host already
# routes (eth0, docker's bridges and user networks), so the bridge's routes never shadow them.
read -r SERVICE_CIDR SERVICE_IP POD_CIDR <<<"$(
  { ip -4 -o addr show | awk '{print $4}'; ip -4 route show | awk '$1 != "default" {print $1}'
    docker network inspect $(docker network ls -q 2>/dev/null) -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' 2>/dev/null | tr ' ' '\n'
  } | python3 -c '
import ipaddress, random, sys
used = []
for line in sys.stdin:
    try: used.append(ipaddress.ip_network(line.strip(), strict=False))
    except ValueError: pass
free = lambda n: not any(n.overlaps(u) for u in used if u.version == 4)
for third in random.sample(range(1, 255), 254):
    svc = ipaddress.ip_network(f"10.96.{third}.0/24"); pod = ipaddress.ip_network(f"10.244.{third}.0/24")
    if free(svc) and free(pod):
        print(svc, next(svc.hosts()), pod); break
else:
    sys.exit("no free 10.96.x.0/24 + 10.244.x.0/24 pair")')"
[ -n "$POD_CIDR" ] || { echo "k8s: could not choose cluster subnets" >&2; exit 1; }
NODE_NAME=pyship-k8s-node
ETCD_PORT=$(free_port 127.0.0.1) ETCD_PEER_PORT=$(free_port 127.0.0.1)
API_PORT=$(free_port 127.0.0.1) CM_PORT=$(free_port 127.0.0.1) SCHED_PORT=$(free_port 127.0.0.1)
API=https://127.0.0.1:$API_PORT
echo "$API" > "$W/state/api"
P=$W/pki
bash "$here/pki.sh" "$P" "$NODE_NAME" "$SERVICE_IP"

# kubeconfig NAME CERT: a kubeconfig for the client certificate pki/CERT.
kubeconfig() {
  cat > "$W/kubeconfig/$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: pyship-test
  cluster: {server: "$API", certificate-authority: "$P/ca.crt"}
users:
- name: $1
  user: {client-certificate: "$P/$2.crt", client-key: "$P/$2.key"}
contexts:
- name: pyship-test
  context: {cluster: pyship-test, user: $1}
current-context: pyship-test
EOF
  chmod 0600 "$W/kubeconfig/$1"
}
for c in admin controller-manager scheduler kubelet kube-proxy; do kubeconfig $c $c; done
api() { curl -sS --max-time 5 --cacert "$P/ca.crt" --cert "$P/admin.crt" --key "$P/admin.key" "$API$1"; }

spawn etcd etcd --name pyship-test --data-dir "$W/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "pyship-test=http://127.0.0.1:$ETCD_PEER_PORT"
wait_until etcd 30 etcd sh -c "curl -sf --max-time 2 http://127.0.0.1:$ETCD_PORT/health | grep -q true"
k8s_log "etcd healthy after $(elapsed)s"

spawn kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --secure-port="$API_PORT" --advertise-address=127.0.0.1 \
  --cert-dir="$W/apiserver" --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" \
  --client-ca-file="$P/ca.crt" \
  --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --api-audiences=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --kubelet-client-certificate="$P/apiserver-kubelet-client.crt" --kubelet-client-key="$P/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --profiling=false
# The kubelet's node IP is not loopback, and its hostname resolves nowhere: without the address
# preference above, logs and exec through the API fail with "no such host".
api_ready() { [ "$(api /readyz)" = ok ]; }
wait_until kube-apiserver 90 kube-apiserver api_ready
k8s_log "kube-apiserver ready after $(elapsed)s"

spawn kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig="$W/kubeconfig/controller-manager" \
  --authentication-kubeconfig="$W/kubeconfig/controller-manager" --authorization-kubeconfig="$W/kubeconfig/controller-manager" \
  --bind-address=127.0.0.1 --secure-port="$CM_PORT" --cert-dir="$W/controller-manager" \
  --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
  --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" --profiling=false
spawn kube-scheduler "$K8S_BIN/kube-scheduler" \
  --kubeconfig="$W/kubeconfig/scheduler" \
  --authentication-kubeconfig="$W/kubeconfig/scheduler" --authorization-kubeconfig="$W/kubeconfig/scheduler" \
  --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" --cert-dir="$W/scheduler" \
  --leader-elect=false --profiling=false
wait_until kube-controller-manager 60 kube-controller-manager sh -c "curl -skf --max-time 2 https://127.0.0.1:$CM_PORT/healthz | grep -qx ok"
wait_until kube-scheduler 60 kube-scheduler sh -c "curl -skf --max-time 2 https://127.0.0.1:$SCHED_PORT/healthz | grep -qx ok"
k8s_log "control plane up after $(elapsed)s (API $API)"

cat > "$W/cluster.env" <<EOF
KUBECONFIG=$W/kubeconfig/admin
PYSHIP_K8S_KUBECONFIG=$W/kubeconfig/admin
PYSHIP_K8S_NODE=$NODE
PYSHIP_K8S_SERVICE_CIDR=$SERVICE_CIDR
EOF
[ "$NODE" = real ] || exit 0

# ---- the real node -------------------------------------------------------------------------
BRIDGE=pyshipk8s0
# One node per host: kubelet's and kube-proxy's iptables chains have fixed names.
if pgrep -x kubelet >/dev/null || pgrep -x kube-proxy >/dev/null; then
  echo "k8s: a kubelet or kube-proxy already runs on this host; refusing to start a second node" >&2; exit 1
fi
for ipt in iptables ip6tables; do
  if $ipt -w 5 -S KUBE-FIREWALL >/dev/null 2>&1 || $ipt -w 5 -t nat -S KUBE-SERVICES >/dev/null 2>&1; then
    echo "k8s: $ipt has KUBE-* chains: another Kubernetes node runs here, or a killed test run left them (cluster-down.sh WORKDIR of that run removes them)" >&2
    exit 1
  fi
done
NODE_IP=$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") print $(i+1)}')
[ -n "$NODE_IP" ] || NODE_IP=$(ip -4 -o addr show scope global | awk '{split($4, a, "/"); print a[1]; exit}')
[ -n "$NODE_IP" ] || { echo "k8s: no non-loopback IPv4 address for the node (kubelet refuses loopback)" >&2; exit 1; }

# What the node changes on the host, recorded before it does: cluster-down.sh restores it.
SYSCTLS="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes net.ipv4.ip_forward net.ipv4.conf.all.route_localnet net.netfilter.nf_conntrack_max
  net.netfilter.nf_conntrack_tcp_timeout_established net.netfilter.nf_conntrack_tcp_timeout_close_wait
  net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables"
for s in $SYSCTLS; do v=$(sysctl -n "$s" 2>/dev/null) && printf '%s=%s\n' "$s" "$v"; done > "$W/state/sysctl"
# Folders the kubelet, CNI and containerd create at fixed paths, if they do not exist yet.
for d in /run/netns /var/lib/cni /var/log/containers /var/lib/kubelet; do [ -e "$d" ] || echo "$d"; done > "$W/state/created-dirs"
for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/kubepods.slice; do [ -e "$c" ] && echo "$c"; done > "$W/state/cgroups-before" || true
ls /run/netns 2>/dev/null > "$W/state/netns-before" || true
# containerd 1.6 puts every shim's socket in /run/containerd/s, whatever its state dir: shared
# with the host's containerd.
ls /run/containerd/s 2>/dev/null > "$W/state/shim-sockets-before" || true
command -v nft >/dev/null && nft -j list ruleset > "$W/state/nft-before.json" 2>/dev/null
# The bridge is made here, not by the CNI plugin (which adopts it): creating a link is atomic, so
# of two clusters starting at once exactly one gets the node.
if ! ip link add "$BRIDGE" type bridge 2>/dev/null; then
  echo "k8s: bridge $BRIDGE exists: another test cluster runs its node, or a killed run left it (ip link del $BRIDGE)" >&2; exit 1
fi
echo "$BRIDGE" > "$W/state/bridge"
echo "$NODE_IP" > "$W/state/node-ip"
echo "$K8S_BIN" > "$W/state/k8s-bin"

# The loopback registry the tests push to and containerd pulls from.
REG_PORT=$(free_port 127.0.0.1)
REGISTRY=127.0.0.1:$REG_PORT
mkdir -p "$W/registry"
printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
  "$W/registry/data" "$REGISTRY" > "$W/registry/config.yml"
spawn registry docker-registry serve "$W/registry/config.yml"

# The sandbox ("pause") image: a static Go binary in an image FROM scratch, imported into
# containerd, so no pod ever needs registry.k8s.io. Its .invalid domain cannot resolve: a
# missing image fails here instead of reaching for the internet.
PAUSE_IMAGE=pyship.invalid/k8s-test/pause:1
mkdir -p "$W/images"
(cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$W/images/pause" ./test/k8s/cmd/pause \
  && CGO_ENABLED=0 go build -trimpath -o "$W/images/scratchimage" ./test/k8s/cmd/scratchimage)
"$W/images/scratchimage" -bin "$W/images/pause" -ref "$PAUSE_IMAGE" -tar "$W/images/pause.tar"

C=$W/containerd
mkdir -p "$C/certs.d/$REGISTRY" "$W/cni/net.d"
# containerd reaches the loopback registry over plain HTTP (it has no TLS).
cat > "$C/certs.d/$REGISTRY/hosts.toml" <<EOF
server = "http://$REGISTRY"
[host."http://$REGISTRY"]
  capabilities = ["pull", "resolve"]
EOF
cat > "$C/config.toml" <<EOF
version = 2
root = "$C/root"
state = "$C/state"
[grpc]
  address = "$C/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$C/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # Without CAP_SYS_RESOURCE (this VM) runc cannot set the oom_score_adj of -998 the kubelet asks
  # for: every sandbox fails with "can't get final child's PID from pipe". Clamp to containerd's.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        # runc's state under the work dir, not next to the host's containerd in /run/containerd.
        Root = "$W/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$W/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$C/certs.d"
EOF
cat > "$W/cni/net.d/10-pyship-test.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "pyship-test",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "dataDir": "$W/cni/ipam"}},
    {"type": "loopback"}
  ]
}
EOF
spawn containerd containerd --config "$C/config.toml"
ctr() { command ctr --address "$C/containerd.sock" -n k8s.io "$@"; }
wait_until containerd 30 containerd ctr version
ctr images import "$W/images/pause.tar" >/dev/null
wait_until registry 30 registry curl -sf --max-time 2 "http://$REGISTRY/v2/"
k8s_log "containerd and registry $REGISTRY up after $(elapsed)s"

KUBELET_PORT=$(free_port "$NODE_IP") KUBELET_HEALTHZ=$(free_port 127.0.0.1)
mkdir -p "$W/kubelet" "$W/podlogs"
cat > "$W/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$P/ca.crt"}
authorization: {mode: Webhook}
# This host has cgroup v1 and no systemd; kubelet 1.35 refuses cgroup v1 unless told otherwise.
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$C/containerd.sock
podLogsDir: $W/podlogs
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
rotateCertificates: false
serverTLSBootstrap: false
# A shared CI disk: never evict or garbage-collect because of it during a short test.
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF
echo started > "$W/state/node-started"
# --containerd: cadvisor's own containerd client (container stats) would otherwise dial
# /run/containerd/containerd.sock, which on many hosts is the engine's containerd.
spawn kubelet "$K8S_BIN/kubelet" --config="$W/kubelet.yaml" --kubeconfig="$W/kubeconfig/kubelet" \
  --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" \
  --root-dir="$W/kubelet" --cert-dir="$W/kubelet/pki" --containerd="$C/containerd.sock"
node_ready() {
  api "/api/v1/nodes/$NODE_NAME" | python3 -c '
import json, sys
n = json.load(sys.stdin)
sys.exit(0 if any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", [])) else 1)'
}
wait_until "node $NODE_NAME" 90 kubelet node_ready
k8s_log "node $NODE_NAME ($NODE_IP) Ready after $(elapsed)s"

PROXY_HEALTHZ=$(free_port 127.0.0.1)
# kube-proxy in iptables mode: Service ClusterIPs reachable from the host. Conntrack timeouts 0 =
# leave the host's values alone.
spawn kube-proxy "$K8S_BIN/kube-proxy" --kubeconfig="$W/kubeconfig/kube-proxy" \
  --hostname-override="$NODE_NAME" --proxy-mode=iptables --cluster-cidr="$POD_CIDR" \
  --conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 \
  --iptables-localhost-nodeports=false \
  --metrics-bind-address="127.0.0.1:$(free_port 127.0.0.1)" --healthz-bind-address="127.0.0.1:$PROXY_HEALTHZ"
# Its healthz answers 200 once the first full sync of the rules is done.
wait_until kube-proxy 60 kube-proxy curl -sf --max-time 2 "http://127.0.0.1:$PROXY_HEALTHZ/healthz"
k8s_log "kube-proxy programming services after $(elapsed)s"
cat >> "$W/cluster.env" <<EOF
PYSHIP_K8S_REGISTRY=$REGISTRY
PYSHIP_K8S_NODE_NAME=$NODE_NAME
PYSHIP_K8S_POD_CIDR=$POD_CIDR
EOF
