/* keys: builds every Redis key name of one deployment from its prefix.
 *
 * All names share the hash tag "{<prefix>}" so that a Lua script touching
 * several of them is legal on Redis Cluster (one slot). The prefix is
 * validated against a small character set: no braces (they would break the
 * hash tag), no spaces or control bytes (they would make keys unreadable in
 * redis-cli). The seen/seenc/raw members are prefixes that end in ':'; the
 * full key is that prefix followed by the delivery id or content key.
 * Pure code, no I/O. */
#include "queue/keys.h"

#include "common/xalloc.h"

#include <stdio.h>
#include <string.h>

static int
prefix_ok(const char *p)
{
	size_t n = strlen(p);
	if (n < 1 || n > 190)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

static void
key(char *out, const char *prefix, const char *name)
{
	snprintf(out, BS_KEY_MAX, "{%s}:%s", prefix, name);
}

int
bs_keys_init(struct bs_keys *k, const char *prefix)
{
	memset(k, 0, sizeof(*k));
	if (!prefix || !prefix_ok(prefix))
		return -1;
	snprintf(k->prefix, sizeof(k->prefix), "%s", prefix);
	key(k->jobs, prefix, "jobs");
	key(k->retry, prefix, "retry");
	key(k->dead, prefix, "dead");
	key(k->dryrun, prefix, "dryrun");
	key(k->replays, prefix, "replays");
	key(k->events, prefix, "events");
	key(k->deploys, prefix, "deploys");
	key(k->stats, prefix, "stats");
	key(k->seen, prefix, "seen:");
	key(k->seenc, prefix, "seenc:");
	key(k->raw, prefix, "raw:");
	key(k->rawin, prefix, "rawin:");
	key(k->order, prefix, "order");
	key(k->deployed, prefix, "deployed");
	key(k->lane, prefix, "lane:");
	key(k->lanex, prefix, "lanex:");
	key(k->lanep, prefix, "lanep:");
	key(k->lanes, prefix, "lanes");
	key(k->sha, prefix, "sha:");
	key(k->bf, prefix, "bf:");
	key(k->files, prefix, "files:");
	key(k->discover, prefix, "discover:");
	key(k->apibudget, prefix, "apibudget:");
	snprintf(k->group, sizeof(k->group), "%s", "workers");
	return 0;
}

char *
bs_keys_repo(const char *prefix, const char *repo, const char *rest)
{
	if (!repo || !*repo)
		return NULL;
	size_t pl = strlen(prefix), rl = strlen(repo), tl = strlen(rest);
	char *k = xmalloc(pl + rl + tl + 2), *w = k + pl;
	memcpy(k, prefix, pl);
	for (size_t i = 0; i < rl; i++) {
		unsigned char c = (unsigned char)repo[i];
		*w++ = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	*w++ = ':';
	memcpy(w, rest, tl + 1);
	return k;
}
