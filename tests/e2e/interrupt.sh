# DESIGN §6: Ctrl-C ends the stage early, drains briefly and still reports.
source "$(dirname "$0")/lib.bash"
"$EVLOAD" run scenarios/smoke.json --target 'mock://' --set publish.duration=60s \
  --json "$TMP/i.json" --quiet >"$TMP/out" 2>"$TMP/err" &
pid=$!
sleep 2
kill -INT $pid
rc=0; wait $pid || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || { cat "$TMP/err"; fail "interrupted run exited $rc"; }
eq "interrupted flag" "$(jqv "$TMP/i.json" .run.interrupted)" true
eq "nothing lost on interrupt" "$(jqv "$TMP/i.json" .deliver.lost)" 0
ge "published for ~2s" "$(jqv "$TMP/i.json" .publish.attempted)" 200
le "stopped early" "$(jqv "$TMP/i.json" .run.duration_s)" 20
done_ok
