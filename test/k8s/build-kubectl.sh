#!/usr/bin/env bash
# Builds kubectl from the same k8s.io/kubernetes module as build.sh's five binaries, into
# $K8S_CACHE/kubectl/kubectl; skipped when that binary already reports $K8S_VERSION. Optional:
# the tests and CI never need it (bench/k8s-deploy.sh does, to compare pyship with kubectl).
#
# The module graph is build.sh's own: its wrapper module (go.mod, go.sum, the five mains) is
# copied and upstream's cmd/kubectl main added, so kubectl is linked against the dependency
# versions the cluster's binaries were, and build.sh's wrapper and cache check stay untouched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/k8s/env.sh
. "$here/env.sh"

KUBECTL=$K8S_CACHE/kubectl/kubectl
have_kubectl() {
  local v
  # Read whole, not piped into grep -q: kubectl's second line would meet a closed pipe, and
  # pipefail would call that a failure.
  v=$("$KUBECTL" version --client 2>/dev/null) || return 1
  grep -qx "Client Version: $K8S_VERSION" <<<"$v"
}

mkdir -p "$K8S_CACHE"
# build.sh's lock: a build of the five binaries in progress rewrites the wrapper copied below.
exec 9>"$K8S_CACHE/.build.lock"
flock 9
if have_kubectl; then
  k8s_log "kubectl $K8S_VERSION cached in $KUBECTL"
  exit 0
fi
wrapper=$K8S_CACHE/wrapper
if [ ! -f "$wrapper/go.mod" ] || [ ! -d "$wrapper/cmd" ]; then
  echo "k8s: no wrapper module in $wrapper (the cached binaries were built elsewhere); rebuild them here first: rm -rf $K8S_BIN && bash $here/build.sh" >&2
  exit 1
fi

start=$(date +%s)
work=$K8S_CACHE/kubectl/wrapper
rm -rf "$work" "$KUBECTL.tmp"
mkdir -p "$work"
cp -r "$wrapper/go.mod" "$wrapper/go.sum" "$wrapper/cmd" "$work/"
cd "$work"
src=$(go env GOMODCACHE)/k8s.io/kubernetes@$K8S_VERSION
[ -d "$src" ] || go mod download k8s.io/kubernetes@"$K8S_VERSION"
mkdir -p cmd/kubectl
install -m 0644 "$src/cmd/kubectl/kubectl.go" cmd/kubectl/main.go
# The five mains stay, so tidy keeps k8s.io/kubernetes's requirements and with them every
# version the five were built with; it only adds what kubectl imports besides (k8s.io/kubectl,
# already replaced by its published staging module).
go mod tidy
ld=$(k8s_ldflags)
k8s_log "building kubectl $K8S_VERSION (about 2-4 min on 2 cores after build.sh)"
CGO_ENABLED=0 nice -n 19 go build -trimpath -ldflags "$ld" -o "$KUBECTL.tmp" ./cmd/kubectl
mv "$KUBECTL.tmp" "$KUBECTL"
have_kubectl || { echo "k8s: the built kubectl does not report $K8S_VERSION" >&2; exit 1; }
k8s_log "built kubectl $K8S_VERSION in $(( $(date +%s) - start ))s into $KUBECTL"
