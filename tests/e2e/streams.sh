# Streams (docs/scenarios.md "Streams"): three streams at different rates and
# types on the mock with every fault knob; per stream each class equals the
# mock's ground truth for that stream's lanes. A tagged threshold fails
# while the same metric over the run passes. A typed output expects one
# stream: the others' events are unexpected there and never missing.
source "$(dirname "$0")/lib.bash"
S=scenarios/streams.json

# sum_truth FILE STREAM FIELD: the mock's FIELD summed over the stream's lanes.
sum_truth() {
  jq -r --arg s "$2" --arg f "$3" '
    (.streams[] | select(.name == $s)) as $st
    | [.broker.mock.lanes[$st.lane0:($st.lane0 + $st.lanes)][] | .[$f]] | add' "$1"
}
# st FILE STREAM EXPR: a value of one stream's results.
st() { jq -r --arg s "$2" "(.streams[] | select(.name == \$s)) | $3" "$1"; }

# 1. Every knob on every stream: each stream's classes are its lanes' truth.
run_rc 0 run "$S" --target 'mock://?drop=0.03&dup=0.03&reorder=0.03&corrupt=0.02&nack=0.02&seed=11' \
  --set 'thresholds={}' --json "$TMP/a.json" --quiet
f=$TMP/a.json
exact "$f" all
eq "three streams" "$(jqv "$f" '.streams|length')" 3
declare -A want=([build]=1800 [parser]=1600 [audit]=200)
for s in build parser audit; do
  eq "$s attempted == its plan" "$(st "$f" $s .attempted)" "${want[$s]}"
  eq "$s expected == its plan" "$(st "$f" $s .expected)" "${want[$s]}"
  eq "$s attempted == accepted+nacked" "$(st "$f" $s .attempted)" \
     "$(( $(sum_truth "$f" $s accepted) + $(sum_truth "$f" $s nacked) ))"
  nonzero "$s dropped (the knob hit it)" "$(sum_truth "$f" $s dropped)"
  eq "$s lost == dropped+corrupted_events" "$(st "$f" $s .deliver.lost)" \
     "$(( $(sum_truth "$f" $s dropped) + $(sum_truth "$f" $s corrupted_events) ))"
  eq "$s duplicated == duplicated_intact" "$(st "$f" $s .deliver.duplicated)" "$(sum_truth "$f" $s duplicated_intact)"
  eq "$s reordered == reordered_intact" "$(st "$f" $s .deliver.reordered)" "$(sum_truth "$f" $s reordered_intact)"
  eq "$s corrupted == corrupted" "$(st "$f" $s .deliver.corrupted)" "$(sum_truth "$f" $s corrupted)"
  eq "$s unconfirmed == nacked" "$(st "$f" $s .deliver.unconfirmed)" "$(sum_truth "$f" $s nacked)"
  eq "$s failed == nacked" "$(st "$f" $s .failed)" "$(sum_truth "$f" $s nacked)"
  eq "$s delivered == accepted-dropped-corrupted_events" "$(st "$f" $s .deliver.delivered)" \
     "$(( $(sum_truth "$f" $s accepted) - $(sum_truth "$f" $s dropped) - $(sum_truth "$f" $s corrupted_events) ))"
  eq "$s pending 0" "$(st "$f" $s .deliver.pending)" 0
  eq "$s e2e counted for every first sighting" "$(st "$f" $s .latency.e2e.count)" "$(st "$f" $s .deliver.delivered)"
done
for k in lost duplicated reordered corrupted unconfirmed delivered; do
  eq "streams' $k add up to the run's" "$(jqv "$f" "[.streams[].deliver.$k]|add")" "$(jqv "$f" ".deliver.$k")"
done
eq "the parser's named stages are phases" "$(jqv "$f" '[.stages[].name|select(.=="base" or .=="spike" or .=="cool")]|unique|join(",")')" "base,cool,spike"

# 2. Faults on the parser stream only: a tagged threshold fails, the same
# metric over the run passes, the other streams are untouched.
run_rc 1 run "$S" --target 'mock://?stream=parser&drop=0.05&seed=3' \
  --set 'thresholds={"lost": ["rate<0.05"], "lost{stream:parser}": ["rate<0.01"], "lost{stream:build}": ["count==0"]}' \
  --json "$TMP/b.json" --quiet
f=$TMP/b.json
eq "overall lost rate passes" "$(jqv "$f" '.thresholds[0].pass')" true
eq "parser's lost rate fails" "$(jqv "$f" '.thresholds[1].pass')" false
eq "build's lost passes" "$(jqv "$f" '.thresholds[2].pass')" true
nonzero "parser lost" "$(st "$f" parser .deliver.lost)"
eq "parser lost == its drops" "$(st "$f" parser .deliver.lost)" "$(sum_truth "$f" parser dropped)"
eq "build untouched" "$(st "$f" build .deliver.lost)$(sum_truth "$f" build dropped)" 00
eq "audit untouched" "$(st "$f" audit .deliver.lost)$(sum_truth "$f" audit dropped)" 00
eq "the value is the parser's rate" "$(jqv "$f" '.thresholds[1].value')" \
   "$(jq -r '(.streams[]|select(.name=="parser")) | .deliver.lost / .attempted' "$f")"
grep -q "verdict: FAIL" "$TMP/out" && fail "--quiet printed the summary"

# 3. A typed output expects the parser's events only (the others arriving
# there fail the default threshold unexpected count==0).
run_rc 1 run "$S" \
  --set 'verify.outputs={"parsed": {"source": "mock://", "expect": {"type": "dev.ci.parser.result"}}}' \
  --set 'thresholds={"lost": ["count==0"]}' --json "$TMP/c.json" --quiet
f=$TMP/c.json
eq "parser delivered" "$(st "$f" parser .deliver.delivered)" 1600
eq "others unexpected" "$(jqv "$f" .deliver.unexpected)" 2000
eq "nothing lost or pending" "$(jqv "$f" 'sum(.deliver.lost, .deliver.pending)')" 0
eq "build not owed here" "$(st "$f" build '.deliver.delivered + .deliver.lost')" 0
eq "drain did not wait for them" "$(jqv "$f" .deliver.drain_timed_out)" false
eq "lost passes, unexpected fails" "$(jqv "$f" '[.thresholds[] | "\(.metric)=\(.pass)"] | join(",")')" \
   "lost=true,unexpected=false"

# 4. --set on one stream; start_after delays its first event.
run_rc 0 run "$S" --set streams.audit.start_after=3s --set streams.audit.publish.duration=2s \
  --set 'thresholds={}' --json "$TMP/d.json" --quiet
f=$TMP/d.json
eq "audit starts after 3 s" "$(st "$f" audit .start_after_s)" 3
eq "audit expected 100" "$(st "$f" audit .expected)" 100
# Until 3 s only build (300/s) and parser (100/s) send: 400/s x t, +20 for
# the point's own timing (the lanes are read a moment after t; slower under
# a sanitizer); with audit from 0 it would be 450/s, 100 more by 2 s.
pt=$(jq -c '[.timeseries[] | select(.t >= 1.9 and .t <= 2.6)] | first | [.t, .sent]' "$f")
le "by 2 s only build+parser sent" "$(jq -r '.[1]' <<<"$pt")" "$(jq -r '.[0] * 400 + 20' <<<"$pt")"
ge "audit sent its 100 after" "$(st "$f" audit .attempted)" 100
done_ok
