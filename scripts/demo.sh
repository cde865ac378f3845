#!/usr/bin/env bash
# The demo: takes examples/flask (or the example named as $1) from source to a running
# container that answers HTTP, offline: pyship detect, pyship init, pyship check, then
# pyship build (no Dockerfile, no docker build: dependencies resolved on the local index
# and installed by pyship into layers on the local base image), pyship check --image, and
# the container.
set -euo pipefail
cd "$(dirname "$0")/.."
example=${1:-flask}
bash scripts/fixtures.sh
cache=${PYSHIP_FIXTURES:-/var/cache/pyship-fixtures}
base=${PYSHIP_BASE_IMAGE:-pyship-fixtures/python:3.11-slim}
go build -o bin/pyship ./cmd/pyship
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$cache/index" >/dev/null 2>&1 &
server=$!
name=pyship-demo-$$
cleanup() { kill "$server" 2>/dev/null || true; docker rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
cp -r "examples/$example" "$work/app"
echo "== pyship detect"
bin/pyship detect "$work/app"
echo; echo "== pyship init"
bin/pyship init "$work/app"
echo; echo "== pyship check"
bin/pyship check "$work/app"
echo; echo "== pyship build (base $base, index on 127.0.0.1:$port)"
bin/pyship build "$work/app" --base "$base" -i "http://127.0.0.1:$port/simple/" -t "pyship-demo/$example"
echo; echo "== pyship check --image pyship-demo/$example"
bin/pyship check --image "pyship-demo/$example"
app_port=$(bin/pyship detect "$work/app" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["port"])')
docker run -d --name "$name" -p "127.0.0.1::$app_port" -e DJANGO_SECRET_KEY=demo-only-not-secret "pyship-demo/$example" >/dev/null
host_port=$(docker port "$name" "$app_port/tcp" | head -1 | sed 's/.*://')
echo; echo "== GET http://127.0.0.1:$host_port/"
for _ in $(seq 1 60); do
  if body=$(curl -fsS "http://127.0.0.1:$host_port/" 2>/dev/null); then
    echo "$body"
    echo "== the container runs as user $(docker inspect -f '{{.Config.User}}' "$name")"
    exit 0
  fi
  sleep 1
done
echo "the app did not answer; its logs:" >&2
docker logs "$name" >&2
exit 1
