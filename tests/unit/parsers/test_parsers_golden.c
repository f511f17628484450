/* test_parsers_golden: every fixture of index.tsv, parsed with the product
 * and X-Event-Key listed there, must dump (bs_event_dump) byte for byte to
 * tests/golden/<relative path with .json -> .txt>. The expected files are
 * written by tests/golden/expect.py, an independent Python implementation
 * of the mapping, never from this C output; tests/golden/README.md says
 * how, and which of them were also checked by hand against the payload. A
 * second pass checks that the dump is stable: parsing the same body twice
 * gives the same text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/bitbucket.h"
#include "parsers/event_dump.h"
#include "tests/unit/test.h"

static char *
dump_of(const struct bs_event *ev, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	bs_event_dump(ev, f);
	fclose(f);
	return buf;
}

static void
first_difference(const char *got, const char *want)
{
	size_t line = 1;
	const char *g = got, *w = want;
	while (*g && *w && *g == *w) {
		if (*g == '\n')
			line++;
		g++;
		w++;
	}
	const char *ge = strchr(g, '\n'), *we = strchr(w, '\n');
	fprintf(stderr, "  first difference at line %zu:\n  got:  %.*s\n"
	    "  want: %.*s\n", line, (int)(ge ? ge - g : 60), g,
	    (int)(we ? we - w : 60), w);
}

int
main(void)
{
	char path[1024], gpath[1024];
	const char *src = getenv("BS_SOURCE_DIR");
	size_t n_files = 0;

	FILE *idx = fopen(bs_test_fixture(path, sizeof(path), "index.tsv"), "r");
	TEST("index.tsv opens") {
		CHECK(idx != NULL);
	}
	if (!idx)
		return TEST_REPORT();
	char line[1024];
	struct bs_parse_limits lim;
	bs_parse_limits_default(&lim);
	while (fgets(line, sizeof(line), idx)) {
		char rel[512], key[128], prod[16];
		if (sscanf(line, "%511[^\t]\t%127[^\t]\t%15s", rel, key, prod) != 3)
			continue;
		if (strcmp(rel, "file") == 0)
			continue;
		n_files++;
		TEST(rel) {
			size_t len = 0, glen = 0;
			char *body = bs_test_read_file(bs_test_fixture(path,
			    sizeof(path), rel), &len);
			char grel[512];
			snprintf(grel, sizeof(grel), "%.*s.txt",
			    (int)(strlen(rel) - 5), rel);
			snprintf(gpath, sizeof(gpath), "%s/tests/golden/%s",
			    src ? src : ".", grel);
			char *want = bs_test_read_file(gpath, &glen);
			CHECK(body != NULL);
			CHECK(want != NULL);
			enum bs_product p = strcmp(prod, "dc") == 0 ?
			    BS_PRODUCT_DC : BS_PRODUCT_CLOUD;
			struct bs_event ev;
			char err[256] = "";
			bs_event_init(&ev);
			enum bs_parse_status st = BS_PARSE_SCHEMA;
			if (body)
				st = bs_parse_event(p, key, body, len, &lim, &ev,
				    err, sizeof(err));
			if (st != BS_PARSE_OK)
				fprintf(stderr, "  %s: %s\n", rel, err);
			CHECK_INT(st, BS_PARSE_OK);
			size_t dlen = 0;
			char *got = dump_of(&ev, &dlen);
			if (want && strcmp(got, want) != 0) {
				CHECK(!"dump differs from golden file");
				first_difference(got, want);
			}
			/* Re-parse: same text (no hidden state). */
			struct bs_event ev2;
			bs_event_init(&ev2);
			if (body)
				bs_parse_event(p, key, body, len, &lim, &ev2, err,
				    sizeof(err));
			size_t dlen2 = 0;
			char *got2 = dump_of(&ev2, &dlen2);
			CHECK_STR(got2, got);
			free(got);
			free(got2);
			bs_event_release(&ev);
			bs_event_release(&ev2);
			free(body);
			free(want);
		}
	}
	fclose(idx);
	TEST("all fixtures listed were checked") {
		CHECK_INT(n_files, 83);
	}
	return TEST_REPORT();
}
