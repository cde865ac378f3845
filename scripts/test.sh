#!/usr/bin/env bash
# The whole test suite from a fresh machine: fixtures, formatting, vet, staticcheck, then
# every test (unit, fuzz seeds, detection fixtures, end to end against the Docker engine).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fixtures.sh
export PATH="$(go env GOPATH)/bin:$PATH"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted" >&2; exit 1; fi
go vet ./...
command -v staticcheck >/dev/null || GOFLAGS= go install honnef.co/go/tools/cmd/staticcheck@latest
staticcheck ./...
go test -count=1 -timeout 40m ./...
