/* run: one stream entry being worked on, and its tasks (one per target),
 * shared by the worker's parts. Private to worker/.
 *
 *   consumer.c  reads and claims entries, starts and plans runs, sweeps
 *               the lanes, owns the runs' list;
 *   task.c      a task's turn in its lane and its Sleuth call (or dry run);
 *   path_filter.c  right after the turn: whether the push touches the
 *               target's path prefixes (issue 16);
 *   backfill.c  between the two: a merge's full sha, the deploy's commits;
 *   outcome.c   when every task has an outcome, builds the run's records
 *               and lane ops and records them in one step (bs_jobs_finish_lanes).
 *
 * Reference counting: run->pending counts tasks not yet ended, the
 * enrichment (pr_links) and a start guard; the last run_unref finishes the
 * run, and the run frees itself once its outcome is recorded or given up.
 * Loop thread only. */
#ifndef BS_WORKER_RUN_H
#define BS_WORKER_RUN_H

#include <stddef.h>

#include <event2/event.h>

#include "common/arena.h"
#include "common/job.h"
#include "common/log.h"
#include "deploy/backoff.h"
#include "deploy/match.h"
#include "deploy/sleuth.h"
#include "queue/jobs.h"
#include "queue/lanes.h"
#include "worker/context.h"

#define RUN_MAX_TARGETS 64
#define RUN_MAX_LANES (2 * RUN_MAX_TARGETS)

/* How a task ended. */
enum task_end {
	TASK_OPEN = 0,          /* not ended yet */
	TASK_SENT,              /* Sleuth (or the dry run) answered: see outcome */
	TASK_PARKED,            /* an older push is ahead: parked in its lane */
	TASK_LATER,             /* no turn now (a released head's lane is busy,
	                         * or Redis failed): try again in a second */
	TASK_SUPERSEDED,        /* released head, a newer push registered */
	TASK_DONE,              /* already registered (a repeated entry) */
	TASK_FILTERED,          /* the push touches none of its path prefixes:
	                         * not a deploy of it, leaves its lane */
};

struct run;

struct task {
	struct run *run;
	struct bs_target target;
	char name[300];             /* org/deployment/environment */
	enum task_end end;
	enum bs_outcome outcome;    /* TASK_SENT */
	long status;
	long retry_after_s;
	char reason[400];
	char newest[BS_STREAM_ID_MAX + 1]; /* TASK_SUPERSEDED: what superseded it */
	int dry;
	int mdep;                   /* its deployment's label (metrics.h) */
	double sent_at;             /* bs_metrics_now() at the Sleuth call */
	int lane_go;                /* its turn has come: send once enriched */
	int stepped;                /* its lane op is applied already (task.c) */
	enum task_end end_after;    /* how it ends once that lane op is done */
	/* path_filter.c, right after the turn (issue 16) */
	int filtering, filtered;    /* asked, and answered */
	int pf_skip;                /* not touched: ends TASK_FILTERED */
	/* backfill.c, between the turn and the send (issue 12) */
	char *last_sha;             /* the target's last registered sha (GO) */
	char *last_how;             /* and the track that registered it */
	int preparing, prepared;
	enum bs_body_commits bf_mode;
	struct bs_job *bf_job;      /* GIVEN: change 0 holds the commits */
	const char *bf_email;       /* a resolved merge's author */
	/* What its register_deploy body carried (arena; NULL until a body was
	 * built), for its outcome on {p}:deploys; a dry run's URL. */
	struct bs_sleuth_sent *sent;
	const char *url;
	int same;                   /* DONE: its sha is the target's last registered */
};

struct bs_consumer;
struct pf_files;

struct run {
	struct bs_consumer *c;
	struct bs_wctx *ctx;
	struct run *prev, *next;    /* the consumer's runs */
	struct bs_arena arena;      /* strings of this run */
	char *id;
	struct bs_job job;
	char *blob;                 /* the entry's job field, for successors */
	size_t blob_len;
	char *delivery, *event, *filter, *history;
	char *origin;               /* lane position (lanes.h) */
	char *queued;               /* the id the delivery was queued as (its
	                             * `queued_as` field, else origin) */
	char *lanes;                /* the entry's lanes field, or NULL */
	long attempt;               /* attempts made before this one */
	long long first_ms;
	long long read_ms;          /* when it was read: its claim clock starts */
	struct task tasks[RUN_MAX_TARGETS];
	size_t n_tasks;
	size_t pending;             /* tasks + enrichment + start guard not yet done */
	int enriched;               /* pr_links has run */
	struct pf_files *pf_files;  /* path_filter.c: the file lists looked up
	                             * for its tasks (in the arena) */
	int undecodable;
	char decode_err[200];
	/* The outcome, built once by run_finish and sent again after a Redis
	 * drop (the finish script is safe to repeat). */
	struct bs_finish_rec recs[RUN_MAX_TARGETS + 1];
	size_t n_recs;
	struct bs_lane_op ops[RUN_MAX_LANES];
	size_t n_ops;
	struct bs_outcome_rec outs[RUN_MAX_TARGETS + 1]; /* for {p}:deploys */
	size_t n_outs;
	struct bs_record_opts pub;  /* queue.events* when the outcome was built */
	long long registered;
	int finish_tries;
	long long finish_until;     /* give up re-sending the finish after this */
	struct event *finish_ev;
};

/* consumer.c */
const char *bs_consumer_name(const struct bs_consumer *c);
const char *bs_consumer_owner(const struct bs_consumer *c);   /* lease owner */
struct bs_backoff *bs_consumer_backoff(struct bs_consumer *c);
int bs_consumer_stopping(const struct bs_consumer *c);
/* The run is over (recorded or given up): unlinks and frees it. */
void bs_consumer_run_free(struct run *run);

/* task.c */
/* Asks for t's turn in its lane; ends the task (task_end) unless GO, in
 * which case task_send follows once the run is enriched. */
void task_acquire(struct task *t);
/* Sends t (its turn has come, the run is enriched), or records its dry run. */
void task_start(struct task *t);
/* What {p}:deployed keeps of t's registration: "<sha> <track>", the
 * track as task_track names it ("push", "merge", "tag"). */
const char *task_deployed_note(struct task *t);
const char *task_track(const struct task *t);
/* t->sent, built from the body t would send now when no body was built
 * yet (a task DONE after a crash: its outcome was never recorded). */
const struct bs_sleuth_sent *task_sent_summary(struct task *t);
/* Counts t's outcome in deploys_total and, when it is final (not a
 * retry), its queue wait (the delivery's receipt to now). */
void task_count(struct task *t, enum bs_m_deploy outcome);

/* outcome.c */
/* One count fewer; the last one finishes the run. */
void run_unref(struct run *run);
/* Exit: a pending re-send of the finish runs now (and gives up). */
void run_cancel_wait(struct run *run);

/* The log context (common/log.h) of run, and of its task t unless NULL:
 * pushed around a callback's work, popped after it. bs_consumer_run_free
 * forgets it (the strings are the run's). */
static inline void
run_log_push(const struct run *run, const struct task *t)
{
	bs_log_ctx_push(&(struct bs_log_ctx){ .delivery = run->delivery,
		.event = run->event, .repository = run->job.ev.repository,
		.job = run->id, .target = t ? t->name : NULL });
}

#endif
