/* main: the bitsleuth binary's entry point: dispatch to a subcommand.
 *
 * BITSLEUTH_EVENT_DEBUG=1 turns on libevent's debug mode before any event
 * exists: misuse of events (adding an unassigned one, re-assigning a
 * pending one, freeing one twice) then aborts at once instead of corrupting
 * the loop. The test suite runs an integration pass with it.
 *
 * No command, or an unknown one: exit 2 with nothing on stdout (the
 * overview, or one line, on stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "cmd/commands.h"
#include "cmd/help.h"

int
main(int argc, char **argv)
{
	if (argc < 2)
		return bs_cmd_usage();
	const char *cmd = argv[1];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("bitsleuth %s\n", BS_VERSION);
		return 0;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return bs_cmd_help(NULL);
	if (strcmp(cmd, "help") == 0) {
		/* Hidden: the build writes the man page and the completion
		 * from the help table (cmd/help.h). */
		if (argc == 3 && strcmp(argv[2], "--man") == 0) {
			bs_help_write_man(stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		}
		if (argc == 3 && strcmp(argv[2], "--bash-completion") == 0) {
			bs_help_write_bash(stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		}
		return bs_cmd_help(argc > 2 ? argv[2] : NULL);
	}

	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} table[] = {
		{ "run", bs_cmd_run }, { "serve", bs_cmd_run }, { "work", bs_cmd_run },
		{ "check", bs_cmd_check }, { "scan", bs_cmd_scan },
		{ "replay", bs_cmd_replay }, { "stats", bs_cmd_stats },
		{ "dlq", bs_cmd_dlq },
		{ "dryrun", bs_cmd_dryrun },
		{ "tail", bs_cmd_tail },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(cmd, table[i].name) == 0) {
			const char *dbg = getenv("BITSLEUTH_EVENT_DEBUG");
			if (dbg && strcmp(dbg, "1") == 0)
				event_enable_debug_mode();
			curl_global_init(CURL_GLOBAL_DEFAULT);
			int rc = table[i].fn(argc - 1, argv + 1);
			curl_global_cleanup();
			return rc;
		}
	}
	fprintf(stderr, "bitsleuth: unknown command '%s' (see bitsleuth --help)\n",
	    cmd);
	return 2;
}
