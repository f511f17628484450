/* test_projects: the projects: form of the config (issue 16). A project
 * written by hand expands into the same targets as the equivalent flat
 * deployments: list (golden); its mistakes are reported at their line
 * and column; a target reached twice is warned about (flat + project,
 * project + project); path_prefix in its three forms; sleuth.graphql_url's
 * default and sleuth.discover_every's range; the projects' tokens. */
#include <stdlib.h>

#include "config/config.h"
#include "config/expand.h"
#include "tests/unit/config/config_fixture.h"
#include "tests/unit/test.h"

static const char head[] =
    "bitbucket: {allow_unsigned: true}\n"
    "sleuth: {dry_run: true}\n";

static int
parse_uses(const char *text, unsigned uses)
{
	return fixture_parse(head, text, uses);
}

static int
parse(const char *text)
{
	return parse_uses(text, BS_USES_ALL);
}

static void
dump(void)
{
	bs_diags_print(&diags, "t.yaml", stderr);
}

/* EXPECT_DIAG at line:col of the text after `head` (2 lines). */
#define EXPECT_AT(sev, sub, ln, col) EXPECT_DIAG(sev, sub, (ln) + 2, col)

static bool
same_list(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool
same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Every field of a target but origin, project and line. */
static bool
same_target(const struct bs_deployment *a, const struct bs_deployment *b)
{
	return same_str(a->org, b->org) && same_str(a->deployment, b->deployment) &&
	    same_str(a->repository, b->repository) &&
	    same_list(a->branches, a->n_branches, b->branches, b->n_branches) &&
	    same_str(a->environment, b->environment) && a->track == b->track &&
	    same_str(a->tag_pattern, b->tag_pattern) &&
	    same_str(a->token_env, b->token_env) &&
	    same_str(a->token_file, b->token_file) &&
	    same_str(a->token, b->token) && a->dry_run == b->dry_run &&
	    same_list(a->tags, a->n_tags, b->tags, b->n_tags) &&
	    a->issue_tags == b->issue_tags &&
	    same_list(a->paths.includes, a->paths.n_includes, b->paths.includes,
	    b->paths.n_includes) &&
	    same_list(a->paths.excludes, a->paths.n_excludes, b->paths.excludes,
	    b->paths.n_excludes);
}

static const char project_form[] =
    "projects:\n"
    "  - org: acme\n"
    "    project: shop\n"
    "    track: merge\n"
    "    token_env: BS_TEST_SHOP_TOKEN\n"
    "    dry_run: false\n"
    "    tags: [web, \"#shop\"]\n"
    "    issue_tags: true\n"
    "    code_deployments:\n"
    "      - deployment: shop-web\n"
    "        repository: acme/shop\n"
    "        track: push\n"
    "        environments:\n"
    "          production: main\n"
    "          staging: \"release/*\"\n"
    "          qa: [qa, \"qa-*\"]\n"
    "        path_prefix: {includes: [/services/web/], excludes: [services/web/docs/]}\n"
    "      - deployment: shop-api\n"
    "        repository: ACME/Shop\n"
    "        environments: {production: main}\n"
    "      - deployment: shop-tags\n"
    "        repository: acme/shop\n"
    "        track: tag\n"
    "        tag_pattern: \"v*\"\n"
    "        environments: {production: ~}\n";

static const char flat_form[] =
    "deployments:\n"
    "  - {org: acme, deployment: shop-web, repository: acme/shop, branch: main,\n"
    "     environment: production, token_env: BS_TEST_SHOP_TOKEN, dry_run: false,\n"
    "     tags: [web, \"#shop\"], issue_tags: true,\n"
    "     path_prefix: {includes: [services/web/], excludes: [services/web/docs/]}}\n"
    "  - {org: acme, deployment: shop-web, repository: acme/shop, branch: \"release/*\",\n"
    "     environment: staging, token_env: BS_TEST_SHOP_TOKEN, dry_run: false,\n"
    "     tags: [web, \"#shop\"], issue_tags: true,\n"
    "     path_prefix: {includes: [services/web/], excludes: [services/web/docs/]}}\n"
    "  - {org: acme, deployment: shop-web, repository: acme/shop, branch: [qa, \"qa-*\"],\n"
    "     environment: qa, token_env: BS_TEST_SHOP_TOKEN, dry_run: false,\n"
    "     tags: [web, \"#shop\"], issue_tags: true,\n"
    "     path_prefix: {includes: [services/web/], excludes: [services/web/docs/]}}\n"
    "  - {org: acme, deployment: shop-api, repository: ACME/Shop, branch: main,\n"
    "     environment: production, track: merge, token_env: BS_TEST_SHOP_TOKEN,\n"
    "     dry_run: false, tags: [web, \"#shop\"], issue_tags: true}\n"
    "  - {org: acme, deployment: shop-tags, repository: acme/shop, track: tag,\n"
    "     tag_pattern: \"v*\", environment: production, token_env: BS_TEST_SHOP_TOKEN,\n"
    "     dry_run: false, tags: [web, \"#shop\"], issue_tags: true}\n";

/* The API credentials that keep path_prefix from warning. */
static const char api[] =
    "bitbucket: {allow_unsigned: true, api: {token_env: BS_TEST_BB_TOKEN}}\n";

int
main(void)
{
	bs_diags_init(&diags);
	unsetenv("BITBUCKET_WEBHOOK_SECRET");
	setenv("SLEUTH_API_TOKEN", "tok", 1);
	setenv("BS_TEST_SHOP_TOKEN", "shop-token", 1);
	setenv("BS_TEST_BB_TOKEN", "bb", 1);
	unsetenv("SLEUTH_GRAPHQL_TOKEN");

	TEST("golden: the project form expands into the flat form's targets") {
		static char text[8192];
		snprintf(text, sizeof(text), "%s%s", api, project_form);
		CHECK_INT(fixture_parse("sleuth: {dry_run: true}\n", text,
		    BS_USES_ALL), 0);
		CHECK_INT(diags.errors, 0);
		CHECK_INT(diags.warnings, 1);   /* bitbucket.secret_env unset */
		struct bs_config proj = cfg;
		memset(&cfg, 0, sizeof(cfg));
		snprintf(text, sizeof(text), "%s%s", api, flat_form);
		struct bs_diags keep = diags;
		bs_diags_init(&diags);
		CHECK_INT(fixture_parse("sleuth: {dry_run: true}\n", text,
		    BS_USES_ALL), 0);
		CHECK_INT(diags.errors, 0);
		if (diags.errors)
			dump();
		CHECK_INT(proj.n_deployments, 5);
		CHECK_INT(cfg.n_deployments, 5);
		for (size_t i = 0; i < 5 && i < proj.n_deployments &&
		    i < cfg.n_deployments; i++) {
			const struct bs_deployment *p = &proj.deployments[i];
			CHECK(same_target(p, &cfg.deployments[i]));
			CHECK_INT(p->origin, BS_ORIGIN_PROJECT);
			CHECK_STR(p->project, "shop");
			CHECK_INT(cfg.deployments[i].origin, BS_ORIGIN_FLAT);
			CHECK(cfg.deployments[i].project == NULL);
		}
		if (proj.n_deployments == 5) {
			/* The values themselves, not only their equality. */
			CHECK_STR(proj.deployments[0].token, "shop-token");
			CHECK_STR(proj.deployments[0].tags[0], "#web");
			CHECK_STR(proj.deployments[0].paths.includes[0], "services/web/");
			CHECK_INT(proj.deployments[0].track, BS_TRACK_PUSH);
			CHECK_INT(proj.deployments[3].track, BS_TRACK_MERGE);
			CHECK_STR(proj.deployments[3].tag_pattern, "*");
			CHECK_STR(proj.deployments[4].tag_pattern, "v*");
			CHECK_INT(proj.deployments[4].n_branches, 0);
			CHECK_INT(proj.deployments[0].line, 16);   /* its env mapping */
			CHECK_INT(proj.deployments[2].n_branches, 2);
		}
		CHECK_INT(proj.n_projects, 1);
		CHECK_INT(proj.projects[0].n_code_deployments, 3);
		CHECK_STR(proj.projects[0].token, "shop-token");
		bs_config_release(&proj);
		bs_diags_release(&keep);
	}

	TEST("bs_expand_code_deployment and bs_expand_keeps") {
		/* Writable strings, as the config's arena holds them. */
		static char s_main[] = "main", s_rel[] = "rel-*", s_prod[] =
		    "production", s_stag[] = "staging", s_web[] = "web", s_repo[] =
		    "acme/shop", s_auto[] = "AUTO_PUSH", s_manual[] = "MANUAL",
		    s_acme[] = "acme", s_shop[] = "shop", s_t[] = "t";
		char *b1[] = { s_main }, *b2[] = { s_rel };
		struct bs_env_mapping envs[] = {
			{ .environment = s_prod, .branches = b1, .n_branches = 1,
			  .line = 7 },
			{ .environment = s_stag, .branches = b2, .n_branches = 1 },
		};
		struct bs_code_deployment cd = { .deployment = s_web,
			.repository = s_repo, .track = -1, .envs = envs,
			.n_envs = 2, .line = 5, .tracking_type = s_auto };
		struct bs_project p = { .org = s_acme, .project = s_shop,
			.track = BS_TRACK_MERGE, .dry_run = 1, .token = s_t };
		struct bs_arena a;
		bs_arena_init(&a);
		struct bs_deployment out[2];
		CHECK_INT(bs_expand_code_deployment(&a, &p, &cd,
		    BS_ORIGIN_DISCOVERED, out), 2);
		CHECK_STR(out[1].environment, "staging");
		CHECK_STR(out[1].branches[0], "rel-*");
		CHECK_INT(out[1].track, BS_TRACK_MERGE);
		CHECK_STR(out[1].tag_pattern, "*");
		CHECK_STR(out[1].token, "t");
		CHECK_INT(out[1].dry_run, 1);
		CHECK_INT(out[0].line, 7);
		CHECK_INT(out[1].line, 5);
		CHECK_INT(out[0].origin, BS_ORIGIN_DISCOVERED);
		CHECK(!bs_expand_keeps(&p, &cd));
		p.include_non_manual = true;
		CHECK(bs_expand_keeps(&p, &cd));
		p.include_non_manual = false;
		cd.tracking_type = s_manual;
		CHECK(bs_expand_keeps(&p, &cd));
		cd.tracking_type = NULL;
		CHECK(bs_expand_keeps(&p, &cd));
		bs_arena_release(&a);
	}

	TEST("errors point at the line and column of the node at fault") {
		CHECK(parse(
		    "projects:\n"                                     /* 1 */
		    "  - org: acme\n"                                 /* 2 */
		    "    project: shop\n"                             /* 3 */
		    "    discover: true\n"                            /* 4 */
		    "    code_deployments:\n"                         /* 5 */
		    "      - deployment: web\n"                       /* 6 */
		    "        repository: acme/shop\n"                 /* 7 */
		    "        environments: {production: main}\n"      /* 8 */
		    "  - org: acme\n"                                 /* 9 */
		    "    project: bare\n"                             /* 10 */
		    "  - org: acme\n"                                 /* 11 */
		    "    project: shop\n"                             /* 12 */
		    "    code_deployments:\n"                         /* 13 */
		    "      - deployment: api\n"                       /* 14 */
		    "        repository: nope\n"                      /* 15 */
		    "        environments: {}\n"                      /* 16 */
		    "      - deployment: cli\n"                       /* 17 */
		    "        repository: acme/cli\n"                  /* 18 */
		    "        environments:\n"                         /* 19 */
		    "          prod uction: main\n"                   /* 20 */
		    "          qa: ~\n"                               /* 21 */
		    "        path_prefix: [cli/, \"a/../b\", \"\"]\n"  /* 22 */
		    "      - repository: acme/x\n"                    /* 23 */
		    "  - org: \"ac me\"\n"                            /* 24 */
		    "    project: other\n"                            /* 25 */
		    "    discover: true\n") != 0);                    /* 26 */
		EXPECT_AT(BS_DIAG_ERROR, "projects[0]: discover: true and "
		    "code_deployments", 6, 7);
		EXPECT_AT(BS_DIAG_ERROR, "projects[1]: no code deployments: write "
		    "code_deployments, or discover: true", 9, 5);
		EXPECT_AT(BS_DIAG_ERROR, "projects[2]: project acme/shop is already "
		    "at projects[0] (line 4)", 12, 14);
		EXPECT_AT(BS_DIAG_ERROR, "projects[2].code_deployments[0].repository: "
		    "expected 'workspace/repo'", 15, 21);
		EXPECT_AT(BS_DIAG_ERROR, "projects[2].code_deployments[0]."
		    "environments: empty", 16, 23);
		EXPECT_AT(BS_DIAG_ERROR, "projects[2].code_deployments[1]."
		    "environments.prod uction: 'prod uction' is not a Sleuth slug",
		    20, 11);
		EXPECT_AT(BS_DIAG_ERROR, "projects[2].code_deployments[1]."
		    "environments.qa: no branch", 21, 15);
		EXPECT_AT(BS_DIAG_ERROR, "projects[2].code_deployments[1]."
		    "path_prefix: 'a/../b': a path prefix is relative", 22, 29);
		EXPECT_AT(BS_DIAG_ERROR, "projects[2].code_deployments[1]."
		    "path_prefix: empty path prefix", 22, 39);
		EXPECT_AT(BS_DIAG_ERROR, "projects[2].code_deployments[2]: missing "
		    "required key 'deployment'", 23, 9);
		EXPECT_AT(BS_DIAG_ERROR, "projects[2].code_deployments[2]: missing "
		    "required key 'environments'", 23, 9);
		EXPECT_AT(BS_DIAG_ERROR, "projects[3].org: 'ac me' is not a Sleuth "
		    "slug", 24, 10);
	}

	TEST("warnings: include_non_manual without discover, tag_pattern, "
	    "upper-case slugs, path_prefix without API credentials") {
		CHECK_INT(parse(
		    "projects:\n"                                     /* 1 */
		    "  - org: acme\n"                                 /* 2 */
		    "    project: Shop\n"                             /* 3 */
		    "    include_non_manual: true\n"                  /* 4 */
		    "    code_deployments:\n"                         /* 5 */
		    "      - deployment: web\n"                       /* 6 */
		    "        repository: acme/shop\n"                 /* 7 */
		    "        tag_pattern: \"v*\"\n"                   /* 8 */
		    "        environments: {production: main}\n"      /* 9 */
		    "        path_prefix: web/\n"                     /* 10 */
		    "      - deployment: tags\n"                      /* 11 */
		    "        repository: acme/shop\n"                 /* 12 */
		    "        track: tag\n"                            /* 13 */
		    "        environments: {production: main}\n"),    /* 14 */
		    0);
		CHECK_INT(diags.errors, 0);
		EXPECT_AT(BS_DIAG_WARNING, "projects[0].include_non_manual: ignored "
		    "without discover: true", 4, 25);
		EXPECT_AT(BS_DIAG_WARNING, "projects[0].project: Sleuth slugs are "
		    "lower-case", 3, 14);
		EXPECT_AT(BS_DIAG_WARNING, "projects[0].code_deployments[0]."
		    "tag_pattern: ignored unless track: tag", 8, 22);
		EXPECT_AT(BS_DIAG_WARNING, "projects[0].code_deployments[1]: track: "
		    "tag without tag_pattern", 13, 16);
		EXPECT_AT(BS_DIAG_WARNING, "projects[0].code_deployments[1]."
		    "environments.production: branch ignored with track: tag", 14,
		    36);
		EXPECT_AT(BS_DIAG_WARNING, "projects[0].code_deployments[0]."
		    "path_prefix: no Bitbucket API credentials: the changed files "
		    "cannot be known, so every push is registered as if there were "
		    "no prefix", 10, 22);
	}

	TEST("a target reached twice: flat + project, project + project") {
		CHECK_INT(parse(
		    "deployments:\n"                                  /* 1 */
		    "  - {org: acme, deployment: shop-web, repository: acme/shop,\n"
		    "     branch: main, environment: production}\n" /* 3 */
		    "projects:\n"                                     /* 4 */
		    "  - org: acme\n"                                 /* 5 */
		    "    project: shop\n"                             /* 6 */
		    "    code_deployments:\n"                         /* 7 */
		    "      - deployment: shop-web\n"                  /* 8 */
		    "        repository: acme/shop\n"                 /* 9 */
		    "        environments: {staging: dev}\n"          /* 10 */
		    "      - deployment: shop-web\n"                  /* 11 */
		    "        repository: acme/shop2\n"                /* 12 */
		    "        environments:\n"                         /* 13 */
		    "          production: main\n"                    /* 14 */
		    "  - org: acme\n"                                 /* 15 */
		    "    project: other\n"                            /* 16 */
		    "    code_deployments:\n"                         /* 17 */
		    "      - deployment: shop-web\n"                  /* 18 */
		    "        repository: acme/shop\n"                 /* 19 */
		    "        environments: {staging: [dev, qa]}\n"),  /* 20 */
		    0);
		CHECK_INT(diags.errors, 0);
		EXPECT_AT(BS_DIAG_WARNING, "projects[0].code_deployments[1]."
		    "environments.production: target acme/shop-web/production is "
		    "also reached by deployments[0] (line 4): a push may be "
		    "registered twice", 14, 23);
		EXPECT_AT(BS_DIAG_WARNING, "projects[1].code_deployments[0]."
		    "environments.staging: target acme/shop-web/staging is also "
		    "reached by projects[0].code_deployments[0].environments.staging "
		    "(line 12): a push may be registered twice", 20, 33);
		CHECK_INT(cfg.n_deployments, 4);
		/* Different environments: no warning. */
		CHECK_INT(parse(
		    "deployments:\n"
		    "  - {org: acme, deployment: web, repository: a/b, branch: main,\n"
		    "     environment: production}\n"
		    "projects:\n"
		    "  - {org: acme, project: p, code_deployments: [{deployment: web,\n"
		    "     repository: a/b, environments: {staging: main}}]}\n"), 0);
		CHECK(find("reached by") == NULL);
	}

	TEST("path_prefix: a string, a list, a mapping; leading '/' dropped") {
		static char text[4096];
		snprintf(text, sizeof(text), "%s%s", api,
		    "deployments:\n"
		    "  - {org: a, deployment: d, repository: a/b, branch: main,\n"
		    "     environment: e1, path_prefix: /svc/web/}\n"
		    "  - {org: a, deployment: d, repository: a/b, branch: main,\n"
		    "     environment: e2, path_prefix: [svc/a/, \"svc/*/lib/\"]}\n"
		    "  - {org: a, deployment: d, repository: a/b, branch: main,\n"
		    "     environment: e3, path_prefix: {excludes: [docs/]}}\n"
		    "  - {org: a, deployment: d, repository: a/b, branch: main,\n"
		    "     environment: e4}\n");
		CHECK_INT(fixture_parse("sleuth: {dry_run: true}\n", text,
		    BS_USES_ALL), 0);
		CHECK_INT(diags.errors, 0);
		CHECK(find("path_prefix") == NULL);
		CHECK_INT(cfg.n_deployments, 4);
		if (cfg.n_deployments == 4) {
			const struct bs_path_prefix *p = &cfg.deployments[0].paths;
			CHECK_INT(p->n_includes, 1);
			CHECK_STR(p->includes[0], "svc/web/");
			CHECK_INT(p->n_excludes, 0);
			p = &cfg.deployments[1].paths;
			CHECK_INT(p->n_includes, 2);
			CHECK_STR(p->includes[1], "svc/*/lib/");
			p = &cfg.deployments[2].paths;
			CHECK_INT(p->n_includes, 0);
			CHECK_INT(p->n_excludes, 1);
			CHECK_STR(p->excludes[0], "docs/");
			p = &cfg.deployments[3].paths;
			CHECK(p->n_includes == 0 && p->n_excludes == 0);
		}
		CHECK(parse(
		    "deployments:\n"
		    "  - {org: a, deployment: d, repository: a/b, branch: main,\n"
		    "     environment: e, path_prefix: {include: [x/]}}\n") != 0);
		EXPECT_AT(BS_DIAG_ERROR, "deployments[0].path_prefix.include: "
		    "unknown key (did you mean 'includes'?)", 3, 36);
		/* The flat form warns without credentials too. */
		CHECK_INT(parse(
		    "deployments:\n"
		    "  - {org: a, deployment: d, repository: a/b, branch: main,\n"
		    "     environment: e, path_prefix: x/}\n"), 0);
		EXPECT_AT(BS_DIAG_WARNING, "deployments[0].path_prefix: no Bitbucket "
		    "API credentials", 3, 35);
	}

	TEST("sleuth.graphql_url: {base_url}/graphql unless written") {
		static const char disc[] =
		    "projects: [{org: acme, project: pay, discover: true}]\n";
		CHECK_INT(parse_uses(disc, 0), 0);
		CHECK_STR(cfg.sleuth.graphql_url, "https://app.sleuth.io/graphql");
		CHECK_INT(fixture_parse("sleuth: {base_url: \"http://127.0.0.1:9/\"}\n",
		    disc, 0), 0);
		CHECK_STR(cfg.sleuth.graphql_url, "http://127.0.0.1:9/graphql");
		CHECK_INT(fixture_parse("sleuth: {graphql_url: "
		    "\"https://sleuth.example/api/graphql\"}\n", disc, 0), 0);
		CHECK_STR(cfg.sleuth.graphql_url, "https://sleuth.example/api/graphql");
		CHECK(fixture_parse("sleuth:\n  graphql_url: http://sleuth.example/g\n",
		    disc, 0) != 0);
		const struct bs_diag *dg = find("sleuth.graphql_url: http:// would "
		    "send the Sleuth API key in clear");
		CHECK(dg != NULL);
		if (dg) {
			CHECK_INT(dg->line, 2);
			CHECK_INT(dg->column, 16);
		}
		CHECK(fixture_parse("sleuth: {graphql_url: \"ftp://x\"}\n", disc,
		    0) != 0);
		CHECK(find("expected http(s)://host") != NULL);
	}

	TEST("sleuth.graphql_auth: apikey (default) or bearer") {
		static const char disc[] =
		    "projects: [{org: acme, project: pay, discover: true}]\n";
		CHECK_INT(parse_uses(disc, 0), 0);
		CHECK_STR(cfg.sleuth.graphql_auth, "apikey");
		CHECK_INT(fixture_parse("sleuth: {graphql_auth: bearer}\n", disc, 0), 0);
		CHECK_STR(cfg.sleuth.graphql_auth, "bearer");
		CHECK(fixture_parse("sleuth:\n  graphql_auth: basic\n", disc, 0) != 0);
		const struct bs_diag *dg = find("sleuth.graphql_auth: expected apikey");
		CHECK(dg != NULL);
		if (dg) {
			CHECK_INT(dg->line, 2);
			CHECK_INT(dg->column, 17);
		}
	}

	TEST("sleuth.discover_every: a duration of 10s .. 24h, default 5m") {
		static const char disc[] =
		    "projects: [{org: acme, project: pay, discover: true}]\n";
		CHECK_INT(parse_uses(disc, 0), 0);
		CHECK_INT(cfg.sleuth.discover_every_ms, 5 * 60 * 1000);
		CHECK_INT(fixture_parse("sleuth: {discover_every: 10s}\n", disc, 0), 0);
		CHECK_INT(cfg.sleuth.discover_every_ms, 10000);
		CHECK_INT(fixture_parse("sleuth: {discover_every: 24h}\n", disc, 0), 0);
		CHECK_INT(cfg.sleuth.discover_every_ms, 86400000);
		CHECK_INT(fixture_parse("sleuth: {discover_every: 90}\n", disc, 0), 0);
		CHECK_INT(cfg.sleuth.discover_every_ms, 90000);
		CHECK(fixture_parse("sleuth: {discover_every: 9s}\n", disc, 0) != 0);
		CHECK(find("sleuth.discover_every: 9000 ms is out of range (10000 .. "
		    "86400000 ms)") != NULL);
		CHECK(fixture_parse("sleuth: {discover_every: 25h}\n", disc, 0) != 0);
		CHECK(find("out of range") != NULL);
		CHECK(fixture_parse("sleuth: {discover_every: soon}\n", disc, 0) != 0);
		CHECK(find("expected a duration") != NULL);
	}

	TEST("tokens: a project's register token; the GraphQL key of discovery") {
		static const char own[] =
		    "projects:\n"
		    "  - org: acme\n"
		    "    project: shop\n"
		    "    token_env: BS_TEST_UNSET_TOKEN\n"
		    "    dry_run: false\n"
		    "    code_deployments: [{deployment: web, repository: a/b,\n"
		    "      environments: {production: main}}]\n";
		unsetenv("BS_TEST_UNSET_TOKEN");
		CHECK(parse(own) != 0);
		EXPECT_AT(BS_DIAG_ERROR, "environment variable BS_TEST_UNSET_TOKEN "
		    "(projects[0].token_env) is not set: set it, or make the project "
		    "dry_run: true", 4, 16);
		CHECK_INT(parse_uses(own, BS_USES_ALL | BS_USES_LENIENT), 0);
		EXPECT_AT(BS_DIAG_WARNING, "(projects[0].token_env) is not set", 4,
		    16);
		CHECK_INT(parse_uses(own, BS_USES_INGEST | BS_USES_REDIS), 0);
		CHECK(find("token_env") == NULL);
		setenv("BS_TEST_UNSET_TOKEN", "tt", 1);
		CHECK_INT(parse(own), 0);
		CHECK_STR(cfg.projects[0].token, "tt");
		CHECK_STR(cfg.deployments[0].token, "tt");
		unsetenv("BS_TEST_UNSET_TOKEN");

		CHECK(parse("projects:\n"
		    "  - {org: acme, project: shop, token_env: \"Abcdefghij0123456789xyz\",\n"
		    "     discover: true}\n") != 0);
		CHECK(find("projects[0].token_env: names no set variable and looks "
		    "like the secret itself") != NULL);
		CHECK(parse("projects:\n"
		    "  - {org: acme, project: shop, token: abc, discover: true}\n")
		    != 0);
		CHECK(find("projects[0].token: secrets come from the environment: "
		    "use token_env") != NULL);

		static const char disc[] =
		    "projects:\n"
		    "  - org: acme\n"
		    "    project: pay\n"
		    "    discover: true\n";
		CHECK(parse(disc) != 0);
		CHECK(find("environment variable SLEUTH_GRAPHQL_TOKEN "
		    "(sleuth.graphql_token_env) is not set: discovery of acme/pay "
		    "needs a Sleuth organisation API key") != NULL);
		CHECK_INT(parse_uses(disc, BS_USES_ALL | BS_USES_LENIENT), 0);
		CHECK(find("SLEUTH_GRAPHQL_TOKEN") != NULL);
		CHECK_INT(parse_uses(disc, BS_USES_INGEST | BS_USES_REDIS), 0);
		CHECK(find("SLEUTH_GRAPHQL_TOKEN") == NULL);
		setenv("SLEUTH_GRAPHQL_TOKEN", "gql", 1);
		CHECK_INT(parse(disc), 0);
		CHECK_STR(cfg.sleuth.graphql_token, "gql");
		CHECK_INT(cfg.n_deployments, 0);
		CHECK(find("no deployments") == NULL);
		unsetenv("SLEUTH_GRAPHQL_TOKEN");
		/* The project's own key. */
		setenv("BS_TEST_PAY_GQL", "pay-gql", 1);
		CHECK_INT(parse("projects:\n"
		    "  - {org: acme, project: pay, discover: true,\n"
		    "     graphql_token_env: BS_TEST_PAY_GQL}\n"), 0);
		CHECK_STR(cfg.projects[0].graphql_token, "pay-gql");
		CHECK(cfg.sleuth.graphql_token == NULL);
		unsetenv("BS_TEST_PAY_GQL");
		CHECK(parse("projects:\n"
		    "  - {org: acme, project: pay, discover: true,\n"
		    "     graphql_token_env: BS_TEST_PAY_GQL}\n") != 0);
		EXPECT_AT(BS_DIAG_ERROR, "environment variable BS_TEST_PAY_GQL "
		    "(projects[0].graphql_token_env) is not set", 3, 25);
		/* Without discover, no GraphQL key is needed. */
		CHECK_INT(parse("projects:\n"
		    "  - {org: acme, project: s, code_deployments: [{deployment: w,\n"
		    "     repository: a/b, environments: {production: main}}]}\n"), 0);
		CHECK(find("GRAPHQL") == NULL);
	}

	bs_config_release(&cfg);
	bs_diags_release(&diags);
	return TEST_REPORT();
}
