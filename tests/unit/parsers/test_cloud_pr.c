/* test_cloud_pr: Bitbucket Cloud pullrequest:* events. Every Cloud PR
 * fixture of index.tsv is checked against expected values written into the
 * table below (taken straight from each payload's JSON), then the action of
 * every Cloud PR key, missing/mistyped pullrequest and id, short hashes,
 * forks, and that PR events never carry changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/bitbucket.h"
#include "tests/unit/test.h"

struct exp_pr {
	const char *file, *key;
	enum bs_pr_action action;
	const char *repository;
	int64_t id;
	const char *title, *state;
	const char *src_branch, *src_repo, *src_hash;
	const char *dst_branch, *dst_repo, *dst_hash;
	const char *merge_hash, *author_name, *author_username;
	const char *url, *created;
};

static const struct exp_pr prs[] = {
	{ "drone-go-scm/cloud_pullrequest-created.json", "pullrequest:created", BS_PR_OPENED,
	    "brydzewski/foo", 1, "Awesome new feature", "OPEN",
	    "develop", "brydzewski/foo", "507a576e59b3",
	    "master", "brydzewski/foo", "7d1a175411ef",
	    NULL, "Brad Rydzewski", "brydzewski",
	    "https://bitbucket.org/brydzewski/foo/pull-requests/1", "2018-07-02T21:51:39.492248+00:00" },
	{ "drone-go-scm/cloud_pullrequest-updated.json", "pullrequest:updated", BS_PR_UPDATED,
	    "brydzewski/foo", 1, "Awesome new feature", "OPEN",
	    "develop", "brydzewski/foo", "0704fc5beccc",
	    "master", "brydzewski/foo", "7d1a175411ef",
	    NULL, "Brad Rydzewski", "brydzewski",
	    "https://bitbucket.org/brydzewski/foo/pull-requests/1", "2018-07-02T21:51:39.492248+00:00" },
	{ "drone-go-scm/cloud_pullrequest-fulfilled.json", "pullrequest:fulfilled", BS_PR_MERGED,
	    "brydzewski/foo", 1, "Awesome new feature", "MERGED",
	    "develop", "brydzewski/foo", "0704fc5beccc",
	    "master", "brydzewski/foo", "7d1a175411ef",
	    "4f8f6de9d0ff", "Brad Rydzewski", "brydzewski",
	    "https://bitbucket.org/brydzewski/foo/pull-requests/1", "2018-07-02T21:51:39.492248+00:00" },
	{ "drone-go-scm/cloud_pullrequest-rejected.json", "pullrequest:rejected", BS_PR_DECLINED,
	    "brydzewski/foo", 2, "update README", "DECLINED",
	    "develop", "brydzewski/foo", "6ca9fe26898a",
	    "master", "brydzewski/foo", "4f8f6de9d0ff",
	    NULL, "Brad Rydzewski", "brydzewski",
	    "https://bitbucket.org/brydzewski/foo/pull-requests/2", "2018-07-03T01:39:22.782818+00:00" },
	{ "drone-go-scm/cloud_pullrequest-comment_created.json", "pullrequest:comment_created", BS_PR_COMMENT,
	    "rutvijmehta-harness/spring-cloud-alibaba", 1, "Update pom.xml", "OPEN",
	    "tiwhitepaper-rutvij", "rutvijmehta-harness/spring-cloud-alibaba", "b9437f32dddd",
	    "2021.x", "rutvijmehta-harness/spring-cloud-alibaba", "cfd2d864e389",
	    NULL, "Rutvij Mehta", "Rutvij Mehta",
	    "https://bitbucket.org/rutvijmehta-harness/spring-cloud-alibaba/pull-requests/1", "2022-06-23T19:27:25.443049+00:00" },
	{ "drone-go-scm/cloud_pullrequest-comment_deleted.json", "pullrequest:comment_deleted", BS_PR_COMMENT,
	    "rutvijmehta-harness/spring-cloud-alibaba", 1, "Update pom.xml", "OPEN",
	    "tiwhitepaper-rutvij", "rutvijmehta-harness/spring-cloud-alibaba", "b9437f32dddd",
	    "2021.x", "rutvijmehta-harness/spring-cloud-alibaba", "cfd2d864e389",
	    NULL, "Rutvij Mehta", "Rutvij Mehta",
	    "https://bitbucket.org/rutvijmehta-harness/spring-cloud-alibaba/pull-requests/1", "2022-06-23T19:27:25.443049+00:00" },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_pullrequest-created.json", "pullrequest:created", BS_PR_OPENED,
	    "amuniz/test-repos", 735, "BUILD test", "OPEN",
	    "feature/test", "amuniz/test-repos", "d31df3425c5b",
	    "master", "amuniz/test-repos", "320cc39764dc",
	    NULL, "Nikolas Falco", "Nikolas Falco",
	    "https://bitbucket.org/amuniz/test-repos/pull-requests/735", "2024-11-09T13:02:56.285477+00:00" },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_pullrequest-updated.json", "pullrequest:updated", BS_PR_UPDATED,
	    "nfalco79/test-repos", 1, "Release/release 1", "OPEN",
	    "release/release-1", "nfalco79/test-repos", "f945c96c71d0",
	    "master", "nfalco79/test-repos", "174561d625c9",
	    NULL, "Former user", "Former user",
	    "https://bitbucket.org/nfalco79/test-repos/pull-requests/1", "2018-09-21T14:57:59.455870+00:00" },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_pullrequest-rejected.json", "pullrequest:rejected", BS_PR_DECLINED,
	    "amuniz/test-repos", 735, "BUILD test", "DECLINED",
	    "feature/test", "amuniz/test-repos", "d31df3425c5b",
	    "master", "amuniz/test-repos", "320cc39764dc",
	    NULL, "Nikolas Falco", "Nikolas Falco",
	    "https://bitbucket.org/amuniz/test-repos/pull-requests/735", "2024-11-09T13:02:56.285477+00:00" },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_pullrequest-created_origin.json", "pullrequest:created", BS_PR_OPENED,
	    "cloudbeers/temp", 1, "README.md edited online with Bitbucket", "OPEN",
	    "foo", "cloudbeers/temp", "a72355f35fde",
	    "main", "cloudbeers/temp", "f612156eff2c",
	    NULL, "Stephen Q. Connolly", "Stephen Connolly",
	    "https://bitbucket.org/cloudbeers/temp/pull-requests/1", "2017-03-06T10:38:57.345797+00:00" },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_pullrequest-created_fork.json", "pullrequest:created", BS_PR_OPENED,
	    "cloudbeers/temp", 3, "Forking for PR", "OPEN",
	    "main", "stephenc/temp-fork", "1c48041a96db",
	    "main", "cloudbeers/temp", "1986c2284946",
	    NULL, "Stephen Q. Connolly", "Stephen Connolly",
	    "https://bitbucket.org/cloudbeers/temp/pull-requests/3", "2017-03-06T11:52:20.092358+00:00" },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_pullrequest-fulfilled.json", "pullrequest:fulfilled", BS_PR_MERGED,
	    "cloudbeers/temp", 2, "README.md edited online with Bitbucket", "MERGED",
	    "foo", "cloudbeers/temp", "a72355f35fde",
	    "main", "cloudbeers/temp", "f612156eff2c",
	    "1986c2284946", "Stephen Q. Connolly", "Stephen Connolly",
	    "https://bitbucket.org/cloudbeers/temp/pull-requests/2", "2017-03-06T10:41:26.966918+00:00" },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_pullrequest-rejected_2.json", "pullrequest:rejected", BS_PR_DECLINED,
	    "cloudbeers/temp", 3, "Forking for PR", "DECLINED",
	    "main", "stephenc/temp-fork", "63e3d18dca4c",
	    "main", "cloudbeers/temp", "5449b752db4f",
	    NULL, "Stephen Q. Connolly", "Stephen Connolly",
	    "https://bitbucket.org/cloudbeers/temp/pull-requests/3", "2017-03-06T11:52:20.092358+00:00" },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_pullrequest-updated_new-commit.json", "pullrequest:updated", BS_PR_UPDATED,
	    "cloudbeers/temp", 3, "Forking for PR", "OPEN",
	    "main", "stephenc/temp-fork", "63e3d18dca4c",
	    "main", "cloudbeers/temp", "1986c2284946",
	    NULL, "Stephen Q. Connolly", "Stephen Connolly",
	    "https://bitbucket.org/cloudbeers/temp/pull-requests/3", "2017-03-06T11:52:20.092358+00:00" },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_pullrequest-updated_new-destination.json", "pullrequest:updated", BS_PR_UPDATED,
	    "cloudbeers/temp", 3, "Forking for PR", "OPEN",
	    "main", "stephenc/temp-fork", "63e3d18dca4c",
	    "stable", "cloudbeers/temp", "1986c2284946",
	    NULL, "Stephen Q. Connolly", "Stephen Connolly",
	    "https://bitbucket.org/cloudbeers/temp/pull-requests/3", "2017-03-06T11:52:20.092358+00:00" },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_pullrequest-updated_new-destination-commit.json", "pullrequest:updated", BS_PR_UPDATED,
	    "cloudbeers/temp", 3, "Forking for PR", "OPEN",
	    "main", "stephenc/temp-fork", "63e3d18dca4c",
	    "main", "cloudbeers/temp", "5449b752db4f",
	    NULL, "Stephen Q. Connolly", "Stephen Connolly",
	    "https://bitbucket.org/cloudbeers/temp/pull-requests/3", "2017-03-06T11:52:20.092358+00:00" },
	{ "B-AROL-O-ble-testsuite/cloud_pullrequest-approved_2023-05-12-134542.json", "pullrequest:approved", BS_PR_APPROVED,
	    "arolgroup/j0664-ns2-firmware", 6, "[Feat] Integrate branch gmacario/dev03", "OPEN",
	    "gmacario/dev03", "arolgroup/j0664-ns2-firmware", "ed0e0bfd9a94",
	    "main", "arolgroup/j0664-ns2-firmware", "49cb0fd6590a",
	    NULL, "Gianpaolo Macario", "Gianpaolo Macario (AROL)",
	    "https://bitbucket.org/arolgroup/j0664-ns2-firmware/pull-requests/6", "2023-05-11T10:03:43.464028+00:00" },
	{ "B-AROL-O-ble-testsuite/cloud_pullrequest-approved_2023-05-16-123305.json", "pullrequest:approved", BS_PR_APPROVED,
	    "arolgroup/j0664-ns2-firmware", 7, "[Feat] Sync repo from Bitbucket Cloud", "OPEN",
	    "feat/sync-from-bitbucket", "arolgroup/j0664-ns2-firmware", "c50556ede84b",
	    "main", "arolgroup/j0664-ns2-firmware", "6ca069123978",
	    NULL, "Gianpaolo Macario", "Gianpaolo Macario (AROL)",
	    "https://bitbucket.org/arolgroup/j0664-ns2-firmware/pull-requests/7", "2023-05-16T10:24:10.476586+00:00" },
	{ "B-AROL-O-ble-testsuite/cloud_pullrequest-created_2023-05-11-165428.json", "pullrequest:created", BS_PR_OPENED,
	    "arolgroup/j0664-ns2-firmware", 6, "[Feat] Integrate branch gmacario/dev03", "OPEN",
	    "gmacario/dev03", "arolgroup/j0664-ns2-firmware", "ed0e0bfd9a94",
	    "main", "arolgroup/j0664-ns2-firmware", "49cb0fd6590a",
	    NULL, "Gianpaolo Macario", "Gianpaolo Macario (AROL)",
	    "https://bitbucket.org/arolgroup/j0664-ns2-firmware/pull-requests/6", "2023-05-11T10:03:43.464028+00:00" },
	{ "B-AROL-O-ble-testsuite/cloud_pullrequest-created_2023-05-16-123900.json", "pullrequest:created", BS_PR_OPENED,
	    "arolgroup/j0664-ns2-firmware", 8, "Main", "OPEN",
	    "main", "arolgroup/j0664-ns2-firmware", "148aa469ac34",
	    "gt/develop", "arolgroup/j0664-ns2-firmware", "deb5a3c03cd7",
	    NULL, "Gianluca Teti", "Gianluca Teti",
	    "https://bitbucket.org/arolgroup/j0664-ns2-firmware/pull-requests/8", "2023-05-16T10:38:58.849142+00:00" },
	{ "B-AROL-O-ble-testsuite/cloud_pullrequest-fulfilled_2023-05-12-134550.json", "pullrequest:fulfilled", BS_PR_MERGED,
	    "arolgroup/j0664-ns2-firmware", 6, "[Feat] Integrate branch gmacario/dev03", "MERGED",
	    "gmacario/dev03", "arolgroup/j0664-ns2-firmware", "ed0e0bfd9a94",
	    "main", "arolgroup/j0664-ns2-firmware", "49cb0fd6590a",
	    "6ca069123978", "Gianpaolo Macario", "Gianpaolo Macario (AROL)",
	    "https://bitbucket.org/arolgroup/j0664-ns2-firmware/pull-requests/6", "2023-05-11T10:03:43.464028+00:00" },
	{ "B-AROL-O-ble-testsuite/cloud_pullrequest-fulfilled_2023-05-16-123737.json", "pullrequest:fulfilled", BS_PR_MERGED,
	    "arolgroup/j0664-ns2-firmware", 7, "[Feat] Sync repo from Bitbucket Cloud", "MERGED",
	    "feat/sync-from-bitbucket", "arolgroup/j0664-ns2-firmware", "c50556ede84b",
	    "main", "arolgroup/j0664-ns2-firmware", "6ca069123978",
	    "148aa469ac34", "Gianpaolo Macario", "Gianpaolo Macario (AROL)",
	    "https://bitbucket.org/arolgroup/j0664-ns2-firmware/pull-requests/7", "2023-05-16T10:24:10.476586+00:00" },
	{ "B-AROL-O-ble-testsuite/cloud_pullrequest-fulfilled_2023-05-16-123922.json", "pullrequest:fulfilled", BS_PR_MERGED,
	    "arolgroup/j0664-ns2-firmware", 8, "Main", "MERGED",
	    "main", "arolgroup/j0664-ns2-firmware", "148aa469ac34",
	    "gt/develop", "arolgroup/j0664-ns2-firmware", "deb5a3c03cd7",
	    "1eca992a9523", "Gianluca Teti", "Gianluca Teti",
	    "https://bitbucket.org/arolgroup/j0664-ns2-firmware/pull-requests/8", "2023-05-16T10:38:58.849142+00:00" },
};

static struct bs_parse_limits lim;
static char err[256];

static enum bs_parse_status
parse(const char *key, const char *body, struct bs_event *ev)
{
	err[0] = '\0';
	return bs_parse_event(BS_PRODUCT_CLOUD, key, body, strlen(body), &lim,
	    ev, err, sizeof(err));
}

static void
check_pr(const struct exp_pr *x)
{
	char path[1024];
	size_t len = 0;
	char *body = bs_test_read_file(bs_test_fixture(path, sizeof(path),
	    x->file), &len);
	CHECK(body != NULL);
	if (!body)
		return;
	struct bs_event ev;
	bs_event_init(&ev);
	CHECK_INT(bs_parse_event(BS_PRODUCT_CLOUD, x->key, body, len, &lim,
	    &ev, err, sizeof(err)), BS_PARSE_OK);
	CHECK_INT(ev.type, BS_EVENT_PR);
	CHECK_STR(ev.repository, x->repository);
	CHECK(ev.repository_url != NULL);
	CHECK(ev.actor.name != NULL);
	CHECK_INT(ev.n_changes, 0);
	CHECK(ev.pr != NULL);
	if (ev.pr) {
		const struct bs_pr *p = ev.pr;
		CHECK_INT(p->action, x->action);
		CHECK_INT(p->id, x->id);
		CHECK_STR(p->title, x->title);
		CHECK_STR(p->state, x->state);
		CHECK_STR(p->source.branch, x->src_branch);
		CHECK_STR(p->source.repository, x->src_repo);
		CHECK_STR(p->source.hash, x->src_hash);
		CHECK_INT(strlen(p->source.hash), 12);
		CHECK_STR(p->destination.branch, x->dst_branch);
		CHECK_STR(p->destination.repository, x->dst_repo);
		CHECK_STR(p->destination.hash, x->dst_hash);
		CHECK_STR(p->merge_hash, x->merge_hash);
		CHECK_STR(p->author.name, x->author_name);
		CHECK(p->author.email == NULL);
		CHECK_STR(p->author.username, x->author_username);
		CHECK_STR(p->url, x->url);
		CHECK_STR(p->created, x->created);
		CHECK(p->updated != NULL);
		CHECK(p->description != NULL);
	}
	bs_event_release(&ev);
	free(body);
}

int
main(void)
{
	struct bs_event ev;
	bs_parse_limits_default(&lim);
	bs_event_init(&ev);

	for (size_t i = 0; i < sizeof(prs) / sizeof(prs[0]); i++)
		TEST(prs[i].file)
			check_pr(&prs[i]);
	TEST("every Cloud PR fixture is in the table") {
		CHECK_INT(sizeof(prs) / sizeof(prs[0]), 23);
	}

	TEST("fork: source and destination repositories differ") {
		char path[1024];
		size_t len = 0;
		char *b = bs_test_read_file(bs_test_fixture(path, sizeof(path),
		    "jenkinsci-bitbucket-branch-source-plugin/"
		    "cloud_pullrequest-created_fork.json"), &len);
		CHECK_INT(bs_parse_event(BS_PRODUCT_CLOUD, "pullrequest:created", b,
		    len, &lim, &ev, err, sizeof(err)), BS_PARSE_OK);
		CHECK_STR(ev.pr->source.repository, "stephenc/temp-fork");
		CHECK_STR(ev.pr->destination.repository, "cloudbeers/temp");
		free(b);
	}

	TEST("PR description keeps U+200C and newlines") {
		const char *b = "{\"pullrequest\":{\"id\":6,\"description\":"
		    "\"line1\\nline2\xe2\x80\x8c\",\"merge_commit\":null}}";
		CHECK_INT(parse("pullrequest:fulfilled", b, &ev), BS_PARSE_OK);
		CHECK_STR(ev.pr->description, "line1\nline2\xe2\x80\x8c");
		CHECK(ev.pr->merge_hash == NULL);
		CHECK(ev.repository == NULL);   /* optional for PR events */
	}

	TEST("actions of every Cloud PR key") {
		static const struct { const char *key; enum bs_pr_action a; } k[] = {
			{ "pullrequest:created", BS_PR_OPENED },
			{ "pullrequest:updated", BS_PR_UPDATED },
			{ "pullrequest:approved", BS_PR_APPROVED },
			{ "pullrequest:unapproved", BS_PR_UNAPPROVED },
			{ "pullrequest:changes_request_created",
			    BS_PR_CHANGES_REQUESTED },
			{ "pullrequest:changes_request_removed",
			    BS_PR_CHANGES_REQUEST_REMOVED },
			{ "pullrequest:fulfilled", BS_PR_MERGED },
			{ "pullrequest:rejected", BS_PR_DECLINED },
			{ "pullrequest:comment_created", BS_PR_COMMENT },
			{ "pullrequest:comment_updated", BS_PR_COMMENT },
			{ "pullrequest:comment_deleted", BS_PR_COMMENT },
			{ "pullrequest:comment_resolved", BS_PR_COMMENT },
			{ "pullrequest:comment_reopened", BS_PR_COMMENT },
		};
		for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
			CHECK_INT(parse(k[i].key, "{\"pullrequest\":{\"id\":-2}}",
			    &ev), BS_PARSE_OK);
			CHECK_INT(ev.type, BS_EVENT_PR);
			CHECK_INT(ev.pr->action, k[i].a);
			CHECK_INT(ev.pr->id, -2);
		}
		CHECK_INT(parse("pullrequest:push", "{\"pullrequest\":{}}", &ev),
		    BS_PARSE_OK);
		CHECK_INT(ev.type, BS_EVENT_OTHER);
		CHECK(ev.pr == NULL);
	}

	TEST("missing or mistyped pullrequest and id: SCHEMA") {
		CHECK_INT(parse("pullrequest:created", "{}", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "missing pullrequest object");
		CHECK_INT(parse("pullrequest:created", "{\"pullRequest\":{\"id\":1}}",
		    &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "missing pullrequest object");
		CHECK_INT(parse("pullrequest:created", "{\"pullrequest\":[]}", &ev),
		    BS_PARSE_SCHEMA);
		CHECK_STR(err, "pullrequest is not an object");
		CHECK_INT(parse("pullrequest:created", "{\"pullrequest\":{\"id\":1},"
		    "\"pullrequest\":null}", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "pullrequest is not an object");
		CHECK_INT(parse("pullrequest:created", "{\"pullrequest\":{}}", &ev),
		    BS_PARSE_SCHEMA);
		CHECK_STR(err, "missing pullrequest.id");
		CHECK_INT(parse("pullrequest:created", "{\"pullrequest\":{\"id\":"
		    "true}}", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "pullrequest.id is not an integer");
		CHECK_INT(parse("pullrequest:created", "{\"pullrequest\":{\"id\":"
		    "1e3}}", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "pullrequest.id is not an integer");
		CHECK_INT(parse("pullrequest:created", "{\"pullrequest\":{\"id\":"
		    "-9223372036854775809}}", &ev), BS_PARSE_SCHEMA);
		CHECK_INT(parse("pullrequest:created", "{\"pullrequest\":{\"id\":"
		    "-9223372036854775808}}", &ev), BS_PARSE_OK);
		CHECK_INT(ev.pr->id, INT64_MIN);
	}

	TEST("a push body under a PR key is a schema error, not a push") {
		const char *b = "{\"repository\":{\"full_name\":\"a/b\"},\"push\":"
		    "{\"changes\":[{}]}}";
		CHECK_INT(parse("pullrequest:updated", b, &ev), BS_PARSE_SCHEMA);
		CHECK_INT(ev.n_changes, 0);
	}

	bs_event_release(&ev);
	return TEST_REPORT();
}
