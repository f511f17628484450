/* commands: the subcommands of the bitsleuth binary. Each takes the
 * arguments after its name (argv[0] is the subcommand) and returns the
 * process exit status: 0 success, 1 failure, 2 usage error. */
#ifndef BS_COMMANDS_H
#define BS_COMMANDS_H

int bs_cmd_run(int argc, char **argv);      /* run, serve, work */
int bs_cmd_check(int argc, char **argv);
int bs_cmd_scan(int argc, char **argv);
int bs_cmd_replay(int argc, char **argv);
int bs_cmd_stats(int argc, char **argv);
int bs_cmd_dlq(int argc, char **argv);
/* `dryrun`: the dry-run deploys recorded, newest first (cmd_dryrun.c). */
int bs_cmd_dryrun(int argc, char **argv);
/* `tail`: follows {p}:events or {p}:deploys of every shard (cmd_tail.c). */
int bs_cmd_tail(int argc, char **argv);

/* Prints the help of `cmd` (NULL: the overview) to stdout. Returns 0, or 2
 * for an unknown command. */
int bs_cmd_help(const char *cmd);
/* Prints the overview to stderr (no command, or a wrong one); returns 2. */
int bs_cmd_usage(void);

#endif
