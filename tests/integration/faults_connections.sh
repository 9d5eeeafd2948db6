# Issue 16, item 4: connection exhaustion from the scenario's `connections`
# fault, against brokers with a connection limit.
#  - RabbitMQ, a vhost of its own with max-connections 20 (deleted at the
#    end: nothing else on the broker changes). evload's run holds 5
#    connections (2 lanes, 2 consumers, the module's own); 40 extra ones,
#    opened one at a time and tried again every 100 ms, get the other 15.
#    Then the proxy resets evload's 5 for 2 s: the extra ones take those
#    slots too (peak 20, exactly the limit), and evload's reconnections are
#    refused until the extra connections go. The run keeps going and ends
#    exact: every refusal counted with the broker's own reason.
#  - The same, but the extra connections stay to the end and evload may
#    reconnect for 3 s only: the run ends with one clear line and exit 3,
#    never a hang or a crash.
#  - Redis with maxclients 20 (a private redis-server): the extra
#    connections get what evload's own leave, exactly; the rest are refused
#    with Redis's "max number of clients reached".
source "$(dirname "$0")/rabbitmq_lib.bash"
source "$(dirname "$0")/faults_lib.bash"
command -v redis-server >/dev/null || ./scripts/brokers start redis >/dev/null ||
  fail "no redis-server (scripts/brokers start redis)"
rmq_start

VH=evload-it-limit-$SUFFIX
RPORT=$((20000 + RANDOM % 20000))
cleanup_all() {
  timeout 60 rabbitmqctl -q delete_vhost "$VH" >/dev/null 2>&1 || true
  redis-cli -p "$RPORT" shutdown nosave >/dev/null 2>&1 || true
}
on_exit cleanup_all
timeout 60 rabbitmqctl -q add_vhost "$VH" || fail "cannot add vhost $VH"
timeout 60 rabbitmqctl -q set_permissions -p "$VH" guest '.*' '.*' '.*' || fail "cannot set permissions"
timeout 60 rabbitmqctl -q set_vhost_limits -p "$VH" '{"max-connections": 20}' || fail "cannot set the limit"
URL="amqp://guest:guest@127.0.0.1:5672/$VH?exchange=$EX&queue=$Q&cleanup=1"

f=$TMP/hold.json
run_rc 0 run scenarios/rabbitmq-smoke.json --target "$URL" --set publish.duration=10s \
  --set verify.drain_timeout=60s \
  --set 'faults=[{"name": "hold", "at": "2s", "for": "6s",
                  "connections": {"count": 40, "parallel": 1, "retry": "100ms"}},
                 {"name": "cut", "at": "3s", "for": "2s", "proxy": "reset"}]' \
  --set 'thresholds={"lost":["count==0"]}' --json "$f" --quiet
exact_run "$f" "rabbitmq hold"
eq "hold: every duplicate is a flagged redelivery" "$(jqv "$f" .deliver.redelivered)" "$(jqv "$f" .deliver.duplicated)"
on_time "$f" hold
on_time "$f" cut
c() { fv "$f" hold ".connections.$1"; }
eq "hold: protocol" "$(c protocol)" amqp
eq "hold: accepted: the 15 evload left, then its 5" "$(c accepted)" 20
eq "hold: peak open == the limit" "$(c peak_open)" 20
eq "hold: all closed at the end" "$(c open)" 0
eq "hold: errors" "$(c errors)" 0
ge "hold: refused (25 at first, then every 100 ms)" "$(c refused)" 25
ge "hold: every attempt answered" "$(( $(c accepted) + $(c refused) + 1 ))" "$(c attempted)"
eq "hold: every refusal is the vhost limit" \
   "$(jq -r --arg vh "$VH" '.faults[0].connections.reasons | to_entries | map(select(.key | contains("connection limit (20) is reached") and contains($vh))) | .[0].value' "$f")" \
   "$(c refused)"
ge "evload's publishers came back" "$(jqv "$f" .broker.rabbitmq.publisher_reconnects)" 2
ge "evload's consumers came back" "$(jqv "$f" .broker.rabbitmq.consumer_reconnects)" 1
# Between the reset's end (5 s) and the extra connections' (8 s) evload's
# consumers are refused: nothing arrives in the second from 6 s to 7 s.
eq "evload kept out while the slots were taken" \
   "$(jq '[.timeseries[] | select(.t > 5.9 and .t < 7.5) | .received] | (length == 2 and .[1] == .[0])' "$f")" true
echo "rabbitmq hold: attempted $(c attempted), accepted $(c accepted), refused $(c refused), peak $(c peak_open);" \
  "evload's reconnects pub $(jqv "$f" .broker.rabbitmq.publisher_reconnects) sub $(jqv "$f" .broker.rabbitmq.consumer_reconnects)"

# The extra connections never go, and evload may reconnect for 3 s only.
f=$TMP/starve.json
rc=0
timeout 120 "$EVLOAD" run scenarios/rabbitmq-smoke.json --target "$URL&reconnect_timeout=3s" \
  --set publish.duration=8s \
  --set 'faults=[{"name": "hold", "at": "1s", "connections": {"count": 40, "parallel": 1, "retry": "100ms"}},
                 {"name": "cut", "at": "2s", "proxy": "reset"}]' \
  --json "$f" --quiet >"$TMP/out" 2>"$TMP/err" || rc=$?
expect_rc "starved: exit code (a connection failed for good; 124: a hang)" "$rc" 3
no_sanitizer_report "starved" "$TMP/err"
echo "starved: stderr: $(cat "$TMP/err")"
eq "starved: one line on stderr" "$(wc -l <"$TMP/err")" 1
grep -q "connection limit (20) is reached" "$TMP/err" || fail "starved: the error does not say why: $(cat "$TMP/err")"
eq "starved: results still written, incomplete" "$(jqv "$f" .verdict)" incomplete
eq "starved: the extra connections' refusals" "$(jqv "$f" '.faults[0].connections.refused > 0')" true
eq "starved: hold ran to the end" "$(jqv "$f" '.faults[0].note')" "on until the run ended"

# Redis with maxclients 20.
redis-server --port "$RPORT" --bind 127.0.0.1 --maxclients 20 --save '' --appendonly no \
  --daemonize yes --pidfile "$TMP/redis.pid" --logfile "$TMP/redis.log"
for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
f=$TMP/redis.json
"$EVLOAD" run scenarios/redis-pubsub-smoke.json --target "redis://127.0.0.1:$RPORT?channel=evload-it-fconn" \
  --set publish.duration=5s \
  --set 'faults=[{"name": "flood", "at": "2s", "for": "2s", "connections": {"count": 40, "parallel": 1}}]' \
  --json "$f" --quiet >"$TMP/out" 2>"$TMP/err" &
pid=$!
sleep 1.2
own=$(redis-cli -p "$RPORT" client list | grep -c 'name=evload-')
rc=0; wait $pid || rc=$?
expect_rc "redis: exit code" "$rc" 0
no_sanitizer_report "redis flood" "$TMP/err"
exact_run "$f" "redis flood"
c() { fv "$f" flood ".connections.$1"; }
eq "redis: protocol" "$(c protocol)" redis
eq "redis: accepted == what evload's $own left" "$(c accepted)" "$((20 - own))"
eq "redis: the rest refused" "$(c refused)" "$((40 - 20 + own))"
eq "redis: attempted" "$(c attempted)" 40
eq "redis: refused for maxclients" \
   "$(jq -r '.faults[0].connections.reasons["ERR max number of clients reached"]' "$f")" "$(c refused)"
echo "redis flood: evload's own $own, accepted $(c accepted), refused $(c refused)"
done_ok
