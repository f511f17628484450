/* Unit tests of ingest/json_out: the bytes yajl_gen wrote for the same
 * strings (escapes, '/' kept, upper-case \u00XX), valid UTF-8 passed
 * through, invalid bytes as \ufffd, growth past the stack buffer. */
#include <string.h>

#include <yajl/yajl_gen.h>

#include "ingest/json_out.h"
#include "tests/unit/test.h"

static char got_[8192];

static const char *
enc(const char *s, size_t n)
{
	struct bs_json_out o;
	bs_json_out_init(&o);
	bs_json_out_strn(&o, s, n);
	size_t k = o.len < sizeof(got_) - 1 ? o.len : sizeof(got_) - 1;
	memcpy(got_, o.buf, k);
	got_[k] = '\0';
	bs_json_out_free(&o);
	return got_;
}

/* What yajl_gen (validate_utf8 on) writes for the string. */
static const char *
yajl(const char *s, size_t n, char *buf, size_t buflen)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	yajl_gen_string(g, (const unsigned char *)s, n);
	const unsigned char *b;
	size_t len;
	yajl_gen_get_buf(g, &b, &len);
	size_t k = len < buflen - 1 ? len : buflen - 1;
	memcpy(buf, b, k);
	buf[k] = '\0';
	yajl_gen_free(g);
	return buf;
}

int
main(void)
{
	TEST("json_out: the same bytes as yajl_gen for every ASCII byte") {
		int same = 1;
		char y[64];
		for (int c = 0; c < 128; c++) {
			char s[3] = { 'a', (char)c, 'z' };
			same &= strcmp(enc(s, 3), yajl(s, 3, y, sizeof(y))) == 0;
		}
		CHECK(same);
		const char *mix = "queued \"x\" \\ / {a-1}:b.c_d\t\r\n\b\f\x01\x1f\x7f";
		CHECK_STR(enc(mix, strlen(mix)), yajl(mix, strlen(mix), y,
		    sizeof(y)));
		CHECK_STR(enc("\x01", 1), "\"\\u0001\"");
		CHECK_STR(enc("\x1f", 1), "\"\\u001F\"");
		CHECK_STR(enc("", 0), "\"\"");
	}
	TEST("json_out: valid UTF-8 kept, invalid bytes as \\ufffd") {
		char y[64];
		const char *ok = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
		CHECK_STR(enc(ok, strlen(ok)), yajl(ok, strlen(ok), y, sizeof(y)));
		CHECK_STR(enc("a\xff" "b", 3), "\"a\\ufffdb\"");
		CHECK_STR(enc("\xc3", 1), "\"\\ufffd\"");           /* cut */
		CHECK_STR(enc("\xe2\x82", 2), "\"\\ufffd\"");       /* cut, one */
		CHECK_STR(enc("\xc0\xaf", 2), "\"\\ufffd\\ufffd\""); /* overlong */
		CHECK_STR(enc("\xed\xa0\x80", 3),                    /* surrogate */
		    "\"\\ufffd\\ufffd\\ufffd\"");
		CHECK_STR(enc("\xf4\x90\x80\x80", 4),                /* > U+10FFFF */
		    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
		CHECK_STR(enc("\x80x", 2), "\"\\ufffdx\"");
		CHECK_STR(enc("\xe2\x82x", 3), "\"\\ufffdx\"");
	}
	TEST("json_out: raw pieces and growth past the stack buffer") {
		struct bs_json_out o;
		bs_json_out_init(&o);
		bs_json_out_raw(&o, "[", 1);
		for (int i = 0; i < 500; i++) {
			if (i)
				bs_json_out_raw(&o, ",", 1);
			bs_json_out_str(&o, "PROJ-1\n");
		}
		bs_json_out_raw(&o, "]", 1);
		CHECK_INT(o.len, 2 + 500 * 10 + 499);
		CHECK(memcmp(o.buf, "[\"PROJ-1\\n\",\"PROJ-1\\n\"", 22) == 0);
		CHECK(o.buf[o.len - 1] == ']');
		bs_json_out_free(&o);
		CHECK_INT(o.len, 0);
	}
	return TEST_REPORT();
}
