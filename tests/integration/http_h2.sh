#!/usr/bin/env bash
# HTTP/2 cleartext (prior knowledge) against nghttpd (nghttp2's server, a real
# HTTP/2 implementation with "rapid reset" protection): every event acked on
# multiplexed streams, one connection at a time, a fresh one every 800 streams
# (libcurl 7.88.1 resets each finished stream; docs/http.md), no request
# failed and none sent twice.
source "$(dirname "$0")/../e2e/lib.bash"
NGHTTPD=$(command -v nghttpd || echo /usr/sbin/nghttpd)
[ -x "$NGHTTPD" ] || fail "nghttpd is not installed (scripts/install-deps: nghttp2-server)"
P=$((20000 + RANDOM % 20000))
mkdir -p "$TMP/htdocs"
: >"$TMP/htdocs/ev"
"$NGHTTPD" --no-tls -n 1 -d "$TMP/htdocs" "$P" >"$TMP/nghttpd.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$TMP"' EXIT
sleep 0.5
cat >"$TMP/s.json" <<JSON
{ "name": "http-h2", "target": "http://127.0.0.1:$P/ev?version=2-prior-knowledge&connections=1&streams=20",
  "event": { "type": "dev.evload.h2", "source": "/evload/h2", "data_size": 256, "mode": "binary" },
  "publish": { "lanes": 1, "rate": 1000, "duration": "2s", "max_in_flight": 40 },
  "verify": { "groups": 0 }, "thresholds": { "publish_errors": ["count==0"] } }
JSON
f=$TMP/h2.json
run_rc 0 run "$TMP/s.json" --json "$f" --quiet
H=.broker.http
eq "attempted" "$(jqv "$f" .publish.attempted)" 2000
eq "acked" "$(jqv "$f" .publish.acked)" 2000
eq "requests" "$(jqv "$f" "$H.requests")" 2000
eq "status 200" "$(jqv "$f" "$H.status[\"200\"]")" 2000
eq "transport errors" "$(jqv "$f" "$H.transport_errors")" 0
eq "version" "$(jqv "$f" "$H.version")" 2-prior-knowledge
eq "connections: one per 800 streams" "$(jqv "$f" "$H.connections_opened")" 3
eq "streams on them" "$(jqv "$f" "$H.connections_reused")" 1997
done_ok
