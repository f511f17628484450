/* test_dc: Bitbucket Data Center payloads. Every repo:refs_changed,
 * mirror:repo_synchronized and pr:* fixture of index.tsv is checked against
 * expected values written into the tables below (taken straight from each
 * payload's JSON); then diagnostics:ping, the epoch-ms date conversion,
 * commit attachment (annotated tags, several changes), limits, missing
 * required fields, and bs_detect_product / bs_event_type_of /
 * bs_pr_action_of. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/bitbucket.h"
#include "tests/unit/test.h"

struct exp_change {
	const char *ref_name;
	enum bs_ref_type ref_type;
	const char *old_hash, *new_hash, *new_commit;
	bool created, closed, truncated;
	size_t n_commits;
	const char *c0_hash, *c0_name, *c0_email;
};

struct exp_push {
	const char *file;
	const char *repository, *actor_name, *date;
	size_t n_changes;
	struct exp_change ch[2];
};

static const struct exp_push pushes[] = {
	{ "drone-go-scm/dc_repo-refs_changed_update.json",
	    "PRJ/my-repo", "Jane Citizen", "2018-07-05T18:22:00.000Z", 1, {
		{ "master", BS_REF_BRANCH,
		    "5c64a07cd6c0f21b753bf261ef059c7e7633c50a",
		    "823b2230a56056231c9425d63758fa87078a66b4",
		    "823b2230a56056231c9425d63758fa87078a66b4",
		    false, false, true, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "drone-go-scm/dc_repo-refs_changed_update_v5.json",
	    "ISCLOUD/transamerica.cloud.individual.tftest", "Rangineni, Tanuja", "2023-05-30T19:40:47.000Z", 1, {
		{ "trangineni/devtfvars-1685475548410", BS_REF_BRANCH,
		    "b2b710209761a3fab9fc867aad7b7725fd0fd028",
		    "51a33664b6d7fb5aa15063064eb230362cd02e9e",
		    "51a33664b6d7fb5aa15063064eb230362cd02e9e",
		    false, false, true, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "drone-go-scm/dc_repo-refs_changed_branch-add.json",
	    "PRJ/my-repo", "Jane Citizen", "2018-07-05T18:24:15.000Z", 1, {
		{ "develop", BS_REF_BRANCH,
		    NULL,
		    "208b0a5c05eddadad01f2aed8802fe0c3b3eaf5e",
		    "208b0a5c05eddadad01f2aed8802fe0c3b3eaf5e",
		    true, false, true, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "drone-go-scm/dc_repo-refs_changed_branch-delete.json",
	    "PRJ/my-repo", "Jane Citizen", "2018-07-05T18:25:37.000Z", 1, {
		{ "develop", BS_REF_BRANCH,
		    "208b0a5c05eddadad01f2aed8802fe0c3b3eaf5e",
		    NULL,
		    NULL,
		    false, true, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "drone-go-scm/dc_repo-refs_changed_tag-add.json",
	    "PRJ/my-repo", "Jane Citizen", "2018-07-05T18:26:11.000Z", 1, {
		{ "v1.1.0", BS_REF_TAG,
		    NULL,
		    "823b2230a56056231c9425d63758fa87078a66b4",
		    "823b2230a56056231c9425d63758fa87078a66b4",
		    true, false, true, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "drone-go-scm/dc_repo-refs_changed_tag-delete.json",
	    "PRJ/my-repo", "Jane Citizen", "2018-07-05T18:26:44.000Z", 1, {
		{ "v1.1.0", BS_REF_TAG,
		    "823b2230a56056231c9425d63758fa87078a66b4",
		    NULL,
		    NULL,
		    false, true, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "drone-go-scm/dc10.3_repo-refs_changed_branch-add_realworld.json",
	    "TSG/nova-ui", "De Roubaix, Izak", "2026-05-21T12:56:36.000Z", 1, {
		{ "idpdocs", BS_REF_BRANCH,
		    NULL,
		    "b8ba6d6045f85379a2dc5b556d8a9ea23a69ac13",
		    "b8ba6d6045f85379a2dc5b556d8a9ea23a69ac13",
		    true, false, false, 1,
		    "b8ba6d6045f85379a2dc5b556d8a9ea23a69ac13",
		    "cbp_sonarqube", "iroubaix@fnb.co.za" },
	} },
	{ "drone-go-scm/dc10.3_repo-refs_changed_update_realworld.json",
	    "PENGINE/product-engine", "Van Der Schyff, Marnus", "2026-05-24T14:11:04.000Z", 1, {
		{ "develop", BS_REF_BRANCH,
		    "c112673b9efd82794bf73a1ff6ff8ad6708e9df5",
		    "d29fa17bbe9979c3f603e0f11574735da88bf27f",
		    "d29fa17bbe9979c3f603e0f11574735da88bf27f",
		    false, false, false, 2,
		    "d29fa17bbe9979c3f603e0f11574735da88bf27f",
		    "Van Der Schyff, Marnus", "Marnus.VanDerSchyff@fnb.co.za" },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/dc_repo-refs_changed_update_with-commits.json",
	    "AMUNIZ/test-repos", "Antonio Muniz", "2024-11-27T01:34:45.000Z", 1, {
		{ "main", BS_REF_BRANCH,
		    "a8c13e8850dc60300be720019d1ffc1aa2fded87",
		    "9fdd7b96d3f5c276d0b9e0bf38c879eb112d889a",
		    "9fdd7b96d3f5c276d0b9e0bf38c879eb112d889a",
		    false, false, false, 1,
		    "9fdd7b96d3f5c276d0b9e0bf38c879eb112d889a",
		    "Antonio Muniz", "amuniz@acme.com" },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/dc10_repo-refs_changed_branch-add_with-commits.json",
	    "AMUNIZ/test-repos", "Administrator", "2026-06-05T13:54:44.000Z", 1, {
		{ "feature/BB-1", BS_REF_BRANCH,
		    NULL,
		    "fb522a6f08c7c7df337312e4e65ec1b57710672e",
		    "fb522a6f08c7c7df337312e4e65ec1b57710672e",
		    true, false, false, 4,
		    "fb522a6f08c7c7df337312e4e65ec1b57710672e",
		    "Antonio Muniz", "amuniz@example.com" },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/dc_repo-refs_changed_branch-delete.json",
	    "AMUNIZ/test-repos", "Administrator", "2026-08-19T17:19:10.000Z", 1, {
		{ "feature/BB-1", BS_REF_BRANCH,
		    "fb522a6f08c7c7df337312e4e65ec1b57710672e",
		    NULL,
		    NULL,
		    false, true, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/dc_repo-refs_changed_branch-delete_signed.json",
	    "AMUNIZ/test-repos", "Administrator", "2025-05-18T16:57:51.000Z", 1, {
		{ "feature/BB-1", BS_REF_BRANCH,
		    "fb522a6f08c7c7df337312e4e65ec1b57710672e",
		    NULL,
		    NULL,
		    false, true, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/dc_repo-refs_changed_tag-add.json",
	    "AMUNIZ/test-repos", "Administrator", "2025-04-27T11:07:31.000Z", 1, {
		{ "simple-tag", BS_REF_TAG,
		    NULL,
		    "fb522a6f08c7c7df337312e4e65ec1b57710672e",
		    "fb522a6f08c7c7df337312e4e65ec1b57710672e",
		    true, false, false, 4,
		    "fb522a6f08c7c7df337312e4e65ec1b57710672e",
		    "Antonio Muniz", "amuniz@example.com" },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/dc_repo-refs_changed_annotated-tag-add.json",
	    "AMUNIZ/test-repos", "Administrator", "2025-04-27T11:55:16.000Z", 1, {
		{ "annotated-tag", BS_REF_TAG,
		    NULL,
		    "118cc36527dd376b94de5b0e6424b1dfbd4717ff",
		    "fb522a6f08c7c7df337312e4e65ec1b57710672e",
		    true, false, false, 4,
		    "fb522a6f08c7c7df337312e4e65ec1b57710672e",
		    "Antonio Muniz", "amuniz@example.com" },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/dc_repo-refs_changed_tag-delete.json",
	    "AMUNIZ/test-repos", "Administrator", "2025-04-27T11:04:00.000Z", 1, {
		{ "simple-tag", BS_REF_TAG,
		    "fb522a6f08c7c7df337312e4e65ec1b57710672e",
		    NULL,
		    NULL,
		    false, true, false, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/dc_repo-refs_changed_empty-changes.json",
	    "AMUNIZ/test-repos", "Antonio Muniz", "2024-11-27T01:34:45.000Z", 0, { { 0 } } },
	{ "jenkinsci-bitbucket-branch-source-plugin/dc_mirror-repo_synchronized.json",
	    "AMUNIZ/test-repos", "Antonio Muniz", "2024-11-27T01:34:45.000Z", 1, {
		{ "main", BS_REF_BRANCH,
		    "a8c13e8850dc60300be720019d1ffc1aa2fded87",
		    "9fdd7b96d3f5c276d0b9e0bf38c879eb112d889a",
		    "9fdd7b96d3f5c276d0b9e0bf38c879eb112d889a",
		    false, false, true, 0,
		    NULL,
		    NULL, NULL },
	} },
	{ "jenkinsci-bitbucket-branch-source-plugin/dc_mirror-repo_synchronized_ref-limit-exceeded.json",
	    "AMUNIZ/test-repos", "Antonio Muniz", "2024-11-27T01:34:45.000Z", 0, { { 0 } } },
};

struct exp_pr {
	const char *file, *key;
	enum bs_pr_action action;
	int64_t id;
	const char *title, *state;
	const char *src_branch, *src_repo, *src_hash;
	const char *dst_branch, *dst_repo, *dst_hash;
	const char *merge_hash;
	const char *author_name, *author_email, *author_username;
	const char *created, *updated;
};

static const struct exp_pr prs[] = {
	{ "drone-go-scm/dc_pr-opened.json", "pr:opened", BS_PR_OPENED,
	    2, "added LICENSE", "OPEN",
	    "develop", "PRJ/my-repo", "208b0a5c05eddadad01f2aed8802fe0c3b3eaf5e",
	    "master", "PRJ/my-repo", "823b2230a56056231c9425d63758fa87078a66b4",
	    NULL,
	    "Jane Citizen", "jane@example.com", "jcitizen",
	    "2018-07-05T19:21:30.848Z", "2018-07-05T19:21:30.848Z" },
	{ "drone-go-scm/dc_pr-opened_iso-dates.json", "pr:opened", BS_PR_OPENED,
	    2, "added LICENSE", "OPEN",
	    "develop", "PRJ/my-repo", "208b0a5c05eddadad01f2aed8802fe0c3b3eaf5e",
	    "master", "PRJ/my-repo", "823b2230a56056231c9425d63758fa87078a66b4",
	    NULL,
	    "Jane Citizen", "jane@example.com", "jcitizen",
	    "2018-07-05T19:21:30.000Z", "2018-07-05T19:21:30.000Z" },
	{ "drone-go-scm/dc_pr-from_ref_updated.json", "pr:from_ref_updated", BS_PR_UPDATED,
	    2, "added LICENSE", "OPEN",
	    "feature-2", "PRJ/my-repo", "c00d0f269a9844dd168f72f6a9d78a9cff49a318",
	    "master", "PRJ/my-repo", "823b2230a56056231c9425d63758fa87078a66b4",
	    NULL,
	    "Jane Citizen", "jane@example.com", "jcitizen",
	    "2021-11-22T14:36:40.463Z", "2021-11-23T10:02:52.258Z" },
	{ "drone-go-scm/dc_pr-modified_toref.json", "pr:modified", BS_PR_UPDATED,
	    2, "added LICENSE", "OPEN",
	    "feature-2", "PRJ/my-repo", "c00d0f269a9844dd168f72f6a9d78a9cff49a318",
	    "master", "PRJ/my-repo", "0667def9e377a8fa76ce67b6d4e53e21b246f030",
	    NULL,
	    "Jane Citizen", "jane@example.com", "jcitizen",
	    "2021-11-22T14:36:40.463Z", "2021-11-23T13:16:20.977Z" },
	{ "drone-go-scm/dc_pr-modified_meta.json", "pr:modified", BS_PR_UPDATED,
	    6, "Clean README.md", "OPEN",
	    "cleanup", "~jcitizen/my-repo", "a268fca7b65055e13f60ac1a2c9a527615f113ca",
	    "master", "PRJ/my-repo", "a4dae7792cf772d72149730091141ef48bba8697",
	    NULL,
	    "Jane Citizen", "jane@example.com", "jcitizen",
	    "2021-11-24T14:26:49.216Z", "2021-11-24T14:43:48.112Z" },
	{ "drone-go-scm/dc_pr-merged.json", "pr:merged", BS_PR_MERGED,
	    3, "Develop", "MERGED",
	    "develop", "PRJ/my-repo", "b9eaed50a03c073b20dfa82e5e753d295e7f0e56",
	    "master", "PRJ/my-repo", "823b2230a56056231c9425d63758fa87078a66b4",
	    "83f836ca538dc4f43d29fda46a5b85ea49f1b8e7",
	    "Jane Citizen", "jane@example.com", "jcitizen",
	    "2018-07-05T19:33:14.430Z", "2018-07-05T19:33:20.099Z" },
	{ "drone-go-scm/dc_pr-merged_iso-dates.json", "pr:merged", BS_PR_MERGED,
	    3, "Develop", "MERGED",
	    "develop", "PRJ/my-repo", "b9eaed50a03c073b20dfa82e5e753d295e7f0e56",
	    "master", "PRJ/my-repo", "823b2230a56056231c9425d63758fa87078a66b4",
	    "83f836ca538dc4f43d29fda46a5b85ea49f1b8e7",
	    "Jane Citizen", "jane@example.com", "jcitizen",
	    "2018-07-05T19:33:14.000Z", "2018-07-05T19:33:20.000Z" },
	{ "drone-go-scm/dc_pr-declined.json", "pr:declined", BS_PR_DECLINED,
	    2, "added LICENSE", "DECLINED",
	    "develop", "PRJ/my-repo", "b9eaed50a03c073b20dfa82e5e753d295e7f0e56",
	    "master", "PRJ/my-repo", "823b2230a56056231c9425d63758fa87078a66b4",
	    NULL,
	    "Jane Citizen", "jane@example.com", "jcitizen",
	    "2018-07-05T19:21:30.848Z", "2018-07-05T19:30:48.868Z" },
	{ "drone-go-scm/dc_pr-declined_iso-dates.json", "pr:declined", BS_PR_DECLINED,
	    2, "added LICENSE", "DECLINED",
	    "develop", "PRJ/my-repo", "b9eaed50a03c073b20dfa82e5e753d295e7f0e56",
	    "master", "PRJ/my-repo", "823b2230a56056231c9425d63758fa87078a66b4",
	    NULL,
	    "Jane Citizen", "jane@example.com", "jcitizen",
	    "2018-07-05T19:21:30.000Z", "2018-07-05T19:30:48.000Z" },
	{ "drone-go-scm/dc_pr-deleted.json", "pr:deleted", BS_PR_DELETED,
	    2, "added LICENSE", "DECLINED",
	    "develop", "PRJ/my-repo", "b9eaed50a03c073b20dfa82e5e753d295e7f0e56",
	    "master", "PRJ/my-repo", "823b2230a56056231c9425d63758fa87078a66b4",
	    NULL,
	    "Jane Citizen", "jane@example.com", "jcitizen",
	    "2018-07-05T19:21:30.848Z", "2018-07-05T19:30:48.868Z" },
	{ "jenkinsci-bitbucket-branch-source-plugin/dc_pr-opened_from-tag.json", "pr:opened", BS_PR_OPENED,
	    1, "pr from tag", "OPEN",
	    "v1.0", "AMUNIZ/test-repos", "f0d122cd8b8bc393eb1953f4127a4addeae8fe97",
	    "master", "AMUNIZ/test-repos", "ff55824c164c4c785810cb49f7aa44d8d68789e3",
	    NULL,
	    "amuniz", "amuniz@acme.com", "amuniz",
	    "2025-04-12T18:19:58.567Z", "2025-04-12T18:19:58.567Z" },
	{ "jenkinsci-bitbucket-branch-source-plugin/dc_pr-opened.json", "pr:opened", BS_PR_OPENED,
	    1, "Feature/diffstat", "OPEN",
	    "feature/diffstat", "AMUNIZ/test-repos", "251fce291f086cdde68ae2a896148abb5b58033e",
	    "master", "AMUNIZ/test-repos", "174561d625c9623b60d8aba09b7f08ddc9df45cd",
	    NULL,
	    "Administrator", "admin@example.com", "admin",
	    "2026-08-19T17:27:55.266Z", "2026-08-19T17:27:55.266Z" },
	{ "jenkinsci-bitbucket-branch-source-plugin/dc_pr-deleted.json", "pr:deleted", BS_PR_DELETED,
	    1, "Feature/diffstat", "OPEN",
	    "feature/diffstat", "AMUNIZ/test-repos", "251fce291f086cdde68ae2a896148abb5b58033e",
	    "master", "AMUNIZ/test-repos", "174561d625c9623b60d8aba09b7f08ddc9df45cd",
	    NULL,
	    "Administrator", "admin@example.com", "admin",
	    "2026-08-19T17:27:55.266Z", "2026-08-19T17:27:55.266Z" },
};

static struct bs_parse_limits lim;
static char err[256];

static enum bs_parse_status
parse(const char *key, const char *body, struct bs_event *ev)
{
	err[0] = '\0';
	return bs_parse_event(BS_PRODUCT_DC, key, body, strlen(body), &lim, ev,
	    err, sizeof(err));
}

static char *
fixture(const char *rel, size_t *len)
{
	char path[1024];
	return bs_test_read_file(bs_test_fixture(path, sizeof(path), rel), len);
}

static const char *
key_of(const char *file)
{
	return strstr(file, "mirror") ? "mirror:repo_synchronized"
	    : "repo:refs_changed";
}

static void
check_push(const struct exp_push *x)
{
	size_t len = 0;
	char *body = fixture(x->file, &len);
	CHECK(body != NULL);
	if (!body)
		return;
	struct bs_event ev;
	bs_event_init(&ev);
	CHECK_INT(bs_parse_event(BS_PRODUCT_DC, key_of(x->file), body, len,
	    &lim, &ev, err, sizeof(err)), BS_PARSE_OK);
	CHECK_INT(ev.product, BS_PRODUCT_DC);
	CHECK_INT(ev.type, BS_EVENT_PUSH);
	CHECK_STR(ev.repository, x->repository);
	CHECK_STR(ev.actor.name, x->actor_name);
	CHECK_STR(ev.date, x->date);
	CHECK(ev.actor.email != NULL && ev.actor.username != NULL);
	CHECK_INT(ev.n_changes, x->n_changes);
	for (size_t i = 0; i < x->n_changes && i < ev.n_changes; i++) {
		const struct exp_change *w = &x->ch[i];
		const struct bs_change *g = &ev.changes[i];
		CHECK_STR(g->ref_name, w->ref_name);
		CHECK_INT(g->ref_type, w->ref_type);
		CHECK_STR(g->old_hash, w->old_hash);
		CHECK_STR(g->new_hash, w->new_hash);
		CHECK_STR(g->new_commit, w->new_commit);
		CHECK_INT(g->created, w->created);
		CHECK_INT(g->closed, w->closed);
		CHECK_INT(g->forced, false);
		CHECK_INT(g->truncated, w->truncated);
		CHECK(g->link == NULL);
		CHECK_INT(g->n_commits, w->n_commits);
		if (g->n_commits > 0 && w->n_commits > 0) {
			CHECK_STR(g->commits[0].hash, w->c0_hash);
			CHECK_STR(g->commits[0].author.name, w->c0_name);
			CHECK_STR(g->commits[0].author.email, w->c0_email);
			CHECK(g->commits[0].date != NULL);
			CHECK(g->commits[0].message != NULL);
		}
	}
	bs_event_release(&ev);
	free(body);
}

static void
check_pr(const struct exp_pr *x)
{
	size_t len = 0;
	char *body = fixture(x->file, &len);
	CHECK(body != NULL);
	if (!body)
		return;
	struct bs_event ev;
	bs_event_init(&ev);
	CHECK_INT(bs_parse_event(BS_PRODUCT_DC, x->key, body, len, &lim, &ev,
	    err, sizeof(err)), BS_PARSE_OK);
	CHECK_INT(ev.type, BS_EVENT_PR);
	CHECK(ev.pr != NULL);
	if (ev.pr) {
		const struct bs_pr *p = ev.pr;
		CHECK_STR(ev.repository, x->dst_repo);
		CHECK_INT(p->action, x->action);
		CHECK_INT(p->id, x->id);
		CHECK_STR(p->title, x->title);
		CHECK_STR(p->state, x->state);
		CHECK_STR(p->source.branch, x->src_branch);
		CHECK_STR(p->source.repository, x->src_repo);
		CHECK_STR(p->source.hash, x->src_hash);
		CHECK_STR(p->destination.branch, x->dst_branch);
		CHECK_STR(p->destination.repository, x->dst_repo);
		CHECK_STR(p->destination.hash, x->dst_hash);
		CHECK_STR(p->merge_hash, x->merge_hash);
		CHECK_STR(p->author.name, x->author_name);
		CHECK_STR(p->author.email, x->author_email);
		CHECK_STR(p->author.username, x->author_username);
		CHECK_STR(p->created, x->created);
		CHECK_STR(p->updated, x->updated);
	}
	CHECK_INT(ev.n_changes, 0);
	bs_event_release(&ev);
	free(body);
}

static const char repo[] = "\"repository\":{\"slug\":\"r\",\"project\":"
    "{\"key\":\"P\"},\"links\":{\"self\":[{\"href\":\"u0\"},{\"href\":\"u1\"}]}}";

static char *
body_of(const char *rest)
{
	size_t n = strlen(repo) + strlen(rest) + 8;
	char *b = malloc(n);
	snprintf(b, n, "{%s,%s}", repo, rest);
	return b;
}

int
main(void)
{
	struct bs_event ev;
	bs_parse_limits_default(&lim);
	bs_event_init(&ev);

	for (size_t i = 0; i < sizeof(pushes) / sizeof(pushes[0]); i++)
		TEST(pushes[i].file)
			check_push(&pushes[i]);
	for (size_t i = 0; i < sizeof(prs) / sizeof(prs[0]); i++)
		TEST(prs[i].file)
			check_pr(&prs[i]);
	TEST("every DC push and PR fixture is in the tables") {
		CHECK_INT(sizeof(pushes) / sizeof(pushes[0]), 18);
		CHECK_INT(sizeof(prs) / sizeof(prs[0]), 13);
	}

	TEST("diagnostics:ping") {
		size_t len = 0;
		char *b = fixture("jenkinsci-bitbucket-branch-source-plugin/"
		    "dc_diagnostics-ping.json", &len);
		CHECK_INT(bs_parse_event(BS_PRODUCT_DC, "diagnostics:ping", b, len,
		    &lim, &ev, err, sizeof(err)), BS_PARSE_OK);
		CHECK_INT(ev.type, BS_EVENT_PING);
		CHECK(ev.repository == NULL && ev.pr == NULL);
		free(b);
		CHECK_INT(parse("diagnostics:ping", "{}", &ev), BS_PARSE_OK);
		CHECK_INT(parse("diagnostics:ping", "[1]", &ev), BS_PARSE_SCHEMA);
	}

	TEST("repository, links.self[0] only, epoch-ms dates") {
		char *b = body_of("\"date\":1530818589999,\"actor\":{\"name\":\"u\","
		    "\"displayName\":\"U Ser\",\"emailAddress\":\"u@x\"},"
		    "\"changes\":[]");
		CHECK_INT(parse("repo:refs_changed", b, &ev), BS_PARSE_OK);
		CHECK_STR(ev.repository, "P/r");
		CHECK_STR(ev.repository_url, "u0");
		CHECK_STR(ev.date, "2018-07-05T19:23:09.999Z");
		CHECK_STR(ev.actor.name, "U Ser");
		CHECK_STR(ev.actor.email, "u@x");
		CHECK_STR(ev.actor.username, "u");
		free(b);
		const char *dates[][2] = {
			{ "0", "1970-01-01T00:00:00.000Z" },
			{ "951782400000", "2000-02-29T00:00:00.000Z" },
			{ "253402300799999", "9999-12-31T23:59:59.999Z" },
			{ "253402300800000", "253402300800000" },
			{ "-1", "-1" },
			{ "1.5e3", "1.5e3" },
			/* DC 10 ISO strings: converted to UTC, ms kept. */
			{ "\"2024-01-02T03:04:05+0200\"", "2024-01-02T01:04:05.000Z" },
			{ "\"2024-01-02T03:04:05.123Z\"", "2024-01-02T03:04:05.123Z" },
			{ "\"2024-01-02T03:04:05Z\"", "2024-01-02T03:04:05.000Z" },
			{ "\"2023-05-30T15:40:47-0400\"", "2023-05-30T19:40:47.000Z" },
			{ "\"2023-12-31T22:30:00.5-09:30\"", "2024-01-01T08:00:00.500Z" },
			{ "\"2024-01-01T01:00:00.999999+0200\"", "2023-12-31T23:00:00.999Z" },
			{ "\"2024-03-01T00:59:59+01\"", "2024-02-29T23:59:59.000Z" },
			{ "\"1970-01-01T00:00:00+0000\"", "1970-01-01T00:00:00.000Z" },
			/* Not one of those: kept as sent. */
			{ "\"1970-01-01T00:30:00+0100\"", "1970-01-01T00:30:00+0100" },
			{ "\"2024-01-02T03:04:05\"", "2024-01-02T03:04:05" },
			{ "\"2023-02-29T00:00:00Z\"", "2023-02-29T00:00:00Z" },
			{ "\"2024-01-02T24:00:00Z\"", "2024-01-02T24:00:00Z" },
			{ "\"2024-01-02T03:04:05+2400\"", "2024-01-02T03:04:05+2400" },
			{ "\"2024-01-02T03:04:05+02:0\"", "2024-01-02T03:04:05+02:0" },
			{ "\"2024-01-02T03:04:05.Z\"", "2024-01-02T03:04:05.Z" },
			{ "\"2024-01-02T03:04:05Z \"", "2024-01-02T03:04:05Z " },
			{ "\"yesterday\"", "yesterday" },
			{ "\"\"", "" },
		};
		for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
			char rest[128];
			snprintf(rest, sizeof(rest), "\"date\":%s,\"changes\":[]",
			    dates[i][0]);
			b = body_of(rest);
			CHECK_INT(parse("repo:refs_changed", b, &ev), BS_PARSE_OK);
			CHECK_STR(ev.date, dates[i][1]);
			free(b);
		}
	}

	TEST("commits attach to the change whose toHash is commits[0].id") {
		char *b = body_of("\"changes\":["
		    "{\"ref\":{\"displayId\":\"gone\",\"type\":\"BRANCH\"},"
		    "\"fromHash\":\"1111111111111111111111111111111111111111\","
		    "\"toHash\":\"0000000000000000000000000000000000000000\","
		    "\"type\":\"DELETE\"},"
		    "{\"ref\":{\"displayId\":\"a\",\"type\":\"BRANCH\"},"
		    "\"fromHash\":\"2222222222222222222222222222222222222222\","
		    "\"toHash\":\"aaaa\",\"type\":\"UPDATE\"},"
		    "{\"ref\":{\"displayId\":\"b\",\"type\":\"BRANCH\"},"
		    "\"fromHash\":\"0000000000000000000000000000000000000000\","
		    "\"toHash\":\"bbbb\",\"type\":\"ADD\"},"
		    "{\"ref\":{\"displayId\":\"n\",\"type\":\"NOTE\"},"
		    "\"toHash\":\"cccc\",\"type\":\"UPDATE\"}],"
		    "\"commits\":[{\"id\":\"bbbb\",\"message\":\"x\",\"author\":"
		    "{\"name\":\"A\",\"emailAddress\":\"a@x\"},\"authorTimestamp\":"
		    "1000,\"parents\":[{\"id\":\"p\"}]}],"
		    "\"toCommit\":{\"id\":\"bbbb\"}");
		CHECK_INT(parse("repo:refs_changed", b, &ev), BS_PARSE_OK);
		CHECK_INT(ev.n_changes, 4);
		CHECK(ev.changes[0].new_hash == NULL);
		CHECK_INT(ev.changes[0].closed, true);
		CHECK_INT(ev.changes[0].truncated, false);
		CHECK_INT(ev.changes[1].n_commits, 0);
		CHECK_INT(ev.changes[1].truncated, true);
		CHECK_STR(ev.changes[1].new_commit, "aaaa");
		CHECK_INT(ev.changes[2].n_commits, 1);
		CHECK_INT(ev.changes[2].truncated, false);
		CHECK_INT(ev.changes[2].created, true);
		CHECK(ev.changes[2].old_hash == NULL);
		CHECK_STR(ev.changes[2].commits[0].date, "1970-01-01T00:00:01.000Z");
		CHECK_STR(ev.changes[2].commits[0].parents[0], "p");
		CHECK_STR(ev.changes[2].commits[0].author.name, "A");
		CHECK(ev.changes[2].commits[0].author.username == NULL);
		CHECK_INT(ev.changes[3].ref_type, BS_REF_OTHER);
		CHECK_STR(ev.changes[3].ref_type_raw, "NOTE");
		free(b);
	}

	TEST("no matching toHash: first non-deleted change; 5 commits truncated") {
		char one[] = "{\"id\":\"c\",\"message\":\"m\"}";
		char rest[1024];
		snprintf(rest, sizeof(rest), "\"changes\":[{\"toHash\":"
		    "\"0000000000000000000000000000000000000000\",\"type\":"
		    "\"DELETE\"},{\"toHash\":\"tagobject\",\"type\":\"ADD\",\"ref\":"
		    "{\"displayId\":\"v1\",\"type\":\"TAG\"}}],\"commits\":"
		    "[%s,%s,%s,%s,%s],\"toCommit\":{\"id\":\"thecommit\"}", one, one,
		    one, one, one);
		char *b = body_of(rest);
		CHECK_INT(parse("repo:refs_changed", b, &ev), BS_PARSE_OK);
		CHECK_INT(ev.changes[0].n_commits, 0);
		CHECK_INT(ev.changes[1].n_commits, 5);
		CHECK_INT(ev.changes[1].truncated, true);
		CHECK_STR(ev.changes[1].new_hash, "tagobject");
		CHECK_STR(ev.changes[1].new_commit, "thecommit");
		free(b);
	}

	TEST("head_author: toCommit's author and date, on its change only") {
		char *b = body_of("\"changes\":[{\"toHash\":\"t\",\"type\":\"ADD\"},"
		    "{\"toHash\":\"u\"}],\"toCommit\":{\"id\":\"u\","
		    "\"authorTimestamp\":1537538991000,\"author\":{\"name\":"
		    "\"amuniz\",\"displayName\":\"A M\",\"emailAddress\":\"a@x\"}}");
		CHECK_INT(parse("repo:refs_changed", b, &ev), BS_PARSE_OK);
		CHECK(ev.changes[0].head_author.name == NULL);
		CHECK(ev.changes[0].head_date == NULL);
		CHECK_STR(ev.changes[1].head_author.name, "A M");
		CHECK_STR(ev.changes[1].head_author.username, "amuniz");
		CHECK_STR(ev.changes[1].head_author.email, "a@x");
		CHECK_STR(ev.changes[1].head_date, "2018-09-21T14:09:51.000Z");
		free(b);
	}

	TEST("commit list limit applies to the top-level commits") {
		struct bs_parse_limits small = lim;
		small.max_commits = 2;
		char *b = body_of("\"changes\":[{\"toHash\":\"x\"}],\"commits\":"
		    "[{\"id\":\"1\"},{\"id\":\"2\"},{\"id\":\"3\"}]");
		CHECK_INT(bs_parse_event(BS_PRODUCT_DC, "repo:refs_changed", b,
		    strlen(b), &small, &ev, err, sizeof(err)), BS_PARSE_LIMIT);
		CHECK(strncmp(err, "more than 2 commits in one change", 33) == 0);
		free(b);
	}

	TEST("missing required fields: SCHEMA") {
		CHECK_INT(parse("repo:refs_changed", "{\"changes\":[]}", &ev),
		    BS_PARSE_SCHEMA);
		CHECK_STR(err, "missing repository");
		CHECK_INT(parse("repo:refs_changed", "{\"repository\":[],"
		    "\"changes\":[]}", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "repository is not an object");
		CHECK_INT(parse("repo:refs_changed", "{\"repository\":{\"slug\":"
		    "\"r\"},\"changes\":[]}", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "missing repository.project.key");
		CHECK_INT(parse("repo:refs_changed", "{\"repository\":{\"project\":"
		    "{\"key\":\"P\"},\"slug\":7},\"changes\":[]}", &ev),
		    BS_PARSE_SCHEMA);
		CHECK_STR(err, "missing repository.slug");
		char *b = body_of("\"x\":1");
		CHECK_INT(parse("repo:refs_changed", b, &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "missing changes");
		free(b);
		b = body_of("\"changes\":{}");
		CHECK_INT(parse("mirror:repo_synchronized", b, &ev),
		    BS_PARSE_SCHEMA);
		CHECK_STR(err, "changes is not an array");
		free(b);
		/* refLimitExceeded: only a top-level JSON true sets it */
		b = body_of("\"changes\":[],\"refLimitExceeded\":true");
		CHECK_INT(parse("mirror:repo_synchronized", b, &ev), BS_PARSE_OK);
		CHECK(ev.ref_limit_exceeded);
		free(b);
		b = body_of("\"changes\":[],\"refLimitExceeded\":\"true\"");
		CHECK_INT(parse("mirror:repo_synchronized", b, &ev), BS_PARSE_OK);
		CHECK(!ev.ref_limit_exceeded);
		free(b);
		b = body_of("\"changes\":[],\"x\":{\"refLimitExceeded\":true}");
		CHECK_INT(parse("mirror:repo_synchronized", b, &ev), BS_PARSE_OK);
		CHECK(!ev.ref_limit_exceeded);
		free(b);
		CHECK_INT(parse("pr:merged", "{\"eventKey\":\"pr:merged\"}", &ev),
		    BS_PARSE_SCHEMA);
		CHECK_STR(err, "missing pullRequest object");
		CHECK_INT(parse("pr:merged", "{\"pullRequest\":\"x\"}", &ev),
		    BS_PARSE_SCHEMA);
		CHECK_STR(err, "pullRequest is not an object");
		CHECK_INT(parse("pr:merged", "{\"pullRequest\":{}}", &ev),
		    BS_PARSE_SCHEMA);
		CHECK_STR(err, "missing pullRequest.id");
		CHECK_INT(parse("pr:merged", "{\"pullRequest\":{\"id\":\"7\"}}",
		    &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "pullRequest.id is not an integer");
		CHECK_INT(parse("pr:merged", "{\"pullRequest\":{\"id\":[7]}}",
		    &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "pullRequest.id is not an integer");
		CHECK_INT(parse("pr:merged", "{\"pullRequest\":{\"id\":\"7\","
		    "\"id\":8}}", &ev), BS_PARSE_OK);
		CHECK_INT(ev.pr->id, 8);
		CHECK_INT(parse("pr:merged", "{\"pullRequest\":{\"id\":7.5}}", &ev),
		    BS_PARSE_SCHEMA);
		CHECK_STR(err, "pullRequest.id is not an integer");
		CHECK_INT(parse("pr:merged", "{\"pullRequest\":{\"id\":"
		    "9223372036854775808}}", &ev), BS_PARSE_SCHEMA);
		CHECK_INT(parse("pr:merged", "{\"pullRequest\":{\"id\":"
		    "9223372036854775807}}", &ev), BS_PARSE_OK);
		CHECK_INT(ev.pr->id, INT64_MAX);
		CHECK(ev.repository == NULL);
	}

	TEST("reviewer actions, needs_work and changes_requested") {
		const char *b = "{\"pullRequest\":{\"id\":1}}";
		CHECK_INT(parse("pr:reviewer:needs_work", b, &ev), BS_PARSE_OK);
		CHECK_INT(ev.pr->action, BS_PR_CHANGES_REQUESTED);
		CHECK_INT(parse("pr:reviewer:changes_requested", b, &ev),
		    BS_PARSE_OK);
		CHECK_INT(ev.pr->action, BS_PR_CHANGES_REQUESTED);
		CHECK_INT(parse("pr:reviewer:updated", b, &ev), BS_PARSE_OK);
		CHECK_INT(ev.pr->action, BS_PR_REVIEWER);
		CHECK_INT(parse("pr:comment:edited", b, &ev), BS_PARSE_OK);
		CHECK_INT(ev.pr->action, BS_PR_COMMENT);
		CHECK_INT(parse("pr:to_ref_updated", b, &ev), BS_PARSE_OK);
		CHECK_INT(ev.type, BS_EVENT_OTHER);
		CHECK(ev.pr == NULL);
	}

	TEST("other DC keys keep repository and actor") {
		char *b = body_of("\"actor\":{\"name\":\"u\"},\"changes\":5");
		CHECK_INT(parse("repo:modified", b, &ev), BS_PARSE_OK);
		CHECK_INT(ev.type, BS_EVENT_OTHER);
		CHECK_STR(ev.repository, "P/r");
		CHECK_STR(ev.actor.username, "u");
		CHECK_INT(ev.n_changes, 0);
		free(b);
	}

	TEST("deep nesting refused in DC too") {
		char b[300];
		memset(b, '[', sizeof(b));
		CHECK_INT(bs_parse_event(BS_PRODUCT_DC, "repo:refs_changed", b,
		    sizeof(b), &lim, &ev, err, sizeof(err)), BS_PARSE_LIMIT);
		CHECK_STR(err, "JSON nested deeper than 64 levels at byte 65");
	}

	TEST("bs_event_type_of") {
		CHECK_INT(bs_event_type_of(BS_PRODUCT_CLOUD, "repo:push"),
		    BS_EVENT_PUSH);
		CHECK_INT(bs_event_type_of(BS_PRODUCT_DC, "repo:push"),
		    BS_EVENT_OTHER);
		CHECK_INT(bs_event_type_of(BS_PRODUCT_DC, "repo:refs_changed"),
		    BS_EVENT_PUSH);
		CHECK_INT(bs_event_type_of(BS_PRODUCT_DC,
		    "mirror:repo_synchronized"), BS_EVENT_PUSH);
		CHECK_INT(bs_event_type_of(BS_PRODUCT_DC, "diagnostics:ping"),
		    BS_EVENT_PING);
		CHECK_INT(bs_event_type_of(BS_PRODUCT_CLOUD,
		    "pullrequest:comment_reopened"), BS_EVENT_PR);
		CHECK_INT(bs_event_type_of(BS_PRODUCT_CLOUD, "pullrequest:push"),
		    BS_EVENT_OTHER);
		CHECK_INT(bs_event_type_of(BS_PRODUCT_CLOUD, "issue:created"),
		    BS_EVENT_OTHER);
		CHECK_INT(bs_event_type_of(BS_PRODUCT_DC, NULL), BS_EVENT_OTHER);
		CHECK_INT(bs_event_type_of(BS_PRODUCT_UNKNOWN, "repo:push"),
		    BS_EVENT_OTHER);
		CHECK_INT(bs_pr_action_of(BS_PRODUCT_CLOUD,
		    "pullrequest:changes_request_removed"),
		    BS_PR_CHANGES_REQUEST_REMOVED);
		CHECK_INT(bs_pr_action_of(BS_PRODUCT_DC, "pr:deleted"),
		    BS_PR_DELETED);
	}

	TEST("bs_detect_product") {
		const char *dc_body = "{\"eventKey\":\"repo:refs_changed\"}";
		const char *nested = "{\"x\":{\"eventKey\":1}}";
		CHECK_INT(bs_detect_product("repo:push", NULL, "id", NULL, NULL, 0),
		    BS_PRODUCT_DC);
		CHECK_INT(bs_detect_product("repo:push", "uuid", "id", NULL, NULL,
		    0), BS_PRODUCT_CLOUD);
		CHECK_INT(bs_detect_product("repo:push", "uuid", NULL, NULL, NULL,
		    0), BS_PRODUCT_CLOUD);
		CHECK_INT(bs_detect_product("pr:opened", NULL, NULL, NULL, NULL, 0),
		    BS_PRODUCT_DC);
		CHECK_INT(bs_detect_product("mirror:x", NULL, NULL, NULL, NULL, 0),
		    BS_PRODUCT_DC);
		CHECK_INT(bs_detect_product("diagnostics:ping", NULL, NULL, NULL,
		    NULL, 0), BS_PRODUCT_DC);
		CHECK_INT(bs_detect_product("repo:refs_changed", NULL, NULL, NULL,
		    NULL, 0), BS_PRODUCT_DC);
		CHECK_INT(bs_detect_product("repo:modified", NULL, NULL, NULL,
		    dc_body, strlen(dc_body)), BS_PRODUCT_DC);
		CHECK_INT(bs_detect_product("repo:modified", NULL, NULL, NULL,
		    nested, strlen(nested)), BS_PRODUCT_UNKNOWN);
		CHECK_INT(bs_detect_product("repo:push", NULL, NULL, NULL, NULL, 0),
		    BS_PRODUCT_CLOUD);
		CHECK_INT(bs_detect_product("pullrequest:created", NULL, NULL,
		    "Bitbucket-Webhooks/2.0", "{}", 2), BS_PRODUCT_CLOUD);
		CHECK_INT(bs_detect_product("repo:fork", NULL, NULL, NULL, "{}", 2),
		    BS_PRODUCT_UNKNOWN);
		/* A key only Cloud sends wins over the body; an ambiguous key
		 * with a UUID but a DC body is DC. */
		CHECK_INT(bs_detect_product("repo:push", NULL, NULL, NULL, dc_body,
		    strlen(dc_body)), BS_PRODUCT_CLOUD);
		CHECK_INT(bs_detect_product("repo:modified", "uuid", NULL, NULL,
		    dc_body, strlen(dc_body)), BS_PRODUCT_DC);
		CHECK_INT(bs_detect_product("repo:fork", "uuid", NULL, NULL, "{}",
		    2), BS_PRODUCT_CLOUD);
		CHECK_INT(bs_detect_product(NULL, NULL, NULL, NULL, NULL, 0),
		    BS_PRODUCT_UNKNOWN);
		/* A deep body does not make the probe dig forever. */
		char deep[5000];
		memset(deep, '[', sizeof(deep));
		CHECK_INT(bs_detect_product("x", NULL, NULL, NULL, deep,
		    sizeof(deep)), BS_PRODUCT_UNKNOWN);
	}

	TEST("unknown product: detected from the key and body") {
		const char *b = "{\"pullRequest\":{\"id\":3}}";
		CHECK_INT(bs_parse_event(BS_PRODUCT_UNKNOWN, "pr:merged", b,
		    strlen(b), NULL, &ev, err, sizeof(err)), BS_PARSE_OK);
		CHECK_INT(ev.product, BS_PRODUCT_DC);
		CHECK_INT(ev.pr->id, 3);
		CHECK_INT(ev.pr->action, BS_PR_MERGED);
	}

	bs_event_release(&ev);
	return TEST_REPORT();
}
