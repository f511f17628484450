/* config_fixture: what the config unit tests share: one config and its
 * diagnostics, parsed from a head and a tail text (a test's own keys and
 * the deployments it needs) for a set of uses, and finding a diagnostic.
 * Included by one test file each (static definitions). */
#ifndef BS_TEST_CONFIG_FIXTURE_H
#define BS_TEST_CONFIG_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "config/config.h"

static struct bs_config cfg;
static struct bs_diags diags;

/* Parses head then tail into cfg and diags for `uses` (enum
 * bs_config_uses), after releasing the previous parse; returns
 * bs_config_parse_for's status. */
static __attribute__((unused)) int
fixture_parse(const char *head, const char *tail, unsigned uses)
{
	static char buf[16384];
	snprintf(buf, sizeof(buf), "%s%s", head, tail);
	bs_config_release(&cfg);
	bs_diags_release(&diags);
	bs_diags_init(&diags);
	return bs_config_parse_for("t.yaml", buf, strlen(buf), uses, &cfg,
	    &diags);
}

/* The first diagnostic whose message contains sub, or NULL. */
static __attribute__((unused)) const struct bs_diag *
find(const char *sub)
{
	for (size_t i = 0; i < diags.n; i++)
		if (strstr(diags.items[i].message, sub))
			return &diags.items[i];
	return NULL;
}

/* Expects a diagnostic of severity sev containing sub at line:col (col 0 =
 * any column); prints every diagnostic when there is none. Needs
 * tests/unit/test.h. */
#define EXPECT_DIAG(sev, sub, ln, col) do { \
	const struct bs_diag *dg_ = find(sub); \
	CHECK(dg_ != NULL); \
	if (dg_) { \
		CHECK_INT(dg_->severity, (sev)); \
		CHECK_INT(dg_->line, (ln)); \
		if ((col) > 0) \
			CHECK_INT(dg_->column, (col)); \
	} else { \
		bs_diags_print(&diags, "t.yaml", stderr); \
	} \
} while (0)

#endif
