/* cmd_discover: `bitsleuth check --discover` (issue 16): asks Sleuth once
 * for every discover: true project of the config, and prints the targets
 * a running process would use, static and discovered, with the warnings
 * (tracking types other than MANUAL, targets reached twice). No Redis. */
#ifndef BS_CMD_DISCOVER_H
#define BS_CMD_DISCOVER_H

#include "config/config.h"

/* Prints to stdout, errors to stderr ("error: discover org/project:
 * reason"). Returns 0, or 1 when Sleuth refused or could not be asked
 * for some project (the others are still asked and printed). */
int bs_cmd_check_discover(struct bs_config *cfg, const char *path);

#endif
