/* test_sleuth_body: register_deploy URL, body (against hand-written golden
 * JSON in tests/golden/sleuth/), answer classification and ISO time. */
#include "deploy/isotime.h"
#include "deploy/sleuth.h"
#include "tests/unit/test.h"

#define SHA_HEAD "4f2a9c1e0b7d3a5f6e8c9b1a2d3f4e5a6b7c8d9e"
#define SHA_PREV "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
#define SHA_1 "1111111111111111111111111111111111111111"
#define SHA_2 "2222222222222222222222222222222222222222"
#define SHA_3 "3333333333333333333333333333333333333333"
#define SHA_5 "5555555555555555555555555555555555555555"
#define T_2024 INT64_C(1732528800123)   /* 2024-11-25T10:00:00.123Z */

static char *
S(struct bs_job *job, const char *s)
{
	return bs_arena_strdup(&job->ev.arena, s);
}

static struct bs_change *
changes(struct bs_job *job, size_t n)
{
	job->ev.changes = bs_arena_alloc(&job->ev.arena,
	    n * sizeof(struct bs_change));
	job->ev.n_changes = n;
	return job->ev.changes;
}

static struct bs_commit *
commits(struct bs_job *job, struct bs_change *c, size_t n)
{
	c->commits = bs_arena_alloc(&job->ev.arena, n * sizeof(struct bs_commit));
	c->n_commits = n;
	return c->commits;
}

static void
parents(struct bs_job *job, struct bs_commit *c, const char *a,
    const char *b)
{
	c->parents = bs_arena_alloc(&job->ev.arena, 2 * sizeof(char *));
	c->parents[0] = S(job, a);
	c->n_parents = 1;
	if (b) {
		c->parents[1] = S(job, b);
		c->n_parents = 2;
	}
}

static void
key(struct bs_job *job, const char *k, enum bs_key_where w, uint32_t change,
    uint32_t commit)
{
	bs_job_add_key(job, k, strlen(k), w, change, commit);
}

/* A Cloud push of main (2 commits, the second a merge) and develop. */
static void
cloud_push(struct bs_job *job)
{
	bs_job_init(job);
	job->received_ms = T_2024;
	job->ev.product = BS_PRODUCT_CLOUD;
	job->ev.type = BS_EVENT_PUSH;
	job->ev.repository = S(job, "acme/shop");
	job->ev.actor.email = S(job, "actor@example.com");
	struct bs_change *ch = changes(job, 2);
	ch[0].ref_type = BS_REF_BRANCH;
	ch[0].ref_name = S(job, "main");
	ch[0].new_hash = ch[0].new_commit = S(job, SHA_HEAD);
	ch[0].old_hash = S(job, SHA_1);
	ch[0].link = S(job, "https://bitbucket.org/acme/shop/branches/compare/"
	    SHA_HEAD ".." SHA_1);
	struct bs_commit *c = commits(job, &ch[0], 2);
	c[0].hash = S(job, SHA_HEAD);
	c[0].message = S(job, "SHOP-12 fix checkout total\n");
	c[0].author.name = S(job, "Jane Doe");
	c[0].author.email = S(job, "jane@example.com");
	c[0].author.username = S(job, "jdoe");
	c[0].date = S(job, "2024-11-25T09:58:01+00:00");
	c[0].url = S(job, "https://bitbucket.org/acme/shop/commits/" SHA_HEAD);
	parents(job, &c[0], SHA_PREV, NULL);
	c[1].hash = S(job, SHA_PREV);
	c[1].message = S(job, "SHOP-7: add \"express\" shipping");
	c[1].author.name = S(job, "Bob");
	c[1].author.email = S(job, "bob@example.com");
	c[1].date = S(job, "2024-11-25T09:40:00+00:00");
	parents(job, &c[1], SHA_1, SHA_2);
	ch[1].ref_type = BS_REF_BRANCH;
	ch[1].ref_name = S(job, "develop");
	ch[1].new_hash = ch[1].new_commit = S(job, SHA_3);
	struct bs_commit *d = commits(job, &ch[1], 1);
	d[0].hash = S(job, SHA_3);
	d[0].message = S(job, "OPS-1 tweak");
	key(job, "SHOP-12", BS_KEY_COMMIT, 0, 0);
	key(job, "OPS-1", BS_KEY_COMMIT, 1, 0);      /* other change: not sent */
	key(job, "SHOP-7", BS_KEY_COMMIT, 0, 1);
	key(job, "SHOP-12", BS_KEY_BRANCH, 0, 0);    /* same key again */
}

/* A push of one branch, main, to SHA_HEAD, received at T_2024; the
 * caller adds commits and keys. */
static struct bs_change *
branch_push(struct bs_job *job)
{
	bs_job_init(job);
	job->received_ms = T_2024;
	job->ev.type = BS_EVENT_PUSH;
	job->ev.repository = S(job, "acme/shop");
	struct bs_change *ch = changes(job, 1);
	ch[0].ref_type = BS_REF_BRANCH;
	ch[0].ref_name = S(job, "main");
	ch[0].new_hash = ch[0].new_commit = S(job, SHA_HEAD);
	return ch;
}

static struct bs_deployment
dep(const char *env)
{
	static char *main_only[] = { (char *)"main" };
	struct bs_deployment d = { 0 };
	d.org = (char *)"acme";
	d.deployment = (char *)"shop-web";
	d.repository = (char *)"acme/shop";
	d.environment = (char *)env;
	d.branches = main_only;
	d.n_branches = 1;
	return d;
}

/* Compares the body to the golden file (its trailing newline ignored);
 * with report, a difference is printed. */
static int
golden_cmp(const char *name, const char *body, size_t len, int report)
{
	char path[1024];
	const char *src = getenv("BS_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/tests/golden/sleuth/%s",
	    src ? src : ".", name);
	size_t glen = 0;
	char *g = bs_test_read_file(path, &glen);
	if (!g) {
		fprintf(stderr, "cannot read golden file '%s'\n", path);
		return 0;
	}
	while (glen > 0 && (g[glen - 1] == '\n' || g[glen - 1] == '\r'))
		g[--glen] = '\0';
	int ok = glen == len && memcmp(g, body, len) == 0;
	if (!ok && report)
		fprintf(stderr, "golden %s differs:\n got: %.*s\nwant: %s\n", name,
		    (int)len, body, g);
	free(g);
	return ok;
}

static int
golden_eq(const char *name, const char *body, size_t len)
{
	return golden_cmp(name, body, len, 1);
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* The deploy's own email (commits carry their authors' too): it is the
 * field before ignore_if_duplicate. */
#define TOP_EMAIL(e) "\"email\":\"" e "\",\"ignore_if_duplicate\""

/* How often needle stands in the body built for (job, t) with default
 * options. */
static int
body_count(const struct bs_job *job, const struct bs_target *t,
    const char *needle)
{
	size_t len = 0;
	char *body = bs_sleuth_body(job, t, NULL, &len);
	int n = (int)count(body, needle);
	free(body);
	return n;
}

/* Whether tests/golden/<rel>.txt, the parser's expected dump of a real
 * fixture, holds the line `line`: the jobs below are written from those
 * dumps, and this keeps them tied to what the parser gives. */
static int
dump_has(const char *rel, const char *line)
{
	char path[1024];
	const char *src = getenv("BS_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/tests/golden/%s.txt", src ? src : ".",
	    rel);
	size_t n = 0;
	char *d = bs_test_read_file(path, &n);
	if (!d) {
		fprintf(stderr, "cannot read '%s'\n", path);
		return 0;
	}
	size_t l = strlen(line);
	int ok = 0;
	for (char *p = d; (p = strstr(p, line)) != NULL && !ok; p++)
		ok = (p == d || p[-1] == '\n') && p[l] == '\n';
	if (!ok)
		fprintf(stderr, "%s has no line '%s'\n", rel, line);
	free(d);
	return ok;
}

#define TAG_DUMP "drone-go-scm/cloud_repo-push_tag-created"
#define TAG_SHA "141977fedf5cf35aa290ac87d4b5177ac4cd9de1"

/* The Cloud tag push of TAG_DUMP (no commits list: only new.target names
 * the tagged commit's author), as the parser gives it. */
static void
cloud_tag_push(struct bs_job *job)
{
	static const char *const lines[] = {
		"product: cloud", "repository: \"brydzewski/foo\"",
		"repository_url: \"https://bitbucket.org/brydzewski/foo\"",
		"actor.name: \"Brad Rydzewski\"", "actor.email: null",
		"actor.username: \"brydzewski\"", "date: null", "changes: 1",
		"change[0].ref_type: tag", "change[0].ref_name: \"feature/x\"",
		"change[0].new_hash: \"" TAG_SHA "\"",
		"change[0].new_commit: \"" TAG_SHA "\"",
		"change[0].head_author.name: \"Brad Rydzewski\"",
		"change[0].head_author.email: \"brad.rydzewski@gmail.com\"",
		"change[0].head_author.username: \"brydzewski\"",
		"change[0].head_date: \"2018-07-02T20:26:56+00:00\"",
		"change[0].created: true", "change[0].link: null",
		"change[0].commits: 0",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		CHECK(dump_has(TAG_DUMP, lines[i]));
	bs_job_init(job);
	job->received_ms = T_2024;
	job->ev.product = BS_PRODUCT_CLOUD;
	job->ev.type = BS_EVENT_PUSH;
	job->ev.repository = S(job, "brydzewski/foo");
	job->ev.repository_url = S(job, "https://bitbucket.org/brydzewski/foo");
	job->ev.actor.name = S(job, "Brad Rydzewski");
	job->ev.actor.username = S(job, "brydzewski");
	struct bs_change *ch = changes(job, 1);
	ch[0].ref_type = BS_REF_TAG;
	ch[0].ref_name = S(job, "feature/x");
	ch[0].new_hash = ch[0].new_commit = S(job, TAG_SHA);
	ch[0].head_author.name = S(job, "Brad Rydzewski");
	ch[0].head_author.email = S(job, "brad.rydzewski@gmail.com");
	ch[0].head_author.username = S(job, "brydzewski");
	ch[0].head_date = S(job, "2018-07-02T20:26:56+00:00");
	ch[0].created = true;
}

#define DC_DUMP "drone-go-scm/dc10.3_repo-refs_changed_branch-add_realworld"
#define DC_SHA "b8ba6d6045f85379a2dc5b556d8a9ea23a69ac13"
#define DC_BROWSE "https://gts-it.fnb.co.za/stash/projects/TSG/repos/nova-ui"

/* The Data Center branch creation of DC_DUMP, as the parser gives it. */
static void
dc_branch_push(struct bs_job *job)
{
	static const char *const lines[] = {
		"product: dc", "repository: \"TSG/nova-ui\"",
		"repository_url: \"" DC_BROWSE "/browse\"",
		"actor.email: \"iroubaix@fnb.co.za\"",
		"date: \"2026-05-21T12:56:36.000Z\"", "changes: 1",
		"change[0].ref_type: branch", "change[0].ref_name: \"idpdocs\"",
		"change[0].new_commit: \"" DC_SHA "\"",
		"change[0].head_author.email: \"iroubaix@fnb.co.za\"",
		"change[0].created: true", "change[0].truncated: false",
		"change[0].link: null", "change[0].commits: 1",
		"change[0].commit[0].hash: \"" DC_SHA "\"",
		"change[0].commit[0].message: \"Add IDP docs scaffolding\"",
		"change[0].commit[0].author.name: \"cbp_sonarqube\"",
		"change[0].commit[0].author.email: \"iroubaix@fnb.co.za\"",
		"change[0].commit[0].author.username: \"cbp_sonarqube\"",
		"change[0].commit[0].date: \"2026-05-21T12:56:35.000Z\"",
		"change[0].commit[0].url: null", "change[0].commit[0].parents: 0",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		CHECK(dump_has(DC_DUMP, lines[i]));
	bs_job_init(job);
	job->received_ms = T_2024;
	job->ev.product = BS_PRODUCT_DC;
	job->ev.type = BS_EVENT_PUSH;
	job->ev.repository = S(job, "TSG/nova-ui");
	job->ev.repository_url = S(job, DC_BROWSE "/browse");
	job->ev.actor.name = S(job, "De Roubaix, Izak");
	job->ev.actor.email = S(job, "iroubaix@fnb.co.za");
	job->ev.actor.username = S(job, "F4651405");
	job->ev.date = S(job, "2026-05-21T12:56:36.000Z");
	struct bs_change *ch = changes(job, 1);
	ch[0].ref_type = BS_REF_BRANCH;
	ch[0].ref_name = S(job, "idpdocs");
	ch[0].new_hash = ch[0].new_commit = S(job, DC_SHA);
	ch[0].head_author.name = S(job, "cbp_sonarqube");
	ch[0].head_author.email = S(job, "iroubaix@fnb.co.za");
	ch[0].head_author.username = S(job, "cbp_sonarqube");
	ch[0].head_date = S(job, "2026-05-21T12:56:35.000Z");
	ch[0].created = true;
	struct bs_commit *c = commits(job, &ch[0], 1);
	c[0].hash = S(job, DC_SHA);
	c[0].message = S(job, "Add IDP docs scaffolding");
	c[0].author.name = S(job, "cbp_sonarqube");
	c[0].author.email = S(job, "iroubaix@fnb.co.za");
	c[0].author.username = S(job, "cbp_sonarqube");
	c[0].date = S(job, "2026-05-21T12:56:35.000Z");
}

int
main(void)
{
	TEST("url: slugs encoded, trailing slashes dropped") {
		struct bs_deployment d = dep("production");
		char *u = bs_sleuth_url("https://app.sleuth.io", &d);
		CHECK_STR(u, "https://app.sleuth.io/api/1/deployments/acme/shop-web/"
		    "register_deploy");
		free(u);
		d.org = (char *)"my_org.x~y";
		d.deployment = (char *)"a b/c?d#\xC3\xA9";
		u = bs_sleuth_url("http://127.0.0.1:9999//", &d);
		CHECK_STR(u, "http://127.0.0.1:9999/api/1/deployments/my_org.x~y/"
		    "a%20b%2Fc%3Fd%23%C3%A9/register_deploy");
		free(u);
	}

	TEST("body: cloud push, 2 commits, issue links and tags") {
		struct bs_job job;
		cloud_push(&job);
		struct bs_deployment d = dep("production");
		char *tags[] = { (char *)"#web", (char *)"#shop-7" };
		d.tags = tags;
		d.n_tags = 2;
		d.issue_tags = true;
		struct bs_target t;
		CHECK_INT(bs_match_job(&d, 1, &job, &t, 1), 1);
		struct bs_sleuth_opts o = {
			.issue_url = "https://acme.atlassian.net/browse/{key}?from={key}",
			.max_commits = 250 };
		size_t len = 0;
		char *body = bs_sleuth_body(&job, &t, &o, &len);
		CHECK(strlen(body) == len);
		CHECK(golden_eq("cloud_push.json", body, len));
		free(body);
		/* max_commits cuts the list (newest first) */
		o.max_commits = 1;
		body = bs_sleuth_body(&job, &t, &o, &len);
		CHECK_INT(count(body, "\"revision\""), 1);
		CHECK(strstr(body, "\"revision\":\"" SHA_HEAD "\"") != NULL);
		free(body);
		bs_job_release(&job);
	}

	TEST("body: truncated change sends no commits, link only") {
		struct bs_job job;
		cloud_push(&job);
		job.ev.changes[0].truncated = true;
		struct bs_deployment d = dep("production");
		struct bs_target t;
		CHECK_INT(bs_match_job(&d, 1, &job, &t, 1), 1);
		struct bs_sleuth_opts o = { .issue_url = NULL, .max_commits = 0 };
		size_t len = 0;
		char *body = bs_sleuth_body(&job, &t, &o, &len);
		CHECK(golden_eq("truncated.json", body, len));
		free(body);
		/* NULL opts behave like defaults */
		body = bs_sleuth_body(&job, &t, NULL, &len);
		CHECK(golden_eq("truncated.json", body, len));
		free(body);
		bs_job_release(&job);
	}

	TEST("body: date is Data Center's event time, else the time received") {
		struct bs_job job;
		cloud_push(&job);
		struct bs_deployment d = dep("production");
		struct bs_target t;
		CHECK_INT(bs_match_job(&d, 1, &job, &t, 1), 1);
		const char *received = "\"date\":\"2024-11-25T10:00:00.123Z\"";
		CHECK_INT(body_count(&job, &t, received), 1);
		job.ev.date = S(&job, "2024-11-25T08:58:01.250Z");
		CHECK_INT(body_count(&job, &t,
		    "\"date\":\"2024-11-25T08:58:01.250Z\""), 1);
		CHECK_INT(body_count(&job, &t, received), 0);
		/* a date the parser could not normalise is not sent as is */
		job.ev.date = S(&job, "2024-11-25 08:58");
		CHECK_INT(body_count(&job, &t, received), 1);
		bs_job_release(&job);
	}

	TEST("body: email is the deployed commit's author, else newest, else pusher") {
		struct bs_job job;
		cloud_push(&job);
		struct bs_deployment d = dep("production");
		struct bs_target t;
		CHECK_INT(bs_match_job(&d, 1, &job, &t, 1), 1);
		CHECK_INT(body_count(&job, &t, TOP_EMAIL("jane@example.com")), 1);
		/* the deployed sha is the older listed commit: its author */
		t.sha = SHA_PREV;
		CHECK_INT(body_count(&job, &t, TOP_EMAIL("bob@example.com")), 1);
		/* a sha the list does not hold: the newest commit's author */
		t.sha = SHA_2;
		CHECK_INT(body_count(&job, &t, TOP_EMAIL("jane@example.com")), 1);
		/* no commit emails: the pusher */
		job.ev.changes[0].commits[0].author.email = NULL;
		job.ev.changes[0].commits[1].author.email = NULL;
		CHECK_INT(body_count(&job, &t, TOP_EMAIL("actor@example.com")), 1);
		bs_job_release(&job);
	}

	TEST("body: push carries the keys of the PRs merged in its own change") {
		struct bs_job job;
		cloud_push(&job);
		/* as worker/pr_links adds them: where = PR side, change = the
		 * change whose commit named the PR */
		key(&job, "SHOP-77", BS_KEY_PR_TITLE, 0, 0);
		key(&job, "FEAT-9", BS_KEY_PR_BRANCH, 0, 0);
		key(&job, "DESC-5", BS_KEY_PR_DESCRIPTION, 1, 0);
		key(&job, "SHOP-12", BS_KEY_PR_DESCRIPTION, 0, 0); /* already sent */
		struct bs_deployment d[2] = { dep("production"), dep("dev") };
		static char *develop[] = { (char *)"develop" };
		d[1].branches = develop;
		d[1].issue_tags = true;
		d[0].issue_tags = true;
		struct bs_target t[2];
		CHECK_INT(bs_match_job(d, 2, &job, t, 2), 2);
		CHECK_INT(t[0].change, 0);
		CHECK_INT(t[1].change, 1);
		struct bs_sleuth_opts o = { .issue_url = "https://j/{key}" };
		size_t len = 0;
		char *body = bs_sleuth_body(&job, &t[0], &o, &len);
		CHECK(strstr(body, "\"links\":{\"SHOP-12\":\"https://j/SHOP-12\","
		    "\"SHOP-7\":\"https://j/SHOP-7\",\"SHOP-77\":\"https://j/SHOP-77\","
		    "\"FEAT-9\":\"https://j/FEAT-9\",\"Bitbucket\":") != NULL);
		CHECK(strstr(body, "\"tags\":[\"#shop-12\",\"#shop-7\",\"#shop-77\","
		    "\"#feat-9\"]") != NULL);
		CHECK(strstr(body, "DESC-5") == NULL);
		CHECK(strstr(body, "OPS-1") == NULL);
		free(body);
		body = bs_sleuth_body(&job, &t[1], &o, &len);
		CHECK(strstr(body, "\"links\":{\"OPS-1\":\"https://j/OPS-1\","
		    "\"DESC-5\":\"https://j/DESC-5\"}") != NULL);
		CHECK(strstr(body, "SHOP-77") == NULL);
		CHECK(strstr(body, "FEAT-9") == NULL);
		free(body);
		bs_job_release(&job);
	}

	TEST("body: email of a tag push is the tagged commit's author (real Cloud fixture)") {
		struct bs_job job;
		cloud_tag_push(&job);
		struct bs_deployment d = dep("production");
		d.repository = (char *)"brydzewski/foo";
		d.track = BS_TRACK_TAG;
		struct bs_target t;
		CHECK_INT(bs_match_job(&d, 1, &job, &t, 1), 1);
		CHECK_STR(t.sha, TAG_SHA);
		size_t len = 0;
		char *body = bs_sleuth_body(&job, &t, NULL, &len);
		CHECK(golden_eq("cloud_tag.json", body, len));
		free(body);
		/* before head_author the deploy went without an email (the actor
		 * has none on Cloud) */
		job.ev.changes[0].head_author.email = NULL;
		CHECK_INT(body_count(&job, &t, "\"email\""), 0);
		bs_job_release(&job);
	}

	TEST("body: email order: listed deployed commit, head author, newest, pusher") {
		struct bs_job job;
		cloud_push(&job);
		struct bs_deployment d = dep("production");
		struct bs_target t;
		CHECK_INT(bs_match_job(&d, 1, &job, &t, 1), 1);
		struct bs_change *ch = &job.ev.changes[0];
		ch->head_author.email = S(&job, "head@example.com");
		/* the deployed sha is listed: its commit's author */
		CHECK_INT(body_count(&job, &t, TOP_EMAIL("jane@example.com")), 1);
		/* listed, but without an email: the head's author */
		ch->commits[0].author.email = NULL;
		CHECK_INT(body_count(&job, &t, TOP_EMAIL("head@example.com")), 1);
		ch->commits[0].author.email = S(&job, "jane@example.com");
		/* not listed, and it is the head: the head's author beats the
		 * newest listed commit's */
		ch->commits[0].hash = S(&job, SHA_5);
		CHECK_INT(body_count(&job, &t, TOP_EMAIL("head@example.com")), 1);
		/* a sha that is not the head: head_author says nothing of it */
		t.sha = SHA_2;
		CHECK_INT(body_count(&job, &t, TOP_EMAIL("jane@example.com")), 1);
		t.sha = SHA_HEAD;
		ch->head_author.email = S(&job, "");   /* empty counts as absent */
		CHECK_INT(body_count(&job, &t, TOP_EMAIL("jane@example.com")), 1);
		ch->commits[0].author.email = NULL;
		ch->commits[1].author.email = NULL;
		CHECK_INT(body_count(&job, &t, TOP_EMAIL("actor@example.com")), 1);
		bs_job_release(&job);
	}

	TEST("body: Data Center push links the pushed commit (real DC fixture)") {
		struct bs_job job;
		dc_branch_push(&job);
		struct bs_deployment d = dep("production");
		static char *idp[] = { (char *)"idpdocs" };
		d.repository = (char *)"TSG/nova-ui";
		d.branches = idp;
		struct bs_target t;
		CHECK_INT(bs_match_job(&d, 1, &job, &t, 1), 1);
		size_t len = 0;
		char *body = bs_sleuth_body(&job, &t, NULL, &len);
		CHECK(golden_eq("dc_push_link.json", body, len));
		free(body);
		const char *link = "\"Bitbucket\":\"" DC_BROWSE "/commits/" DC_SHA "\"";
		CHECK_INT(body_count(&job, &t, link), 1);
		/* the link is of the commit deployed: toCommit for an annotated tag */
		struct bs_change *ch = &job.ev.changes[0];
		ch->new_commit = S(&job, SHA_5);
		CHECK_INT(body_count(&job, &t, "/commits/" SHA_5 "\""), 1);
		ch->new_commit = S(&job, DC_SHA);
		/* a link Bitbucket sent (none does on DC today) wins */
		ch->link = S(&job, "https://example.com/compare");
		CHECK_INT(body_count(&job, &t, "\"Bitbucket\":\"https://example.com/compare\""), 1);
		ch->link = NULL;
		/* only a browse URL is turned into a commit page */
		job.ev.repository_url = S(&job, DC_BROWSE);
		CHECK_INT(body_count(&job, &t, "\"links\""), 0);
		job.ev.repository_url = S(&job, DC_BROWSE "/browse/x");
		CHECK_INT(body_count(&job, &t, "\"links\""), 0);
		job.ev.repository_url = S(&job, "/browse");
		CHECK_INT(body_count(&job, &t, "\"links\""), 0);
		job.ev.repository_url = NULL;
		CHECK_INT(body_count(&job, &t, "\"links\""), 0);
		job.ev.repository_url = S(&job, DC_BROWSE "/browse");
		/* no new commit (as a delete has none): no link */
		ch->new_commit = NULL;
		CHECK_INT(body_count(&job, &t, "\"links\""), 0);
		ch->new_commit = S(&job, DC_SHA);
		/* Cloud gets its links from the payload only */
		job.ev.product = BS_PRODUCT_CLOUD;
		CHECK_INT(body_count(&job, &t, "\"links\""), 0);
		bs_job_release(&job);
	}

	TEST("body: glob-matched branch (DC), escapes, username falls back") {
		struct bs_job job;
		bs_job_init(&job);
		job.received_ms = INT64_C(1700000000999);
		job.ev.product = BS_PRODUCT_DC;
		job.ev.type = BS_EVENT_PUSH;
		job.ev.repository = S(&job, "ACME/shop");
		struct bs_change *ch = changes(&job, 1);
		ch[0].ref_type = BS_REF_BRANCH;
		ch[0].ref_name = S(&job, "release/2.0");
		ch[0].new_hash = ch[0].new_commit = S(&job, SHA_5);
		ch[0].created = true;
		struct bs_commit *c = commits(&job, &ch[0], 1);
		c[0].hash = S(&job, SHA_5);
		c[0].message = S(&job, "Release 2.0 \xE2\x80\x93 \xC3\xBCn\xC3\xAF"
		    "code \x01 tab\t");
		c[0].author.name = S(&job, "Zo\xC3\xAB");
		c[0].author.email = S(&job, "zoe@example.com");
		c[0].date = S(&job, "2024-11-25T09:00:00Z");
		key(&job, "REL-2", BS_KEY_BRANCH, 0, 0);
		struct bs_deployment d = dep("staging");
		char *br[] = { (char *)"hotfix", (char *)"release/*" };
		d.branches = br;
		d.n_branches = 2;
		d.issue_tags = true;
		struct bs_target t;
		CHECK_INT(bs_match_job(&d, 1, &job, &t, 1), 1);
		CHECK(t.send_branch);
		size_t len = 0;
		struct bs_sleuth_opts o = { 0 };
		char *body = bs_sleuth_body(&job, &t, &o, &len);
		CHECK(golden_eq("glob_branch.json", body, len));
		free(body);
		bs_job_release(&job);
	}

	TEST("body: PR merge uses PR url and all the job's keys") {
		struct bs_job job;
		bs_job_init(&job);
		job.received_ms = T_2024;
		job.ev.product = BS_PRODUCT_CLOUD;
		job.ev.type = BS_EVENT_PR;
		job.ev.repository = S(&job, "acme/shop");
		job.ev.actor.email = S(&job, "merger@example.com");
		struct bs_pr *pr = bs_arena_alloc(&job.ev.arena, sizeof(*pr));
		job.ev.pr = pr;
		pr->id = 42;
		pr->title = S(&job, "SHOP-12 checkout");
		pr->description = S(&job, "Also fixes SHOP-99");
		pr->action = BS_PR_MERGED;
		pr->merge_hash = S(&job, "0123456789ab");
		pr->source.branch = S(&job, "feature/FEAT-3");
		pr->destination.branch = S(&job, "main");
		pr->destination.repository = S(&job, "acme/shop");
		pr->url = S(&job, "https://bitbucket.org/acme/shop/pull-requests/42");
		pr->author.email = S(&job, "author@example.com");
		key(&job, "SHOP-12", BS_KEY_PR_TITLE, 0, 0);
		key(&job, "SHOP-99", BS_KEY_PR_DESCRIPTION, 0, 0);
		key(&job, "FEAT-3", BS_KEY_PR_BRANCH, 0, 0);
		struct bs_deployment d = dep("production");
		d.track = BS_TRACK_MERGE;
		char *tags[] = { (char *)"#merge" };
		d.tags = tags;
		d.n_tags = 1;
		d.issue_tags = true;
		struct bs_target t;
		CHECK_INT(bs_match_job(&d, 1, &job, &t, 1), 1);
		struct bs_sleuth_opts o = {
			.issue_url = "https://acme.atlassian.net/browse/{key}" };
		size_t len = 0;
		char *body = bs_sleuth_body(&job, &t, &o, &len);
		CHECK(golden_eq("pr_merge.json", body, len));
		free(body);
		bs_job_release(&job);
	}

	TEST("body: minimal (no commits, link, email or keys)") {
		struct bs_job job;
		bs_job_init(&job);
		job.received_ms = T_2024;
		job.ev.type = BS_EVENT_PUSH;
		job.ev.repository = S(&job, "acme/shop");
		struct bs_change *ch = changes(&job, 1);
		ch[0].ref_type = BS_REF_BRANCH;
		ch[0].ref_name = S(&job, "main");
		ch[0].new_commit = S(&job, SHA_HEAD);
		/* a commit without a hash is not sent: no empty "commits" */
		struct bs_commit *c = commits(&job, &ch[0], 1);
		c[0].message = S(&job, "no hash");
		struct bs_deployment d = dep("production");
		d.issue_tags = true;
		struct bs_target t;
		CHECK_INT(bs_match_job(&d, 1, &job, &t, 1), 1);
		struct bs_sleuth_opts o = { .issue_url = "https://x/{key}" };
		size_t len = 0;
		char *body = bs_sleuth_body(&job, &t, &o, &len);
		CHECK(golden_eq("minimal.json", body, len));
		/* and a wrong golden must not match */
		CHECK(!golden_cmp("truncated.json", body, len, 0));
		free(body);
		bs_job_release(&job);
	}

	TEST("body: '#45' key encoded in links, tag kept; bad UTF-8 replaced") {
		struct bs_job job;
		bs_job_init(&job);
		job.received_ms = T_2024;
		job.ev.type = BS_EVENT_PUSH;
		job.ev.repository = S(&job, "acme/shop");
		job.ev.actor.email = S(&job, "a@b.c");
		struct bs_change *ch = changes(&job, 1);
		ch[0].ref_type = BS_REF_BRANCH;
		ch[0].ref_name = S(&job, "main");
		ch[0].new_commit = S(&job, SHA_HEAD);
		struct bs_commit *c = commits(&job, &ch[0], 1);
		c[0].hash = S(&job, SHA_HEAD);
		c[0].message = S(&job, "bad \xFF\xC3 end #45");
		key(&job, "#45", BS_KEY_COMMIT, 0, 0);
		key(&job, "--", BS_KEY_COMMIT, 0, 0);  /* sanitises to "#--" */
		key(&job, "$$", BS_KEY_COMMIT, 0, 0);  /* sanitises to nothing */
		struct bs_deployment d = dep("production");
		d.issue_tags = true;
		struct bs_target t;
		CHECK_INT(bs_match_job(&d, 1, &job, &t, 1), 1);
		struct bs_sleuth_opts o = { .issue_url = "https://x/i/{key}" };
		size_t len = 0;
		char *body = bs_sleuth_body(&job, &t, &o, &len);
		CHECK(strstr(body, "\"#45\":\"https://x/i/%2345\"") != NULL);
		CHECK(strstr(body, "\"tags\":[\"#45\",\"#--\"]}") != NULL);
		CHECK(strstr(body, "\"message\":\"bad \xEF\xBF\xBD\xEF\xBF\xBD end "
		    "#45\"") != NULL);
		CHECK(strstr(body, "\"email\":\"a@b.c\"") != NULL);
		free(body);
		bs_job_release(&job);
	}

	TEST("body: commits capped at max_commits, parents at 200") {
		struct bs_job job;
		struct bs_change *ch = branch_push(&job);
		struct bs_commit *c = commits(&job, &ch[0], 300);
		for (size_t i = 0; i < 300; i++) {
			char h[41];
			snprintf(h, sizeof(h), "%040zu", i);
			c[i].hash = S(&job, h);
			c[i].message = S(&job, "m");
		}
		c[0].parents = bs_arena_alloc(&job.ev.arena, 250 * sizeof(char *));
		for (size_t i = 0; i < 250; i++)
			c[0].parents[i] = S(&job, SHA_1);
		c[0].n_parents = 250;
		struct bs_deployment d = dep("production");
		struct bs_target t;
		CHECK_INT(bs_match_job(&d, 1, &job, &t, 1), 1);
		size_t len = 0;
		struct bs_sleuth_opts o = { 0 };    /* default: 250, as Sleuth's client */
		char *body = bs_sleuth_body(&job, &t, &o, &len);
		CHECK_INT(count(body, "\"revision\":"), 250);
		CHECK_INT(count(body, "\"" SHA_1 "\""), 200);
		CHECK(strstr(body, "\"revision\":\"" "0000000000000000000000000000000000000249\"") != NULL);
		CHECK(strstr(body, "0000000000000000000000000000000000000250") == NULL);
		free(body);
		o.max_commits = 3;
		body = bs_sleuth_body(&job, &t, &o, &len);
		CHECK_INT(count(body, "\"revision\":"), 3);
		free(body);
		bs_job_release(&job);
	}

	TEST("body: JSON escaping of quotes, backslashes, controls, U+2028") {
		struct bs_job job;
		struct bs_change *ch = branch_push(&job);
		struct bs_commit *c = commits(&job, &ch[0], 1);
		c[0].hash = S(&job, SHA_HEAD);
		c[0].message = S(&job, "q\" b\\ nl\n cr\r nul-less \x1f del\x7f "
		    "ls\xE2\x80\xA8 ps\xE2\x80\xA9 </script> a/b");
		c[0].author.name = S(&job, "\"Bobby\" \\Tables");
		c[0].author.email = S(&job, "b@example.com");
		struct bs_deployment d = dep("production");
		struct bs_target t;
		CHECK_INT(bs_match_job(&d, 1, &job, &t, 1), 1);
		size_t len = 0;
		struct bs_sleuth_opts o = { 0 };
		char *body = bs_sleuth_body(&job, &t, &o, &len);
		CHECK(strstr(body, "\"message\":\"q\\\" b\\\\ nl\\n cr\\r nul-less "
		    "\\u001F del\x7f ls\xE2\x80\xA8 ps\xE2\x80\xA9 </script> a/b\"") != NULL);
		CHECK(strstr(body, "\"name\":\"\\\"Bobby\\\" \\\\Tables\"") != NULL);
		/* No raw control byte (below 0x20) anywhere in the document. */
		int raw_ctl = 0;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)body[i] < 0x20)
				raw_ctl = 1;
		CHECK(!raw_ctl);
		free(body);
		bs_job_release(&job);
	}

	TEST("body: key tags lowercased, only [a-z0-9_-] kept, deduplicated") {
		struct bs_job job;
		branch_push(&job);
		/* Keys a custom pattern may produce. */
		key(&job, "SHOP-12", BS_KEY_COMMIT, 0, 0);
		key(&job, "Data_Eng-7", BS_KEY_COMMIT, 0, 0);
		key(&job, "v1.2+build", BS_KEY_COMMIT, 0, 0);
		key(&job, "shop-12", BS_KEY_COMMIT, 0, 0);     /* same tag as SHOP-12 */
		key(&job, "\xC3\x9C-1", BS_KEY_COMMIT, 0, 0);  /* non-ASCII dropped */
		key(&job, "...", BS_KEY_COMMIT, 0, 0);          /* nothing left: no tag */
		struct bs_deployment d = dep("production");
		char *tags[] = { (char *)"#web", (char *)"#shop-12" };
		d.tags = tags;
		d.n_tags = 2;
		d.issue_tags = true;
		struct bs_target t;
		CHECK_INT(bs_match_job(&d, 1, &job, &t, 1), 1);
		size_t len = 0;
		struct bs_sleuth_opts o = { 0 };
		char *body = bs_sleuth_body(&job, &t, &o, &len);
		CHECK(strstr(body, "\"tags\":[\"#web\",\"#shop-12\",\"#data_eng-7\","
		    "\"#v12build\",\"#-1\"]}") != NULL);
		if (!strstr(body, "\"tags\":[\"#web\""))
			fprintf(stderr, "body: %s\n", body);
		free(body);
		bs_job_release(&job);
	}

	TEST("classify") {
		CHECK_INT(bs_sleuth_classify(200, "Success", 7), BS_OUTCOME_OK);
		CHECK_INT(bs_sleuth_classify(204, NULL, 0), BS_OUTCOME_OK);
		CHECK_INT(bs_sleuth_classify(299, NULL, 0), BS_OUTCOME_OK);
		CHECK_INT(bs_sleuth_classify(0, NULL, 0), BS_OUTCOME_RETRY);
		CHECK_INT(bs_sleuth_classify(408, NULL, 0), BS_OUTCOME_RETRY);
		CHECK_INT(bs_sleuth_classify(425, NULL, 0), BS_OUTCOME_RETRY);
		CHECK_INT(bs_sleuth_classify(429, NULL, 0), BS_OUTCOME_RETRY);
		CHECK_INT(bs_sleuth_classify(500, NULL, 0), BS_OUTCOME_RETRY);
		CHECK_INT(bs_sleuth_classify(503, "x", 1), BS_OUTCOME_RETRY);
		CHECK_INT(bs_sleuth_classify(599, NULL, 0), BS_OUTCOME_RETRY);
		const char *nf = "Unable to validate if the SHA exists";
		CHECK_INT(bs_sleuth_classify(400, nf, strlen(nf)),
		    BS_OUTCOME_RETRY_SLOW);
		const char *nf2 = "sha abc Not Found in repository";
		CHECK_INT(bs_sleuth_classify(400, nf2, strlen(nf2)),
		    BS_OUTCOME_RETRY_SLOW);
		const char *nf3 = "The SHA doesn't exist";
		CHECK_INT(bs_sleuth_classify(400, nf3, strlen(nf3)),
		    BS_OUTCOME_RETRY_SLOW);
		const char *nf4 = "commit sha does not exist";
		CHECK_INT(bs_sleuth_classify(400, nf4, strlen(nf4)),
		    BS_OUTCOME_RETRY_SLOW);
		/* the phrase past body_len does not count */
		CHECK_INT(bs_sleuth_classify(400, nf4, 10), BS_OUTCOME_DEAD);
		const char *other = "date format isn't valid";
		CHECK_INT(bs_sleuth_classify(400, other, strlen(other)),
		    BS_OUTCOME_DEAD);
		/* "sha" must be a word: an environment called "shared" is not a
		 * missing commit */
		const char *shared = "Environment 'shared' does not exist";
		CHECK_INT(bs_sleuth_classify(400, shared, strlen(shared)),
		    BS_OUTCOME_DEAD);
		const char *cnf = "Commit not found";
		CHECK_INT(bs_sleuth_classify(400, cnf, strlen(cnf)),
		    BS_OUTCOME_RETRY_SLOW);
		const char *nosha = "branch not found";
		CHECK_INT(bs_sleuth_classify(400, nosha, strlen(nosha)),
		    BS_OUTCOME_DEAD);
		/* the sha phrase on another 4xx is still dead */
		CHECK_INT(bs_sleuth_classify(404, nf, strlen(nf)), BS_OUTCOME_DEAD);
		CHECK_INT(bs_sleuth_classify(400, NULL, 0), BS_OUTCOME_DEAD);
		CHECK_INT(bs_sleuth_classify(401, NULL, 0), BS_OUTCOME_DEAD);
		CHECK_INT(bs_sleuth_classify(403, NULL, 0), BS_OUTCOME_DEAD);
		CHECK_INT(bs_sleuth_classify(100, NULL, 0), BS_OUTCOME_DEAD);
		CHECK_INT(bs_sleuth_classify(302, NULL, 0), BS_OUTCOME_DEAD);
		CHECK_INT(bs_sleuth_classify(600, NULL, 0), BS_OUTCOME_DEAD);
		CHECK_STR(bs_outcome_name(BS_OUTCOME_OK), "ok");
		CHECK_STR(bs_outcome_name(BS_OUTCOME_RETRY), "retry");
		CHECK_STR(bs_outcome_name(BS_OUTCOME_RETRY_SLOW), "retry_slow");
		CHECK_STR(bs_outcome_name(BS_OUTCOME_DEAD), "dead");
	}

	TEST("isotime: milliseconds kept, floored towards the past") {
		char b[BS_ISOTIME_LEN];
		CHECK_INT(BS_ISOTIME_LEN, 25);
		CHECK_INT(bs_isotime_utc(0, b, sizeof(b)), 0);
		CHECK_STR(b, "1970-01-01T00:00:00.000Z");
		CHECK_INT(bs_isotime_utc(T_2024, b, sizeof(b)), 0);
		CHECK_STR(b, "2024-11-25T10:00:00.123Z");
		CHECK_INT(bs_isotime_utc(999, b, sizeof(b)), 0);
		CHECK_STR(b, "1970-01-01T00:00:00.999Z");
		CHECK_INT(bs_isotime_utc(1000, b, sizeof(b)), 0);
		CHECK_STR(b, "1970-01-01T00:00:01.000Z");
		CHECK_INT(bs_isotime_utc(INT64_C(1700000000007), b, sizeof(b)), 0);
		CHECK_STR(b, "2023-11-14T22:13:20.007Z");
		/* negative: the millisecond part counts up from the second before */
		CHECK_INT(bs_isotime_utc(-1, b, sizeof(b)), 0);
		CHECK_STR(b, "1969-12-31T23:59:59.999Z");
		CHECK_INT(bs_isotime_utc(-999, b, sizeof(b)), 0);
		CHECK_STR(b, "1969-12-31T23:59:59.001Z");
		CHECK_INT(bs_isotime_utc(-1000, b, sizeof(b)), 0);
		CHECK_STR(b, "1969-12-31T23:59:59.000Z");
		CHECK_INT(bs_isotime_utc(-1001, b, sizeof(b)), 0);
		CHECK_STR(b, "1969-12-31T23:59:58.999Z");
		CHECK_INT(bs_isotime_utc(-INT64_C(86400000), b, sizeof(b)), 0);
		CHECK_STR(b, "1969-12-31T00:00:00.000Z");
		CHECK_INT(bs_isotime_utc(INT64_C(951782400000), b, sizeof(b)), 0);
		CHECK_STR(b, "2000-02-29T00:00:00.000Z");
		/* year bounds: 0000-01-01 .. 9999-12-31, both inclusive */
		CHECK_INT(bs_isotime_utc(INT64_C(253402300799999), b, sizeof(b)), 0);
		CHECK_STR(b, "9999-12-31T23:59:59.999Z");
		CHECK_INT(bs_isotime_utc(INT64_C(253402300800000), b, sizeof(b)), -1);
		CHECK_STR(b, "");
		CHECK_INT(bs_isotime_utc(-INT64_C(62167219200000), b, sizeof(b)), 0);
		CHECK_STR(b, "0000-01-01T00:00:00.000Z");
		CHECK_INT(bs_isotime_utc(-INT64_C(62167219200001), b, sizeof(b)), -1);
		CHECK_STR(b, "");
		CHECK_INT(bs_isotime_utc(INT64_MIN, b, sizeof(b)), -1);
		CHECK_INT(bs_isotime_utc(INT64_MAX, b, sizeof(b)), -1);
		/* the buffer must hold the milliseconds and the NUL */
		CHECK_INT(bs_isotime_utc(0, b, 24), -1);
		CHECK_STR(b, "");
		CHECK_INT(bs_isotime_utc(0, b, 21), -1);
		CHECK_INT(bs_isotime_utc(0, NULL, 25), -1);
	}

	return TEST_REPORT();
}
