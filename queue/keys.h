/* keys: every Redis key bitsleuth uses, from the configured prefix.
 *
 * Keys are "{<prefix>}:<name>": the braces are a Redis Cluster hash tag, so
 * all of one deployment's keys live in one slot and the Lua scripts that
 * touch several of them stay legal on a cluster. */
#ifndef BS_KEYS_H
#define BS_KEYS_H

#define BS_KEY_MAX 300

struct bs_keys {
	char prefix[200];
	char jobs[BS_KEY_MAX];      /* stream of jobs */
	char retry[BS_KEY_MAX];     /* zset: retry record -> due unix ms */
	char dead[BS_KEY_MAX];      /* stream of dead letters */
	char dryrun[BS_KEY_MAX];    /* stream of requests not sent (dry_run) */
	char replays[BS_KEY_MAX];   /* stream: who replayed what, when */
	char events[BS_KEY_MAX];    /* stream for other readers: every accepted
	                             * delivery (record.h; bitsleuth never reads it) */
	char deploys[BS_KEY_MAX];   /* stream for other readers: every deploy outcome */
	char stats[BS_KEY_MAX];     /* hash of durable counters */
	char seen[BS_KEY_MAX];      /* prefix of dedupe keys: seen:<delivery> */
	char seenc[BS_KEY_MAX];     /* prefix of content dedupe keys */
	char raw[BS_KEY_MAX];       /* prefix of kept raw deliveries: raw:<delivery> */
	char rawin[BS_KEY_MAX];     /* prefix of raw deliveries on their way in
	                             * (rawin:<delivery>, 60 s, see scripts.c) */
	/* (seen, seenc, raw, rawin and the lane prefixes end in ':'; append the id or
	 * target to get the key.) */
	char order[BS_KEY_MAX];     /* hash: target -> newest registered position */
	char deployed[BS_KEY_MAX];  /* hash: target -> sha of that registration */
	char lane[BS_KEY_MAX];      /* prefix of lane lists: lane:<target> (lanes.h) */
	char lanex[BS_KEY_MAX];     /* prefix of lane meta hashes: lanex:<target> */
	char lanep[BS_KEY_MAX];     /* prefix of parked/released hashes: lanep:<target> */
	char lanes[BS_KEY_MAX];     /* zset: targets with pushes -> head since ms */
	char sha[BS_KEY_MAX];       /* prefix of merge-sha notes: sha:<repo>:<12 hex> */
	char bf[BS_KEY_MAX];        /* prefix of backfill cache entries (issue 12) */
	char files[BS_KEY_MAX];     /* prefix of changed-files cache entries:
	                             * files:<product>:<repo>:<old>:<new> (issue 16) */
	char discover[BS_KEY_MAX];  /* prefix of discovery caches: discover:<org>/<project>
	                             * hash (issue 16, worker/discovery.h) */
	char apibudget[BS_KEY_MAX]; /* prefix of API token buckets: apibudget:<bucket> */
	char group[64];             /* consumer group name */
};

/* prefix + repo lower-cased (ASCII: repositories match case-insensitively)
 * + ':' + rest, malloc'd; NULL when repo is empty. */
char *bs_keys_repo(const char *prefix, const char *repo, const char *rest);

/* Fills every name from prefix (which must be 1..190 bytes of [A-Za-z0-9_.:-]).
 * Returns 0, or -1 for a bad prefix. */
int bs_keys_init(struct bs_keys *k, const char *prefix);

#endif
