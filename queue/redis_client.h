/* redis_client: a pool of async Redis connections on a libevent loop,
 * with the timeouts and reconnects that hiredis 0.14.1 lacks (h2o's
 * redis.c shape).
 *
 * Each connection goes CLOSED -> CONNECTING -> CONNECTED. A connect timer
 * bounds the connect; every command has a deadline, and a command past it
 * drops its connection so hiredis flushes every pending callback there
 * with NULL. After a drop a connection reconnects with exponential backoff
 * (100 ms .. 5 s) until bs_redis_free(). It uses its own libevent adapter
 * (one event, re-entrancy guard, checked allocations) rather than
 * hiredis' bundled one.
 *
 * Several connections (bs_redis_config.connections) matter on an AOF
 * Redis with appendfsync always: Redis fsyncs once per pass of its event
 * loop and reads at most 16 KB per client per pass, so one connection
 * carries about two 8 KB jobs per fsync, and each further connection
 * with commands waiting adds its own to the same fsync. Commands
 * are spread over the connected ones (fewest in flight first), so two
 * commands sent without waiting for the first's reply may run in either
 * order: callers that need an order chain their commands through the
 * callbacks (every caller in queue/ and worker/ does).
 *
 * Contract: every command's callback runs exactly once: with the reply, or
 * with reply == NULL and err set (connection down, timeout, shutdown). When
 * the client is not connected the callback runs before the call returns.
 * The reply is only valid during the callback. Loop thread only. */
#ifndef BS_REDIS_CLIENT_H
#define BS_REDIS_CLIENT_H

#include <stddef.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "common/redis_url.h"

struct bs_redis;

struct bs_metrics;

/* Where the pool connects: exactly one of url, sentinel_master and
 * n_cluster > 0 is set (queue/redis_locate.h finds the address). */
struct bs_redis_config {
	const char *url;            /* redis://[:password@]host[:port][/db] or unix:///path */
	const char *password;       /* overrides the URL's, may be NULL; the
	                             * data nodes' password in every mode */
	/* Sentinel: the master named sentinel_master, as the sentinels at
	 * sentinels[] ("host:port") report it; db is SELECTed there. */
	const char *sentinel_master;
	const char *const *sentinels;
	size_t n_sentinels;
	const char *sentinel_password;  /* the sentinels' own, may be NULL */
	int db;
	/* Cluster: seed nodes ("host:port"); the pool talks to the master
	 * that owns the slot of hash_tag (the text between the braces of
	 * every key it is used for, e.g. "bitsleuth" or "bitsleuth:2"). */
	const char *const *cluster;
	size_t n_cluster;
	const char *hash_tag;
	/* Scripts marked acks (struct bs_redis_script) are followed by
	 * WAIT wait_replicas wait_timeout_ms on the same connection, and
	 * complete only when enough replicas hold their writes; 0: no WAIT. */
	int wait_replicas;
	int wait_timeout_ms;        /* default 1000 */
	int connect_timeout_ms;     /* default 2000 */
	int command_timeout_ms;     /* default 5000 */
	int connections;            /* 1 .. BS_REDIS_MAX_CONNECTIONS, default 1 */
	/* Counters of failovers, redirects and WAIT timeouts, and the
	 * replica lag gauge (may be NULL; several pools may share one). */
	struct bs_metrics *metrics;
};

#define BS_REDIS_MAX_CONNECTIONS 64

/* err strings passed to callbacks (compare by identity or print). */
extern const char bs_redis_err_down[];      /* "redis connection down" */
extern const char bs_redis_err_timeout[];   /* "redis command timeout" */
extern const char bs_redis_err_shutdown[];  /* "redis client shut down" */
extern const char bs_redis_err_replicas[];  /* "redis replicas did not confirm
                                             * the write in time" (WAIT); the
                                             * write may still be there */

typedef void bs_redis_reply_cb(const redisReply *reply, const char *err,
    void *arg);
/* up = 1 when the first connection is ready (connected, AUTH/SELECT
 * done) while none was, 0 when the last one is lost. The first connect
 * attempts start in bs_redis_new. */
typedef void bs_redis_state_cb(int up, void *arg);

/* Returns NULL (with err) only on a bad URL. */
struct bs_redis *bs_redis_new(struct event_base *base,
    const struct bs_redis_config *cfg, bs_redis_state_cb *on_state,
    void *state_arg, char *err, size_t errlen);
/* Fails every pending command with bs_redis_err_shutdown, then frees. May
 * not be called from inside a reply callback of this client. */
void bs_redis_free(struct bs_redis *r);
/* Whether one connection is ready (commands are accepted). */
int bs_redis_is_up(const struct bs_redis *r);
/* The configured per-command timeout (for callers that must stay below it,
 * such as XREADGROUP's BLOCK). */
int bs_redis_command_timeout_ms(const struct bs_redis *r);

/* Sends one command (binary-safe argv). cb exactly once, see above. */
void bs_redis_command(struct bs_redis *r, int argc, const char **argv,
    const size_t *argvlen, bs_redis_reply_cb *cb, void *arg);

/* A Lua script sent by EVALSHA, falling back to EVAL on NOSCRIPT (after a
 * Redis restart or SCRIPT FLUSH), transparently to the caller. Its text is
 * the prelude's pieces (shared helpers) followed by source; they are kept
 * apart so that no C string literal grows past what C11 compilers must
 * support. */
struct bs_redis_script {
	const char *const *prelude; /* NULL-terminated pieces, or NULL */
	const char *source;
	char sha[41];               /* filled lazily */
	int acks;                   /* its writes acknowledge something: WAIT
	                             * after it when wait_replicas > 0 */
	char *_text;                /* prelude + source, built once, kept */
};

/* The script's whole text (built on first use; lives until exit). */
const char *bs_redis_script_text(struct bs_redis_script *script);

void bs_redis_eval(struct bs_redis *r, struct bs_redis_script *script,
    int nkeys, int argc, const char **argv, const size_t *argvlen,
    bs_redis_reply_cb *cb, void *arg);

/* One plain command for bs_redis_eval_after (binary-safe argv). */
struct bs_redis_argv {
	int argc;
	const char **argv;
	const size_t *argvlen;
};

/* bs_redis_eval, preceded on the same connection by the n_pre (at most 8)
 * commands of pre, with nothing in between: Redis runs them in that
 * order, or (when the connection drops) the script not at all. Their
 * replies are discarded, so the script must check what they left; they
 * are not resent on NOSCRIPT, but are resent with the script after a
 * redirect (MOVED, ASK, TRYAGAIN...: none of them ran). Used to hand a
 * script a large value without passing it through Lua (queue/jobs.c,
 * enqueue). */
void bs_redis_eval_after(struct bs_redis *r, const struct bs_redis_argv *pre,
    size_t n_pre, struct bs_redis_script *script, int nkeys, int argc,
    const char **argv, const size_t *argvlen, bs_redis_reply_cb *cb,
    void *arg);

/* Synchronous connection for CLI commands (stats, dlq, replay), with the
 * same URL, AUTH/SELECT and both timeouts: in sentinel mode to the master
 * the sentinels name (ROLE checked), in cluster mode to the master that
 * owns cfg->hash_tag's slot. Returns NULL with err. The address it reached
 * is c->tcp.host / c->tcp.port (or c->unix_sock.path). */
redisContext *bs_redis_connect_sync(const struct bs_redis_config *cfg,
    char *err, size_t errlen);

/* After a write on c that acknowledges something: WAIT for
 * cfg->wait_replicas replicas (at most cfg->wait_timeout_ms). Returns 0
 * (also when wait_replicas is 0), or -1 with err when fewer confirmed. */
int bs_redis_sync_wait(redisContext *c, const struct bs_redis_config *cfg,
    char *err, size_t errlen);

/* "host:port" (or the socket path) the pool is connected to or trying,
 * "" while no master is known. */
const char *bs_redis_address(const struct bs_redis *r);

#endif
