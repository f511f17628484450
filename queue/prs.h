/* prs: pull requests remembered in Redis, so that a later push that
 * carries a PR's merge commit can carry the PR's issue keys too.
 *
 * One hash per PR, "{prefix}:pr:<repository lower-case>:<id>", with a TTL.
 * Its fields are the caller's (worker/pr_links stores title, branch, merge,
 * state and keys); the "keys" field is a list of "<where>:<key>\n" lines
 * (where = bs_key_where_name()) written and read by bs_prs_keys_encode /
 * bs_prs_keys_decode. A store replaces the whole hash (DEL + HSET + EXPIRE
 * in one script); a fetch reads up to BS_PRS_MAX_FETCH of them in one
 * script. Every callback runs exactly once (see redis_client.h: before the
 * call returns when Redis is not connected). */
#ifndef BS_PRS_H
#define BS_PRS_H

#include <stddef.h>
#include <stdint.h>

#include "common/job.h"
#include "queue/jobs.h"
#include "queue/keys.h"
#include "queue/redis_client.h"

#define BS_PRS_MAX_FETCH 20      /* PRs per fetch */
#define BS_PRS_MAX_FIELDS 16     /* fields per stored PR */
#define BS_PRS_MAX_REPO 256      /* bytes of a repository name */
#define BS_PRS_MAX_KEYS 100      /* keys per stored PR */
#define BS_PRS_MAX_KEY_LEN 200   /* bytes of one stored key */
#define BS_PRS_KEY_MAX (BS_KEY_MAX + BS_PRS_MAX_REPO + 32)

/* Strict PR number: 1..10 ASCII digits, no sign, no leading zero, value
 * >= 1. Returns 0 with *id set, else -1. */
int bs_prs_parse_id(const char *s, size_t len, int64_t *id);

/* Writes "{prefix}:pr:<repo lower-cased (ASCII)>:<id>" to out (at least
 * BS_PRS_KEY_MAX bytes). Returns 0, or -1 when repo is empty, longer than
 * BS_PRS_MAX_REPO or holds a space or control byte, or id < 1. */
int bs_prs_key(const struct bs_keys *k, const char *repo, int64_t id,
    char *out, size_t outlen);

/* Replaces PR `id` of `repo` with fields[0..n) (1 <= n <=
 * BS_PRS_MAX_FIELDS, names non-empty) and sets its TTL to ttl_s (> 0),
 * atomically. cb(ok = 1) once stored; cb(0, err) on a bad argument
 * (nothing sent) or a Redis failure. */
void bs_prs_store(struct bs_redis *r, const struct bs_keys *k,
    const char *repo, int64_t id, const struct bs_field *fields, size_t n,
    int ttl_s, bs_done_cb *cb, void *arg);

/* One fetched PR: found = 0 when no hash exists (never stored or
 * expired); fields point into the reply. */
struct bs_pr_record {
	int64_t id;
	int found;
	const struct bs_field *fields;
	size_t n_fields;
};

/* recs[i] is ids[i]; valid only during the callback. On error: recs NULL,
 * n 0, err set. */
typedef void bs_prs_fetch_cb(const struct bs_pr_record *recs, size_t n,
    const char *err, void *arg);

/* Reads PRs ids[0..n) of repo (1 <= n <= BS_PRS_MAX_FETCH) in one
 * script. A bad repo, id or n is an error (nothing sent). */
void bs_prs_fetch(struct bs_redis *r, const struct bs_keys *k,
    const char *repo, const int64_t *ids, size_t n, bs_prs_fetch_cb *cb,
    void *arg);

/* The field `name` of rec, or NULL. */
const struct bs_field *bs_pr_record_field(const struct bs_pr_record *rec,
    const char *name);

/* The keys of job found at BS_KEY_PR_TITLE/DESCRIPTION/BRANCH as
 * "<where>:<key>\n" lines, distinct (where, key), at most BS_PRS_MAX_KEYS,
 * keys longer than BS_PRS_MAX_KEY_LEN or holding a newline skipped.
 * malloc'd and NUL-terminated ("" when none); length in *len. */
char *bs_prs_keys_encode(const struct bs_issue_ref *keys, size_t n,
    size_t *len);

typedef void bs_prs_key_fn(enum bs_key_where where, const char *key,
    size_t keylen, void *arg);

/* Calls fn for each well-formed line of s[0..len) (a PR-side where name,
 * ':', a key of 1..BS_PRS_MAX_KEY_LEN bytes, '\n'; at most
 * BS_PRS_MAX_KEYS); malformed lines are skipped. Returns the number of
 * calls. */
size_t bs_prs_keys_decode(const char *s, size_t len, bs_prs_key_fn *fn,
    void *arg);

#endif
