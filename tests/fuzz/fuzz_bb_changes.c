/* fuzz_bb_changes: the changed-files pages (parsers/bb_changes.h) on
 * arbitrary bodies, as both products' pages with max_paths 5000 and 2, and
 * the path-prefix checks (deploy/paths.h) on what they keep. Invariants: a
 * success implies the body passes bs_utf8_check_json; n_paths <= max_paths;
 * every path is non-empty valid UTF-8 of at most 65536 bytes; a DC page
 * that is not the last has next_start >= 0, a Cloud page is last iff it has
 * no next, which is http(s) printable ASCII; a failure leaves the outputs
 * reset with a non-empty printable reason. bs_paths_touched with no
 * prefixes is true iff some path is kept; with an include that is a path
 * kept, it is true. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/paths.h"
#include "parsers/bb_api.h"
#include "parsers/bb_changes.h"
#include "parsers/utf8.h"
#include "tests/fuzz/fuzz_checks.h"

static void
check_paths(const struct bs_changes_page *pg)
{
	struct bs_path_prefix none = { 0 };
	for (size_t i = 0; i < pg->n_paths; i++) {
		const char *s = pg->paths[i];
		size_t n = s ? strlen(s) : 0;
		if (n == 0 || n > MAX_STRING || bs_utf8_valid(s, n) != 0)
			abort();
	}
	if (bs_paths_touched(&none, pg->paths, pg->n_paths) != (pg->n_paths > 0))
		abort();
	if (pg->n_paths) {
		char *inc[1] = { pg->paths[pg->n_paths - 1] };
		struct bs_path_prefix one = { inc, 1, NULL, 0 };
		if (!strpbrk(inc[0], "*?[") &&
		    !bs_paths_touched(&one, pg->paths, pg->n_paths))
			abort();
		struct bs_path_prefix all_out = { NULL, 0, inc, 1 };
		(void)bs_paths_touched(&all_out, pg->paths, pg->n_paths);
	}
}

static void
run_page(enum bs_product p, const uint8_t *data, size_t size, size_t max)
{
	struct bs_arena a = { 0 };
	struct bs_changes_page pg;
	char err[200] = "";
	if (bs_api_parse_changes(p, (const char *)data, size, max, &a, &pg, err,
	    sizeof(err)) == 0) {
		check_ok(data, size);
		if (pg.n_paths > max)
			abort();
		check_paths(&pg);
		check_paging(p, pg.last, pg.next, pg.next_start);
	} else {
		check_fail(err);
		if (pg.paths || pg.n_paths || pg.next || pg.last ||
		    pg.next_start != -1 || pg.dropped)
			abort();
	}
	bs_arena_release(&a);
}

/* The input as "prefix\npath": bs_path_under must not crash, and a plain
 * prefix of the path (no glob characters) is under. */
static void
run_under(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	if (!nl || size > 4096)
		return;
	size_t pl = (size_t)(nl - data);
	char *prefix = malloc(pl + 1), *path = malloc(size - pl);
	memcpy(prefix, data, pl);
	prefix[pl] = '\0';
	memcpy(path, nl + 1, size - pl - 1);
	path[size - pl - 1] = '\0';
	(void)bs_path_under(prefix, path);
	if (!strpbrk(path, "*?[") && !bs_path_under(path, path))
		abort();
	free(prefix);
	free(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum bs_product prods[] = { BS_PRODUCT_CLOUD, BS_PRODUCT_DC };
	for (size_t i = 0; i < 2; i++) {
		run_page(prods[i], data, size, 5000);
		run_page(prods[i], data, size, 2);
	}
	run_under(data, size);
	return 0;
}
