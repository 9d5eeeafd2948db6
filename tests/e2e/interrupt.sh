# Ctrl-C stops publishing, drains briefly and still reports; the run is
# incomplete (verdict, exit code 5), never a pass.
source "$(dirname "$0")/lib.bash"
"$EVLOAD" run scenarios/smoke.json --target 'mock://' --set publish.duration=60s \
  --json "$TMP/i.json" --quiet >"$TMP/out" 2>"$TMP/err" &
pid=$!
sleep 2
kill -INT $pid
rc=0; wait $pid || rc=$?
[ "$rc" = 5 ] || { cat "$TMP/err"; fail "interrupted run exited $rc, expected 5"; }
eq "interrupted flag" "$(jqv "$TMP/i.json" .run.interrupted)" true
eq "verdict" "$(jqv "$TMP/i.json" .verdict)" incomplete
eq "not completed" "$(jqv "$TMP/i.json" .run.completed)" false
grep -q '^INCOMPLETE$' "$TMP/out" || fail "the verdict line is not INCOMPLETE: $(cat "$TMP/out")"
eq "nothing lost on interrupt" "$(jqv "$TMP/i.json" .deliver.lost)" 0
ge "published for ~2s" "$(jqv "$TMP/i.json" .publish.attempted)" 200
le "stopped early" "$(jqv "$TMP/i.json" .run.duration_s)" 20
done_ok
