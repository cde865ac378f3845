#!/usr/bin/env bash
# Throwaway PKI for one test cluster: usage pki.sh DIR NODE_NAME SERVICE_IP
# A CA, the API server's serving certificate, one client certificate per component (the
# Kubernetes identity is the certificate's CN, the groups its O), and the service-account
# signing key. Everything lives in DIR and is deleted with the cluster's work dir.
set -euo pipefail
dir=$1 node=$2 service_ip=$3
mkdir -p "$dir"
cd "$dir"
umask 077 # keys 0600
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
# sign NAME SUBJECT EXTENSIONS: a certificate for NAME.key signed by the CA, valid two days (a test
# cluster lives minutes; a short validity keeps a leaked key worthless).
sign() {
  printf '%s\n' "$3" > "$1.ext"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
key ca
openssl req -x509 -new -key ca.key -subj "/CN=pyship-test-ca" -days 2 -out ca.crt 2>/dev/null
key apiserver
sign apiserver "/CN=kube-apiserver" "subjectAltName=IP:127.0.0.1,IP:$service_ip,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
client() { key "$1"; sign "$1" "$2" "extendedKeyUsage=clientAuth"; }
client admin "/CN=pyship-test-admin/O=system:masters"
client controller-manager "/CN=system:kube-controller-manager"
client scheduler "/CN=system:kube-scheduler"
client kubelet "/CN=system:node:$node/O=system:nodes"
client kube-proxy "/CN=system:kube-proxy"
client apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client/O=system:masters"
# Service-account tokens are signed with this key and verified with its public half.
key sa
openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
chmod 0644 ./*.crt sa.pub
