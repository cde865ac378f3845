#!/usr/bin/env bash
# pyship deploy --target kubernetes against kubectl, same app, same cluster, same run: the time
# from the command to traffic on the new revision for a code-only change. pyship: build + push
# (one layer) + apply + all pods Ready + the Service switched, in one command. kubectl (built
# from the same k8s.io/kubernetes as the cluster): the image already pushed, `kubectl create
# secret` + `kubectl apply -f` of the Deployment pyship render writes for it, `kubectl rollout
# status`, then `kubectl apply -f` of the Service that selects it. Both sides wait for the same
# pods of the same image to start, so each side's own share is its total minus the pods' start
# (first new pod seen → last one Ready: the kubelet's pod start and the app's), timed by
# bench/k8swatch from the API server's watch. Also: pyship build --push alone of the same kind
# of change, and what that push uploads.
#
# A throwaway cluster with a real node (test/k8s/cluster-up.sh), torn down on exit whatever
# happens. One node per host: the script waits on /tmp/pyship-k8s-node.lock for other users.
#
#   bash bench/k8s-deploy.sh            # 5 rounds
#   ROUNDS=3 bash bench/k8s-deploy.sh
set -euo pipefail
# The timed steps run in functions called as $(...): a failed kubectl there must fail the run,
# not print a time.
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
repo=$PWD
# shellcheck source=test/k8s/env.sh
. test/k8s/env.sh
rounds=${ROUNDS:-5}
app=flask
pns=bench-pyship kns=bench-kubectl

bash test/k8s/deps.sh >&2
bash test/k8s/build.sh >&2
bash test/k8s/build-kubectl.sh >&2
bash scripts/fixtures.sh >/dev/null
mkdir -p bin && go build -o bin/pyship ./cmd/pyship && go build -o bin/k8swatch ./bench/k8swatch
pyship=$repo/bin/pyship
fixtures=${PYSHIP_FIXTURES:-/var/cache/pyship-fixtures}

work=$(mktemp -d /tmp/pyship-k8s-bench.XXXXXX)
W=
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$W" ]; then
    if [ $rc -ne 0 ]; then
      for l in "$work"/*.log; do [ -f "$l" ] && { echo "--- last lines of $(basename "$l")"; tail -n 15 "$l"; }; done >&2
    fi
    # The namespaces, pods and registry go with the cluster.
    bash test/k8s/cluster-down.sh "$W" >&2 || rc=1
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
iport=$(freeport)
(cd "$fixtures/index" && exec python3 -m http.server "$iport" --bind 127.0.0.1 >/dev/null 2>&1) & pids+=($!)
index=http://127.0.0.1:$iport/simple/

# One real node per host (fixed iptables chain and bridge names): wait for whoever has it.
exec 8>/tmp/pyship-k8s-node.lock
if ! flock -n 8; then
  k8s_log "waiting for /tmp/pyship-k8s-node.lock (another cluster with a node runs here)" >&2
  flock 8
fi
W=$(mktemp -d /tmp/pyship-k8s.XXXXXX)
NODE=real bash test/k8s/cluster-up.sh "$W" >&2
set -a
# shellcheck disable=SC1091 # written by cluster-up.sh
. "$W/cluster.env"
set +a
reg=$PYSHIP_K8S_REGISTRY
kubectl() { "$K8S_CACHE/kubectl/kubectl" --kubeconfig "$KUBECONFIG" --cache-dir "$work/kubecache" "$@"; }

# Without the lock's fd: only the cluster's own processes may keep the node lock held.
bin/k8swatch -kubeconfig "$KUBECONFIG" -namespace $pns -namespace $kns >"$work/events.jsonl" 2>"$work/k8swatch.log" 8>&- & pids+=($!)
for _ in $(seq 100); do grep -q '"synced"' "$work/events.jsonl" && break; sleep 0.1; done
grep -q '"synced"' "$work/events.jsonl" || { echo "k8swatch did not start" >&2; exit 1; }

src=$work/$app
cp -r examples/flask "$src"
now() { date +%s%N; }
touchcode() { printf '\n# bench change %s\n' "$(now)" >>"$src/app.py"; }
common=(--state-dir "$work/state" --cache-dir "$work/cache" --base pyship-fixtures/python:3.11-slim -i "$index")
target=(--target kubernetes --kubeconfig "$KUBECONFIG" -n "$pns" --registry "$reg/bench")
pdeploy() { "$pyship" deploy "$src" --app $app "${target[@]}" "${common[@]}" "$@" >"$work/deploy.out" 2>"$work/deploy.log"; }
# A secret, as most apps have: pyship applies an immutable Secret per revision, kubectl's side
# creates one per revision as pyship render says to.
printf 'bench-secret-value' >"$work/secret_key"

k8s_log "warm-up: first deploy (2 replicas), then a secret (a second revision)" >&2
pdeploy --replicas 2
"$pyship" secret set $app SECRET_KEY --file "$work/secret_key" --state-dir "$work/state" >"$work/secret.log" 2>&1

# kubectl's side: the same app's manifests (render reads its settings from pyship's state:
# 2 replicas, the secret's name), in its own namespace, for an image pyship build --push sent
# to the same repository.
kubectl create namespace $kns >/dev/null
kmanifests=$work/manifests
kprev=
# buildpush → "seconds blobs bytes digest" of pyship build --push of the current tree.
buildpush() {
  local t0 t1
  t0=$(now)
  "$pyship" build "$src" "${common[@]:2}" --push "$reg/bench/$app:kubectl-$1" --json >"$work/build.out" 2>"$work/build.log"
  t1=$(now)
  python3 -c "
import json; o=[x for x in json.load(open('$work/build.out'))['outputs'] if x['output']=='registry'][0]
print(f\"{($t1-$t0)/1e9:.3f} {o['sent_layers']} {o['sent_bytes']} {o['digest']}\")"
}
# kubectl_round DIGEST → "t0 t1 revision": the timed part of kubectl's side. The Secret is
# created as render says (its name and keys, on stderr and in --json).
kubectl_round() {
  "$pyship" render --target kubernetes "$src" --app $app --state-dir "$work/state" -n $kns \
    --image "$reg/bench/$app@$1" -o "$kmanifests" --json >"$work/render.out" 2>"$work/render.log"
  local out rev dep svc secret t0 t1
  out=$(python3 -c "
import json; r=json.load(open('$work/render.out')); f={o['kind']: o['file'] for o in r['objects']}
s=r['secrets'] or [{'name': '-', 'keys': []}]
assert s[0]['keys'] in ([], ['SECRET_KEY']), s
print(r['revision'], f['Deployment'], f['Service'], s[0]['name'])")
  read -r rev dep svc secret <<<"$out"
  if [ -z "$svc" ] || [ "$secret" != "$rev" ]; then
    echo "unexpected render output: $(cat "$work/render.out")" >&2; return 1
  fi
  t0=$(now)
  kubectl create secret generic "$secret" -n $kns --from-file=SECRET_KEY="$work/secret_key" >/dev/null
  kubectl apply -f "$dep" >/dev/null
  kubectl rollout status -n $kns "deployment/$rev" --timeout 180s >/dev/null
  kubectl apply -f "$svc" >/dev/null
  t1=$(now)
  echo "$t0 $t1 $rev"
}
# retire_kubectl REV: what pyship does after its switch, here untimed and before the next round
# (pyship's command also waits until the old pods are gone).
retire_kubectl() {
  [ -n "$1" ] || return 0
  kubectl delete -n $kns deployment "$1" --cascade=foreground --wait --timeout 120s >/dev/null
  kubectl delete -n $kns secret "$1" --wait >/dev/null
}

k8s_log "warm-up: kubectl's side" >&2
touchcode
# Command substitutions, not read < <(...): set -e sees their failures.
out=$(buildpush 0); read -r _ _ _ digest <<<"$out"
out=$(kubectl_round "$digest"); read -r _ _ kprev <<<"$out"

: >"$work/rounds"
for i in $(seq 1 "$rounds"); do
  k8s_log "round $i/$rounds: pyship deploy" >&2
  touchcode
  t0=$(now)
  pdeploy
  t1=$(now)
  up=$(sed -n 's/.*pushed .* (uploaded \([0-9]*\) blobs, \([0-9.]*\) MB;.*/\1 \2/p' "$work/deploy.log")
  echo "pyship $i $t0 $t1 ${up:-? ?}" >>"$work/rounds"
  k8s_log "round $i/$rounds: pyship build --push, kubectl" >&2
  touchcode
  out=$(buildpush "$i"); read -r secs blobs bytes digest <<<"$out"
  echo "build $i $secs $blobs $bytes $digest" >>"$work/rounds"
  out=$(kubectl_round "$digest"); read -r kt0 kt1 rev <<<"$out"
  echo "kubectl $i $kt0 $kt1 $rev" >>"$work/rounds"
  retire_kubectl "$kprev"
  kprev=$rev
done

# The last code-only push, blob by blob: the app layer is the image's last layer.
curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://$reg/v2/bench/$app/manifests/$digest" >"$work/manifest.json"
# Traffic does reach the new revisions through kube-proxy (from this host, as the tests do).
for ns in $pns $kns; do
  ip=$(kubectl get service -n "$ns" $app -o 'jsonpath={.spec.clusterIP}')
  curl -fsS --max-time 5 "http://$ip/" | grep -q 'Hello from Flask' || { echo "the Service in $ns does not answer" >&2; exit 1; }
done

python3 - "$work/rounds" "$work/events.jsonl" "$work/manifest.json" "$rounds" "$K8S_VERSION" <<'PY'
import json, os, statistics, sys
rounds = [l.split() for l in open(sys.argv[1])]
events = [json.loads(l) for l in open(sys.argv[2])]
manifest = json.load(open(sys.argv[3]))
n = int(sys.argv[4])

def phases(ns, t0, t1, rev=None):
    """The moments of the revision whose Deployment appeared in [t0, t1] in ns, in seconds from t0."""
    ev = [e for e in events if e.get("ns") == ns and t0 <= e["t"] <= t1 + 5e9]
    if rev is None:
        rev = next(e["name"] for e in ev if e["kind"] == "deployment" and e["ev"] == "created" and e["t"] <= t1)
    s = lambda t: (t - t0) / 1e9
    dep = next(e["t"] for e in ev if e["kind"] == "deployment" and e["name"] == rev)
    seen = [e["t"] for e in ev if e["kind"] == "pod" and e["ev"] == "seen" and e["rev"] == rev]
    ready = [e["t"] for e in ev if e["kind"] == "pod" and e["ev"] == "ready" and e["rev"] == rev]
    switch = next(e["t"] for e in ev if e["kind"] == "service" and e["rev"] == rev)
    only = next((e["t"] for e in ev if e["kind"] == "endpoints" and e.get("revs") == [rev]), None)
    return dict(dep=s(dep), first=s(min(seen)), ready=s(max(ready)), switch=s(switch),
                only=s(only) if only else float("nan"), exit=s(t1), pods=len(ready))

P, K, B = [], [], []
for r in rounds:
    if r[0] == "pyship":
        p = phases("bench-pyship", int(r[2]), int(r[3])); p["blobs"], p["mb"] = r[4], r[5]; P.append(p)
    elif r[0] == "kubectl":
        K.append(phases("bench-kubectl", int(r[2]), int(r[3]), r[4]))
    else:
        B.append(dict(secs=float(r[2]), blobs=int(r[3]), bytes=int(r[4])))

rows = []
def row(label, vals, fmt="{:.2f}"):
    rows.append((label, statistics.median(vals), vals, fmt))
start = lambda p: p["ready"] - p["first"]
row("pyship deploy: command → traffic (Service switched)", [p["switch"] for p in P])
row("  command → Deployment applied (checks, build, push)", [p["dep"] for p in P])
row("  Deployment applied → first new pod seen", [p["first"] - p["dep"] for p in P])
row("  pods start → all Ready (kubelet + app)", [start(p) for p in P])
row("  last pod Ready → Service switched", [p["switch"] - p["ready"] for p in P])
row("  pyship's own share (total − pods start)", [p["switch"] - start(p) for p in P])
row("  command exit (old revision drained and gone)", [p["exit"] for p in P])
row("pyship build --push alone (code-only change)", [b["secs"] for b in B])
row("kubectl: secret + apply + rollout status + Service apply → traffic", [k["switch"] for k in K])
row("  command → Deployment applied", [k["dep"] for k in K])
row("  Deployment applied → first new pod seen", [k["first"] - k["dep"] for k in K])
row("  pods start → all Ready (kubelet + app)", [start(k) for k in K])
row("  last pod Ready → Service switched", [k["switch"] - k["ready"] for k in K])
row("  kubectl's own share (total − pods start)", [k["switch"] - start(k) for k in K])
row("pyship, Deployment applied → traffic (the part kubectl does)", [p["switch"] - p["dep"] for p in P])
row("ratio kubectl/pyship, command → traffic", [k["switch"] / p["switch"] for p, k in zip(P, K)])
row("ratio kubectl/pyship, Deployment applied → traffic", [(k["switch"] - k["dep"]) / (p["switch"] - p["dep"]) for p, k in zip(P, K)])
# The pods' start swings by ±0.5 s from one round to the next and is the same work on both
# sides; the own shares are what the tools themselves add.
row("ratio kubectl/pyship, own share", [(k["switch"] - start(k)) / (p["switch"] - start(p)) for p, k in zip(P, K)])
row("Service switched → its endpoints list only the new pods, pyship", [p["only"] - p["switch"] for p in P])
row("Service switched → its endpoints list only the new pods, kubectl", [k["only"] - k["switch"] for k in K])

print(f"\nKubernetes {sys.argv[5]} (one real node, this host: {os.cpu_count()} cores); the flask example, 2 replicas, one secret;")
print(f"a code-only change per round, {n} rounds; seconds (ratios: kubectl/pyship, higher is better for pyship): median, then each round")
w = max(len(r[0]) for r in rows)
for label, med, vals, fmt in rows:
    print(f"{label:<{w}}  {fmt.format(med):>6}   " + " ".join(f"{v:6.2f}" for v in vals))
print()
print("push of a code-only change, pyship deploy (its progress line, MB rounded): " + ", ".join(f"{p['blobs']} blobs {p['mb']} MB" for p in P))
layers = manifest["layers"]
app, cfg = layers[-1]["size"], manifest["config"]["size"]
last = B[-1]
print(f"push of a code-only change, pyship build --push --json: {', '.join(str(b['blobs']) + ' blobs ' + str(b['bytes']) + ' B' for b in B)}")
print(f"  last one: {last['blobs']} blobs, {last['bytes']} B = app layer {app} B + config {cfg} B"
      f" ({'equal' if last['bytes'] == app + cfg else 'NOT equal'}), then the manifest;"
      f" the other {len(layers) - 1} layers ({sum(l['size'] for l in layers[:-1]) / 1e6:.1f} MB) were already in the registry")
PY
