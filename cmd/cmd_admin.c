/* cmd_admin: the operator commands over a synchronous Redis connection:
 * `stats` and `dlq list|show|replay|purge`. Human output by default,
 * --json for scripts. Replays are recorded (who, when, what) by the queue
 * script itself, so the record and the move are one atomic step. */
#include "cmd/commands.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "common/xalloc.h"
#include "queue/job_codec.h"
#include "queue/admin.h"
#include "queue/jobs.h"
#include "queue/lanes.h"
#include "cmd/cmd_common.h"
#include "cmd/cmd_shards.h"
#include "cmd/cmd_stats_discovery.h"
#include "queue/readers.h"

static void
gstr(yajl_gen g, const char *s)
{
	bs_cmd_json_str(g, s, s ? strlen(s) : 0);
}

/* === stats ============================================================== */

/* {p}:events and {p}:deploys over every shard into st[0], st[1]. */
static int
readers_collect(const struct bs_cmd_redis *a, long long now,
    struct bs_reader_stream st[2], char *err, size_t errlen)
{
	memset(st, 0, 2 * sizeof(*st));
	st[0].oldest_age_ms = st[1].oldest_age_ms = -1;
	for (int i = 0; i < a->n_shards; i++) {
		const char *key[2] = { a->shards[i].keys.events,
		    a->shards[i].keys.deploys };
		for (int k = 0; k < 2; k++) {
			struct bs_reader_stream one;
			if (bs_readers_stats(a->shards[i].rc, key[k], now, &one, err,
			    errlen) != 0)
				return -1;
			bs_readers_add(&st[k], &one);
			bs_readers_release(&one);
		}
	}
	return 0;
}

static void
readers_json(yajl_gen g, const struct bs_reader_stream st[2])
{
	static const char *const name[2] = { "events", "deploys" };
	for (int k = 0; k < 2; k++) {
		gstr(g, name[k]);
		yajl_gen_map_open(g);
		gstr(g, "length"); yajl_gen_integer(g, st[k].length);
		gstr(g, "oldest_age_ms"); yajl_gen_integer(g, st[k].oldest_age_ms);
		gstr(g, "groups"); yajl_gen_map_open(g);
		for (size_t i = 0; i < st[k].n_groups; i++) {
			const struct bs_reader_group *r = &st[k].groups[i];
			gstr(g, r->name);
			yajl_gen_map_open(g);
			gstr(g, "consumers"); yajl_gen_integer(g, r->consumers);
			gstr(g, "pending"); yajl_gen_integer(g, r->pending);
			gstr(g, "lag"); yajl_gen_integer(g, r->lag);
			gstr(g, "missed"); yajl_gen_integer(g, r->missed);
			yajl_gen_map_close(g);
		}
		yajl_gen_map_close(g);
		yajl_gen_map_close(g);
	}
}

static void
readers_text(const struct bs_cmd_redis *a, const struct bs_reader_stream st[2])
{
	static const char *const label[2] = { "events       ", "deploys      " };
	const char *key[2] = { a->keys.events, a->keys.deploys };
	for (int k = 0; k < 2; k++) {
		char age[32];
		bs_cmd_human_age(st[k].oldest_age_ms, age, sizeof(age));
		if (!a->cfg.queue.events && st[k].length == 0) {
			printf("%s %s: off (queue.events: false)\n", label[k],
			    a->n_shards > 1 ? "(all shards)" : key[k]);
			continue;
		}
		printf("%s %s: %lld entries, oldest %s, %zu reader group%s\n",
		    label[k], a->n_shards > 1 ? "(all shards)" : key[k],
		    st[k].length, age, st[k].n_groups, st[k].n_groups == 1 ? "" : "s");
		for (size_t i = 0; i < st[k].n_groups; i++) {
			const struct bs_reader_group *r = &st[k].groups[i];
			char lag[32];
			snprintf(lag, sizeof(lag), r->lag < 0 ? "?" : "%lld", r->lag);
			printf("  group       %s: %lld consumers, %lld pending, lag %s%s",
			    r->name, r->consumers, r->pending, lag, r->missed ? "" : "\n");
			if (r->missed)
				printf(", %lld unread entries already trimmed "
				    "(queue.events_ttl / events_maxlen)\n", r->missed);
		}
	}
}

/* Whole requests left in bucket b now: its tokens refilled at the
 * configured rate since it was last written, at most the burst. */
static long long
budget_left(const struct bs_admin_budget *b, const struct bs_config *cfg,
    long long now)
{
	double rate = cfg->bitbucket.api.requests_per_hour / 3600000.0;
	double t = b->tokens + (now > b->ts_ms ? (double)(now - b->ts_ms) * rate : 0);
	if (t > cfg->bitbucket.api.burst)
		t = cfg->bitbucket.api.burst;
	return t > 0 ? (long long)t : 0;
}

int
bs_cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = bs_default_config_path();
	int json = 0, o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': path = optarg; break;
		case 'j': json = 1; break;
		case 'h': return bs_cmd_help("stats");
		default: return 2;
		}
	}
	struct bs_cmd_redis a;
	if (bs_cmd_redis_open(&a, path, argv[0]) != 0)
		return 1;
	struct bs_admin_stats s, *per = xcalloc((size_t)a.n_shards, sizeof(*per));
	char err[256];
	long long now = bs_now_ms();
	const struct bs_config *cfg = &a.cfg;
	bs_admin_stats_zero(&s);
	for (int i = 0; i < a.n_shards; i++) {
		/* The API budget is installation-wide, in shard 0. */
		if (bs_admin_stats(a.shards[i].rc, &a.shards[i].keys, now, i == 0,
		    &per[i], err, sizeof(err)) != 0) {
			if (a.n_shards > 1)
				fprintf(stderr, "bitsleuth stats: shard %d (%s): %s\n", i,
				    a.shards[i].keys.prefix, err);
			else
				fprintf(stderr, "bitsleuth stats: %s\n", err);
			for (int j = 0; j < i; j++)
				bs_admin_stats_release(&per[j]);
			free(per);
			bs_admin_stats_release(&s);
			bs_cmd_redis_close(&a);
			return 1;
		}
		bs_admin_stats_add(&s, &per[i]);
	}
	struct bs_reader_stream rd[2];
	int rcode = 0;
	if (readers_collect(&a, now, rd, err, sizeof(err)) != 0) {
		/* The rest is shown; the readers' part is left out, not shown
		 * empty, and the exit says something failed. */
		fprintf(stderr, "bitsleuth stats: the readers' streams: %s\n", err);
		bs_readers_release(&rd[0]);
		bs_readers_release(&rd[1]);
		rcode = 1;
	}
	int readers_ok = rcode == 0;
	struct bs_disc_stat *disc = NULL;
	size_t n_disc = 0;
	if (bs_cmd_discovery_collect(&a, &disc, &n_disc, err, sizeof(err)) != 0) {
		fprintf(stderr, "bitsleuth stats: discovery: %s\n", err);
		rcode = 1;
	}
	if (json) {
		yajl_gen g = bs_cmd_json_new();
		yajl_gen_map_open(g);
		gstr(g, "jobs"); yajl_gen_integer(g, s.jobs_len);
		gstr(g, "pending"); yajl_gen_integer(g, s.pending);
		gstr(g, "consumers"); yajl_gen_map_open(g);
		for (size_t i = 0; i < s.n_consumers; i++) {
			gstr(g, s.consumers[i].name);
			yajl_gen_integer(g, s.consumers[i].pending);
		}
		yajl_gen_map_close(g);
		gstr(g, "consumers_idle_ms"); yajl_gen_map_open(g);
		for (size_t i = 0; i < s.n_consumers; i++) {
			gstr(g, s.consumers[i].name);
			yajl_gen_integer(g, s.consumers[i].idle_ms);
		}
		yajl_gen_map_close(g);
		gstr(g, "dryrun"); yajl_gen_integer(g, s.dryrun_len);
		gstr(g, "retry"); yajl_gen_integer(g, s.retry_len);
		gstr(g, "next_retry_ms"); yajl_gen_integer(g, s.next_retry_ms);
		gstr(g, "dead"); yajl_gen_integer(g, s.dead_len);
		gstr(g, "oldest_age_ms"); yajl_gen_integer(g, s.oldest_age_ms);
		gstr(g, "lanes"); yajl_gen_integer(g, s.lanes);
		gstr(g, "lane_waiting"); yajl_gen_integer(g, s.lane_waiting);
		gstr(g, "lanes_held"); yajl_gen_integer(g, s.lanes_held);
		gstr(g, "oldest_head_age_ms"); yajl_gen_integer(g, s.oldest_head_age_ms);
		gstr(g, "counters"); yajl_gen_map_open(g);
		for (size_t i = 0; i < s.n_counters; i++) {
			gstr(g, s.counters[i].name);
			yajl_gen_integer(g, s.counters[i].value);
		}
		yajl_gen_map_close(g);
		char master[300];
		bs_cmd_master(a.rc, master, sizeof(master));
		gstr(g, "redis"); gstr(g, master);
		gstr(g, "shards"); yajl_gen_array_open(g);
		for (int i = 0; i < a.n_shards; i++) {
			bs_cmd_master(a.shards[i].rc, master, sizeof(master));
			yajl_gen_map_open(g);
			gstr(g, "shard"); yajl_gen_integer(g, i);
			gstr(g, "tag"); gstr(g, a.shards[i].keys.prefix);
			gstr(g, "master"); gstr(g, master);
			gstr(g, "jobs"); yajl_gen_integer(g, per[i].jobs_len);
			gstr(g, "pending"); yajl_gen_integer(g, per[i].pending);
			gstr(g, "retry"); yajl_gen_integer(g, per[i].retry_len);
			gstr(g, "dead"); yajl_gen_integer(g, per[i].dead_len);
			gstr(g, "lanes"); yajl_gen_integer(g, per[i].lanes);
			gstr(g, "oldest_age_ms"); yajl_gen_integer(g, per[i].oldest_age_ms);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		if (readers_ok)
			readers_json(g, rd);
		bs_cmd_discovery_json(g, disc, n_disc);
		gstr(g, "api_budget"); yajl_gen_map_open(g);
		for (size_t i = 0; i < s.n_budgets; i++) {
			gstr(g, s.budgets[i].bucket);
			yajl_gen_map_open(g);
			gstr(g, "remaining");
			yajl_gen_integer(g, budget_left(&s.budgets[i], cfg, now));
			gstr(g, "paused_ms");
			yajl_gen_integer(g, s.budgets[i].until_ms > now ?
			    s.budgets[i].until_ms - now : 0);
			yajl_gen_map_close(g);
		}
		yajl_gen_map_close(g);
		yajl_gen_map_close(g);
		bs_cmd_json_print(g);
	} else {
		char age[32], due[32];
		bs_cmd_human_age(s.oldest_age_ms, age, sizeof(age));
		bs_cmd_human_age(s.next_retry_ms < 0 ? -1 : s.next_retry_ms - now, due,
		    sizeof(due));
		char master[300];
		bs_cmd_master(a.rc, master, sizeof(master));
		if (a.n_shards == 1)
			printf("redis         %s\n", master);
		else
			printf("redis         %d shards (queue.shards)\n", a.n_shards);
		for (int i = 0; a.n_shards > 1 && i < a.n_shards; i++) {
			bs_cmd_master(a.shards[i].rc, master, sizeof(master));
			printf("  shard %-5d {%s} on %s: %lld queued, %lld pending, "
			    "%lld retry, %lld dead\n", i, a.shards[i].keys.prefix, master,
			    per[i].jobs_len, per[i].pending, per[i].retry_len,
			    per[i].dead_len);
		}
		printf("jobs stream   %s: %lld entries, %lld pending, oldest %s\n",
		    a.n_shards > 1 ? "(all shards)" : a.keys.jobs, s.jobs_len,
		    s.pending, age);
		for (size_t i = 0; i < s.n_consumers; i++) {
			char idle[32];
			bs_cmd_human_age(s.consumers[i].idle_ms, idle, sizeof(idle));
			printf("  consumer    %s: %lld pending, last read %s ago\n",
			    s.consumers[i].name, s.consumers[i].pending, idle);
		}
		printf("retry set     %s: %lld waiting%s%s\n", a.n_shards > 1 ?
		    "(all shards)" : a.keys.retry, s.retry_len,
		    s.next_retry_ms >= 0 ? ", next due in " : "",
		    s.next_retry_ms >= 0 ? due : "");
		printf("dead letters  %s: %lld\n", a.n_shards > 1 ? "(all shards)" :
		    a.keys.dead, s.dead_len);
		printf("dry-run       %s: %lld recorded (bitsleuth dryrun lists them)\n",
		    a.n_shards > 1 ? "(all shards)" : a.keys.dryrun, s.dryrun_len);
		char head[32];
		bs_cmd_human_age(s.oldest_head_age_ms, head, sizeof(head));
		printf("lanes         %s: %lld targets with pushes, %lld waiting behind "
		    "their head, %lld held by a failing head, oldest head %s\n",
		    a.n_shards > 1 ? "(all shards)" : a.keys.lanes, s.lanes,
		    s.lane_waiting, s.lanes_held, head);
		if (readers_ok)
			readers_text(&a, rd);
		bs_cmd_discovery_text(disc, n_disc, now);
		printf("counters     ");
		for (size_t i = 0; i < s.n_counters; i++)
			printf(" %s=%lld", s.counters[i].name, s.counters[i].value);
		printf("\n");
		for (size_t i = 0; i < s.n_budgets; i++)
			printf("api budget    %s: %lld of %d requests left%s%lld ms\n",
			    s.budgets[i].bucket, budget_left(&s.budgets[i], cfg, now),
			    cfg->bitbucket.api.burst, s.budgets[i].until_ms > now ?
			    ", paused after a 429 for another " : "", s.budgets[i].until_ms >
			    now ? s.budgets[i].until_ms - now : 0);
	}
	for (int i = 0; i < a.n_shards; i++)
		bs_admin_stats_release(&per[i]);
	free(per);
	bs_admin_stats_release(&s);
	bs_readers_release(&rd[0]);
	bs_readers_release(&rd[1]);
	free(disc);
	bs_cmd_redis_close(&a);
	return rcode;
}

/* === dlq ================================================================ */

/* A dead letter of one shard, as the dlq subcommands go through them. */
struct dl {
	const struct bs_admin_entry *e;
	int shard;
	char id[96];                /* as shown (cmd_shards.h) */
};

static void
print_entry_line(const struct dl *d, long long now)
{
	const struct bs_admin_entry *e = d->e;
	char age[32];
	bs_cmd_human_age(now - bs_stream_id_ms(e->id), age, sizeof(age));
	const char *reason = bs_admin_entry_field(e, "reason", NULL);
	printf("%-17s %-8s %-36s attempts %-3s %s\n", d->id, age,
	    bs_admin_entry_field(e, "target", NULL) ? bs_admin_entry_field(e, "target", NULL) : "-",
	    bs_admin_entry_field(e, "attempt", NULL) ? bs_admin_entry_field(e, "attempt", NULL) : "?",
	    reason ? reason : "");
}

static void
gen_entry(yajl_gen g, const struct dl *d, int n_shards, int with_job)
{
	const struct bs_admin_entry *e = d->e;
	yajl_gen_map_open(g);
	gstr(g, "id");
	gstr(g, d->id);
	if (n_shards > 1) {
		gstr(g, "shard");
		yajl_gen_integer(g, d->shard);
	}
	for (size_t i = 0; i < e->n_fields; i++) {
		const struct bs_field *f = &e->fields[i];
		if (strcmp(f->name, "job") == 0)
			continue;
		gstr(g, f->name);
		/* "history" too: a JSON array kept as text */
		bs_cmd_json_str(g, f->val, f->len);
	}
	if (with_job) {
		size_t jlen = 0;
		const char *jv = bs_admin_entry_field(e, "job", &jlen);
		struct bs_job job;
		bs_job_init(&job);
		char err[200];
		if (jv && bs_job_decode(jv, jlen, &job, err, sizeof(err)) == 0) {
			gstr(g, "job");
			yajl_gen_map_open(g);
			gstr(g, "event"); gstr(g, job.ev.event_key);
			gstr(g, "repository"); gstr(g, job.ev.repository);
			gstr(g, "delivery"); gstr(g, job.delivery);
			gstr(g, "changes"); yajl_gen_array_open(g);
			for (size_t i = 0; i < job.ev.n_changes; i++) {
				const struct bs_change *c = &job.ev.changes[i];
				yajl_gen_map_open(g);
				gstr(g, "ref"); gstr(g, c->ref_name);
				gstr(g, "type"); gstr(g, bs_ref_type_name(c->ref_type));
				gstr(g, "new"); gstr(g, c->new_commit ? c->new_commit : c->new_hash);
				gstr(g, "commits"); yajl_gen_integer(g, (long long)c->n_commits);
				yajl_gen_map_close(g);
			}
			yajl_gen_array_close(g);
			yajl_gen_map_close(g);
		}
		bs_job_release(&job);
	}
	yajl_gen_map_close(g);
}

static void
print_entry_full(const struct dl *d)
{
	const struct bs_admin_entry *e = d->e;
	long long now = bs_now_ms();
	char age[32];
	bs_cmd_human_age(now - bs_stream_id_ms(e->id), age, sizeof(age));
	printf("dead letter %s (%s ago)\n", d->id, age);
	for (size_t i = 0; i < e->n_fields; i++) {
		const struct bs_field *f = &e->fields[i];
		if (strcmp(f->name, "job") == 0 || strcmp(f->name, "history") == 0)
			continue;
		printf("  %-11s %s\n", f->name, f->val);
	}
	size_t jlen = 0;
	const char *jv = bs_admin_entry_field(e, "job", &jlen);
	struct bs_job job;
	bs_job_init(&job);
	char err[200];
	if (jv && bs_job_decode(jv, jlen, &job, err, sizeof(err)) == 0) {
		printf("  job         %s %s (delivery %s)\n", job.ev.event_key,
		    job.ev.repository ? job.ev.repository : "-",
		    job.delivery ? job.delivery : "-");
		for (size_t i = 0; i < job.ev.n_changes; i++) {
			const struct bs_change *c = &job.ev.changes[i];
			printf("    change    %s %s -> %s (%zu commits%s)\n",
			    bs_ref_type_name(c->ref_type), c->ref_name ? c->ref_name : "-",
			    c->new_commit ? c->new_commit : c->new_hash ? c->new_hash : "deleted",
			    c->n_commits, c->truncated ? ", truncated" : "");
			for (size_t j = 0; j < c->n_commits && j < 5; j++) {
				const char *m = c->commits[j].message ? c->commits[j].message : "";
				int ml = (int)strcspn(m, "\n");
				printf("      %.12s %.*s\n", c->commits[j].hash ?
				    c->commits[j].hash : "?", ml > 70 ? 70 : ml, m);
			}
		}
		const char **keys;
		size_t nk = bs_job_distinct_keys(&job, &keys);
		if (nk) {
			printf("    issues   ");
			for (size_t i = 0; i < nk; i++)
				printf(" %s", keys[i]);
			printf("\n");
		}
	} else if (jv) {
		printf("  job         (undecodable: %s)\n", err);
	}
	bs_job_release(&job);
	const char *h = bs_admin_entry_field(e, "history", NULL);
	if (h)
		printf("  attempts    %s\n", h);
}

/* Stream id order: milliseconds, then the sequence; then the shard. */
static int
dl_cmp(const void *x, const void *y)
{
	const struct dl *a = x, *b = y;
	int c = bs_stream_id_cmp(a->e->id, b->e->id);
	return c ? c : a->shard - b->shard;
}

/* The dead letters of every shard that pass f, oldest first, at most
 * f->limit of them: per[i] holds shard i's entries (the caller releases
 * them), *out the merged list into them (the caller frees it). */
static int
dead_list_all(const struct bs_cmd_redis *a, const struct bs_dead_filter *f,
    struct bs_admin_entries *per, struct dl **out, size_t *n, char *err,
    size_t errlen)
{
	size_t total = 0;
	for (int i = 0; i < a->n_shards; i++) {
		if (bs_admin_dead_list(a->shards[i].rc, &a->shards[i].keys, f, &per[i],
		    err, errlen) != 0)
			return -1;
		total += per[i].n;
	}
	struct dl *v = xcalloc(total + 1, sizeof(*v));
	size_t k = 0;
	for (int i = 0; i < a->n_shards; i++)
		for (size_t j = 0; j < per[i].n; j++, k++) {
			v[k].e = &per[i].v[j];
			v[k].shard = i;
			bs_cmd_dead_id(a, per[i].v[j].id, i, v[k].id, sizeof(v[k].id));
		}
	qsort(v, total, sizeof(*v), dl_cmp);
	size_t limit = f->limit ? f->limit : 1000;
	*out = v;
	*n = total < limit ? total : limit;
	return 0;
}

static int
dlq_usage(void)
{
	bs_cmd_help("dlq");
	return 2;
}

int
bs_cmd_dlq(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 's' },
		{ "repo", required_argument, NULL, 'r' },
		{ "deployment", required_argument, NULL, 'd' },
		{ "reason", required_argument, NULL, 'R' },
		{ "limit", required_argument, NULL, 'n' },
		{ "all", no_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return argc < 2 ? dlq_usage() : bs_cmd_help("dlq");
	const char *sub = argv[1];
	const char *path = bs_default_config_path();
	int json = 0, all = 0, dry = 0, yes = 0, o;
	struct bs_dead_filter f = { .limit = 50 };
	int filtered = 0;
	optind = 2;
	while ((o = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': path = optarg; break;
		case 'j': json = 1; break;
		case 's': {
			long long d = bs_parse_duration(optarg);
			if (d < 0) {
				fprintf(stderr, "bitsleuth dlq: bad --since '%s' (use e.g. 90s, 15m, 2h, 7d)\n", optarg);
				return 2;
			}
			f.since_ms = bs_now_ms() - d;
			filtered = 1;
			break;
		}
		case 'r': f.repo = optarg; filtered = 1; break;
		case 'd': f.deployment = optarg; filtered = 1; break;
		case 'R': f.reason = optarg; filtered = 1; break;
		case 'n':
			if (bs_cmd_parse_limit("dlq", optarg, 0, &f.limit) != 0)
				return 2;
			break;
		case 'a': all = 1; break;
		case 'D': dry = 1; break;
		case 'y': yes = 1; break;
		case 'h': return bs_cmd_help("dlq");
		default: return 2;
		}
	}
	int is_list = strcmp(sub, "list") == 0, is_show = strcmp(sub, "show") == 0;
	int is_replay = strcmp(sub, "replay") == 0, is_purge = strcmp(sub, "purge") == 0;
	if (!is_list && !is_show && !is_replay && !is_purge) {
		fprintf(stderr, "bitsleuth dlq: unknown subcommand '%s'\n", sub);
		return dlq_usage();
	}
	if (is_show && optind != argc - 1) {
		fprintf(stderr, "usage: bitsleuth dlq show -c FILE ID\n");
		return 2;
	}
	if (is_replay && !all && optind >= argc) {
		fprintf(stderr, "usage: bitsleuth dlq replay -c FILE ID... | --all [filters] [--dry-run]\n");
		return 2;
	}

	struct bs_cmd_redis a;
	if (bs_cmd_redis_open(&a, path, argv[0]) != 0)
		return 1;
	char err[256];
	int rc = 0;
	long long now = bs_now_ms();
	const char *who = bs_cmd_actor();
	if (!who || !*who)
		who = "unknown";

	if (is_show) {
		struct bs_admin_entry e;
		char id[96];
		int sh = 0;
		if (bs_cmd_dead_find(&a, argv[optind], &sh, id, sizeof(id), err,
		    sizeof(err)) != 0 || bs_admin_dead_get(a.shards[sh].rc,
		    &a.shards[sh].keys, id, &e, err, sizeof(err)) != 0) {
			fprintf(stderr, "bitsleuth dlq show: %s\n", err);
			rc = 1;
		} else {
			struct dl d = { .e = &e, .shard = sh };
			bs_cmd_dead_id(&a, id, sh, d.id, sizeof(d.id));
			if (json) {
				yajl_gen g = bs_cmd_json_new();
				gen_entry(g, &d, a.n_shards, 1);
				bs_cmd_json_print(g);
			} else {
				print_entry_full(&d);
			}
			bs_admin_entry_release(&e);
		}
		bs_cmd_redis_close(&a);
		return rc;
	}

	/* list, replay --all, purge: the filtered set over every shard;
	 * replay/purge with ids: exactly those. */
	struct bs_admin_entries *per = xcalloc((size_t)a.n_shards, sizeof(*per));
	struct dl *ds = NULL;
	size_t nd = 0;
	int by_ids = (is_replay || is_purge) && optind < argc;
	if (!by_ids) {
		if (!is_list && !filtered)
			f.limit = f.limit == 50 ? 100000 : f.limit;
		if (dead_list_all(&a, &f, per, &ds, &nd, err, sizeof(err)) != 0) {
			fprintf(stderr, "bitsleuth dlq %s: %s\n", sub, err);
			rc = 1;
			goto out;
		}
	}

	if (is_list) {
		if (json) {
			yajl_gen g = bs_cmd_json_new();
			yajl_gen_array_open(g);
			for (size_t i = 0; i < nd; i++)
				gen_entry(g, &ds[i], a.n_shards, 0);
			yajl_gen_array_close(g);
			bs_cmd_json_print(g);
		} else {
			printf("%-17s %-8s %-36s %-12s %s\n", "ID", "AGE", "TARGET",
			    "ATTEMPTS", "REASON");
			for (size_t i = 0; i < nd; i++)
				print_entry_line(&ds[i], now);
			printf("%zu dead letter%s\n", nd, nd == 1 ? "" : "s");
		}
	} else if (is_replay) {
		size_t n = by_ids ? (size_t)(argc - optind) : nd;
		if (dry) {
			printf("would replay %zu dead letter%s:\n", n, n == 1 ? "" : "s");
			for (size_t i = 0; i < n; i++) {
				if (by_ids)
					printf("  %s\n", argv[optind + (int)i]);
				else
					print_entry_line(&ds[i], now);
			}
		} else {
			size_t ok = 0;
			for (size_t i = 0; i < n; i++) {
				char id[96], shown[96];
				int sh = 0;
				if (by_ids) {
					const char *arg = argv[optind + (int)i];
					if (bs_cmd_dead_find(&a, arg, &sh, id, sizeof(id), err,
					    sizeof(err)) != 0) {
						fprintf(stderr, "bitsleuth dlq replay %s: %s\n", arg, err);
						rc = 1;
						continue;
					}
				} else {
					sh = ds[i].shard;
					snprintf(id, sizeof(id), "%s", ds[i].e->id);
				}
				bs_cmd_dead_id(&a, id, sh, shown, sizeof(shown));
				char new_id[64];
				if (bs_admin_dead_replay(a.shards[sh].rc, &a.shards[sh].keys,
				    id, who, now, new_id, sizeof(new_id), err,
				    sizeof(err)) != 0) {
					fprintf(stderr, "bitsleuth dlq replay %s: %s\n", shown, err);
					rc = 1;
					continue;
				}
				printf("replayed %s as job %s\n", shown, new_id);
				ok++;
				if (bs_cmd_wait(&a, sh, err, sizeof(err)) != 0) {
					fprintf(stderr, "bitsleuth dlq replay %s: %s\n", shown, err);
					rc = 1;
				}
			}
			printf("%zu of %zu replayed\n", ok, n);
		}
	} else if (is_purge) {
		size_t n = by_ids ? (size_t)(argc - optind) : nd;
		if (!yes) {
			printf("would purge %zu dead letter%s (add --yes to do it):\n", n,
			    n == 1 ? "" : "s");
			for (size_t i = 0; i < n; i++) {
				if (by_ids)
					printf("  %s\n", argv[optind + (int)i]);
				else
					print_entry_line(&ds[i], now);
			}
			rc = 0;     /* a preview is a success */
		} else {
			/* One XDEL per shard, with the ids that are in it. */
			char (*idv)[96] = xcalloc(n + 1, sizeof(*idv));
			int *shv = xcalloc(n + 1, sizeof(*shv));
			const char **ids = xcalloc(n + 1, sizeof(*ids));
			for (size_t i = 0; i < n; i++) {
				shv[i] = -1;
				if (!by_ids) {
					shv[i] = ds[i].shard;
					snprintf(idv[i], sizeof(idv[i]), "%s", ds[i].e->id);
				} else if (bs_cmd_dead_find(&a, argv[optind + (int)i], &shv[i],
				    idv[i], sizeof(idv[i]), err, sizeof(err)) != 0) {
					fprintf(stderr, "bitsleuth dlq purge %s: %s\n",
					    argv[optind + (int)i], err);
					shv[i] = -1;
					rc = 1;
				}
			}
			long long deleted = 0;
			int failed = 0;
			for (int s = 0; s < a.n_shards && !failed; s++) {
				size_t k = 0;
				for (size_t i = 0; i < n; i++)
					if (shv[i] == s)
						ids[k++] = idv[i];
				if (!k)
					continue;
				long long d = 0;
				if (bs_admin_dead_purge(a.shards[s].rc, &a.shards[s].keys, ids,
				    k, &d, err, sizeof(err)) != 0) {
					fprintf(stderr, "bitsleuth dlq purge: %s\n", err);
					rc = 1;
					failed = 1;
					break;
				}
				deleted += d;
				if (d > 0 && bs_cmd_wait(&a, s, err, sizeof(err)) != 0) {
					fprintf(stderr, "bitsleuth dlq purge: %s\n", err);
					rc = 1;
				}
			}
			if (!failed)
				printf("purged %lld dead letter%s\n", deleted,
				    deleted == 1 ? "" : "s");
			free(ids);
			free(shv);
			free(idv);
		}
	}
out:
	for (int i = 0; i < a.n_shards; i++)
		bs_admin_entries_release(&per[i]);
	free(per);
	free(ds);
	bs_cmd_redis_close(&a);
	return rc;
}
