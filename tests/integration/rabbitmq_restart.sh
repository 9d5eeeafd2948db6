#!/usr/bin/env bash
# Restart under load: durable queues, persistent messages, publisher confirms,
# manual acks. Mid-run, (1) `rabbitmqctl stop_app` … `start_app`, then in a
# separate run (2) `rabbitmqctl close_all_connections`. Each run must reconnect
# and complete with deliver.lost == 0, every event delivered to every group,
# and every duplicate reported as a redelivery: flagged by the broker (a
# requeue of what a consumer held unacked) or marked by evload's publisher (a
# republish of what was unconfirmed when the connection went). The marked
# copies that arrived are at most the events republished, once per group.
source "$(dirname "$0")/rabbitmq_lib.bash"
rmq_start

cat >"$TMP/restart.json" <<'JSON'
{ "name": "rabbitmq-restart",
  "event": { "type": "dev.evload.restart", "data_size": 512 },
  "publish": { "executor": "constant-arrival-rate", "lanes": 2, "rate": 400, "duration": "16s",
               "max_in_flight": 2000 },
  "verify": { "groups": 2, "consumers": 2, "prefetch": 100, "drain_timeout": "90s" },
  "thresholds": { "lost": ["count==0"] } }
JSON

# fault_run NAME MODE FAULT...: runs evload in the background, applies the
# fault once events are seen delivered (the consumers hold some unacked),
# waits (bounded) and checks the results. The fault must have begun while
# evload published, and hit the publishers then: FAULT sets T_IN_EFFECT when
# it knows the connections are gone by then, else the caller checks the
# timeseries. The broker may come back after publishing ended.
fault_run() {
  local name=$1 mode=$2; shift 2
  EX="evt-ex-$name-$SUFFIX" Q="evt-q-$name-$SUFFIX"
  local f="$TMP/$name.json" t_fault t_done
  run_bg 240 run "$TMP/restart.json" --target "$(target)" --set "event.mode=$mode" --json "$f"
  await_status recv 200 60
  t_fault=$(since_start) T_IN_EFFECT=
  "$@" || fail "fault command failed: $*"
  t_done=$(since_start)
  wait_bg 0
  echo "$name: fault from ${t_fault}s, in effect at ${T_IN_EFFECT:-?}s, over at ${t_done}s"
  local att=6400 groups dup redeliv repub
  planned "$f" "$name" 6400
  during_publish "$name fault" "$f" "$t_fault" ${T_IN_EFFECT:+"$T_IN_EFFECT"}
  groups=$(jqv "$f" '.deliver.groups|length')
  eq "$name groups" "$groups" 2
  eq "$name lost" "$(jqv "$f" .deliver.lost)" 0
  eq "$name failed" "$(jqv "$f" .publish.failed)" 0
  eq "$name delivered" "$(jqv "$f" .deliver.delivered)" "$((att * groups))"
  eq "$name corrupted" "$(jqv "$f" .deliver.corrupted)" 0
  eq "$name drain complete" "$(jqv "$f" .deliver.drain_timed_out)" false
  ge "$name publisher reconnected" "$(jqv "$f" .broker.rabbitmq.publisher_reconnects)" 1
  ge "$name consumer reconnected" "$(jqv "$f" .broker.rabbitmq.consumer_reconnects)" 1
  dup=$(jqv "$f" .deliver.duplicated)
  redeliv=$(jqv "$f" .deliver.redelivered)
  repub=$(jqv "$f" .broker.rabbitmq.republished)
  eq "$name every duplicate is a redelivery" "$redeliv" "$dup"
  le "$name marked copies seen <= republished x groups" \
     "$(jqv "$f" .broker.rabbitmq.republished_seen)" "$((repub * groups))"
  echo "$name: attempted $att, duplicated $dup (flagged redelivered $redeliv), republished $repub," \
       "reconnects pub $(jqv "$f" .broker.rabbitmq.publisher_reconnects)" \
       "sub $(jqv "$f" .broker.rabbitmq.consumer_reconnects)"
}

# stop_app closes the connections early on and then takes seconds (10 on a
# loaded machine) to stop the rest: its return is no bound on when they went.
restart_app() {
  timeout 60 rabbitmqctl -q stop_app >/dev/null || return 1
  sleep 3
  timeout 60 rabbitmqctl -q start_app >/dev/null
}
close_all() {
  timeout 60 rabbitmqctl -q close_all_connections "evload restart test" >/dev/null || return 1
  T_IN_EFFECT=$(since_start)
}

fault_run stopapp structured restart_app
# The once-a-second sample saw publishing lanes down while publishing.
nonzero "stopapp: lanes down while publishing" \
  "$(jqv "$TMP/stopapp.json" '[.timeseries[] | select(.phase == "publish") | .broker.lanes_down | num] | max')"
fault_run closeall binary close_all
done_ok
