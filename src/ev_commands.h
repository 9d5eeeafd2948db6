/* ev_commands — every `evload COMMAND` besides run, check, targets, help and
 * version: the core's own (`proxy`) first, then each transport's
 * (broker.h's ev_subcommand, e.g. `kafka-mock`). main.c lists and
 * dispatches them from here, so a new built-in command is one line in
 * ev_commands.c and none in main.c. */
#ifndef EV_COMMANDS_H
#define EV_COMMANDS_H

#include "broker.h"

#include <stddef.h>

/* The i-th command (0-based), or NULL past the last. Static. */
const ev_subcommand *ev_command_at(size_t i);
/* The command called name, or NULL. */
const ev_subcommand *ev_command_find(const char *name);

#endif
