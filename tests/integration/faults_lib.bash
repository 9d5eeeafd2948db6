# Shared by the fault schedule's integration tests (sourced, not a test).
# Needs tests/e2e/lib.bash first ($EVLOAD, $TMP, eq/ge/le/jqv).

# fv FILE NAME JQ: one figure of fault NAME in results FILE.
fv() { jq -r --arg n "$2" ".faults[] | select(.name == \$n) | $3" "$1"; }

# on_time FILE NAME: the fault ran (status done), started at its `at` (the
# schedule's thread wakes every 5 ms: within 100 ms on a loaded machine) and
# while publishing went on (before the last second the timeseries calls
# publishing).
on_time() {
  local f=$1 n=$2 at s last
  at=$(fv "$f" "$n" .at_s); s=$(fv "$f" "$n" .started_s)
  eq "$n status" "$(fv "$f" "$n" .status)" done
  ge "$n started at or after its at" "$s" "$at"
  le "$n started within 100 ms of its at" "$s" "$(awk -v a="$at" 'BEGIN { print a + 0.1 }')"
  last=$(jqv "$f" '[.timeseries[] | select(.phase == "publish" or (.phase | startswith("stage"))) | .t] | max')
  le "$n started while publishing (last publishing second ends $last)" "$s" "$last"
}

# latency_window FILE NAME CTX [UNBOUNDED]: a `down:latency=200ms..800ms`
# window: e2e p50 during it inside the range (slack on top for a loaded
# machine; only its lower bound with UNBOUNDED, for a client that needs
# several round trips per event), the seconds before it below the range,
# back to them after it (recovered, the seconds after the recovery below
# 200 ms again), nothing lost in its events.
latency_window() {
  local f=$1 n=$2 ctx=$3 slack=700 rec end
  jq -r --arg n "$n" --arg c "$ctx" '.faults[] | select(.name == $n) | "\($c): \(.name) \(.started_s)..\(.ended_s) s: e2e p50 \(.impact.e2e.p50) p99 \(.impact.e2e.p99) ms (before \(.impact.baseline_e2e_p99)), recovered after \(.impact.recovery_s) s; e2e p50 per second: \([$r[0].timeseries[] | .e2e_p50 | round] | join(" "))"' --slurpfile r "$f" "$f"
  ge "$ctx $n e2e p50 during >= 200 ms" "$(fv "$f" "$n" .impact.e2e.p50)" 200
  if [ -z "${4:-}" ]; then
    le "$ctx $n e2e p50 during <= 800 ms + slack" "$(fv "$f" "$n" .impact.e2e.p50)" $((800 + slack))
    le "$ctx $n e2e max during" "$(fv "$f" "$n" .impact.e2e.max)" $((800 + slack))
  fi
  le "$ctx $n baseline p99 below the range" "$(fv "$f" "$n" .impact.baseline_e2e_p99)" 200
  eq "$ctx $n recovered" "$(fv "$f" "$n" .impact.recovered)" true
  rec=$(fv "$f" "$n" .impact.recovery_s)
  le "$ctx $n recovery" "$rec" 5
  # (the recovered second starts at end; points fall a few ms off whole
  # seconds, so its own t - 1 may be a little before end)
  end=$(fv "$f" "$n" '.ended_s + .impact.recovery_s')
  eq "$ctx $n seconds after the recovery are below 200 ms" \
     "$(jq --argjson e "$end" '[.timeseries[] | select(.t - 1 >= $e - 0.05 and .phase != "end") | .e2e_p50 < 200] | all' "$f")" true
  ge "$ctx $n seconds after the recovery exist" \
     "$(jq --argjson e "$end" '[.timeseries[] | select(.t - 1 >= $e - 0.05 and .phase != "end")] | length' "$f")" 1
  eq "$ctx $n events missing" "$(fv "$f" "$n" .impact.events.missing)" 0
  nonzero "$ctx $n events in its window" "$(fv "$f" "$n" .impact.events.sent)"
  nonzero "$ctx $n delayed" "$(fv "$f" "$n" .impact.delayed)"
  nonzero "$ctx $n bytes held downstream" "$(fv "$f" "$n" .proxy.traffic.downstream.bytes_delayed)"
  eq "$ctx $n nothing held upstream" "$(fv "$f" "$n" .proxy.traffic.upstream.bytes_delayed)" 0
  # The proxy's own record agrees with the fault's times (same clock; within
  # 50 ms: on a loaded 2-core machine the schedule's thread was seen 20 ms
  # between noting the start and the proxy taking the toxic).
  eq "$ctx proxy history" "$(jqv "$f" '[.proxy.history[] | .action] | join(",")')" "add,remove,clear"
  le "$ctx add at the start" "$(jq --arg n "$n" '(.proxy.history[0].t - (.faults[] | select(.name == $n) | .started_s)) | fabs' "$f")" 0.05
  le "$ctx remove at the end" "$(jq --arg n "$n" '(.proxy.history[1].t - (.faults[] | select(.name == $n) | .ended_s)) | fabs' "$f")" 0.05
}

# exact_run FILE CTX: the run's own accounting: every planned event
# attempted and acknowledged, delivered to every group, nothing lost,
# corrupted or failed; the drain completed.
exact_run() {
  local f=$1 ctx=$2 att groups
  att=$(jqv "$f" .publish.attempted)
  groups=$(jqv "$f" '.deliver.groups | length')
  eq "$ctx attempted == expected" "$att" "$(jqv "$f" .publish.expected)"
  eq "$ctx failed" "$(jqv "$f" .publish.failed)" 0
  eq "$ctx lost" "$(jqv "$f" .deliver.lost)" 0
  eq "$ctx pending" "$(jqv "$f" .deliver.pending)" 0
  eq "$ctx corrupted" "$(jqv "$f" .deliver.corrupted)" 0
  eq "$ctx delivered" "$(jqv "$f" .deliver.delivered)" "$((att * groups))"
  eq "$ctx drain complete" "$(jqv "$f" .deliver.drain_timed_out)" false
}
