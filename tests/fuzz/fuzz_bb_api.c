/* fuzz_bb_api: the REST API response parsers (parsers/bb_api.h) on
 * arbitrary bodies, as both products' commit pages (max_commits 1000 and
 * 2), single commits and default branches. Invariants: a success implies
 * the body passes bs_utf8_check_json; every kept string is valid UTF-8
 * (so no early NUL hides in it) and at most 65536 bytes; every kept hash
 * and parent is 40 lower-case hex; n_commits <= max_commits; a DC page
 * that is not the last has next_start >= 0; a Cloud page is last iff it
 * has no next, and next is http(s) ASCII; a failure leaves the outputs
 * reset with a non-empty printable reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/bb_api.h"
#include "parsers/utf8.h"
#include "tests/fuzz/fuzz_checks.h"

static void
check_hash(const char *h)
{
	if (!bs_api_is_hash40(h))
		abort();
	for (size_t i = 0; i < 40; i++)
		if (h[i] >= 'A' && h[i] <= 'F')
			abort();
}

static void
check_commit(const struct bs_commit *m)
{
	check_hash(m->hash);
	check_str(m->message);
	check_str(m->date);
	check_str(m->url);
	check_str(m->author.name);
	check_str(m->author.email);
	check_str(m->author.username);
	if (m->n_parents > BS_API_MAX_PARENTS)
		abort();
	for (size_t i = 0; i < m->n_parents; i++)
		check_hash(m->parents[i]);
}

static void
run_page(enum bs_product p, const uint8_t *data, size_t size, size_t max)
{
	struct bs_arena a = { 0 };
	struct bs_api_page pg;
	char err[200] = "";
	if (bs_api_parse_commits(p, (const char *)data, size, max, &a, &pg, err,
	    sizeof(err)) == 0) {
		check_ok(data, size);
		if (pg.n_commits > max)
			abort();
		for (size_t i = 0; i < pg.n_commits; i++)
			check_commit(&pg.commits[i]);
		check_paging(p, pg.last, pg.next, pg.next_start);
	} else {
		check_fail(err);
		if (pg.commits || pg.n_commits || pg.next || pg.last ||
		    pg.next_start != -1 || pg.dropped || pg.skipped)
			abort();
	}
	bs_arena_release(&a);
}

static void
run_commit(enum bs_product p, const uint8_t *data, size_t size)
{
	struct bs_arena a = { 0 };
	struct bs_commit m;
	char err[200] = "";
	if (bs_api_parse_commit(p, (const char *)data, size, &a, &m, err,
	    sizeof(err)) == 0) {
		check_ok(data, size);
		check_commit(&m);
	} else {
		check_fail(err);
		if (m.hash || m.message || m.parents || m.n_parents)
			abort();
	}
	bs_arena_release(&a);
}

static void
run_branch(enum bs_product p, const uint8_t *data, size_t size)
{
	struct bs_arena a = { 0 };
	char *name = (char *)"x", *head = (char *)"x";
	char err[200] = "";
	if (bs_api_parse_main_branch(p, (const char *)data, size, &a, &name,
	    &head, err, sizeof(err)) == 0) {
		check_ok(data, size);
		if (!name || !*name)
			abort();
		check_str(name);
		if (p == BS_PRODUCT_CLOUD && head)
			abort();
		if (head)
			check_hash(head);
	} else {
		check_fail(err);
		if (name || head)
			abort();
	}
	bs_arena_release(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum bs_product prods[] = { BS_PRODUCT_CLOUD, BS_PRODUCT_DC };
	for (size_t i = 0; i < 2; i++) {
		run_page(prods[i], data, size, 1000);
		run_page(prods[i], data, size, 2);
		run_commit(prods[i], data, size);
		run_branch(prods[i], data, size);
	}
	return 0;
}
