#!/usr/bin/env bash
# Bad input for the HTTP transports: an unreachable URL, a
# refused connection, a TLS failure (https:// to a plain HTTP server) and a
# 401 on the first requests (node:http answering 401) each end with exit 3
# and one line naming the target, its secrets hidden (a header value from
# ${VAR} and a URL password, neither ever printed); a sink whose port is
# taken is exit 3 naming the address. The right token against the same kind
# of server is accepted.
source tests/e2e/lib.bash "$@"
command -v node >/dev/null || fail "node is not installed (scripts/install-deps)"
[ -d tests/interop/node_modules/cloudevents ] || fail "tests/interop/node_modules is missing (cd tests/interop && npm ci)"
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
P=$((20000 + RANDOM % 20000))
export EV_HTTP_TOKEN='tok-Qz8xWv3Jk9'
PW='pw-Hy7Lm2Nc4'
cat >"$TMP/s.json" <<JSON
{ "name": "http-errors", "target": "http://127.0.0.1:$P/x",
  "event": { "type": "dev.evload.http", "source": "/evload/http", "mode": "binary" },
  "publish": { "lanes": 2, "rate": 100, "duration": "1s" },
  "verify": { "groups": 0 }, "thresholds": {} }
JSON
hdr='header=Authorization:%20Bearer%20${EV_HTTP_TOKEN}'
# one_line NAME WANT...: stderr is one line holding each WANT, and no secret.
one_line() {
  local name=$1; shift
  eq "$name: one line" "$(wc -l <"$TMP/err")" 1
  for w in "$@"; do grep -qF -- "$w" "$TMP/err" || fail "$name: \"$w\" not in: $(cat "$TMP/err")"; done
  no_leak "$name token" "$EV_HTTP_TOKEN" "$TMP/out" "$TMP/err"
  no_leak "$name password" "$PW" "$TMP/out" "$TMP/err"
}

# A refused connection (nothing listens on port P).
t0=$(date +%s)
run_rc 3 run "$TMP/s.json" --target "http://user:$PW@127.0.0.1:$P/x?$hdr"
one_line refused "http://user:***@127.0.0.1:$P/x?header=***" "cannot connect" "Couldn't connect"
le "refused: fast (s)" "$(( $(date +%s) - t0 ))" 5

# An unreachable URL: a name that never resolves (RFC 6761 .invalid).
t0=$(date +%s)
run_rc 3 run "$TMP/s.json" --target "http://user:$PW@no-such-host.invalid:8080/x?$hdr&connect_timeout=1s"
one_line unreachable "http://user:***@no-such-host.invalid:8080/x" "cannot connect"
le "unreachable: bounded (s)" "$(( $(date +%s) - t0 ))" 10

# A TLS failure: https:// to a server that speaks plain HTTP; and a 401.
node tests/interop/http_helper.js reject "$P" 401 "$TMP/reject.json" 60 >"$TMP/node.out" 2>&1 &
PID=$!
for _ in $(seq 50); do grep -q listening "$TMP/node.out" && break; sleep 0.1; done
grep -q listening "$TMP/node.out" || fail "the server did not start: $(cat "$TMP/node.out")"
run_rc 3 run "$TMP/s.json" --target "https://user:$PW@127.0.0.1:$P/x?$hdr"
one_line tls "https://user:***@127.0.0.1:$P/x?header=***" "TLS"
run_rc 3 run "$TMP/s.json" --target "http://user:$PW@127.0.0.1:$P/x?$hdr"
one_line 401 "http://user:***@127.0.0.1:$P/x?header=***" "401 Unauthorized"

# A sink whose port is taken (by that server): exit 3 with the address.
run_rc 3 run "$TMP/s.json" --target "mock://" --set verify.groups=1 --set "verify.source=http-sink://127.0.0.1:$P/in"
one_line "port in use" "127.0.0.1:$P" "Address already in use"
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
le "401: stopped at the first requests" "$(jqv "$TMP/reject.json" .requests)" 20

# The right token, from the environment, reaches the server: accepted.
node tests/interop/http_helper.js auth "$P" "$EV_HTTP_TOKEN" "$TMP/auth.json" 60 >"$TMP/node.out" 2>&1 &
PID=$!
for _ in $(seq 50); do grep -q listening "$TMP/node.out" && break; sleep 0.1; done
run_rc 0 run "$TMP/s.json" --target "http://127.0.0.1:$P/x?$hdr" --json "$TMP/auth-run.json"
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
eq "auth: acked" "$(jqv "$TMP/auth-run.json" .publish.acked)" 100
eq "auth: server accepted" "$(jqv "$TMP/auth.json" .ok)" 100
eq "auth: server refused" "$(jqv "$TMP/auth.json" .refused)" 0
no_leak "auth token" "$EV_HTTP_TOKEN" "$TMP/out" "$TMP/err" "$TMP/auth-run.json"

# evload check shows the header as *** too.
run_rc 0 check "$TMP/s.json" --target "http://user:$PW@127.0.0.1:$P/x?$hdr"
grep -qF 'header=***' "$TMP/out" || fail "check does not show header=***: $(cat "$TMP/out")"
no_leak "check token" "$EV_HTTP_TOKEN" "$TMP/out" "$TMP/err"
no_leak "check password" "$PW" "$TMP/out" "$TMP/err"
done_ok
