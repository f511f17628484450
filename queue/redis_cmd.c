/* redis_cmd: the commands of a bs_redis pool (see redis_pool.h and
 * redis_client.h): sending, replies, redirects, WAIT and the wait queue.
 *
 * Exactly once: only cmd_complete calls the user, and it runs once per
 * command (done). hiredis calls each callback we register exactly once,
 * with the reply or with NULL when the context goes away; each such
 * registration holds a reference (refs), and the command is freed when it
 * is done and no reference is left. A command timer never calls the user
 * itself: it marks commands timed out and drops their connection, and the
 * flush that follows completes them.
 *
 * Answers that mean "not run here" (MOVED, ASK, TRYAGAIN, CLUSTERDOWN,
 * READONLY, LOADING, MASTERDOWN; redis_proto.h) put the command back on the
 * wait queue, to be sent again (MOVED: to the new owner once reconnected;
 * the others after a pause of 20 ms doubling to 500 ms) until its deadline,
 * which is set once when it is first sent. An acknowledging script (acks)
 * is followed, once it has answered, by WAIT on the same connection; its
 * reply is held (a deep copy) until that WAIT answers. */
#include "queue/redis_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/timer.h"
#include "common/metrics.h"
#include "common/xalloc.h"
#include "queue/redis_proto.h"
#include "queue/sha1.h"

#define PAUSE_MIN_MS 20
#define PAUSE_MAX_MS 500

struct part {
	int argc;
	const char **argv;
	size_t *argvlen;
};

struct bs_cmd {
	struct bs_redis *r;
	struct bs_conn *k;          /* where it was sent; NULL while queued */
	struct bs_cmd *prev, *next; /* k's pending list, or the wait queue */
	int queued;
	bs_redis_reply_cb *cb;
	void *arg;
	long long deadline_ms;      /* monotonic; 0 until first sent */
	long long not_before_ms;    /* queued: not sent before */
	int pause_ms;
	int timed_out;
	int done;
	int refs;                   /* hiredis callbacks outstanding, +1 until done */
	struct bs_redis_script *script; /* EVALSHA not yet answered NOSCRIPT */
	int acks;                   /* WAIT after the main part */
	char ask_host[256];         /* queued after ASK: to be sent there, */
	int ask_port;               /* after ASKING (0: to the slot's owner) */
	redisReply *held;           /* main reply, until its WAIT answers */
	redisAsyncContext *held_ac;
	int n_parts;                /* pre parts, then the main one (last) */
	struct part *parts;
	char *blk;                  /* owns parts, their argv and bytes */
};


static void
count(struct bs_redis *r, enum bs_metric m)
{
	if (r->metrics)
		bs_metrics_inc(r->metrics, m);
}

/* === Building === */

/* One block holding copies of the parts; head (nhead args) goes before
 * the last part's arguments. */
static struct bs_cmd *
cmd_build(struct bs_redis *r, const struct bs_redis_argv *parts, size_t n,
    const char *const *head, const size_t *headlen, int nhead)
{
	size_t nargs = 0, bytes = 0;
	for (size_t i = 0; i < n; i++) {
		nargs += (size_t)parts[i].argc;
		for (int j = 0; j < parts[i].argc; j++)
			bytes += parts[i].argvlen[j];
	}
	for (int j = 0; j < nhead; j++)
		bytes += headlen[j];
	nargs += (size_t)nhead;
	size_t ptrs = n * sizeof(struct part) + nargs * (sizeof(char *) +
	    sizeof(size_t));
	char *blk = xmalloc(ptrs + bytes + 1);
	struct bs_cmd *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->refs = 1;
	c->blk = blk;
	c->parts = (struct part *)(void *)blk;
	c->n_parts = (int)n;
	const char **av = (const char **)(void *)(blk + n * sizeof(struct part));
	size_t *al = (size_t *)(void *)((char *)av + nargs * sizeof(char *));
	char *data = blk + ptrs;
	for (size_t i = 0; i < n; i++) {
		struct part *p = &c->parts[i];
		int extra = i + 1 == n ? nhead : 0;
		p->argc = parts[i].argc + extra;
		p->argv = av;
		p->argvlen = al;
		for (int j = 0; j < p->argc; j++) {
			const char *src = j < extra ? head[j] : parts[i].argv[j - extra];
			size_t len = j < extra ? headlen[j] : parts[i].argvlen[j - extra];
			if (len)
				memcpy(data, src, len);
			av[j] = data;
			al[j] = len;
			data += len;
		}
		av += p->argc;
		al += p->argc;
	}
	return c;
}

/* === Completion === */

static void
unlink_cmd(struct bs_cmd *c)
{
	struct bs_cmd **head, **tail;
	if (c->queued) {
		head = &c->r->_wq_head;
		tail = &c->r->_wq_tail;
	} else if (c->k) {
		head = &c->k->_head;
		tail = &c->k->_tail;
	} else {
		return;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		*head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		*tail = c->prev;
	c->prev = c->next = NULL;
	if (c->queued) {
		c->queued = 0;
		return;
	}
	struct bs_conn *k = c->k;
	c->k = NULL;
	if (--k->n_pending == 0 && k->stale)
		bs_pool_recycle_later(k);
}

static void
release(struct bs_cmd *c)
{
	if (--c->refs > 0)
		return;
	if (c->held)
		freeReplyObject(c->held);
	free(c->blk);
	free(c);
}

static void
cmd_complete(struct bs_cmd *c, const redisReply *reply, const char *err)
{
	if (!reply && !err)
		err = c->timed_out ? bs_redis_err_timeout :
		    c->r->freeing ? bs_redis_err_shutdown : bs_redis_err_down;
	unlink_cmd(c);
	c->done = 1;
	c->cb(reply, err, c->arg);
	release(c);
}

/* === Sending === */

static void cmd_reply(redisAsyncContext *ac, void *replyp, void *privdata);
static void wait_reply(redisAsyncContext *ac, void *replyp, void *privdata);
static void conn_added(struct bs_conn *k, struct bs_cmd *c);

static int
send_main(struct bs_conn *k, struct bs_cmd *c)
{
	struct part *m = &c->parts[c->n_parts - 1];
	if (redisAsyncCommandArgv(k->_ac, cmd_reply, c, m->argc, m->argv,
	    m->argvlen) != REDIS_OK)
		return -1;
	c->refs++;
	return 0;
}

static int
asking(struct bs_conn *k)
{
	return k->is_ask ? redisAsyncCommand(k->_ac, NULL, NULL, "ASKING") :
	    REDIS_OK;
}

/* Sends c on k: its pre parts (replies discarded), then the main part;
 * on the ASK connection each after ASKING (it counts for one command). */
static int
send_on(struct bs_conn *k, struct bs_cmd *c)
{
	for (int i = 0; i + 1 < c->n_parts; i++)
		if (asking(k) != REDIS_OK ||
		    redisAsyncCommandArgv(k->_ac, NULL, NULL, c->parts[i].argc,
		    c->parts[i].argv, c->parts[i].argvlen) != REDIS_OK)
			return -1;
	if (asking(k) != REDIS_OK || send_main(k, c) < 0)
		return -1;
	c->k = k;
	c->prev = k->_tail;
	if (k->_tail)
		k->_tail->next = c;
	else
		k->_head = c;
	k->_tail = c;
	k->n_pending++;
	conn_added(k, c);
	return 0;
}

/* The connection a new command goes to (connected, not stale, fewest in
 * flight), or NULL. */
static struct bs_conn *
pool_pick(struct bs_redis *r)
{
	if (r->freeing || r->n_up == 0)
		return NULL;
	struct bs_conn *best = NULL;
	for (int i = 0; i < r->n_conns; i++) {
		struct bs_conn *k = &r->conns[(r->next + (unsigned)i) % (unsigned)r->n_conns];
		if (k->state == BS_ST_CONNECTED && !k->stale && k->_ac &&
		    (!best || k->n_pending < best->n_pending))
			best = k;
	}
	if (best)
		r->next = (unsigned)best->index + 1;
	return best;
}

static void
enqueue_wait(struct bs_cmd *c, int pause_ms)
{
	struct bs_redis *r = c->r;
	c->not_before_ms = bs_mono_ms() + pause_ms;
	c->queued = 1;
	c->prev = r->_wq_tail;
	c->next = NULL;
	if (r->_wq_tail)
		r->_wq_tail->next = c;
	else
		r->_wq_head = c;
	r->_wq_tail = c;
	bs_timer_arm_ms(r->_wq_timer, pause_ms);
}

static long long
deadline_for(const struct bs_cmd *c)
{
	const struct bs_redis *r = c->r;
	return bs_mono_ms() + r->command_timeout_ms +
	    (c->acks && r->wait_replicas > 0 ? r->wait_timeout_ms : 0);
}

/* A new command: sent now; queued while the pool moves to a new address
 * (it was up: its connections are being recycled); failed at once when the
 * pool is down. */
static void
submit(struct bs_redis *r, struct bs_cmd *c)
{
	c->deadline_ms = deadline_for(c);
	struct bs_conn *k = pool_pick(r);
	if (k && send_on(k, c) == 0)
		return;
	if (!k && !r->freeing && r->moving) {
		enqueue_wait(c, 0);
		return;
	}
	const char *err = r->freeing ? bs_redis_err_shutdown : bs_redis_err_down;
	c->done = 1;
	c->cb(NULL, err, c->arg);
	release(c);
}

void
bs_pool_flush_queue(struct bs_redis *r)
{
	long long now = bs_mono_ms(), next = -1;
	struct bs_cmd *c = r->_wq_head, *nx;
	for (; c; c = nx) {
		nx = c->next;
		if (now >= c->deadline_ms) {
			c->timed_out = 1;
			cmd_complete(c, NULL, NULL);
			continue;
		}
		struct bs_conn *k = NULL;
		if (now < c->not_before_ms)
			;
		else if (!c->ask_port)
			k = pool_pick(r);
		else if (r->ask.state == BS_ST_CONNECTED && r->ask._ac &&
		    r->ask_port == c->ask_port && strcmp(r->ask_host, c->ask_host) == 0)
			k = &r->ask;
		else
			bs_pool_ask_connect(r, c->ask_host, c->ask_port);
		if (k) {
			unlink_cmd(c);
			if (send_on(k, c) == 0)
				continue;
			cmd_complete(c, NULL, NULL);
			continue;
		}
	}
	/* What is left (callbacks above may have queued more). */
	for (c = r->_wq_head; c; c = c->next) {
		long long at = now < c->not_before_ms ? c->not_before_ms :
		    c->deadline_ms;
		if (next < 0 || at < next)
			next = at;
	}
	if (next >= 0)
		bs_timer_arm_ms(r->_wq_timer, next - now);
}

void
bs_pool_ask_failed(struct bs_redis *r)
{
	long long now = bs_mono_ms();
	for (struct bs_cmd *c = r->_wq_head; c; c = c->next)
		if (c->ask_port) {
			c->ask_port = 0;
			c->not_before_ms = now + PAUSE_MIN_MS;
		}
	bs_timer_arm_ms(r->_wq_timer, PAUSE_MIN_MS);
}

void
bs_pool_fail_queue(struct bs_redis *r)
{
	while (r->_wq_head)
		cmd_complete(r->_wq_head, NULL, bs_redis_err_shutdown);
}

/* === Replies === */

static int
is_noscript(const redisReply *reply)
{
	return reply && reply->type == REDIS_REPLY_ERROR && reply->str &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0;
}

/* c's answer said "not run here": back to the queue, after a pause unless
 * it is MOVED (then it waits for the reconnect), or done when past its
 * deadline (with that answer). */
static void
again(struct bs_cmd *c, const redisReply *reply, int moved)
{
	if (bs_mono_ms() >= c->deadline_ms || c->r->freeing) {
		cmd_complete(c, reply, NULL);
		return;
	}
	unlink_cmd(c);
	c->ask_port = 0;
	if (moved) {
		enqueue_wait(c, 0);
		return;
	}
	c->pause_ms = c->pause_ms ? c->pause_ms * 2 : PAUSE_MIN_MS;
	if (c->pause_ms > PAUSE_MAX_MS)
		c->pause_ms = PAUSE_MAX_MS;
	enqueue_wait(c, c->pause_ms);
}

static void
cmd_reply(redisAsyncContext *ac, void *replyp, void *privdata)
{
	struct bs_cmd *c = privdata;
	const redisReply *reply = replyp;
	struct bs_redis *r = c->r;
	if (c->done) {
		release(c);
		return;
	}
	c->refs--;                  /* this callback's; c->refs >= 1 (not done) */
	if (!reply) {
		cmd_complete(c, NULL, NULL);
		return;
	}
	if (c->script && is_noscript(reply) && !c->timed_out) {
		/* The script cache is empty (restart, failover, SCRIPT FLUSH):
		 * send the source once, on the same connection. */
		struct part *m = &c->parts[c->n_parts - 1];
		m->argv[0] = "EVAL";
		m->argvlen[0] = 4;
		m->argv[1] = bs_redis_script_text(c->script);
		m->argvlen[1] = strlen(m->argv[1]);
		c->script = NULL;
		if (c->k && c->k->_ac == ac && send_main(c->k, c) == 0)
			return;
		cmd_complete(c, NULL, NULL);
		return;
	}
	if (r->mode != BS_POOL_URL) {
		char host[256];
		int port = 0;
		switch (bs_redis_answer_of(reply, host, sizeof(host), &port)) {
		case BS_ANS_OK:
			break;
		case BS_ANS_MOVED:
			count(r, BS_M_REDIS_MOVED);
			if (r->mode == BS_POOL_CLUSTER)
				bs_pool_relocate(r, host, port);
			again(c, reply, r->mode == BS_POOL_CLUSTER);
			return;
		case BS_ANS_ASK:
			/* The slot is migrating and this key has gone (or never
			 * was): this once at the target, after ASKING. A TRYAGAIN
			 * there (some keys not moved yet) brings it back here. */
			count(r, BS_M_REDIS_ASK);
			if (r->mode == BS_POOL_CLUSTER && c->k && !c->k->is_ask) {
				if (bs_mono_ms() >= c->deadline_ms || r->freeing) {
					cmd_complete(c, reply, NULL);
					return;
				}
				unlink_cmd(c);
				snprintf(c->ask_host, sizeof(c->ask_host), "%s", host);
				c->ask_port = port;
				enqueue_wait(c, 0);
				return;
			}
			again(c, reply, 0);
			return;
		case BS_ANS_RETRY:
			count(r, BS_M_REDIS_TRYAGAIN);
			again(c, reply, 0);
			return;
		case BS_ANS_RELOCATE:
			count(r, BS_M_REDIS_TRYAGAIN);
			bs_pool_relocate(r, NULL, 0);
			again(c, reply, 0);
			return;
		}
	}
	if (c->acks && r->wait_replicas > 0 && reply->type != REDIS_REPLY_ERROR) {
		/* WAIT only now, behind the write: sent with it, a WAIT behind an
		 * EVALSHA that meets NOSCRIPT would block the connection for
		 * its whole timeout before the EVAL could even run. */
		if (!c->k || c->k->_ac != ac || redisAsyncCommand(ac, wait_reply, c,
		    "WAIT %d %d", r->wait_replicas, r->wait_timeout_ms) != REDIS_OK) {
			cmd_complete(c, NULL, NULL);
			return;
		}
		c->refs++;
		if (c->held)
			freeReplyObject(c->held);
		c->held = bs_redis_reply_dup(reply);
		c->held_ac = ac;
		return;
	}
	cmd_complete(c, reply, NULL);
}

static void
wait_reply(redisAsyncContext *ac, void *replyp, void *privdata)
{
	struct bs_cmd *c = privdata;
	const redisReply *reply = replyp;
	if (c->done || !c->held || c->held_ac != ac) {
		/* Not the WAIT of the held reply (a guard), or of a
		 * command already over. */
		release(c);
		return;
	}
	c->refs--;
	struct bs_redis *r = c->r;
	if (!reply) {
		cmd_complete(c, NULL, NULL);
		return;
	}
	if (reply->type == REDIS_REPLY_INTEGER && reply->integer >= r->wait_replicas) {
		cmd_complete(c, c->held, NULL);
		return;
	}
	count(r, BS_M_REDIS_WAIT_TIMEOUTS);
	log_warn("redis: WAIT saw %lld of %d replicas within %d ms",
	    reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1LL,
	    r->wait_replicas, r->wait_timeout_ms);
	cmd_complete(c, NULL, bs_redis_err_replicas);
}

/* === Timers === */

/* c joined k's pending list: arms k's command timer for its deadline. */
static void
conn_added(struct bs_conn *k, struct bs_cmd *c)
{
	if (!evtimer_pending(k->_cmd_timer, NULL) || c->deadline_ms < k->timer_at_ms) {
		k->timer_at_ms = c->deadline_ms;
		bs_timer_arm_ms(k->_cmd_timer, c->deadline_ms - bs_mono_ms());
	}
}

void
bs_pool_on_cmd_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct bs_conn *k = arg;
	(void)fd;
	(void)what;
	if (!k->_head || !k->_ac)
		return;
	long long now = bs_mono_ms(), next = -1;
	int late = 0;
	for (struct bs_cmd *p = k->_head; p; p = p->next) {
		if (p->deadline_ms <= now) {
			p->timed_out = 1;
			late = 1;
		} else if (next < 0 || p->deadline_ms < next) {
			next = p->deadline_ms;
		}
	}
	if (!late) {
		k->timer_at_ms = next;
		bs_timer_arm_ms(k->_cmd_timer, next - now);
		return;
	}
	log_warn("redis: command timed out after %d ms, reconnecting",
	    k->r->command_timeout_ms);
	/* Dropping flushes every pending command of k: the late ones report
	 * the timeout, the others the drop. */
	bs_pool_drop(k, "command timeout");
}

void
bs_pool_orphan(struct bs_conn *k)
{
	/* They report bs_redis_err_shutdown when hiredis flushes them, and
	 * never touch k again. */
	for (struct bs_cmd *c = k->_head, *next; c; c = next) {
		next = c->next;
		c->k = NULL;
		c->prev = c->next = NULL;
	}
	k->_head = k->_tail = NULL;
	k->n_pending = 0;
}

/* === API === */

void
bs_redis_command(struct bs_redis *r, int argc, const char **argv,
    const size_t *argvlen, bs_redis_reply_cb *cb, void *arg)
{
	if (r->freeing || (r->n_up == 0 && !r->moving)) {
		cb(NULL, r->freeing ? bs_redis_err_shutdown : bs_redis_err_down, arg);
		return;
	}
	struct bs_redis_argv p = { argc, argv, argvlen };
	struct bs_cmd *c = cmd_build(r, &p, 1, NULL, NULL, 0);
	c->cb = cb;
	c->arg = arg;
	submit(r, c);
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
	if (r->freeing || (r->n_up == 0 && !r->moving)) {
		cb(NULL, r->freeing ? bs_redis_err_shutdown : bs_redis_err_down, arg);
		return;
	}
	if (!script->sha[0]) {
		const char *text = bs_redis_script_text(script);
		bs_sha1_hex(text, strlen(text), script->sha);
	}
	char nk[24];
	int nklen = snprintf(nk, sizeof(nk), "%d", nkeys);
	struct bs_redis_argv parts[9];
	if (n_pre > 8) {
		cb(NULL, "redis: at most 8 commands before a script", arg);
		return;
	}
	for (size_t i = 0; i < n_pre; i++)
		parts[i] = pre[i];
	parts[n_pre] = (struct bs_redis_argv){ argc, argv, argvlen };
	const char *head[3] = { "EVALSHA", script->sha, nk };
	size_t headlen[3] = { 7, 40, (size_t)nklen };
	struct bs_cmd *c = cmd_build(r, parts, n_pre + 1, head, headlen, 3);
	c->cb = cb;
	c->arg = arg;
	c->script = script;
	c->acks = script->acks;
	submit(r, c);
}
