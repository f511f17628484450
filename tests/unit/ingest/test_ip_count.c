/* test_ip_count: counts per address go up and down, an address whose count
 * reaches 0 is forgotten, and the table keeps working as it grows. */
#include <string.h>

#include "ingest/ip_count.h"
#include "tests/unit/test.h"

static void
addr_of(unsigned v, unsigned char a[16])
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = (unsigned char)(v >> 24);
	a[13] = (unsigned char)(v >> 16);
	a[14] = (unsigned char)(v >> 8);
	a[15] = (unsigned char)v;
}

int
main(void)
{
	TEST("ip_count: per-address counts") {
		struct bs_ip_count *t = bs_ip_count_new();
		unsigned char a[16], b[16];
		addr_of(0x7f000002, a);
		addr_of(0x7f000003, b);
		CHECK(bs_ip_count_add(t, a) == 1);
		CHECK(bs_ip_count_add(t, a) == 2);
		CHECK(bs_ip_count_add(t, b) == 1);
		bs_ip_count_del(t, a);
		CHECK(bs_ip_count_add(t, a) == 2);
		bs_ip_count_del(t, a);
		bs_ip_count_del(t, a);
		CHECK(bs_ip_count_add(t, a) == 1);   /* forgotten at 0, then new */
		bs_ip_count_del(t, a);
		bs_ip_count_del(t, b);
		bs_ip_count_free(t);
	}
	TEST("ip_count: 100,000 addresses, growth keeps every count") {
		struct bs_ip_count *t = bs_ip_count_new();
		unsigned char a[16];
		int ok = 1;
		for (unsigned i = 0; i < 100000; i++) {
			addr_of(i * 2654435761u, a);
			ok &= bs_ip_count_add(t, a) == 1;
		}
		for (unsigned i = 0; i < 100000; i += 7) {
			addr_of(i * 2654435761u, a);
			ok &= bs_ip_count_add(t, a) == 2;
			bs_ip_count_del(t, a);
		}
		for (unsigned i = 0; i < 100000; i++) {
			addr_of(i * 2654435761u, a);
			bs_ip_count_del(t, a);
		}
		addr_of(7 * 2654435761u, a);
		ok &= bs_ip_count_add(t, a) == 1;
		CHECK(ok);
		bs_ip_count_free(t);           /* frees the entry still held */
	}
	TEST("ip_count: IPv6 addresses apart from their v4 lookalikes") {
		struct bs_ip_count *t = bs_ip_count_new();
		unsigned char v4[16], v6[16];
		addr_of(0x7f000001, v4);
		memcpy(v6, v4, 16);
		v6[10] = v6[11] = 0;
		CHECK(bs_ip_count_add(t, v4) == 1);
		CHECK(bs_ip_count_add(t, v6) == 1);
		bs_ip_count_free(t);
	}
	return TEST_REPORT();
}
