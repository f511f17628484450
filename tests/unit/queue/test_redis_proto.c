/* test_redis_proto: the readers of Redis' answers the topology code acts
 * on: key slots (checked against values redis-server's CLUSTER KEYSLOT
 * gives), MOVED/ASK/TRYAGAIN/READONLY classes, CLUSTER SLOTS, ROLE,
 * Sentinel's master address and +switch-master, INFO replication lag and
 * the reply copy. */
#include <stdlib.h>
#include <string.h>

#include "../test.h"
#include "queue/redis_proto.h"

static redisReply *
str(int type, const char *s)
{
	redisReply *r = calloc(1, sizeof(*r));
	r->type = type;
	r->len = strlen(s);
	r->str = strdup(s);
	return r;
}

static redisReply *
num(long long v)
{
	redisReply *r = calloc(1, sizeof(*r));
	r->type = REDIS_REPLY_INTEGER;
	r->integer = v;
	return r;
}

static redisReply *
arr(size_t n, redisReply **items)
{
	redisReply *r = calloc(1, sizeof(*r));
	r->type = REDIS_REPLY_ARRAY;
	r->elements = n;
	r->element = calloc(n ? n : 1, sizeof(*r->element));
	for (size_t i = 0; i < n; i++)
		r->element[i] = items[i];
	return r;
}

static redisReply *
range(long long lo, long long hi, const char *host, long long port)
{
	redisReply *node[] = { str(REDIS_REPLY_STRING, host), num(port),
	    str(REDIS_REPLY_STRING, "0123456789abcdef") };
	redisReply *e[] = { num(lo), num(hi), arr(3, node) };
	return arr(3, e);
}

int
main(void)
{
	TEST("key slots are Redis' own (CLUSTER KEYSLOT)") {
		/* redis-cli CLUSTER KEYSLOT on redis 7.0: */
		CHECK_INT(bs_redis_keyslot("foo", 3), 12182);
		CHECK_INT(bs_redis_keyslot("{user1000}.following", 20), 3443);
		CHECK_INT(bs_redis_keyslot("{bitsleuth}:jobs", 16),
		    bs_redis_keyslot("bitsleuth", 9));
		CHECK_INT(bs_redis_keyslot("123456789", 9), 12739);
		/* an empty tag hashes the whole key: "{}x" is not "x"'s slot,
		 * nor an unclosed "{x" that of "x" */
		CHECK_INT(bs_redis_keyslot("{x", 2) == bs_redis_keyslot("x", 1), 0);
	}
	TEST("host:port") {
		char h[64];
		int p = 0;
		CHECK_INT(bs_redis_hostport("10.0.0.1:26379", h, sizeof(h), &p), 0);
		CHECK_STR(h, "10.0.0.1");
		CHECK_INT(p, 26379);
		CHECK_INT(bs_redis_hostport("[::1]:7000", h, sizeof(h), &p), 0);
		CHECK_STR(h, "::1");
		CHECK_INT(bs_redis_hostport("host", h, sizeof(h), &p), -1);
		CHECK_INT(bs_redis_hostport("host:0", h, sizeof(h), &p), -1);
		CHECK_INT(bs_redis_hostport("host:65536", h, sizeof(h), &p), -1);
		CHECK_INT(bs_redis_hostport(":6379", h, sizeof(h), &p), -1);
	}
	TEST("answers: redirects, retries, relocations, the rest") {
		char h[64];
		int p = 0;
		redisReply *r = str(REDIS_REPLY_ERROR, "MOVED 3999 127.0.0.1:6381");
		CHECK_INT(bs_redis_answer_of(r, h, sizeof(h), &p), BS_ANS_MOVED);
		CHECK_STR(h, "127.0.0.1");
		CHECK_INT(p, 6381);
		freeReplyObject(r);
		r = str(REDIS_REPLY_ERROR, "ASK 3999 10.1.2.3:7002");
		CHECK_INT(bs_redis_answer_of(r, h, sizeof(h), &p), BS_ANS_ASK);
		CHECK_INT(p, 7002);
		freeReplyObject(r);
		r = str(REDIS_REPLY_ERROR, "MOVED garbage");
		CHECK_INT(bs_redis_answer_of(r, h, sizeof(h), &p), BS_ANS_RETRY);
		freeReplyObject(r);
		const char *retry[] = { "TRYAGAIN Multiple keys request during rehashing of slot",
		    "CLUSTERDOWN The cluster is down" };
		for (int i = 0; i < 2; i++) {
			r = str(REDIS_REPLY_ERROR, retry[i]);
			CHECK_INT(bs_redis_answer_of(r, h, sizeof(h), &p), BS_ANS_RETRY);
			freeReplyObject(r);
		}
		const char *reloc[] = { "READONLY You can't write against a read only replica.",
		    "LOADING Redis is loading the dataset in memory",
		    "MASTERDOWN Link with MASTER is down" };
		for (int i = 0; i < 3; i++) {
			r = str(REDIS_REPLY_ERROR, reloc[i]);
			CHECK_INT(bs_redis_answer_of(r, h, sizeof(h), &p), BS_ANS_RELOCATE);
			freeReplyObject(r);
		}
		const char *other[] = { "ERR unknown command", "MOVEDX 1 a:1",
		    "NOSCRIPT No matching script" };
		for (int i = 0; i < 3; i++) {
			r = str(REDIS_REPLY_ERROR, other[i]);
			CHECK_INT(bs_redis_answer_of(r, h, sizeof(h), &p), BS_ANS_OK);
			freeReplyObject(r);
		}
		r = str(REDIS_REPLY_STATUS, "MOVED 1 a:1");
		CHECK_INT(bs_redis_answer_of(r, h, sizeof(h), &p), BS_ANS_OK);
		freeReplyObject(r);
		CHECK_INT(bs_redis_answer_of(NULL, h, sizeof(h), &p), BS_ANS_OK);
	}
	TEST("CLUSTER SLOTS: the owner of a slot") {
		redisReply *ranges[] = { range(0, 5460, "127.0.0.1", 7000),
		    range(5461, 10922, "127.0.0.1", 7001),
		    range(10923, 16383, "10.0.0.3", 7002) };
		redisReply *slots = arr(3, ranges);
		char h[64];
		int p = 0;
		CHECK_INT(bs_redis_slots_owner(slots, 0, h, sizeof(h), &p), 0);
		CHECK_INT(p, 7000);
		CHECK_INT(bs_redis_slots_owner(slots, 5461, h, sizeof(h), &p), 0);
		CHECK_INT(p, 7001);
		CHECK_INT(bs_redis_slots_owner(slots, 16383, h, sizeof(h), &p), 0);
		CHECK_STR(h, "10.0.0.3");
		CHECK_INT(bs_redis_slots_owner(slots, 16384, h, sizeof(h), &p), -1);
		freeReplyObject(slots);
		redisReply *one[] = { range(0, 100, "a", 1) };
		slots = arr(1, one);
		CHECK_INT(bs_redis_slots_owner(slots, 101, h, sizeof(h), &p), -1);
		freeReplyObject(slots);
		CHECK_INT(bs_redis_slots_owner(NULL, 1, h, sizeof(h), &p), -1);
	}
	TEST("ROLE and Sentinel's answers") {
		redisReply *m[] = { str(REDIS_REPLY_STRING, "master"), num(42) };
		redisReply *role = arr(2, m);
		CHECK(bs_redis_role_is_master(role));
		freeReplyObject(role);
		redisReply *s[] = { str(REDIS_REPLY_STRING, "slave"),
		    str(REDIS_REPLY_STRING, "127.0.0.1"), num(6379) };
		role = arr(3, s);
		CHECK(!bs_redis_role_is_master(role));
		freeReplyObject(role);
		redisReply *a[] = { str(REDIS_REPLY_STRING, "127.0.0.1"),
		    str(REDIS_REPLY_STRING, "6380") };
		redisReply *addr = arr(2, a);
		char h[64];
		int p = 0;
		CHECK_INT(bs_redis_sentinel_addr(addr, h, sizeof(h), &p), 0);
		CHECK_INT(p, 6380);
		freeReplyObject(addr);
		redisReply nil = { .type = REDIS_REPLY_NIL };
		CHECK_INT(bs_redis_sentinel_addr(&nil, h, sizeof(h), &p), -1);
		const char *msg = "mymaster 127.0.0.1 6379 127.0.0.1 6380";
		CHECK_INT(bs_redis_switch_master(msg, strlen(msg), "mymaster", h,
		    sizeof(h), &p), 0);
		CHECK_INT(p, 6380);
		CHECK_INT(bs_redis_switch_master(msg, strlen(msg), "other", h,
		    sizeof(h), &p), -1);
		CHECK_INT(bs_redis_switch_master(msg, strlen(msg), "mymast", h,
		    sizeof(h), &p), -1);
		CHECK_INT(bs_redis_switch_master("mymaster 1 2", 12, "mymaster", h,
		    sizeof(h), &p), -1);
	}
	TEST("INFO replication: the largest lag") {
		const char *info = "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n"
		    "slave0:ip=127.0.0.1,port=7001,state=online,offset=42,lag=0\r\n"
		    "slave1:ip=127.0.0.1,port=7002,state=online,offset=40,lag=3\r\n"
		    "master_repl_offset:42\r\n";
		CHECK_INT(bs_redis_info_max_lag_ms(info, strlen(info)), 3000);
		const char *none = "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n";
		CHECK_INT(bs_redis_info_max_lag_ms(none, strlen(none)), -1);
		const char *odd = "slave0:ip=1,port=2,flag=1\r\n";
		CHECK_INT(bs_redis_info_max_lag_ms(odd, strlen(odd)), -1);
	}
	TEST("a reply copy is deep") {
		redisReply *it[] = { str(REDIS_REPLY_STRING, "a\0b"), num(7),
		    str(REDIS_REPLY_STATUS, "OK") };
		redisReply *r = arr(3, it);
		redisReply *d = bs_redis_reply_dup(r);
		freeReplyObject(r);
		CHECK_INT(d->type, REDIS_REPLY_ARRAY);
		CHECK_INT((long long)d->elements, 3);
		CHECK_STR(d->element[0]->str, "a");
		CHECK_INT(d->element[1]->integer, 7);
		CHECK_STR(d->element[2]->str, "OK");
		freeReplyObject(d);
		CHECK(bs_redis_reply_dup(NULL) == NULL);
	}
	return TEST_REPORT();
}
