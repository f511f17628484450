/* api_fixture: reads an answer of a remote API kept under
 * tests/fixtures/<dir>/ (bitbucket-api, sleuth), from $BS_SOURCE_DIR (the
 * repository's root; default "."). Exits the test when it cannot. Shared by
 * test_bb_changes and test_sleuth_graphql. */
#ifndef BS_API_FIXTURE_H
#define BS_API_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "tests/unit/test.h"

static inline char *
bs_api_fixture(const char *dir, const char *name, size_t *len)
{
	char path[1024];
	const char *src = getenv("BS_SOURCE_DIR");
	snprintf(path, sizeof(path), "%s/tests/fixtures/%s/%s",
	    src ? src : ".", dir, name);
	char *b = bs_test_read_file(path, len);
	if (!b) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	return b;
}

#endif
