/* cmd_run: `run`, `serve` and `work`: load the config for what the mode
 * uses and hand it to the process (process.h). */
#include "cmd/commands.h"

#include <getopt.h>
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
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:h", bs_cmd_config_opts, NULL)) != -1) {
		switch (o) {
		case 'c': path = optarg; break;
		case 'h': return bs_cmd_help(cmd);
		default: return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bitsleuth %s: unexpected argument '%s'\n", cmd,
		    argv[optind]);
		return 2;
	}
	enum bs_mode mode = strcmp(cmd, "serve") == 0 ? BS_MODE_SERVE :
	    strcmp(cmd, "work") == 0 ? BS_MODE_WORK : BS_MODE_RUN;
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
