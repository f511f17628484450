/* path_filter: whether one task's push touches its code deployment's
 * source path prefixes (issue 16, monorepos), decided once its turn has
 * come and before backfill. Private to worker/.
 *
 *   - A target without prefixes (bs_paths_none) passes, no I/O.
 *   - The files of the push: of its change, old..new (Cloud
 *     diffstat/{new}..{old}, DC changes?since={old}&until={new}); of a PR
 *     merge target (change SIZE_MAX), the merge commit against its first
 *     parent (Cloud diffstat/{sha}, DC changes?until={sha}). From the cache
 *     {p}:files:<product>:<repo lower>:<old>:<new> ("<sha>^" as old for a
 *     merge commit) when there, else from Bitbucket's API through
 *     bb_client (pages: Cloud `next` on the same origin, DC nextPageStart),
 *     at most PATH_FILTER_MAX_FILES paths, within backfill.max_wait; the
 *     list (or "too many") is then cached for dead.max_age. The targets of
 *     one run share one lookup per file list (the run's pf_files).
 *   - Touched (deploy/paths.h): t->pf_skip stays 0, counted matched.
 *     Not touched: t->pf_skip = 1, counted skipped, logged at info; the
 *     task then ends TASK_FILTERED (task.c). Unknown (no API credentials
 *     for the product, a created branch or a tag: no old commit, the API
 *     failed or max_wait passed, more than PATH_FILTER_MAX_FILES paths):
 *     passes as if there were no prefix, counted unknown, logged at info
 *     with the reason. A skipped deploy would be gone for good, an extra
 *     one is visible and counted. */
#ifndef BS_WORKER_PATH_FILTER_H
#define BS_WORKER_PATH_FILTER_H

#include <stdbool.h>

#define PATH_FILTER_MAX_FILES 5000

struct task;
struct bs_wctx;

typedef void path_filter_cb(struct task *t);

/* Whether t's target has path prefixes at all (else it always passes). */
bool path_filter_needed(const struct task *t);

/* Decides t (t->pf_skip); cb(t) exactly once, never before this returns.
 * When it calls back while the worker shuts down (ctx->http or
 * ctx->redis gone) nothing was decided: the caller ends the task without
 * a call. */
void path_filter_run(struct task *t, path_filter_cb *cb);

/* Exit, after the worker's HTTP client and Redis connections are gone:
 * every decision waiting on its timer calls back now (worker.c, before
 * backfill_cancel_waiting). */
void path_filter_cancel_waiting(struct bs_wctx *ctx);

#endif
