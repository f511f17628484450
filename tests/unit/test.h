/* test.h: the tiny in-repo test harness (hiredis test.c / Redis testhelp.h).
 *
 *   TEST("name") { CHECK(x == 1); CHECK_STR(a, "b"); }
 *   return TEST_REPORT();
 *
 * CHECK records a failure with file:line and goes on; TEST_REPORT prints
 * "N passed, N failed" and returns the exit status for main(). Helpers for
 * fixtures: bs_test_read_file() and bs_test_fixture(). */
#ifndef BS_TEST_H
#define BS_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bs_test_passed_, bs_test_failed_, bs_test_cur_failed_;
static const char *bs_test_name_;

static inline void
bs_test_end_(void)
{
	if (!bs_test_name_)
		return;
	if (bs_test_cur_failed_)
		bs_test_failed_++;
	else
		bs_test_passed_++;
	bs_test_name_ = NULL;
}

static inline int
bs_test_begin_(const char *name)
{
	bs_test_end_();
	bs_test_name_ = name;
	bs_test_cur_failed_ = 0;
	return 1;
}

#define TEST(name) if (bs_test_begin_(name))

#define CHECK(cond) do { \
	if (!(cond)) { \
		bs_test_cur_failed_ = 1; \
		fprintf(stderr, "FAIL %s: %s:%d: %s\n", bs_test_name_, __FILE__, \
		    __LINE__, #cond); \
	} \
} while (0)

#define CHECK_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	if (!((g_ == NULL && w_ == NULL) || (g_ && w_ && strcmp(g_, w_) == 0))) { \
		bs_test_cur_failed_ = 1; \
		fprintf(stderr, "FAIL %s: %s:%d: %s: got \"%s\", want \"%s\"\n", \
		    bs_test_name_, __FILE__, __LINE__, #got, g_ ? g_ : "(null)", \
		    w_ ? w_ : "(null)"); \
	} \
} while (0)

#define CHECK_INT(got, want) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	if (g_ != w_) { \
		bs_test_cur_failed_ = 1; \
		fprintf(stderr, "FAIL %s: %s:%d: %s: got %lld, want %lld\n", \
		    bs_test_name_, __FILE__, __LINE__, #got, g_, w_); \
	} \
} while (0)

static inline int
TEST_REPORT(void)
{
	bs_test_end_();
	printf("%d passed, %d failed\n", bs_test_passed_, bs_test_failed_);
	return bs_test_failed_ ? 1 : 0;
}

/* Reads a whole file; returns a malloc'd NUL-terminated buffer (len in
 * *len) or NULL. */
static inline char *
bs_test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);
	size_t r;
	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	fclose(f);
	if (!buf)
		return NULL;
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* Writes text to path (replacing it); a test cannot go on without it, so
 * a failure exits the test. */
static inline void
bs_test_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* Path of a fixture below $BS_FIXTURES (default tests/fixtures/bitbucket, from the repository's root). */
static inline const char *
bs_test_fixture(char *out, size_t outlen, const char *rel)
{
	const char *dir = getenv("BS_FIXTURES");
	snprintf(out, outlen, "%s/%s", dir ? dir : "tests/fixtures/bitbucket",
	    rel);
	return out;
}

#endif
