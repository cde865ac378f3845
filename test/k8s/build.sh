#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kube-proxy from the
# k8s.io/kubernetes module at $K8S_VERSION (Go module proxy only: no release downloads) into
# $K8S_BIN, and skips all of it when that folder already holds the five binaries of that version.
#
# k8s.io/kubernetes cannot be required as-is: its go.mod replaces the k8s.io/* staging modules
# with ./staging paths that are not in the module zip. A generated wrapper module requires it and
# points each of those replaces at the published staging module of the same version instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

have_binaries() {
  local b
  for b in $K8S_BINARIES; do
    [ -x "$K8S_BIN/$b" ] || return 1
    # --version is printed from the ldflags below; a binary of another version means rebuild.
    "$K8S_BIN/$b" --version 2>/dev/null | grep -qx "Kubernetes $K8S_VERSION" || return 1
  done
}

mkdir -p "$K8S_CACHE"
# Two runs (CI retry, a user in a second shell) must not build into the same folder at once.
exec 9>"$K8S_CACHE/.build.lock"
flock 9
if have_binaries; then
  k8s_log "binaries $K8S_VERSION cached in $K8S_BIN"
  exit 0
fi

start=$(date +%s)
work=$K8S_CACHE/wrapper
rm -rf "$work" "$K8S_CACHE/bin.tmp"
mkdir -p "$work"
cd "$work"
go mod download k8s.io/kubernetes@"$K8S_VERSION"
src=$(go env GOMODCACHE)/k8s.io/kubernetes@$K8S_VERSION
{
  echo "module pyship.test/k8sbins"
  echo
  echo "go 1.25.0"
  echo
  # Kubernetes' own go.mod pins this; newer defaults change behaviour it was tested with.
  echo "godebug default=go1.25"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  grep -E '=> \./staging/' "$src/go.mod" | awk -v v="$K8S_STAGING_VERSION" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
} > go.mod
# Each command's main package is upstream's, copied: the cmd/ folders are package main and cannot
# be imported. All five exist before tidy so it resolves every dependency at once.
for c in kube-apiserver:apiserver.go kube-controller-manager:controller-manager.go \
         kube-scheduler:scheduler.go kubelet:kubelet.go kube-proxy:proxy.go; do
  name=${c%%:*}
  mkdir -p "cmd/$name"
  install -m 0644 "$src/cmd/$name/${c#*:}" "cmd/$name/main.go"
done
go mod tidy
ld=$(k8s_ldflags)
k8s_log "building $K8S_BINARIES $K8S_VERSION (cold: about 5-8 min on 2 cores)"
mkdir -p "$K8S_CACHE/bin.tmp"
# One invocation so the five share the compilation of their common packages; nice so other work
# on the machine keeps its share of the cores.
CGO_ENABLED=0 nice -n 19 go build -trimpath -ldflags "$ld" -o "$K8S_CACHE/bin.tmp/" ./cmd/...
rm -rf "$K8S_BIN"
mv "$K8S_CACHE/bin.tmp" "$K8S_BIN"
have_binaries || { echo "k8s: built binaries do not report $K8S_VERSION" >&2; exit 1; }
k8s_log "built $K8S_VERSION in $(( $(date +%s) - start ))s into $K8S_BIN"
