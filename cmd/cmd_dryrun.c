/* cmd_dryrun: `bitsleuth dryrun`, the deploys a worker recorded instead of
 * sending them (sleuth.dry_run: true), read from {p}:dryrun of every shard
 * (worker/task.c writes url, target, delivery, job and the request body),
 * newest first. The issue keys are the delivery's (the ones its 202
 * named), found again in the delivery kept in {p}:raw:ID (queue.raw_ttl)
 * by today's parser and patterns; once it expired, the body's issue links
 * (issues.url), else what the patterns find in its branch and commits. */
#include "cmd/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/xalloc.h"
#include "config/live.h"
#include "deploy/isotime.h"
#include "ingest/intake.h"
#include "parsers/issue_scan.h"
#include "queue/admin.h"
#include "queue/lanes.h"
#include "cmd/cmd_common.h"

#define DRYRUN_DEFAULT 20
#define DRYRUN_MAX 1000
#define DRYRUN_MAX_KEYS 32

/* What one record shows. Strings point into the entry or the tree. */
struct record {
	const struct bs_admin_entry *e;
	int shard;
	yajl_val body;              /* parsed request body, or NULL */
	const char *sha;
	long long commits;          /* in the body; -1: it sends none */
	long long pushed;           /* in the kept delivery; -1: unknown */
	char *keys[DRYRUN_MAX_KEYS];
	size_t n_keys;
};

static void
add_key(struct record *r, const char *k, size_t len)
{
	for (size_t i = 0; i < r->n_keys; i++)
		if (strlen(r->keys[i]) == len && memcmp(r->keys[i], k, len) == 0)
			return;
	if (r->n_keys < DRYRUN_MAX_KEYS)
		r->keys[r->n_keys++] = xstrndup(k, len);
}

static void
on_key(const char *key, size_t len, size_t pattern, size_t start, void *arg)
{
	(void)pattern;
	(void)start;
	add_key(arg, key, len);
}

static void
scan_str(const struct bs_scanner *sc, struct record *r, yajl_val v)
{
	if (sc && YAJL_IS_STRING(v))
		(void)bs_scanner_scan(sc, v->u.string, strlen(v->u.string), on_key, r);
}

/* The issue keys of the delivery kept for r (its shard's {p}:raw:ID),
 * through today's parser and patterns, without its signature check. */
static void
kept_keys(struct record *r, const struct bs_cmd_redis *a,
    const struct bs_scanner *sc)
{
	const char *delivery = bs_admin_entry_field(r->e, "delivery", NULL);
	struct bs_admin_raw raw;
	char err[256];
	if (!sc || !delivery || !*delivery || bs_admin_raw_get(a->shards[r->shard].rc,
	    &a->shards[r->shard].keys, delivery, &raw, err, sizeof(err)) != 0)
		return;
	struct bs_intake in = { .cfg = &a->cfg, .scanner = sc };
	struct bs_delivery d = {
		.event_key = raw.event, .content_type = "application/json",
		.request_uuid = delivery, .body = raw.body, .len = raw.body_len,
		.skip_signature = 1,
	};
	struct bs_intake_result res;
	bs_intake_process(&in, &d, raw.received_ms > 0 ? raw.received_ms :
	    bs_now_ms(), &res);
	if (res.verdict == BS_INTAKE_QUEUE) {
		r->pushed = 0;
		for (size_t i = 0; i < res.job.ev.n_changes; i++)
			r->pushed += (long long)res.job.ev.changes[i].n_commits;
	}
	if (res.verdict == BS_INTAKE_QUEUE)
		for (size_t i = 0; i < res.job.n_keys; i++)
			if (res.job.keys[i].key)
				add_key(r, res.job.keys[i].key, strlen(res.job.keys[i].key));
	bs_intake_result_release(&res);
	bs_admin_raw_release(&raw);
}

/* sha, commit count and issue keys of r from its body (the keys when the
 * kept delivery gave none). */
static void
read_body(struct record *r, const struct bs_scanner *sc)
{
	size_t blen = 0;
	const char *b = bs_admin_entry_field(r->e, "body", &blen);
	char err[128];
	if (!b || blen == 0 || blen > BS_CMD_MAX_PAYLOAD ||
	    !(r->body = yajl_tree_parse(b, err, sizeof(err))))
		return;
	const char *p_sha[] = { "sha", NULL }, *p_commits[] = { "commits", NULL };
	const char *p_links[] = { "links", NULL }, *p_branch[] = { "branch", NULL };
	yajl_val v = yajl_tree_get(r->body, p_sha, yajl_t_string);
	r->sha = v ? v->u.string : NULL;
	yajl_val commits = yajl_tree_get(r->body, p_commits, yajl_t_array);
	if (commits)
		r->commits = (long long)commits->u.array.len;
	yajl_val links = yajl_tree_get(r->body, p_links, yajl_t_object);
	if (r->n_keys > 0)
		return;
	for (size_t i = 0; links && i < links->u.object.len; i++)
		if (strcmp(links->u.object.keys[i], "Bitbucket") != 0)
			add_key(r, links->u.object.keys[i],
			    strlen(links->u.object.keys[i]));
	if (r->n_keys > 0)
		return;
	scan_str(sc, r, yajl_tree_get(r->body, p_branch, yajl_t_string));
	const char *p_msg[] = { "message", NULL };
	for (size_t i = 0; commits && i < commits->u.array.len; i++)
		scan_str(sc, r, yajl_tree_get(commits->u.array.values[i], p_msg,
		    yajl_t_string));
}

static void
record_release(struct record *r)
{
	for (size_t i = 0; i < r->n_keys; i++)
		free(r->keys[i]);
	if (r->body)
		yajl_tree_free(r->body);
}

/* Newest stream id first (shards' records interleave by time). */
static int
newest_first(const void *x, const void *y)
{
	const struct record *a = x, *b = y;
	int c = bs_stream_id_cmp(b->e->id, a->e->id);
	return c ? c : a->shard - b->shard;
}

static const char *
field(const struct record *r, const char *name)
{
	const char *v = bs_admin_entry_field(r->e, name, NULL);
	return v && *v ? v : "-";
}

static void
when(const struct record *r, char *out, size_t outlen)
{
	if (bs_isotime_utc(strtoll(r->e->id, NULL, 10), out, outlen) != 0)
		snprintf(out, outlen, "-");
}

/* The commits of the deploy: those the body sends, else (Sleuth works
 * them out itself) the push's, else 0. */
static long long
commits_of(const struct record *r)
{
	return r->commits >= 0 ? r->commits : r->pushed >= 0 ? r->pushed : 0;
}

static void
print_json(const struct record *rs, size_t n, int n_shards)
{
	yajl_gen g = bs_cmd_json_new();
	yajl_gen_array_open(g);
	for (size_t i = 0; i < n; i++) {
		const struct record *r = &rs[i];
		char t[BS_ISOTIME_LEN];
		when(r, t, sizeof(t));
		yajl_gen_map_open(g);
		bs_cmd_json_str(g, "id", 2);
		bs_cmd_json_str(g, r->e->id, strlen(r->e->id));
		if (n_shards > 1) {
			bs_cmd_json_str(g, "shard", 5);
			yajl_gen_integer(g, r->shard);
		}
		bs_cmd_json_str(g, "time", 4);
		bs_cmd_json_str(g, t, strlen(t));
		static const char *const names[] = { "target", "url", "delivery",
			"job" };
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			size_t len = 0;
			const char *v = bs_admin_entry_field(r->e, names[k], &len);
			bs_cmd_json_str(g, names[k], strlen(names[k]));
			if (v)
				bs_cmd_json_str(g, v, len);
			else
				yajl_gen_null(g);
		}
		bs_cmd_json_str(g, "sha", 3);
		if (r->sha)
			bs_cmd_json_str(g, r->sha, strlen(r->sha));
		else
			yajl_gen_null(g);
		bs_cmd_json_str(g, "issues", 6);
		yajl_gen_array_open(g);
		for (size_t k = 0; k < r->n_keys; k++)
			bs_cmd_json_str(g, r->keys[k], strlen(r->keys[k]));
		yajl_gen_array_close(g);
		bs_cmd_json_str(g, "commits", 7);
		yajl_gen_integer(g, commits_of(r));
		bs_cmd_json_str(g, "commits_sent", 12);
		yajl_gen_bool(g, r->commits >= 0);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	bs_cmd_json_print(g);
}

static void
print_text(const struct record *rs, size_t n)
{
	if (n == 0) {
		printf("no dry-run deploys recorded\n");
		return;
	}
	printf("%-24s %-40s %-12s %-7s %s\n", "TIME", "TARGET (org/deployment/env)",
	    "SHA", "COMMITS", "ISSUES");
	for (size_t i = 0; i < n; i++) {
		const struct record *r = &rs[i];
		char t[BS_ISOTIME_LEN], keys[256] = "-";
		when(r, t, sizeof(t));
		size_t off = 0;
		for (size_t k = 0; k < r->n_keys && off < sizeof(keys); k++)
			off += (size_t)snprintf(keys + off, sizeof(keys) - off, "%s%s",
			    k ? "," : "", r->keys[k]);
		printf("%-24s %-40s %-12.12s %-7lld %s\n", t, field(r, "target"),
		    r->sha ? r->sha : "-", commits_of(r), keys);
	}
}

int
bs_cmd_dryrun(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = bs_default_config_path();
	size_t limit = DRYRUN_DEFAULT;
	int json = 0, o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:n:jh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': path = optarg; break;
		case 'j': json = 1; break;
		case 'n':
			if (bs_cmd_parse_limit("dryrun", optarg, DRYRUN_MAX, &limit) != 0)
				return 2;
			break;
		case 'h': return bs_cmd_help("dryrun");
		default: return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bitsleuth dryrun: unexpected argument '%s'\n",
		    argv[optind]);
		return 2;
	}
	struct bs_cmd_redis a;
	if (bs_cmd_redis_open(&a, path, "dryrun") != 0)
		return 1;
	struct bs_admin_entries *per = xcalloc((size_t)a.n_shards, sizeof(*per));
	struct record *rs = NULL;
	size_t n = 0;
	int rc = 0;
	char err[256];
	for (int i = 0; i < a.n_shards; i++) {
		if (bs_admin_stream_newest(a.shards[i].rc, a.shards[i].keys.dryrun, 0,
		    limit, &per[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "bitsleuth dryrun: shard %d: %s\n", i, err);
			rc = 1;
			goto out;
		}
		rs = xrealloc(rs, (n + per[i].n + 1) * sizeof(*rs));
		for (size_t j = 0; j < per[i].n; j++)
			rs[n++] = (struct record){ .e = &per[i].v[j], .shard = i,
				.commits = -1, .pushed = -1 };
	}
	qsort(rs, n, sizeof(*rs), newest_first);
	if (n > limit)
		n = limit;
	struct bs_scanner *sc = bs_config_scanner(&a.cfg, err, sizeof(err));
	if (!sc)
		fprintf(stderr, "bitsleuth dryrun: issues.patterns: %s\n", err);
	for (size_t i = 0; i < n; i++) {
		kept_keys(&rs[i], &a, sc);
		read_body(&rs[i], sc);
	}
	if (sc)
		bs_scanner_free(sc);
	if (json)
		print_json(rs, n, a.n_shards);
	else
		print_text(rs, n);
	for (size_t i = 0; i < n; i++)
		record_release(&rs[i]);
out:
	free(rs);
	for (int i = 0; i < a.n_shards; i++)
		bs_admin_entries_release(&per[i]);
	free(per);
	bs_cmd_redis_close(&a);
	return rc;
}
