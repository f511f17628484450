/* cmd_stats_discovery: the discovery caches as stats shows them (see
 * cmd_stats_discovery.h). */
#include "cmd/cmd_stats_discovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "common/arena.h"
#include "common/xalloc.h"
#include "parsers/sleuth_graphql.h"

static const redisReply *
field(const redisReply *r, const char *name)
{
	for (size_t i = 0; r && i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[i]->str, name) == 0 &&
		    r->element[i + 1]->type == REDIS_REPLY_STRING)
			return r->element[i + 1];
	return NULL;
}

static long long
num(const redisReply *r, const char *name)
{
	const redisReply *v = field(r, name);
	return v ? strtoll(v->str, NULL, 10) : 0;
}

static void
read_one(const redisReply *r, struct bs_disc_stat *st)
{
	st->fetched_ms = num(r, "fetched_ms");
	st->failures = num(r, "failures");
	st->last_error_ms = num(r, "last_error_ms");
	const redisReply *e = field(r, "last_error");
	snprintf(st->last_error, sizeof(st->last_error), "%s", e ? e->str : "");
	const redisReply *ans = field(r, "answer");
	st->code_deployments = 0;
	if (!ans)
		return;
	struct bs_arena a;
	bs_arena_init(&a);
	struct bs_discovered d;
	char err[200];
	st->code_deployments = bs_graphql_parse_project(ans->str, ans->len, &a,
	    &d, err, sizeof(err)) == 0 ? (long long)d.n : -1;
	bs_arena_release(&a);
}

int
bs_cmd_discovery_collect(const struct bs_cmd_redis *a,
    struct bs_disc_stat **out, size_t *n, char *err, size_t errlen)
{
	const struct bs_config *cfg = &a->cfg;
	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < cfg->n_projects; i++) {
		const struct bs_project *p = &cfg->projects[i];
		if (!p->discover)
			continue;
		char key[600];
		int kl = snprintf(key, sizeof(key), "%s%s/%s",
		    a->shards[0].keys.discover, p->org, p->project);
		if (kl < 0 || (size_t)kl >= sizeof(key)) {
			/* cut, it would name another project's cache */
			snprintf(err, errlen, "the discovery key of %.100s/%.100s is "
			    "longer than %zu bytes", p->org, p->project,
			    sizeof(key) - 1);
			free(*out);
			*out = NULL;
			*n = 0;
			return -1;
		}
		redisReply *r = redisCommand(a->shards[0].rc, "HGETALL %b", key,
		    (size_t)kl);
		if (!r || r->type != REDIS_REPLY_ARRAY) {
			snprintf(err, errlen, "HGETALL %s: %s", key, r && r->type ==
			    REDIS_REPLY_ERROR ? r->str : a->shards[0].rc->errstr);
			if (r)
				freeReplyObject(r);
			free(*out);
			*out = NULL;
			*n = 0;
			return -1;
		}
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		struct bs_disc_stat *st = &(*out)[(*n)++];
		memset(st, 0, sizeof(*st));
		snprintf(st->project, sizeof(st->project), "%s/%s", p->org,
		    p->project);
		read_one(r, st);
		freeReplyObject(r);
	}
	return 0;
}

void
bs_cmd_discovery_text(const struct bs_disc_stat *st, size_t n, long long now)
{
	if (n)
		printf("discovery:\n");
	for (size_t i = 0; i < n; i++) {
		const struct bs_disc_stat *s = &st[i];
		char age[32];
		printf("  %s: ", s->project);
		if (!s->fetched_ms)
			printf("nothing learned yet");
		else {
			bs_cmd_human_age(now - s->fetched_ms, age, sizeof(age));
			if (s->code_deployments < 0)
				printf("cached answer does not parse, learned %s ago", age);
			else
				printf("%lld code deployments, learned %s ago",
				    s->code_deployments, age);
		}
		if (s->failures > 0) {
			printf("; %lld refreshes failed since", s->failures);
			if (s->last_error_ms) {
				bs_cmd_human_age(now - s->last_error_ms, age, sizeof(age));
				printf(" (last %s ago: %s)", age, s->last_error[0] ?
				    s->last_error : "no reason recorded");
			} else if (s->last_error[0])
				printf(" (last: %s)", s->last_error);
		}
		printf("\n");
	}
}

static void
gstr(yajl_gen g, const char *s)
{
	bs_cmd_json_str(g, s, s ? strlen(s) : 0);
}

void
bs_cmd_discovery_json(yajl_gen g, const struct bs_disc_stat *st, size_t n)
{
	gstr(g, "discovery");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < n; i++) {
		const struct bs_disc_stat *s = &st[i];
		yajl_gen_map_open(g);
		gstr(g, "project"); gstr(g, s->project);
		gstr(g, "learned_ms");
		if (s->fetched_ms)
			yajl_gen_integer(g, s->fetched_ms);
		else
			yajl_gen_null(g);
		gstr(g, "code_deployments");
		if (s->fetched_ms)
			yajl_gen_integer(g, s->code_deployments);
		else
			yajl_gen_null(g);
		gstr(g, "failures"); yajl_gen_integer(g, s->failures);
		gstr(g, "last_error"); gstr(g, s->last_error);
		gstr(g, "last_error_ms"); yajl_gen_integer(g, s->last_error_ms);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
}
