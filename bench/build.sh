#!/usr/bin/env bash
# pyship build against docker build, same base image, same local index, same machine,
# same run. For each example: (a) cold caches, (b) a code-only change, (c) no change,
# into the local engine; then a registry push (cold and after a code-only change) and a
# file output (pyship's OCI layout against docker save). Prints wall times, the ratio
# docker/pyship (higher is better for pyship), pyship's peak memory, image sizes, and
# the peak memory of a build with a 300 MB dependency.
#
#   bash bench/build.sh            # all examples
#   bash bench/build.sh flask      # one
set -euo pipefail
cd "$(dirname "$0")/.."
examples=("${@:-flask fastapi django}")
read -r -a examples <<<"${examples[*]}"
bash scripts/fixtures.sh >/dev/null
mkdir -p bin && go build -o bin/pyship ./cmd/pyship
pyship=$PWD/bin/pyship
base=pyship-fixtures/python:3.11-slim
fixtures=${PYSHIP_FIXTURES:-/var/cache/pyship-fixtures}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
iport=$(freeport)
(cd "$fixtures/index" && exec python3 -m http.server "$iport" --bind 127.0.0.1 >/dev/null 2>&1) & pids+=($!)
index=http://127.0.0.1:$iport/simple/
rport=$(freeport)
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$work/registry" "$rport" >"$work/registry.yml"
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 & pids+=($!)
reg=127.0.0.1:$rport
for _ in $(seq 50); do curl -fs "http://$reg/v2/" >/dev/null && curl -fs "$index" >/dev/null && break; sleep 0.2; done

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2-$1:.2f}')"; }
ratio() { python3 -c "print(f'{$1/$2:.1f}x' if $2>0 else '-')"; }
dbuild() { # docker build of the Dockerfile pyship init wrote (classic builder here: no buildx)
  DOCKER_BUILDKIT=0 docker build -q --network host --build-arg BASE_IMAGE=$base --build-arg PIP_INDEX_URL="$index" -t "$2" "$1" >/dev/null 2>"$work/dlog" || { cat "$work/dlog"; exit 1; }
}
pbuild() { # pyship build with the example's one cache (as a user has); peak RSS (KB) to $work/rss
  /usr/bin/time -f %M -o "$work/rss" "$pyship" build "$1" --base "$base" -i "$index" --cache-dir "$work/cache-$2" "${@:3}" >"$work/out" 2>"$work/log" || { cat "$work/log"; exit 1; }
  cat "$work/rss" >>"$work/rss-all"
}
timeit() { local t0; t0=$(now); "$@"; secs "$t0" "$(now)"; }
touchcode() { printf '\n# bench change %s\n' "$(now)" >>"$1"; }

rows=()
row() { rows+=("$(printf '%-8s %-34s %9s %9s %7s' "$1" "$2" "$3" "$4" "$(ratio "$3" "$4")")"); }
sizes=()
uploads=()
for ex in "${examples[@]}"; do
  src=$work/$ex
  cp -r "examples/$ex" "$src"
  "$pyship" init "$src" >/dev/null
  # The module the Plan serves is the code a developer edits.
  main=$src/$("$pyship" detect "$src" --json | python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["entrypoint"].split(":")[0].replace(".","/")+".py")')
  dt=bench-docker/$ex:latest pt=bench-pyship/$ex:latest
  echo "== $ex" >&2
  docker rmi -f "$dt" "$pt" >/dev/null 2>&1 || true; docker image prune -f >/dev/null
  d=$(timeit dbuild "$src" "$dt"); p=$(timeit pbuild "$src" "$ex" -t "$pt"); row "$ex" "engine: cold" "$d" "$p"
  touchcode "$main"
  d=$(timeit dbuild "$src" "$dt"); p=$(timeit pbuild "$src" "$ex" -t "$pt"); row "$ex" "engine: code-only change" "$d" "$p"
  d=$(timeit dbuild "$src" "$dt"); p=$(timeit pbuild "$src" "$ex" -t "$pt"); row "$ex" "engine: no change" "$d" "$p"
  # Registry: docker build + docker push against pyship build --push, fresh repositories.
  touchcode "$main"
  d=$(timeit bash -c "$(declare -f dbuild); base=$base index=$index work=$work; dbuild '$src' '$reg/docker-$ex:1' && docker push -q '$reg/docker-$ex:1' >/dev/null")
  p=$(timeit pbuild "$src" "$ex" --push "$reg/pyship-$ex:1"); row "$ex" "registry: first push" "$d" "$p"
  touchcode "$main"
  d=$(timeit bash -c "$(declare -f dbuild); base=$base index=$index work=$work; dbuild '$src' '$reg/docker-$ex:2' && docker push -q '$reg/docker-$ex:2' >/dev/null")
  p=$(timeit pbuild "$src" "$ex" --push "$reg/pyship-$ex:2" --json); row "$ex" "registry: code-only change" "$d" "$p"
  uploads+=("$(python3 -c "import json; o=[x for x in json.load(open('$work/out'))['outputs'] if x['output']=='registry'][0]; print(f\"$ex: a code-only change uploaded {o['sent_layers']} blobs, {o['sent_bytes']} bytes\")")")
  # Files: docker save of the image against pyship's OCI layout (base layers included).
  d=$(timeit docker save -o "$work/$ex.tar" "$dt"); p=$(timeit pbuild "$src" "$ex" --output "oci:$work/$ex-oci"); row "$ex" "file: docker save vs oci layout" "$d" "$p"
  ds=$(docker image inspect -f '{{.Size}}' "$dt"); ps=$(docker image inspect -f '{{.Size}}' "$pt")
  sizes+=("$(printf '%-8s docker build %6.1f MB   pyship build %6.1f MB' "$ex" "$(python3 -c "print($ds/1e6)")" "$(python3 -c "print($ps/1e6)")")")
  docker rmi -f "$dt" "$pt" "$reg/docker-$ex:1" "$reg/docker-$ex:2" >/dev/null 2>&1 || true
done

# Memory with a large dependency set: one 300 MB wheel of incompressible data next to Flask.
big=$work/bigproj; mkdir -p "$big" "$work/wheels"
cp examples/flask/app.py "$big/"; printf 'flask\nbigdist\n' >"$big/requirements.txt"
python3 - "$work/wheels" <<'PY'
import base64, hashlib, os, sys, zipfile
out = sys.argv[1]; name = "bigdist-1.0-py3-none-any.whl"; rec = []
with zipfile.ZipFile(os.path.join(out, name), "w", zipfile.ZIP_STORED) as z:
    files = {f"bigdist/blob{i}.bin": os.urandom(30 << 20) for i in range(10)}
    files["bigdist/__init__.py"] = b""
    files["bigdist-1.0.dist-info/METADATA"] = b"Metadata-Version: 2.1\nName: bigdist\nVersion: 1.0\n"
    files["bigdist-1.0.dist-info/WHEEL"] = b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    for n, b in files.items():
        z.writestr(n, b)
        rec.append(f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()},{len(b)}")
    rec.append("bigdist-1.0.dist-info/RECORD,,")
    z.writestr("bigdist-1.0.dist-info/RECORD", "\n".join(rec) + "\n")
PY
peak=$(sort -n "$work/rss-all" | tail -1)
bt=$(timeit pbuild "$big" big -t bench-pyship/big:latest --find-links "$work/wheels")
bigrss=$(cat "$work/rss")
bo=$(timeit pbuild "$big" big --output "oci:$work/big-oci" -f "$work/wheels")
bigoci=$(cat "$work/rss")
docker rmi -f bench-pyship/big:latest >/dev/null 2>&1 || true

echo
printf '%-8s %-34s %9s %9s %7s\n' example case "docker s" "pyship s" ratio
printf '%s\n' "${rows[@]}"
echo
printf '%s\n' "${sizes[@]}"
echo
printf '%s\n' "${uploads[@]}"
echo "pyship peak memory (max RSS) over the runs above: $((peak / 1024)) MB"
echo "300 MB dependency: cold build into the engine ${bt}s, peak $((bigrss / 1024)) MB; OCI layout ${bo}s, peak $((bigoci / 1024)) MB"
