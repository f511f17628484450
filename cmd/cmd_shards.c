/* cmd_shards: dead-letter ids across shards, master addresses and the
 * WAIT after a CLI write (see cmd_shards.h). */
#include "cmd/cmd_shards.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/admin.h"

void
bs_cmd_dead_id(const struct bs_cmd_redis *a, const char *id, int shard,
    char *out, size_t outlen)
{
	if (a->n_shards > 1)
		snprintf(out, outlen, "%s@%d", id, shard);
	else
		snprintf(out, outlen, "%s", id);
}

int
bs_cmd_dead_find(const struct bs_cmd_redis *a, const char *arg, int *shard,
    char *id, size_t idlen, char *err, size_t errlen)
{
	const char *at = strchr(arg, '@');
	if (at) {
		char *end;
		long s = strtol(at + 1, &end, 10);
		if (end == at + 1 || *end || s < 0 || s >= a->n_shards) {
			snprintf(err, errlen, "bad dead letter '%s': the shard after '@' "
			    "must be 0..%d", arg, a->n_shards - 1);
			return -1;
		}
		if ((size_t)(at - arg) >= idlen || at == arg) {
			snprintf(err, errlen, "bad dead letter '%s'", arg);
			return -1;
		}
		snprintf(id, idlen, "%.*s", (int)(at - arg), arg);
		*shard = (int)s;
		return 0;
	}
	snprintf(id, idlen, "%s", arg);
	if (a->n_shards <= 1) {
		*shard = 0;
		return 0;
	}
	int found[2], nf = 0;
	for (int i = 0; i < a->n_shards; i++) {
		struct bs_admin_entry e;
		char gerr[256];
		if (bs_admin_dead_get(a->shards[i].rc, &a->shards[i].keys, id, &e,
		    gerr, sizeof(gerr)) != 0)
			continue;
		bs_admin_entry_release(&e);
		if (nf < 2)
			found[nf] = i;
		nf++;
	}
	if (nf == 0) {
		snprintf(err, errlen, "no dead letter '%s' in any of the %d shards",
		    id, a->n_shards);
		return -1;
	}
	if (nf > 1) {
		snprintf(err, errlen, "dead letter '%s' is in shards %d and %d%s: "
		    "give %s@%d or %s@%d", id, found[0], found[1], nf > 2 ?
		    " (and more)" : "", id, found[0], id, found[1]);
		return -1;
	}
	*shard = found[0];
	return 0;
}

void
bs_cmd_master(const redisContext *c, char *out, size_t outlen)
{
	if (!c)
		snprintf(out, outlen, "-");
	else if (c->connection_type == REDIS_CONN_UNIX)
		snprintf(out, outlen, "%s", c->unix_sock.path ? c->unix_sock.path : "-");
	else
		snprintf(out, outlen, "%s:%d", c->tcp.host ? c->tcp.host : "-",
		    c->tcp.port);
}

int
bs_cmd_wait(const struct bs_cmd_redis *a, int shard, char *err,
    size_t errlen)
{
	char werr[256];
	if (bs_redis_sync_wait(a->shards[shard].rc, &a->rcfg, werr,
	    sizeof(werr)) == 0)
		return 0;
	snprintf(err, errlen, "written, but not yet confirmed on replicas: %s",
	    werr);
	return -1;
}
