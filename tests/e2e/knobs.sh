# Each fault knob alone and in combination, over two seeds (one per event
# mode: the seed picks which events the faults hit, the mode how they are
# encoded), with several lanes, groups and competing consumers: the ledger must
# equal the mock's ground truth exactly every time. Each run's exit code is
# the one its faults imply: the smoke thresholds fail on loss, corruption and
# a publish error rate of 1 % or more; duplicates and reorders fail none.
source "$(dirname "$0")/lib.bash"
short=(--set publish.rate=4000 --set publish.duration=1s --set verify.drain_timeout=5s --quiet)
i=0
for knobs in drop=0.02 dup=0.02 reorder=0.03 corrupt=0.02 nack=0.02 \
             'drop=0.01&dup=0.01&reorder=0.01&corrupt=0.01&nack=0.01'; do
  for seed in 1 2; do
    i=$((i+1))
    mode=structured; [ $((i % 2)) = 0 ] && mode=binary
    want=1 verdict=fail
    case $knobs in dup=* | reorder=*) want=0 verdict=pass ;; esac
    run_rc $want run scenarios/smoke.json --target "mock://?$knobs&seed=$seed" "${short[@]}" \
      --set event.mode=$mode --set publish.lanes=3 --json "$TMP/k.json"
    eq "$knobs seed=$seed verdict" "$(jqv "$TMP/k.json" .verdict)" $verdict
    planned "$TMP/k.json" "$knobs seed=$seed" 4000
    exact "$TMP/k.json" "$knobs seed=$seed mode=$mode"
    eq "$knobs seed=$seed reordered" "$(jqv "$TMP/k.json" .deliver.reordered)" "$(jqv "$TMP/k.json" .broker.mock.reordered_intact)"
    case $knobs in
      drop=*) nonzero "$knobs lost" "$(jqv "$TMP/k.json" .deliver.lost)" ;;
      dup=*) nonzero "$knobs duplicated" "$(jqv "$TMP/k.json" .deliver.duplicated)" ;;
      reorder=*) nonzero "$knobs reordered" "$(jqv "$TMP/k.json" .deliver.reordered)" ;;
      corrupt=*) nonzero "$knobs corrupted" "$(jqv "$TMP/k.json" .deliver.corrupted)" ;;
      nack=*) nonzero "$knobs unconfirmed" "$(jqv "$TMP/k.json" .deliver.unconfirmed)"
              eq "$knobs nacked are not lost" "$(jqv "$TMP/k.json" .deliver.lost)" 0 ;;
    esac
  done
done
# Fan-out: 3 groups, each must see everything; faults are per group.
run_rc 1 run scenarios/smoke.json --target 'mock://?drop=0.01&dup=0.01&seed=11' "${short[@]}" \
  --set verify.groups=3 --json "$TMP/g.json"
planned "$TMP/g.json" "3 groups" 4000
exact "$TMP/g.json" "3 groups"
eq "3 groups listed" "$(jqv "$TMP/g.json" '.deliver.groups|length')" 3
eq "group losses add up" "$(jqv "$TMP/g.json" 'sum(.deliver.groups[].lost)')" "$(jqv "$TMP/g.json" .deliver.lost)"
for g in 0 1 2; do
  nonzero "group $g lost some" "$(jqv "$TMP/g.json" ".deliver.groups[$g].lost")"
done
# Competing consumers: order is not promised, so reorders are not counted,
# but loss and duplicates stay exact.
run_rc 1 run scenarios/smoke.json --target 'mock://?drop=0.01&dup=0.01&reorder=0.02&seed=5' "${short[@]}" \
  --set verify.consumers=4 --json "$TMP/c.json"
planned "$TMP/c.json" "4 consumers" 4000
exact "$TMP/c.json" "4 consumers"
eq "4 consumers: reorders not counted" "$(jqv "$TMP/c.json" .deliver.reordered)" 0
# Publish only: every outcome still counted, nothing claimed about delivery,
# and no drain (the mock's queues are not read). Delivery-side thresholds
# are refused with verify.groups 0 (tests/e2e/errors.sh): this scenario has
# only a publish-side one.
printf '{ "name": "publish-only", "verify": { "groups": 0 },\n  "thresholds": { "publish_errors": ["count<1000"] } }\n' >"$TMP/po.json"
run_rc 0 run "$TMP/po.json" --target 'mock://?nack=0.05&seed=3' "${short[@]}" --json "$TMP/p.json"
f=$TMP/p.json
planned "$f" "publish only" 4000
eq "publish only: not verified" "$(jqv "$f" .deliver.verified)" false
eq "publish only: no group" "$(jqv "$f" '.deliver.groups|length')" 0
eq "publish only: failed==mock.nacked" "$(jqv "$f" .publish.failed)" "$(jqv "$f" .broker.mock.nacked)"
nonzero "publish only: nacked" "$(jqv "$f" .broker.mock.nacked)"
eq "publish only: outcomes add up" "$(jqv "$f" 'sum(.publish.acked, .publish.failed)')" "$(jqv "$f" .publish.attempted)"
eq "publish only: nothing called lost" "$(jqv "$f" .deliver.lost)" 0
le "publish only: no drain wait" "$(jqv "$f" '.deliver.settle_s - .publish.duration_s')" 1
run_rc 0 run "$TMP/po.json" --target mock:// --set publish.rate=100 --set publish.duration=0.2s
grep -q 'not verified: verify.groups is 0' "$TMP/out" || fail "publish only: summary says nothing of it: $(cat "$TMP/out")"
eq "3 groups verified" "$(jqv "$TMP/g.json" .deliver.verified)" true
done_ok
