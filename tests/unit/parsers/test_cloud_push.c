/* test_cloud_push: Bitbucket Cloud repo:push. Part 1 checks every repo:push
 * fixture of index.tsv against expected values written into the table
 * below (taken by hand/script straight from each payload's JSON, not from
 * the parser). Part 2 feeds hostile and edge-case bodies: deep nesting,
 * trailing garbage, two values, truncation, empty body, wrong types,
 * limits, duplicate keys, escapes, odd author shapes, unknown enum values,
 * and checks status, reason text and that a failed parse leaves the event
 * reset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parsers/bitbucket.h"
#include "tests/unit/test.h"

struct exp_change {
	const char *ref_name;
	enum bs_ref_type ref_type;
	const char *old_hash, *new_hash;
	bool created, closed, forced, truncated;
	size_t n_commits;
	const char *c0_hash, *c0_name, *c0_email;
};

struct exp_push {
	const char *file;
	const char *repository, *actor_name;
	size_t n_changes;
	struct exp_change ch[3];
};

static const struct exp_push fixtures[] = {
	{ "drone-go-scm/cloud_repo-push_branch.json",
	    "brydzewski/foo", "Brad Rydzewski", 1, {
		{ "master", BS_REF_BRANCH,
		    "40e7580cf11311d84a6e5e97e2cbba6df1675750",
		    "141977fedf5cf35aa290ac87d4b5177ac4cd9de1",
		    false, false, false, false, 1,
		    "141977fedf5cf35aa290ac87d4b5177ac4cd9de1",
		    "Brad Rydzewski", "brad.rydzewski@gmail.com" },
	} },
	{ "drone-go-scm/cloud_repo-push_branch-created.json",
	    "brydzewski/foo", "Brad Rydzewski", 1, {
		{ "develop", BS_REF_BRANCH,
		    NULL,
		    "141977fedf5cf35aa290ac87d4b5177ac4cd9de1",
		    true, false, false, false, 2,
		    "141977fedf5cf35aa290ac87d4b5177ac4cd9de1",
		    "Brad Rydzewski", "brad.rydzewski@gmail.com" },
	} },
	{ "drone-go-scm/cloud_repo-push_branch-deleted.json",
	    "brydzewski/foo", "Brad Rydzewski", 1, {
		{ "develop", BS_REF_BRANCH,
		    "141977fedf5cf35aa290ac87d4b5177ac4cd9de1",
		    NULL,
		    false, true, false, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "drone-go-scm/cloud_repo-push_tag-created.json",
	    "brydzewski/foo", "Brad Rydzewski", 1, {
		{ "feature/x", BS_REF_TAG,
		    NULL,
		    "141977fedf5cf35aa290ac87d4b5177ac4cd9de1",
		    true, false, false, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "drone-go-scm/cloud_repo-push_tag-deleted.json",
	    "brydzewski/foo", "Brad Rydzewski", 1, {
		{ "feature/x", BS_REF_TAG,
		    "141977fedf5cf35aa290ac87d4b5177ac4cd9de1",
		    NULL,
		    false, true, false, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_forced_truncated.json",
	    "amuniz/test-repos", "Nikolas Falco", 1, {
		{ "feature/issue-819", BS_REF_BRANCH,
		    "a10199272451f4c7c5edced2d40b5d6f2f6f5fa3",
		    "5ecffa3874e96920f24a2b3c0d0038e47d5cd1a4",
		    false, false, true, true, 5,
		    "5ecffa3874e96920f24a2b3c0d0038e47d5cd1a4",
		    "Nikolas Falco", "email@domain.com" },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_branch-created_signed.json",
	    "nfalco79/test-repos", "Nikolas Falco", 1, {
		{ "feature/webhook", BS_REF_BRANCH,
		    NULL,
		    "d7f300a32270053bdfd97a6d64113f58202c33e7",
		    true, false, false, false, 5,
		    "d7f300a32270053bdfd97a6d64113f58202c33e7",
		    "Nikolas Falco", "nfalco79@hotmail.com" },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_branch-created.json",
	    "amuniz/test-repos", "Nikolas Falco", 1, {
		{ "feature/test", BS_REF_BRANCH,
		    NULL,
		    "174561d625c9623b60d8aba09b7f08ddc9df45cd",
		    true, false, false, false, 4,
		    "174561d625c9623b60d8aba09b7f08ddc9df45cd",
		    "Nikolas Falco", "email@domain.com" },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_branch-deleted.json",
	    "amuniz/test-repos", "Nikolas Falco", 1, {
		{ "feature/test", BS_REF_BRANCH,
		    "174561d625c9623b60d8aba09b7f08ddc9df45cd",
		    NULL,
		    false, true, false, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_tag-created.json",
	    "amuniz/test-repos", "Nikolas Falco", 1, {
		{ "simple-tag", BS_REF_TAG,
		    NULL,
		    "7ef5981d59145c3ed300b1ab77b93907d33abe59",
		    true, false, false, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_annotated-tag-created.json",
	    "amuniz/test-repos", "Nikolas Falco", 1, {
		{ "test-tag", BS_REF_TAG,
		    NULL,
		    "7ef5981d59145c3ed300b1ab77b93907d33abe59",
		    true, false, false, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_tag-deleted.json",
	    "amuniz/test-repos", "Nikolas Falco", 1, {
		{ "test", BS_REF_TAG,
		    "174561d625c9623b60d8aba09b7f08ddc9df45cd",
		    NULL,
		    false, true, false, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_multiple-changes_truncated.json",
	    "cloudbeers/temp", "Stephen Connolly", 3, {
		{ "main", BS_REF_BRANCH,
		    "fc4d1ce2853b6f1ac0d0dbad643d17ef4a6e0be7",
		    "325d37697849f4b1fe42cb19c20134af08e03a82",
		    false, false, false, false, 1,
		    "325d37697849f4b1fe42cb19c20134af08e03a82",
		    "Stephen Connolly", "stephen.alan.connolly@gmail.com" },
		{ "manchu", BS_REF_BRANCH,
		    NULL,
		    "e22fcb49645b4586a845938afac5eb3ac1950586",
		    true, false, false, true, 5,
		    "e22fcb49645b4586a845938afac5eb3ac1950586",
		    "Stephen Connolly", "stephen.alan.connolly@gmail.com" },
		{ "v0.1", BS_REF_TAG,
		    NULL,
		    "1986c228494671574242f99b62d1a00a4bfb69a5",
		    true, false, false, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_update.json",
	    "cloudbeers/temp", "Stephen Connolly", 1, {
		{ "main", BS_REF_BRANCH,
		    "501bf5b99365d1d870882254b9360c17172bda0e",
		    "e42fac24456e4a56f1b7f9358afc3070e3b7ddec",
		    false, false, false, false, 1,
		    "e42fac24456e4a56f1b7f9358afc3070e3b7ddec",
		    "Stephen Connolly", "stephen.alan.connolly@gmail.com" },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_branch-created_2.json",
	    "cloudbeers/temp", "Stephen Connolly", 1, {
		{ "main", BS_REF_BRANCH,
		    NULL,
		    "501bf5b99365d1d870882254b9360c17172bda0e",
		    true, false, false, false, 1,
		    "501bf5b99365d1d870882254b9360c17172bda0e",
		    "Stephen Connolly", "stephen.alan.connolly@gmail.com" },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_tag-created_2.json",
	    "acme/tds.cm.maven.plugins-java", "Nikolas Falco", 1, {
		{ "test", BS_REF_TAG,
		    NULL,
		    "fee1dcdb330d1318502f303ccd4792531c28dc8e",
		    true, false, false, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_empty-changes.json",
	    "cloudbeers/temp", "Stephen Connolly", 0, { { 0 } } },
	{ "B-AROL-O-ble-testsuite/cloud_repo-push_branch-created_truncated_2023-05-11-120942.json",
	    "arolgroup/j0664-ns2-firmware", "Gianpaolo Macario", 1, {
		{ "gmacario/test03", BS_REF_BRANCH,
		    NULL,
		    "49cb0fd6590af14dbfb717d0e801f325362af5d9",
		    true, false, false, true, 5,
		    "49cb0fd6590af14dbfb717d0e801f325362af5d9",
		    "Gianpaolo Macario", "gianpaolo.macario@arol.com" },
	} },
	{ "B-AROL-O-ble-testsuite/cloud_repo-push_branch-created_truncated_2023-05-15-150855.json",
	    "arolgroup/j0664-ns2-firmware", "Gianluca Teti", 1, {
		{ "gt/develop", BS_REF_BRANCH,
		    NULL,
		    "6ca0691239785a619fa1dce7bf1073f50499cd60",
		    true, false, false, true, 5,
		    "6ca0691239785a619fa1dce7bf1073f50499cd60",
		    "Gianpaolo Macario", "gianpaolo.macario@arol.com" },
	} },
	{ "B-AROL-O-ble-testsuite/cloud_repo-push_branch-created_truncated_2023-05-16-133752.json",
	    "arolgroup/j0664-ns2-firmware", "Gianpaolo Macario", 1, {
		{ "develop", BS_REF_BRANCH,
		    NULL,
		    "148aa469ac3461a836ff67f6a07b8d40240aca06",
		    true, false, false, true, 5,
		    "148aa469ac3461a836ff67f6a07b8d40240aca06",
		    "Gianpaolo Macario", "gianpaolo.macario@arol.com" },
	} },
	{ "B-AROL-O-ble-testsuite/cloud_repo-push_branch-deleted_2023-05-16-123736.json",
	    "arolgroup/j0664-ns2-firmware", "Gianpaolo Macario", 1, {
		{ "feat/sync-from-bitbucket", BS_REF_BRANCH,
		    "c50556ede84b0e49a3609a57c16f363266e2ee4c",
		    NULL,
		    false, true, false, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "B-AROL-O-ble-testsuite/cloud_repo-push_merge_truncated_2023-05-12-134549.json",
	    "arolgroup/j0664-ns2-firmware", "Gianpaolo Macario", 1, {
		{ "main", BS_REF_BRANCH,
		    "49cb0fd6590af14dbfb717d0e801f325362af5d9",
		    "6ca0691239785a619fa1dce7bf1073f50499cd60",
		    false, false, false, true, 5,
		    "6ca0691239785a619fa1dce7bf1073f50499cd60",
		    "Gianpaolo Macario", "gianpaolo.macario@arol.com" },
	} },
	{ "B-AROL-O-ble-testsuite/cloud_repo-push_merge_truncated_2023-05-16-123735.json",
	    "arolgroup/j0664-ns2-firmware", "Gianpaolo Macario", 1, {
		{ "main", BS_REF_BRANCH,
		    "6ca0691239785a619fa1dce7bf1073f50499cd60",
		    "148aa469ac3461a836ff67f6a07b8d40240aca06",
		    false, false, false, true, 5,
		    "148aa469ac3461a836ff67f6a07b8d40240aca06",
		    "Gianpaolo Macario", "gianpaolo.macario@arol.com" },
	} },
	{ "B-AROL-O-ble-testsuite/cloud_repo-push_merge_truncated_2023-05-16-123921.json",
	    "arolgroup/j0664-ns2-firmware", "Gianluca Teti", 1, {
		{ "gt/develop", BS_REF_BRANCH,
		    "deb5a3c03cd718680d5639bdceac9409f47f974c",
		    "1eca992a9523eddfc30aec826f020625cf319f2e",
		    false, false, false, true, 5,
		    "1eca992a9523eddfc30aec826f020625cf319f2e",
		    "Gianluca Teti", "gianluca.teti@arol.com" },
	} },
	{ "B-AROL-O-ble-testsuite/cloud_repo-push_update_2023-05-11-165427.json",
	    "arolgroup/j0664-ns2-firmware", "Gianpaolo Macario", 1, {
		{ "gmacario/dev03", BS_REF_BRANCH,
		    "a13a36d2655a635df8a672f61b07fc3f1df25730",
		    "ed0e0bfd9a94bcfab2b7bafb49a801be4eb9fbab",
		    false, false, false, false, 1,
		    "ed0e0bfd9a94bcfab2b7bafb49a801be4eb9fbab",
		    "Gianpaolo Macario", "gianpaolo.macario@arol.com" },
	} },
	{ "B-AROL-O-ble-testsuite/cloud_repo-push_update_2023-05-15-151531.json",
	    "arolgroup/j0664-ns2-firmware", "Gianluca Teti", 1, {
		{ "gt/develop", BS_REF_BRANCH,
		    "6ca0691239785a619fa1dce7bf1073f50499cd60",
		    "deb5a3c03cd718680d5639bdceac9409f47f974c",
		    false, false, false, false, 1,
		    "deb5a3c03cd718680d5639bdceac9409f47f974c",
		    "Gianluca Teti", "gianluca.teti@arol.com" },
	} },
};

static struct bs_parse_limits lim;
static char err[256];

static enum bs_parse_status
parse_len(const char *key, const char *body, size_t len, struct bs_event *ev)
{
	err[0] = '\0';
	return bs_parse_event(BS_PRODUCT_CLOUD, key, body, len, &lim, ev, err,
	    sizeof(err));
}

static enum bs_parse_status
parse(const char *key, const char *body, struct bs_event *ev)
{
	return parse_len(key, body, strlen(body), ev);
}

static bool
is_reset(const struct bs_event *ev)
{
	return ev->repository == NULL && ev->n_changes == 0 &&
	    ev->changes == NULL && ev->pr == NULL && ev->event_key == NULL &&
	    ev->arena.total == 0;
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
check_fixture(const struct exp_push *x)
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
	CHECK_INT(parse_len("repo:push", body, len, &ev), BS_PARSE_OK);
	CHECK_INT(ev.product, BS_PRODUCT_CLOUD);
	CHECK_INT(ev.type, BS_EVENT_PUSH);
	CHECK_STR(ev.event_key, "repo:push");
	CHECK_STR(ev.repository, x->repository);
	CHECK_STR(ev.actor.name, x->actor_name);
	CHECK(ev.date == NULL);
	CHECK(ev.pr == NULL);
	CHECK_INT(ev.n_changes, x->n_changes);
	for (size_t i = 0; i < x->n_changes && i < ev.n_changes; i++) {
		const struct exp_change *w = &x->ch[i];
		const struct bs_change *g = &ev.changes[i];
		CHECK_STR(g->ref_name, w->ref_name);
		CHECK_INT(g->ref_type, w->ref_type);
		CHECK(g->ref_type_raw == NULL);
		CHECK_STR(g->old_hash, w->old_hash);
		CHECK_STR(g->new_hash, w->new_hash);
		CHECK_STR(g->new_commit, w->new_hash);
		CHECK_INT(g->created, w->created);
		CHECK_INT(g->closed, w->closed);
		CHECK_INT(g->forced, w->forced);
		CHECK_INT(g->truncated, w->truncated);
		CHECK_INT(g->n_commits, w->n_commits);
		if (g->n_commits > 0 && w->n_commits > 0) {
			CHECK_STR(g->commits[0].hash, w->c0_hash);
			CHECK_STR(g->commits[0].author.name, w->c0_name);
			CHECK_STR(g->commits[0].author.email, w->c0_email);
			CHECK(g->commits[0].message != NULL);
			CHECK(g->commits[0].date != NULL);
			CHECK(g->commits[0].url != NULL);
		}
	}
	bs_event_release(&ev);
	free(body);
}

/* A minimal valid push around one change object text. */
static char *
push_with(const char *change)
{
	const char *pre = "{\"repository\":{\"full_name\":\"acme/shop\"},"
	    "\"push\":{\"changes\":[";
	const char *post = "]}}";
	size_t n = strlen(pre) + strlen(change) + strlen(post) + 1;
	char *s = malloc(n);
	snprintf(s, n, "%s%s%s", pre, change, post);
	return s;
}

/* A change with n commits. */
static char *
push_with_commits(size_t n)
{
	const char *one = "{\"hash\":\"0123456789abcdef0123456789abcdef01234567\","
	    "\"message\":\"m\"},";
	size_t ol = strlen(one);
	char *list = malloc(n * ol + 64);
	size_t k = 0;
	for (size_t i = 0; i < n; i++, k += ol)
		memcpy(list + k, one, ol);
	if (n)
		k--;   /* drop the last comma */
	list[k] = '\0';
	size_t cl = k + 128;
	char *change = malloc(cl);
	snprintf(change, cl, "{\"new\":{\"type\":\"branch\",\"name\":\"m\"},"
	    "\"commits\":[%s]}", list);
	char *body = push_with(change);
	free(list);
	free(change);
	return body;
}

static const char valid[] = "{\"repository\":{\"full_name\":\"acme/shop\"},"
    "\"push\":{\"changes\":[]}}";

int
main(void)
{
	struct bs_event ev;
	bs_parse_limits_default(&lim);
	bs_event_init(&ev);

	TEST("defaults") {
		CHECK_INT(lim.max_depth, 64);
		CHECK_INT(lim.max_changes, 1000);
		CHECK_INT(lim.max_commits, 1000);
		CHECK_INT(lim.max_string, 65536);
	}

	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		TEST(fixtures[i].file)
			check_fixture(&fixtures[i]);
	TEST("every repo:push fixture is in the table") {
		CHECK_INT(sizeof(fixtures) / sizeof(fixtures[0]), 26);
	}

	TEST("forced truncated fixture: commit details") {
		char path[1024];
		size_t len = 0;
		char *b = bs_test_read_file(bs_test_fixture(path, sizeof(path),
		    "jenkinsci-bitbucket-branch-source-plugin/"
		    "cloud_repo-push_forced_truncated.json"), &len);
		CHECK_INT(parse_len("repo:push", b, len, &ev), BS_PARSE_OK);
		CHECK_STR(ev.repository_url, "https://bitbucket.org/amuniz/test-repos");
		CHECK_STR(ev.actor.username, "Nikolas Falco");
		CHECK_INT(ev.changes[0].n_commits, 5);
		const struct bs_commit *c = &ev.changes[0].commits[0];
		CHECK_STR(c->author.username, "Nikolas Falco");
		CHECK_STR(c->date, "2025-02-03T18:26:00+00:00");
		CHECK_INT(c->n_parents, 1);
		CHECK_STR(c->url, "https://bitbucket.org/amuniz/test-repos/commits/"
		    "5ecffa3874e96920f24a2b3c0d0038e47d5cd1a4");
		CHECK_STR(ev.changes[0].link, "https://bitbucket.org/amuniz/"
		    "test-repos/branch/feature/issue-819");
		bs_event_release(&ev);
		free(b);
	}

	TEST("minimal valid push") {
		CHECK_INT(parse("repo:push", valid, &ev), BS_PARSE_OK);
		CHECK_STR(ev.repository, "acme/shop");
		CHECK_INT(ev.n_changes, 0);
		CHECK(ev.repository_url == NULL && ev.actor.name == NULL);
	}

	TEST("nesting 100000 deep is refused quickly with LIMIT") {
		size_t depth = 100000;
		char *b = malloc(depth * 2 + 64);
		size_t n = (size_t)snprintf(b, depth * 2 + 64, "{\"x\":");
		memset(b + n, '[', depth);
		n += depth;
		memset(b + n, ']', depth);
		n += depth;
		b[n++] = '}';
		clock_t t0 = clock();
		CHECK_INT(parse_len("repo:push", b, n, &ev), BS_PARSE_LIMIT);
		double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
		CHECK(secs < 10.0);   /* refused at the cap, not after the whole body */
		CHECK(starts_with(err, "JSON nested deeper than 64 levels"));
		CHECK(is_reset(&ev));
		free(b);
	}

	TEST("depth 64 is accepted, 65 refused") {
		char b[512];
		/* root object (1) + 63 arrays = 64 */
		int n = snprintf(b, sizeof(b), "{\"x\":%.*s%.*s,\"repository\":"
		    "{\"full_name\":\"a/b\"},\"push\":{\"changes\":[]}}", 63,
		    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
		    63, "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
		CHECK_INT(parse_len("repo:push", b, (size_t)n, &ev), BS_PARSE_OK);
		n = snprintf(b, sizeof(b), "{\"x\":%.*s%.*s,\"repository\":"
		    "{\"full_name\":\"a/b\"},\"push\":{\"changes\":[]}}", 64,
		    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
		    64, "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
		CHECK_INT(parse_len("repo:push", b, (size_t)n, &ev), BS_PARSE_LIMIT);
		CHECK_STR(err, "JSON nested deeper than 64 levels at byte 69");
	}

	TEST("trailing garbage, a second value: BAD_JSON, no payload echoed") {
		char b[256];
		snprintf(b, sizeof(b), "%s @@secret@@", valid);
		CHECK_INT(parse("repo:push", b, &ev), BS_PARSE_BAD_JSON);
		CHECK(starts_with(err, "invalid JSON at byte "));
		CHECK(strstr(err, "secret") == NULL);
		CHECK(strstr(err, "trailing garbage") != NULL);
		CHECK(is_reset(&ev));
		snprintf(b, sizeof(b), "%s {}", valid);
		CHECK_INT(parse("repo:push", b, &ev), BS_PARSE_BAD_JSON);
		snprintf(b, sizeof(b), "%s\n%s", valid, valid);
		CHECK_INT(parse("repo:push", b, &ev), BS_PARSE_BAD_JSON);
		CHECK_INT(parse("repo:push", "{\"a\":secretword}", &ev),
		    BS_PARSE_BAD_JSON);
		CHECK(strstr(err, "secret") == NULL);
	}

	TEST("truncated bodies: BAD_JSON") {
		size_t n = strlen(valid);
		for (size_t cut = 1; cut < n; cut++) {
			enum bs_parse_status st = parse_len("repo:push", valid, cut,
			    &ev);
			CHECK_INT(st, BS_PARSE_BAD_JSON);
			CHECK(is_reset(&ev));
		}
		CHECK_INT(parse_len("repo:push", valid, n - 1, &ev),
		    BS_PARSE_BAD_JSON);
		CHECK(starts_with(err, "invalid JSON at byte "));
	}

	TEST("empty and blank bodies") {
		CHECK_INT(parse_len("repo:push", "", 0, &ev), BS_PARSE_BAD_JSON);
		CHECK_STR(err, "empty body");
		CHECK_INT(parse_len("repo:push", NULL, 0, &ev), BS_PARSE_BAD_JSON);
		CHECK_INT(parse("repo:push", "   \n", &ev), BS_PARSE_BAD_JSON);
		CHECK_INT(parse("repo:push", "null", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "top-level JSON value is not an object");
		CHECK_INT(parse("repo:push", "[]", &ev), BS_PARSE_SCHEMA);
		CHECK_INT(parse("repo:push", "/* c */ {}", &ev), BS_PARSE_BAD_JSON);
	}

	TEST("bad UTF-8 and forbidden escapes: BAD_UTF8 before JSON") {
		CHECK_INT(parse("repo:push", "{\"repository\":{\"full_name\":"
		    "\"a\xc0\x80\"}}", &ev), BS_PARSE_BAD_UTF8);
		CHECK_STR(err, "invalid UTF-8 at byte 29");
		CHECK_INT(parse("repo:push", "{\"a\":\"\\u0000\"}", &ev),
		    BS_PARSE_BAD_UTF8);
		CHECK_INT(parse("repo:push", "{\"a\":\"\\udc00\"}", &ev),
		    BS_PARSE_BAD_UTF8);
		CHECK(is_reset(&ev));
	}

	TEST("missing and mistyped required fields: SCHEMA") {
		CHECK_INT(parse("repo:push", "{\"repository\":{\"full_name\":42},"
		    "\"push\":{\"changes\":[]}}", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "repository.full_name is not a string");
		CHECK_INT(parse("repo:push", "{\"repository\":{\"full_name\":"
		    "{\"x\":1}},\"push\":{\"changes\":[]}}", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "repository.full_name is not a string");
		CHECK_INT(parse("repo:push", "{\"push\":{\"changes\":[]}}", &ev),
		    BS_PARSE_SCHEMA);
		CHECK_STR(err, "missing repository.full_name");
		CHECK_INT(parse("repo:push", "{\"repository\":\"acme/shop\","
		    "\"push\":{\"changes\":[]}}", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "missing repository.full_name");
		CHECK_INT(parse("repo:push", "{\"repository\":{\"full_name\":"
		    "\"a/b\"}}", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "missing push");
		CHECK_INT(parse("repo:push", "{\"repository\":{\"full_name\":"
		    "\"a/b\"},\"push\":[]}", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "push is not an object");
		CHECK_INT(parse("repo:push", "{\"repository\":{\"full_name\":"
		    "\"a/b\"},\"push\":{}}", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "missing push.changes");
		CHECK_INT(parse("repo:push", "{\"repository\":{\"full_name\":"
		    "\"a/b\"},\"push\":{\"changes\":{}}}", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "push.changes is not an array");
		CHECK_INT(parse("repo:push", "{\"repository\":{\"full_name\":"
		    "\"a/b\"},\"push\":{\"changes\":null}}", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "push.changes is not an array");
		CHECK(is_reset(&ev));
	}

	TEST("1000 commits accepted, 1001 refused with LIMIT") {
		char *b = push_with_commits(1000);
		CHECK_INT(parse("repo:push", b, &ev), BS_PARSE_OK);
		CHECK_INT(ev.changes[0].n_commits, 1000);
		CHECK_STR(ev.changes[0].commits[999].message, "m");
		free(b);
		b = push_with_commits(1001);
		CHECK_INT(parse("repo:push", b, &ev), BS_PARSE_LIMIT);
		CHECK(starts_with(err, "more than 1000 commits in one change"));
		CHECK(is_reset(&ev));
		free(b);
	}

	TEST("max_changes") {
		struct bs_parse_limits small = lim;
		small.max_changes = 2;
		const char *b = "{\"repository\":{\"full_name\":\"a/b\"},\"push\":"
		    "{\"changes\":[{},{},{}]}}";
		CHECK_INT(bs_parse_event(BS_PRODUCT_CLOUD, "repo:push", b,
		    strlen(b), &small, &ev, err, sizeof(err)), BS_PARSE_LIMIT);
		CHECK(starts_with(err, "more than 2 changes in one push"));
		small.max_changes = 3;
		CHECK_INT(bs_parse_event(BS_PRODUCT_CLOUD, "repo:push", b,
		    strlen(b), &small, &ev, err, sizeof(err)), BS_PARSE_OK);
		CHECK_INT(ev.n_changes, 3);
		CHECK_INT(ev.changes[2].ref_type, BS_REF_OTHER);
		CHECK(ev.changes[2].ref_name == NULL);
	}

	TEST("long strings are cut at a character boundary, not refused") {
		struct bs_parse_limits small = lim;
		small.max_string = 4;
		char *b = push_with("{\"new\":{\"type\":\"branch\",\"name\":\"a\xc3\xa9"
		    "\xe2\x82\xac\"},\"commits\":[{\"message\":\"abcdefgh\"}]}");
		CHECK_INT(bs_parse_event(BS_PRODUCT_CLOUD, "repo:push", b,
		    strlen(b), &small, &ev, err, sizeof(err)), BS_PARSE_OK);
		CHECK_STR(ev.changes[0].ref_name, "a\xc3\xa9");
		CHECK_STR(ev.changes[0].commits[0].message, "abcd");
		CHECK_STR(ev.repository, "acme");
		small.max_string = 3;
		CHECK_INT(bs_parse_event(BS_PRODUCT_CLOUD, "repo:push", b,
		    strlen(b), &small, &ev, err, sizeof(err)), BS_PARSE_OK);
		CHECK_STR(ev.changes[0].ref_name, "a\xc3\xa9");
		small.max_string = 2;
		CHECK_INT(bs_parse_event(BS_PRODUCT_CLOUD, "repo:push", b,
		    strlen(b), &small, &ev, err, sizeof(err)), BS_PARSE_OK);
		CHECK_STR(ev.changes[0].ref_name, "a");
		free(b);
	}

	TEST("escapes are decoded; surrogate pairs become 4-byte UTF-8") {
		char *b = push_with("{\"new\":{\"type\":\"branch\",\"name\":"
		    "\"x\\/y\"},\"commits\":[{\"message\":\"\\ud83d\\ude80 "
		    "caf\\u00e9\\n\\\"q\\\"\"}]}");
		CHECK_INT(parse("repo:push", b, &ev), BS_PARSE_OK);
		CHECK_STR(ev.changes[0].ref_name, "x/y");
		CHECK_STR(ev.changes[0].commits[0].message,
		    "\xf0\x9f\x9a\x80 caf\xc3\xa9\n\"q\"");
		free(b);
	}

	TEST("duplicate keys: last wins, also across types") {
		const char *b = "{\"repository\":{\"full_name\":\"first/one\","
		    "\"full_name\":\"last/one\"},\"push\":{\"changes\":[{\"new\":"
		    "{\"type\":\"branch\",\"name\":\"n\"},\"old\":{\"type\":\"tag\","
		    "\"name\":\"o\"},\"new\":null,\"created\":true,\"created\":false,"
		    "\"commits\":[{\"hash\":\"a\"}],\"commits\":[{\"hash\":\"b\"},"
		    "{\"hash\":\"c\"}]}]}}";
		CHECK_INT(parse("repo:push", b, &ev), BS_PARSE_OK);
		CHECK_STR(ev.repository, "last/one");
		CHECK_STR(ev.changes[0].ref_name, "o");
		CHECK_INT(ev.changes[0].ref_type, BS_REF_TAG);
		CHECK_INT(ev.changes[0].created, false);
		CHECK_INT(ev.changes[0].n_commits, 2);
		CHECK_STR(ev.changes[0].commits[0].hash, "b");
		const char *c = "{\"repository\":{\"full_name\":\"a/b\"},"
		    "\"repository\":{\"name\":\"x\"},\"push\":{\"changes\":[]}}";
		CHECK_INT(parse("repo:push", c, &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "missing repository.full_name");
		const char *d = "{\"repository\":{\"full_name\":\"a/b\"},\"push\":"
		    "{\"changes\":[{}]},\"push\":{\"changes\":[]}}";
		CHECK_INT(parse("repo:push", d, &ev), BS_PARSE_OK);
		CHECK_INT(ev.n_changes, 0);
	}

	TEST("author shapes") {
		char *b = push_with("{\"new\":{\"type\":\"branch\",\"name\":\"m\"},"
		    "\"commits\":["
		    "{\"hash\":\"1\",\"author\":{\"raw\":\"  Jane Doe  \"}},"
		    "{\"hash\":\"2\",\"author\":{\"raw\":\"<j@x.org>\",\"user\":"
		    "{\"display_name\":\"Jane D\",\"nickname\":\"jd\","
		    "\"username\":\"jdoe\"}}},"
		    "{\"hash\":\"3\",\"author\":{\"display_name\":\"Old Style\","
		    "\"username\":\"olds\"}},"
		    "{\"hash\":\"4\",\"author\":{\"raw\":\"A B <a@b> extra\","
		    "\"user\":{\"username\":\"ab\"}}},"
		    "{\"hash\":\"5\",\"author\":{\"raw\":\"Bad <open\"}},"
		    "{\"hash\":\"6\"}]}");
		CHECK_INT(parse("repo:push", b, &ev), BS_PARSE_OK);
		const struct bs_commit *c = ev.changes[0].commits;
		CHECK_INT(ev.changes[0].n_commits, 6);
		CHECK_STR(c[0].author.name, "Jane Doe");
		CHECK(c[0].author.email == NULL && c[0].author.username == NULL);
		CHECK_STR(c[1].author.name, "Jane D");
		CHECK_STR(c[1].author.email, "j@x.org");
		CHECK_STR(c[1].author.username, "jd");
		CHECK_STR(c[2].author.name, "Old Style");
		CHECK_STR(c[2].author.username, "olds");
		CHECK_STR(c[3].author.name, "A B");
		CHECK_STR(c[3].author.email, "a@b");
		CHECK_STR(c[3].author.username, "ab");
		CHECK_STR(c[4].author.name, "Bad <open");
		CHECK(c[4].author.email == NULL);
		CHECK(c[5].author.name == NULL && c[5].n_parents == 0);
		free(b);
	}

	TEST("head_author: new.target.author as a commit's; last key wins") {
		char *b = push_with("{\"new\":{\"type\":\"tag\",\"name\":\"v1\","
		    "\"target\":{\"hash\":\"h\",\"date\":\"d1\",\"author\":{\"raw\":"
		    "\"Old <old@x>\"},\"author\":{\"raw\":\"Jo <jo@x>\",\"user\":"
		    "{\"nickname\":\"jo\"}}}}},{\"old\":{\"type\":\"tag\",\"name\":"
		    "\"v0\",\"target\":{\"author\":{\"raw\":\"O <o@x>\"}}},\"new\":"
		    "{\"target\":{\"author\":{\"raw\":\"N <n@x>\"}}},\"new\":null}");
		CHECK_INT(parse("repo:push", b, &ev), BS_PARSE_OK);
		const struct bs_change *c = ev.changes;
		CHECK_INT(ev.n_changes, 2);
		CHECK_STR(c[0].head_author.name, "Jo");
		CHECK_STR(c[0].head_author.email, "jo@x");
		CHECK_STR(c[0].head_author.username, "jo");
		CHECK_STR(c[0].head_date, "d1");
		/* the old side's author is not the head's; new: null drops it */
		CHECK(c[1].head_author.name == NULL && c[1].head_author.email == NULL);
		CHECK(c[1].head_date == NULL);
		free(b);
	}

	TEST("author.raw odd forms: extra <>, no name, no email") {
		char *b = push_with("{\"new\":{\"type\":\"branch\",\"name\":\"m\"},"
		    "\"commits\":["
		    "{\"hash\":\"1\",\"author\":{\"raw\":\"Jo <<jo@x.org>>\"}},"
		    "{\"hash\":\"2\",\"author\":{\"raw\":\"Jo <> <jo@y.org>\"}},"
		    "{\"hash\":\"3\",\"author\":{\"raw\":\"Jo <>\"}},"
		    "{\"hash\":\"4\",\"author\":{\"raw\":\"<>\",\"user\":"
		    "{\"display_name\":\"Jo U\"}}},"
		    "{\"hash\":\"5\",\"author\":{\"raw\":\" <jo@z.org> \",\"user\":"
		    "{\"display_name\":\"Jo Z\"}}},"
		    "{\"hash\":\"6\",\"author\":{\"raw\":\"Jo <a@b> <c@d>\"}},"
		    "{\"hash\":\"7\",\"author\":{\"raw\":\"Jo > x <a@b\"}},"
		    "{\"hash\":\"8\",\"author\":{\"raw\":\"\"}}]}");
		CHECK_INT(parse("repo:push", b, &ev), BS_PARSE_OK);
		const struct bs_commit *c = ev.changes[0].commits;
		CHECK_INT(ev.changes[0].n_commits, 8);
		CHECK_STR(c[0].author.name, "Jo");
		CHECK_STR(c[0].author.email, "jo@x.org");
		CHECK_STR(c[1].author.name, "Jo");
		CHECK_STR(c[1].author.email, "jo@y.org");
		CHECK_STR(c[2].author.name, "Jo");
		CHECK(c[2].author.email == NULL);
		CHECK_STR(c[3].author.name, "Jo U");
		CHECK(c[3].author.email == NULL);
		CHECK_STR(c[4].author.name, "Jo Z");
		CHECK_STR(c[4].author.email, "jo@z.org");
		CHECK_STR(c[5].author.name, "Jo");
		CHECK_STR(c[5].author.email, "a@b");
		CHECK_STR(c[6].author.name, "Jo > x <a@b");
		CHECK(c[6].author.email == NULL);
		CHECK(c[7].author.name == NULL && c[7].author.email == NULL);
		free(b);
	}

	TEST("unknown enum values kept as text, unknown fields ignored") {
		char *b = push_with("{\"new\":{\"type\":\"bookmark\",\"name\":\"bm\","
		    "\"extra\":{\"deep\":[1,2,{\"x\":null}]}},\"created\":\"yes\","
		    "\"forced\":1,\"whatever\":[true,false],\"commits\":[{\"hash\":"
		    "\"h\",\"message\":5,\"date\":null,\"parents\":[{\"hash\":\"p1\"},"
		    "\"junk\",{\"nohash\":1},{\"hash\":\"p2\"}]}]}");
		CHECK_INT(parse("repo:push", b, &ev), BS_PARSE_OK);
		const struct bs_change *ch = &ev.changes[0];
		CHECK_INT(ch->ref_type, BS_REF_OTHER);
		CHECK_STR(ch->ref_type_raw, "bookmark");
		CHECK_STR(ch->ref_name, "bm");
		CHECK_INT(ch->created, false);
		CHECK_INT(ch->forced, false);
		CHECK(ch->commits[0].message == NULL);
		CHECK(ch->commits[0].date == NULL);
		CHECK_INT(ch->commits[0].n_parents, 2);
		CHECK_STR(ch->commits[0].parents[0], "p1");
		CHECK_STR(ch->commits[0].parents[1], "p2");
		free(b);
	}

	TEST("other event keys parse with repository and actor only") {
		const char *b = "{\"repository\":{\"full_name\":\"a/b\",\"links\":"
		    "{\"html\":{\"href\":\"https://x/a/b\"}}},\"actor\":"
		    "{\"display_name\":\"D\",\"username\":\"u\"},\"push\":"
		    "{\"changes\":[{}]}}";
		CHECK_INT(parse("repo:fork", b, &ev), BS_PARSE_OK);
		CHECK_INT(ev.type, BS_EVENT_OTHER);
		CHECK_STR(ev.event_key, "repo:fork");
		CHECK_STR(ev.repository, "a/b");
		CHECK_STR(ev.repository_url, "https://x/a/b");
		CHECK_STR(ev.actor.name, "D");
		CHECK_STR(ev.actor.username, "u");
		CHECK_INT(ev.n_changes, 0);
		CHECK_INT(parse("repo:fork", "{}", &ev), BS_PARSE_OK);
		CHECK(ev.repository == NULL);
		CHECK_INT(parse("repo:fork", "{\"repository\":{\"full_name\":1}}",
		    &ev), BS_PARSE_OK);
		CHECK(ev.repository == NULL);
		CHECK_INT(parse("repo:fork", "{", &ev), BS_PARSE_BAD_JSON);
	}

	TEST("event key validation") {
		CHECK_INT(parse("repo:\xff", valid, &ev), BS_PARSE_BAD_UTF8);
		CHECK_INT(parse("repo:\npush", valid, &ev), BS_PARSE_BAD_UTF8);
		CHECK_INT(parse(NULL, valid, &ev), BS_PARSE_OK);
		CHECK_INT(ev.type, BS_EVENT_OTHER);
		CHECK(ev.event_key == NULL);
	}

	TEST("a failed parse releases a previously filled event") {
		CHECK_INT(parse("repo:push", valid, &ev), BS_PARSE_OK);
		CHECK(ev.repository != NULL);
		CHECK_INT(parse("repo:push", "{", &ev), BS_PARSE_BAD_JSON);
		CHECK(is_reset(&ev));
	}

	bs_event_release(&ev);
	return TEST_REPORT();
}
