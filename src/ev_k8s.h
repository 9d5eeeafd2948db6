/* ev_k8s — `evload k8s render SCENARIO --instances N …`: the Kubernetes
 * manifests of one distributed run (docs/distributed.md): a ConfigMap with
 * the scenario file as it is, an Indexed Job whose pod I is instance I of N
 * (JOB_COMPLETION_INDEX, EVLOAD_INSTANCES, one EVLOAD_EPOCH and --start-at
 * for all), the results on a shared claim (and a Job that merges them) or in
 * each pod's log. The scenario is validated first exactly as `evload check`
 * validates it; passwords never enter the output (a Secret reference takes
 * their place). */
#ifndef EV_K8S_H
#define EV_K8S_H

/* The subcommand: argv[0] is "k8s". Prints the YAML on stdout; returns the
 * exit code (0, 2 for usage and scenario errors, 4 out of memory). */
int ev_k8s_main(int argc, char **argv);

#endif
