/* test_utf8: bs_utf8_check_json and bs_utf8_valid on valid and invalid
 * byte sequences, JSON-string rules (raw control characters, \u0000,
 * surrogate escapes) and the byte offsets in the reasons. Every case is
 * also run at every alignment and behind long ASCII prefixes, so the SIMD
 * fast path and its byte-wise tail both see it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/utf8.h"
#include "tests/unit/test.h"

static char err[128];

/* Checks s (len bytes) as the body of a JSON string: "<s>". */
static int
str_ok(const char *s, size_t len)
{
	char buf[256];
	buf[0] = '"';
	memcpy(buf + 1, s, len);
	buf[len + 1] = '"';
	return bs_utf8_check_json(buf, len + 2, err, sizeof(err));
}

#define S(lit) str_ok(lit, sizeof(lit) - 1)

/* Result of checking `body` shifted by `pad` ASCII spaces (outside any
 * string) and, inside the string, behind `inner` 'a's. */
static int
shifted(const char *s, size_t len, size_t pad, size_t inner)
{
	char *buf = malloc(pad + inner + len + 2);
	memset(buf, ' ', pad);
	buf[pad] = '"';
	memset(buf + pad + 1, 'a', inner);
	memcpy(buf + pad + 1 + inner, s, len);
	buf[pad + 1 + inner + len] = '"';
	int r = bs_utf8_check_json(buf, pad + inner + len + 2, err,
	    sizeof(err));
	free(buf);
	return r;
}

struct utf8_case {
	const char *bytes;
	size_t len;
	int want;       /* 0 ok, -1 refused */
	const char *name;
};

#define C(lit, want, name) { lit, sizeof(lit) - 1, want, name }

static const struct utf8_case cases[] = {
	C("plain", 0, "ascii"),
	C("caf\xc3\xa9", 0, "2-byte"),
	C("\xe2\x82\xac", 0, "3-byte euro"),
	C("\xf0\x9f\x9a\x80 launch", 0, "4-byte emoji"),
	C("\xe2\x80\x8c", 0, "U+200C zero-width non-joiner"),
	C("\xef\xbf\xbf", 0, "U+FFFF"),
	C("\xf4\x8f\xbf\xbf", 0, "U+10FFFF"),
	C("\xed\x9f\xbf", 0, "U+D7FF"),
	C("\xee\x80\x80", 0, "U+E000"),
	C("\x7f", 0, "DEL is not a control character for JSON"),
	C("\xc0\x80", -1, "overlong C0 80"),
	C("\xc1\xbf", -1, "overlong C1"),
	C("\xe0\x80\x80", -1, "overlong E0 80 80"),
	C("\xe0\x9f\xbf", -1, "overlong E0 9F BF"),
	C("\xf0\x80\x80\x80", -1, "overlong F0 80 80 80"),
	C("\xf0\x8f\xbf\xbf", -1, "overlong F0 8F"),
	C("\xed\xa0\x80", -1, "surrogate ED A0 80"),
	C("\xed\xbf\xbf", -1, "surrogate ED BF BF"),
	C("\xf4\x90\x80\x80", -1, "above U+10FFFF"),
	C("\xf5\x80\x80\x80", -1, "F5 lead"),
	C("\xff", -1, "FF"),
	C("\x80", -1, "stray continuation"),
	C("a\xbf", -1, "stray continuation after ascii"),
	C("\xc3", -1, "truncated 2-byte (closing quote follows)"),
	C("\xe2\x82", -1, "truncated 3-byte"),
	C("\xf0\x9f\x9a", -1, "truncated 4-byte"),
	C("\xe2\x28\xa1", -1, "bad continuation"),
	C("a\nb", -1, "raw LF in string"),
	C("a\tb", -1, "raw TAB in string"),
	C("\x01", -1, "raw 0x01 in string"),
	C("\x1f", -1, "raw 0x1f in string"),
	C("\\u0000", -1, "\\u0000"),
	C("\\ud800", -1, "lone high surrogate"),
	C("\\uD800x", -1, "high surrogate then text"),
	C("\\ud800\\u0041", -1, "high surrogate then non-surrogate"),
	C("\\ud800\\ud800", -1, "two high surrogates"),
	C("\\udc00", -1, "lone low surrogate"),
	C("\\uDFFF", -1, "lone low surrogate upper case"),
	C("\\ud83d\\ude80", 0, "valid surrogate pair"),
	C("\\uD83D\\uDE80", 0, "valid pair upper case"),
	C("\\\\u0000", 0, "escaped backslash then u0000 text"),
	C("\\\\ud800", 0, "escaped backslash then ud800 text"),
	C("\\u0001", 0, "\\u0001 is fine"),
	C("\\u00e9", 0, "\\u00e9"),
	C("\\\"", 0, "escaped quote"),
	C("\\n\\t", 0, "escaped control characters"),
};

int
main(void)
{
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct utf8_case *c = &cases[k];
		TEST(c->name) {
			CHECK_INT(str_ok(c->bytes, c->len), c->want);
			if (c->want != 0)
				CHECK(strstr(err, "at byte ") != NULL);
			/* Every alignment and a long prefix: same answer. */
			for (size_t pad = 0; pad < 17; pad++)
				for (size_t inner = 0; inner < 40; inner += 13)
					CHECK_INT(shifted(c->bytes, c->len, pad, inner),
					    c->want);
		}
	}

	TEST("reason names the byte offset") {
		const char body[] = "{\"a\": \"xyz\xc0\x80\"}";
		CHECK_INT(bs_utf8_check_json(body, sizeof(body) - 1, err,
		    sizeof(err)), -1);
		CHECK_STR(err, "invalid UTF-8 at byte 10");
		const char body2[] = "{\"k\":\"\\u0000\"}";
		CHECK_INT(bs_utf8_check_json(body2, sizeof(body2) - 1, err,
		    sizeof(err)), -1);
		CHECK_STR(err, "\\u0000 escape at byte 6");
		const char body3[] = "{\"k\":\"a\nb\"}";
		CHECK_INT(bs_utf8_check_json(body3, sizeof(body3) - 1, err,
		    sizeof(err)), -1);
		CHECK_STR(err, "raw control character in string 0x0a at byte 7");
		const char body4[] = "{\"k\":\"\\ud800\"}";
		CHECK_INT(bs_utf8_check_json(body4, sizeof(body4) - 1, err,
		    sizeof(err)), -1);
		CHECK_STR(err, "unpaired surrogate escape at byte 6");
	}

	TEST("whitespace outside strings") {
		const char ok[] = "{\r\n\t\"a\" : 1 }\n";
		CHECK_INT(bs_utf8_check_json(ok, sizeof(ok) - 1, err, sizeof(err)),
		    0);
		const char vt[] = "{\"a\":1}\x0b";
		CHECK_INT(bs_utf8_check_json(vt, sizeof(vt) - 1, err, sizeof(err)),
		    -1);
		CHECK_STR(err, "control character 0x0b at byte 7");
		const char nul[] = "{\"a\":1}\0";
		CHECK_INT(bs_utf8_check_json(nul, sizeof(nul) - 1, err,
		    sizeof(err)), -1);
		const char hi[] = "{\"a\":1}\xc3\xa9";
		CHECK_INT(bs_utf8_check_json(hi, sizeof(hi) - 1, err, sizeof(err)),
		    0);   /* valid UTF-8; yajl refuses the JSON */
	}

	TEST("strings toggle correctly across escaped quotes") {
		/* The \n after the escaped quote is still inside the string. */
		const char b[] = "{\"a\":\"x\\\"\n\"}";
		CHECK_INT(bs_utf8_check_json(b, sizeof(b) - 1, err, sizeof(err)),
		    -1);
		/* After the string closes, LF is fine. */
		const char c[] = "{\"a\":\"x\\\\\"\n}";
		CHECK_INT(bs_utf8_check_json(c, sizeof(c) - 1, err, sizeof(err)),
		    0);
	}

	TEST("escapes cut by the end of the buffer do not read past it") {
		const char *tails[] = { "\"\\", "\"\\u", "\"\\ud8", "\"\\ud800",
		    "\"\\ud800\\", "\"\\ud800\\u", "\"\\ud800\\udc" };
		for (size_t k = 0; k < sizeof(tails) / sizeof(tails[0]); k++) {
			size_t n = strlen(tails[k]);
			char *heap = malloc(n);   /* exact size: ASan sees overreads */
			memcpy(heap, tails[k], n);
			int r = bs_utf8_check_json(heap, n, err, sizeof(err));
			/* A cut high surrogate is unpaired; the rest is left to
			 * yajl's "premature EOF". */
			CHECK(r == 0 || strstr(err, "surrogate") != NULL);
			free(heap);
		}
	}

	TEST("empty input and NULL err") {
		CHECK_INT(bs_utf8_check_json("", 0, err, sizeof(err)), 0);
		CHECK_INT(bs_utf8_check_json("\"\x80\"", 3, NULL, 0), -1);
	}

	TEST("bs_utf8_valid") {
		CHECK_INT(bs_utf8_valid("abc", 3), 0);
		CHECK_INT(bs_utf8_valid("a\nb\x01", 4), 0);
		CHECK_INT(bs_utf8_valid("\xf0\x9f\x9a\x80", 4), 0);
		CHECK_INT(bs_utf8_valid("\xc0\x80", 2), -1);
		CHECK_INT(bs_utf8_valid("\xed\xa0\x80", 3), -1);
		CHECK_INT(bs_utf8_valid("\xf4\x90\x80\x80", 4), -1);
		CHECK_INT(bs_utf8_valid("abcdefgh\x80", 9), -1);
		CHECK_INT(bs_utf8_valid("abcdefgh\xe2\x82", 10), -1);
		CHECK_INT(bs_utf8_valid("", 0), 0);
	}

	TEST("long valid document with mixed content") {
		size_t n = 0;
		char *big = malloc(70000);
		big[n++] = '[';
		while (n < 69000) {
			const char *piece = "\"caf\xc3\xa9 \xf0\x9f\x9a\x80 \\\"q\\\" "
			    "\\ud83d\\ude80 plain ascii text\",\n\t";
			size_t l = strlen(piece);
			memcpy(big + n, piece, l);
			n += l;
		}
		big[n++] = '0';
		big[n++] = ']';
		CHECK_INT(bs_utf8_check_json(big, n, err, sizeof(err)), 0);
		big[n - 7] = '\x01';    /* the 't' of the last string */
		CHECK_INT(bs_utf8_check_json(big, n, err, sizeof(err)), -1);
		big[n - 7] = ' ';
		big[1000] = '\x80';     /* somewhere in the middle */
		CHECK_INT(bs_utf8_check_json(big, n, err, sizeof(err)), -1);
		CHECK_STR(err, "invalid UTF-8 at byte 1000");
		free(big);
	}
	return TEST_REPORT();
}
