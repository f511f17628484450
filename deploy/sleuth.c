/* sleuth: the register_deploy URL and JSON body, and answer classification.
 *
 * The body follows sleuth-api.md 1.3 with a fixed key order (sha,
 * environment, branch, date, email, ignore_if_duplicate, commits, links,
 * tags) so that it can be compared byte for byte in golden tests. It is
 * written with yajl_gen (UTF-8 validated, not beautified); a string yajl
 * refuses as invalid UTF-8 is re-sent with each bad byte replaced by U+FFFD
 * instead of dropping the request.
 *
 * Issue keys: a push target uses the keys found in its own change (commit
 * messages, the ref name, and the keys of the PRs whose merge commits it
 * carries, added by the worker's pr_links with that change's index), so a
 * push of two branches does not mix their issues; a PR merge target uses
 * every key of the job (title, description, source branch, commits). At
 * most SLEUTH_MAX_KEYS distinct keys are sent.
 * Link URLs substitute the key percent-encoded (a "#45" key would otherwise
 * turn into a URL fragment). Tags are de-duplicated after sanitising. */
#include "deploy/sleuth.h"
#include "deploy/isotime.h"
#include "common/pct.h"
#include "common/utf8_seq.h"
#include "common/xalloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yajl/yajl_gen.h>

#define SLEUTH_DEFAULT_MAX_COMMITS 250
#define SLEUTH_MAX_PARENTS 200     /* per commit, as Sleuth's own client */
#define SLEUTH_MAX_KEYS BS_SLEUTH_MAX_KEYS
#define SLEUTH_MAX_TAGS 200        /* static tags + key tags */

/* === small growable string === */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->cap - b->len <= n) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap - b->len <= n)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_adds(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* RFC 3986 percent-encoding (common/pct.h). */
static void
sb_add_pct(struct sbuf *b, const char *s)
{
	char *e = xmalloc(3 * strlen(s) + 1);
	size_t n = bs_pct_encode(e, s);
	sb_add(b, e, n);
	free(e);
}

char *
bs_sleuth_url(const char *base_url, const struct bs_deployment *dep)
{
	struct sbuf b = { 0 };
	size_t n = base_url ? strlen(base_url) : 0;
	while (n > 0 && base_url[n - 1] == '/')
		n--;
	sb_add(&b, base_url ? base_url : "", n);
	sb_adds(&b, "/api/1/deployments/");
	sb_add_pct(&b, dep->org ? dep->org : "");
	sb_adds(&b, "/");
	sb_add_pct(&b, dep->deployment ? dep->deployment : "");
	sb_adds(&b, "/register_deploy");
	return b.p;
}

/* === JSON helpers === */

static void
put_strn(yajl_gen g, const char *s, size_t n)
{
	if (yajl_gen_string(g, (const unsigned char *)s, n) !=
	    yajl_gen_invalid_string)
		return;
	struct sbuf b = { 0 };
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t l = u[i] < 0x80 ? 1 : bs_utf8_seq(u + i, n - i, NULL);
		if (l == 0) {
			sb_add(&b, "\xEF\xBF\xBD", 3);
			i++;
		} else {
			sb_add(&b, s + i, l);
			i += l;
		}
	}
	yajl_gen_string(g, (const unsigned char *)(b.p ? b.p : ""), b.len);
	free(b.p);
}

static void
put_str(yajl_gen g, const char *s)
{
	put_strn(g, s ? s : "", s ? strlen(s) : 0);
}

static void
put_kv(yajl_gen g, const char *k, const char *v)
{
	put_str(g, k);
	put_str(g, v);
}

static bool
known(const char *s)
{
	return s && s[0];
}

/* === issue keys and tags === */

static size_t
add_distinct(const char **out, size_t n, const char *key)
{
	for (size_t j = 0; j < n; j++)
		if (strcmp(out[j], key) == 0)
			return n;
	out[n] = key;
	return n + 1;
}

/* Distinct keys relevant to t, in first-seen order, at most max. With
 * given commits (GIVEN), their keys replace those of the payload's. */
static size_t
target_keys(const struct bs_job *job, const struct bs_target *t,
    const struct bs_sleuth_opts *opt, const char **out, size_t max)
{
	size_t n = 0;
	bool given = opt && opt->commits_from == BS_BODY_GIVEN;
	for (size_t i = 0; i < job->n_keys && n < max; i++) {
		const struct bs_issue_ref *r = &job->keys[i];
		if (!known(r->key) || (given && r->where == BS_KEY_COMMIT))
			continue;
		if (t->change != SIZE_MAX &&
		    (!(r->where == BS_KEY_COMMIT || r->where == BS_KEY_BRANCH ||
		    r->where == BS_KEY_PR_TITLE ||
		    r->where == BS_KEY_PR_DESCRIPTION ||
		    r->where == BS_KEY_PR_BRANCH) || r->change != t->change))
			continue;
		n = add_distinct(out, n, r->key);
	}
	for (size_t i = 0; given && i < opt->n_commit_keys && n < max; i++)
		if (known(opt->commit_keys[i]))
			n = add_distinct(out, n, opt->commit_keys[i]);
	return n;
}

/* "#" + key lowercased, keeping [a-z0-9_-]; NULL when nothing is left. */
static char *
key_tag(const char *key)
{
	size_t n = strlen(key);
	char *tag = xmalloc(n + 2), *w = tag;
	*w++ = '#';
	for (const char *p = key; *p; p++) {
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_')
			*w++ = c;
	}
	*w = '\0';
	if (w == tag + 1) {
		free(tag);
		return NULL;
	}
	return tag;
}

/* Replaces every "{key}" of tmpl with key, percent-encoded; malloc'd. */
static char *
issue_link(const char *tmpl, const char *key)
{
	struct sbuf b = { 0 };
	const char *p = tmpl, *hit;
	while ((hit = strstr(p, "{key}")) != NULL) {
		sb_add(&b, p, (size_t)(hit - p));
		sb_add_pct(&b, key);
		p = hit + 5;
	}
	sb_adds(&b, p);
	return b.p;
}

/* === body === */

static void
put_commit(yajl_gen g, const struct bs_commit *c)
{
	yajl_gen_map_open(g);
	put_kv(g, "revision", c->hash);
	put_kv(g, "message", c->message ? c->message : "");
	put_str(g, "author");
	yajl_gen_map_open(g);
	if (c->author.name)
		put_kv(g, "name", c->author.name);
	if (known(c->author.email))
		put_kv(g, "email", c->author.email);
	if (known(c->author.username))
		put_kv(g, "username", c->author.username);
	else if (known(c->author.email))
		put_kv(g, "username", c->author.email);
	yajl_gen_map_close(g);
	if (known(c->date))
		put_kv(g, "date", c->date);
	if (known(c->url))
		put_kv(g, "url", c->url);
	put_str(g, "parents");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < c->n_parents && i < SLEUTH_MAX_PARENTS; i++)
		if (c->parents[i])
			put_str(g, c->parents[i]);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
}

/* Whether s is a UTC date-time as the parsers normalise them:
 * "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static bool
is_utc_date(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	if (!s || strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	}
	return true;
}

/* The Bitbucket link of a Data Center push: the commit page of what was
 * pushed, "<repo>/commits/<sha>" from the repository's browse URL
 * (links.self[0], "https://host/projects/P/repos/r/browse"); NULL when
 * that URL does not end in "/browse" or the change has no new commit (a
 * delete). malloc'd.
 * It is built here rather than by parsers/dc.c into change->link so that
 * the event keeps only what Bitbucket sent (the parser's 83 golden dumps
 * and the job format stay as they are) and a job queued before this
 * existed gets the link too. */
static char *
dc_commit_link(const char *repo_url, const char *commit)
{
	static const char browse[] = "/browse";
	size_t n = repo_url ? strlen(repo_url) : 0, b = sizeof(browse) - 1;
	if (!known(commit) || n <= b || strcmp(repo_url + n - b, browse) != 0)
		return NULL;
	struct sbuf sb = { 0 };
	sb_add(&sb, repo_url, n - b);
	sb_adds(&sb, "/commits/");
	sb_add_pct(&sb, commit);
	return sb.p;
}

char *
bs_sleuth_body(const struct bs_job *job, const struct bs_target *t,
    const struct bs_sleuth_opts *opt, size_t *len)
{
	const struct bs_event *ev = &job->ev;
	const struct bs_deployment *dep = t->dep;
	const struct bs_change *ch = NULL;
	const struct bs_pr *pr = NULL;
	size_t max_commits = opt && opt->max_commits ? opt->max_commits :
	    SLEUTH_DEFAULT_MAX_COMMITS;
	const char *issue_url = opt && known(opt->issue_url) ? opt->issue_url :
	    NULL;

	if (t->change != SIZE_MAX && t->change < ev->n_changes)
		ch = &ev->changes[t->change];
	else if (t->change == SIZE_MAX)
		pr = ev->pr;

	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		abort();  /* only on out-of-memory */
	yajl_gen_config(g, yajl_gen_beautify, 0);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);

	yajl_gen_map_open(g);
	put_kv(g, "sha", t->sha);
	if (known(dep->environment))
		put_kv(g, "environment", dep->environment);
	if (t->send_branch && t->branch)
		put_kv(g, "branch", t->branch);

	/* The push time: Data Center says when the event happened (parsed to
	 * UTC "YYYY-MM-DDTHH:MM:SS.mmmZ"); Cloud does not, so the time the
	 * delivery was received stands in (seconds after the push), written
	 * in the same shape, milliseconds included (bs_isotime_utc). Replays
	 * keep it: `dlq replay` queues the job as it was, `replay --delivery`
	 * rebuilds it with the kept delivery's received_ms, and `replay
	 * --event` with the payload's own date, else --date, else now (which
	 * it tells the operator); see cmd/cmd_replay.c. */
	char date[BS_ISOTIME_LEN];
	const char *sent_date = NULL;
	if (is_utc_date(ev->date))
		put_kv(g, "date", sent_date = ev->date);
	else if (job->received_ms > 0 &&
	    bs_isotime_utc(job->received_ms, date, sizeof(date)) == 0)
		put_kv(g, "date", sent_date = date);

	/* The author of the deployed commit when the payload lists it (the
	 * newest commit is first, but a change may list older ones only), else
	 * when the deployed commit is the ref's new head, that head's author as
	 * the payload names it (a Cloud tag push lists no commits, its
	 * new.target does), else the newest commit's, else the pusher's. */
	const char *email = NULL;
	bool given = opt && opt->commits_from == BS_BODY_GIVEN;
	for (size_t i = 0; ch && i < ch->n_commits && !email; i++)
		if (known(ch->commits[i].hash) && strcmp(ch->commits[i].hash,
		    t->sha) == 0 && known(ch->commits[i].author.email))
			email = ch->commits[i].author.email;
	for (size_t i = 0; given && i < opt->n_commits && !email; i++)
		if (known(opt->commits[i].hash) && strcmp(opt->commits[i].hash,
		    t->sha) == 0 && known(opt->commits[i].author.email))
			email = opt->commits[i].author.email;
	if (!email && opt && known(opt->email))
		email = opt->email;
	if (!email && ch && known(ch->new_commit) && t->sha &&
	    strcmp(ch->new_commit, t->sha) == 0 &&
	    known(ch->head_author.email))
		email = ch->head_author.email;
	if (!email && ch && ch->n_commits > 0 &&
	    known(ch->commits[0].author.email))
		email = ch->commits[0].author.email;
	if (!email && known(ev->actor.email))
		email = ev->actor.email;
	if (email)
		put_kv(g, "email", email);

	put_kv(g, "ignore_if_duplicate", "true");

	/* The deploy's commits: the payload's (unless Bitbucket cut the list),
	 * the ones given, or none (see enum bs_body_commits). */
	const struct bs_commit *list = NULL;
	size_t n_list = 0;
	if (given) {
		list = opt->commits;
		n_list = opt->n_commits;
	} else if (ch && !ch->truncated &&
	    !(opt && opt->commits_from == BS_BODY_NONE)) {
		list = ch->commits;
		n_list = ch->n_commits;
	}
	size_t with_hash = 0;
	long long n_sent = -1;
	for (size_t i = 0; i < n_list; i++)
		if (known(list[i].hash))
			with_hash++;
	if (with_hash > 0) {
		put_str(g, "commits");
		yajl_gen_array_open(g);
		size_t sent = 0;
		for (size_t i = 0; i < n_list && sent < max_commits; i++) {
			if (!known(list[i].hash))
				continue;
			put_commit(g, &list[i]);
			sent++;
		}
		yajl_gen_array_close(g);
		n_sent = (long long)sent;
	}

	const char *keys[SLEUTH_MAX_KEYS];
	size_t n_keys = target_keys(job, t, opt, keys, SLEUTH_MAX_KEYS);
	if (opt && opt->sent) {
		struct bs_sleuth_sent *out = opt->sent;
		snprintf(out->date, sizeof(out->date), "%s", sent_date ? sent_date : "");
		out->commits = n_sent;
		out->n_keys = n_keys;
		memcpy(out->keys, keys, n_keys * sizeof(keys[0]));
	}
	const char *bb_link = ch ? ch->link : pr ? pr->url : NULL;
	char *dc_link = NULL;   /* DC changes carry no link: see dc_commit_link */
	if (ch && !known(bb_link) && ev->product == BS_PRODUCT_DC)
		bb_link = dc_link = dc_commit_link(ev->repository_url,
		    ch->new_commit);
	if ((issue_url && n_keys > 0) || known(bb_link)) {
		put_str(g, "links");
		yajl_gen_map_open(g);
		for (size_t i = 0; issue_url && i < n_keys; i++) {
			char *u = issue_link(issue_url, keys[i]);
			put_kv(g, keys[i], u);
			free(u);
		}
		if (known(bb_link))
			put_kv(g, "Bitbucket", bb_link);
		yajl_gen_map_close(g);
	}
	free(dc_link);

	char *tags[SLEUTH_MAX_TAGS];
	size_t n_tags = 0;
	for (size_t i = 0; i < dep->n_tags + (dep->issue_tags ? n_keys : 0) &&
	    n_tags < SLEUTH_MAX_TAGS; i++) {
		char *tag;
		if (i < dep->n_tags) {
			if (!known(dep->tags[i]))
				continue;
			tag = xstrdup(dep->tags[i]);
		} else if (!(tag = key_tag(keys[i - dep->n_tags]))) {
			continue;
		}
		size_t j;
		for (j = 0; j < n_tags; j++)
			if (strcmp(tags[j], tag) == 0)
				break;
		if (j < n_tags)
			free(tag);
		else
			tags[n_tags++] = tag;
	}
	if (n_tags > 0) {
		put_str(g, "tags");
		yajl_gen_array_open(g);
		for (size_t i = 0; i < n_tags; i++) {
			put_str(g, tags[i]);
			free(tags[i]);
		}
		yajl_gen_array_close(g);
	}
	yajl_gen_map_close(g);

	const unsigned char *buf;
	size_t blen;
	yajl_gen_get_buf(g, &buf, &blen);
	char *out = xmalloc(blen + 1);
	memcpy(out, buf, blen);
	out[blen] = '\0';
	yajl_gen_free(g);
	if (len)
		*len = blen;
	return out;
}

/* === answers === */

/* Case-insensitive search for needle in hay[0..n). */
static bool
contains_ci(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	if (!hay || m > n)
		return false;
	for (size_t i = 0; i + m <= n; i++)
		if (strncasecmp(hay + i, needle, m) == 0)
			return true;
	return false;
}

static bool
is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* Case-insensitive search for needle as a whole word in hay[0..n): "sha"
 * in "the sha exists" or "SHA abc123", not in "shared" or "marshal". */
static bool
contains_word_ci(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; hay && i + m <= n; i++)
		if (strncasecmp(hay + i, needle, m) == 0 &&
		    (i == 0 || !is_alnum((unsigned char)hay[i - 1])) &&
		    (i + m == n || !is_alnum((unsigned char)hay[i + m])))
			return true;
	return false;
}

/* A 400 saying Sleuth cannot see the sha (yet): its repository sync may
 * lag behind Bitbucket, so this is worth a slow retry. Sleuth's documented
 * wording is "unable to validate if the sha exists in the remote system"
 * (older docs: "SHA doesn't exist"); the word "sha" (or "commit") must be
 * there as a word, so that e.g. "Environment 'shared' does not exist"
 * stays a dead letter at once. */
static bool
sha_not_found(const char *body, size_t n)
{
	static const char *const phrases[] = {
		"not found", "unable to validate", "doesn't exist",
		"does not exist", "doesn\xE2\x80\x99t exist", "not validated",
	};
	if (!contains_word_ci(body, n, "sha") &&
	    !contains_word_ci(body, n, "commit"))
		return false;
	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (contains_ci(body, n, phrases[i]))
			return true;
	return false;
}

enum bs_outcome
bs_sleuth_classify(long status, const char *body, size_t body_len)
{
	if (status >= 200 && status <= 299)
		return BS_OUTCOME_OK;
	if (status == 0 || status == 408 || status == 425 || status == 429 ||
	    (status >= 500 && status <= 599))
		return BS_OUTCOME_RETRY;
	if (status == 400 && body && sha_not_found(body, body_len))
		return BS_OUTCOME_RETRY_SLOW;
	return BS_OUTCOME_DEAD;
}

const char *
bs_outcome_name(enum bs_outcome o)
{
	switch (o) {
	case BS_OUTCOME_OK: return "ok";
	case BS_OUTCOME_RETRY: return "retry";
	case BS_OUTCOME_RETRY_SLOW: return "retry_slow";
	case BS_OUTCOME_DEAD: return "dead";
	}
	return "unknown";
}
