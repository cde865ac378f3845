#!/usr/bin/env bash
# Installs the Debian packages a cluster needs: etcd (control plane); containerd, runc and the CNI
# plugins (the real node). Only what is missing, with one apt-get update.
set -euo pipefail
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
command -v flock >/dev/null || need+=(util-linux)
command -v iptables >/dev/null || need+=(iptables)
command -v docker-registry >/dev/null || need+=(docker-registry)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[ ${#need[@]} -eq 0 ] && exit 0
echo "k8s: apt-get install ${need[*]}"
# The packages' services (etcd, containerd) must not start on the host: the tests start their own
# on free ports. policy-rc.d answering 101 is Debian's way to say so; add one only for this install.
policy=/usr/sbin/policy-rc.d
added=
if [ ! -e $policy ]; then
  printf '#!/bin/sh\nexit 101\n' > $policy && chmod 0755 $policy && added=1
fi
trap '[ -n "$added" ] && rm -f $policy' EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
