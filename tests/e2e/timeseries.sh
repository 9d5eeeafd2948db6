# The per-second timeseries goes to a spill file while the run goes and is
# read back into the results (docs/results.md, timeseries): no point dropped,
# repeated or out of order. Each point's own histograms hold exactly the
# events its cumulative counters grew by (e2e: received, ack: acked), the
# points' histograms add up to the run's (count, percentiles, max), and t
# increases. Both ways of writing the results agree: --json alone (the
# points streamed from the spill file) and --out (the document in memory).
source "$(dirname "$0")/lib.bash"
UNION="$(dirname "$EVLOAD")/evload-hist-union"
[ -x "$UNION" ] || fail "no $UNION"
S=$TMP/s.json
cat >"$S" <<'JSON'
{ "target": "mock://",
  "publish": { "rate": 500, "duration": "8s", "lanes": 2 },
  "thresholds": { "lost": ["count==0"] } }
JSON
run_rc 0 run "$S" --json "$TMP/r.json"
f=$TMP/r.json
planned "$f" "8 s at 500/s" 4000
exact "$f" "8 s at 500/s"
n=$(jqv "$f" '.timeseries|length')
ge "points" "$n" 8 # 7 or 8 of publishing, then the drain's (if any) and the end
le "points" "$n" 12
ge "publish points" "$(jqv "$f" '[.timeseries[]|select(.phase=="publish")]|length')" 7
le "publish points" "$(jqv "$f" '[.timeseries[]|select(.phase=="publish")]|length')" 8
eq "the last point is the end" "$(jqv "$f" '.timeseries[-1].phase')" end
eq "t increases" "$(jqv "$f" '[.timeseries[].t] as $t | [range(1; $t|length) | select($t[.] <= $t[. - 1])] | length')" 0
eq "sent never falls" "$(jqv "$f" '[.timeseries[].sent] as $s | [range(1; $s|length) | select($s[.] < $s[. - 1])] | length')" 0
eq "last sent" "$(jqv "$f" '.timeseries[-1].sent')" "$(jqv "$f" .publish.attempted)"
eq "last received" "$(jqv "$f" '.timeseries[-1].received')" "$(jqv "$f" .deliver.received)"

# Each point's histograms, one file each, as evload-hist-union reads them.
mkdir "$TMP/p"
jq -c '.timeseries[] | {latency: {e2e: {hist: .hist.e2e}, ack: {hist: .hist.ack}}}' "$f" |
  split -l 1 -a 3 - "$TMP/p/"
eq "a file per point" "$(find "$TMP/p" -type f | wc -l)" "$n"
prev_r=0 prev_a=0 i=0
for p in "$TMP"/p/*; do
  r=$(jqv "$f" ".timeseries[$i].received")
  a=$(jqv "$f" ".timeseries[$i].acked")
  eq "point $i e2e count == received growth" "$("$UNION" e2e "$p" | jq -r .count)" "$((r - prev_r))"
  eq "point $i ack count == acked growth" "$("$UNION" ack "$p" | jq -r .count)" "$((a - prev_a))"
  prev_r=$r prev_a=$a i=$((i + 1))
done
for m in e2e ack; do
  u=$("$UNION" "$m" "$TMP"/p/*) || fail "evload-hist-union $m"
  for k in count p50 p90 p99 max; do
    eq "$m $k: the points' union == the run's" "$(jq -r ".$k" <<<"$u")" "$(jqv "$f" ".latency.$m.$k")"
  done
done

# --out keeps the document in memory (report.html and the rest are drawn from
# it) and writes it as results.json: the same keys and points as --json.
run_rc 0 run "$S" --json "$TMP/j.json" --out "$TMP/o"
eq "--json == --out's results.json" "$(cmp "$TMP/j.json" "$TMP/o/results.json" && echo same)" same
eq "same keys as the streamed file" "$(jq -c '[paths|map(if type=="number" then 0 else . end)]|unique' "$TMP/j.json" | md5sum)" \
  "$(jq -c '[paths|map(if type=="number" then 0 else . end)]|unique' "$f" | md5sum)"
done_ok
