/* cmd_discover: `bitsleuth check --discover` (issue 16): asks Sleuth once
 * for every discover: true project of the config, and prints the targets
 * a running process would use, static and discovered, with the warnings
 * (tracking types other than MANUAL, targets reached twice). No Redis. */
#ifndef BS_CMD_DISCOVER_H
#define BS_CMD_DISCOVER_H

#include "config/config.h"

/* Prints to stdout, errors to stderr ("error: discover org/project:
 * reason"). A project that names its own graphql_token_env or
 * graphql_token_file is asked with that key only: unset, empty or
 * unreadable, it is an error ("no GraphQL token: set $X (the project's
 * graphql_token_env)"), not sleuth's key; the message names the file
 * when a *_file is configured. Returns 0, or 1 when Sleuth refused or
 * could not be asked for some project (the others are still asked and
 * printed). */
int bs_cmd_check_discover(struct bs_config *cfg, const char *path);

#endif
