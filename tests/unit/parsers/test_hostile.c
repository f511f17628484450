/* test_hostile: hand-written hostile bodies through bs_parse_event, the
 * entry point the HTTP ingest uses. Each must be refused with its own
 * status and a precise one-line reason that echoes no payload bytes, or
 * accepted with bounded memory: invalid UTF-8 (overlong, CESU surrogates,
 * raw control characters, bad escapes) anywhere in the body, nesting far
 * past the cap (also inside ignored containers), too many changes and
 * commits (Cloud per change, DC at top level), huge strings and huge
 * ignored subtrees (the event's arena stays small), and some JSON oddities
 * (BOM, NUL byte, a second value). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/bitbucket.h"
#include "tests/unit/test.h"

static char err[256];

static enum bs_parse_status
parse_n(enum bs_product p, const char *key, const char *b, size_t n,
    struct bs_event *ev)
{
	err[0] = '\0';
	return bs_parse_event(p, key, b, n, NULL, ev, err, sizeof(err));
}

static enum bs_parse_status
cloud(const char *b, struct bs_event *ev)
{
	return parse_n(BS_PRODUCT_CLOUD, "repo:push", b, strlen(b), ev);
}

static enum bs_parse_status
dc(const char *b, struct bs_event *ev)
{
	return parse_n(BS_PRODUCT_DC, "repo:refs_changed", b, strlen(b), ev);
}

/* The reason is one printable ASCII line. */
static int
clean_reason(void)
{
	if (!err[0])
		return 0;
	for (const char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

/* A growable buffer for generated bodies. */
struct buf {
	char *s;
	size_t n, cap;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void
repeat(struct buf *b, const char *s, size_t times)
{
	for (size_t i = 0; i < times; i++)
		puts_(b, s);
}

#define CLOUD_HEAD "{\"repository\":{\"full_name\":\"a/b\"},\"push\":{\"changes\":["
#define DC_HEAD "{\"repository\":{\"slug\":\"r\",\"project\":{\"key\":\"P\"}},"

int
main(void)
{
	struct bs_event ev;
	bs_event_init(&ev);

	TEST("invalid UTF-8 anywhere: BAD_UTF8 with the byte offset") {
		/* In a value, in a key, outside strings, in an ignored field. */
		static const struct { const char *body; const char *reason; } c[] = {
			{ "{\"a\":\"\xc0\xaf\"}", "invalid UTF-8 at byte 6" },
			{ "{\"\xe0\x80\xaf\":1}", "invalid UTF-8 at byte 2" },
			{ "{\"a\":\"\xed\xa0\x80\xed\xb0\x80\"}", "invalid UTF-8 at byte 6" },
			{ "{\"a\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8 at byte 6" },
			{ "{\"a\":\"x\xff\"}", "invalid UTF-8 at byte 7" },
			{ "{\"a\":1}\xc3", "invalid UTF-8 at byte 7" },
		};
		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			CHECK_INT(cloud(c[i].body, &ev), BS_PARSE_BAD_UTF8);
			CHECK_STR(err, c[i].reason);
			CHECK_INT(dc(c[i].body, &ev), BS_PARSE_BAD_UTF8);
			CHECK_STR(err, c[i].reason);
		}
	}

	TEST("control characters and forbidden escapes: BAD_UTF8, precise") {
		const char *raw_ctl = "{\"a\":\"x\x01y\"}";
		CHECK_INT(cloud(raw_ctl, &ev), BS_PARSE_BAD_UTF8);
		CHECK(clean_reason());
		CHECK(strstr(err, "byte 7") != NULL);
		const char *raw_lf = "{\"a\":\"x\ny\"}";
		CHECK_INT(cloud(raw_lf, &ev), BS_PARSE_BAD_UTF8);
		CHECK(strstr(err, "byte 7") != NULL);
		CHECK_INT(cloud("{\"a\":\"\\u0000\"}", &ev), BS_PARSE_BAD_UTF8);
		CHECK(clean_reason());
		CHECK_INT(cloud("{\"a\":\"\\ud83d\"}", &ev), BS_PARSE_BAD_UTF8);
		CHECK(clean_reason());
		CHECK_INT(cloud("{\"a\":\"\\ude80\\ud83d\"}", &ev),
		    BS_PARSE_BAD_UTF8);
		/* A raw NUL byte outside strings is not JSON either. */
		static const char nul[] = "{\"a\":1}\0 ";
		enum bs_parse_status st = parse_n(BS_PRODUCT_CLOUD, "repo:push",
		    nul, sizeof(nul) - 1, &ev);
		CHECK(st == BS_PARSE_BAD_UTF8 || st == BS_PARSE_BAD_JSON);
		CHECK(clean_reason());
	}

	TEST("JSON oddities: BOM, second value, bare scalar") {
		CHECK_INT(cloud("\xef\xbb\xbf{\"a\":1}", &ev), BS_PARSE_BAD_JSON);
		CHECK(clean_reason());
		CHECK_INT(cloud("{} {}", &ev), BS_PARSE_BAD_JSON);
		CHECK(clean_reason());
		CHECK_INT(cloud("7", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "top-level JSON value is not an object");
		CHECK_INT(dc("\"x\"", &ev), BS_PARSE_SCHEMA);
		CHECK_STR(err, "top-level JSON value is not an object");
	}

	TEST("depth: 1e6 levels refused with LIMIT, also inside ignored fields") {
		struct buf b = { 0 };
		puts_(&b, "{\"ignored\":");
		repeat(&b, "[", 1000000);
		CHECK_INT(cloud(b.s, &ev), BS_PARSE_LIMIT);
		CHECK(strncmp(err, "JSON nested deeper than 64 levels", 33) == 0);
		CHECK(clean_reason());
		CHECK_INT(dc(b.s, &ev), BS_PARSE_LIMIT);
		CHECK(strncmp(err, "JSON nested deeper than 64 levels", 33) == 0);
		b.n = 0;
		repeat(&b, "{\"a\":", 1000000);
		CHECK_INT(dc(b.s, &ev), BS_PARSE_LIMIT);
		free(b.s);
	}

	TEST("too many changes: LIMIT names the limit") {
		struct buf b = { 0 };
		puts_(&b, CLOUD_HEAD);
		for (size_t i = 0; i < 1001; i++)
			puts_(&b, i ? ",{}" : "{}");
		puts_(&b, "]}}");
		CHECK_INT(cloud(b.s, &ev), BS_PARSE_LIMIT);
		CHECK(strncmp(err, "more than 1000 changes in one push at byte ",
		    43) == 0);
		b.n = 0;
		puts_(&b, DC_HEAD "\"changes\":[");
		for (size_t i = 0; i < 1001; i++)
			puts_(&b, i ? ",{}" : "{}");
		puts_(&b, "]}");
		CHECK_INT(dc(b.s, &ev), BS_PARSE_LIMIT);
		CHECK(strncmp(err, "more than 1000 changes in one push", 34) == 0);
		free(b.s);
	}

	TEST("too many commits: LIMIT (Cloud per change, DC top level)") {
		struct buf b = { 0 };
		puts_(&b, CLOUD_HEAD "{\"commits\":[");
		for (size_t i = 0; i < 1001; i++)
			puts_(&b, i ? ",{\"hash\":\"h\"}" : "{\"hash\":\"h\"}");
		puts_(&b, "]}]}}");
		CHECK_INT(cloud(b.s, &ev), BS_PARSE_LIMIT);
		CHECK(strncmp(err, "more than 1000 commits in one change", 36) == 0);
		b.n = 0;
		puts_(&b, DC_HEAD "\"changes\":[],\"commits\":[");
		for (size_t i = 0; i < 1001; i++)
			puts_(&b, i ? ",{}" : "{}");
		puts_(&b, "]}");
		CHECK_INT(dc(b.s, &ev), BS_PARSE_LIMIT);
		CHECK(strncmp(err, "more than 1000 commits", 22) == 0);
		/* Parents too. */
		b.n = 0;
		puts_(&b, CLOUD_HEAD "{\"commits\":[{\"parents\":[");
		for (size_t i = 0; i < 1001; i++)
			puts_(&b, i ? ",{\"hash\":\"p\"}" : "{\"hash\":\"p\"}");
		puts_(&b, "]}]}]}}");
		CHECK_INT(cloud(b.s, &ev), BS_PARSE_LIMIT);
		CHECK(strncmp(err, "more than 1000 parents in one commit", 36) == 0);
		CHECK(ev.n_changes == 0 && ev.repository == NULL);
		free(b.s);
	}

	TEST("huge strings are cut, huge ignored subtrees cost nothing") {
		/* An 8 MiB message (raw UTF-8, 2-byte chars) and an 8 MiB
		 * ignored field: the event keeps at most max_string bytes of
		 * the message and never copies the ignored one. */
		struct buf b = { 0 };
		puts_(&b, CLOUD_HEAD "{\"new\":{\"type\":\"branch\",\"name\":\"m\"},"
		    "\"commits\":[{\"hash\":\"h\",\"message\":\"");
		repeat(&b, "\xc3\xa9", 4 << 20);
		puts_(&b, "\",\"rendered\":{\"html\":\"");
		repeat(&b, "<p>xxxxxx</p>", (8 << 20) / 13);
		puts_(&b, "\"},\"unknown\":[");
		for (size_t i = 0; i < 200000; i++)
			puts_(&b, i ? ",{\"k\":[1,2.5e300,null,true]}" :
			    "{\"k\":[1,2.5e300,null,true]}");
		puts_(&b, "]}]}]}}");
		CHECK_INT(cloud(b.s, &ev), BS_PARSE_OK);
		CHECK_INT(ev.n_changes, 1);
		const char *m = ev.changes[0].commits[0].message;
		CHECK(m != NULL && strlen(m) == 65536);
		CHECK(ev.arena.total < 200 * 1024);
		free(b.s);
	}

	TEST("DC hostile dates and ids are kept or refused, never trusted") {
		CHECK_INT(dc(DC_HEAD "\"changes\":[],\"date\":99999999999999999999}",
		    &ev), BS_PARSE_OK);
		CHECK_STR(ev.date, "99999999999999999999");
		CHECK_INT(dc(DC_HEAD "\"changes\":[],\"date\":\"9999-12-31T23:59:59-2359\"}",
		    &ev), BS_PARSE_OK);
		CHECK_STR(ev.date, "9999-12-31T23:59:59-2359");
		const char *pr = "{\"pullRequest\":{\"id\":99999999999999999999}}";
		CHECK_INT(parse_n(BS_PRODUCT_DC, "pr:opened", pr, strlen(pr), &ev),
		    BS_PARSE_SCHEMA);
		CHECK_STR(err, "pullRequest.id is not an integer");
	}

	bs_event_release(&ev);
	return TEST_REPORT();
}
