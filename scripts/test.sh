#!/usr/bin/env bash
# The whole test suite from a fresh machine: fixtures, formatting, vet, staticcheck, then
# every test (unit, fuzz seeds, detection fixtures, end to end against the Docker engine,
# the platform under -race).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fixtures.sh
# The dashboard's browser test drives a real headless Chromium (Debian's package); the
# demo does not need it, so it is installed here rather than with the fixtures.
if ! command -v chromium >/dev/null; then
  echo "test.sh: apt-get install chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export PATH="$(go env GOPATH)/bin:$PATH"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted" >&2; exit 1; fi
go vet ./...
command -v staticcheck >/dev/null || GOFLAGS= go install honnef.co/go/tools/cmd/staticcheck@latest
staticcheck ./...
# The platform (gateway, deploys, state) runs under the race detector, its end-to-end
# test included; everything else once without it.
go test -count=1 -timeout 40m -skip '^TestPlatform' ./...
go test -count=1 -timeout 20m -race ./internal/gateway ./internal/platform ./internal/store
go test -count=1 -timeout 20m -race -run '^TestPlatform' ./test/e2e
# The README's offline quick start, as written (free ports, a temporary state directory).
bash scripts/readme-quickstart.sh
# Opt-in, as it stops every container on the machine (yours too): the engine restarts
# under two apps. CI sets PYSHIP_TEST_ENGINE_RESTART=1 (.ci/run).
if [ "${PYSHIP_TEST_ENGINE_RESTART:-}" = 1 ]; then
  go test -count=1 -timeout 10m -race -run '^TestEngineRestart$' ./test/e2e
else
  echo "test.sh: engine-restart test skipped (it restarts dockerd: PYSHIP_TEST_ENGINE_RESTART=1 bash scripts/test.sh runs it)"
fi
# Opt-in, as they build Kubernetes (5-8 min once, then cached under /var/cache/pyship-fixtures/k8s)
# and their node adds iptables chains, a bridge and mounts to the host until its teardown. CI sets
# PYSHIP_TEST_K8S=1 (.ci/run).
if [ "${PYSHIP_TEST_K8S:-}" = 1 ]; then
  NODE=real bash test/k8s/run.sh
else
  echo "test.sh: Kubernetes tests skipped (a real cluster with a node on this host: PYSHIP_TEST_K8S=1 bash scripts/test.sh runs them)"
fi
