/* redis_url: the redis:// and unix:// URL forms of redis.url, parsed.
 *
 * Pure (libc only): the config checks a URL with it, the Redis client
 * connects to what it returns. */
#ifndef BS_REDIS_URL_H
#define BS_REDIS_URL_H

#include <stddef.h>

/* Parsed form of a redis URL. */
struct bs_redis_addr {
	char host[256];
	int port;                   /* 6379 when absent */
	char unix_path[256];        /* set for unix:// URLs, host empty then */
	int db;                     /* 0 when absent */
	char password[256];
	char user[128];             /* ACL user of redis://user:pass@..., else empty */
};

/* Returns 0, or -1 with "bad redis url '...': reason" in err. */
int bs_redis_parse_url(const char *url, struct bs_redis_addr *out,
    char *err, size_t errlen);

#endif
