#!/usr/bin/env bash
# evload search on a real broker finds a plausible maximum: scenarios/search-rabbitmq.json
# on this test's own exchange and queue: confirmed publishes, 2 consumers
# doing 5 ms of work per event, so the consumers can deliver at most
# 2 × 1000/5 = 400 events/s and the backlog above that breaks e2e p99 < 200 ms
# within a 3 s step from 400 × (1 + 0.2/3) ≈ 427/s up. The search must find
# and confirm a maximum at or above the start rate and below that bound,
# with every step valid, every event of every step accounted for, and no
# step delivering faster than the consumers' work allows. About 40 s.
source "$(dirname "$0")/rabbitmq_lib.bash"
rmq_start
CLEANUP_QUEUES+=("$Q")

run_rc 0 search scenarios/search-rabbitmq.json --target "$(target)" --json "$TMP/s.json"
cat "$TMP/out"
f=$TMP/s.json
eq "outcome" "$(jqv "$f" .search.outcome)" found
eq "confirmed" "$(jqv "$f" .search.confirmed)" true
max=$(jqv "$f" .search.max_rate)
ge "max at or above the start rate" "$max" 150
le "max below what 2 consumers × 5 ms can sustain within a 3 s step" "$max" 427
eq "no invalid step" "$(jqv "$f" '[.search.steps[] | select(.verdict == "invalid")] | length')" 0
eq "doubling first" "$(jqv "$f" '.search.steps[0] | "\(.phase) \(.rate)"')" "double 150"
eq "a failure bounds it" "$(jqv "$f" '[.search.steps[] | select(.verdict == "fail")] | length > 0')" true
eq "ends with a confirmation that held" "$(jqv "$f" '.search.steps[-1] | "\(.phase == "confirm" or .phase == "stepdown") \(.verdict) \(.rate)"')" "true pass $max"
n=$(jqv "$f" '.search.steps | length')
eq "one run per step" "$(jqv "$f" '.runs | length')" "$n"
for i in $(seq 0 $((n - 1))); do
  r=$f
  att=$(jqv "$r" ".runs[$i].publish.attempted")
  eq "step $((i + 1)): the plan's events sent" "$att" "$(jqv "$r" ".runs[$i].publish.expected")"
  eq "step $((i + 1)): all confirmed" "$(jqv "$r" ".runs[$i].publish.acked")" "$att"
  eq "step $((i + 1)): all delivered" "$(jqv "$r" ".runs[$i].deliver.delivered")" "$att"
  eq "step $((i + 1)): none foreign (the last step's backlog was drained)" "$(jqv "$r" ".runs[$i].deliver.foreign")" 0
  # The consumers' work is the ceiling: 400/s (2 % for timing).
  le "step $((i + 1)): throughput within the consumers' 400/s" "$(jqv "$r" ".search.steps[$i].throughput")" 408
done
grep -q "^max sustainable rate: $max events/s (confirmed" "$TMP/out" || fail "no result line"
grep -qE '^how: doubled 150 .*; (rerun, )?(confirmed at|stepped down to) ' "$TMP/out" || fail "no path line"
done_ok
