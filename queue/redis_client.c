/* redis_client: a small pool of hiredis async contexts on a libevent
 * loop, with the timers and reconnects that hiredis 0.14.1 lacks (h2o's
 * redis.c shape), that follows the master through Sentinel failovers and
 * the slot's owner through Cluster failovers and migrations. The commands
 * themselves are redis_cmd.c's; both share redis_pool.h.
 *
 * Each connection has the states CLOSED (no context; a retry timer may be
 * armed), CONNECTING (a context exists, TCP connect and the AUTH/SELECT/
 * ROLE (or PING) handshake are under way, bounded by connect_timer) and
 * CONNECTED (commands are accepted). The pool is up while one connection
 * is.
 *
 * Where it connects: redis.url names the node; otherwise a locator
 * (redis_locate.h) asks the sentinels or the cluster, and tells of every
 * +switch-master. A new address (a switch, a lookup's answer, a MOVED)
 * marks the connections stale: they take no new command and are
 * reconnected to it once their pending commands have answered (those that
 * answer MOVED or READONLY are sent again by redis_cmd.c). A lost
 * connection, a refused connect or a node that is no longer master (ROLE)
 * makes the pool ask the locator again. While it moves, the pool does not
 * report itself down unless the new address cannot be reached.
 *
 * Dropping detaches both ways (ac->data = NULL, k->_ac = NULL) before
 * redisAsyncFree, so hiredis' connect/disconnect callbacks that run during
 * the free do nothing. Loop thread only; bs_redis_free must not run inside
 * our callbacks. */
#include "queue/redis_client.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>

#include "common/log.h"
#include "common/timer.h"
#include "common/metrics.h"
#include "common/xalloc.h"
#include "queue/redis_adapter.h"
#include "queue/redis_locate.h"
#include "queue/redis_pool.h"
#include "queue/redis_proto.h"

const char bs_redis_err_down[] = "redis connection down";
const char bs_redis_err_timeout[] = "redis command timeout";
const char bs_redis_err_shutdown[] = "redis client shut down";
const char bs_redis_err_replicas[] =
    "redis replicas did not confirm the write in time";

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define LAG_POLL_MS 5000

static void start_connect(struct bs_conn *k);



static void
set_addr_text(struct bs_redis *r)
{
	if (!r->located)
		r->addr_text[0] = '\0';
	else if (r->addr.unix_path[0])
		snprintf(r->addr_text, sizeof(r->addr_text), "%s", r->addr.unix_path);
	else
		snprintf(r->addr_text, sizeof(r->addr_text), "%s:%d", r->addr.host,
		    r->addr.port);
}

/* Asks the locator again (Sentinel and Cluster modes). */
static void
relocate_soon(struct bs_redis *r)
{
	if (r->loc && !r->freeing)
		bs_redis_locate_now(r->loc);
}

/* === Up and down === */

static void
report(struct bs_redis *r, int up)
{
	if (r->reported_up == up || r->freeing)
		return;
	r->reported_up = up;
	if (r->on_state)
		r->on_state(up, r->state_arg);
}

static void
set_state_up(struct bs_conn *k)
{
	struct bs_redis *r = k->r;
	if (k->is_ask) {
		k->state = BS_ST_CONNECTED;
		evtimer_del(k->_connect_timer);
		log_debug("redis: connected to %s:%d (ASK)", r->ask_host, r->ask_port);
		bs_pool_flush_queue(r);
		return;
	}
	k->state = BS_ST_CONNECTED;
	k->stale = 0;
	k->backoff_ms = BACKOFF_MIN_MS;
	evtimer_del(k->_connect_timer);
	if (r->n_up++ == 0) {
		log_info("redis: connected to %s db %d (%d connection%s)%s",
		    r->addr_text, r->addr.db, r->n_conns, r->n_conns == 1 ? "" : "s",
		    r->mode == BS_POOL_SENTINEL ? ", the sentinels' master" :
		    r->mode == BS_POOL_CLUSTER ? ", the slot's owner" : "");
	} else {
		log_debug("redis: connection %d of %d up", k->index + 1, r->n_conns);
	}
	r->moving = 0;
	report(r, 1);
	bs_pool_flush_queue(r);
}

/* After a connection went (detach counted it down): the pool is reported
 * down when none is left, unless it is moving to a new address. Last in
 * every caller: the callback may even free r. */
static void
report_if_down(struct bs_redis *r)
{
	if (r->n_up == 0 && !r->moving)
		report(r, 0);
}

static void
schedule_retry(struct bs_conn *k)
{
	if (k->r->freeing)
		return;
	bs_timer_arm_ms(k->_retry_timer, k->backoff_ms);
	k->backoff_ms *= 2;
	if (k->backoff_ms > BACKOFF_MAX_MS)
		k->backoff_ms = BACKOFF_MAX_MS;
}

/* A connect failed: when moving, the new address is not reachable either,
 * so the pool is down; the locator is asked again. */
static void
connect_failed(struct bs_conn *k)
{
	struct bs_redis *r = k->r;
	if (k->is_ask) {
		bs_pool_ask_failed(r);
		return;
	}
	schedule_retry(k);
	relocate_soon(r);
	if (r->moving && k->index == 0) {
		r->moving = 0;
		report_if_down(r);
	}
}

static void
detach(struct bs_conn *k, int in_hiredis_free)
{
	struct bs_redis *r = k->r;
	redisAsyncContext *ac = k->_ac;
	int was_up = k->state == BS_ST_CONNECTED && !k->stale && !k->is_ask;
	evtimer_del(k->_connect_timer);
	evtimer_del(k->_cmd_timer);
	k->_ac = NULL;
	k->state = BS_ST_CLOSED;
	k->stale = 0;
	/* Counted down before the flush: what its callbacks send meets a
	 * pool with one connection fewer. */
	if (was_up)
		r->n_up--;
	if (ac) {
		ac->data = NULL;
		if (!in_hiredis_free)
			redisAsyncFree(ac);
	}
}

void
bs_pool_drop(struct bs_conn *k, const char *why)
{
	struct bs_redis *r = k->r;
	if (why && !r->freeing)
		log_warn("redis: connection to %s dropped: %s", r->addr_text, why);
	detach(k, 0);
	if (k->is_ask) {
		bs_pool_ask_failed(r);
		return;
	}
	schedule_retry(k);          /* not while freeing */
	report_if_down(r);
}

void
bs_pool_recycle_later(struct bs_conn *k)
{
	evtimer_del(k->_retry_timer);
	bs_timer_arm_ms(k->_retry_timer, 0);
}

/* === The address === */

static void
move_to(struct bs_redis *r, const char *host, int port, int switched)
{
	if (r->located && !r->addr.unix_path[0] && r->addr.port == port &&
	    strcmp(r->addr.host, host) == 0)
		return;
	if (strlen(host) >= sizeof(r->addr.host))
		return;
	int first = !r->located;
	char old[300];
	snprintf(old, sizeof(old), "%s", r->addr_text);
	snprintf(r->addr.host, sizeof(r->addr.host), "%s", host);
	r->addr.unix_path[0] = '\0';
	r->addr.port = port;
	r->located = 1;
	set_addr_text(r);
	if (first) {
		log_info("redis: %s is at %s", r->mode == BS_POOL_SENTINEL ?
		    "the master" : "the slot's owner", r->addr_text);
	} else {
		log_warn("redis: %s moved from %s to %s%s", r->mode ==
		    BS_POOL_SENTINEL ? "the master" : "the slot's owner", old,
		    r->addr_text, switched ? " (+switch-master)" : "");
		if (r->on_state && r->metrics)
			bs_metrics_inc(r->metrics, BS_M_REDIS_FAILOVERS);
	}
	r->moving = r->n_up > 0;
	for (int i = 0; i < r->n_conns; i++) {
		struct bs_conn *k = &r->conns[i];
		if (k->state == BS_ST_CONNECTED && k->n_pending > 0) {
			if (!k->stale) {
				k->stale = 1;
				r->n_up--;
			}
			continue;
		}
		if (k->_ac)
			detach(k, 0);
		evtimer_del(k->_retry_timer);
		k->backoff_ms = BACKOFF_MIN_MS;
		start_connect(k);
	}
	report_if_down(r);
}

static void
on_located(const char *host, int port, int switched, void *arg)
{
	move_to(arg, host, port, switched);
}

void
bs_pool_relocate(struct bs_redis *r, const char *host, int port)
{
	if (host) {
		if (r->loc)
			bs_redis_locate_learn(r->loc, host, port);
		move_to(r, host, port, 0);
		return;
	}
	relocate_soon(r);
}

void
bs_pool_ask_connect(struct bs_redis *r, const char *host, int port)
{
	struct bs_conn *k = &r->ask;
	if (r->freeing || strlen(host) >= sizeof(r->ask_host))
		return;
	if (k->state != BS_ST_CLOSED && r->ask_port == port &&
	    strcmp(r->ask_host, host) == 0)
		return;
	if (k->_ac)
		detach(k, 0);   /* its commands fail as after a drop */
	snprintf(r->ask_host, sizeof(r->ask_host), "%s", host);
	r->ask_port = port;
	start_connect(k);
}

/* === Connections === */

static void
on_handshake(redisAsyncContext *ac, void *replyp, void *privdata)
{
	struct bs_conn *k = ac->data;
	const redisReply *reply = replyp;
	int role = privdata != NULL;
	if (!k || k->_ac != ac || !reply)
		return; /* detached, or the context is going away */
	if (reply->type == REDIS_REPLY_ERROR) {
		log_error("redis: %s refused the handshake: %s", k->r->addr_text,
		    reply->str);
		bs_pool_drop(k, NULL);
		relocate_soon(k->r);
		return;
	}
	if (role && !bs_redis_role_is_master(reply)) {
		if (k->index == 0)
			log_warn("redis: %s is not a master (ROLE); asking the "
			    "sentinels again", k->r->addr_text);
		bs_pool_drop(k, NULL);
		relocate_soon(k->r);
		return;
	}
	if (--k->handshake_left == 0)
		set_state_up(k);
}

static void
on_connect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct bs_conn *k = ac->data;
	if (!k)
		return;
	struct bs_redis_addr *a = &k->r->addr;
	if (status != REDIS_OK) {
		/* hiredis frees ac right after this: detach, never free it. The
		 * first connection speaks for the pool: the others fail alike. */
		if (k->index == 0)
			log_warn("redis: connect to %s failed: %s", k->r->addr_text,
			    ac->errstr[0] ? ac->errstr : "?");
		detach(k, 1);
		connect_failed(k);
		return;
	}
	/* AUTH and SELECT before anyone may send; ROLE behind the sentinels
	 * (a demoted master must not take writes); PING when none of them is
	 * needed (and as a check that the server answers at all). */
	k->handshake_left = 0;
	if (a->password[0]) {
		if (a->user[0])
			redisAsyncCommand(ac, on_handshake, NULL, "AUTH %s %s",
			    a->user, a->password);
		else
			redisAsyncCommand(ac, on_handshake, NULL, "AUTH %s",
			    a->password);
		k->handshake_left++;
	}
	if (a->db) {
		redisAsyncCommand(ac, on_handshake, NULL, "SELECT %d", a->db);
		k->handshake_left++;
	}
	if (k->r->mode == BS_POOL_SENTINEL) {
		redisAsyncCommand(ac, on_handshake, k, "ROLE");
		k->handshake_left++;
	}
	if (!k->handshake_left) {
		redisAsyncCommand(ac, on_handshake, NULL, "PING");
		k->handshake_left++;
	}
}

static void
on_disconnect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct bs_conn *k = ac->data;
	(void)status;
	if (!k)
		return; /* we dropped it ourselves */
	if (k->is_ask) {
		detach(k, 1);
		bs_pool_ask_failed(k->r);
		return;
	}
	/* hiredis lost the connection and frees ac after this returns. When
	 * Redis goes away every connection loses it: the first one speaks for
	 * the pool; a loss while others stay up is its own news. */
	struct bs_redis *r = k->r;
	if (k->index == 0 || r->n_up > 1)
		log_warn("redis: connection to %s lost: %s", r->addr_text,
		    ac->errstr[0] ? ac->errstr : "closed");
	detach(k, 1);
	schedule_retry(k);
	relocate_soon(r);
	report_if_down(r);
}

static void
on_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct bs_conn *k = arg;
	(void)fd;
	(void)what;
	if (k->state != BS_ST_CONNECTING)
		return;
	if (k->index == 0)
		log_warn("redis: connect to %s timed out", k->r->addr_text);
	detach(k, 0);
	connect_failed(k);
}

/* The retry timer: a reconnect after the backoff, or a stale connection
 * with nothing pending to recycle. */
static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct bs_conn *k = arg;
	(void)fd;
	(void)what;
	if (k->_ac) {
		if (!k->stale || k->n_pending > 0)
			return;
		detach(k, 0);
		k->backoff_ms = BACKOFF_MIN_MS;
	}
	start_connect(k);
}

static void
start_connect(struct bs_conn *k)
{
	struct bs_redis *r = k->r;
	if (!r->located || r->freeing)
		return;     /* on_located starts it */
	struct bs_redis_addr *a = &r->addr;
	redisAsyncContext *ac = k->is_ask ?
	    redisAsyncConnect(r->ask_host, r->ask_port) : a->unix_path[0] ?
	    redisAsyncConnectUnix(a->unix_path) : redisAsyncConnect(a->host, a->port);
	if (!ac) {
		log_error("redis: cannot allocate a connection");
		schedule_retry(k);
		return;
	}
	if (ac->err) {
		if (k->index == 0)
			log_warn("redis: connect to %s failed: %s", r->addr_text,
			    ac->errstr);
		redisAsyncFree(ac);
		connect_failed(k);
		return;
	}
	if (bs_redis_adapter_attach(ac, r->base) != REDIS_OK) {
		log_error("redis: cannot attach to the event loop");
		redisAsyncFree(ac);
		schedule_retry(k);
		return;
	}
	ac->data = k;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	k->_ac = ac;
	k->state = BS_ST_CONNECTING;
	bs_timer_arm_ms(k->_connect_timer, r->connect_timeout_ms);
}

/* === The replica lag gauge === */

static void
on_info(const redisReply *reply, const char *err, void *arg)
{
	struct bs_redis *r = arg;
	r->lag_polling = 0;
	if (!err && reply && reply->type == REDIS_REPLY_STRING && r->metrics)
		r->metrics->redis_replica_lag_ms =
		    bs_redis_info_max_lag_ms(reply->str, reply->len);
}

static void
on_lag_timer(evutil_socket_t fd, short what, void *arg)
{
	struct bs_redis *r = arg;
	(void)fd;
	(void)what;
	bs_timer_arm_ms(r->_lag_timer, LAG_POLL_MS);
	if (r->lag_polling || r->n_up == 0)
		return;
	static const char *argv[] = { "INFO", "replication" };
	static const size_t argvlen[] = { 4, 11 };
	r->lag_polling = 1;
	bs_redis_command(r, 2, argv, argvlen, on_info, r);
}

/* === Life === */

static void
on_wq_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	bs_pool_flush_queue(arg);
}

static int
init_addr(struct bs_redis *r, const struct bs_redis_config *cfg, char *err,
    size_t errlen)
{
	memset(&r->addr, 0, sizeof(r->addr));
	if (cfg->sentinel_master || cfg->n_cluster > 0) {
		if (cfg->sentinel_master && cfg->n_sentinels == 0) {
			snprintf(err, errlen, "redis sentinel mode needs addresses");
			return -1;
		}
		r->mode = cfg->sentinel_master ? BS_POOL_SENTINEL : BS_POOL_CLUSTER;
		r->addr.db = r->mode == BS_POOL_SENTINEL ? cfg->db : 0;
	} else if (bs_redis_parse_url(cfg->url, &r->addr, err, errlen) < 0) {
		return -1;
	} else {
		r->located = 1;
	}
	if (cfg->password) {
		if (strlen(cfg->password) >= sizeof(r->addr.password)) {
			snprintf(err, errlen, "redis password too long");
			return -1;
		}
		snprintf(r->addr.password, sizeof(r->addr.password), "%s",
		    cfg->password);
	}
	return 0;
}

struct bs_redis *
bs_redis_new(struct event_base *base, const struct bs_redis_config *cfg,
    bs_redis_state_cb *on_state, void *state_arg, char *err, size_t errlen)
{
	if (cfg->connections > BS_REDIS_MAX_CONNECTIONS) {
		snprintf(err, errlen, "at most %d redis connections",
		    BS_REDIS_MAX_CONNECTIONS);
		return NULL;
	}
	struct bs_redis *r = xcalloc(1, sizeof(*r));
	if (init_addr(r, cfg, err, errlen) < 0) {
		free(r);
		return NULL;
	}
	set_addr_text(r);
	r->base = base;
	r->connect_timeout_ms = cfg->connect_timeout_ms > 0 ?
	    cfg->connect_timeout_ms : 2000;
	r->command_timeout_ms = cfg->command_timeout_ms > 0 ?
	    cfg->command_timeout_ms : 5000;
	r->wait_replicas = cfg->wait_replicas > 0 ? cfg->wait_replicas : 0;
	r->wait_timeout_ms = cfg->wait_timeout_ms > 0 ? cfg->wait_timeout_ms : 1000;
	r->metrics = cfg->metrics;
	r->on_state = on_state;
	r->state_arg = state_arg;
	r->n_conns = cfg->connections > 0 ? cfg->connections : 1;
	r->conns = xcalloc((size_t)r->n_conns, sizeof(*r->conns));
	r->_wq_timer = bs_timer_new(base, on_wq_timer, r);
	r->_lag_timer = bs_timer_new(base, on_lag_timer, r);
	for (int i = 0; i < r->n_conns; i++) {
		struct bs_conn *k = &r->conns[i];
		k->r = r;
		k->index = i;
		k->backoff_ms = BACKOFF_MIN_MS;
		k->_connect_timer = bs_timer_new(base, on_connect_timeout, k);
		k->_retry_timer = bs_timer_new(base, on_retry, k);
		k->_cmd_timer = bs_timer_new(base, bs_pool_on_cmd_timeout, k);
	}
	r->ask.r = r;
	r->ask.index = -1;
	r->ask.is_ask = 1;
	r->ask._connect_timer = bs_timer_new(base, on_connect_timeout, &r->ask);
	r->ask._retry_timer = bs_timer_new(base, on_retry, &r->ask);
	r->ask._cmd_timer = bs_timer_new(base, bs_pool_on_cmd_timeout, &r->ask);
	if (r->mode != BS_POOL_URL)
		r->loc = bs_redis_locate_new(base, cfg, on_located, r);
	if (r->metrics && (r->wait_replicas > 0 || r->mode == BS_POOL_SENTINEL) &&
	    on_state)
		bs_timer_arm_ms(r->_lag_timer, 1000);
	for (int i = 0; i < r->n_conns; i++)
		start_connect(&r->conns[i]);
	return r;
}

void
bs_redis_free(struct bs_redis *r)
{
	if (!r)
		return;
	r->freeing = 1;
	bs_redis_locate_free(r->loc);
	r->loc = NULL;
	for (int i = 0; i < r->n_conns; i++) {
		struct bs_conn *k = &r->conns[i];
		evtimer_del(k->_retry_timer);
		bs_pool_orphan(k);
		/* Flushes every pending command with bs_redis_err_shutdown. */
		detach(k, 0);
		event_free(k->_connect_timer);
		event_free(k->_retry_timer);
		event_free(k->_cmd_timer);
	}
	bs_pool_orphan(&r->ask);
	detach(&r->ask, 0);
	event_free(r->ask._connect_timer);
	event_free(r->ask._retry_timer);
	event_free(r->ask._cmd_timer);
	bs_pool_fail_queue(r);
	event_free(r->_wq_timer);
	event_free(r->_lag_timer);
	memset(r->addr.password, 0, sizeof(r->addr.password));
	free(r->conns);
	free(r);
}

int
bs_redis_is_up(const struct bs_redis *r)
{
	return r && !r->freeing && r->n_up > 0;
}

int
bs_redis_command_timeout_ms(const struct bs_redis *r)
{
	return r->command_timeout_ms;
}

const char *
bs_redis_address(const struct bs_redis *r)
{
	return r->addr_text;
}
