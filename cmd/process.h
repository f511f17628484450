/* process: a running bitsleuth (`run`, `serve` or `work`): one libevent
 * loop with the live config, the shared Redis connection and metrics
 * registry, and the halves the mode asks for (ingest/, worker/), wired
 * together here and nowhere else; signals, SIGHUP reload and the draining
 * shutdown. */
#ifndef BS_PROCESS_H
#define BS_PROCESS_H

#include "config/config.h"

/* run: ingest and worker; serve: ingest only; work: worker only. */
enum bs_mode { BS_MODE_RUN = 0, BS_MODE_SERVE, BS_MODE_WORK };

/* The secrets a mode needs (enum bs_config_uses): serve the webhook
 * secret, work the Sleuth tokens, run both; all of them Redis'. */
unsigned bs_mode_config_uses(enum bs_mode mode);

/* Builds everything from cfg, loaded from config_path (cfg stays the
 * caller's), and runs the loop until SIGTERM/SIGINT has drained. Returns
 * the process exit status. */
int bs_process_main(enum bs_mode mode, struct bs_config *cfg,
    const char *config_path);

#endif
