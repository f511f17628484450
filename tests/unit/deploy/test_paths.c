/* test_paths: path prefixes (deploy/paths.h): plain prefixes, globs on the
 * whole path or a leading run of its parts, leading '/', includes and
 * excludes over a push's files, with the prefixes Sleuth's answers carry
 * (parsers/sleuth_graphql.h). */
#include <stdlib.h>
#include <string.h>

#include "deploy/paths.h"
#include "tests/unit/test.h"

static char *web_inc[] = { (char[]){"services/web/"} };
static char *web_exc[] = { (char[]){"services/web/docs/"} };
static char *two_inc[] = { (char[]){"services/api/"}, (char[]){"libs/common/"} };
static char *glob_inc[] = { (char[]){"services/*/src"} };

static void
test_under(void)
{
	TEST("under: a plain prefix is a string prefix") {
		CHECK(bs_path_under("services/web/", "services/web/a.c"));
		CHECK(!bs_path_under("services/web/", "services/website/a.c"));
		CHECK(bs_path_under("services/web", "services/website/a.c"));
		CHECK(bs_path_under("services/web", "services/web"));
		CHECK(!bs_path_under("services/web/", "services/web"));
		CHECK(!bs_path_under("services/web/", "other/services/web/a.c"));
		CHECK(!bs_path_under("Services/", "services/a"));   /* case matters */
		CHECK(bs_path_under("README", "README.md"));
		CHECK(bs_path_under("", "anything"));
	}
	TEST("under: a leading / of either is ignored") {
		CHECK(bs_path_under("/services/web/", "services/web/a.c"));
		CHECK(bs_path_under("services/web/", "/services/web/a.c"));
		CHECK(bs_path_under("/services/web/", "/services/web/a.c"));
	}
	TEST("under: a glob matches the whole path or leading parts") {
		CHECK(bs_path_under("services/*", "services/web/a.c"));
		CHECK(bs_path_under("*.md", "README.md"));
		CHECK(bs_path_under("*.md", "docs/guide.md"));   /* '*' takes '/' */
		CHECK(bs_path_under("services/*/src", "services/web/src/a.c"));
		CHECK(!bs_path_under("services/*/src", "services/web/lib/a.c"));
		CHECK(bs_path_under("*ices", "services/web/a.c"));
		CHECK(!bs_path_under("*ice", "services/web/a.c"));   /* no part ends so */
		CHECK(bs_path_under("s?rvices/web", "services/web/a.c"));
		CHECK(!bs_path_under("s?rvices/we", "services/web/a.c"));
		CHECK(bs_path_under("[st]ervices", "services/x"));
		CHECK(!bs_path_under("[xy]ervices", "services/x"));
		CHECK(bs_path_under("/services/[a-z]*/", "/services/web/a.c"));
	}
	TEST("under: a glob's tokens: escapes, unclosed '[', classes with '-'") {
		CHECK(bs_path_under("a\\*b", "a*b/c"));
		CHECK(!bs_path_under("a\\*b", "axb/c"));
		CHECK(bs_path_under("x[", "x[/a"));            /* unclosed: literal */
		CHECK(bs_path_under("x[!a-c]y*", "xdy/z"));
		CHECK(!bs_path_under("x[!a-c]y*", "xby/z"));
		CHECK(bs_path_under("**/[]]", "a/]"));
		CHECK(bs_path_under("s*/*/", "services/web/a.c"));
		CHECK(!bs_path_under("s*/*/x", "services/web/a.c"));
		CHECK(bs_path_under("*", "a"));
		CHECK(bs_path_under("?", "a/b"));
		CHECK(bs_path_under("??", "a/b"));          /* "a/" */
		CHECK(!bs_path_under("???", "a/bc"));
	}
	TEST("under: a prefix with '[' or '*' is also a plain prefix") {
		CHECK(bs_path_under("app/[locale]/", "app/[locale]/page.tsx"));
		CHECK(bs_path_under("/app/[locale]", "app/[locale]/page.tsx"));
		CHECK(bs_path_under("app/[locale]/", "app/e/page.tsx"));  /* glob */
		CHECK(!bs_path_under("app/[locale]/", "app/x/page.tsx"));
		CHECK(bs_path_under("docs/*draft*/", "docs/*draft*/a.md"));
		CHECK(bs_path_under("lib/a?b/", "lib/a?b/c"));
		CHECK(!bs_path_under("app/[locale]/", "app/[locale"));
	}
	TEST("under: NULL is under nothing") {
		CHECK(!bs_path_under(NULL, "a"));
		CHECK(!bs_path_under("a", NULL));
	}
}

static void
test_touched(void)
{
	struct bs_path_prefix none = { 0 };
	struct bs_path_prefix web = { web_inc, 1, web_exc, 1 };
	struct bs_path_prefix api = { two_inc, 2, NULL, 0 };
	struct bs_path_prefix only_exc = { NULL, 0, web_exc, 1 };
	struct bs_path_prefix glob = { glob_inc, 1, NULL, 0 };

	TEST("none: no includes and no excludes") {
		CHECK(bs_paths_none(&none));
		CHECK(bs_paths_none(NULL));
		CHECK(!bs_paths_none(&web));
		CHECK(!bs_paths_none(&only_exc));
	}
	TEST("touched: a push touching services/web/ is web's, not api's") {
		char *files[] = { (char[]){"services/web/app.js"}, (char[]){"README.md"} };
		CHECK(bs_paths_touched(&web, files, 2));
		CHECK(!bs_paths_touched(&api, files, 2));
	}
	TEST("touched: files only under an exclude are not a deploy") {
		char *docs[] = { (char[]){"services/web/docs/a.md"}, (char[]){"services/web/docs/b.md"} };
		CHECK(!bs_paths_touched(&web, docs, 2));
		char *mixed[] = { (char[]){"services/web/docs/a.md"}, (char[]){"services/web/x.c"} };
		CHECK(bs_paths_touched(&web, mixed, 2));
	}
	TEST("touched: any include; no includes: any file not excluded") {
		char *lib[] = { (char[]){"libs/common/util.py"} };
		CHECK(bs_paths_touched(&api, lib, 1));
		char *other[] = { (char[]){"tools/x"} };
		CHECK(bs_paths_touched(&only_exc, other, 1));
		char *docs[] = { (char[]){"services/web/docs/a.md"} };
		CHECK(!bs_paths_touched(&only_exc, docs, 1));
		CHECK(bs_paths_touched(&none, other, 1));
	}
	TEST("touched: globs") {
		char *a[] = { (char[]){"services/pay/src/main.go"} };
		char *b[] = { (char[]){"services/pay/test/main_test.go"} };
		CHECK(bs_paths_touched(&glob, a, 1));
		CHECK(!bs_paths_touched(&glob, b, 1));
	}
	TEST("touched: no files is false") {
		CHECK(!bs_paths_touched(&web, NULL, 0));
		CHECK(!bs_paths_touched(&none, NULL, 0));
		char *nulls[] = { NULL };
		CHECK(!bs_paths_touched(&none, nulls, 1));
	}
}

/* 5000 paths of 4 KiB ("a/a/a/...") against "*.md" took 55 s when each
 * leading run of parts was matched again: now one pass a path. */
static void
test_long_paths(void)
{
	enum { N = 5000, LEN = 4096 };
	char *star_md[] = { (char[]){"*.md"} };
	char *class_inc[] = { (char[]){"[a-z]*/*/*.c"} };
	struct bs_path_prefix md = { star_md, 1, NULL, 0 };
	struct bs_path_prefix cls = { class_inc, 1, NULL, 0 };
	char *one = malloc(LEN + 1);
	for (size_t i = 0; i < LEN; i++)
		one[i] = (i % 2) ? '/' : 'a';
	one[LEN] = '\0';
	char **files = malloc(N * sizeof(*files));
	for (size_t i = 0; i < N; i++)
		files[i] = one;
	/* No time is asserted (a shared machine is no clock): the pass over
	 * these must end, and answer right; bench is where speed is shown. */
	TEST("long paths: 5000 paths of 4 KiB against globs") {
		CHECK(!bs_paths_touched(&md, files, N));
		CHECK(!bs_paths_touched(&cls, files, N));
		memcpy(one + LEN - 4, ".md", 4);
		CHECK(bs_paths_touched(&md, files, 1));
		memcpy(one + LEN - 4, "x.c", 4);
		CHECK(bs_paths_touched(&cls, files, 1));
	}
	free(files);
	free(one);
}

int
main(void)
{
	test_under();
	test_long_paths();
	test_touched();
	return TEST_REPORT();
}
