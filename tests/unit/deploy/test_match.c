/* test_match: bs_glob_match and bs_match_job over hand-built jobs. */
#include "deploy/match.h"
#include "tests/unit/test.h"

#include <time.h>

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_C "cccccccccccccccccccccccccccccccccccccccc"
#define SHA_D "dddddddddddddddddddddddddddddddddddddddd"

static struct bs_change *
add_change(struct bs_job *job, enum bs_ref_type type, const char *name,
    const char *new_hash)
{
	struct bs_event *ev = &job->ev;
	size_t cap = ev->n_changes;  /* exact-size growth, fine for tests */
	struct bs_change *c = bs_arena_push(&ev->arena, (void **)&ev->changes,
	    &ev->n_changes, &cap, sizeof(*c));
	c->ref_type = type;
	c->ref_name = bs_arena_strdup(&ev->arena, name);
	c->new_hash = bs_arena_strdup(&ev->arena, new_hash);
	c->new_commit = bs_arena_strdup(&ev->arena, new_hash);
	return c;
}

static void
push_job(struct bs_job *job, const char *repo)
{
	bs_job_init(job);
	job->ev.type = BS_EVENT_PUSH;
	job->ev.product = BS_PRODUCT_CLOUD;
	job->ev.repository = bs_arena_strdup(&job->ev.arena, repo);
}

static struct bs_deployment
dep(const char *repo, enum bs_track track, char **branches, size_t n)
{
	struct bs_deployment d = { 0 };
	d.org = (char *)"acme";
	d.deployment = (char *)"shop-web";
	d.environment = (char *)"production";
	d.repository = (char *)repo;
	d.track = track;
	d.branches = branches;
	d.n_branches = n;
	return d;
}

int
main(void)
{
	TEST("glob basics") {
		CHECK(bs_glob_match("main", "main"));
		CHECK(!bs_glob_match("main", "mai"));
		CHECK(!bs_glob_match("main", "mainx"));
		CHECK(bs_glob_match("*", ""));
		CHECK(bs_glob_match("*", "anything/at/all"));
		CHECK(bs_glob_match("release/*", "release/1.2"));
		CHECK(bs_glob_match("release/*", "release/a/b"));  /* '*' crosses '/' */
		CHECK(!bs_glob_match("release/*", "releases/1.2"));
		CHECK(bs_glob_match("release/*", "release/"));
		CHECK(bs_glob_match("*-hotfix", "v1-hotfix"));
		CHECK(!bs_glob_match("*-hotfix", "v1-hotfix2"));
		CHECK(bs_glob_match("a*b*c", "aXXbYYc"));
		CHECK(bs_glob_match("a*b*c", "abcbc"));
		CHECK(!bs_glob_match("a*b*c", "aXXbYY"));
		CHECK(bs_glob_match("v?.?", "v1.2"));
		CHECK(!bs_glob_match("v?.?", "v1.22"));
		CHECK(!bs_glob_match("?", ""));
		CHECK(!bs_glob_match("", "x"));
		CHECK(bs_glob_match("", ""));
		CHECK(!bs_glob_match(NULL, "x"));
		CHECK(!bs_glob_match("x", NULL));
	}

	TEST("glob classes and escapes") {
		CHECK(bs_glob_match("v[0-9].x", "v7.x"));
		CHECK(!bs_glob_match("v[0-9].x", "va.x"));
		CHECK(bs_glob_match("[a-c]z", "bz"));
		CHECK(!bs_glob_match("[a-c]z", "dz"));
		CHECK(bs_glob_match("[!x]y", "ay"));
		CHECK(!bs_glob_match("[!x]y", "xy"));
		CHECK(bs_glob_match("[^x]y", "ay"));
		CHECK(bs_glob_match("[]]", "]"));        /* ']' first is literal */
		CHECK(bs_glob_match("[!]]", "a"));
		CHECK(!bs_glob_match("[!]]", "]"));
		CHECK(bs_glob_match("[a-]", "-"));       /* trailing '-' is literal */
		CHECK(bs_glob_match("[abc", "[abc"));    /* unclosed: literal '[' */
		CHECK(!bs_glob_match("[abc", "a"));
		CHECK(bs_glob_match("\\*", "*"));
		CHECK(!bs_glob_match("\\*", "x"));
		CHECK(bs_glob_match("a\\?", "a?"));
		CHECK(!bs_glob_match("a\\?", "ab"));
		CHECK(bs_glob_match("x\\", "x\\"));      /* trailing backslash literal */
		CHECK(bs_glob_match("[\\]]", "]"));
		CHECK(bs_glob_match("feat/*[0-9]", "feat/abc-12"));
		CHECK(!bs_glob_match("feat/*[0-9]", "feat/abc-x"));
	}

	TEST("glob has no exponential backtracking") {
		char s[4097], p[64];
		memset(s, 'a', sizeof(s) - 1);
		s[sizeof(s) - 1] = '\0';
		snprintf(p, sizeof(p), "%s", "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
		clock_t t0 = clock();
		CHECK(!bs_glob_match(p, s));
		double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
		/* Exponential backtracking would not end in any reasonable time;
		 * linear matching takes microseconds. The bound only tells the
		 * two apart, it is not a speed test. */
		CHECK(secs < 30.0);
		s[sizeof(s) - 2] = 'b';
		CHECK(bs_glob_match(p, s));
	}

	TEST("push: exact branch, repository case-insensitive") {
		struct bs_job job;
		push_job(&job, "Acme/Shop");
		add_change(&job, BS_REF_BRANCH, "main", SHA_A);
		char *br[] = { (char *)"main" };
		struct bs_deployment d = dep("acme/shop", BS_TRACK_PUSH, br, 1);
		struct bs_target t[4];
		CHECK_INT(bs_match_job(&d, 1, &job, t, 4), 1);
		CHECK(t[0].dep == &d);
		CHECK_INT(t[0].dep_index, 0);
		CHECK_INT(t[0].change, 0);
		CHECK_STR(t[0].sha, SHA_A);
		CHECK_STR(t[0].branch, "main");
		CHECK(!t[0].send_branch);
		char name[128];
		bs_target_name(&t[0], name, sizeof(name));
		CHECK_STR(name, "acme/shop-web/production");
		/* another repository, or a branch only similar: nothing */
		struct bs_deployment other = dep("acme/shop2", BS_TRACK_PUSH, br, 1);
		CHECK_INT(bs_match_job(&other, 1, &job, t, 4), 0);
		char *br2[] = { (char *)"Main" };  /* branch names are exact */
		struct bs_deployment caps = dep("acme/shop", BS_TRACK_PUSH, br2, 1);
		CHECK_INT(bs_match_job(&caps, 1, &job, t, 4), 0);
		bs_job_release(&job);
	}

	TEST("push: glob branch sets send_branch, creation counts") {
		struct bs_job job;
		push_job(&job, "acme/shop");
		struct bs_change *c = add_change(&job, BS_REF_BRANCH, "release/2.0",
		    SHA_B);
		c->created = true;
		char *br[] = { (char *)"main", (char *)"release/*" };
		struct bs_deployment d = dep("acme/shop", BS_TRACK_PUSH, br, 2);
		struct bs_target t[4];
		CHECK_INT(bs_match_job(&d, 1, &job, t, 4), 1);
		CHECK_STR(t[0].sha, SHA_B);
		CHECK_STR(t[0].branch, "release/2.0");
		CHECK(t[0].send_branch);
		bs_job_release(&job);
	}

	TEST("push: deletion, unknown commit, tags and PR deployments skipped") {
		struct bs_job job;
		push_job(&job, "acme/shop");
		struct bs_change *del = add_change(&job, BS_REF_BRANCH, "main", NULL);
		del->closed = true;
		struct bs_change *c2 = add_change(&job, BS_REF_BRANCH, "main", SHA_A);
		c2->closed = true;   /* closed wins even with a hash */
		add_change(&job, BS_REF_BRANCH, "main", NULL);  /* no commit known */
		add_change(&job, BS_REF_OTHER, "main", SHA_C);  /* not a branch */
		char *br[] = { (char *)"main" };
		struct bs_deployment d[2] = {
			dep("acme/shop", BS_TRACK_PUSH, br, 1),
			dep("acme/shop", BS_TRACK_MERGE, br, 1),
		};
		struct bs_target t[4];
		CHECK_INT(bs_match_job(d, 2, &job, t, 4), 0);
		bs_job_release(&job);
	}

	TEST("push: new_hash fallback when new_commit is absent") {
		struct bs_job job;
		push_job(&job, "acme/shop");
		struct bs_change *c = add_change(&job, BS_REF_BRANCH, "main", SHA_D);
		c->new_commit = NULL;
		char *br[] = { (char *)"main" };
		struct bs_deployment d = dep("acme/shop", BS_TRACK_PUSH, br, 1);
		struct bs_target t[1];
		CHECK_INT(bs_match_job(&d, 1, &job, t, 1), 1);
		CHECK_STR(t[0].sha, SHA_D);
		bs_job_release(&job);
	}

	TEST("push: change order then deployment order; max respected") {
		struct bs_job job;
		push_job(&job, "acme/shop");
		add_change(&job, BS_REF_BRANCH, "release/1", SHA_A);
		add_change(&job, BS_REF_BRANCH, "main", SHA_B);
		char *br_main[] = { (char *)"main", (char *)"release/*" };
		char *br_rel[] = { (char *)"release/*" };
		struct bs_deployment d[3] = {
			dep("acme/shop", BS_TRACK_PUSH, br_main, 2),
			dep("acme/other", BS_TRACK_PUSH, br_main, 2),
			dep("ACME/SHOP", BS_TRACK_PUSH, br_rel, 1),
		};
		struct bs_target t[8];
		CHECK_INT(bs_match_job(d, 3, &job, t, 8), 3);
		CHECK_INT(t[0].change, 0);
		CHECK_INT(t[0].dep_index, 0);
		CHECK(t[0].send_branch);
		CHECK_INT(t[1].change, 0);
		CHECK_INT(t[1].dep_index, 2);
		CHECK_STR(t[1].sha, SHA_A);
		CHECK_INT(t[2].change, 1);
		CHECK_INT(t[2].dep_index, 0);
		CHECK_STR(t[2].sha, SHA_B);
		CHECK(!t[2].send_branch);
		/* only 2 slots: the count is still 3, the third slot untouched */
		struct bs_target small[3];
		memset(small, 0x5a, sizeof(small));
		CHECK_INT(bs_match_job(d, 3, &job, small, 2), 3);
		CHECK_INT(small[1].dep_index, 2);
		CHECK(small[2].dep_index == (size_t)0x5a5a5a5a5a5a5a5aULL);
		CHECK_INT(bs_match_job(d, 3, &job, NULL, 0), 3);
		bs_job_release(&job);
	}

	TEST("push: several orgs and environments, one target each") {
		struct bs_job job;
		push_job(&job, "acme/shop");
		add_change(&job, BS_REF_BRANCH, "release/2.1", SHA_A);
		char *br_list[] = { (char *)"main", (char *)"release/2.1" };
		char *br_glob[] = { (char *)"release/*" };
		char *br_q[] = { (char *)"release/2.?" };
		struct bs_deployment d[4] = {
			dep("acme/shop", BS_TRACK_PUSH, br_list, 2),
			dep("acme/shop", BS_TRACK_PUSH, br_glob, 1),
			dep("acme/shop", BS_TRACK_PUSH, br_q, 1),
			dep("acme/shop", BS_TRACK_MERGE, br_list, 2),   /* not a push deployment */
		};
		d[1].environment = (char *)"staging";
		d[2].org = (char *)"partner";
		d[2].deployment = (char *)"shop-api";
		d[2].token_env = (char *)"PARTNER_TOKEN";
		struct bs_target t[8];
		CHECK_INT(bs_match_job(d, 4, &job, t, 8), 3);
		char name[128];
		bs_target_name(&t[0], name, sizeof(name));
		CHECK_STR(name, "acme/shop-web/production");
		CHECK(!t[0].send_branch);                /* exact list entry */
		bs_target_name(&t[1], name, sizeof(name));
		CHECK_STR(name, "acme/shop-web/staging");
		CHECK(t[1].send_branch);
		CHECK_STR(t[1].branch, "release/2.1");   /* the full branch, not the pattern */
		bs_target_name(&t[2], name, sizeof(name));
		CHECK_STR(name, "partner/shop-api/production");
		CHECK(t[2].send_branch);
		CHECK_STR(t[2].dep->token_env, "PARTNER_TOKEN");
		for (size_t i = 0; i < 3; i++)
			CHECK_STR(t[i].sha, SHA_A);
		bs_job_release(&job);
	}

	TEST("tags: track tag with pattern; deleted tags skipped") {
		struct bs_job job;
		push_job(&job, "acme/shop");
		add_change(&job, BS_REF_TAG, "v1.2.0", SHA_A);
		add_change(&job, BS_REF_TAG, "nightly-5", SHA_B);
		struct bs_change *gone = add_change(&job, BS_REF_TAG, "v0.9", SHA_C);
		gone->closed = true;
		add_change(&job, BS_REF_BRANCH, "v9", SHA_D);  /* a branch, not a tag */
		struct bs_deployment d[3] = {
			dep("acme/shop", BS_TRACK_TAG, NULL, 0),
			dep("acme/shop", BS_TRACK_TAG, NULL, 0),
			dep("acme/shop", BS_TRACK_PUSH, NULL, 0),
		};
		d[0].tag_pattern = (char *)"v*";
		/* d[1]: NULL pattern = every tag */
		struct bs_target t[8];
		CHECK_INT(bs_match_job(d, 3, &job, t, 8), 3);
		CHECK_INT(t[0].change, 0);
		CHECK_INT(t[0].dep_index, 0);
		CHECK_STR(t[0].sha, SHA_A);
		CHECK_STR(t[0].branch, "v1.2.0");
		CHECK(!t[0].send_branch);
		CHECK_INT(t[1].change, 0);
		CHECK_INT(t[1].dep_index, 1);
		CHECK_INT(t[2].change, 1);
		CHECK_INT(t[2].dep_index, 1);
		CHECK_STR(t[2].sha, SHA_B);
		bs_job_release(&job);
	}

	TEST("pr: merged into a matching branch") {
		struct bs_job job;
		bs_job_init(&job);
		job.ev.type = BS_EVENT_PR;
		job.ev.repository = bs_arena_strdup(&job.ev.arena, "acme/shop");
		struct bs_pr *pr = bs_arena_alloc(&job.ev.arena, sizeof(*pr));
		job.ev.pr = pr;
		pr->action = BS_PR_MERGED;
		pr->merge_hash = (char *)"0123456789ab";
		pr->destination.branch = (char *)"main";
		pr->destination.repository = (char *)"acme/shop";
		char *br[] = { (char *)"main" };
		char *glob[] = { (char *)"ma*" };
		struct bs_deployment d[3] = {
			dep("acme/shop", BS_TRACK_PUSH, br, 1),   /* push: not for PRs */
			dep("acme/shop", BS_TRACK_MERGE, br, 1),
			dep("acme/shop", BS_TRACK_MERGE, glob, 1),
		};
		struct bs_target t[4];
		CHECK_INT(bs_match_job(d, 3, &job, t, 4), 2);
		CHECK_INT(t[0].dep_index, 1);
		CHECK(t[0].change == SIZE_MAX);
		CHECK_STR(t[0].sha, "0123456789ab");
		CHECK_STR(t[0].branch, "main");
		CHECK(!t[0].send_branch);
		CHECK_INT(t[1].dep_index, 2);
		CHECK(t[1].send_branch);
		/* not merged, no merge hash, other destination, other repo */
		pr->action = BS_PR_OPENED;
		CHECK_INT(bs_match_job(d, 3, &job, t, 4), 0);
		pr->action = BS_PR_DECLINED;
		CHECK_INT(bs_match_job(d, 3, &job, t, 4), 0);
		pr->action = BS_PR_MERGED;
		pr->merge_hash = NULL;
		CHECK_INT(bs_match_job(d, 3, &job, t, 4), 0);
		pr->merge_hash = (char *)"0123456789ab";
		pr->destination.branch = (char *)"develop";
		CHECK_INT(bs_match_job(d, 3, &job, t, 4), 0);
		pr->destination.branch = (char *)"main";
		pr->destination.repository = (char *)"fork/shop";
		CHECK_INT(bs_match_job(d, 3, &job, t, 4), 0);
		pr->destination.repository = NULL;  /* falls back to ev.repository */
		CHECK_INT(bs_match_job(d, 3, &job, t, 4), 2);
		bs_job_release(&job);
	}

	TEST("other events: nothing") {
		struct bs_job job;
		push_job(&job, "acme/shop");
		add_change(&job, BS_REF_BRANCH, "main", SHA_A);
		char *br[] = { (char *)"main" };
		struct bs_deployment d = dep("acme/shop", BS_TRACK_PUSH, br, 1);
		struct bs_target t[2];
		job.ev.type = BS_EVENT_PING;
		CHECK_INT(bs_match_job(&d, 1, &job, t, 2), 0);
		job.ev.type = BS_EVENT_OTHER;
		CHECK_INT(bs_match_job(&d, 1, &job, t, 2), 0);
		job.ev.type = BS_EVENT_PR;  /* PR type without a pr struct */
		CHECK_INT(bs_match_job(&d, 1, &job, t, 2), 0);
		bs_job_release(&job);
	}

	return TEST_REPORT();
}
