# Shared by the kafka integration tests (sourced; not a test itself: the
# CTest glob takes *.sh only). Builds on tests/e2e/lib.bash.
# shellcheck source=../e2e/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.bash"

# A scenario without latency thresholds (faults stretch latency by design):
# kscenario FILE TARGET
kscenario() {
  cat >"$1" <<JSON
{
  "name": "kafka-it",
  "target": "$2",
  "event": { "type": "dev.evload.it", "source": "/evload/it", "data_size": 256 },
  "publish": { "executor": "constant-arrival-rate", "lanes": 4, "rate": 300,
               "duration": "5s", "max_in_flight": 2000 },
  "verify": { "groups": 1, "consumers": 1, "drain_timeout": "40s" },
  "thresholds": { "lost": ["count==0"], "corrupted": ["count==0"] }
}
JSON
}

# kexact FILE CTX N: the plan's N events all published and acked, and the
# ledger against librdkafka's ground truth: every acked event delivered to
# every group, in order; every duplicate is either a flagged replay or an
# extra copy in the log (high watermarks). Callers that expect no duplicates
# at all check duplicated==0 themselves.
kexact() {
  local f=$1 ctx=$2 n=$3 groups appended
  planned "$f" "$ctx" "$n"
  groups=$(jqv "$f" '.deliver.groups|length')
  appended=$(jqv "$f" .broker.kafka.appended)
  eq "$ctx acked==expected" "$(jqv "$f" .publish.acked)" "$n"
  eq "$ctx failed==0" "$(jqv "$f" .publish.failed)" 0
  eq "$ctx lost==0" "$(jqv "$f" .deliver.lost)" 0
  eq "$ctx delivered==acked*groups" "$(jqv "$f" .deliver.delivered)" "$((n * groups))"
  eq "$ctx reordered==0" "$(jqv "$f" .deliver.reordered)" 0
  eq "$ctx corrupted==0" "$(jqv "$f" .deliver.corrupted)" 0
  eq "$ctx foreign==0" "$(jqv "$f" .deliver.foreign)" 0
  eq "$ctx expired==0" "$(jqv "$f" .broker.kafka.expired)" 0
  # The log's extra copies (a retry the mock's idempotence check let through
  # while a broker was down) are exactly the duplicates that were not replays.
  ge "$ctx appended>=acked" "$appended" "$n"
  eq "$ctx (appended-acked)*groups==duplicated-redelivered" "$(((appended - n) * groups))" \
     "$(jqv "$f" '(.deliver.duplicated|num) - (.deliver.redelivered|num)')"
  eq "$ctx drain complete" "$(jqv "$f" .deliver.drain_timed_out)" false
  eq "$ctx lag_end==0" "$(jqv "$f" .broker.kafka.lag_end)" 0
  # Lag is reported every second and summarised.
  nonzero "$ctx lag sampled" "$(jqv "$f" '[.timeseries[] | select(.broker.lag != null)] | length')"
  ge "$ctx lag max reported" "$(jqv "$f" .backpressure.broker.lag)" 0
}
