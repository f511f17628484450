/* test_bb_changes: the changed files of a push from Bitbucket's REST API
 * (parsers/bb_changes.h): Cloud diffstat and DC changes pages from
 * tests/fixtures/bitbucket-api/ (see its README.md), then hand-written
 * bodies: paging fields as bs_api_parse_commits requires them, renames,
 * added and removed files, odd values, max_paths, hostile input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/bb_changes.h"
#include "tests/unit/parsers/api_fixture.h"
#include "tests/unit/test.h"

static char err[256];
static struct bs_arena arena;

static int
page_s(enum bs_product p, const char *body, size_t max,
    struct bs_changes_page *pg)
{
	err[0] = '\0';
	return bs_api_parse_changes(p, body, strlen(body), max, &arena, pg, err,
	    sizeof(err));
}

static int
page_file(enum bs_product p, const char *name, size_t max,
    struct bs_changes_page *pg)
{
	size_t len;
	char *b = bs_api_fixture("bitbucket-api", name, &len);
	err[0] = '\0';
	int rc = bs_api_parse_changes(p, b, len, max, &arena, pg, err,
	    sizeof(err));
	free(b);
	return rc;
}

static void
check_reset(const struct bs_changes_page *pg)
{
	CHECK(pg->paths == NULL && pg->n_paths == 0 && pg->next == NULL &&
	    !pg->last && pg->next_start == -1 && pg->dropped == 0);
}

static void
test_fixtures(void)
{
	struct bs_changes_page pg;

	TEST("cloud diffstat: modified once, added, both sides of a rename") {
		CHECK_INT(page_file(BS_PRODUCT_CLOUD, "cloud_diffstat_page.json", 5000,
		    &pg), 0);
		CHECK_INT(pg.n_paths, 4);
		CHECK_STR(pg.paths[0], "services/web/app.js");
		CHECK_STR(pg.paths[1], "services/web/docs/intro.md");
		CHECK_STR(pg.paths[2], "libs/common/old_name.py");
		CHECK_STR(pg.paths[3], "libs/common/new_name.py");
		CHECK(!pg.last);
		CHECK_STR(pg.next, "https://api.bitbucket.org/2.0/repositories/"
		    "acme/shop/diffstat/9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b.."
		    "1f2c0a6b5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a?pagelen=3&page=2");
		CHECK_INT(pg.next_start, -1);
		CHECK_INT(pg.dropped, 0);
	}
	TEST("cloud diffstat: the last page, a removed file") {
		CHECK_INT(page_file(BS_PRODUCT_CLOUD, "cloud_diffstat_last.json", 5000,
		    &pg), 0);
		CHECK_INT(pg.n_paths, 1);
		CHECK_STR(pg.paths[0], "services/api/legacy.go");
		CHECK(pg.last && pg.next == NULL);
	}
	TEST("dc changes: path and srcPath of a move") {
		CHECK_INT(page_file(BS_PRODUCT_DC, "dc_changes_page.json", 5000, &pg),
		    0);
		CHECK_INT(pg.n_paths, 3);
		CHECK_STR(pg.paths[0], "services/web/app.js");
		CHECK_STR(pg.paths[1], "libs/common/old_name.py");
		CHECK_STR(pg.paths[2], "libs/common/new_name.py");
		CHECK(!pg.last);
		CHECK_INT(pg.next_start, 2);
		CHECK(pg.next == NULL);
	}
	TEST("dc changes: the last page") {
		CHECK_INT(page_file(BS_PRODUCT_DC, "dc_changes_last.json", 5000, &pg),
		    0);
		CHECK_INT(pg.n_paths, 1);
		CHECK_STR(pg.paths[0], "services/api/legacy.go");
		CHECK(pg.last);
		CHECK_INT(pg.next_start, -1);
	}
	TEST("the other product's page: no paths, or refused") {
		CHECK_INT(page_file(BS_PRODUCT_DC, "cloud_diffstat_page.json", 5000,
		    &pg), -1);
		CHECK_STR(err, "missing isLastPage");
		check_reset(&pg);
		CHECK_INT(page_file(BS_PRODUCT_CLOUD, "dc_changes_page.json", 5000,
		    &pg), 0);
		CHECK_INT(pg.n_paths, 0);   /* DC path objects name no Cloud path */
	}
}

static void
test_paging(void)
{
	struct bs_changes_page pg;

	TEST("paging: as bs_api_parse_commits requires it") {
		struct { enum bs_product p; const char *body, *why; } bad[] = {
			{ BS_PRODUCT_CLOUD, "{}", "missing values" },
			{ BS_PRODUCT_CLOUD, "{\"values\":{}}", "values is not an array" },
			{ BS_PRODUCT_CLOUD, "{\"values\":null}", "values is not an array" },
			{ BS_PRODUCT_CLOUD, "{\"values\":[],\"next\":3}",
			    "next is not a string" },
			{ BS_PRODUCT_CLOUD, "{\"values\":[],\"next\":\"/2.0/x?page=2\"}",
			    "next is not an absolute http(s) URL" },
			{ BS_PRODUCT_CLOUD, "{\"values\":[],\"next\":\"https://a b\"}",
			    "next is not an absolute http(s) URL" },
			{ BS_PRODUCT_DC, "{\"values\":[]}", "missing isLastPage" },
			{ BS_PRODUCT_DC, "{\"values\":[],\"isLastPage\":\"false\"}",
			    "isLastPage is not a boolean" },
			{ BS_PRODUCT_DC, "{\"values\":[],\"isLastPage\":false}",
			    "missing nextPageStart on a page that is not the last" },
			{ BS_PRODUCT_DC, "{\"values\":[],\"isLastPage\":false,"
			    "\"nextPageStart\":-1}", "nextPageStart is not an integer >= 0" },
			{ BS_PRODUCT_DC, "{\"values\":[],\"isLastPage\":false,"
			    "\"nextPageStart\":1.5}", "nextPageStart is not an integer >= 0" },
			{ BS_PRODUCT_DC, "{\"values\":[],\"isLastPage\":false,"
			    "\"start\":25,\"nextPageStart\":25}",
			    "nextPageStart does not advance past start" },
			{ BS_PRODUCT_CLOUD, "[]", "top-level JSON value is not an object" },
			{ (enum bs_product)7, "{\"values\":[]}", "unknown product" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			CHECK_INT(page_s(bad[i].p, bad[i].body, 10, &pg), -1);
			CHECK_STR(err, bad[i].why);
			check_reset(&pg);
		}
	}
	TEST("paging: accepted forms") {
		CHECK_INT(page_s(BS_PRODUCT_CLOUD, "{\"values\":[],\"next\":null}", 10,
		    &pg), 0);
		CHECK(pg.last && !pg.next);
		CHECK_INT(page_s(BS_PRODUCT_CLOUD, "{\"next\":\"http://h/x\","
		    "\"values\":[]}", 10, &pg), 0);
		CHECK(!pg.last);
		CHECK_STR(pg.next, "http://h/x");
		CHECK_INT(page_s(BS_PRODUCT_DC, "{\"values\":[],\"isLastPage\":true}",
		    10, &pg), 0);
		CHECK(pg.last);
		CHECK_INT(pg.next_start, -1);
		CHECK_INT(page_s(BS_PRODUCT_DC, "{\"isLastPage\":false,\"values\":[],"
		    "\"nextPageStart\":1000,\"start\":0}", 10, &pg), 0);
		CHECK(!pg.last);
		CHECK_INT(pg.next_start, 1000);
		/* a repeated key: the last wins */
		CHECK_INT(page_s(BS_PRODUCT_DC, "{\"values\":[],\"isLastPage\":false,"
		    "\"isLastPage\":true}", 10, &pg), 0);
		CHECK(pg.last);
		CHECK_INT(page_s(BS_PRODUCT_CLOUD, "{\"values\":[{\"new\":{\"path\":"
		    "\"a\"}}],\"values\":[{\"new\":{\"path\":\"b\"}}]}", 10, &pg), 0);
		CHECK_INT(pg.n_paths, 1);
		CHECK_STR(pg.paths[0], "b");
	}
}

static void
test_values(void)
{
	struct bs_changes_page pg;

	TEST("values: odd ones are skipped") {
		CHECK_INT(page_s(BS_PRODUCT_CLOUD, "{\"values\":[null,1,\"x\",[],{},"
		    "{\"old\":null,\"new\":null},{\"new\":{\"path\":\"\"}},"
		    "{\"new\":{\"path\":7}},{\"new\":\"a\"},{\"new\":{\"path\":null}},"
		    "{\"new\":{\"x\":{\"path\":\"no\"},\"path\":\"ok\"}},"
		    "{\"old\":{\"path\":\"gone\"},\"old\":null}]}", 10, &pg), 0);
		CHECK_INT(pg.n_paths, 1);
		CHECK_STR(pg.paths[0], "ok");
		CHECK_INT(pg.dropped, 0);
		CHECK_INT(page_s(BS_PRODUCT_DC, "{\"isLastPage\":true,\"values\":["
		    "{\"path\":\"a\"},{\"path\":{\"name\":\"b\"}},{\"path\":{\"toString\":"
		    "\"c/d\"},\"srcPath\":null},{\"srcPath\":{\"toString\":\"e\"}}]}",
		    10, &pg), 0);
		CHECK_INT(pg.n_paths, 2);
		CHECK_STR(pg.paths[0], "c/d");
		CHECK_STR(pg.paths[1], "e");
	}
	TEST("values: escapes are unescaped, UTF-8 kept") {
		CHECK_INT(page_s(BS_PRODUCT_CLOUD, "{\"values\":[{\"new\":{\"path\":"
		    "\"a\\/b \\u00e9\\\"q\"}}]}", 10, &pg), 0);
		CHECK_STR(pg.paths[0], "a/b \xc3\xa9\"q");
	}
	TEST("values: max_paths kept, the rest counted in dropped") {
		const char *b = "{\"values\":["
		    "{\"old\":{\"path\":\"a\"},\"new\":{\"path\":\"a\"}},"
		    "{\"old\":{\"path\":\"b\"},\"new\":{\"path\":\"c\"}},"
		    "{\"new\":{\"path\":\"d\"}},"
		    "{\"old\":{\"path\":\"e\"},\"new\":{\"path\":\"e\"}}]}";
		CHECK_INT(page_s(BS_PRODUCT_CLOUD, b, 2, &pg), 0);
		CHECK_INT(pg.n_paths, 2);
		CHECK_STR(pg.paths[0], "a");
		CHECK_STR(pg.paths[1], "b");
		CHECK_INT(pg.dropped, 3);   /* c, d, e */
		CHECK_INT(page_s(BS_PRODUCT_CLOUD, b, 0, &pg), 0);
		CHECK_INT(pg.n_paths, 0);
		CHECK(pg.dropped > 0);
		CHECK_INT(page_s(BS_PRODUCT_CLOUD, b, 100, &pg), 0);
		CHECK_INT(pg.n_paths, 5);
		CHECK_INT(pg.dropped, 0);
	}
	TEST("values: 5000 paths and one more") {
		size_t n = 5001, cap = n * 40 + 64, o = 0;
		char *b = malloc(cap);
		o += (size_t)snprintf(b, cap, "{\"values\":[");
		for (size_t i = 0; i < n; i++)
			o += (size_t)snprintf(b + o, cap - o, "%s{\"new\":{\"path\":"
			    "\"f/%zu\"}}", i ? "," : "", i);
		o += (size_t)snprintf(b + o, cap - o, "]}");
		CHECK_INT(bs_api_parse_changes(BS_PRODUCT_CLOUD, b, o, 5000, &arena,
		    &pg, err, sizeof(err)), 0);
		CHECK_INT(pg.n_paths, 5000);
		CHECK_INT(pg.dropped, 1);
		CHECK_STR(pg.paths[4999], "f/4999");
		free(b);
	}
}

static void
test_hostile(void)
{
	struct bs_changes_page pg;

	TEST("hostile: nesting, bad UTF-8, bad JSON, a huge next") {
		size_t depth = 100000, o = 0;
		char *b = malloc(depth * 2 + 64);
		o += (size_t)snprintf(b, 64, "{\"values\":[{\"new\":");
		for (size_t i = 0; i < depth; i++)
			b[o++] = '[';
		for (size_t i = 0; i < depth; i++)
			b[o++] = ']';
		o += (size_t)snprintf(b + o, 8, "}]}");
		CHECK_INT(bs_api_parse_changes(BS_PRODUCT_CLOUD, b, o, 10, &arena,
		    &pg, err, sizeof(err)), -1);
		CHECK(strstr(err, "nested deeper") != NULL);
		check_reset(&pg);
		free(b);
		const char *bad[] = {
			"{\"values\":[{\"new\":{\"path\":\"\xff\"}}]}",
			"{\"values\":[{\"new\":{\"path\":\"a\\u0000b\"}}]}",
			"{\"values\":[{\"new\":{\"path\":\"a\tb\"}}]}",
			"{\"values\":[}", "", "{\"values\":[]} {}",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			CHECK_INT(page_s(BS_PRODUCT_CLOUD, bad[i], 10, &pg), -1);
			CHECK(err[0] != '\0');
			check_reset(&pg);
		}
		size_t n = 5000;
		char *u = malloc(n + 64);
		o = (size_t)snprintf(u, 64, "{\"values\":[],\"next\":\"https://h/");
		memset(u + o, 'a', n);
		o += n;
		o += (size_t)snprintf(u + o, 8, "\"}");
		CHECK_INT(bs_api_parse_changes(BS_PRODUCT_CLOUD, u, o, 10, &arena,
		    &pg, err, sizeof(err)), -1);
		CHECK(strstr(err, "next URL longer") != NULL);
		free(u);
	}
	TEST("hostile: a path over 65536 bytes fails the page, not cut") {
		size_t n = 100000, o = 0;
		char *b = malloc(n + 64);
		o += (size_t)snprintf(b, 64, "{\"values\":[{\"new\":{\"path\":\"");
		for (size_t i = 0; i + 1 < n; i += 2) {
			b[o++] = (char)0xc3;
			b[o++] = (char)0xa9;
		}
		o += (size_t)snprintf(b + o, 8, "\"}}]}");
		CHECK_INT(bs_api_parse_changes(BS_PRODUCT_CLOUD, b, o, 10, &arena,
		    &pg, err, sizeof(err)), -1);
		CHECK_STR(err, "a path longer than 65536 bytes at byte 100028");
		check_reset(&pg);
		/* the same for DC, one byte over; 65536 itself is kept whole */
		o = (size_t)snprintf(b, 64, "{\"values\":[{\"path\":{\"toString\":\"");
		memset(b + o, 'a', 65537);
		o += 65537;
		o += (size_t)snprintf(b + o, 64, "\"}}],\"isLastPage\":true}");
		CHECK_INT(bs_api_parse_changes(BS_PRODUCT_DC, b, o, 10,
		    &arena, &pg, err, sizeof(err)), -1);
		CHECK_STR(err, "a path longer than 65536 bytes at byte 65570");
		o = (size_t)snprintf(b, 64, "{\"values\":[{\"path\":{\"toString\":\"");
		memset(b + o, 'a', 65536);
		o += 65536;
		o += (size_t)snprintf(b + o, 64, "\"}}],\"isLastPage\":true}");
		CHECK_INT(bs_api_parse_changes(BS_PRODUCT_DC, b, o, 10,
		    &arena, &pg, err, sizeof(err)), 0);
		CHECK_INT(pg.n_paths, 1);
		CHECK_INT(strlen(pg.paths[0]), 65536);
		free(b);
	}
	TEST("hostile: a repeated path key whose value is a container is no path") {
		CHECK_INT(page_s(BS_PRODUCT_CLOUD, "{\"values\":[{\"new\":{\"path\":"
		    "\"a\",\"path\":{}},\"old\":{\"path\":\"b\",\"path\":[1]}}]}", 10,
		    &pg), 0);
		CHECK_INT(pg.n_paths, 0);
		CHECK_INT(page_s(BS_PRODUCT_DC, "{\"values\":[{\"path\":"
		    "{\"toString\":\"a\",\"toString\":{\"x\":\"y\"}}}],"
		    "\"isLastPage\":true}", 10, &pg), 0);
		CHECK_INT(pg.n_paths, 0);
		CHECK_INT(page_s(BS_PRODUCT_CLOUD, "{\"values\":[{\"new\":{\"path\":"
		    "{},\"path\":\"c\"}}]}", 10, &pg), 0);
		CHECK_INT(pg.n_paths, 1);
		CHECK_STR(pg.paths[0], "c");
	}
}

int
main(void)
{
	test_fixtures();
	test_paging();
	test_values();
	test_hostile();
	bs_arena_release(&arena);
	return TEST_REPORT();
}
