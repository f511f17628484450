/* redis_locate: lookups of the master (Sentinel) or the slot owner
 * (Cluster), and the Sentinel +switch-master watch (see redis_locate.h).
 *
 * Each lookup is one short-lived hiredis async context at a time (the
 * probe): connect, AUTH when a password is set, the query, then it is
 * disconnected. A probe timer bounds it. The probe is detached
 * (ac->data = NULL, l->probe = NULL) before it is freed or disconnected,
 * so hiredis callbacks that run during the free see it gone. Every next
 * step starts from a timer, never from inside a hiredis callback. The
 * watch is one long-lived context subscribed to +switch-master; when it
 * drops it moves to the next sentinel after 1 s and, once subscribed
 * again, starts a lookup (a switch may have been missed). */
#include "queue/redis_locate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>

#include "common/log.h"
#include "common/timer.h"
#include "common/xalloc.h"
#include "queue/redis_adapter.h"
#include "queue/redis_proto.h"

#define MAX_SOURCES 96
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 2000
#define WATCH_RETRY_MS 1000

struct source {
	char host[256];
	int port;
};

struct bs_redis_locate {
	struct event_base *base;
	int sentinel;               /* 1: Sentinel mode, 0: Cluster mode */
	char master[128];           /* Sentinel: the master's name */
	char password[256];         /* the sentinels' (Sentinel) or the nodes' */
	int slot;                   /* Cluster: the pool's slot */
	int timeout_ms;
	struct source src[MAX_SOURCES];
	int n_src;
	int next_src;               /* the source the next probe asks */
	int tried;                  /* sources tried in this lookup */
	int backoff_ms;
	int running;                /* a lookup is under way */
	redisAsyncContext *probe;
	struct event *probe_timer;  /* bounds the probe */
	struct event *step;         /* next probe, or a backoff before a lookup */
	redisAsyncContext *watch;
	int watch_src;
	struct event *watch_timer;  /* watch connect timeout, or retry */
	bs_redis_located_cb *found;
	void *arg;
};

static void probe_next(struct bs_redis_locate *l);



static redisAsyncContext *
connect_to(struct bs_redis_locate *l, const struct source *s)
{
	redisAsyncContext *ac = redisAsyncConnect(s->host, s->port);
	if (!ac)
		return NULL;
	if (ac->err || bs_redis_adapter_attach(ac, l->base) != REDIS_OK) {
		redisAsyncFree(ac);
		return NULL;
	}
	ac->data = l;
	if (l->password[0])
		redisAsyncCommand(ac, NULL, NULL, "AUTH %s", l->password);
	return ac;
}

/* How ctx_drop ends a context. */
enum drop {
	DROP_FREE,          /* freed now (from outside its callbacks) */
	DROP_DISCONNECT,    /* from within its reply callback */
	DROP_HIREDIS_FREES, /* its connect or disconnect callback runs: hiredis
	                     * frees it when that returns */
};

/* Ends the probe's or the watch's context *slot (if any) and stops its
 * timer, detached both ways first so that none of its callbacks does
 * anything. (A context's data is non-NULL only while it is the current
 * one of its slot.) */
static void
ctx_drop(redisAsyncContext **slot, struct event *timer, enum drop how)
{
	redisAsyncContext *ac = *slot;
	evtimer_del(timer);
	if (!ac)
		return;
	*slot = NULL;
	ac->data = NULL;
	if (how == DROP_FREE)
		redisAsyncFree(ac);
	else if (how == DROP_DISCONNECT)
		redisAsyncDisconnect(ac);
}

/* === Lookups === */

/* The probe of the current source failed (or answered nothing useful):
 * the next source, or a backoff once every source was asked. */
static void
probe_failed(struct bs_redis_locate *l)
{
	l->next_src = (l->next_src + 1) % l->n_src;
	if (++l->tried < l->n_src) {
		bs_timer_arm_ms(l->step, 0);
		return;
	}
	log_warn("redis: no %s answered (%d asked); asking again in %d ms",
	    l->sentinel ? "sentinel knows the master" : "node knows the slot's owner",
	    l->n_src, l->backoff_ms);
	l->tried = 0;
	bs_timer_arm_ms(l->step, l->backoff_ms);
	l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
	    l->backoff_ms * 2;
}

static void
on_probe_reply(redisAsyncContext *ac, void *replyp, void *privdata)
{
	struct bs_redis_locate *l = ac->data;
	const redisReply *reply = replyp;
	(void)privdata;
	if (!l || l->probe != ac)
		return;
	char host[256];
	int port = 0, ok;
	if (l->sentinel)
		ok = bs_redis_sentinel_addr(reply, host, sizeof(host), &port) == 0;
	else
		ok = bs_redis_slots_owner(reply, l->slot, host, sizeof(host),
		    &port) == 0;
	if (!ok && reply && reply->type == REDIS_REPLY_ERROR)
		log_warn("redis: %s:%d answered the lookup with: %s",
		    l->src[l->next_src].host, l->src[l->next_src].port, reply->str);
	ctx_drop(&l->probe, l->probe_timer, DROP_DISCONNECT);
	if (!ok) {
		probe_failed(l);
		return;
	}
	l->running = 0;
	l->tried = 0;
	l->backoff_ms = BACKOFF_MIN_MS;
	if (!l->sentinel)
		bs_redis_locate_learn(l, host, port);
	l->found(host, port, 0, l->arg);
}

static void
on_probe_connect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct bs_redis_locate *l = ac->data;
	if (!l || status == REDIS_OK)
		return;
	ctx_drop(&l->probe, l->probe_timer, DROP_HIREDIS_FREES);
	probe_failed(l);
}

static void
on_probe_disconnect(const redisAsyncContext *cac, int status)
{
	on_probe_connect(cac, status == REDIS_OK ? REDIS_ERR : status);
}

static void
on_probe_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct bs_redis_locate *l = arg;
	(void)fd;
	(void)what;
	ctx_drop(&l->probe, l->probe_timer, DROP_FREE);
	probe_failed(l);
}

static void
probe_next(struct bs_redis_locate *l)
{
	const struct source *s = &l->src[l->next_src];
	redisAsyncContext *ac = connect_to(l, s);
	if (!ac) {
		probe_failed(l);
		return;
	}
	redisAsyncSetConnectCallback(ac, on_probe_connect);
	redisAsyncSetDisconnectCallback(ac, on_probe_disconnect);
	if (l->sentinel)
		redisAsyncCommand(ac, on_probe_reply, NULL,
		    "SENTINEL get-master-addr-by-name %s", l->master);
	else
		redisAsyncCommand(ac, on_probe_reply, NULL, "CLUSTER SLOTS");
	l->probe = ac;
	bs_timer_arm_ms(l->probe_timer, l->timeout_ms);
}

static void
on_step(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	probe_next(arg);
}

void
bs_redis_locate_now(struct bs_redis_locate *l)
{
	if (l->running)
		return;
	l->running = 1;
	l->tried = 0;
	bs_timer_arm_ms(l->step, 0);
}

void
bs_redis_locate_learn(struct bs_redis_locate *l, const char *host, int port)
{
	if (l->sentinel)
		return;
	for (int i = 0; i < l->n_src; i++)
		if (l->src[i].port == port && strcmp(l->src[i].host, host) == 0)
			return;
	if (l->n_src >= MAX_SOURCES || strlen(host) >= sizeof(l->src[0].host))
		return;
	snprintf(l->src[l->n_src].host, sizeof(l->src[0].host), "%s", host);
	l->src[l->n_src].port = port;
	l->n_src++;
}

/* === The Sentinel watch === */

static void watch_start(struct bs_redis_locate *l);

/* The watch's context is gone (ctx_drop): the next sentinel, after a
 * pause. */
static void
watch_lost(struct bs_redis_locate *l)
{
	l->watch_src = (l->watch_src + 1) % l->n_src;
	bs_timer_arm_ms(l->watch_timer, WATCH_RETRY_MS);
}

static void
on_watch_msg(redisAsyncContext *ac, void *replyp, void *privdata)
{
	struct bs_redis_locate *l = ac->data;
	const redisReply *r = replyp;
	(void)privdata;
	if (!l || l->watch != ac || !r || r->type != REDIS_REPLY_ARRAY ||
	    r->elements != 3 || r->element[0]->type != REDIS_REPLY_STRING)
		return;
	const redisReply *kind = r->element[0], *msg = r->element[2];
	if (kind->len == 9 && memcmp(kind->str, "subscribe", 9) == 0) {
		evtimer_del(l->watch_timer);
		log_debug("redis: watching +switch-master on sentinel %s:%d",
		    l->src[l->watch_src].host, l->src[l->watch_src].port);
		bs_redis_locate_now(l);
		return;
	}
	char host[256];
	int port;
	if (kind->len == 7 && memcmp(kind->str, "message", 7) == 0 &&
	    msg->type == REDIS_REPLY_STRING &&
	    bs_redis_switch_master(msg->str, msg->len, l->master, host,
	    sizeof(host), &port) == 0) {
		log_info("redis: sentinel %s:%d: master %s switched to %s:%d",
		    l->src[l->watch_src].host, l->src[l->watch_src].port,
		    l->master, host, port);
		l->found(host, port, 1, l->arg);
	}
}

static void
on_watch_connect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct bs_redis_locate *l = ac->data;
	if (!l || status == REDIS_OK)
		return;
	ctx_drop(&l->watch, l->watch_timer, DROP_HIREDIS_FREES);
	watch_lost(l);
}

static void
on_watch_disconnect(const redisAsyncContext *cac, int status)
{
	on_watch_connect(cac, status == REDIS_OK ? REDIS_ERR : status);
}

/* The watch timer: the watch's connect or subscribe took too long (then
 * it is dropped), or the wait before the next try is over. */
static void
on_watch_timer(evutil_socket_t fd, short what, void *arg)
{
	struct bs_redis_locate *l = arg;
	(void)fd;
	(void)what;
	if (l->watch) {
		ctx_drop(&l->watch, l->watch_timer, DROP_FREE);
		watch_lost(l);
		return;
	}
	watch_start(l);
}

static void
watch_start(struct bs_redis_locate *l)
{
	redisAsyncContext *ac = connect_to(l, &l->src[l->watch_src]);
	if (!ac) {
		watch_lost(l);
		return;
	}
	redisAsyncSetConnectCallback(ac, on_watch_connect);
	redisAsyncSetDisconnectCallback(ac, on_watch_disconnect);
	redisAsyncCommand(ac, on_watch_msg, NULL, "SUBSCRIBE +switch-master");
	l->watch = ac;
	bs_timer_arm_ms(l->watch_timer, l->timeout_ms);
}

/* === Life === */

static void
add_source(struct bs_redis_locate *l, const char *hostport)
{
	char host[256];
	int port;
	if (l->n_src < MAX_SOURCES &&
	    bs_redis_hostport(hostport, host, sizeof(host), &port) == 0) {
		snprintf(l->src[l->n_src].host, sizeof(l->src[0].host), "%s", host);
		l->src[l->n_src].port = port;
		l->n_src++;
	} else {
		log_warn("redis: ignoring address '%s' (not host:port)", hostport);
	}
}

struct bs_redis_locate *
bs_redis_locate_new(struct event_base *base, const struct bs_redis_config *cfg,
    bs_redis_located_cb *found, void *arg)
{
	struct bs_redis_locate *l = xcalloc(1, sizeof(*l));
	l->base = base;
	l->sentinel = cfg->sentinel_master != NULL;
	l->found = found;
	l->arg = arg;
	l->timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 2000;
	l->backoff_ms = BACKOFF_MIN_MS;
	if (l->sentinel) {
		snprintf(l->master, sizeof(l->master), "%s", cfg->sentinel_master);
		if (cfg->sentinel_password)
			snprintf(l->password, sizeof(l->password), "%s",
			    cfg->sentinel_password);
		for (size_t i = 0; i < cfg->n_sentinels; i++)
			add_source(l, cfg->sentinels[i]);
	} else {
		l->slot = bs_redis_tag_slot(cfg->hash_tag);
		if (cfg->password)
			snprintf(l->password, sizeof(l->password), "%s", cfg->password);
		for (size_t i = 0; i < cfg->n_cluster; i++)
			add_source(l, cfg->cluster[i]);
	}
	l->probe_timer = bs_timer_new(base, on_probe_timeout, l);
	l->step = bs_timer_new(base, on_step, l);
	l->watch_timer = bs_timer_new(base, on_watch_timer, l);
	if (l->n_src == 0) {
		/* config/ refuses this; stay inert rather than spin. */
		log_error("redis: no %s address to ask", l->sentinel ? "sentinel" :
		    "cluster");
		return l;
	}
	bs_redis_locate_now(l);
	if (l->sentinel)
		watch_start(l);
	return l;
}

void
bs_redis_locate_free(struct bs_redis_locate *l)
{
	if (!l)
		return;
	ctx_drop(&l->probe, l->probe_timer, DROP_FREE);
	ctx_drop(&l->watch, l->watch_timer, DROP_FREE);
	event_free(l->probe_timer);
	event_free(l->step);
	event_free(l->watch_timer);
	memset(l->password, 0, sizeof(l->password));
	free(l);
}
