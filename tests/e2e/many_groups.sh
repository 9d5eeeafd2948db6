# Many subscriber groups from few threads: a transport that can serve several
# groups from one thread (open_groups, as SSE and WebSocket subscribers do) gets
# at most 4 consumer threads for 64 groups, and every group's ledger stays
# exact against the mock's ground truth.
source "$(dirname "$0")/lib.bash"
"$EVLOAD" run scenarios/smoke.json --target 'mock://?drop=0.01&dup=0.01&reorder=0.02&seed=11' \
  --set verify.groups=64 --set publish.duration=4s --json "$TMP/g.json" --quiet >"$TMP/out" 2>"$TMP/err" &
pid=$!
threads=0
for _ in $(seq 40); do
  t=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  [ "${t:-0}" -gt "$threads" ] && threads=$t
  sleep 0.05
done
rc=0; wait $pid || rc=$?
[ "$rc" = 1 ] || cat "$TMP/err"
expect_rc "64 groups (loss injected)" "$rc" 1
no_sanitizer_report "64 groups" "$TMP/err"
# main + 2 lanes + at most 4 consumers (+ the transport's own, none for mock;
# + ThreadSanitizer's background thread in a TSan build)
tsan=0
case "$(ldd "$EVLOAD")" in *libtsan*) tsan=1 ;; esac
ge "threads seen" "$threads" 3
le "threads for 64 groups" "$threads" $((7 + tsan))
eq "groups" "$(jqv "$TMP/g.json" '.deliver.groups|length')" 64
planned "$TMP/g.json" "64 groups" 800
exact "$TMP/g.json" "64 groups"
eq "reordered==mock.reordered_intact" "$(jqv "$TMP/g.json" .deliver.reordered)" "$(jqv "$TMP/g.json" .broker.mock.reordered_intact)"
done_ok
