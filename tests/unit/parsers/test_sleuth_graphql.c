/* test_sleuth_graphql: the project query and Sleuth's answer
 * (parsers/sleuth_graphql.h) and pathPrefix values.
 *
 * The answers under tests/fixtures/sleuth/ (see its README.md): two
 * projects with Bitbucket Cloud, Data Center, GitHub, GitLab, FLAG and
 * MANUAL change sources, prefix and glob mappings, tracking types, both
 * pathPrefix forms; an errors answer; a null project. Then hand-written
 * bodies: field order, duplicates, nulls and wrong types, bad slugs, the
 * caps, deep nesting, huge strings, bad UTF-8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "parsers/sleuth_graphql.h"
#include "tests/unit/parsers/api_fixture.h"
#include "tests/unit/test.h"

static char err[256];
static struct bs_arena arena;

static int
parse_s(const char *body, struct bs_discovered *d)
{
	err[0] = '\0';
	return bs_graphql_parse_project(body, strlen(body), &arena, d, err,
	    sizeof(err));
}

static int
parse_file(const char *name, struct bs_discovered *d)
{
	size_t len;
	char *b = bs_api_fixture("sleuth", name, &len);
	err[0] = '\0';
	int rc = bs_graphql_parse_project(b, len, &arena, d, err, sizeof(err));
	free(b);
	return rc;
}

/* One change source in an answer, around `inner` (the source's fields). */
static int
one(const char *inner, struct bs_discovered *d)
{
	char *b = bs_arena_printf(&arena,
	    "{\"data\":{\"project\":{\"changeSources\":[{%s}]}}}", inner);
	return parse_s(b, d);
}

#define REPO "\"repository\":{\"owner\":\"acme\",\"name\":\"shop\"," \
	"\"provider\":\"BITBUCKET\"}"
#define MAPS "\"environmentMappings\":[{\"environmentSlug\":\"production\"," \
	"\"branch\":\"main\"}]"

static const char *
str_of(yajl_val v)
{
	const char *s = v ? YAJL_GET_STRING(v) : NULL;
	return s ? s : "";
}

static void
test_query(void)
{
	TEST("query: the Terraform provider's query, slug as a variable") {
		size_t len;
		char *q = bs_graphql_project_query(&arena, "shop", &len);
		CHECK(q != NULL);
		CHECK_INT(len, strlen(q));
		char ebuf[128];
		yajl_val v = yajl_tree_parse(q, ebuf, sizeof(ebuf));
		CHECK(v != NULL);
		const char *qp[] = { "query", NULL };
		const char *vp[] = { "variables", "projectSlug", NULL };
		yajl_val qv = yajl_tree_get(v, qp, yajl_t_string);
		yajl_val sv = yajl_tree_get(v, vp, yajl_t_string);
		CHECK(strstr(str_of(qv),
		    "project(projectSlug: $projectSlug)"));
		CHECK(strstr(str_of(qv),
		    "environmentMappings { environmentSlug branch }"));
		CHECK(strstr(str_of(qv), "... on CodeChangeSource"));
		CHECK(strstr(str_of(qv), "pathPrefix"));
		CHECK(strstr(str_of(qv), "deployTrackingType"));
		CHECK_STR(str_of(sv), "shop");
		yajl_tree_free(v);
	}
	TEST("query: the slug is JSON-escaped") {
		size_t len;
		const char *slug = "a\"b\\c\n\xc3\xa9";
		char *q = bs_graphql_project_query(&arena, slug, &len);
		CHECK(q != NULL);
		CHECK(q && strstr(q, "\"projectSlug\":\"a\\\"b\\\\c\\n\xc3\xa9\""));
		char ebuf[128];
		yajl_val v = yajl_tree_parse(q, ebuf, sizeof(ebuf));
		const char *vp[] = { "variables", "projectSlug", NULL };
		yajl_val sv = v ? yajl_tree_get(v, vp, yajl_t_string) : NULL;
		CHECK_STR(str_of(sv), slug);
		yajl_tree_free(v);
	}
	TEST("query: invalid UTF-8 or no slug: NULL") {
		size_t len = 7;
		CHECK(bs_graphql_project_query(&arena, "a\xff", &len) == NULL);
		CHECK_INT(len, 0);
		CHECK(bs_graphql_project_query(&arena, "\xc0\xaf", &len) == NULL);
		CHECK(bs_graphql_project_query(&arena, NULL, &len) == NULL);
	}
}

static void
test_fixtures(void)
{
	struct bs_discovered d;

	TEST("shop: Bitbucket Cloud kept, GitHub / FLAG / MANUAL skipped") {
		CHECK_INT(parse_file("project_shop.json", &d), 0);
		CHECK_INT(d.n, 2);
		CHECK_INT(d.skipped_other, 3);
		CHECK_INT(d.skipped_bad, 0);
		struct bs_code_deployment *w = &d.items[0], *a = &d.items[1];
		CHECK_STR(w->deployment, "shop-web");
		CHECK_STR(w->name, "Shop web");
		CHECK_STR(w->repository, "acme/shop");
		CHECK_INT(w->track, -1);
		CHECK(w->tag_pattern == NULL);
		CHECK_STR(w->tracking_type, "MANUAL");
		CHECK_INT(w->line, 0);
		CHECK_INT(w->n_envs, 2);
		CHECK_STR(w->envs[0].environment, "production");
		CHECK_INT(w->envs[0].n_branches, 1);
		CHECK_STR(w->envs[0].branches[0], "main");
		CHECK_STR(w->envs[1].environment, "staging");
		CHECK_STR(w->envs[1].branches[0], "release/*");   /* prefix */
		CHECK_INT(w->envs[1].line, 0);
		CHECK_INT(w->paths.n_includes, 1);
		CHECK_STR(w->paths.includes[0], "services/web/");
		CHECK_INT(w->paths.n_excludes, 1);
		CHECK_STR(w->paths.excludes[0], "services/web/docs/");
		CHECK_STR(a->deployment, "shop-api");
		CHECK_STR(a->tracking_type, "AUTO_PUSH");
		CHECK_STR(a->envs[1].environment, "qa");
		CHECK_STR(a->envs[1].branches[0], "qa-*");       /* glob */
		CHECK_INT(a->paths.n_includes, 2);               /* comma list */
		CHECK_STR(a->paths.includes[0], "services/api/");
		CHECK_STR(a->paths.includes[1], "libs/common/");
		CHECK_INT(a->paths.n_excludes, 0);
	}
	TEST("payments: Data Center kept, GitLab skipped, bad mappings dropped") {
		CHECK_INT(parse_file("project_payments.json", &d), 0);
		CHECK_INT(d.n, 2);
		CHECK_INT(d.skipped_other, 1);
		CHECK_INT(d.skipped_bad, 0);
		struct bs_code_deployment *w = &d.items[0], *k = &d.items[1];
		CHECK_STR(w->deployment, "pay-web");
		CHECK(w->name == NULL);
		CHECK_STR(w->repository, "PAY/pay-web");
		CHECK_STR(w->tracking_type, "MANUAL");     /* upper-cased */
		CHECK_INT(w->n_envs, 2);                   /* "" and "bad slug!" out */
		CHECK_STR(w->envs[0].environment, "production");
		CHECK_STR(w->envs[1].environment, "staging");
		CHECK_STR(w->envs[1].branches[0], "release/*");
		CHECK(w->paths.n_includes == 0 && w->paths.n_excludes == 0);
		CHECK_STR(k->deployment, "pay-worker");
		CHECK_STR(k->tracking_type, "BUILD");
		CHECK_INT(k->paths.n_includes, 0);
		CHECK_INT(k->paths.n_excludes, 1);
		CHECK_STR(k->paths.excludes[0], "docs/");
	}
	TEST("errors: Sleuth refused, with its message") {
		CHECK_INT(parse_file("errors.json", &d), -1);
		CHECK_STR(err, "Sleuth refused: You do not have permission to "
		    "perform this action");
		CHECK(d.items == NULL && d.n == 0);
	}
	TEST("null project: no such project") {
		CHECK_INT(parse_file("project_null.json", &d), -1);
		CHECK_STR(err, "no such project");
	}
}

static void
test_answers(void)
{
	struct bs_discovered d;

	TEST("answer: errors without data, message sanitised and cut") {
		CHECK_INT(parse_s("{\"errors\":[{\"message\":\"bad\\ntoken \\u00e9\"}]}",
		    &d), -1);
		CHECK_STR(err, "Sleuth refused: bad?token ??");
		char big[400];
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		char *b = bs_arena_printf(&arena, "{\"data\":{\"project\":{"
		    "\"changeSources\":[]}},\"errors\":[{\"message\":\"%s\"}]}", big);
		CHECK_INT(parse_s(b, &d), -1);
		CHECK(strncmp(err, "Sleuth refused: xxx", 19) == 0);
		CHECK(strlen(err) < 160);
		CHECK_INT(parse_s("{\"errors\":[{\"locations\":[]},{\"message\":"
		    "\"second\"}]}", &d), -1);
		CHECK_STR(err, "Sleuth refused: second");
		CHECK_INT(parse_s("{\"errors\":[\"x\"]}", &d), -1);
		CHECK_STR(err, "Sleuth refused: (no message)");
		CHECK_INT(parse_s("{\"errors\":{\"message\":\"m\"}}", &d), -1);
		CHECK_STR(err, "Sleuth refused: (no message)");
	}
	TEST("answer: errors null or empty is no error") {
		CHECK_INT(parse_s("{\"errors\":null,\"data\":{\"project\":"
		    "{\"changeSources\":[]}}}", &d), 0);
		CHECK_INT(parse_s("{\"errors\":[],\"data\":{\"project\":"
		    "{\"changeSources\":[]}}}", &d), 0);
		CHECK_INT(d.n, 0);
	}
	TEST("answer: data, project, changeSources missing or wrong") {
		CHECK_INT(parse_s("{}", &d), -1);
		CHECK_STR(err, "no such project");
		CHECK_INT(parse_s("{\"data\":null}", &d), -1);
		CHECK_STR(err, "no such project");
		CHECK_INT(parse_s("{\"data\":{}}", &d), -1);
		CHECK_STR(err, "no such project");
		CHECK_INT(parse_s("{\"data\":[]}", &d), -1);
		CHECK_STR(err, "data is not an object");
		CHECK_INT(parse_s("{\"data\":{\"project\":\"shop\"}}", &d), -1);
		CHECK_STR(err, "data.project is not an object");
		CHECK_INT(parse_s("{\"data\":{\"project\":{}}}", &d), -1);
		CHECK_STR(err, "data.project.changeSources is not an array");
		CHECK_INT(parse_s("{\"data\":{\"project\":{\"changeSources\":{}}}}",
		    &d), -1);
		CHECK_STR(err, "data.project.changeSources is not an array");
		CHECK_INT(parse_s("{\"data\":{\"project\":{\"changeSources\":null}}}",
		    &d), -1);
		CHECK_STR(err, "data.project.changeSources is not an array");
		CHECK_INT(parse_s("[]", &d), -1);
		CHECK_STR(err, "top-level JSON value is not an object");
		CHECK_INT(parse_s("\"x\"", &d), -1);
		CHECK_STR(err, "top-level JSON value is not an object");
		err[0] = '\0';
		CHECK_INT(bs_graphql_parse_project("", 0, &arena, &d, err,
		    sizeof(err)), -1);
		CHECK_STR(err, "empty body");
	}
	TEST("answer: a repeated key: the last wins") {
		CHECK_INT(parse_s("{\"data\":{\"project\":{\"changeSources\":[{"
		    "\"slug\":\"a\"," REPO "," MAPS "}]}},\"data\":{\"project\":null}}",
		    &d), -1);
		CHECK_STR(err, "no such project");
		CHECK_INT(one("\"slug\":\"first\",\"slug\":\"second\","
		    "\"repository\":{\"owner\":\"x\",\"name\":\"y\",\"provider\":"
		    "\"GITHUB\"}," REPO "," MAPS, &d), 0);
		CHECK_INT(d.n, 1);
		CHECK_STR(d.items[0].deployment, "second");
		CHECK_STR(d.items[0].repository, "acme/shop");
		CHECK_INT(one("\"slug\":\"s\"," REPO ",\"environmentMappings\":"
		    "[{\"environmentSlug\":\"a\",\"branch\":\"x\"}]," MAPS, &d), 0);
		CHECK_INT(d.items[0].n_envs, 1);
		CHECK_STR(d.items[0].envs[0].environment, "production");
	}
	TEST("answer: a repeated repository or environmentMappings: the last wins") {
		CHECK_INT(one("\"slug\":\"s\",\"repository\":\"acme/shop\"," REPO
		    "," MAPS, &d), 0);
		CHECK_INT(d.n, 1);
		CHECK_STR(d.items[0].repository, "acme/shop");
		CHECK_INT(one("\"slug\":\"s\",\"repository\":[]," REPO "," MAPS, &d),
		    0);
		CHECK_INT(d.n, 1);
		CHECK_INT(one("\"slug\":\"s\"," REPO ",\"environmentMappings\":{},"
		    MAPS, &d), 0);
		CHECK_INT(d.n, 1);
		CHECK_STR(d.items[0].envs[0].branches[0], "main");
		CHECK_INT(one("\"slug\":\"s\"," REPO ",\"environmentMappings\":7,"
		    MAPS, &d), 0);
		CHECK_INT(d.n, 1);
		/* and the other way: a good one replaced by a bad one */
		CHECK_INT(one("\"slug\":\"s\"," REPO ",\"repository\":\"x\"," MAPS,
		    &d), 0);
		CHECK_INT(d.n + d.skipped_bad * 10, 10);
		CHECK_INT(one("\"slug\":\"s\"," REPO ",\"repository\":null," MAPS,
		    &d), 0);
		CHECK_INT(d.n + d.skipped_bad * 10, 10);
		CHECK_INT(one("\"slug\":\"s\"," REPO "," MAPS
		    ",\"environmentMappings\":{}", &d), 0);
		CHECK_INT(d.n + d.skipped_bad * 10, 10);
	}
	TEST("answer: type absent, lower case, or another") {
		CHECK_INT(one("\"slug\":\"s\"," REPO "," MAPS, &d), 0);
		CHECK_INT(d.n, 1);
		CHECK_INT(one("\"type\":\"code\",\"slug\":\"s\"," REPO "," MAPS, &d), 0);
		CHECK_INT(d.n, 1);
		CHECK_INT(one("\"type\":null,\"slug\":\"s\"," REPO "," MAPS, &d), 0);
		CHECK_INT(d.n, 1);
		CHECK_INT(one("\"type\":\"FLAG\",\"slug\":\"s\"," REPO "," MAPS, &d), 0);
		CHECK_INT(d.n + d.skipped_other * 10, 10);
		CHECK_INT(one("\"type\":7,\"slug\":\"s\"," REPO "," MAPS, &d), 0);
		CHECK_INT(d.n + d.skipped_bad * 10, 10);
	}
	TEST("answer: providers") {
		const char *kept[] = { "BITBUCKET", "bitbucket", "BITBUCKET_SERVER",
		    "BitBucket_DataCenter" };
		const char *other[] = { "GITHUB", "GITLAB", "AZURE", "CUSTOM_GIT",
		    "GITHUB_ENTERPRISE", "" };
		for (size_t i = 0; i < sizeof(kept) / sizeof(*kept); i++) {
			char *f = bs_arena_printf(&arena, "\"slug\":\"s\",\"repository\":"
			    "{\"owner\":\"o\",\"name\":\"n\",\"provider\":\"%s\"},"
			    MAPS, kept[i]);
			CHECK_INT(one(f, &d), 0);
			CHECK_INT(d.n, 1);
		}
		for (size_t i = 0; i < sizeof(other) / sizeof(*other); i++) {
			char *f = bs_arena_printf(&arena, "\"slug\":\"s\",\"repository\":"
			    "{\"owner\":\"o\",\"name\":\"n\",\"provider\":\"%s\"},"
			    MAPS, other[i]);
			CHECK_INT(one(f, &d), 0);
			CHECK_INT(d.n, 0);
			CHECK_INT(d.skipped_other, 1);
		}
		CHECK_INT(one("\"slug\":\"s\",\"repository\":{\"owner\":\"o\","
		    "\"name\":\"n\"}," MAPS, &d), 0);
		CHECK_INT(d.skipped_other, 1);   /* no provider: not Bitbucket */
		CHECK_INT(one("\"slug\":\"s\",\"repository\":{\"owner\":\"o\","
		    "\"name\":\"n\",\"provider\":1}," MAPS, &d), 0);
		CHECK_INT(d.skipped_bad, 1);
	}
	TEST("answer: bad CODE sources -> skipped_bad") {
		const char *bad[] = {
			REPO "," MAPS,                                  /* no slug */
			"\"slug\":null," REPO "," MAPS,
			"\"slug\":\"\"," REPO "," MAPS,
			"\"slug\":\"has space\"," REPO "," MAPS,
			"\"slug\":\"a/b\"," REPO "," MAPS,
			"\"slug\":\"caf\\u00e9\"," REPO "," MAPS,
			"\"slug\":5," REPO "," MAPS,
			"\"slug\":\"s\"," MAPS,                         /* no repository */
			"\"slug\":\"s\",\"repository\":null," MAPS,
			"\"slug\":\"s\",\"repository\":\"acme/shop\"," MAPS,
			"\"slug\":\"s\",\"repository\":{\"name\":\"n\",\"provider\":"
			    "\"BITBUCKET\"}," MAPS,
			"\"slug\":\"s\",\"repository\":{\"owner\":\"o\",\"name\":\"a/b\","
			    "\"provider\":\"BITBUCKET\"}," MAPS,
			"\"slug\":\"s\",\"repository\":{\"owner\":\"o o\",\"name\":\"n\","
			    "\"provider\":\"BITBUCKET\"}," MAPS,
			"\"slug\":\"s\"," REPO,                         /* no mappings */
			"\"slug\":\"s\"," REPO ",\"environmentMappings\":[]",
			"\"slug\":\"s\"," REPO ",\"environmentMappings\":{}",
			"\"slug\":\"s\"," REPO ",\"environmentMappings\":[{\"branch\":"
			    "\"main\"}]",
			"\"slug\":\"s\"," REPO "," MAPS ",\"pathPrefix\":\"{\\\"includes\\\":"
			    "\\\"x\\\"}\"",
			"\"slug\":\"s\"," REPO "," MAPS ",\"pathPrefix\":\"{bad json\"",
			"\"slug\":\"s\"," REPO "," MAPS ",\"pathPrefix\":{\"includes\":[]}",
			"\"slug\":\"s\"," REPO "," MAPS ",\"pathPrefix\":3",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			CHECK_INT(one(bad[i], &d), 0);
			if (d.n != 0 || d.skipped_bad != 1 || d.skipped_other != 0)
				fprintf(stderr, "  bad[%zu] kept: %s\n", i, bad[i]);
			CHECK_INT(d.n, 0);
			CHECK_INT(d.skipped_bad, 1);
		}
		CHECK_INT(parse_s("{\"data\":{\"project\":{\"changeSources\":"
		    "[null, 3, \"x\", []]}}}", &d), 0);
		CHECK_INT(d.skipped_bad, 4);
	}
	TEST("answer: slugs: letters, digits, - and _, at most 100") {
		char slug[102];
		memset(slug, 'a', 100);
		slug[100] = '\0';
		char *f = bs_arena_printf(&arena, "\"slug\":\"%s\"," REPO "," MAPS,
		    slug);
		CHECK_INT(one(f, &d), 0);
		CHECK_INT(d.n, 1);
		slug[100] = 'a';
		slug[101] = '\0';
		f = bs_arena_printf(&arena, "\"slug\":\"%s\"," REPO "," MAPS, slug);
		CHECK_INT(one(f, &d), 0);
		CHECK_INT(d.skipped_bad, 1);
		CHECK_INT(one("\"slug\":\"My_dep-2\"," REPO "," MAPS, &d), 0);
		CHECK_INT(d.n, 1);
	}
	TEST("answer: mappings: branches, prefixes, globs, bad items dropped") {
		CHECK_INT(one("\"slug\":\"s\"," REPO ",\"environmentMappings\":["
		    "{\"environmentSlug\":\"a\",\"branch\":\"feature/\"},"
		    "{\"environmentSlug\":\"b\",\"branch\":\"rel/*/\"},"
		    "{\"environmentSlug\":\"c\",\"branch\":\"v[0-9]\"},"
		    "{\"environmentSlug\":\"d\",\"branch\":\"\"},"
		    "{\"environmentSlug\":\"e\",\"branch\":null},"
		    "{\"environmentSlug\":\"\",\"branch\":\"x\"},"
		    "{\"environmentSlug\":\"f g\",\"branch\":\"x\"},"
		    "{\"environmentSlug\":1,\"branch\":\"x\"},"
		    "null, 4, [],"
		    "{\"branch\":\"dev\",\"unknown\":{\"a\":[1]},\"environmentSlug\":\"h\"}]",
		    &d), 0);
		CHECK_INT(d.n, 1);
		struct bs_code_deployment *c = &d.items[0];
		CHECK_INT(c->n_envs, 4);
		CHECK_STR(c->envs[0].branches[0], "feature/*");
		CHECK_STR(c->envs[1].branches[0], "rel/*/");   /* a glob: as is */
		CHECK_STR(c->envs[2].branches[0], "v[0-9]");
		CHECK_STR(c->envs[3].environment, "h");
		CHECK_STR(c->envs[3].branches[0], "dev");
	}
	TEST("answer: a branch with a control byte is dropped, spaces trimmed") {
		CHECK_INT(one("\"slug\":\"s\"," REPO ",\"environmentMappings\":["
		    "{\"environmentSlug\":\"a\",\"branch\":\"main\\n+ acme/x/y/"
		    "production <- evil main\"},"
		    "{\"environmentSlug\":\"b\",\"branch\":\"ma\\u007fin\"},"
		    "{\"environmentSlug\":\"c\",\"branch\":\"\\tmain\"},"
		    "{\"environmentSlug\":\"d\",\"branch\":\"  \"},"
		    "{\"environmentSlug\":\"e\",\"branch\":\" main \"},"
		    "{\"environmentSlug\":\"f\",\"branch\":\" feature/ \"}]", &d),
		    0);
		CHECK_INT(d.n, 1);
		struct bs_code_deployment *c = &d.items[0];
		CHECK_INT(c->n_envs, 2);
		CHECK_STR(c->envs[0].environment, "e");
		CHECK_STR(c->envs[0].branches[0], "main");
		CHECK_STR(c->envs[1].environment, "f");
		CHECK_STR(c->envs[1].branches[0], "feature/*");
		/* none left: the source is bad */
		CHECK_INT(one("\"slug\":\"s\"," REPO ",\"environmentMappings\":["
		    "{\"environmentSlug\":\"p\",\"branch\":\"main\\r\"}]", &d), 0);
		CHECK_INT(d.n, 0);
		CHECK_INT(d.skipped_bad, 1);
	}
	TEST("answer: a name or tracking type with a control byte: absent") {
		CHECK_INT(one("\"slug\":\"s\",\"name\":\"Web\\n+ fake line\","
		    "\"deployTrackingType\":\"BUILD\\u001b[2J\"," REPO "," MAPS, &d),
		    0);
		CHECK_INT(d.n, 1);
		CHECK(d.items[0].name == NULL);
		CHECK(d.items[0].tracking_type == NULL);
		CHECK_INT(one("\"slug\":\"s\",\"name\":\"Web \\u00e9 shop\","
		    "\"deployTrackingType\":\"manual\"," REPO "," MAPS, &d), 0);
		CHECK_STR(d.items[0].name, "Web \xc3\xa9 shop");
		CHECK_STR(d.items[0].tracking_type, "MANUAL");
	}
	TEST("answer: tracking type and name of other types: absent") {
		CHECK_INT(one("\"slug\":\"s\",\"name\":7,\"deployTrackingType\":[],"
		    REPO "," MAPS, &d), 0);
		CHECK_INT(d.n, 1);
		CHECK(d.items[0].name == NULL);
		CHECK(d.items[0].tracking_type == NULL);
		CHECK_INT(one("\"slug\":\"s\",\"deployTrackingType\":\"auto_tag\","
		    REPO "," MAPS, &d), 0);
		CHECK_STR(d.items[0].tracking_type, "AUTO_TAG");
	}
	TEST("answer: unknown fields and nested values are ignored") {
		CHECK_INT(one("\"x\":{\"slug\":\"no\",\"y\":[[[{}]]]},\"slug\":\"s\","
		    "\"deployTrackingBuildMappings\":[{\"environmentSlug\":\"p\"}],"
		    REPO "," MAPS ",\"autoTrackingDelay\":0,\"collectImpact\":true", &d),
		    0);
		CHECK_INT(d.n, 1);
		CHECK_STR(d.items[0].deployment, "s");
	}
}

static void
test_caps(void)
{
	struct bs_discovered d;

	TEST("caps: at most BS_GQL_MAX_SOURCES sources, the rest skipped_bad") {
		size_t n = BS_GQL_MAX_SOURCES + 5, cap = n * 200 + 100, o = 0;
		char *b = malloc(cap);
		o += (size_t)snprintf(b + o, cap - o,
		    "{\"data\":{\"project\":{\"changeSources\":[");
		for (size_t i = 0; i < n; i++)
			o += (size_t)snprintf(b + o, cap - o, "%s{\"slug\":\"d%zu\","
			    REPO "," MAPS "}", i ? "," : "", i);
		o += (size_t)snprintf(b + o, cap - o, "]}}}");
		CHECK_INT(bs_graphql_parse_project(b, o, &arena, &d, err,
		    sizeof(err)), 0);
		CHECK_INT(d.n, BS_GQL_MAX_SOURCES);
		CHECK_INT(d.skipped_bad, 5);
		CHECK_STR(d.items[BS_GQL_MAX_SOURCES - 1].deployment, "d999");
		free(b);
	}
	TEST("caps: more than BS_GQL_MAX_MAPPINGS mappings: the source is bad") {
		for (size_t n = BS_GQL_MAX_MAPPINGS; n <= BS_GQL_MAX_MAPPINGS + 1;
		    n++) {
			size_t cap = n * 80 + 400, o = 0;
			char *b = malloc(cap);
			o += (size_t)snprintf(b + o, cap - o, "{\"data\":{\"project\":{"
			    "\"changeSources\":[{\"slug\":\"s\"," REPO
			    ",\"environmentMappings\":[");
			for (size_t i = 0; i < n; i++)
				o += (size_t)snprintf(b + o, cap - o, "%s{\"environmentSlug\":"
				    "\"e%zu\",\"branch\":\"b\"}", i ? "," : "", i);
			o += (size_t)snprintf(b + o, cap - o, "]}]}}}");
			CHECK_INT(bs_graphql_parse_project(b, o, &arena, &d, err,
			    sizeof(err)), 0);
			CHECK_INT(d.n, n == BS_GQL_MAX_MAPPINGS);
			CHECK_INT(d.skipped_bad, n != BS_GQL_MAX_MAPPINGS);
			if (d.n)
				CHECK_INT(d.items[0].n_envs, BS_GQL_MAX_MAPPINGS);
			free(b);
		}
	}
}

static void
test_hostile(void)
{
	struct bs_discovered d;

	TEST("hostile: deep nesting stops at the cap") {
		size_t depth = 100000, o = 0;
		char *b = malloc(depth * 2 + 64);
		o += (size_t)snprintf(b, 64, "{\"data\":{\"project\":");
		for (size_t i = 0; i < depth; i++)
			b[o++] = '[';
		for (size_t i = 0; i < depth; i++)
			b[o++] = ']';
		b[o++] = '}';
		b[o++] = '}';
		CHECK_INT(bs_graphql_parse_project(b, o, &arena, &d, err,
		    sizeof(err)), -1);
		CHECK(strstr(err, "nested deeper") != NULL);
		free(b);
	}
	TEST("hostile: huge strings are cut, at a character boundary") {
		size_t n = 200000, o = 0;
		char *b = malloc(n + 400);
		o += (size_t)snprintf(b, 400, "{\"data\":{\"project\":{"
		    "\"changeSources\":[{\"slug\":\"s\"," REPO "," MAPS
		    ",\"name\":\"");
		for (size_t i = 0; i + 1 < n; i += 2) {
			b[o++] = (char)0xc3;
			b[o++] = (char)0xa9;
		}
		o += (size_t)snprintf(b + o, 400, "\"}]}}}");
		CHECK_INT(bs_graphql_parse_project(b, o, &arena, &d, err,
		    sizeof(err)), 0);
		CHECK_INT(d.n, 1);
		CHECK_INT(strlen(d.items[0].name), 65536);
		free(b);
		/* a huge slug is kept cut, then refused as a slug */
		char *big = malloc(n + 1);
		memset(big, 'a', n);
		big[n] = '\0';
		CHECK_INT(one(bs_arena_printf(&arena, "\"slug\":\"%s\"," REPO "," MAPS,
		    big), &d), 0);
		CHECK_INT(d.skipped_bad, 1);
		free(big);
	}
	TEST("hostile: a pathPrefix, branch or tracking type over 65536 bytes is "
	    "refused, not cut") {
		size_t n = 65537;
		char *big = malloc(n + 1);
		memset(big, 'a', n);
		big[n] = '\0';
		/* cut to 65536 bytes the prefix would be "aaa…a": refused */
		CHECK_INT(one(bs_arena_printf(&arena, "\"slug\":\"s\"," REPO "," MAPS
		    ",\"pathPrefix\":\"%s\"", big), &d), 0);
		CHECK_INT(d.n, 0);
		CHECK_INT(d.skipped_bad, 1);
		CHECK_INT(one(bs_arena_printf(&arena, "\"slug\":\"s\"," REPO
		    ",\"environmentMappings\":[{\"environmentSlug\":\"a\",\"branch\":"
		    "\"%s\"},{\"environmentSlug\":\"b\",\"branch\":\"main\"}]", big), &d),
		    0);
		CHECK_INT(d.n, 1);
		CHECK_INT(d.items[0].n_envs, 1);
		CHECK_STR(d.items[0].envs[0].environment, "b");
		CHECK_INT(one(bs_arena_printf(&arena, "\"slug\":\"s\","
		    "\"deployTrackingType\":\"%s\"," REPO "," MAPS, big), &d), 0);
		CHECK_INT(d.n, 1);
		CHECK(d.items[0].tracking_type == NULL);
		big[n - 1] = '\0';     /* 65536 bytes: kept whole */
		CHECK_INT(one(bs_arena_printf(&arena, "\"slug\":\"s\"," REPO "," MAPS
		    ",\"pathPrefix\":\"%s\"", big), &d), 0);
		CHECK_INT(d.n, 1);
		CHECK_INT(strlen(d.items[0].paths.includes[0]), 65536);
		free(big);
	}
	TEST("hostile: bad UTF-8, control characters, \\u0000, bad JSON") {
		const char *bad[] = {
			"{\"data\":{\"project\":{\"changeSources\":[{\"slug\":\"\xff\"}]}}}",
			"{\"data\":{\"project\":{\"changeSources\":[{\"slug\":\"\xc0\xaf\"}]}}}",
			"{\"data\":{\"project\":{\"changeSources\":[{\"slug\":\"\xed\xa0\x80\"}]}}}",
			"{\"data\":{\"project\":{\"changeSources\":[{\"slug\":\"a\x01\"}]}}}",
			"{\"data\":{\"project\":{\"changeSources\":[{\"slug\":\"a\\u0000\"}]}}}",
			"{\"data\":{\"project\":{\"changeSources\":[{\"slug\":\"\\ud800\"}]}}}",
			"{\"data\":{\"project\":{\"changeSources\":[]}}",
			"{\"data\":{\"project\":{\"changeSources\":[]}}} x",
			"{\"data\":{\"project\":{\"changeSources\":[,]}}}",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			CHECK_INT(parse_s(bad[i], &d), -1);
			CHECK(err[0] != '\0');
			for (const char *p = err; *p; p++)
				CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
		}
	}
	TEST("hostile: wrong types everywhere never crash") {
		const char *odd[] = {
			"{\"data\":{\"project\":{\"changeSources\":[{\"repository\":[],"
			    "\"environmentMappings\":\"x\",\"pathPrefix\":[]}]}}}",
			"{\"data\":{\"project\":{\"changeSources\":[{\"slug\":{},"
			    "\"repository\":{\"owner\":[],\"name\":{},\"provider\":null}}]}}}",
			"{\"data\":{\"project\":{\"changeSources\":[{\"environmentMappings\":"
			    "[{\"environmentSlug\":[],\"branch\":{}}]}]}}}",
		};
		for (size_t i = 0; i < sizeof(odd) / sizeof(*odd); i++) {
			CHECK_INT(parse_s(odd[i], &d), 0);
			CHECK_INT(d.n, 0);
			CHECK_INT(d.skipped_bad, 1);
		}
	}
}

static int
pp(const char *s, struct bs_path_prefix *out)
{
	err[0] = '\0';
	return bs_path_prefix_parse(s, strlen(s), &arena, out, err, sizeof(err));
}

static void
test_path_prefix(void)
{
	struct bs_path_prefix p;

	TEST("pathPrefix: none") {
		CHECK_INT(pp("", &p), 0);
		CHECK(p.n_includes == 0 && p.n_excludes == 0);
		CHECK_INT(pp("  \n", &p), 0);
		CHECK(p.n_includes == 0 && p.n_excludes == 0);
		CHECK_INT(pp(" , ,", &p), 0);
		CHECK(p.n_includes == 0 && p.n_excludes == 0);
		CHECK_INT(bs_path_prefix_parse(NULL, 0, &arena, &p, err,
		    sizeof(err)), 0);
		CHECK_INT(pp("{}", &p), 0);
		CHECK(p.n_includes == 0 && p.n_excludes == 0);
		CHECK_INT(pp("{\"includes\":null,\"excludes\":[]}", &p), 0);
		CHECK(p.n_includes == 0 && p.n_excludes == 0);
	}
	TEST("pathPrefix: the JSON object form") {
		CHECK_INT(pp(" {\"includes\":[\"/services/web/\", \" lib \", \"\"],"
		    "\"excludes\":[\"services/web/docs/\"],\"other\":{\"x\":1}}", &p), 0);
		CHECK_INT(p.n_includes, 2);
		CHECK_STR(p.includes[0], "services/web/");
		CHECK_STR(p.includes[1], "lib");
		CHECK_INT(p.n_excludes, 1);
		CHECK_STR(p.excludes[0], "services/web/docs/");
		CHECK_INT(pp("{\"includes\":[\"a\"],\"includes\":[\"b\"]}", &p), 0);
		CHECK_INT(p.n_includes, 1);
		CHECK_STR(p.includes[0], "b");
	}
	TEST("pathPrefix: the comma list form") {
		CHECK_INT(pp("services/web/, /libs/common/ ,,docs", &p), 0);
		CHECK_INT(p.n_includes, 3);
		CHECK_STR(p.includes[0], "services/web/");
		CHECK_STR(p.includes[1], "libs/common/");
		CHECK_STR(p.includes[2], "docs");
		CHECK_INT(p.n_excludes, 0);
		CHECK_INT(pp("services/*/api", &p), 0);
		CHECK_STR(p.includes[0], "services/*/api");
	}
	TEST("pathPrefix: refused") {
		const char *bad[] = {
			"{\"includes\":\"x\"}", "{\"includes\":[1]}",
			"{\"excludes\":[[\"x\"]]}", "{\"excludes\":{}}", "{\"includes\":[",
			"{\"includes\":[\"a\\nb\"]}", "a\001b", "\xff", "{} x",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			CHECK_INT(pp(bad[i], &p), -1);
			CHECK(err[0] != '\0');
			CHECK(p.n_includes == 0 && p.n_excludes == 0 && !p.includes);
		}
		CHECK_INT(pp("[\"a\"]", &p), 0);   /* not JSON: one comma item */
		CHECK_STR(p.includes[0], "[\"a\"]");
	}
	TEST("pathPrefix: at most 100 per list") {
		char buf[1024];
		size_t o = 0;
		for (int i = 0; i < 101; i++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sp%d",
			    i ? "," : "", i);
		CHECK_INT(bs_path_prefix_parse(buf, o, &arena, &p, err, sizeof(err)),
		    -1);
		CHECK(strstr(err, "100") != NULL);
		CHECK_INT(bs_path_prefix_parse(buf, (size_t)(strrchr(buf, ',') - buf),
		    &arena, &p, err, sizeof(err)), 0);
		CHECK_INT(p.n_includes, 100);
	}
}

int
main(void)
{
	test_query();
	test_fixtures();
	test_answers();
	test_caps();
	test_hostile();
	test_path_prefix();
	bs_arena_release(&arena);
	return TEST_REPORT();
}
