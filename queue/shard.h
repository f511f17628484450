/* shard: which of queue.shards hash tags a repository's keys live in.
 *
 * With queue.shards = N > 1 the queue is N independent sets of keys,
 * "{<prefix>:0}:…" … "{<prefix>:N-1}:…" (bs_shard_prefix), so that a Redis
 * Cluster can place them on N masters. Everything that belongs to one
 * repository (its deliveries, dedupe, lanes, order, deployed shas, PRs,
 * merge-sha notes, backfill cache, raw deliveries, retries, dead letters
 * and counters) lives in that repository's shard; the installation-wide
 * Bitbucket API token bucket lives in shard 0. With N <= 1 there is one
 * shard, the unsharded "{<prefix>}:…" of every earlier version.
 *
 * STABLE FOREVER: bs_shard_of is FNV-1a 32-bit (offset basis 2166136261,
 * prime 16777619) over the repository identity "workspace/slug" (Cloud) or
 * "PROJECT/slug" (Data Center), exactly the string deployments match and
 * bs_keys_repo uses, ASCII-lower-cased, modulo N. Changing this function
 * moves repositories between shards, which is the same as changing N (see
 * README "Changing queue.shards"). Pure code, no I/O. */
#ifndef BS_SHARD_H
#define BS_SHARD_H

#include <stddef.h>

#include "common/event.h"
#include "queue/keys.h"
#include "queue/redis_client.h"

#define BS_SHARDS_MAX 64

/* One shard as a running process sees it: the pool its short commands go
 * to (in Redis Cluster the one talking to the master of the shard's hash
 * tag; otherwise every shard shares one pool) and its key names. Both
 * pointers are the process'. */
struct bs_shard {
	struct bs_redis *redis;
	const struct bs_keys *keys;
};

/* The shard (0 .. n_shards-1) of repo; 0 when n_shards <= 1 or repo is
 * NULL or empty (a delivery without a repository goes to shard 0). */
int bs_shard_of(const char *repo, int n_shards);

/* The repository whose shard an event's job goes to: a pull request's
 * destination repository (where its merge lands and where its lanes and
 * PR links live) when it has one, else the event's repository; NULL when
 * neither is known. */
const char *bs_shard_repo(const struct bs_event *ev);

/* The key prefix of shard i: "<prefix>:<i>" when n_shards > 1, else
 * prefix itself (for bs_keys_init, and as the Redis Cluster hash tag).
 * Returns 0, or -1 when it does not fit in outlen. */
int bs_shard_prefix(const char *prefix, int i, int n_shards, char *out,
    size_t outlen);
/* The keys of shard i of n_shards (bs_shard_prefix, then bs_keys_init).
 * Returns 0, or -1 for a prefix that does not fit. */
int bs_shard_keys(const char *prefix, int i, int n_shards,
    struct bs_keys *out);

#endif
