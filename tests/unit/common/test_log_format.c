/* Unit tests of common/log's rendering and control: JSON lines (hostile
 * bytes escaped, the component split off, the context fields), the text
 * context pairs, the repeat limiter with its counts (an injected clock),
 * and -v/-q winning over the config's level. stderr goes to a temporary
 * file; each check reads the lines written since the last one. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "tests/unit/test.h"

static char path_[] = "/tmp/bs-test-logf-XXXXXX";
static int fd_;
static long seen_;

/* What was written since the last call. */
static char *
fresh(void)
{
	static char buf[1 << 16];
	long end = (long)lseek(fd_, 0, SEEK_END);
	ssize_t n = pread(fd_, buf, sizeof(buf) - 1, seen_);
	buf[n > 0 ? n : 0] = '\0';
	seen_ = end;
	return buf;
}

static int
count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static long long fake_ms;

static long long
fake_clock(void)
{
	return fake_ms;
}

/* Whether every byte of s is printable ASCII (a JSON line must carry
 * control and invalid bytes escaped) and s ends in "}\n". */
static int
clean_json_line(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || s[0] != '{' || strcmp(s + n - 2, "}\n") != 0)
		return 0;
	for (size_t i = 0; i + 1 < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

int
main(void)
{
	int saved = dup(2);
	fd_ = mkstemp(path_);
	if (fd_ < 0 || saved < 0)
		return 1;
	dup2(fd_, 2);
	bs_log_set_clock(fake_clock);
	fake_ms = 1764766800123LL;              /* 2025-12-03T13:00:00.123Z */

	TEST("log: the threshold is warn until bs_log_apply") {
		log_info("cli chatter");
		log_warn("a real warning");
		const char *s = fresh();
		CHECK(strstr(s, "cli chatter") == NULL);
		CHECK(strstr(s, "warn  a real warning\n") != NULL);
	}
	TEST("log: apply sets level and format; unknown names change nothing") {
		CHECK_INT(bs_log_apply("info", "json"), 0);
		CHECK(bs_log_threshold == BS_LOG_INFO && bs_log_format == BS_LOG_JSON);
		CHECK_INT(bs_log_apply("loud", "text"), -1);
		CHECK_INT(bs_log_apply("debug", "xml"), -1);
		CHECK(bs_log_threshold == BS_LOG_INFO && bs_log_format == BS_LOG_JSON);
		CHECK_STR(bs_log_level_name(BS_LOG_DEBUG), "debug");
		CHECK_STR(bs_log_level_name(BS_LOG_ERROR), "error");
	}
	TEST("log: a JSON line with time, level, component and msg") {
		fresh();
		log_info("redis: connected to %s", "127.0.0.1:6379");
		CHECK_STR(fresh(), "{\"time\":\"2025-12-03T13:00:00.123Z\","
		    "\"level\":\"info\",\"component\":\"redis\","
		    "\"msg\":\"connected to 127.0.0.1:6379\"}\n");
		log_info("job 1-0: no component here");
		CHECK_STR(fresh(), "{\"time\":\"2025-12-03T13:00:00.123Z\","
		    "\"level\":\"info\",\"msg\":\"job 1-0: no component here\"}\n");
		log_info("bitbucket api: two words are not one component");
		CHECK(strstr(fresh(), "\"msg\":\"bitbucket api: two words") != NULL);
	}
	TEST("log: JSON escapes quotes, controls and invalid UTF-8") {
		fresh();
		/* quote, backslash, newline, tab, 0x01, DEL, valid é and €, a
		 * lone continuation byte, an overlong '/', a surrogate, 0xff,
		 * a truncated 3-byte sequence at the end */
		log_warn("x: a\"b\\c\nd\te\x01" "f\x7f" "g\xc3\xa9\xe2\x82\xac"
		    "h\x80" "i\xc0\xaf" "j\xed\xa0\x80" "k\xff" "l\xe2\x82");
		const char *s = fresh();
		CHECK(count_lines(s) == 1);
		CHECK(strstr(s, "\"msg\":\"a\\\"b\\\\c\\nd\\te\\u0001f\\u007fg"
		    "\xc3\xa9\xe2\x82\xac" "h\\ufffdi\\ufffd\\ufffdj\\ufffd\\ufffd"
		    "\\ufffdk\\ufffdl\\ufffd\\ufffd\"}\n") != NULL);
		/* every byte the line holds is printable, UTF-8 aside */
		char ascii[4096];
		size_t k = 0;
		for (const char *p = s; *p && k + 1 < sizeof(ascii); p++)
			if ((unsigned char)*p < 0x80)
				ascii[k++] = *p;
		ascii[k] = '\0';
		CHECK(clean_json_line(ascii));
	}
	TEST("log: every byte value escapes into one valid line") {
		char all[256];
		for (int i = 0; i < 255; i++)
			all[i] = (char)(i + 1);
		all[255] = '\0';
		fresh();
		bs_log_set_limit_window_ms(0);
		log_error("%s", all);
		log_error("%s", all);
		bs_log_set_limit_window_ms(10000);
		const char *s = fresh();
		CHECK_INT(count_lines(s), 2);
		CHECK(strstr(s, "\\u001f !\\\"#") != NULL);
		CHECK(strstr(s, "~\\u007f\\ufffd") != NULL);
	}
	TEST("log: the context fields appear while set, pushed and popped") {
		fresh();
		bs_log_ctx_push(&(struct bs_log_ctx){ .delivery = "{d-1}",
			.event = "repo:push", .repository = "acme/shop" });
		log_info("delivery {d-1} queued");
		bs_log_ctx_push(&(struct bs_log_ctx){ .job = "17-0",
			.target = "acme/web/prod", .delivery = "bad\"\n\xff" });
		log_info("inner");
		bs_log_ctx_pop();
		log_info("outer again");
		bs_log_ctx_pop();
		log_info("none");
		const char *s = fresh();
		CHECK(strstr(s, "\"msg\":\"delivery {d-1} queued\",\"delivery\":\"{d-1}\","
		    "\"event\":\"repo:push\",\"repository\":\"acme/shop\"}\n") != NULL);
		CHECK(strstr(s, "\"msg\":\"inner\",\"delivery\":\"bad\\\"\\n\\ufffd\","
		    "\"job\":\"17-0\",\"target\":\"acme/web/prod\"}\n") != NULL);
		CHECK(strstr(s, "\"msg\":\"outer again\",\"delivery\":\"{d-1}\"") != NULL);
		CHECK(strstr(s, "\"msg\":\"none\"}\n") != NULL);
	}
	TEST("log: forget empties every level; the pops still match") {
		fresh();
		bs_log_ctx_push(&(struct bs_log_ctx){ .job = "1-0" });
		bs_log_ctx_push(&(struct bs_log_ctx){ .job = "2-0" });
		bs_log_ctx_forget();
		log_info("after forget");
		bs_log_ctx_pop();
		log_info("one up");
		bs_log_ctx_pop();
		for (int i = 0; i < 10; i++)     /* deeper than the stack */
			bs_log_ctx_push(&(struct bs_log_ctx){ .job = "deep" });
		log_info("too deep");
		for (int i = 0; i < 10; i++)
			bs_log_ctx_pop();
		log_info("back");
		const char *s = fresh();
		CHECK(strstr(s, "job") == NULL);
	}
	TEST("log: text lines get the context the message does not show") {
		bs_log_apply(NULL, "text");
		fresh();
		bs_log_ctx_push(&(struct bs_log_ctx){ .delivery = "{d-2}",
			.event = "repo:push", .repository = "acme/shop",
			.job = "5-0", .target = "a b" });
		log_info("job 5-0 -> x: registered");
		bs_log_ctx_pop();
		CHECK_STR(fresh(), "2025-12-03T13:00:00.123Z info  job 5-0 -> x: "
		    "registered delivery={d-2} event=repo:push repository=acme/shop "
		    "target=\"a b\"\n");
	}
	TEST("log: repeats within the window are counted, not written") {
		bs_log_apply(NULL, "text");
		fresh();
		fake_ms = 1000000;
		log_warn("redis: connect to 127.0.0.1:1 failed: Connection refused");
		fake_ms += 1000;
		log_warn("redis: connect to 127.0.0.1:1 failed: Connection refused");
		log_warn("redis: connect to 127.0.0.1:1 failed: Connection refused");
		log_debug("debug lines neither count nor flush");
		CHECK_INT(count_lines(fresh()), 1);
		/* the window is over: the next repeat carries the count */
		fake_ms = 1000000 + 10000;
		log_warn("redis: connect to 127.0.0.1:1 failed: Connection refused");
		const char *s = fresh();
		CHECK_INT(count_lines(s), 1);
		CHECK(strstr(s, "warn  redis: connect to 127.0.0.1:1 failed: Connection "
		    "refused (2 more like this suppressed in the last 10s)\n") != NULL);
		/* and opens a new window */
		fake_ms += 500;
		log_warn("redis: connect to 127.0.0.1:1 failed: Connection refused");
		CHECK_INT(count_lines(fresh()), 0);
		/* the same text at another level is another message, and a
		 * different line: the count comes first */
		log_error("redis: connect to 127.0.0.1:1 failed: Connection refused");
		s = fresh();
		CHECK_INT(count_lines(s), 2);
		CHECK(strstr(s, "warn  redis: connect to 127.0.0.1:1 failed: Connection "
		    "refused (1 more like this suppressed in the last 1s)\n") != NULL);
		CHECK(strstr(s, "Z error redis: connect to") != NULL);
	}
	TEST("log: a line of the same component writes the count first") {
		bs_log_apply(NULL, "json");
		fresh();
		fake_ms += 100;
		log_warn("redis: connect to 127.0.0.1:1 failed: Connection refused");
		log_info("http: other news");       /* another component: no count */
		log_info("no component");
		CHECK_INT(count_lines(fresh()), 2);
		fake_ms += 2000;      /* 2.6 s into the window opened above (3 s, rounded) */
		log_info("redis: connected to 127.0.0.1:1");
		const char *s = fresh();
		CHECK_INT(count_lines(s), 2);
		const char *a = strstr(s, "\"msg\":\"connect to 127.0.0.1:1 failed: "
		    "Connection refused (1 more like this suppressed in the last 3s)\""
		    ",\"suppressed\":1}\n");
		const char *b = strstr(s, "connected to 127.0.0.1:1\"");
		CHECK(a && b && a < b);
		/* the window goes on: a repeat within it is still counted */
		fake_ms += 1000;
		log_warn("redis: connect to 127.0.0.1:1 failed: Connection refused");
		CHECK_INT(count_lines(fresh()), 0);
		/* a window over with nothing after it reports on the next line,
		 * with the time since the window opened */
		fake_ms += 20000;
		log_info("tick");
		s = fresh();
		CHECK(strstr(s, "(1 more like this suppressed in the last 24s)") != NULL);
		CHECK(strstr(s, "\"level\":\"warn\"") != NULL);
		/* a window that counted opens the next one: still counted */
		log_warn("redis: connect to 127.0.0.1:1 failed: Connection refused");
		CHECK_INT(count_lines(fresh()), 0);
		/* a window that counted nothing closes: a first again */
		fake_ms += 10000;
		log_info("tick");
		CHECK(strstr(fresh(), "(1 more like this suppressed in the last 10s)"));
		fake_ms += 10000;
		log_info("tick");
		log_warn("redis: connect to 127.0.0.1:1 failed: Connection refused");
		s = fresh();
		CHECK_INT(count_lines(s), 2);
		CHECK(strstr(s, "suppressed") == NULL);
	}
	TEST("log: distinct messages are never suppressed; a full table evicts") {
		bs_log_apply(NULL, "text");
		bs_log_set_limit_window_ms(10000);      /* forgets the above */
		fresh();
		fake_ms += 60000;
		for (int i = 0; i < 20; i++)
			log_warn("delivery %d not queued", i);
		CHECK_INT(count_lines(fresh()), 20);
		log_warn("delivery %d not queued", 19);       /* still in the table */
		CHECK_INT(count_lines(fresh()), 0);
		for (int i = 100; i < 108; i++)               /* evicts 19 */
			log_warn("delivery %d not queued", i);
		const char *s = fresh();
		CHECK_INT(count_lines(s), 9);
		CHECK(strstr(s, "delivery 19 not queued (1 more like this") != NULL);
	}
	TEST("log: -v/-q wins over the config, also on a later apply") {
		bs_log_apply("warn", "text");
		CHECK(!bs_log_overridden());
		bs_log_set_override(BS_LOG_DEBUG);
		CHECK(bs_log_overridden());
		CHECK(bs_log_threshold == BS_LOG_DEBUG);
		CHECK_INT(bs_log_apply("error", "json"), 0);
		CHECK(bs_log_threshold == BS_LOG_DEBUG && bs_log_format == BS_LOG_JSON);
		fresh();
		log_debug("shown");
		CHECK(strstr(fresh(), "\"level\":\"debug\",\"msg\":\"shown\"") != NULL);
	}
	dup2(saved, 2);
	/* CHECK's reports went to the file too: show them */
	seen_ = 0;
	for (const char *l = fresh(); (l = strstr(l, "FAIL ")); l++)
		fprintf(stderr, "%.*s\n", (int)strcspn(l, "\n"), l);
	close(fd_);
	unlink(path_);
	return TEST_REPORT();
}
