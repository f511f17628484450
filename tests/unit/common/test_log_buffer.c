/* Unit tests of common/log's buffered lines: nothing is written until a
 * flush, the flusher is asked once per batch, warn/error and a full buffer
 * flush at once, removing the flusher flushes, and lines stay whole and in
 * order. stderr goes to a temporary file for the checks. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "tests/unit/test.h"

static int asked;

static void
flusher(void *arg)
{
	(void)arg;
	asked++;
}

static char path_[] = "/tmp/bs-test-log-XXXXXX";
static int fd_;

/* Bytes written to stderr so far. */
static long
written(void)
{
	return (long)lseek(fd_, 0, SEEK_END);
}

static char *
contents(void)
{
	static char buf[1 << 16];
	ssize_t n = pread(fd_, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

int
main(void)
{
	int saved = dup(2);
	fd_ = mkstemp(path_);
	if (fd_ < 0 || saved < 0)
		return 1;
	dup2(fd_, 2);
	bs_log_apply("info", "text");     /* the threshold is warn until then */

	TEST("log: unbuffered without a flusher, one whole line each") {
		log_info("plain %d", 1);
		CHECK(written() > 0);
		CHECK(strstr(contents(), "Z info  plain 1\n") != NULL);
	}
	TEST("log: buffered info lines wait for the flush, asked once") {
		long before = written();
		asked = 0;
		bs_log_set_flusher(flusher, NULL);
		log_info("a %d", 1);
		log_info("b %d", 2);
		log_debug("not shown");                 /* under the threshold */
		CHECK_INT(written(), before);
		CHECK_INT(asked, 1);
		bs_log_flush();
		CHECK(written() > before);
		CHECK(strstr(contents(), " info  a 1\n") != NULL);
		CHECK(strstr(contents(), " info  b 2\n") != NULL);
		CHECK(strstr(contents(), "not shown") == NULL);
		log_info("c");
		CHECK_INT(asked, 2);                    /* a new batch */
		bs_log_flush();
	}
	TEST("log: a warn line flushes at once, after the lines before it") {
		long before = written();
		log_info("first");
		log_warn("second");
		CHECK(written() > before);
		const char *c = contents();
		const char *a = strstr(c + before, "first"),
		    *b = strstr(c + before, " warn  second\n");
		CHECK(a && b && a < b);
		long mid = written();
		log_error("third");
		CHECK(written() > mid);
	}
	TEST("log: a buffer over 8 KB flushes; removing the flusher flushes") {
		long before = written();
		char big[1000];
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		int flushed_at = -1;
		for (int i = 0; i < 20 && flushed_at < 0; i++) {
			log_info("%d %s", i, big);
			if (written() > before)
				flushed_at = i;
		}
		CHECK(flushed_at >= 7 && flushed_at <= 9);
		/* whole lines only */
		CHECK(contents()[written() - 1] == '\n');
		log_info("pending");
		long mid = written();
		bs_log_set_flusher(NULL, NULL);
		CHECK(written() > mid);
		CHECK(strstr(contents() + mid, " info  pending\n") != NULL);
		mid = written();
		log_info("direct");
		CHECK(written() > mid);
	}
	TEST("log: a long message is cut at 2047 bytes, still one line") {
		static char huge[5000];
		memset(huge, 'y', sizeof(huge) - 1);
		long before = written();
		bs_log_set_flusher(flusher, NULL);
		log_info("%s", huge);
		bs_log_flush();
		bs_log_set_flusher(NULL, NULL);
		long n = written() - before;
		CHECK_INT(n, 31 + 2047 + 1);
		CHECK(contents()[written() - 1] == '\n');
	}
	dup2(saved, 2);
	close(fd_);
	unlink(path_);
	return TEST_REPORT();
}
