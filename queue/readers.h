/* readers: the streams for other readers ({p}:events, {p}:deploys;
 * record.h) as the operator sees them in `bitsleuth stats`: how long, how
 * old, and every consumer group on them with its pending entries, its lag
 * and what it missed (XINFO STREAM, XINFO GROUPS; Redis >= 7). bitsleuth
 * owns no group on them: these are the readers' own. Synchronous, for the
 * CLI; everything returned is malloc'd (bs_readers_release). */
#ifndef BS_READERS_H
#define BS_READERS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#define BS_READERS_MAX_GROUPS 100   /* groups reported per stream */

struct bs_reader_group {
	char *name;
	long long consumers;
	long long pending;          /* read, not yet acknowledged */
	long long lag;              /* entries not yet read; -1 when Redis
	                             * cannot tell */
	long long missed;           /* entries trimmed before it read them: its
	                             * position is older than the oldest entry
	                             * left (it fell out of the trim window, or
	                             * was created at an id older than that) */
};

struct bs_reader_stream {
	long long length;           /* 0 when the key does not exist */
	long long oldest_age_ms;    /* now - first entry's time, -1 if empty */
	struct bs_reader_group *groups;
	size_t n_groups;
};

/* Reads key's figures into *out at now (unix ms). Returns 0, or -1 with
 * a reason in err. */
int bs_readers_stats(redisContext *c, const char *key, long long now,
    struct bs_reader_stream *out, char *err, size_t errlen);

/* Adds s (another shard's) into sum: lengths add, the oldest age is the
 * largest, groups of the same name add up (lag -1 stays unknown). */
void bs_readers_add(struct bs_reader_stream *sum,
    const struct bs_reader_stream *s);

void bs_readers_release(struct bs_reader_stream *s);

#endif
