#!/usr/bin/env bash
# Runs the README's offline quick start exactly as written, with two changes so that it
# can run beside other work: the index server and the gateway get free ports, and
# the state directory is a temporary one. Fails when any command fails or when an
# answer is not the one the README shows in its comment.
set -euo pipefail
cd "$(dirname "$0")/.."
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
iport=$(free); gport=$(free)
# The quick start runs pyship init in examples/flask, which writes three files there:
# they are removed afterwards, so the example must hold no untracked files beforehand.
if [ -n "$(git status --porcelain --untracked-files=all examples/flask 2>/dev/null)" ]; then
  echo "readme-quickstart: examples/flask has changes or untracked files; commit or remove them first" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'git clean -fq examples/flask; rm -rf "$work"' EXIT
export PYSHIP_STATE_DIR="$work/state" PYSHIP_GATEWAY="127.0.0.1:$gport"
block=$(awk '/^## Quick start \(offline/{f=1; next} f && /^## /{exit} f && /^    /{print substr($0,5)}' README.md)
[ -n "$block" ] || { echo "readme-quickstart: no offline quick start in README.md" >&2; exit 1; }
script="$work/quickstart.sh"
{
  echo 'set -euo pipefail'
  echo 'trap '"'"'kill %1 2>/dev/null || true; bin/pyship down flask-demo --yes >/dev/null 2>&1 || true; bin/pyship gateway stop >/dev/null 2>&1 || true; docker rmi flask-demo >/dev/null 2>&1 || true'"'"' EXIT'
  # curl's answer is checked against the comment the README gives it.
  printf '%s\n' "$block" \
    | sed -e "s/8765/$iport/g" -e "s/localhost:8080/localhost:$gport/g" -e "s/ -t flask-demo / -t flask-demo /" \
    | sed -E 's@^(curl [^#]*)#[[:space:]]*(.*)$@out=$(\1); echo "$out"; case "$out" in *'"'"'\2'"'"'*) ;; *) echo "README says: \2" >\&2; exit 1;; esac@' \
    | sed -E 's@^(docker run --rm -p 5000:5000 flask-demo)$@cid=$(docker run -d --rm -p 127.0.0.1::5000 flask-demo); hp=$(docker port $cid 5000/tcp | head -1 | sed "s/.*://"); for i in $(seq 30); do curl -fsS http://127.0.0.1:$hp/ \&\& break; sleep 1; done; docker rm -f $cid >/dev/null@'
  echo 'sleep 1 # let the index server start before the first request'
} > "$script"
# The index server starts in the background before anything uses it: move the sleep.
python3 - "$script" <<'PY'
import sys
p=sys.argv[1]; lines=open(p).read().split('\n')
sleep=[l for l in lines if l.startswith('sleep 1 #')]
lines=[l for l in lines if not l.startswith('sleep 1 #')]
i=next(i for i,l in enumerate(lines) if 'http.server' in l)
lines[i+1:i+1]=sleep
open(p,'w').write('\n'.join(lines))
PY
echo "== README offline quick start (index :$iport, gateway :$gport)"
bash "$script"
echo "== README offline quick start: every command worked as written"
