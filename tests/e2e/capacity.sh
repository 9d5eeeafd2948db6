# mock://?capacity=N: each group's queue serves N deliveries/s on a
# virtual-time schedule (visible at max(arrival, previous service end) + 1/N).
# At 2N/s for T s the backlog grows by N/s to N×T, the last copy is served at
# ≈ 2T and an event sent at t waits t, so e2e p99 ≈ 0.99 T and max ≈ T.
# At N/2 nothing queues beyond what the publisher's own catch-up bursts bring.
source "$(dirname "$0")/lib.bash"
N=1000
T=3
run_rc 0 run scenarios/smoke.json --target "mock://?capacity=$N" \
  --set publish.rate=$((2 * N)) --set publish.duration=${T}s --set 'thresholds={}' \
  --set verify.drain_timeout=15s --json "$TMP/over.json" --quiet
f=$TMP/over.json
planned "$f" "2N" $((2 * N * T))
exact "$f" "2N"
eq "2N: every event measured" "$(jqv "$f" .latency.e2e.count)" $((2 * N * T))
eq "2N: capacity reported" "$(jqv "$f" .broker.mock.capacity)" $N
eq "2N: nothing left" "$(jqv "$f" .broker.mock.left_in_queues)" 0
# Served at N/s from the first arrival: 2NT copies take 2T s.
settle=$(jqv "$f" .deliver.settle_s)
ge "2N: last delivery >= 0.95 x 2T" "$settle" "$(echo "0.95 * 2 * $T" | bc -l)"
le "2N: last delivery <= 1.10 x 2T" "$settle" "$(echo "1.10 * 2 * $T" | bc -l)"
p99=$(jqv "$f" .latency.e2e.p99)
ge "2N: e2e p99 >= 0.90 T" "$p99" "$(echo "0.90 * $T * 1000" | bc -l)"
le "2N: e2e p99 <= 1.10 T" "$p99" "$(echo "1.10 * $T * 1000" | bc -l)"
p50=$(jqv "$f" .latency.e2e.p50)
ge "2N: e2e p50 >= 0.40 T" "$p50" "$(echo "0.40 * $T * 1000" | bc -l)"
le "2N: e2e p50 <= 0.60 T" "$p50" "$(echo "0.60 * $T * 1000" | bc -l)"
# The backlog peaks at N×T when publishing stops; it is the broker depth.
for d in "$(jqv "$f" .broker.mock.max_queue)" "$(jqv "$f" .backpressure.max_depth)"; do
  ge "2N: backlog >= 0.85 N T" "$d" "$(echo "0.85 * $N * $T" | bc -l)"
  le "2N: backlog <= 1.10 N T" "$d" "$(echo "1.10 * $N * $T" | bc -l)"
done

# At N/2: no backlog. Latency is the service time (1 ms) plus the consumer's
# wake-up; a catch-up burst after the publisher fell behind on a loaded
# machine may queue a few tens of copies for a few tens of ms.
run_rc 0 run scenarios/smoke.json --target "mock://?capacity=$N" \
  --set publish.rate=$((N / 2)) --set publish.duration=${T}s --set 'thresholds={}' \
  --json "$TMP/under.json" --quiet
f=$TMP/under.json
planned "$f" "N/2" $((N * T / 2))
exact "$f" "N/2"
ge "N/2: e2e p50 >= the 1 ms service time" "$(jqv "$f" .latency.e2e.p50)" 1
le "N/2: e2e p50 <= 5 ms" "$(jqv "$f" .latency.e2e.p50)" 5
# A publisher that fell L ms behind sends rate × L events at once when it
# catches up; the queue may hold those, never a growing backlog.
lag=$(jqv "$f" .latency.sched_lag.max)
le "N/2: backlog only the publisher's catch-up bursts" "$(jqv "$f" .broker.mock.max_queue)" \
  "$(echo "20 + 1.1 * $N / 2 * $lag / 1000" | bc -l)"
le "N/2: settles with publishing" "$(jqv "$f" .deliver.settle_s)" "$(echo "$T + 1" | bc -l)"

# The parameter is checked like the mock's others, and listed with them.
run_rc 2 check scenarios/smoke.json --target 'mock://?capacity=-1'
grep -q 'capacity' "$TMP/err" || fail "capacity=-1: the error names the parameter: $(cat "$TMP/err")"
run_rc 2 check scenarios/smoke.json --target 'mock://?capacty=10'
grep -q 'capacity' "$TMP/err" || fail "capacty: the nearest key is named: $(cat "$TMP/err")"
run_rc 0 targets
grep -q 'capacity' "$TMP/out" || fail "evload targets lists capacity"
done_ok
