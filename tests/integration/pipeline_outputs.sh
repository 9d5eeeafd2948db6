#!/usr/bin/env bash
# verify.outputs on a RabbitMQ -> relay -> RabbitMQ pipeline: several named
# outputs, each with its own source, groups and expectation.
# tests/interop/relay.js consumes its own queue (declared with
# x-dead-letter-exchange, as services do) and republishes to a fanout
# exchange; with --reject it rejects chosen messages without requeueing, so
# RabbitMQ itself dead-letters them into the DLQ.
#   A. outputs main (all) + dlq (expect "none"), nothing rejected: exit 0,
#      dlq received 0, main delivered everything
#   B. the same, the relay rejects 6: exit 1 (the implicit threshold
#      unexpected count==0 fails), dlq received == unexpected == 6 (counted
#      on that output), main lost == 6 with --missing == the rejected ids
#   C. typed outputs: main expects {"type": event.type} and gets everything;
#      audit expects {"type": "audit.only"} and counts every arrival as
#      unexpected: exit 1
#   D. a fan-out output that expects 2 copies of each event, the relay
#      publishing all but 5 messages twice: delivered == 2 x attempted - 5,
#      lost == 5 (the missing second copies), duplicated 0
source "$(dirname "$0")/pipeline_lib.bash" "$@"
need_rabbitmq
EX=po-in-$SFX RQ=po-relay-$SFX OX=po-out-$SFX DLX=po-dlx-$SFX DLQ=po-dlq-$SFX
AMQP_CLEANUP+=("$RQ $EX" "$DLQ $DLX" "- $OX")
TARGET="$AMQP_BASE/%2f?exchange=$EX"
FROM="$AMQP_BASE/%2f?exchange=$EX&queue=$RQ&dead_letter_exchange=$DLX"
TO="$AMQP_BASE/%2f?exchange=$OX"
# The dead-letter exchange and queue are infrastructure, there before the
# service and the test.
(cd "$INTEROP" && timeout 60 node rabbitmq_helper.js bind "$AMQP_BASE/%2f" "$DLX" fanout "$DLQ" "") >/dev/null ||
  fail "cannot declare the dead-letter exchange and queue"
# src EXCHANGE QUEUE [QUERY]: an output's source URL. evload's own verifier
# queues are declared (declare=1: in a pipeline evload declares nothing
# unless asked); the DLQ is used as it is.
src() { echo "$AMQP_BASE/%2f?exchange=$1&queue=$2${3:+&$3}"; }

# out FILE OUTPUT FIELD: a field of a named output in the results, held to
# jqv's rules (one output of that name; the field there, not null, not "").
# out_load FILE (after each run) reads every output's scalar fields with one
# jq run (one run per value took ~3 s of this test on the 2-core machine);
# out reads FILE itself when it was not loaded.
declare -A OUTV=()
OUTV_FILE=
out_load() {
  local k v lines
  if [ "$OUTV_FILE" != "$1" ]; then
    OUTV=()
    lines=$(jq -r '.deliver.outputs[] | .name as $n | to_entries[]
      | select(.value | type != "object" and type != "array") | "\($n).\(.key)\t\(.value)"' "$1") ||
      fail "cannot read the outputs of $1"
    while IFS=$'\t' read -r k v; do
      [ -z "${OUTV[$k]+x}" ] || fail "out: $k appears twice in $1"
      OUTV[$k]=$v
    done <<<"$lines"
    OUTV_FILE=$1
  fi
}
out() {
  local k v
  out_load "$1"
  k="$2.$3"
  [ -n "${OUTV[$k]+x}" ] || fail "out $2 $3 on $1: no such output or field"
  v=${OUTV[$k]}
  [ "$v" != null ] && [ -n "$v" ] || fail "out $2 $3 on $1: '$v'"
  printf '%s\n' "$v"
}
# thr FILE METRIC: pass of the threshold on METRIC.
thr() { jqv "$1" ".thresholds[] | select(.metric == \"$2\") | .pass"; }

# A. nothing dead-lettered
MQ=po-main-a-$SFX
AMQP_CLEANUP+=("$MQ")
relay_start a --from "$FROM" --to "$TO"
pscen "$TMP/a.json" "$TARGET" "{ \"drain_timeout\": \"5s\", \"outputs\": {
  \"main\": { \"source\": \"$(src "$OX" "$MQ" declare=1)\" },
  \"dlq\": { \"source\": \"$(src "$DLX" "$DLQ")\", \"expect\": \"none\" } } }"
evrun 0 a run "$TMP/a.json"
relay_stop a
out_load "$TMP/a.json"
att=$(jqv "$TMP/a.json" .publish.attempted)
nonzero "A attempted" "$att"
eq "A relay rejected" "$(rcount a .rejected)" 0
eq "A main delivered" "$(out "$TMP/a.json" main delivered)" "$att"
for k in lost pending late unexpected duplicated foreign corrupted; do
  eq "A main $k" "$(out "$TMP/a.json" main "$k")" 0
done
for k in received delivered lost pending late unexpected duplicated foreign corrupted; do
  eq "A dlq $k" "$(out "$TMP/a.json" dlq "$k")" 0
done
eq "A dlq expects none" "$(out "$TMP/a.json" dlq expect)" "expect none"
eq "A implicit threshold unexpected count==0 held" "$(thr "$TMP/a.json" unexpected)" true

# B and D miss events on purpose (main never gets the 6 rejected; fan never
# gets the 5 second copies): their drain always lasts its whole deadline,
# LOSS_DRAIN. It must only outlast the slowest delivered (or dead-lettered)
# event (RabbitMQ -> relay -> RabbitMQ; one that came later would be found
# by the final sweep, counted late, and fail the counts). Measured on the
# 2-core dev machine at loadavg ~6 (other tests running): e2e p99 5..32 ms,
# max 45 ms; the RabbitMQ pipelines' relays reached max 464..526 ms at
# loadavg 6..9. 3 s covers those with room (the drain was 5 s; 2 s failed once at loadavg 14, e2e max 4.4 s).
LOSS_DRAIN=3s

# B. the relay rejects 6; RabbitMQ dead-letters them to the DLQ
REJ=6 MQ=po-main-b-$SFX
AMQP_CLEANUP+=("$MQ")
relay_start b --from "$FROM" --to "$TO" --reject $REJ
pscen "$TMP/b.json" "$TARGET" "{ \"drain_timeout\": \"$LOSS_DRAIN\", \"outputs\": {
  \"main\": { \"source\": \"$(src "$OX" "$MQ" declare=1)\" },
  \"dlq\": { \"source\": \"$(src "$DLX" "$DLQ")\", \"expect\": \"none\" } } }"
evrun 1 b run "$TMP/b.json"
relay_stop b
out_load "$TMP/b.json"
att=$(jqv "$TMP/b.json" .publish.attempted)
nonzero "B attempted" "$att"
eq "B relay rejected" "$(rcount b .rejected)" $REJ
eq "B dlq received" "$(out "$TMP/b.json" dlq received)" $REJ
eq "B dlq unexpected" "$(out "$TMP/b.json" dlq unexpected)" $REJ
for k in delivered lost pending late duplicated foreign corrupted; do
  eq "B dlq $k" "$(out "$TMP/b.json" dlq "$k")" 0
done
eq "B main lost" "$(out "$TMP/b.json" main lost)" $REJ
eq "B main delivered" "$(out "$TMP/b.json" main delivered)" $((att - REJ))
eq "B main unexpected" "$(out "$TMP/b.json" main unexpected)" 0
eq "B main classes add up" "$(jqv "$TMP/b.json" '.deliver.outputs[] | select(.name == "main") | sum(.delivered, .late, .pending, .lost, .unconfirmed, .recovered)')" "$att"
eq "B unexpected total" "$(jqv "$TMP/b.json" .deliver.unexpected)" $REJ
eq "B threshold unexpected failed" "$(thr "$TMP/b.json" unexpected)" false
jq -r '.rejected_ids[]' "$TMP/b.counts" | sort >"$TMP/b.rejected"
missing_ids "$TMP/b.missing" >"$TMP/b.miss"
CHECKS=$((CHECKS + 1))
cmp -s "$TMP/b.miss" "$TMP/b.rejected" ||
  fail "B --missing lists $(tr '\n' ' ' <"$TMP/b.miss"), the relay rejected $(tr '\n' ' ' <"$TMP/b.rejected")"

# C. typed outputs: one expects this run's type, the other another type
MQ=po-main-c-$SFX AQ=po-audit-c-$SFX
AMQP_CLEANUP+=("$MQ" "$AQ")
relay_start c --from "$FROM" --to "$TO"
pscen "$TMP/c.json" "$TARGET" "{ \"drain_timeout\": \"5s\", \"outputs\": {
  \"main\": { \"source\": \"$(src "$OX" "$MQ" declare=1)\", \"expect\": { \"type\": \"dev.evload.pipeline\" } },
  \"audit\": { \"source\": \"$(src "$OX" "$AQ" declare=1)\", \"expect\": { \"type\": \"audit.only\" } } } }"
evrun 1 c run "$TMP/c.json"
relay_stop c
out_load "$TMP/c.json"
att=$(jqv "$TMP/c.json" .publish.attempted)
nonzero "C attempted" "$att"
eq "C main delivered" "$(out "$TMP/c.json" main delivered)" "$att"
eq "C main unexpected" "$(out "$TMP/c.json" main unexpected)" 0
eq "C main lost" "$(out "$TMP/c.json" main lost)" 0
eq "C audit unexpected" "$(out "$TMP/c.json" audit unexpected)" "$att"
eq "C audit received" "$(out "$TMP/c.json" audit received)" "$att"
for k in delivered lost pending late duplicated foreign; do
  eq "C audit $k" "$(out "$TMP/c.json" audit "$k")" 0
done
eq "C threshold unexpected failed" "$(thr "$TMP/c.json" unexpected)" false

# D. two copies of each event expected; the relay publishes all but the last 5 twice
MQ=po-main-d-$SFX
AMQP_CLEANUP+=("$MQ")
pscen "$TMP/d.json" "$TARGET" "{ \"drain_timeout\": \"$LOSS_DRAIN\", \"outputs\": {
  \"fan\": { \"source\": \"$(src "$OX" "$MQ" declare=1)\", \"expect\": { \"copies\": 2 } } } }"
planned=800 # pscen's schedule: 200 events/s for 4 s
relay_start d --from "$FROM" --to "$TO" --dup $((planned - 5)) --dup-every 1
evrun 0 d run "$TMP/d.json" --set 'thresholds={"lost": ["count==5"], "duplicated": ["count==0"]}'
relay_stop d
out_load "$TMP/d.json"
att=$(jqv "$TMP/d.json" .publish.attempted)
eq "D expected as planned" "$(jqv "$TMP/d.json" .publish.expected)" "$planned"
eq "D attempted as planned" "$att" "$planned"
eq "D relay duplicated" "$(rcount d .duplicated)" $((att - 5))
eq "D fan copies" "$(out "$TMP/d.json" fan copies)" 2
eq "D fan delivered" "$(out "$TMP/d.json" fan delivered)" $((2 * att - 5))
eq "D fan lost" "$(out "$TMP/d.json" fan lost)" 5
eq "D fan duplicated" "$(out "$TMP/d.json" fan duplicated)" 0
eq "D fan received" "$(out "$TMP/d.json" fan received)" $((2 * att - 5))
# --missing lists the events whose second copy never came: those the relay
# did not duplicate.
run=$(jqv "$TMP/d.json" .run.id)
for l in 0 1; do for q in $(seq 1 $((planned / 2))); do echo "$run-0-$l-$q"; done; done | sort >"$TMP/d.all"
jq -r '.duplicated_ids[]' "$TMP/d.counts" | sort | comm -23 "$TMP/d.all" - >"$TMP/d.once"
eq "D events published once" "$(wc -l <"$TMP/d.once")" 5
missing_ids "$TMP/d.missing" >"$TMP/d.miss"
CHECKS=$((CHECKS + 1))
cmp -s "$TMP/d.miss" "$TMP/d.once" ||
  fail "D --missing lists $(tr '\n' ' ' <"$TMP/d.miss"), the relay published once $(tr '\n' ' ' <"$TMP/d.once")"
eq "D fan classes add up to attempted x copies" "$(jqv "$TMP/d.json" '.deliver.outputs[0] | sum(.delivered, .late, .pending, .lost, .unconfirmed, .recovered)')" $((2 * att))
done_ok
