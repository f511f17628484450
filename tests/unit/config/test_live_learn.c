/* test_live_learn: the targets in force (issue 16): the config's, then
 * those learned for its discover projects; the same answer changes
 * nothing, a changed one replaces the project's targets, a project not
 * discovering is refused, non-manual code deployments are left out unless
 * include_non_manual, a reload keeps what was learned, and the worker's
 * wait (discovery_missing) ends with the first mapping. ASan checks that
 * every arena is freed once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/live.h"
#include "tests/unit/test.h"

static char path[64];

static void
write_config(const char *extra)
{
	char text[4096];
	snprintf(text, sizeof(text),
	    "listen: 127.0.0.1:0\n"
	    "deployments:\n"
	    "  - {org: acme, deployment: shop-web, repository: acme/shop, "
	    "branch: main, environment: production}\n"
	    "projects:\n"
	    "  - org: acme\n"
	    "    project: payments\n"
	    "    discover: true\n"
	    "%s", extra);
	bs_test_write_file(path, text);
}

/* One learned code deployment with one environment. */
static void
code_dep(struct bs_arena *a, struct bs_code_deployment *cd, const char *slug,
    const char *env, const char *branch, const char *tracking)
{
	memset(cd, 0, sizeof(*cd));
	cd->deployment = bs_arena_strdup(a, slug);
	cd->repository = bs_arena_strdup(a, "acme/pay");
	cd->track = -1;
	cd->tracking_type = tracking ? bs_arena_strdup(a, tracking) : NULL;
	cd->envs = bs_arena_alloc(a, sizeof(*cd->envs));
	cd->n_envs = 1;
	cd->envs[0].environment = bs_arena_strdup(a, env);
	cd->envs[0].branches = bs_arena_alloc(a, sizeof(char *));
	cd->envs[0].branches[0] = bs_arena_strdup(a, branch);
	cd->envs[0].n_branches = 1;
}

/* Learns n code deployments (slug, env, branch, tracking) x n. */
static int
learn(struct bs_live *l, const char *project, size_t n, const char *const *v)
{
	struct bs_arena a;
	bs_arena_init(&a);
	struct bs_discovered d = { 0 };
	d.items = bs_arena_alloc(&a, (n ? n : 1) * sizeof(*d.items));
	d.n = n;
	for (size_t i = 0; i < n; i++)
		code_dep(&a, &d.items[i], v[4 * i], v[4 * i + 1], v[4 * i + 2],
		    v[4 * i + 3]);
	return bs_live_learn(l, "acme", project, &a, &d, 1000);
}

static const struct bs_deployment *
find_target(const struct bs_live *l, const char *dep, const char *env)
{
	for (size_t i = 0; i < l->n_deps; i++)
		if (strcmp(l->deps[i].deployment, dep) == 0 &&
		    strcmp(l->deps[i].environment, env) == 0)
			return &l->deps[i];
	return NULL;
}

int
main(void)
{
	snprintf(path, sizeof(path), "/tmp/bs-test-learn-%ld.yaml", (long)getpid());
	const unsigned uses = BS_USES_REDIS;
	struct bs_config *first = calloc(1, sizeof(*first));
	struct bs_diags d;
	write_config("    track: merge\n");
	bs_diags_init(&d);
	CHECK_INT(bs_config_load_for(path, uses, first, &d), 0);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%d:%d: %s\n", d.items[i].line, d.items[i].column,
		    d.items[i].message);
	bs_diags_release(&d);
	char err[256] = "";
	struct bs_live *l = bs_live_new(first, path, uses, err, sizeof(err));
	CHECK(l != NULL);
	if (!l)
		return TEST_REPORT();

	TEST("before anything is learned: the config's targets, one project missing") {
		CHECK_INT(l->n_deps, 1);
		CHECK_STR(l->deps[0].deployment, "shop-web");
		CHECK_INT(l->discovery_missing, 1);
		CHECK(bs_live_learned_at(l, "acme", "payments") == 0);
	}
	static const char *const v1[] = {
		"pay-web", "production", "main", "MANUAL",
		"pay-web", "staging", "release/*", NULL,
		"pay-batch", "production", "main", "AUTO_PUSH",
	};
	TEST("a first answer: its targets follow the config's, under the project's settings") {
		CHECK(learn(l, "payments", 3, v1) > 0);
		CHECK_INT(l->discovery_missing, 0);
		CHECK_INT(l->n_deps, 3);     /* pay-batch is not MANUAL: left out */
		const struct bs_deployment *t = find_target(l, "pay-web", "staging");
		CHECK(t != NULL);
		if (t) {
			CHECK_INT(t->origin, BS_ORIGIN_DISCOVERED);
			CHECK_STR(t->project, "payments");
			CHECK_STR(t->org, "acme");
			CHECK_STR(t->branches[0], "release/*");
			CHECK_INT(t->track, BS_TRACK_MERGE);   /* the project's */
		}
		CHECK(find_target(l, "pay-batch", "production") == NULL);
		CHECK(bs_live_learned_at(l, "acme", "payments") == 1000);
	}
	TEST("the same answer again changes nothing, the targets stay where they are") {
		const struct bs_deployment *before = l->deps;
		CHECK_INT(learn(l, "payments", 3, v1), 0);
		CHECK(l->deps == before);
	}
	TEST("a changed answer replaces the project's targets") {
		static const char *const v2[] = {
			"pay-web", "production", "trunk", "MANUAL",
		};
		CHECK_INT(learn(l, "payments", 1, v2), 3);   /* 1 changed, 1 gone: +1 -2 */
		CHECK_INT(l->n_deps, 2);
		const struct bs_deployment *t = find_target(l, "pay-web", "production");
		CHECK(t != NULL);
		if (t)
			CHECK_STR(t->branches[0], "trunk");
		CHECK(find_target(l, "pay-web", "staging") == NULL);
	}
	TEST("a project that does not discover is refused") {
		static const char *const v[] = { "x", "production", "main", NULL };
		CHECK_INT(learn(l, "other", 1, v), -1);
		CHECK_INT(l->n_deps, 2);
	}
	TEST("a reload keeps the learned mapping, under the new project settings") {
		write_config("    include_non_manual: true\n");
		CHECK_INT(bs_live_reload(l), 0);
		CHECK_INT(l->n_deps, 2);
		const struct bs_deployment *t = find_target(l, "pay-web", "production");
		CHECK(t != NULL);
		if (t)
			CHECK_INT(t->track, BS_TRACK_PUSH);
		CHECK_INT(l->discovery_missing, 0);
	}
	TEST("include_non_manual: the non-manual code deployment is a target too") {
		CHECK(learn(l, "payments", 3, v1) > 0);
		CHECK_INT(l->n_deps, 4);
		CHECK(find_target(l, "pay-batch", "production") != NULL);
	}
	TEST("a reload that drops the project: its targets go, nothing is missing") {
		FILE *f = fopen(path, "w");
		CHECK(f != NULL);
		if (f) {
			fprintf(f, "listen: 127.0.0.1:0\ndeployments:\n"
			    "  - {org: acme, deployment: shop-web, repository: acme/shop, "
			    "branch: main, environment: production}\n");
			fclose(f);
		}
		CHECK_INT(bs_live_reload(l), 0);
		CHECK_INT(l->n_deps, 1);
		CHECK_INT(l->discovery_missing, 0);
	}
	bs_live_free(l);
	bs_config_release(first);
	free(first);
	unlink(path);
	return TEST_REPORT();
}
