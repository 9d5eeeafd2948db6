# docs/design.md §3: the smoke scenario on a faulty mock at 2000/s
# fails its zero-loss threshold, and the ledger equals the mock's ground truth.
source "$(dirname "$0")/lib.bash"
run_rc 1 run scenarios/smoke.json --target 'mock://?drop=0.01&dup=0.005&reorder=0.01&seed=7' \
  --set publish.rate=2000 --json "$TMP/r.json" --quiet
f=$TMP/r.json
planned "$f" "smoke seed 7" 10000
exact "$f" "smoke seed 7"
nonzero "lost" "$(jqv "$f" .deliver.lost)"
nonzero "duplicated" "$(jqv "$f" .deliver.duplicated)"
eq "reordered==mock.reordered_intact" "$(jqv "$f" .deliver.reordered)" "$(jqv "$f" .broker.mock.reordered_intact)"
nonzero "reordered" "$(jqv "$f" .deliver.reordered)"
eq "verdict" "$(jqv "$f" .verdict)" fail
eq "lost threshold failed" "$(jqv "$f" '.thresholds[]|select(.metric=="lost")|.pass')" false
eq "schema" "$(jqv "$f" .schema)" 1
# Without faults the same scenario passes.
run_rc 0 run scenarios/smoke.json --target 'mock://' --set publish.rate=2000 --json "$TMP/ok.json" --quiet
eq "clean verdict" "$(jqv "$TMP/ok.json" .verdict)" pass
eq "clean lost" "$(jqv "$TMP/ok.json" .deliver.lost)" 0
eq "clean delivered" "$(jqv "$TMP/ok.json" .deliver.delivered)" "$(jqv "$TMP/ok.json" .publish.attempted)"
planned "$TMP/ok.json" "clean" 10000
done_ok
