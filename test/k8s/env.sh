# Shared settings for the test/k8s scripts (sourced, not run).
# One pinned Kubernetes version: v1.35 is the newest line verified on this host's containerd 1.6
# and cgroup v1 (see docs in README.md here); the staging modules share its minor and patch.
K8S_VERSION=${K8S_VERSION:-v1.35.4}
K8S_STAGING_VERSION=v0.${K8S_VERSION#v1.}
# The fixtures cache CI keeps between runs; keyed by version so a bump rebuilds.
K8S_CACHE=${K8S_CACHE:-/var/cache/pyship-fixtures/k8s/$K8S_VERSION}
K8S_BIN=$K8S_CACHE/bin
K8S_BINARIES="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy"
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin

# k8s_log prints a timestamped line; the timings in CI's log come from here.
k8s_log() { echo "k8s: $(date +%T) $*"; }

# k8s_ldflags are the -ldflags that make a binary report $K8S_VERSION (--version), as the release
# build's do; build.sh's cache check and build-kubectl.sh's read it back.
k8s_ldflags() {
  local minor=${K8S_VERSION#v1.} p ld="-s -w"
  minor=${minor%%.*}
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  echo "$ld"
}
