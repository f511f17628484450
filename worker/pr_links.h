/* pr_links: a PR's issue keys travel to the deploy of its merge. Private
 * to worker/ (the consumer runs it for every job).
 * PR jobs store their PR in {p}:pr:<repository lower-case>:<id> (hash, TTL
 * queue.pr_ttl_s): title, source branch, merge hash, state and the PR's issue keys. Push jobs
 * look up the PRs their commits name (Cloud merge commits "Merged in x (pull request #N)", DC
 * "Pull request #N: ..."; for at most 20 PRs per job) and add those PRs' keys to the job with
 * where = BS_KEY_PR_TITLE/BS_KEY_PR_DESCRIPTION/BS_KEY_PR_BRANCH as stored and change = the index
 * of the change whose commit named the PR, so the deploy of that change carries them. */
#ifndef BS_PR_LINKS_H
#define BS_PR_LINKS_H
struct bs_wctx;
struct bs_job;
typedef void bs_pr_links_cb(void *arg);
/* Stores (PR job) or enriches (push job) `job`; other jobs: nothing. cb runs exactly once, never
 * before this function returns (defer with event_active or run from a redis callback), also when
 * Redis fails (then the job is unchanged and a debug line is logged). `job` must stay alive until
 * cb. */
void bs_pr_links_run(struct bs_wctx *ctx, struct bs_job *job, bs_pr_links_cb *cb, void *arg);
#endif
