/* backfill: what one task's deploy carries besides its target, prepared
 * once its turn has come and before it is sent (issue 12). Private to
 * worker/.
 *
 *   1. A merge's short sha (Cloud sends 12 characters) becomes the full
 *      one: from the note the push of the merge commit left
 *      ({p}:sha:<repo>:<prefix>, see backfill_note_push), else from the API
 *      (commit/{short}), else from that note again, looked for every
 *      second until backfill.max_wait; then the short sha goes, counted.
 *   2. The plan (deploy/commit_plan.h) from the sha last registered for
 *      the target, which the lane's GO verdict told (task->last_sha).
 *   3. FETCH: {p}:bf:<product>:<repo>:<exclude>:<include> (the cache, so a
 *      retry or a replay never asks again), else the API's pages, at most
 *      backfill.max_commits commits, every message scanned for issue keys,
 *      then cached for dead.max_age. Without credentials, or when the API
 *      fails or max_wait passes, the deploy goes without `commits`,
 *      counted and logged: a backfill problem never holds a deploy longer
 *      than backfill.max_wait nor loses it.
 * The result is in the task's bf_* fields (run.h). */
#ifndef BS_WORKER_BACKFILL_H
#define BS_WORKER_BACKFILL_H

struct task;
struct bs_wctx;
struct bs_job;

typedef void backfill_cb(struct task *t);

/* Prepares t; cb(t) exactly once, never before this returns. */
void backfill_run(struct task *t, backfill_cb *cb);

/* Leaves, for every pushed branch or tag head of job, its full sha under
 * its 12-character prefix (queue.pr_ttl), with its author's email when the
 * payload says it: the full hash of a Cloud merge comes from there when
 * the API cannot be asked. Fire and forget; the consumer calls it for
 * fresh entries while a merge deployment is configured. */
void backfill_note_push(struct bs_wctx *ctx, const struct bs_job *job);

/* Exit, after the worker's HTTP client and Redis connections are gone:
 * every preparation waiting on its timer ends now (its task then ends
 * without a call, its entry stays pending for the next worker). */
void backfill_cancel_waiting(struct bs_wctx *ctx);

/* Frees what backfill_run left in t (its fetched commits). */
void backfill_release(struct task *t);

#endif
