/* shard: the shard of a repository and the key prefix of a shard (see
 * shard.h; the hash must never change). Pure code, no I/O. */
#include "queue/shard.h"

#include <stdint.h>
#include <stdio.h>

int
bs_shard_of(const char *repo, int n_shards)
{
	if (n_shards <= 1 || !repo || !*repo)
		return 0;
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)repo; *p; p++) {
		unsigned char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h ^= c;
		h *= 16777619u;
	}
	return (int)(h % (uint32_t)n_shards);
}

const char *
bs_shard_repo(const struct bs_event *ev)
{
	if (!ev)
		return NULL;
	if (ev->type == BS_EVENT_PR && ev->pr && ev->pr->destination.repository &&
	    ev->pr->destination.repository[0])
		return ev->pr->destination.repository;
	return ev->repository && ev->repository[0] ? ev->repository : NULL;
}

int
bs_shard_prefix(const char *prefix, int i, int n_shards, char *out,
    size_t outlen)
{
	int n = n_shards > 1 ? snprintf(out, outlen, "%s:%d", prefix, i) :
	    snprintf(out, outlen, "%s", prefix);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
bs_shard_keys(const char *prefix, int i, int n_shards, struct bs_keys *out)
{
	char pre[200];
	if (bs_shard_prefix(prefix, i, n_shards, pre, sizeof(pre)) != 0)
		return -1;
	return bs_keys_init(out, pre);
}
