# Ctrl-C stops publishing, drains briefly and still reports; the run is
# incomplete (verdict, exit code 5), never a pass. The signal goes in once
# the status line shows events sent; the report must show publishing cut
# short there: fewer events than the 60 s plan, the publishing time ending at
# the signal, every event sent accounted for.
source "$(dirname "$0")/lib.bash"
run_bg 120 run scenarios/smoke.json --target 'mock://' --set publish.duration=60s --json "$TMP/i.json"
await_status sent 200 30
kill -INT "$EV_PID"
t_int=$(since_start)
wait_bg 5
f=$TMP/i.json
echo "interrupted at ${t_int}s: attempted $(jqv "$f" .publish.attempted), publish.duration_s $(jqv "$f" .publish.duration_s)"
eq "interrupted flag" "$(jqv "$f" .run.interrupted)" true
eq "verdict" "$(jqv "$f" .verdict)" incomplete
eq "not completed" "$(jqv "$f" .run.completed)" false
grep -q '^verdict: INCOMPLETE ' "$TMP/out" || fail "the summary's verdict is not INCOMPLETE: $(cat "$TMP/out")"
eq "planned 60 s at 200/s" "$(jqv "$f" .publish.expected)" 12000
lt "cut short" "$(jqv "$f" .publish.attempted)" 12000
ge "sent what the status line showed" "$(jqv "$f" .publish.attempted)" 200
ge "published until the signal" "$(jqv "$f" .publish.duration_s)" "$(awk -v t="$t_int" 'BEGIN{print t - 0.5}')"
le "stopped at the signal" "$(jqv "$f" .publish.duration_s)" "$(awk -v t="$t_int" 'BEGIN{print t + 1}')"
eq "every outcome counted" "$(jqv "$f" 'sum(.publish.acked, .publish.failed)')" "$(jqv "$f" .publish.attempted)"
eq "everything sent delivered" "$(jqv "$f" .deliver.delivered)" "$(jqv "$f" .publish.attempted)"
eq "nothing lost on interrupt" "$(jqv "$f" .deliver.lost)" 0
le "stopped early" "$(jqv "$f" .run.duration_s)" 20
done_ok
