/* redis_proto: pure readers of the answers the topology code acts on (see
 * redis_proto.h). The key slot is Redis' own (cluster.c keyHashSlot with
 * the CRC16-XMODEM of crc16.c), so that a pool finds the node Redis
 * would. */
#include "queue/redis_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static unsigned
crc16(const char *buf, size_t len)
{
	unsigned crc = 0;
	for (size_t i = 0; i < len; i++) {
		crc ^= (unsigned)(unsigned char)buf[i] << 8;
		for (int b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) & 0xffff :
			    (crc << 1) & 0xffff;
	}
	return crc;
}

int
bs_redis_keyslot(const char *key, size_t len)
{
	size_t s, e;
	for (s = 0; s < len && key[s] != '{'; s++)
		;
	if (s < len) {
		for (e = s + 1; e < len && key[e] != '}'; e++)
			;
		if (e < len && e > s + 1)
			return (int)(crc16(key + s + 1, e - s - 1) & 16383);
	}
	return (int)(crc16(key, len) & 16383);
}

int
bs_redis_tag_slot(const char *tag)
{
	char key[300];
	int n = snprintf(key, sizeof(key), "{%s}", tag ? tag : "");
	if (n < 0)
		n = 0;
	return bs_redis_keyslot(key, (size_t)n < sizeof(key) ? (size_t)n :
	    sizeof(key) - 1);
}

static int
set_host(const char *h, size_t n, char *host, size_t hostlen)
{
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}

static int
parse_port(const char *p, size_t n, int *port)
{
	if (n == 0 || n > 5)
		return -1;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

static int
hostport_n(const char *s, size_t len, char *host, size_t hostlen, int *port)
{
	const char *colon;
	if (len > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', len);
		if (!rb || (size_t)(rb - s) + 1 >= len || rb[1] != ':')
			return -1;
		if (set_host(s + 1, (size_t)(rb - s - 1), host, hostlen) < 0)
			return -1;
		colon = rb + 1;
	} else {
		colon = NULL;
		for (size_t i = len; i > 0; i--)
			if (s[i - 1] == ':') {
				colon = s + i - 1;
				break;
			}
		if (!colon || set_host(s, (size_t)(colon - s), host, hostlen) < 0)
			return -1;
	}
	return parse_port(colon + 1, len - (size_t)(colon + 1 - s), port);
}

int
bs_redis_hostport(const char *s, char *host, size_t hostlen, int *port)
{
	return hostport_n(s, strlen(s), host, hostlen, port);
}

static int
err_is(const redisReply *r, const char *word)
{
	size_t n = strlen(word);
	return r->len >= n && strncmp(r->str, word, n) == 0 &&
	    (r->len == n || r->str[n] == ' ');
}

enum bs_redis_answer
bs_redis_answer_of(const redisReply *reply, char *host, size_t hostlen,
    int *port)
{
	if (!reply || reply->type != REDIS_REPLY_ERROR || !reply->str)
		return BS_ANS_OK;
	int moved = err_is(reply, "MOVED"), ask = err_is(reply, "ASK");
	if (moved || ask) {
		/* "MOVED 3999 127.0.0.1:6381" */
		const char *sp = memchr(reply->str, ' ', reply->len);
		const char *sp2 = sp ? memchr(sp + 1, ' ',
		    reply->len - (size_t)(sp + 1 - reply->str)) : NULL;
		if (!sp2 || hostport_n(sp2 + 1, reply->len -
		    (size_t)(sp2 + 1 - reply->str), host, hostlen, port) < 0)
			return BS_ANS_RETRY;   /* unreadable: ask again later */
		return moved ? BS_ANS_MOVED : BS_ANS_ASK;
	}
	if (err_is(reply, "TRYAGAIN") || err_is(reply, "CLUSTERDOWN"))
		return BS_ANS_RETRY;
	if (err_is(reply, "READONLY") || err_is(reply, "LOADING") ||
	    err_is(reply, "MASTERDOWN"))
		return BS_ANS_RELOCATE;
	return BS_ANS_OK;
}

static int
str_of(const redisReply *r, char *out, size_t outlen)
{
	if (!r || (r->type != REDIS_REPLY_STRING &&
	    r->type != REDIS_REPLY_STATUS))
		return -1;
	return set_host(r->str, r->len, out, outlen);
}

int
bs_redis_slots_owner(const redisReply *slots, int slot, char *host,
    size_t hostlen, int *port)
{
	if (!slots || slots->type != REDIS_REPLY_ARRAY)
		return -1;
	for (size_t i = 0; i < slots->elements; i++) {
		const redisReply *e = slots->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER)
			continue;
		if (slot < e->element[0]->integer || slot > e->element[1]->integer)
			continue;
		const redisReply *m = e->element[2];
		if (m->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
		    m->element[1]->type != REDIS_REPLY_INTEGER ||
		    str_of(m->element[0], host, hostlen) < 0 ||
		    m->element[1]->integer < 1 || m->element[1]->integer > 65535)
			return -1;
		*port = (int)m->element[1]->integer;
		return 0;
	}
	return -1;
}

int
bs_redis_role_is_master(const redisReply *role)
{
	if (!role || role->type != REDIS_REPLY_ARRAY || role->elements < 1)
		return 0;
	const redisReply *r = role->element[0];
	return (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) &&
	    r->len == 6 && memcmp(r->str, "master", 6) == 0;
}

int
bs_redis_sentinel_addr(const redisReply *reply, char *host, size_t hostlen,
    int *port)
{
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    str_of(reply->element[0], host, hostlen) < 0)
		return -1;
	const redisReply *p = reply->element[1];
	if (p->type != REDIS_REPLY_STRING)
		return -1;
	return parse_port(p->str, p->len, port);
}

int
bs_redis_switch_master(const char *msg, size_t len, const char *name,
    char *host, size_t hostlen, int *port)
{
	const char *w[5];
	size_t wl[5], n = 0, i = 0;
	while (i < len && n < 5) {
		while (i < len && msg[i] == ' ')
			i++;
		if (i >= len)
			break;
		w[n] = msg + i;
		while (i < len && msg[i] != ' ')
			i++;
		wl[n] = (size_t)(msg + i - w[n]);
		n++;
	}
	if (n != 5 || wl[0] != strlen(name) || memcmp(w[0], name, wl[0]) != 0)
		return -1;
	if (set_host(w[3], wl[3], host, hostlen) < 0)
		return -1;
	return parse_port(w[4], wl[4], port);
}

long long
bs_redis_info_max_lag_ms(const char *info, size_t len)
{
	long long max = -1;
	const char *end = info + len;
	for (const char *p = info; p < end; ) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		/* "slave0:ip=127.0.0.1,port=7001,state=online,offset=42,lag=0" */
		if (eol - p > 5 && memcmp(p, "slave", 5) == 0) {
			const char *s = p, *lag = NULL;
			for (; s + 4 <= eol; s++)
				if (memcmp(s, "lag=", 4) == 0 &&
				    (s == p || s[-1] == ',')) {
					lag = s + 4;
					break;
				}
			if (lag) {
				long long v = 0;
				int any = 0;
				for (; lag < eol && *lag >= '0' && *lag <= '9'; lag++) {
					v = v * 10 + (*lag - '0');
					any = 1;
					if (v > 100000000)
						break;
				}
				if (any && v * 1000 > max)
					max = v * 1000;
			}
		}
		p = eol + 1;
	}
	return max;
}

redisReply *
bs_redis_reply_dup(const redisReply *r)
{
	if (!r)
		return NULL;
	redisReply *d = xcalloc(1, sizeof(*d));
	d->type = r->type;
	d->integer = r->integer;
	if (r->str) {
		d->str = xmalloc(r->len + 1);
		memcpy(d->str, r->str, r->len);
		d->str[r->len] = '\0';
		d->len = r->len;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements) {
		d->element = xcalloc(r->elements, sizeof(*d->element));
		d->elements = r->elements;
		for (size_t i = 0; i < r->elements; i++)
			d->element[i] = bs_redis_reply_dup(r->element[i]);
	}
	return d;
}
