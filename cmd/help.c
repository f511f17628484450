/* help: the --help texts. Kept in one table (cmd/help.h) so README's CLI
 * section, `bitsleuth help CMD`, the man page and the bash completion
 * (help_doc.c writes both at build time) stay the same words
 * (tests/integration checks that every subcommand answers --help and that
 * the man page and the completion know every command of the table). */
#include "cmd/commands.h"
#include "cmd/help.h"

#include <stdio.h>
#include <string.h>

const char bs_help_overview[] =
"bitsleuth " BS_VERSION " - Bitbucket webhooks in, Sleuth deploys out\n"
"\n"
"usage: bitsleuth COMMAND [OPTIONS]\n"
"\n"
"Daemon (also -v/-q, --listen ADDR, --metrics-listen ADDR):\n"
"  run    -c FILE        ingest (HTTP) and worker in one process\n"
"  serve  -c FILE        ingest only: POST /hooks/bitbucket -> Redis\n"
"  work   -c FILE        worker only: Redis -> Sleuth register_deploy\n"
"\n"
"Tools:\n"
"  check  -c FILE [--strict] [--explain-event KEY PAYLOAD.json]\n"
"                        validate the config (file:line:col for every error)\n"
"  check  -c FILE --print KEY\n"
"                        the effective value of one config key\n"
"  scan   [-c FILE] [--explain] [TEXT... | -]\n"
"                        print the issue keys found in a message\n"
"  replay -c FILE --event KEY PAYLOAD.json [--delivery-id ID] [--date TIME]\n"
"                        ingest a saved payload as if Bitbucket sent it\n"
"  replay -c FILE --delivery ID\n"
"                        re-ingest a kept delivery with today's parser\n"
"  replay -c FILE --log [--since DURATION] [--limit N] [--json]\n"
"                        who replayed what, newest first\n"
"  stats  -c FILE [--json]\n"
"                        queue depth, pending, retries, dead letters\n"
"  dlq    list|show|replay|purge -c FILE ...\n"
"                        inspect and replay failed registrations\n"
"  dryrun [-c FILE] [--limit N] [--json]\n"
"                        the deploys recorded instead of sent (dry_run)\n"
"  tail   [-c FILE] [--events | --deploys] [--group G [--consumer NAME]]\n"
"         [--json] [--since DURATION] [--count N]\n"
"                        follow the event or the outcome stream\n"
"\n"
"  help COMMAND | COMMAND --help    details of one command\n"
"  --version                        print the version\n"
"\n"
"Environment:\n"
"  BITSLEUTH_CONFIG           the config file when -c is not given (else\n"
"                             ./bitsleuth.yaml)\n"
"  BITSLEUTH_LISTEN           overrides listen (--listen wins over it)\n"
"  BITSLEUTH_METRICS_LISTEN   overrides metrics_listen (--metrics-listen wins)\n"
"  BITSLEUTH_CONSUMER         the worker's consumer name\n"
"\n"
"Exit status: 0 success, 1 failure, 2 usage error.\n";

/* One entry per command: its name, its text, and for a command with
 * subcommands their names (space-separated; NULL: none). */
const struct bs_help_text bs_help_texts[] = {
	{ "run",
"usage: bitsleuth run -c FILE [-v | -q] [--listen ADDR] [--metrics-listen ADDR]\n"
"\n"
"Runs the HTTP ingest (POST /hooks/bitbucket, and /healthz, /readyz,\n"
"/metrics unless metrics_listen moves them to their own address) and a\n"
"worker in one process. A delivery is answered 202 once Redis holds\n"
"its job, 503 when Redis did not take it. The worker registers each job's\n"
"deploys with Sleuth, retries failures with backoff and moves what cannot\n"
"succeed to the dead letters.\n"
"\n"
"Signals: SIGTERM/SIGINT drain and stop; SIGHUP reloads the config file\n"
"(a config with errors is refused and the running one stays; log_level is\n"
"applied again, -v/-q still win).\n"
"\n"
"  -c, --config FILE      the YAML config (default $BITSLEUTH_CONFIG or\n"
"                         ./bitsleuth.yaml)\n"
"  -v, --verbose          log at debug level, whatever log_level says\n"
"  -q, --quiet            log warnings and errors only (-qq: errors only)\n"
"  --listen ADDR          the ingest address (host:port), instead of listen\n"
"                         and $BITSLEUTH_LISTEN\n"
"  --metrics-listen ADDR  serve /metrics, /healthz and /readyz on ADDR,\n"
"                         instead of metrics_listen and\n"
"                         $BITSLEUTH_METRICS_LISTEN\n" },
	{ "serve",
"usage: bitsleuth serve -c FILE [-v | -q] [--listen ADDR] [--metrics-listen ADDR]\n"
"\n"
"Runs only the HTTP ingest (see `bitsleuth help run`). Scale ingest and\n"
"workers apart by running `serve` and `work` processes against one Redis.\n"
"/metrics, /healthz and /readyz are on the ingest address, or on\n"
"metrics_listen when it is set.\n"
"\n"
"  -c, --config FILE      the YAML config\n"
"  -v, --verbose          log at debug level\n"
"  -q, --quiet            log warnings and errors only (-qq: errors only)\n"
"  --listen ADDR          the ingest address, instead of listen\n"
"  --metrics-listen ADDR  the metrics address, instead of metrics_listen\n" },
	{ "work",
"usage: bitsleuth work -c FILE [-v | -q] [--metrics-listen ADDR]\n"
"\n"
"Runs only a worker: reads jobs from the stream in the consumer group\n"
"`workers`, registers deploys with Sleuth, retries and dead-letters, and\n"
"claims jobs of workers that died. Run as many as you like. The consumer\n"
"name is $BITSLEUTH_CONSUMER, else HOSTNAME-PID. A worker opens no port\n"
"unless metrics_listen (or --metrics-listen) is set: then it serves\n"
"/metrics, /healthz and /readyz there.\n"
"\n"
"  -c, --config FILE      the YAML config\n"
"  -v, --verbose          log at debug level\n"
"  -q, --quiet            log warnings and errors only (-qq: errors only)\n"
"  --metrics-listen ADDR  the metrics address, instead of metrics_listen\n" },
	{ "check",
"usage: bitsleuth check -c FILE [--strict] [--explain-event KEY PAYLOAD.json]\n"
"       bitsleuth check -c FILE --print KEY\n"
"\n"
"Validates the config and prints what bitsleuth would do with it. Every\n"
"error and warning is printed as FILE:LINE:COL: error|warning: message;\n"
"the exit status is 1 when there is an error. Errors: unknown keys (with a\n"
"suggestion), missing keys, wrong types, bad URLs and regexes, secrets\n"
"written into the file, secret files that cannot be read (*_file keys).\n"
"Warnings: branches no push can match, two deployments with the same\n"
"target, secret variables (or secret files) missing in this shell (errors\n"
"with --strict; `run`, `serve` and `work` refuse to start without the\n"
"secrets they use), secret files others may read, issue patterns that\n"
"match nothing in a sample, http.max_body below Bitbucket's 256 KB,\n"
"queue.content_dedupe_window below 5 minutes (Cloud's automatic retries)\n"
"or above queue.seen_ttl. `run`, `serve` and `work` refuse to start on any\n"
"error. $BITSLEUTH_LISTEN and $BITSLEUTH_METRICS_LISTEN are applied.\n"
"\n"
"  -c, --config FILE             the YAML config\n"
"  --strict                      a secret variable or file missing in this\n"
"                                shell is an error (exit 1), as it is for\n"
"                                the command that needs it\n"
"  --print KEY                   print the effective value of one scalar key\n"
"                                (a dotted path: redis.url, listen,\n"
"                                metrics_listen, redis.prefix, queue.shards,\n"
"                                ...) and nothing else; an empty line when it\n"
"                                is unset (redis.url under Sentinel or\n"
"                                Cluster); exit 2 for an unknown key\n"
"  --explain-event KEY PAYLOAD   parse a saved payload sent with X-Event-Key KEY\n"
"                                and print the event, its issue keys, the\n"
"                                deployments it hits and the exact request\n"
"                                bodies; nothing is sent or queued (the date\n"
"                                is now, and the keys of merged PRs that the\n"
"                                worker looks up in Redis are not added)\n" },
	{ "scan",
"usage: bitsleuth scan [-c FILE] [--explain] [TEXT... | -]\n"
"\n"
"Prints the issue keys found in TEXT (or standard input), one per line,\n"
"using the config's issues.patterns, issues.projects and issues.stop_list\n"
"(without -c: the built-in jira pattern and the built-in stop-list, which\n"
"drops tokens like UTF-8, SHA-256, ISO-8601, CVE-...; `check` prints it).\n"
"A key whose project is in issues.projects is never stopped;\n"
"issues.stop_list: [] turns the stop-list off.\n"
"\n"
"  -c, --config FILE   take the patterns from this config\n"
"  --explain           also print which pattern matched and where (bytes),\n"
"                      and why a key was dropped (projects or stop-list)\n" },
	{ "replay",
"usage: bitsleuth replay -c FILE --event KEY PAYLOAD.json [--delivery-id ID]\n"
"                        [--date TIME]\n"
"       bitsleuth replay -c FILE --delivery ID\n"
"       bitsleuth replay -c FILE --log [--since DURATION] [--limit N] [--json]\n"
"\n"
"Ingests a payload saved from Bitbucket's request log through the same code\n"
"path as HTTP (parse, issue keys, dedupe, enqueue); the signature is not\n"
"checked since an operator supplies the file. The delivery id is ID, else\n"
"derived from the body, so replaying one file twice queues it once.\n"
"\n"
"A deploy is dated by the push: a Data Center payload by its own date, a\n"
"payload without one (Cloud) by --date, else by now, which the command\n"
"then says on stderr; a kept delivery by the time it was received.\n"
"\n"
"  -c, --config FILE   the YAML config\n"
"  --event KEY         the X-Event-Key it was sent with, e.g. repo:push\n"
"  --delivery-id ID    the delivery id to use for dedupe\n"
"  --date TIME         the push time of a payload without a date of its own:\n"
"                      ISO-8601 in UTC (2026-11-30T12:00:00Z, a fraction may\n"
"                      follow the seconds) or unix milliseconds\n"
"  --delivery ID       re-ingest the delivery kept in Redis under this id\n"
"                      (queue.raw_ttl, 7 days by default) through today's\n"
"                      parser and mapping, as the new delivery ID.replay.MS\n"
"                      with the original's receive time\n"
"\n"
"Every replay (these two and `dlq replay`) is recorded in the\n"
"replays stream of its shard ({prefix}:replays) as kind (payload, delivery or dead), who ($USER),\n"
"when_ms, what (the delivery or dead letter id), job (the new job id) and,\n"
"for dead letters, target. --log prints those records, newest first, one\n"
"line each: TIME (UTC) WHO KIND WHAT -> job ID [TARGET].\n"
"\n"
"  --log               print the replay records instead of replaying\n"
"  --since DURATION    only those of the last DURATION (90s, 15m, 2h, 7d)\n"
"  --limit N           at most N records (default 50, at most 1000)\n"
"  --json              a JSON array of objects: id and every field\n" },
	{ "stats",
"usage: bitsleuth stats -c FILE [--json]\n"
"\n"
"Prints the jobs stream length, every consumer of the group with its\n"
"pending entries and the time since its last read, the retry set size and\n"
"next due time, the dead letters, the dry-run records (bitsleuth dryrun),\n"
"the oldest unprocessed job's age, the lanes, the streams for other\n"
"readers ({p}:events and {p}:deploys: length, oldest entry, and each reader\n"
"group's consumers, pending entries, lag and entries trimmed before it read\n"
"them; --json: \"events\", \"deploys\"), the durable counters\n"
"(backfills among them) and, per Bitbucket\n"
"API host and credential, the requests left in its budget, with the Redis\n"
"master it talked to. With queue.shards > 1 the figures are every shard's\n"
"sum, and one line per shard gives its hash tag, its master and its\n"
"queued, pending, retry and dead counts (--json: \"shards\").\n"
"\n"
"  -c, --config FILE   the YAML config\n"
"  --json              machine-readable output\n" },
	{ "dlq",
"usage: bitsleuth dlq list   -c FILE [--since DURATION] [--repo R] [--deployment D]\n"
"                             [--reason TEXT] [--limit N] [--json]\n"
"       bitsleuth dlq show   -c FILE ID [--json]\n"
"       bitsleuth dlq replay -c FILE ID... [--dry-run]\n"
"       bitsleuth dlq replay -c FILE --all [filters] [--dry-run]\n"
"       bitsleuth dlq purge  -c FILE [filters | ID...] --yes\n"
"\n"
"Dead letters are registrations that failed for good (4xx from Sleuth, or\n"
"retries exhausted). `replay` moves them back into the jobs stream with a\n"
"fresh attempt count and the job as it was, so the deploy keeps the push\n"
"time; every replay is recorded in the replays stream.\n"
"With queue.shards > 1 every shard is searched, ids are shown as ID@SHARD,\n"
"and an ID is given as ID@SHARD or as the plain ID (looked for in every\n"
"shard; an error when two shards have it). After a replay or purge the\n"
"command waits for redis.wait_replicas; exit 1 if they did not confirm.\n"
"`purge` without --yes only shows what it would delete (exit 0).\n"
"Filters: --since 2h, --repo (substring of the repository), --deployment\n"
"(org/deployment prefix), --reason (substring), --limit (default 50).\n",
	  "list show replay purge" },
	{ "dryrun",
"usage: bitsleuth dryrun [-c FILE] [--limit N] [--json]\n"
"\n"
"Lists the deploys recorded instead of sent while sleuth.dry_run is true\n"
"(the dry-run stream of every shard), newest first: when, the target\n"
"org/deployment/environment, the sha, the commits (those sent, else the\n"
"push's) and the issue keys: the delivery's, read again from the kept\n"
"delivery (queue.raw_ttl); once it expired, the body's issue links, else\n"
"the keys issues.patterns find in its branch and commit messages.\n"
"\n"
"  -c, --config FILE   the YAML config\n"
"  --limit N           at most N records (default 20, at most 1000)\n"
"  --json              a JSON array: id, time, target, url, delivery, job,\n"
"                      sha, issues, commits, commits_sent (and shard when\n"
"                      sharded)\n" },
	{ "tail",
"usage: bitsleuth tail [-c FILE] [--events | --deploys] [--group G [--consumer NAME]]\n"
"                      [--json] [--since DURATION] [--count N]\n"
"\n"
"Follows, as tail(1) follows a file, one of the two streams bitsleuth\n"
"writes for other programs (README \"Reading the queue\"): the events\n"
"stream (the default, one entry per accepted delivery) or the deploys\n"
"stream (one entry per deploy outcome: registered, dead, superseded,\n"
"dry_run), of every shard.\n"
"Without --group it starts after the newest entry, or --since ago, and\n"
"writes nothing to Redis. With --group it reads in a consumer group of its\n"
"own on each shard's stream (created at the end, or --since ago; a group\n"
"that exists resumes where it was): first the consumer's pending entries,\n"
"then new ones, each acknowledged once its line is written, so an entry\n"
"is printed at least once across restarts. The group `workers` is\n"
"bitsleuth's own and refused. A lost Redis connection is opened again,\n"
"retried for a minute (then exit 1). Ctrl-C or SIGTERM stops it (exit 0);\n"
"queue.events: false is an error (exit 1): nothing is written to follow.\n"
"\n"
"One line per entry. Events: TIME  EVENT  REPOSITORY  delivery=ID  job=ID\n"
"keys=K1,K2; deploys: TIME  KIND  TARGET  sha=SHA  commits=N  keys=...\n"
"[reason=\"...\"]  delivery=ID  job=ID. TIME is UTC; long values and lists\n"
"are cut; a record that does not decode shows data=?; with shards,\n"
"shard=N ends the line.\n"
"\n"
"  -c, --config FILE   the YAML config\n"
"  --events            follow the events stream (the default)\n"
"  --deploys           follow the deploys stream\n"
"  --group G           read in consumer group G (not `workers`)\n"
"  --consumer NAME     the consumer name in G (default tail-HOSTNAME); keep\n"
"                      it the same across restarts (set it in a container,\n"
"                      whose hostname changes): a new name does not see\n"
"                      the pending entries of the old one\n"
"  --json              one JSON object a line: stream, shard, id, the\n"
"                      entry's plain fields as stored (strings) and data,\n"
"                      the record as JSON (null when it does not decode)\n"
"  --since DURATION    start DURATION ago (90s, 15m, 2h, 7d) instead of\n"
"                      at the end\n"
"  --count N           exit after N entries\n" },
};
const size_t bs_help_n_texts = sizeof(bs_help_texts) / sizeof(bs_help_texts[0]);

int
bs_cmd_help(const char *cmd)
{
	if (!cmd) {
		fputs(bs_help_overview, stdout);
		return 0;
	}
	for (size_t i = 0; i < bs_help_n_texts; i++) {
		if (strcmp(cmd, bs_help_texts[i].cmd) == 0) {
			fputs(bs_help_texts[i].text, stdout);
			return 0;
		}
	}
	fprintf(stderr, "bitsleuth: no help for unknown command '%s'\n", cmd);
	return 2;
}

int
bs_cmd_usage(void)
{
	fputs(bs_help_overview, stderr);
	return 2;
}
