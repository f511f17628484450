/* redis_client: a small pool of hiredis async contexts on a libevent
 * loop, with the timers and reconnects that hiredis 0.14.1 lacks (h2o's
 * redis.c shape).
 *
 * Each connection has the states CLOSED (no context; a retry timer may be
 * armed), CONNECTING (a context exists, TCP connect and the AUTH/SELECT/
 * PING handshake are under way, bounded by connect_timer) and CONNECTED
 * (commands are accepted). The pool is up while one connection is; a
 * command goes to the connected one with the fewest commands in flight.
 *
 * Exactly once: each command is a heap `struct cmd` that is hiredis'
 * privdata. Only hiredis' reply callback (cmd_reply) ever completes a
 * command and frees it; hiredis calls it exactly once, with the reply or
 * with NULL when the context goes away. A command timer therefore never
 * calls the user: it marks its command (and any other whose deadline has
 * passed) timed out and drops the connection, and the flush that follows
 * reports bs_redis_err_timeout for those and bs_redis_err_down for the
 * others. Dropping detaches both ways
 * (ac->data = NULL, k->_ac = NULL) before redisAsyncFree, so hiredis'
 * connect/disconnect callbacks that run during the free do nothing.
 * Loop thread only; bs_redis_free must not run inside our callbacks. */
#include "common/hex.h"
#include "queue/redis_client.h"
#include "queue/sha1.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/async.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "queue/redis_adapter.h"

const char bs_redis_err_down[] = "redis connection down";
const char bs_redis_err_timeout[] = "redis command timeout";
const char bs_redis_err_shutdown[] = "redis client shut down";
const char bs_redis_err_replicas[] =
    "redis replicas did not confirm the write in time";

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

enum state { ST_CLOSED = 0, ST_CONNECTING, ST_CONNECTED };

struct cmd;

/* One connection of the pool. */
struct conn {
	struct bs_redis *r;
	int index;
	enum state state;
	redisAsyncContext *_ac;
	struct event *_connect_timer;   /* bounds connect + handshake */
	struct event *_retry_timer;     /* reconnect backoff */
	struct event *_cmd_timer;       /* the oldest pending command's deadline */
	int backoff_ms;
	int handshake_left;
	/* Commands handed to hiredis, not completed, oldest first: Redis
	 * answers in order, so the head has the earliest deadline and one
	 * timer per connection covers them all. */
	struct cmd *_head, *_tail;
	size_t n_pending;
};

struct bs_redis {
	struct event_base *base;
	struct bs_redis_addr addr;
	char addr_text[300];        /* addr as "host:port" or the socket path */
	int connect_timeout_ms;
	int command_timeout_ms;
	bs_redis_state_cb *on_state;
	void *state_arg;
	int freeing;
	int n_up;                   /* connections in ST_CONNECTED */
	int n_conns;
	unsigned next;              /* round-robin start among equals */
	struct conn *conns;
};

struct cmd {
	struct conn *k;             /* NULL once bs_redis_free orphaned it */
	struct cmd *prev, *next;    /* k's pending list */
	bs_redis_reply_cb *cb;
	void *arg;
	long long deadline_ms;      /* monotonic */
	int timed_out;
	/* bs_redis_eval only: an owned copy of the EVALSHA argv, so that a
	 * NOSCRIPT reply can be answered by resending it as EVAL. */
	struct bs_redis_script *script;
	int argc;
	const char **argv;
	size_t *argvlen;
	char *blk;                  /* owns argv/argvlen/bytes for eval */
};

static void start_connect(struct conn *k);

static struct event *
checked_evtimer(struct event_base *base, event_callback_fn fn, void *arg)
{
	struct event *ev = evtimer_new(base, fn, arg);
	if (!ev) {
		/* Same policy as xmalloc: running out of memory is fatal. */
		fprintf(stderr, "redis_client: cannot create a libevent timer\n");
		abort();
	}
	return ev;
}

static long long
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
arm(struct event *ev, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(ev, &tv);
}

/* === Commands === */

static void
cmd_free(struct cmd *c)
{
	free(c->blk);
	free(c);
}

static void
cmd_unlink(struct cmd *c)
{
	struct conn *k = c->k;
	if (!k)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		k->_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		k->_tail = c->prev;
	c->prev = c->next = NULL;
	k->n_pending--;
}

static void
cmd_complete(struct cmd *c, const redisReply *reply)
{
	const char *err = NULL;
	if (!reply)
		err = c->timed_out ? bs_redis_err_timeout :
		    (!c->k || c->k->r->freeing) ? bs_redis_err_shutdown :
		    bs_redis_err_down;
	cmd_unlink(c);
	c->cb(reply, err, c->arg);
	cmd_free(c);
}

static int
is_noscript(const redisReply *reply)
{
	return reply && reply->type == REDIS_REPLY_ERROR && reply->str &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0;
}

/* hiredis' reply callback: the only place a command completes. */
static void
cmd_reply(redisAsyncContext *ac, void *replyp, void *privdata)
{
	struct cmd *c = privdata;
	const redisReply *reply = replyp;
	if (c->script && is_noscript(reply) && !c->timed_out) {
		/* The script cache is empty (restart, SCRIPT FLUSH): send the
		 * source once. The command keeps its place in the pending list
		 * (so its deadline), and its callback. */
		c->argv[0] = "EVAL";
		c->argvlen[0] = 4;
		c->argv[1] = bs_redis_script_text(c->script);
		c->argvlen[1] = strlen(c->argv[1]);
		c->script = NULL;
		if (redisAsyncCommandArgv(ac, cmd_reply, c, c->argc, c->argv,
		    c->argvlen) == REDIS_OK)
			return;
		reply = NULL;
	}
	cmd_complete(c, reply);
}

static void drop(struct conn *k, const char *why);

/* k's command timer: armed for the head's deadline whenever the list is
 * not empty. It is not moved when the head completes early; it just finds
 * a younger head here and re-arms for that one. */
static void
on_cmd_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;
	(void)fd;
	(void)what;
	if (!k->_head || !k->_ac)
		return;
	long long now = mono_ms();
	if (k->_head->deadline_ms > now) {
		arm(k->_cmd_timer, (int)(k->_head->deadline_ms - now));
		return;
	}
	/* Every command whose own deadline has passed reports the timeout;
	 * the younger ones report the connection drop. */
	for (struct cmd *p = k->_head; p && p->deadline_ms <= now; p = p->next)
		p->timed_out = 1;
	log_warn("redis: command timed out after %d ms, reconnecting",
	    k->r->command_timeout_ms);
	/* Dropping flushes every pending command of k. */
	drop(k, "command timeout");
}

/* The connected connection with the fewest commands in flight; the
 * round-robin start spreads ties, so that a burst fills every connection
 * and one fsync of an AOF Redis covers the commands of all of them. */
static struct conn *
pick(struct bs_redis *r)
{
	if (r->freeing || r->n_up == 0)
		return NULL;
	struct conn *best = NULL;
	for (int i = 0; i < r->n_conns; i++) {
		struct conn *k = &r->conns[(r->next + (unsigned)i) % (unsigned)r->n_conns];
		if (k->state == ST_CONNECTED && k->_ac &&
		    (!best || k->n_pending < best->n_pending))
			best = k;
	}
	if (best)
		r->next = (unsigned)best->index + 1;
	return best;
}

static const char *
unavailable(const struct bs_redis *r)
{
	return r->freeing ? bs_redis_err_shutdown : bs_redis_err_down;
}

/* Sends c on the least busy connection, right after the commands of pre
 * (whose replies hiredis discards), so that nothing of another caller runs
 * between them on that connection. */
static void
send_cmd(struct bs_redis *r, struct cmd *c, const struct bs_redis_argv *pre,
    size_t n_pre)
{
	struct conn *k = pick(r);
	int ok = k != NULL;
	for (size_t i = 0; ok && i < n_pre; i++)
		ok = redisAsyncCommandArgv(k->_ac, NULL, NULL, pre[i].argc,
		    pre[i].argv, pre[i].argvlen) == REDIS_OK;
	if (!ok || redisAsyncCommandArgv(k->_ac, cmd_reply, c, c->argc, c->argv,
	    c->argvlen) != REDIS_OK) {
		const char *err = unavailable(r);
		bs_redis_reply_cb *cb = c->cb;
		void *arg = c->arg;
		cmd_free(c);
		cb(NULL, err, arg);
		return;
	}
	c->k = k;
	c->deadline_ms = mono_ms() + r->command_timeout_ms;
	c->prev = k->_tail;
	if (k->_tail)
		k->_tail->next = c;
	else
		k->_head = c;
	k->_tail = c;
	if (k->n_pending++ == 0 && !evtimer_pending(k->_cmd_timer, NULL))
		arm(k->_cmd_timer, r->command_timeout_ms);
}

void
bs_redis_command(struct bs_redis *r, int argc, const char **argv,
    const size_t *argvlen, bs_redis_reply_cb *cb, void *arg)
{
	if (r->freeing || r->n_up == 0) {
		cb(NULL, unavailable(r), arg);
		return;
	}
	struct cmd *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	/* hiredis formats argv into its output buffer at once: no copy. */
	c->argc = argc;
	c->argv = (const char **)argv;
	c->argvlen = (size_t *)argvlen;
	send_cmd(r, c, NULL, 0);
}

const char *
bs_redis_script_text(struct bs_redis_script *script)
{
	if (!script->prelude)
		return script->source;
	if (!script->_text) {
		size_t n = strlen(script->source) + 1, o = 0;
		for (const char *const *p = script->prelude; *p; p++)
			n += strlen(*p);
		script->_text = xmalloc(n);
		for (const char *const *p = script->prelude; *p; p++) {
			size_t l = strlen(*p);
			memcpy(script->_text + o, *p, l);
			o += l;
		}
		memcpy(script->_text + o, script->source, n - o);
	}
	return script->_text;
}

void
bs_redis_eval(struct bs_redis *r, struct bs_redis_script *script, int nkeys,
    int argc, const char **argv, const size_t *argvlen, bs_redis_reply_cb *cb,
    void *arg)
{
	bs_redis_eval_after(r, NULL, 0, script, nkeys, argc, argv, argvlen, cb,
	    arg);
}

void
bs_redis_eval_after(struct bs_redis *r, const struct bs_redis_argv *pre,
    size_t n_pre, struct bs_redis_script *script, int nkeys, int argc,
    const char **argv, const size_t *argvlen, bs_redis_reply_cb *cb, void *arg)
{
	if (r->freeing || r->n_up == 0) {
		cb(NULL, unavailable(r), arg);
		return;
	}
	if (!script->sha[0]) {
		const char *text = bs_redis_script_text(script);
		bs_sha1_hex(text, strlen(text), script->sha);
	}
	char nk[24];
	int nklen = snprintf(nk, sizeof(nk), "%d", nkeys);

	/* One block: argv pointers, lengths, then the bytes of every arg. */
	int total = argc + 3;
	size_t bytes = 40 + (size_t)nklen + 2;
	for (int i = 0; i < argc; i++)
		bytes += argvlen[i] + 1;
	size_t head = (size_t)total * (sizeof(char *) + sizeof(size_t));
	char *blk = xmalloc(head + bytes);
	struct cmd *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	c->script = script;
	c->argc = total;
	c->blk = blk;
	c->argv = (const char **)(void *)blk;
	c->argvlen = (size_t *)(void *)(blk + (size_t)total * sizeof(char *));
	char *data = blk + head;
	c->argv[0] = "EVALSHA";
	c->argvlen[0] = 7;
	memcpy(data, script->sha, 40);
	c->argv[1] = data;
	c->argvlen[1] = 40;
	data += 40;
	memcpy(data, nk, (size_t)nklen);
	c->argv[2] = data;
	c->argvlen[2] = (size_t)nklen;
	data += nklen;
	for (int i = 0; i < argc; i++) {
		if (argvlen[i])
			memcpy(data, argv[i], argvlen[i]);
		c->argv[3 + i] = data;
		c->argvlen[3 + i] = argvlen[i];
		data += argvlen[i];
	}
	send_cmd(r, c, pre, n_pre);
}

/* === Connections === */

static void
set_state_up(struct conn *k)
{
	struct bs_redis *r = k->r;
	k->state = ST_CONNECTED;
	k->backoff_ms = BACKOFF_MIN_MS;
	evtimer_del(k->_connect_timer);
	if (r->n_up++ > 0) {
		log_debug("redis: connection %d of %d up", k->index + 1, r->n_conns);
		return;
	}
	log_info("redis: connected to %s:%d db %d (%d connection%s)",
	    r->addr.unix_path[0] ? r->addr.unix_path : r->addr.host,
	    r->addr.unix_path[0] ? 0 : r->addr.port, r->addr.db, r->n_conns,
	    r->n_conns == 1 ? "" : "s");
	if (r->on_state)
		r->on_state(1, r->state_arg);
}

/* k left ST_CONNECTED (was_up): counts it, and reports the pool down when
 * it was the last one (not while freeing). Last in every caller: the
 * callback may even free r. */
static void
set_state_lost(struct bs_redis *r, int was_up)
{
	if (!was_up || --r->n_up > 0 || r->freeing)
		return;
	if (r->on_state)
		r->on_state(0, r->state_arg);
}

static void
schedule_retry(struct conn *k)
{
	if (k->r->freeing)
		return;
	arm(k->_retry_timer, k->backoff_ms);
	k->backoff_ms *= 2;
	if (k->backoff_ms > BACKOFF_MAX_MS)
		k->backoff_ms = BACKOFF_MAX_MS;
}

/* Drops k's current context (if any): detaches, frees it (hiredis flushes
 * every pending command with NULL, now or right after the hiredis callback
 * we are in returns), reports a loss and schedules a reconnect. */
static void
drop(struct conn *k, const char *why)
{
	struct bs_redis *r = k->r;
	redisAsyncContext *ac = k->_ac;
	int was_up = k->state == ST_CONNECTED;
	evtimer_del(k->_connect_timer);
	evtimer_del(k->_cmd_timer);
	k->_ac = NULL;
	k->state = ST_CLOSED;
	if (why && !r->freeing)
		log_warn("redis: connection dropped: %s", why);
	if (ac) {
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	schedule_retry(k);          /* not while freeing */
	set_state_lost(r, was_up);
}

static void
on_handshake(redisAsyncContext *ac, void *replyp, void *privdata)
{
	struct conn *k = ac->data;
	const redisReply *reply = replyp;
	(void)privdata;
	if (!k || k->_ac != ac || !reply)
		return; /* detached, or the context is going away */
	if (reply->type == REDIS_REPLY_ERROR) {
		log_error("redis: handshake refused: %s", reply->str);
		drop(k, NULL);
		return;
	}
	if (--k->handshake_left == 0)
		set_state_up(k);
}

static void
on_connect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct conn *k = ac->data;
	if (!k)
		return;
	struct bs_redis_addr *a = &k->r->addr;
	if (status != REDIS_OK) {
		/* hiredis frees ac right after this: detach, never free it. The
		 * first connection speaks for the pool: the others fail alike. */
		if (k->index == 0)
			log_warn("redis: connect failed: %s",
			    ac->errstr ? ac->errstr : "?");
		ac->data = NULL;
		k->_ac = NULL;
		k->state = ST_CLOSED;
		evtimer_del(k->_connect_timer);
		schedule_retry(k);
		return;
	}
	/* AUTH and SELECT before anyone may send; PING when neither is needed
	 * (and as a check that the server answers at all). */
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
	if (!k->handshake_left) {
		redisAsyncCommand(ac, on_handshake, NULL, "PING");
		k->handshake_left++;
	}
}

static void
on_disconnect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct conn *k = ac->data;
	(void)status;
	if (!k)
		return; /* we dropped it ourselves */
	/* hiredis lost the connection and frees ac after this returns. */
	ac->data = NULL;
	k->_ac = NULL;
	int was_up = k->state == ST_CONNECTED;
	k->state = ST_CLOSED;
	evtimer_del(k->_connect_timer);
	evtimer_del(k->_cmd_timer);
	/* When Redis goes away every connection loses it: the first one
	 * speaks for the pool; a loss while others stay up is its own news. */
	if (k->index == 0 || k->r->n_up > 1)
		log_warn("redis: connection lost: %s",
		    ac->errstr ? ac->errstr : "closed");
	schedule_retry(k);
	set_state_lost(k->r, was_up);
}

static void
on_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn *k = arg;
	(void)fd;
	(void)what;
	if (k->state == ST_CONNECTING)
		drop(k, k->index == 0 ? "connect timeout" : NULL);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_connect(arg);
}

static void
start_connect(struct conn *k)
{
	struct bs_redis_addr *a = &k->r->addr;
	redisAsyncContext *ac;
	if (a->unix_path[0])
		ac = redisAsyncConnectUnix(a->unix_path);
	else
		ac = redisAsyncConnect(a->host, a->port);
	if (!ac) {
		log_error("redis: cannot allocate a connection");
		schedule_retry(k);
		return;
	}
	if (ac->err) {
		if (k->index == 0)
			log_warn("redis: connect failed: %s", ac->errstr);
		redisAsyncFree(ac);
		schedule_retry(k);
		return;
	}
	if (bs_redis_adapter_attach(ac, k->r->base) != REDIS_OK) {
		log_error("redis: cannot attach to the event loop");
		redisAsyncFree(ac);
		schedule_retry(k);
		return;
	}
	ac->data = k;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	k->_ac = ac;
	k->state = ST_CONNECTING;
	arm(k->_connect_timer, k->r->connect_timeout_ms);
}

struct bs_redis *
bs_redis_new(struct event_base *base, const struct bs_redis_config *cfg,
    bs_redis_state_cb *on_state, void *state_arg, char *err, size_t errlen)
{
	struct bs_redis_addr addr;
	if (bs_redis_parse_url(cfg->url, &addr, err, errlen) < 0)
		return NULL;
	if (cfg->password) {
		if (strlen(cfg->password) >= sizeof(addr.password)) {
			snprintf(err, errlen, "redis password too long");
			return NULL;
		}
		snprintf(addr.password, sizeof(addr.password), "%s", cfg->password);
	}
	if (cfg->connections > BS_REDIS_MAX_CONNECTIONS) {
		snprintf(err, errlen, "at most %d redis connections",
		    BS_REDIS_MAX_CONNECTIONS);
		return NULL;
	}
	struct bs_redis *r = xcalloc(1, sizeof(*r));
	r->base = base;
	r->addr = addr;
	if (addr.unix_path[0])
		snprintf(r->addr_text, sizeof(r->addr_text), "%s", addr.unix_path);
	else
		snprintf(r->addr_text, sizeof(r->addr_text), "%s:%d", addr.host,
		    addr.port);
	r->connect_timeout_ms = cfg->connect_timeout_ms > 0 ?
	    cfg->connect_timeout_ms : 2000;
	r->command_timeout_ms = cfg->command_timeout_ms > 0 ?
	    cfg->command_timeout_ms : 5000;
	r->on_state = on_state;
	r->state_arg = state_arg;
	r->n_conns = cfg->connections > 0 ? cfg->connections : 1;
	r->conns = xcalloc((size_t)r->n_conns, sizeof(*r->conns));
	for (int i = 0; i < r->n_conns; i++) {
		struct conn *k = &r->conns[i];
		k->r = r;
		k->index = i;
		k->backoff_ms = BACKOFF_MIN_MS;
		k->_connect_timer = checked_evtimer(base, on_connect_timeout, k);
		k->_retry_timer = checked_evtimer(base, on_retry, k);
		k->_cmd_timer = checked_evtimer(base, on_cmd_timeout, k);
	}
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
	for (int i = 0; i < r->n_conns; i++) {
		struct conn *k = &r->conns[i];
		evtimer_del(k->_retry_timer);
		/* Orphan the pending commands: they report bs_redis_err_shutdown
		 * and never touch k again, even if hiredis flushes them only
		 * after the callback we may be in returns. */
		for (struct cmd *c = k->_head, *next; c; c = next) {
			next = c->next;
			c->k = NULL;
			c->prev = c->next = NULL;
		}
		k->_head = k->_tail = NULL;
		k->n_pending = 0;
		/* Flushes every pending command with bs_redis_err_shutdown. */
		drop(k, NULL);
		event_free(k->_connect_timer);
		event_free(k->_retry_timer);
		event_free(k->_cmd_timer);
	}
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

/* === Synchronous connection (CLI) === */

redisContext *
bs_redis_connect_sync(const struct bs_redis_config *cfg, char *err,
    size_t errlen)
{
	struct bs_redis_addr a;
	if (bs_redis_parse_url(cfg->url, &a, err, errlen) < 0)
		return NULL;
	if (cfg->password)
		snprintf(a.password, sizeof(a.password), "%s", cfg->password);
	int cms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 2000;
	int tms = cfg->command_timeout_ms > 0 ? cfg->command_timeout_ms : 5000;
	struct timeval ctv = { cms / 1000, (cms % 1000) * 1000 };
	struct timeval ttv = { tms / 1000, (tms % 1000) * 1000 };
	redisContext *c = a.unix_path[0] ?
	    redisConnectUnixWithTimeout(a.unix_path, ctv) :
	    redisConnectWithTimeout(a.host, a.port, ctv);
	if (!c) {
		snprintf(err, errlen, "cannot allocate a redis connection");
		return NULL;
	}
	if (c->err) {
		snprintf(err, errlen, "cannot connect to redis: %s", c->errstr);
		redisFree(c);
		return NULL;
	}
	if (redisSetTimeout(c, ttv) != REDIS_OK) {
		snprintf(err, errlen, "cannot set redis timeout: %s", c->errstr);
		redisFree(c);
		return NULL;
	}
	redisReply *rep = NULL;
	if (a.password[0]) {
		rep = a.user[0] ? redisCommand(c, "AUTH %s %s", a.user, a.password) :
		    redisCommand(c, "AUTH %s", a.password);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "redis auth failed: %s",
			    rep ? rep->str : c->errstr);
			goto fail;
		}
		freeReplyObject(rep);
	}
	if (a.db) {
		rep = redisCommand(c, "SELECT %d", a.db);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "redis select %d failed: %s", a.db,
			    rep ? rep->str : c->errstr);
			goto fail;
		}
		freeReplyObject(rep);
	}
	return c;
fail:
	if (rep)
		freeReplyObject(rep);
	redisFree(c);
	return NULL;
}

int
bs_redis_sync_wait(redisContext *c, const struct bs_redis_config *cfg,
    char *err, size_t errlen)
{
	if (cfg->wait_replicas <= 0)
		return 0;
	int tms = cfg->wait_timeout_ms > 0 ? cfg->wait_timeout_ms : 1000;
	redisReply *rep = redisCommand(c, "WAIT %d %d", cfg->wait_replicas, tms);
	if (!rep || rep->type != REDIS_REPLY_INTEGER ||
	    rep->integer < cfg->wait_replicas) {
		if (rep && rep->type == REDIS_REPLY_INTEGER)
			snprintf(err, errlen, "%s (%lld of %d replicas)",
			    bs_redis_err_replicas, rep->integer, cfg->wait_replicas);
		else
			snprintf(err, errlen, "redis WAIT failed: %s",
			    rep && rep->str ? rep->str : c->errstr);
		if (rep)
			freeReplyObject(rep);
		return -1;
	}
	freeReplyObject(rep);
	return 0;
}

const char *
bs_redis_address(const struct bs_redis *r)
{
	return r->addr_text;
}
