# The fault schedule on mock:// (no network: exec faults only; the proxy and
# connections faults run against real brokers in tests/integration/faults_*):
# each command starts on time on the timeseries' clock, inside publishing;
# its exit code, signal, duration and output tail are reported; a timeout
# kills it; the run's accounting stays exact (the mock's ground truth), and a
# fault's events by intended time account for exactly the loss in its
# window; Ctrl-C during a long command ends the run at once; `check` refuses
# what mock:// cannot do.
source "$(dirname "$0")/lib.bash"

# "whole" starts at 2 s, so that whole seconds with deliveries come before it
# (its baseline): at 1.5 s, CI under ASan once had none, and then its events
# window ends at its end rather than at the run's.
cat >"$TMP/s.json" <<'JSON'
{ "name": "faults-e2e", "target": "mock://?drop=0.01&seed=11",
  "publish": { "rate": 200, "duration": "5s", "lanes": 2 },
  "verify": { "groups": 2, "drain_timeout": "3s" },
  "faults": [
    { "name": "hello", "at": "1s", "exec": "echo start; echo to-stderr >&2; sleep 0.5; echo end" },
    { "name": "stuck", "at": "1500ms", "exec": ["sleep", "30"], "timeout": "800ms" },
    { "name": "fails", "at": "2s", "exec": "exit 3" },
    { "name": "whole", "at": "2s", "exec": "sleep 2.5" } ] }
JSON
run_rc 2 check "$TMP/s.json" --set 'faults=[{"at":"1s","proxy":"down:latency=1s"}]'
grep -q "fault proxy-1: proxy needs a target on the network; mock:// has none" "$TMP/err" \
  || fail "check accepted a proxy fault on mock://: $(cat "$TMP/err")"
run_rc 2 check "$TMP/s.json" --set 'faults=[{"at":"6s","exec":"true"}]'
grep -q "fault exec-1: starts at 6s, but publishing ends at 5s" "$TMP/err" \
  || fail "check accepted a fault after publishing: $(cat "$TMP/err")"
run_rc 0 check "$TMP/s.json"
grep -q "^faults    hello: at 1s  exec echo start" "$TMP/out" || fail "check printed no faults: $(cat "$TMP/out")"

run_rc 0 run "$TMP/s.json" --json "$TMP/r.json" --missing "$TMP/missing.txt"
f=$TMP/r.json
exact "$f" "faults e2e"
nonzero "lost (the mock drops 1 %)" "$(jqv "$f" .deliver.lost)"
eq "faults reported" "$(jqv "$f" '.faults|length')" 4
eq "no proxy ran" "$(jqv "$f" 'has("proxy")')" false
fault() { jqv "$f" ".faults[] | select(.name == \"$1\") | $2"; }
# fault_null NAME PATH: that field is there and null.
fault_null() { is_null "$1 ${2#.}" "$(jqv_nullable "$f" "(.faults[] | select(.name == \"$1\"))$2")"; }
# On time: each started within 50 ms of its `at` (the schedule's thread wakes
# every 5 ms), and inside publishing (the timeseries' clock: publishing ends
# at 5 s).
for n in hello stuck fails whole; do
  at=$(fault $n .at_s); s=$(fault $n .started_s)
  ge "$n started at or after at" "$s" "$at"
  le "$n started within 50 ms" "$s" "$(awk -v a="$at" 'BEGIN{print a + 0.05}')"
  eq "$n status" "$(fault $n .status)" done
  eq "$n kind" "$(fault $n .kind)" exec
done
last_pub=$(jqv "$f" '[.timeseries[] | select(.phase == "publish") | .t] | max')
le "whole started inside publishing" "$(fault whole .started_s)" "$last_pub"
eq "hello exit" "$(fault hello .exec.exit)" 0
fault_null hello .exec.signal
eq "hello timed_out" "$(fault hello .exec.timed_out)" false
eq "hello output" "$(fault hello .exec.output_tail)" "$(printf 'start\nto-stderr\nend\n')"
ge "hello duration" "$(fault hello .exec.duration_s)" 0.5
le "hello duration" "$(fault hello .exec.duration_s)" 2
eq "hello ended = started + duration" \
   "$(jqv "$f" '.faults[0] | (.ended_s - .started_s - .exec.duration_s) | . * . < 1e-12')" true
eq "stuck timed out" "$(fault stuck .exec.timed_out)" true
eq "stuck killed by SIGTERM" "$(fault stuck .exec.signal)" 15
fault_null stuck .exec.exit
ge "stuck ran its timeout" "$(fault stuck .exec.duration_s)" 0.8
le "stuck killed soon after" "$(fault stuck .exec.duration_s)" 2
eq "fails exit" "$(fault fails .exec.exit)" 3
eq "spec as written" "$(fault stuck .spec)" "sleep 30"
# "whole": the mock drops events every second, so no second after it is free
# of new gaps: it never counts as recovered, and its events (by intended
# time) run from a second before it began to the end. Lane l's seq s is
# global event k = l + 2(s-1), intended at k/200 s: the events from kmin on
# are in it, and what is missing among them is exactly the lost ids that
# --missing lists with k >= kmin (nothing is pending on the mock).
eq "whole: not recovered" "$(fault whole .impact.recovered)" false
fault_null whole .impact.events.to_s # to the end
from=$(fault whole .impact.events.from_s)
eq "whole: events from a second before it" "$(jqv "$f" '.faults[3] | (.started_s - 1 - .impact.events.from_s) | . * . < 1e-12')" true
kmin=$(awk -v f="$from" 'BEGIN { k = f * 200; if (k > int(k)) k = int(k) + 1; print k }')
eq "whole: events sent" "$(fault whole .impact.events.sent)" "$((1000 - kmin))"
want=$(awk -v kmin="$kmin" '!/^#/ { n = split($3, a, "-"); lo = a[n]; n = split($4, b, "-"); hi = b[n];
  for (s = lo; s <= hi; s++) if ($2 + 2 * (s - 1) >= kmin) c++ } END { print c + 0 }' "$TMP/missing.txt")
nonzero "lost ids in its window" "$want"
eq "whole: missing == the lost ids in its window" "$(fault whole .impact.events.missing)" "$want"
eq "whole: all of them lost" "$(fault whole .impact.events.lost)" "$want"
eq "whole: pending" "$(fault whole .impact.events.pending)" 0
eq "whole: duplicated" "$(fault whole .impact.duplicated)" 0
ge "hello: e2e measured during it" "$(fault hello .impact.e2e.count)" 1
grep -q "^faults   (times in seconds from the schedule's start)" "$TMP/out" \
  || fail "the summary has no faults section: $(cat "$TMP/out")"
grep -q "exec TIMED OUT, killed by signal 15 after" "$TMP/out" \
  || fail "the summary does not say stuck timed out: $(cat "$TMP/out")"

# Ctrl-C while a command is still running (its timeout a minute away): the
# run ends within seconds, the command is ended and says so.
"$EVLOAD" run "$TMP/s.json" --target mock:// --set publish.duration=20s \
  --set "faults=[{\"name\":\"long\",\"at\":\"500ms\",\"exec\":\"sleep 60.$$\",\"timeout\":\"60s\"}]" \
  --json "$TMP/i.json" --quiet >"$TMP/out" 2>"$TMP/err" &
pid=$!
sleep 2
kill -INT $pid
t0=$(date +%s)
rc=0; wait $pid || rc=$?
eq "interrupted exit code" "$rc" 5
le "ended within 10 s of Ctrl-C" "$(( $(date +%s) - t0 ))" 10
eq "long: ended by evload" "$(jqv "$TMP/i.json" '.faults[0].exec.timed_out')" true
eq "long: SIGTERM" "$(jqv "$TMP/i.json" '.faults[0].exec.signal')" 15
sleep 0.2
if pgrep -f "sleep 60.$$" >/dev/null; then fail "the command outlived the run"; fi
done_ok
