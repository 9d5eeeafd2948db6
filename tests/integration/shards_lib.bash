# Shared by the shards_* integration tests (sourced, not a test): runs a
# scenario as N local instances through scripts/shards and checks the merged
# result exactly. Needs tests/e2e/lib.bash (fail, eq, jqv, …) sourced first.
HIST_UNION="$(dirname "$EVLOAD")/evload-hist-union"
[ -x "$HIST_UNION" ] || fail "$HIST_UNION is not built (tests/CMakeLists.txt builds it beside evload)"

# shards_run WANT_RC DIR ARGS...: scripts/shards ARGS with results in DIR;
# checks its exit code (the merged verdict's).
shards_run() {
  local want=$1 dir=$2 rc=0; shift 2
  EVLOAD="$EVLOAD" timeout 300 ./scripts/shards --dir "$dir" "$@" >"$dir.out" 2>&1 || rc=$?
  CHECKS=$((CHECKS+1))
  if [ "$rc" != "$want" ]; then
    cat "$dir.out"; tail -n 20 "$dir"/shard-*.log 2>/dev/null
    fail "scripts/shards $* exited $rc, expected $want"
  fi
}

# shards_exact DIR N PLANNED CTX: every shard one instance of N with its
# share, nothing judged lost alone; the merge has exactly the planned events,
# every one delivered once, and latencies that are those of the union of the
# shards' histograms.
shards_exact() {
  local dir=$1 n=$2 planned=$3 ctx=$4 i f sum=0 recv=0 m=$1/merged.json
  for ((i = 0; i < n; i++)); do
    f="$dir/shard-$i.json"
    [ -s "$f" ] || fail "$ctx: $f missing"
    eq "$ctx shard $i instance" "$(jqv "$f" .run.instance)/$(jqv "$f" .run.instances)" "$i/$n"
    eq "$ctx shard $i attempted == its share" "$(jqv "$f" .publish.attempted)" "$(jqv "$f" .publish.expected)"
    eq "$ctx shard $i acked" "$(jqv "$f" .publish.acked)" "$(jqv "$f" .publish.attempted)"
    eq "$ctx shard $i lost (cannot know alone)" "$(jqv "$f" .deliver.lost)" 0
    eq "$ctx shard $i completed" "$(jqv "$f" .run.completed)" true
    # Competing consumers spread over the shards: every shard consumed some.
    nonzero "$ctx shard $i received" "$(jqv "$f" .deliver.received)"
    sum=$((sum + $(jqv "$f" .publish.attempted)))
    recv=$((recv + $(jqv "$f" .deliver.received)))
  done
  eq "$ctx attempted == the plan's" "$sum" "$planned"
  eq "$ctx merged attempted" "$(jqv "$m" .publish.attempted)" "$planned"
  eq "$ctx merged acked" "$(jqv "$m" .publish.acked)" "$planned"
  eq "$ctx merged failed" "$(jqv "$m" .publish.failed)" 0
  eq "$ctx merged lost" "$(jqv "$m" .deliver.lost)" 0
  eq "$ctx merged pending" "$(jqv "$m" .deliver.pending)" 0
  eq "$ctx merged delivered" "$(jqv "$m" .deliver.delivered)" "$planned"
  eq "$ctx merged duplicated" "$(jqv "$m" .deliver.duplicated)" 0
  eq "$ctx merged corrupted" "$(jqv "$m" .deliver.corrupted)" 0
  eq "$ctx merged foreign" "$(jqv "$m" .deliver.foreign)" 0
  eq "$ctx merged received" "$(jqv "$m" .deliver.received)" "$planned"
  eq "$ctx received == sum of shards'" "$recv" "$planned"
  eq "$ctx merged from" "$(jqv "$m" .run.merged_from)" "$n"
  eq "$ctx shards reported" "$(jqv "$m" '.shards|length')" "$n"
  eq "$ctx merged verdict" "$(jqv "$m" .verdict)" pass
  # Latency: the merged percentiles are the union's, decoded from every
  # shard's lossless histogram (tests/tools/hist_union.c).
  local metric u k
  for metric in e2e ack; do
    u=$("$HIST_UNION" "$metric" "$dir"/shard-*.json) || fail "$ctx: evload-hist-union $metric"
    eq "$ctx $metric count == planned" "$(jq -r .count <<<"$u")" "$planned"
    for k in count p50 p90 p99 max; do
      eq "$ctx merged $metric.$k == union's" "$(jqv "$m" ".latency.$metric.$k")" "$(jq -r ".$k" <<<"$u")"
    done
  done
}
