#!/usr/bin/env bash
# report.html in a real browser: headless Chromium (Debian's
# chromium, driven by npm playwright-core) renders a run's page: the
# screenshot is not blank (a blank page is, by the same measure), the DOM has
# one rate-chart point per timeseries entry, and the page makes no request
# beyond its own file. A sweep's page renders too.
source "$(dirname "$0")/../e2e/lib.bash"
[ -d tests/interop/node_modules/playwright-core ] || fail "tests/interop/node_modules is missing (cd tests/interop && npm ci)"
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing (Debian package chromium: scripts/install-deps)"
page() { # page HTML NAME: the helper's JSON into $TMP/NAME.json
  mkdir "$TMP/profile-$2"
  timeout 120 node tests/interop/report_helper.mjs page "$1" "$TMP/profile-$2" "$TMP/$2.png" >"$TMP/$2.json" \
    2>"$TMP/$2.err" || { cat "$TMP/$2.err"; fail "chromium could not render $1"; }
}
run_rc 1 run scenarios/smoke.json --target 'mock://?drop=0.01&delay=1ms..20ms&seed=3' \
  --set publish.rate=300 --set publish.duration=4s --out "$TMP/run" --quiet
planned "$TMP/run/results.json" run 1200
page "$TMP/run/report.html" run
J=$TMP/run.json
n=$(jqv "$TMP/run/results.json" '.timeseries|length')
ge "timeseries entries" "$n" 4
eq "rate chart points" "$(jqv "$J" .dom.ratePoints)" "$n"
eq "requests beyond the file" "$(jqv "$J" '.requests|length')" 0
eq "scripts" "$(jqv "$J" .dom.scripts)" 0
eq "verdict shown" "$(jqv "$J" .dom.verdict)" FAIL
ge "charts" "$(jqv "$J" .dom.svgs)" 6
ge "lines drawn" "$(jqv "$J" .dom.polylines)" 8
eq "first section" "$(jqv "$J" '.dom.h2[0]')" Thresholds
eq "last section" "$(jqv "$J" '.dom.h2[-1]')" "Scenario and environment"
ge "screenshot colours" "$(jqv "$J" .png.colors)" 16
ge "screenshot inked fraction" "$(jqv "$J" .png.fraction)" 0.02
# The same measure calls a blank page blank, so the check above can fail.
page about:blank blank
le "blank page colours" "$(jqv "$TMP/blank.json" .png.colors)" 2
le "blank page inked" "$(jqv "$TMP/blank.json" .png.nonWhite)" 0

# A sweep's page: the scaling charts and each run's rate chart.
cat >"$TMP/sweep.json" <<'JSON'
{ "target": "mock://",
  "publish": { "executor": "max-throughput", "count": 100, "max_in_flight": 1000 },
  "verify": { "prefetch": 1, "work": "5ms", "drain_timeout": "30s" },
  "sweep": { "verify.consumers": [1, 2] } }
JSON
run_rc 0 run "$TMP/sweep.json" --out "$TMP/sw" --quiet
page "$TMP/sw/report.html" sweeppage
eq "sweep requests" "$(jqv "$TMP/sweeppage.json" '.requests|length')" 0
eq "sweep first section" "$(jqv "$TMP/sweeppage.json" '.dom.h2[0]')" Scaling
ge "sweep charts" "$(jqv "$TMP/sweeppage.json" .dom.svgs)" 12
done_ok
