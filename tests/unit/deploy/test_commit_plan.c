/* test_commit_plan: which commits a deploy carries (deploy/commit_plan.h),
 * over hand-built changes shaped like the real pushes of issue 12. */
#include "deploy/commit_plan.h"
#include "tests/unit/test.h"

#include <stdint.h>
#include <string.h>

#define H(c) c c c c c c c c c c   /* 40 hex from 4 */
#define OLD H("0000")
#define A H("aaaa")
#define B H("bbbb")
#define C H("cccc")
#define ROOT H("1111")

static char *pa[] = { (char *)OLD };
static char *pb[] = { (char *)A };
static char *pc[] = { (char *)B };
static char *pmerge[] = { (char *)OLD, (char *)A };

/* old <- A <- B <- C, listed newest first: exactly old..C. */
static struct bs_commit chain[3];

static struct bs_change
update(void)
{
	chain[0] = (struct bs_commit){ .hash = (char *)C, .parents = pc, .n_parents = 1 };
	chain[1] = (struct bs_commit){ .hash = (char *)B, .parents = pb, .n_parents = 1 };
	chain[2] = (struct bs_commit){ .hash = (char *)A, .parents = pa, .n_parents = 1 };
	return (struct bs_change){ .ref_type = BS_REF_BRANCH,
		.ref_name = (char *)"main", .old_hash = (char *)OLD,
		.new_hash = (char *)C, .new_commit = (char *)C, .commits = chain,
		.n_commits = 3 };
}

int
main(void)
{
	struct bs_commit_plan p;

	TEST("a fast-forward from the last registered sha uses the payload") {
		struct bs_change ch = update();
		bs_commit_plan(&ch, C, OLD, &p);
		CHECK_INT(p.source, BS_COMMITS_PAYLOAD);
	}

	TEST("the payload is not used when anything is unproven") {
		struct bs_change ch = update();
		ch.truncated = true;                  /* more than 5 */
		bs_commit_plan(&ch, C, OLD, &p);
		CHECK_INT(p.source, BS_COMMITS_FETCH);
		CHECK_STR(p.exclude, OLD);
		CHECK_STR(p.include, C);

		ch = update();
		ch.forced = true;                     /* lists ancestors */
		bs_commit_plan(&ch, C, OLD, &p);
		CHECK_INT(p.source, BS_COMMITS_FETCH);

		ch = update();                        /* old is not the last deployed */
		bs_commit_plan(&ch, C, B, &p);
		CHECK_INT(p.source, BS_COMMITS_FETCH);
		CHECK_STR(p.exclude, B);

		ch = update();                        /* a gap: A missing */
		ch.n_commits = 2;
		bs_commit_plan(&ch, C, OLD, &p);
		CHECK_INT(p.source, BS_COMMITS_FETCH);

		ch = update();                        /* down to a root commit */
		chain[2].n_parents = 0;
		bs_commit_plan(&ch, C, OLD, &p);
		CHECK_INT(p.source, BS_COMMITS_FETCH);

		ch = update();                        /* head not first */
		bs_commit_plan(&ch, B, OLD, &p);
		CHECK_INT(p.source, BS_COMMITS_FETCH);
	}

	TEST("a merge commit whose parents are old and a listed commit is exact") {
		struct bs_change ch = update();
		chain[0].parents = pmerge;             /* C merges old and A */
		chain[0].n_parents = 2;
		ch.n_commits = 3;                      /* B is listed but unreachable: still closed */
		bs_commit_plan(&ch, C, OLD, &p);
		CHECK_INT(p.source, BS_COMMITS_PAYLOAD);
	}

	TEST("no last sha: the push's commits, a new branch's off main, else omit") {
		struct bs_change ch = update();
		bs_commit_plan(&ch, C, NULL, &p);
		CHECK_INT(p.source, BS_COMMITS_FETCH);
		CHECK_STR(p.exclude, OLD);
		CHECK(!p.exclude_main);

		ch = update();
		ch.created = true;
		ch.old_hash = NULL;
		bs_commit_plan(&ch, C, "", &p);
		CHECK_INT(p.source, BS_COMMITS_FETCH);
		CHECK(p.exclude == NULL);
		CHECK(p.exclude_main);

		ch = update();
		ch.ref_type = BS_REF_TAG;
		ch.old_hash = NULL;
		ch.created = true;
		bs_commit_plan(&ch, C, NULL, &p);
		CHECK_INT(p.source, BS_COMMITS_OMIT);
		bs_commit_plan(NULL, C, NULL, &p);    /* a merge */
		CHECK_INT(p.source, BS_COMMITS_OMIT);
	}

	TEST("a tag or merge with a last sha is fetched from it") {
		struct bs_change ch = update();
		ch.ref_type = BS_REF_TAG;
		bs_commit_plan(&ch, C, A, &p);
		CHECK_INT(p.source, BS_COMMITS_FETCH);
		CHECK_STR(p.exclude, A);
		bs_commit_plan(NULL, C, A, &p);
		CHECK_INT(p.source, BS_COMMITS_FETCH);
	}

	TEST("the same commit again, also as a 12-character prefix, sends nothing") {
		struct bs_change ch = update();
		bs_commit_plan(&ch, C, C, &p);
		CHECK_INT(p.source, BS_COMMITS_SAME);
		bs_commit_plan(NULL, "cccccccccccc", C, &p);
		CHECK_INT(p.source, BS_COMMITS_SAME);
		CHECK(bs_same_commit("CCCCCCCCCCCC", C));
		CHECK(!bs_same_commit("cccccc", C));  /* too short to trust */
		CHECK(!bs_same_commit("cccccccccccd", C));
		CHECK(!bs_same_commit(NULL, C));
		CHECK(!bs_same_commit("", ""));
	}
	return TEST_REPORT();
}
