#!/usr/bin/env bash
# evload k8s render: scenario errors are exit 2 with FILE:LINE:COL and no
# output; a password never reaches the output (--target's goes to a Secret
# reference, one in the scenario file is refused with its position); the
# manifests go through `kubectl apply --dry-run=client` (a kubeconfig in
# $TMP, the API discovery cached there, and a stand-in server that answers
# 404 to everything: client-side apply still GETs each object, and the test
# checks that it only ever reads); the objects have the fields a distributed
# run needs; the ConfigMap holds the scenario byte for byte, also for files a
# literal block cannot carry; every '$' reaches the pod as given; and the
# rendered pods, run as Kubernetes would run them (its $(VAR) expansion,
# /scenario and /results mapped to directories), publish exactly the plan
# and merge to a pass, with results on a claim and in the logs.
# deploy/k8s/ must be what scripts/k8s-examples renders now.
# kubectl (scripts/install-deps installs Debian's kubernetes-client) parses
# the manifests: without it the test fails, never skips.
source "$(dirname "$0")/lib.bash"
S=scenarios/rabbitmq-shards.json
EPOCH=2026-01-01T00:00:00Z

# ---- 1. errors, before anything is printed -------------------------------
printf '{\n  "name": "bad",\n  "publish": { "rate": "fast" }\n}\n' >"$TMP/bad.json"
run_rc 2 k8s render "$TMP/bad.json" --instances 3
grep -q "^evload: $TMP/bad.json:3:24: publish.rate" "$TMP/err" || fail "scenario error: $(cat "$TMP/err")"
eq "no output on a scenario error" "$(wc -c <"$TMP/out")" 0
printf '{ "name": "sec",\n  "target": "amqp://guest:Hq4Wz@127.0.0.1:5672/%%2f?queue=q" }\n' >"$TMP/sec.json"
run_rc 2 k8s render "$TMP/sec.json" --instances 2
grep -q "^evload: $TMP/sec.json:2:13: target holds a password in clear" "$TMP/err" ||
  fail "password in the file: $(cat "$TMP/err")"
no_leak "password in the file" Hq4Wz "$TMP/out" "$TMP/err"
run_rc 2 k8s render "$S" --instances 2 --set 'verify.source=amqp://u:Jx8Rv@h:5672/%2f?queue=q'
grep -q '^evload: --set verify.source holds a password in clear' "$TMP/err" || fail "--set: $(cat "$TMP/err")"
no_leak "password in --set" Jx8Rv "$TMP/out" "$TMP/err"
run_rc 2 k8s render "$S" --instances 2 --set verify.groups=0 --set 'thresholds={}' \
  --target 'http://127.0.0.1:8080/in?header=Authorization:%20Bearer%20Kp3Yd'
grep -q '^evload: --target holds parameter header in clear' "$TMP/err" || fail "secret parameter: $(cat "$TMP/err")"
no_leak "secret parameter" Kp3Yd "$TMP/out" "$TMP/err"
run_rc 2 k8s render "$S"
run_rc 2 k8s render "$S" --instances 0
run_rc 2 k8s render "$S" --instances 1025
run_rc 2 k8s render "$S" --instances 2 --name Bad_Name
run_rc 2 k8s render "$S" --instances 2 --results s3:bucket
run_rc 2 k8s render "$S" --instances 2 --epoch yesterday
run_rc 2 k8s render "$S" --instances 2 --run-id Not-Valid
run_rc 2 k8s render scenarios/mock-concurrency-sweep.json --instances 2
grep -q 'a sweep is several runs' "$TMP/err" || fail "sweep: $(cat "$TMP/err")"
run_rc 2 k8s render "$S" --instances 2 --target 'mock://?seed=${EVLOAD_K8S_UNSET_VAR}'
grep -q 'environment variable EVLOAD_K8S_UNSET_VAR .*is not set' "$TMP/err" || fail "unset variable: $(cat "$TMP/err")"
run_rc 0 k8s --help
grep -q 'usage: evload k8s render' "$TMP/out" || fail "k8s --help"

# ---- 2. the password of --target -----------------------------------------
PW='Qv7%Zr9@Lm'
render() { # render OUT ARGS...: k8s render into OUT, exit 0 expected
  local out=$1; shift
  run_rc 0 k8s render "$@"
  cp "$TMP/out" "$out"
}
render "$TMP/pw.yaml" "$S" --instances 3 --epoch "$EPOCH" --run-id pw1 \
  --target "amqp://evload:$(enc "$PW")@rabbitmq:5672/%2f?exchange=cloud-events&queue=q"
no_leak "--target password" "$PW" "$TMP/pw.yaml" "$TMP/err"
no_leak "--target password (encoded)" "$(enc "$PW")" "$TMP/pw.yaml" "$TMP/err"
grep -qF -- '- "amqp://evload:$${EVLOAD_TARGET_PASSWORD}@rabbitmq:5672/%2f?exchange=cloud-events&queue=q"' "$TMP/pw.yaml" ||
  fail "--target is not passed with \${EVLOAD_TARGET_PASSWORD}"
grep -q '^#   kubectl create secret generic evload-rabbitmq-shards-secrets' "$TMP/pw.yaml" ||
  fail "no comment on the Secret"
# Deterministic: the same options give the same bytes.
render "$TMP/pw2.yaml" "$S" --instances 3 --epoch "$EPOCH" --run-id pw1 \
  --target "amqp://evload:$(enc "$PW")@rabbitmq:5672/%2f?exchange=cloud-events&queue=q"
cmp -s "$TMP/pw.yaml" "$TMP/pw2.yaml" || fail "two renders differ"

# ---- 3. deploy/k8s is what the generator renders now ---------------------
CHECKS=$((CHECKS+1))
./scripts/k8s-examples --check "$EVLOAD" >"$TMP/ex.out" 2>&1 || { cat "$TMP/ex.out"; fail "deploy/k8s is stale"; }

# ---- 4. the pods, run as Kubernetes runs them ------------------------------
# k8s_argv JSON INDEX [RESULTS]: the container's command + args, NUL-
# separated, expanded as Kubernetes expands them ($$ → $, $(VAR) of the
# container's env), /scenario mapped to $TMP/pod/scenario and /results to
# RESULTS (default $TMP/pod/results: the shared claim; an emptyDir is the
# pod's own).
mkdir -p "$TMP/pod/scenario" "$TMP/pod/results" "$TMP/bin"
ln -s "$(cd "$(dirname "$EVLOAD")" && pwd)/$(basename "$EVLOAD")" "$TMP/bin/evload"
k8s_argv() {
  jq -j --arg i "$2" --arg pod "$TMP/pod" --arg res "${3:-$TMP/pod/results}" '
    (.spec.template.spec.containers[0]) as $c
    | (([$c.env // [] | .[] | select(.value) | {(.name): .value}] | add // {})
       + {JOB_COMPLETION_INDEX: $i}) as $env
    | ($c.command + ($c.args // []))[]
    | gsub("\\$(?<d>\\$)|\\$\\((?<n>[A-Za-z_][A-Za-z0-9_]*)\\)";
           if .d then "$" elif $env[.n] then $env[.n] else "$(" + .n + ")" end)
    | gsub("/scenario/"; $pod + "/scenario/") | gsub("/results/"; $res + "/")
    | ., "\u0000"' <<<"$1"
}
# k8s_env JSON: the container's plain env as NAME=VALUE lines.
k8s_env() { jq -r '.spec.template.spec.containers[0] | (.env // [])[] | select(.value) | "\(.name)=\(.value)"' <<<"$1"; }
# pod JSON INDEX [SECRET=VALUE...]: runs the container's command in a clean
# environment with the Secret's values; its output to $TMP/pod/log-INDEX.
# An emptyDir /results is $TMP/pod/empty-INDEX.
pod() {
  local job=$1 i=$2 argv envs res="$TMP/pod/results"; shift 2
  if jq -e '.spec.template.spec.volumes[] | select(.name=="results") | .emptyDir' <<<"$job" >/dev/null; then
    res="$TMP/pod/empty-$i"
    mkdir -p "$res"
  fi
  mapfile -d '' argv < <(k8s_argv "$job" "$i" "$res")
  mapfile -t envs < <(k8s_env "$job")
  [ "${#argv[@]}" -gt 1 ] || fail "no command in $job"
  (cd "$TMP/pod" && env -i PATH="$TMP/bin:$PATH" JOB_COMPLETION_INDEX="$i" "${envs[@]}" "$@" \
     "${argv[@]}" >"$TMP/pod/log-$i" 2>&1)
}

command -v kubectl >/dev/null ||
  fail "kubectl is not installed (scripts/install-deps installs kubernetes-client): the manifests cannot be checked"

# A stand-in API server: 404 to every request (an empty directory served by
# python3), so client-side apply finds no live object and creates; the
# discovery it needs first is in kubectl's cache.
mkdir -p "$TMP/www"
(cd "$TMP/www" && exec python3 -u -m http.server 0 --bind 127.0.0.1) >"$TMP/api.log" 2>&1 &
API_PID=$!
on_exit 'kill "$API_PID" 2>/dev/null; wait "$API_PID" 2>/dev/null'
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^Serving HTTP on 127.0.0.1 port \([0-9]*\).*/\1/p' "$TMP/api.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "the stand-in API server did not start: $(cat "$TMP/api.log")"
cat >"$TMP/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: stand-in
  cluster:
    server: http://127.0.0.1:$port
contexts:
- name: stand-in
  context: {cluster: stand-in, user: nobody, namespace: default}
current-context: stand-in
users:
- name: nobody
  user: {token: none}
EOF
d="$TMP/cache/discovery/127.0.0.1_$port"
mkdir -p "$d/v1" "$d/batch/v1"
echo '{"kind":"APIGroupList","apiVersion":"v1","groups":[
  {"name":"","versions":[{"groupVersion":"v1","version":"v1"}],"preferredVersion":{"groupVersion":"v1","version":"v1"}},
  {"name":"batch","versions":[{"groupVersion":"batch/v1","version":"v1"}],"preferredVersion":{"groupVersion":"batch/v1","version":"v1"}}]}' >"$d/servergroups.json"
verbs='["create","delete","get","list","patch","update","watch"]'
echo '{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"v1","resources":[
  {"name":"configmaps","singularName":"configmap","namespaced":true,"kind":"ConfigMap","verbs":'"$verbs"'},
  {"name":"persistentvolumeclaims","singularName":"persistentvolumeclaim","namespaced":true,"kind":"PersistentVolumeClaim","verbs":'"$verbs"'},
  {"name":"secrets","singularName":"secret","namespaced":true,"kind":"Secret","verbs":'"$verbs"'}]}' >"$d/v1/serverresources.json"
echo '{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"batch/v1","resources":[
  {"name":"jobs","singularName":"job","namespaced":true,"kind":"Job","verbs":'"$verbs"'}]}' >"$d/batch/v1/serverresources.json"

# objects YAML JSON_OUT: the objects of YAML as one JSON array, through
# `kubectl apply --dry-run=client` (the YAML parser that matters).
objects() {
  CHECKS=$((CHECKS+1))
  if ! KUBECONFIG="$TMP/kubeconfig" kubectl apply --dry-run=client --validate=false \
      --cache-dir "$TMP/cache" -o json -f - <"$1" >"$TMP/apply.json" 2>"$TMP/apply.err"; then
    cat "$TMP/apply.err"; fail "kubectl apply --dry-run=client refused $1"
  fi
  jq -s '[.[] | if .kind == "List" then .items[] else . end]' "$TMP/apply.json" >"$2"
  # A second parser (PyYAML, YAML 1.1) reads the same objects, and the
  # fields evload renders have the types the Kubernetes API requires.
  CHECKS=$((CHECKS+1))
  python3 "$TMP/yaml_check.py" "$1" "$2" || fail "$1: PyYAML or the field types disagree"
}
cat >"$TMP/yaml_check.py" <<'PY'
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1], encoding="utf-8")) if d is not None]
applied = json.load(open(sys.argv[2]))
def strip(o, ns=None):  # kubectl adds its last-applied annotation and the context's namespace
    o = json.loads(json.dumps(o))
    if ns is not None and "namespace" not in ns.get("metadata", {}) and o.get("metadata", {}).get("namespace") == "default":
        del o["metadata"]["namespace"]
    a = o.get("metadata", {}).get("annotations", {})
    a.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if not a:
        o.get("metadata", {}).pop("annotations", None)
    return o
bad = []
applied = [strip(o, d) for o, d in zip(applied, docs)] if len(applied) == len(docs) else applied
if applied != [strip(o) for o in docs]:
    import difflib
    dump = lambda l: json.dumps([strip(o) for o in l], indent=1, sort_keys=True).splitlines()
    sys.stderr.write("\n".join(list(difflib.unified_diff(dump(applied), dump(docs), "kubectl", "PyYAML", lineterm=""))[:40]) + "\n")
    bad.append("PyYAML's objects differ from kubectl's")
def want(cond, what):
    if not cond:
        bad.append(what)
def strs(v):
    return isinstance(v, list) and v and all(isinstance(x, str) for x in v)
def smap(v):
    return isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())
for o in docs:
    kind = o.get("kind")
    where = "%s %s" % (kind, o.get("metadata", {}).get("name"))
    want(isinstance(o.get("apiVersion"), str), where + ": apiVersion")
    md = o.get("metadata", {})
    want(isinstance(md.get("name"), str) and len(md["name"]) <= 63, where + ": metadata.name")
    want(smap(md.get("labels", {})), where + ": labels must be strings")
    if kind == "ConfigMap":
        want(smap(o.get("data")), where + ": data must be strings")
    elif kind == "PersistentVolumeClaim":
        sp = o["spec"]
        want(strs(sp.get("accessModes")), where + ": accessModes")
        want(isinstance(sp["resources"]["requests"]["storage"], str), where + ": storage")
    elif kind == "Job":
        sp = o["spec"]
        for k in ("completions", "parallelism", "backoffLimit", "backoffLimitPerIndex",
                  "activeDeadlineSeconds", "ttlSecondsAfterFinished"):
            want(k not in sp or (isinstance(sp[k], int) and not isinstance(sp[k], bool)), where + ": " + k)
        ps = sp["template"]["spec"]
        want(ps.get("restartPolicy") in ("Never", "OnFailure"), where + ": restartPolicy")
        want(smap(sp["template"].get("metadata", {}).get("labels", {})), where + ": pod labels")
        for c in ps.get("initContainers", []) + ps["containers"]:
            want(isinstance(c.get("name"), str) and isinstance(c.get("image"), str), where + ": container")
            want(strs(c.get("command", ["x"])) and ("args" not in c or strs(c["args"])), where + ": command/args")
            for e in c.get("env", []):
                want(isinstance(e.get("name"), str) and (isinstance(e.get("value"), str) or
                     isinstance(e.get("valueFrom"), dict)), where + ": env " + str(e.get("name")))
        for v in ps.get("volumes", []):
            want(isinstance(v.get("name"), str) and len(v) == 2, where + ": volume " + str(v.get("name")))
    else:
        bad.append(where + ": a kind evload does not render")
for b in bad:
    print("yaml_check:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# ---- 5. the objects ----------------------------------------------------
objects "$TMP/pw.yaml" "$TMP/pw.json"
J="$TMP/pw.json"
eq "objects" "$(jq -c 'map([.kind, .metadata.name])' "$J")" \
   '[["ConfigMap","evload-rabbitmq-shards-scenario"],["PersistentVolumeClaim","evload-rabbitmq-shards-results"],["Job","evload-rabbitmq-shards"],["Job","evload-rabbitmq-shards-merge"]]'
shard=$(jq -c '.[] | select(.metadata.name == "evload-rabbitmq-shards")' "$J")
merge=$(jq -c '.[] | select(.metadata.name == "evload-rabbitmq-shards-merge")' "$J")
eq "completionMode" "$(jq -r .spec.completionMode <<<"$shard")" Indexed
eq "completions" "$(jq -r .spec.completions <<<"$shard")" 3
eq "parallelism" "$(jq -r .spec.parallelism <<<"$shard")" 3
eq "backoffLimitPerIndex" "$(jq -r .spec.backoffLimitPerIndex <<<"$shard")" 0
eq "restartPolicy" "$(jq -r .spec.template.spec.restartPolicy <<<"$shard")" Never
eq "image" "$(jq -r '.spec.template.spec.containers[0].image' <<<"$shard")" "evload:$("$EVLOAD" --version | cut -d' ' -f2)"
eq "EVLOAD_INSTANCES" "$(jq -r '.spec.template.spec.containers[0].env[] | select(.name=="EVLOAD_INSTANCES") | .value' <<<"$shard")" 3
eq "EVLOAD_EPOCH" "$(jq -r '.spec.template.spec.containers[0].env[] | select(.name=="EVLOAD_EPOCH") | .value' <<<"$shard")" "$EPOCH"
eq "password from the Secret" "$(jq -c '.spec.template.spec.containers[0].env[] | select(.name=="EVLOAD_TARGET_PASSWORD") | .valueFrom.secretKeyRef | [.name, .key]' <<<"$shard")" \
   '["evload-rabbitmq-shards-secrets","EVLOAD_TARGET_PASSWORD"]'
eq "args" "$(jq -c '.spec.template.spec.containers[0] | .command + .args' <<<"$shard")" \
   '["evload","run","/scenario/rabbitmq-shards.json","--target","amqp://evload:$${EVLOAD_TARGET_PASSWORD}@rabbitmq:5672/%2f?exchange=cloud-events&queue=q","--set","run_id=pw1","--start-at","+30s","--json","/results/pw1-shard-$(JOB_COMPLETION_INDEX).json"]'
eq "scenario mounted" "$(jq -r '.spec.template.spec.volumes[] | select(.name=="scenario") | .configMap.name' <<<"$shard")" evload-rabbitmq-shards-scenario
eq "results claim" "$(jq -r '.spec.template.spec.volumes[] | select(.name=="results") | .persistentVolumeClaim.claimName' <<<"$shard")" evload-rabbitmq-shards-results
eq "claim access" "$(jq -c '.[] | select(.kind=="PersistentVolumeClaim") | .spec.accessModes' "$J")" '["ReadWriteMany"]'
eq "merge args" "$(jq -c '.spec.template.spec.containers[0].args' <<<"$merge")" \
   '["/results/pw1-shard-0.json","/results/pw1-shard-1.json","/results/pw1-shard-2.json"]'
eq "merge backoffLimit" "$(jq -r .spec.backoffLimit <<<"$merge")" 0
jq -j '.[] | select(.kind=="ConfigMap") | .data["rabbitmq-shards.json"]' "$J" >"$TMP/cm"
CHECKS=$((CHECKS+1))
cmp "$TMP/cm" "$S" || fail "the ConfigMap is not the scenario byte for byte"
# Client-side: the stand-in server was only ever read.
CHECKS=$((CHECKS+1))
if grep -E '"(POST|PUT|PATCH|DELETE) ' "$TMP/api.log"; then fail "kubectl wrote to the server"; fi
nonzero "kubectl asked the server" "$(grep -c '"GET ' "$TMP/api.log")"

# ---- 6. scenario files a literal block cannot carry, and odd ones it can
body=$(cat "$S")
printf ' %s' "$body" >"$TMP/lead-space.json"                 # leading space, no final newline
printf '%s\n\n\n' "$body" >"$TMP/trailing.json"               # blank lines at the end
printf '%s\n' "$body" | sed 's/$/\r/' >"$TMP/crlf.json"        # CRLF
printf '%s\n' "$body" | sed 's/  /\t/g' >"$TMP/tabs.json"      # tabs
printf '%s\n' "$body" | sed 's/"description": "/"description": "a\xe2\x80\xa8b \xc2\x85 \\u0007 é /' >"$TMP/unicode.json"
for f in lead-space trailing crlf tabs unicode; do
  render "$TMP/$f.yaml" "$TMP/$f.json" --instances 2 --epoch "$EPOCH" --run-id odd1 --results stdout
  objects "$TMP/$f.yaml" "$TMP/$f.objs"
  jq -j --arg k "$f.json" '.[] | select(.kind=="ConfigMap") | .data[$k]' "$TMP/$f.objs" >"$TMP/cm"
  CHECKS=$((CHECKS+1))
  cmp "$TMP/cm" "$TMP/$f.json" || fail "$f: the ConfigMap is not the file byte for byte"
done
grep -q '^  crlf.json: "' "$TMP/crlf.yaml" || fail "CRLF: expected a double-quoted scalar"
grep -q '^  lead-space.json: |2-$' "$TMP/lead-space.yaml" || fail "leading space: expected |2-"
grep -q '^  trailing.json: |+$' "$TMP/trailing.yaml" || fail "trailing newlines: expected |+"

# ---- 7. every '$' reaches the pod as given ------------------------------
ODD='a$(JOB_COMPLETION_INDEX)b$$c${x}$'
render "$TMP/dollar.yaml" "$S" --instances 2 --epoch "$EPOCH" --run-id dollar1 --set "event.type=$ODD"
objects "$TMP/dollar.yaml" "$TMP/dollar.json"
mapfile -d '' argv < <(k8s_argv "$(jq -c '.[] | select(.metadata.name=="evload-rabbitmq-shards")' "$TMP/dollar.json")" 1)
eq "dollar: argv" "${#argv[@]}" 11
eq "--set value after Kubernetes' expansion" "${argv[4]}" "event.type=$ODD"
eq "the index after Kubernetes' expansion" "${argv[10]}" "$TMP/pod/results/dollar1-shard-1.json"

# ---- 8. the pods, run ---------------------------------------------------------
# mock:// is in-process: each pod has its own broker, so each consumes only
# its own events; the merge still needs every instance's results to account
# for the plan. ${EV_SEED} comes from the "Secret".
cat >"$TMP/pod/m.json" <<'JSON'
{ "name": "pods",
  "publish": { "executor": "constant-arrival-rate", "lanes": 2, "rate": 300, "duration": "1s" },
  "verify": { "groups": 1, "consumers": 1, "drain_timeout": "3s" },
  "thresholds": { "lost": ["count==0"] } }
JSON
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
export EV_SEED=5 # for the check at render time only: the pods get it from the "Secret"
for mode in pvc stdout; do
  rm -rf "$TMP/pod/results"/* "$TMP/pod/scenario"/*
  args=("$TMP/pod/m.json" --instances 3 --epoch "$now" --start-in 3s --run-id "run$mode"
        --target 'mock://?seed=${EV_SEED}')
  [ "$mode" = stdout ] && args+=(--results stdout)
  render "$TMP/$mode.yaml" "${args[@]}"
  objects "$TMP/$mode.yaml" "$TMP/$mode.json"
  shard=$(jq -c '.[] | select(.kind=="Job" and .spec.completionMode=="Indexed")' "$TMP/$mode.json")
  jq -j '.[] | select(.kind=="ConfigMap") | .data["m.json"]' "$TMP/$mode.json" >"$TMP/pod/scenario/m.json"
  pids=()
  for i in 0 1 2; do pod "$shard" "$i" EV_SEED=5 & pids+=($!); done
  for i in 0 1 2; do
    rc=0; wait "${pids[$i]}" || rc=$?
    eq "$mode: pod $i exit" "$rc" 0
  done
  if [ "$mode" = pvc ]; then
    merge=$(jq -c '.[] | select(.metadata.name|endswith("-merge"))' "$TMP/$mode.json")
    rc=0; pod "$merge" 0 || rc=$?
    eq "pvc: merge exit" "$rc" 0
    M="$TMP/pod/results/runpvc-merged.json"
  else
    files=()
    for i in 0 1 2; do # the collection the rendered comment gives
      sed '1,/^#evload-results$/d' "$TMP/pod/log-$i" >"$TMP/pod/shard-$i.json"
      files+=("$TMP/pod/shard-$i.json")
    done
    run_rc 0 merge "${files[@]}" -o "$TMP/pod/merged.json"
    M="$TMP/pod/merged.json"
  fi
  eq "$mode: merged attempted" "$(jqv "$M" .publish.attempted)" 300
  eq "$mode: merged delivered" "$(jqv "$M" .deliver.delivered)" 300
  eq "$mode: merged lost" "$(jqv "$M" .deliver.lost)" 0
  eq "$mode: merged from" "$(jqv "$M" .run.merged_from)" 3
  eq "$mode: verdict" "$(jqv "$M" .verdict)" pass
done
# Without the Secret's value the pod stops with the variable's name.
rc=0; pod "$shard" 0 || rc=$?
eq "pod without the Secret: exit" "$rc" 2
grep -q 'environment variable EV_SEED .*is not set' "$TMP/pod/log-0" || fail "pod without the Secret: $(cat "$TMP/pod/log-0")"

done_ok
