#!/usr/bin/env bash
# Sleep-bound work scales with worker concurrency: the same 24 jobs of 100 ms
# each go through evload's worker at concurrency 1 and 4; throughput at 4
# must be at least twice that at 1 (linear would be 4x; the margin is for a
# loaded machine). Every job is delivered once in both runs.
source tests/interop/bullmq_lib.bash "$@"
scenario "$TMP/c.json" \
  '{ "executor": "max-throughput", "count": 24, "max_in_flight": 24 }' \
  '{ "consumers": 1, "work": "100ms", "drain_timeout": "60s" }' \
  ', "thresholds": { "lost": ["count==0"], "duplicated": ["count==0"] }'
declare -A tput
for c in 1 4; do
  run_rc 0 run "$TMP/c.json" --target "$TARGET" --set verify.consumers=$c --json "$TMP/c$c.json"
  planned "$TMP/c$c.json" "c=$c" 24
  eq "c=$c delivered" "$(jqv "$TMP/c$c.json" .deliver.delivered)" 24
  eq "c=$c worker concurrency" "$(jqv "$TMP/c$c.json" .broker.bullmq.worker.concurrency)" $c
  tput[$c]=$(jqv "$TMP/c$c.json" .broker.bullmq.worker.rate)
  le "c=$c no faster than the work allows" "${tput[$c]}" $((c * 10 + 1))
done
echo "worker rate: concurrency 1: ${tput[1]}/s, concurrency 4: ${tput[4]}/s"
ge "concurrency 4 vs 1" "$(awk -v a="${tput[4]}" -v b="${tput[1]}" 'BEGIN{print a/b}')" 2
done_ok
