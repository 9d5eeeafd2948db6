/* ev_junit — junit.xml: a run's gates as JUnit test cases, so any CI that
 * reads JUnit (GitLab, Jenkins, GitHub test reporters) shows them.
 *
 *   <testsuites name="evload" tests failures errors>
 *     <testsuite name="evload.SCENARIO" …>   one per run (a sweep: per run)
 *       <properties>  run id, target, verdict, instance, started
 *       <testcase classname="evload.SCENARIO.thresholds" name="METRIC EXPR">
 *           one per threshold: <failure> when it did not hold
 *       <testcase classname="evload.SCENARIO.delivery" name="OUTPUT: no loss">
 *           one per output verified: <failure> when lost > 0
 *       <testcase … name="run completed">  only when the run ended early:
 *           an <error> with the reason
 *
 * Deterministic (no clock): times are the run's own durations. */
#ifndef EV_JUNIT_H
#define EV_JUNIT_H

#include "ev_err.h"

#include <jansson.h>
#include <stdio.h>

/* Writes doc (a run's results or a sweep document) to f. 0, EV_EUSAGE (not
 * a results document) or EV_EINTERNAL (write error), with err. */
int ev_junit_write(FILE *f, const json_t *doc, ev_err *err);

#endif
