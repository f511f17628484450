/* fuzz_sleuth_graphql: Sleuth's GraphQL answer (parsers/sleuth_graphql.h)
 * and pathPrefix values on arbitrary bytes, and the query built around
 * them as a project slug. Invariants: a parse that succeeds implies the
 * body passes bs_utf8_check_json; at most BS_GQL_MAX_SOURCES code
 * deployments, each with a Sleuth slug, an "owner/name" repository, 1 to
 * BS_GQL_MAX_MAPPINGS environments with a slug and one non-empty branch,
 * an upper-case tracking type, prefixes as bs_path_prefix_parse makes
 * them; every string valid UTF-8 of at most 65536 bytes; a failure leaves
 * *out zeroed with a non-empty printable reason. The query is built iff
 * the slug (the input up to a NUL) is valid UTF-8, and is then valid
 * UTF-8 of the length returned. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/sleuth_graphql.h"
#include "parsers/utf8.h"
#include "tests/fuzz/fuzz_checks.h"

static void
check_slug(const char *s)
{
	if (!s || !*s || strlen(s) > 100)
		abort();
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			abort();
}

static void
check_list(char **v, size_t n)
{
	if (n > 100 || (n && !v))
		abort();
	for (size_t i = 0; i < n; i++) {
		check_str(v[i]);
		if (!v[i][0])
			abort();
		for (const char *p = v[i]; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
	}
}

static void
check_prefix(const struct bs_path_prefix *pp)
{
	check_list(pp->includes, pp->n_includes);
	check_list(pp->excludes, pp->n_excludes);
}

static void
check_dep(const struct bs_code_deployment *d)
{
	check_slug(d->deployment);
	check_str(d->name);
	if (!d->repository || strlen(d->repository) > 2 * MAX_STRING + 1 ||
	    bs_utf8_valid(d->repository, strlen(d->repository)) != 0)
		abort();
	const char *slash = d->repository ? strchr(d->repository, '/') : NULL;
	if (!slash || slash == d->repository || !slash[1] ||
	    strchr(slash + 1, '/'))
		abort();
	if (d->track != -1 || d->tag_pattern || d->line)
		abort();
	check_str(d->tracking_type);
	for (const char *p = d->tracking_type; p && *p; p++)
		if (*p >= 'a' && *p <= 'z')
			abort();
	if (d->n_envs == 0 || d->n_envs > BS_GQL_MAX_MAPPINGS)
		abort();
	for (size_t i = 0; i < d->n_envs; i++) {
		const struct bs_env_mapping *m = &d->envs[i];
		check_slug(m->environment);
		if (m->n_branches != 1 || !m->branches[0] || !m->branches[0][0])
			abort();
		check_str(m->branches[0]);
	}
	check_prefix(&d->paths);
}

static void
run_answer(const uint8_t *data, size_t size)
{
	struct bs_arena a = { 0 };
	struct bs_discovered d;
	char err[200] = "";
	if (bs_graphql_parse_project((const char *)data, size, &a, &d, err,
	    sizeof(err)) == 0) {
		check_ok(data, size);
		if (d.n > BS_GQL_MAX_SOURCES)
			abort();
		for (size_t i = 0; i < d.n; i++)
			check_dep(&d.items[i]);
	} else {
		check_fail(err);
		if (d.items || d.n || d.skipped_other || d.skipped_bad)
			abort();
	}
	bs_arena_release(&a);
}

static void
run_prefix(const uint8_t *data, size_t size)
{
	struct bs_arena a = { 0 };
	struct bs_path_prefix pp;
	char err[200] = "";
	if (bs_path_prefix_parse((const char *)data, size, &a, &pp, err,
	    sizeof(err)) == 0) {
		check_prefix(&pp);
	} else {
		check_fail(err);
		if (pp.includes || pp.n_includes || pp.excludes || pp.n_excludes)
			abort();
	}
	bs_arena_release(&a);
}

static void
run_query(const uint8_t *data, size_t size)
{
	struct bs_arena a = { 0 };
	char *slug = malloc(size + 1);
	size_t len = 1;
	memcpy(slug, data, size);
	slug[size] = '\0';
	char *q = bs_graphql_project_query(&a, slug, &len);
	bool valid = bs_utf8_valid(slug, strlen(slug)) == 0;   /* to a NUL */
	if (valid != (q != NULL))
		abort();
	if (q && (strlen(q) != len || bs_utf8_valid(q, len) != 0))
		abort();
	if (!q && len != 0)
		abort();
	free(slug);
	bs_arena_release(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run_answer(data, size);
	run_prefix(data, size);
	if (size <= 4096)
		run_query(data, size);
	return 0;
}
