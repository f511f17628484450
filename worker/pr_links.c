/* pr_links: remembers PRs and lends their issue keys to the push that
 * deploys their merge (see pr_links.h).
 *
 * A PR job (any action: opened, updated, commented, merged...) replaces
 * its record {p}:pr:<repo>:<id> (repo: the destination repository, where
 * the merge lands) with the PR as this event shows it: the latest event
 * wins, and the TTL restarts. A push job scans the messages
 * of its changes' commits for the merge boilerplate of both products
 * (Cloud "Merged in x (pull request #N)", DC "Pull request #N: ..." and
 * the older "Merge pull request #N in ..."), fetches up to PR_MAX distinct
 * PRs in one round trip and adds their keys to the change that named them.
 * Nothing else changes in the job, and a Redis failure only costs the
 * extra keys (debug log), never the deploy.
 *
 * The callback is always deferred through a one-shot event, so it never
 * runs inside bs_pr_links_run nor inside a hiredis reply callback. */
#include "worker/pr_links.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/job.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "queue/prs.h"
#include "worker/context.h"

#define PR_MAX BS_PRS_MAX_FETCH   /* distinct PRs looked up per job */
#define LINK_MAX 64               /* (PR, change) pairs per job */
#define SCAN_MAX 4096             /* bytes of a message searched */
#define ADD_MAX 200               /* keys added to one job */

struct link {
	size_t pr;                    /* index into op->ids */
	uint32_t change;
};

struct op {
	struct bs_job *job;
	bs_pr_links_cb *cb;
	void *arg;
	struct event *ev;
	int64_t ids[PR_MAX];
	size_t n_ids;
	struct link links[LINK_MAX];
	size_t n_links;
};

static void
on_deferred(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct op *op = arg;
	bs_pr_links_cb *cb = op->cb;
	void *cb_arg = op->arg;
	event_free(op->ev);
	free(op);
	cb(cb_arg);
}

static void
finish(struct op *op)
{
	event_active(op->ev, EV_TIMEOUT, 0);
}

/* === PR jobs: store === */

/* The repository the PR merges into: where the push of its merge lands. */
static const char *
pr_repo(const struct bs_event *ev)
{
	if (ev->pr && ev->pr->destination.repository &&
	    ev->pr->destination.repository[0])
		return ev->pr->destination.repository;
	return ev->repository;
}

static void
on_stored(int ok, const char *err, void *arg)
{
	struct op *op = arg;
	if (!ok)
		log_debug("pr %s#%" PRId64 " not remembered: %s",
		    pr_repo(&op->job->ev), op->job->ev.pr->id, err ? err : "?");
	finish(op);
}

static void
store(struct bs_wctx *ctx, struct op *op)
{
	const struct bs_job *job = op->job;
	const struct bs_pr *pr = job->ev.pr;
	size_t klen;
	char *keys = bs_prs_keys_encode(job->keys, job->n_keys, &klen);
	struct bs_field f[6];
	bs_field_str(&f[0], "title", pr->title);
	bs_field_str(&f[1], "branch", pr->source.branch);
	bs_field_str(&f[2], "merge", pr->merge_hash);
	bs_field_str(&f[3], "state", pr->state);
	bs_field_str(&f[4], "event", job->ev.event_key);
	f[5] = (struct bs_field){ "keys", keys, klen };
	bs_prs_store(ctx->redis, ctx->keys, pr_repo(&job->ev), pr->id, f, 6,
	    ctx->live->cfg->queue.pr_ttl_s, on_stored, op);
	free(keys);
}

/* === push jobs: look up the PRs the commits name === */

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The PR number of digits at s (up to end) followed by `term`, or 0. */
static int64_t
number_before(const char *s, const char *end, char term)
{
	const char *p = s;
	while (p < end && is_digit(*p) && p - s <= 10)
		p++;
	int64_t id;
	if (p >= end || *p != term ||
	    bs_prs_parse_id(s, (size_t)(p - s), &id) < 0)
		return 0;
	return id;
}

static int
starts(const char *s, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(end - s) >= n && memcmp(s, lit, n) == 0;
}

/* The PR a merge commit message names, or 0. */
static int64_t
named_pr(const char *msg)
{
	size_t n = strnlen(msg, SCAN_MAX);
	const char *end = msg + n;
	if (starts(msg, end, "Pull request #"))          /* DC */
		return number_before(msg + 14, end, ':');
	if (starts(msg, end, "Merge pull request #"))    /* older Server */
		return number_before(msg + 20, end, ' ');
	static const char cloud[] = "(pull request #";   /* Cloud */
	for (const char *p = msg; (p = memchr(p, '(', (size_t)(end - p))) != NULL;
	    p++) {
		if (starts(p, end, cloud)) {
			int64_t id = number_before(p + sizeof(cloud) - 1, end, ')');
			if (id)
				return id;
		}
	}
	return 0;
}

static void
add_link(struct op *op, int64_t id, uint32_t change)
{
	size_t i;
	for (i = 0; i < op->n_ids; i++)
		if (op->ids[i] == id)
			break;
	if (i == op->n_ids) {
		if (op->n_ids == PR_MAX)
			return;
		op->ids[op->n_ids++] = id;
	}
	for (size_t j = 0; j < op->n_links; j++)
		if (op->links[j].pr == i && op->links[j].change == change)
			return;
	if (op->n_links < LINK_MAX)
		op->links[op->n_links++] = (struct link){ i, change };
}

struct add_ctx {
	struct bs_job *job;
	uint32_t change;
	size_t added;                 /* over the whole job, up to ADD_MAX */
};

static void
add_key(enum bs_key_where where, const char *key, size_t keylen, void *arg)
{
	struct add_ctx *a = arg;
	if (a->added >= ADD_MAX)
		return;
	size_t before = a->job->n_keys;
	bs_job_add_key(a->job, key, keylen, where, a->change, 0);
	a->added += a->job->n_keys - before;
}

static void
on_fetched(const struct bs_pr_record *recs, size_t n, const char *err,
    void *arg)
{
	struct op *op = arg;
	struct bs_job *job = op->job;
	if (err) {
		log_debug("job %s: prs of %s not looked up: %s",
		    job->delivery ? job->delivery : "?", job->ev.repository, err);
		finish(op);
		return;
	}
	size_t found = 0;
	struct add_ctx a = { job, 0, 0 };
	for (size_t i = 0; i < n; i++) {
		if (!recs[i].found)
			continue;
		found++;
		const struct bs_field *kf = bs_pr_record_field(&recs[i], "keys");
		if (!kf)
			continue;
		for (size_t j = 0; j < op->n_links; j++) {
			if (op->links[j].pr != i)
				continue;
			a.change = op->links[j].change;
			bs_prs_keys_decode(kf->val, kf->len, add_key, &a);
		}
	}
	log_debug("job %s: %zu of %zu named prs remembered, %zu keys added",
	    job->delivery ? job->delivery : "?", found, n, a.added);
	finish(op);
}

static void
enrich(struct bs_wctx *ctx, struct op *op)
{
	const struct bs_event *ev = &op->job->ev;
	for (size_t c = 0; c < ev->n_changes && c <= UINT32_MAX; c++) {
		const struct bs_change *ch = &ev->changes[c];
		if (ch->closed)
			continue;
		for (size_t i = 0; i < ch->n_commits; i++) {
			const char *msg = ch->commits[i].message;
			int64_t id = msg ? named_pr(msg) : 0;
			if (id)
				add_link(op, id, (uint32_t)c);
		}
	}
	if (op->n_ids == 0) {
		finish(op);
		return;
	}
	bs_prs_fetch(ctx->redis, ctx->keys, ev->repository, op->ids, op->n_ids,
	    on_fetched, op);
}

void
bs_pr_links_run(struct bs_wctx *ctx, struct bs_job *job, bs_pr_links_cb *cb,
    void *arg)
{
	struct op *op = xcalloc(1, sizeof(*op));
	op->job = job;
	op->cb = cb;
	op->arg = arg;
	op->ev = event_new(ctx->base, -1, 0, on_deferred, op);
	if (!op->ev) {
		log_error("cannot create an event");
		abort();
	}
	const struct bs_event *ev = &job->ev;
	if (!ctx->redis || ctx->live->cfg->queue.pr_ttl_s <= 0) {
		finish(op);
	} else if (ev->type == BS_EVENT_PR && ev->pr && ev->pr->id > 0 &&
	    pr_repo(ev)) {
		store(ctx, op);
	} else if (ev->type == BS_EVENT_PUSH && ev->repository) {
		enrich(ctx, op);
	} else {
		finish(op);
	}
}
