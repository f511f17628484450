/* cmd_run: `run`, `serve` and `work`: the flags (-v/-q: the log level
 * override; --listen, --metrics-listen: the address overrides, which
 * config.c applies in every load, reloads too), then load the config for
 * what the mode uses and hand it to the process (process.h). */
#include "cmd/commands.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd_common.h"
#include "cmd/process.h"
#include "common/log.h"
#include "common/xalloc.h"

/* === run / serve / work ================================================= */

int
bs_cmd_run(int argc, char **argv)
{
	const char *cmd = argv[0];
	const char *path = bs_default_config_path();
	bool work = strcmp(cmd, "work") == 0;
	const char *listen = NULL, *metrics_listen = NULL;
	int verbose = 0, quiet = 0;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:hvq", bs_cmd_run_opts, NULL)) != -1) {
		switch (o) {
		case 'c': path = optarg; break;
		case 'h': return bs_cmd_help(cmd);
		case 'v': verbose++; quiet = 0; break;
		case 'q': quiet++; verbose = 0; break;
		case 'M': metrics_listen = optarg; break;
		case 'L':
			if (work) {
				/* work serves no ingest: only --metrics-listen. */
				fprintf(stderr, "bitsleuth work: --listen is for run and "
				    "serve (work takes --metrics-listen)\n");
				return 2;
			}
			listen = optarg;
			break;
		default: return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bitsleuth %s: unexpected argument '%s'\n", cmd,
		    argv[optind]);
		return 2;
	}
	bs_cmd_log_flags(verbose, quiet);
	bs_config_set_address_flags(listen, metrics_listen);
	enum bs_mode mode = strcmp(cmd, "serve") == 0 ? BS_MODE_SERVE :
	    work ? BS_MODE_WORK : BS_MODE_RUN;
	struct bs_config *cfg = xcalloc(1, sizeof(*cfg));
	if (bs_load_config_or_report(path, bs_mode_config_uses(mode), cfg, 1) != 0) {
		free(cfg);
		return 1;
	}
	bs_log_apply(cfg->log_level, cfg->log_format);
	int rc = bs_process_main(mode, cfg, path);
	bs_config_release(cfg);
	free(cfg);
	return rc;
}
