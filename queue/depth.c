/* depth: the queue-depth gauges, cached (see depth.h).
 *
 * State: per shard the figures of its last read, whether that read
 * worked and when it completed (monotonic ms); per depth the refresh in
 * flight (`outstanding` scripts not yet answered) and the callers waiting
 * on it, each with its own timer. A script's reply goes through a small
 * `struct read` holding the depth and the shard; bs_queue_depth_free
 * clears read->d in each outstanding one, so a reply flushed later (the
 * pool freed after the depth) frees its read and nothing else. */
#include "queue/depth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/timer.h"
#include "common/xalloc.h"

/* KEYS: 1 jobs, 2 retry, 3 dead, 4 lanes index, 5 events, 6 deploys
 * ARGV: 1 group, 2 lane list prefix, 3 lane meta prefix, 4 most lanes
 * Returns {length, pending, retries, dead, oldest age ms, lanes held,
 * events length, deploys length, the largest lag of a reader group on
 * either (0 when none; a lag Redis cannot tell counts as the stream's
 * length)}.
 * Read-only. The lane keys are built from the prefixes (ARGV) rather than
 * passed: they share the hash tag of KEYS, so a cluster node holds them
 * (Redis allows undeclared keys of the script's own slot). */
static struct bs_redis_script depth_script = { .source =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local function ms(id)\n"
	"  return id and tonumber(string.match(id, '^(%d+)%-')) or nil\n"
	"end\n"
	"local function older(a, b)\n"
	"  if not a then return b end\n"
	"  if not b then return a end\n"
	"  return a < b and a or b\n"
	"end\n"
	"local len = redis.call('XLEN', KEYS[1])\n"
	"local pending, oldest, last, grouped = 0, nil, nil, false\n"
	"local xp = redis.pcall('XPENDING', KEYS[1], ARGV[1])\n"
	"if type(xp) == 'table' and not xp.err then\n"
	"  grouped = true\n"
	"  pending = tonumber(xp[1]) or 0\n"
	"  if pending > 0 then oldest = ms(xp[2]) end\n"
	"  local gs = redis.pcall('XINFO', 'GROUPS', KEYS[1])\n"
	"  if type(gs) == 'table' and not gs.err then\n"
	"    for _, g in ipairs(gs) do\n"
	"      local name, ld\n"
	"      for i = 1, #g - 1, 2 do\n"
	"        if g[i] == 'name' then name = g[i + 1]\n"
	"        elseif g[i] == 'last-delivered-id' then ld = g[i + 1] end\n"
	"      end\n"
	"      if name == ARGV[1] then last = ld end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"if len > 0 then\n"
	"  if grouped and last then\n"
	"    for _, e in ipairs(redis.call('XRANGE', KEYS[1], last, '+', 'COUNT', 2)) do\n"
	"      if e[1] ~= last then oldest = older(oldest, ms(e[1])) break end\n"
	"    end\n"
	"  else\n"
	"    local e = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]\n"
	"    if e then oldest = older(oldest, ms(e[1])) end\n"
	"  end\n"
	"end\n"
	"local age = 0\n"
	"if oldest and now > oldest then age = now - oldest end\n"
	"local held = 0\n"
	"local most = tonumber(ARGV[4]) or 0\n"
	"if most > 0 then\n"
	"  for _, name in ipairs(redis.call('ZRANGE', KEYS[4], 0, most - 1)) do\n"
	"    if redis.call('LLEN', ARGV[2] .. name) > 1 and\n"
	"       redis.call('HEXISTS', ARGV[3] .. name, 'failing') == 1 then\n"
	"      held = held + 1\n"
	"    end\n"
	"  end\n"
	"end\n"
	"local lens, lag = {}, 0\n"
	"for i = 5, 6 do\n"
	"  lens[i] = redis.call('XLEN', KEYS[i])\n"
	"  if lens[i] > 0 then\n"
	"    for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[i])) do\n"
	"      local l = lens[i]\n"
	"      for j = 1, #g - 1, 2 do\n"
	"        if g[j] == 'lag' and type(g[j + 1]) == 'number' then l = g[j + 1] end\n"
	"      end\n"
	"      if l > lag then lag = l end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return {len, pending, redis.call('ZCARD', KEYS[2]),\n"
	"  redis.call('XLEN', KEYS[3]), age, held, lens[5], lens[6], lag}\n"
};

struct waiter {
	struct bs_queue_depth *d;
	bs_queue_depth_cb *cb;
	void *arg;
	struct event *timer;
	TAILQ_ENTRY(waiter) link;
};

TAILQ_HEAD(waiter_list, waiter);

struct read {
	struct bs_queue_depth *d;       /* NULL once the depth is freed */
	int shard;
	TAILQ_ENTRY(read) link;
};

struct shard_state {
	struct bs_depth_figures fig;
	int ok;                         /* the last read worked */
	int read;                       /* a read completed once */
	long long done_ms;              /* when the last read completed */
};

struct bs_queue_depth {
	struct event_base *base;
	struct bs_shard shards[BS_SHARDS_MAX];
	int n_shards;
	int timeout_ms;
	struct shard_state st[BS_SHARDS_MAX];
	int outstanding;                /* scripts of the refresh unanswered */
	int refresh_failed;             /* some shard's read failed */
	unsigned long long scrape_errors;
	unsigned long long reads;
	struct waiter_list waiters;
	TAILQ_HEAD(, read) reads_out;   /* in flight */
};

int
bs_depth_parse(const redisReply *rep, struct bs_depth_figures *out,
    char *err, size_t errlen)
{
	if (!rep) {
		snprintf(err, errlen, "no reply");
		return -1;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "%s", rep->str);
		return -1;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != BS_DEPTH_FIGURES) {
		snprintf(err, errlen, "unexpected reply to the queue depth script");
		return -1;
	}
	long long v[BS_DEPTH_FIGURES];
	for (size_t i = 0; i < BS_DEPTH_FIGURES; i++) {
		const redisReply *e = rep->element[i];
		if (e->type != REDIS_REPLY_INTEGER || e->integer < 0) {
			snprintf(err, errlen, "unexpected reply to the queue depth "
			    "script (figure %zu)", i + 1);
			return -1;
		}
		v[i] = e->integer;
	}
	out->length = v[0];
	out->pending = v[1];
	out->retries = v[2];
	out->dead = v[3];
	out->oldest_age_ms = v[4];
	out->lanes_held = v[5];
	out->events = v[6];
	out->deploys = v[7];
	out->readers_lag = v[8];
	return 0;
}

/* === Exposition ========================================================= */

static const struct {
	const char *name, *help;
	int seconds;                    /* the ms figure, printed in seconds */
} families[] = {
	{ "bitsleuth_queue_length",
	  "Entries in the jobs stream (unread and pending), per shard.", 0 },
	{ "bitsleuth_queue_pending",
	  "Entries read by the workers group and not yet acknowledged.", 0 },
	{ "bitsleuth_queue_retries",
	  "Retry records waiting for their due time.", 0 },
	{ "bitsleuth_queue_dead_letters",
	  "Entries in the dead-letter stream.", 0 },
	{ "bitsleuth_queue_oldest_age_seconds",
	  "Age of the oldest unprocessed job (0 when none).", 1 },
	{ "bitsleuth_queue_lanes_held",
	  "Lanes whose failing head holds younger pushes back.", 0 },
	{ "bitsleuth_queue_events_length",
	  "Entries in the readers' stream of deliveries ({p}:events).", 0 },
	{ "bitsleuth_queue_deploys_length",
	  "Entries in the readers' stream of deploy outcomes ({p}:deploys).", 0 },
	{ "bitsleuth_queue_readers_lag",
	  "The largest lag of a reader group on {p}:events or {p}:deploys.", 0 },
};

static long long
figure(const struct bs_depth_figures *f, size_t i)
{
	switch (i) {
	case 0: return f->length;
	case 1: return f->pending;
	case 2: return f->retries;
	case 3: return f->dead;
	case 4: return f->oldest_age_ms;
	case 5: return f->lanes_held;
	case 6: return f->events;
	case 7: return f->deploys;
	default: return f->readers_lag;
	}
}

/* snprintf at out + *len, advancing *len by what it needed. */
#define EMIT(...) do { \
	size_t room_ = *len < outlen ? outlen - *len : 0; \
	int n_ = snprintf(room_ ? out + *len : NULL, room_, __VA_ARGS__); \
	if (n_ > 0) \
		*len += (size_t)n_; \
} while (0)

static void
format_family(size_t fam, const struct bs_depth_figures *const *figures,
    int n, char *out, size_t outlen, size_t *len)
{
	int any = 0;
	for (int i = 0; i < n; i++)
		any |= figures[i] != NULL;
	if (!any)
		return;
	EMIT("# HELP %s %s\n# TYPE %s gauge\n", families[fam].name,
	    families[fam].help, families[fam].name);
	for (int i = 0; i < n; i++) {
		if (!figures[i])
			continue;
		long long v = figure(figures[i], fam);
		if (families[fam].seconds)
			EMIT("%s{shard=\"%d\"} %lld.%03lld\n", families[fam].name, i,
			    v / 1000, v % 1000);
		else
			EMIT("%s{shard=\"%d\"} %lld\n", families[fam].name, i, v);
	}
}

size_t
bs_depth_format(const struct bs_depth_figures *const *figures, int n,
    unsigned long long scrape_errors, char *out, size_t outlen)
{
	size_t l = 0, *len = &l;
	if (outlen)
		out[0] = '\0';
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
		format_family(f, figures, n, out, outlen, len);
	EMIT("# HELP bitsleuth_queue_scrape_errors_total Queue depth refreshes "
	    "in which a shard could not be read.\n"
	    "# TYPE bitsleuth_queue_scrape_errors_total counter\n"
	    "bitsleuth_queue_scrape_errors_total %llu\n", scrape_errors);
	return l;
}

#undef EMIT

void
bs_queue_depth_render(const struct bs_queue_depth *d, bs_queue_depth_out *out,
    void *arg)
{
	const struct bs_depth_figures *figs[BS_SHARDS_MAX];
	long long now = bs_mono_ms();
	for (int i = 0; i < d->n_shards; i++) {
		const struct shard_state *s = &d->st[i];
		figs[i] = s->read && s->ok &&
		    now - s->done_ms <= BS_DEPTH_FRESH_MS + d->timeout_ms ?
		    &s->fig : NULL;
	}
	char small[4096];
	size_t need = bs_depth_format(figs, d->n_shards, d->scrape_errors, small,
	    sizeof(small));
	if (need < sizeof(small)) {
		out(arg, small, need);
		return;
	}
	char *big = xmalloc(need + 1);
	bs_depth_format(figs, d->n_shards, d->scrape_errors, big, need + 1);
	out(arg, big, need);
	free(big);
}

/* === Refresh ============================================================ */

/* Takes w off list, frees it and calls its cb. */
static void
answer(struct waiter_list *list, struct waiter *w)
{
	TAILQ_REMOVE(list, w, link);
	event_free(w->timer);
	bs_queue_depth_cb *cb = w->cb;
	void *arg = w->arg;
	free(w);
	cb(arg);
}

/* Every caller waiting now (not one a cb might add meanwhile). */
static void
answer_all(struct bs_queue_depth *d)
{
	struct waiter_list now;
	TAILQ_INIT(&now);
	TAILQ_CONCAT(&now, &d->waiters, link);
	struct waiter *w;
	while ((w = TAILQ_FIRST(&now)))
		answer(&now, w);
}

static void
on_wait_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct waiter *w = arg;
	answer(&w->d->waiters, w);
}

static int
fresh(const struct bs_queue_depth *d, long long now)
{
	for (int i = 0; i < d->n_shards; i++)
		if (!d->st[i].read || now - d->st[i].done_ms >= BS_DEPTH_FRESH_MS)
			return 0;
	return 1;
}

/* One script answered (or failed); the last one of a refresh ends it. */
static void
refresh_done(struct bs_queue_depth *d)
{
	if (--d->outstanding > 0)
		return;
	if (d->refresh_failed)
		d->scrape_errors++;
	answer_all(d);
}

static void
on_read(const redisReply *rep, const char *err, void *arg)
{
	struct read *r = arg;
	struct bs_queue_depth *d = r->d;
	if (!d) {
		free(r);              /* the depth went first */
		return;
	}
	TAILQ_REMOVE(&d->reads_out, r, link);
	struct shard_state *s = &d->st[r->shard];
	char why[128];
	struct bs_depth_figures f;
	s->ok = !err && bs_depth_parse(rep, &f, why, sizeof(why)) == 0;
	if (s->ok) {
		s->fig = f;
	} else {
		d->refresh_failed = 1;
		log_debug("queue depth of shard %d not read: %s", r->shard,
		    err ? err : why);
	}
	s->read = 1;
	s->done_ms = bs_mono_ms();
	free(r);
	refresh_done(d);
}

static void
refresh(struct bs_queue_depth *d)
{
	d->refresh_failed = 0;
	d->outstanding = d->n_shards + 1;   /* + ours, until every one is sent */
	char most[16];
	snprintf(most, sizeof(most), "%d", BS_DEPTH_MAX_LANES);
	for (int i = 0; i < d->n_shards; i++) {
		const struct bs_keys *k = d->shards[i].keys;
		const char *argv[] = { k->jobs, k->retry, k->dead, k->lanes,
			k->events, k->deploys, k->group, k->lane, k->lanex, most };
		size_t argvlen[10];
		for (int a = 0; a < 10; a++)
			argvlen[a] = strlen(argv[a]);
		struct read *r = xcalloc(1, sizeof(*r));
		r->d = d;
		r->shard = i;
		TAILQ_INSERT_TAIL(&d->reads_out, r, link);
		d->reads++;
		/* May answer before it returns (pool down): on_read then runs
		 * now, and `outstanding` keeps the refresh open meanwhile. */
		bs_redis_eval(d->shards[i].redis, &depth_script, 6, 10, argv, argvlen,
		    on_read, r);
	}
	refresh_done(d);
}

void
bs_queue_depth_fresh(struct bs_queue_depth *d, bs_queue_depth_cb *cb,
    void *arg)
{
	if (d->outstanding == 0 && fresh(d, bs_mono_ms())) {
		cb(arg);
		return;
	}
	struct waiter *w = xcalloc(1, sizeof(*w));
	w->d = d;
	w->cb = cb;
	w->arg = arg;
	w->timer = bs_timer_new(d->base, on_wait_timeout, w);
	TAILQ_INSERT_TAIL(&d->waiters, w, link);
	bs_timer_arm_ms(w->timer, d->timeout_ms);
	if (d->outstanding == 0)
		refresh(d);     /* may answer w (and free it) before returning */
}

struct bs_queue_depth *
bs_queue_depth_new(struct event_base *base, const struct bs_shard *shards,
    int n_shards, int timeout_ms)
{
	struct bs_queue_depth *d = xcalloc(1, sizeof(*d));
	d->base = base;
	if (n_shards < 1)
		n_shards = 1;
	if (n_shards > BS_SHARDS_MAX)
		n_shards = BS_SHARDS_MAX;
	d->n_shards = n_shards;
	memcpy(d->shards, shards, (size_t)n_shards * sizeof(*shards));
	d->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	TAILQ_INIT(&d->waiters);
	TAILQ_INIT(&d->reads_out);
	return d;
}

unsigned long long
bs_queue_depth_reads(const struct bs_queue_depth *d)
{
	return d->reads;
}

void
bs_queue_depth_free(struct bs_queue_depth *d)
{
	if (!d)
		return;
	struct read *r;
	while ((r = TAILQ_FIRST(&d->reads_out))) {
		TAILQ_REMOVE(&d->reads_out, r, link);
		r->d = NULL;          /* its reply frees it */
	}
	answer_all(d);
	free(d);
}
