/* redis_pool: the insides of a bs_redis (queue/redis_client.h), shared by
 * its two halves: redis_client.c (connections, handshake, reconnects,
 * following the master or the slot owner) and redis_cmd.c (commands:
 * sending, replies, redirects, WAIT, the wait queue). Private to queue/.
 *
 * A command is sent on one connection at a time and sits on that
 * connection's pending list, or on the pool's wait queue while it waits to
 * be sent again (after MOVED, ASK, TRYAGAIN, READONLY... answers, which
 * mean it did not run). It holds a copy of its arguments for that. It is
 * freed when it has completed (its callback ran, exactly once) and no
 * hiredis callback still refers to it (refs). */
#ifndef BS_REDIS_POOL_H
#define BS_REDIS_POOL_H

#include <hiredis/async.h>
#include <event2/event.h>

#include "common/redis_url.h"
#include "queue/redis_client.h"

enum bs_pool_mode { BS_POOL_URL = 0, BS_POOL_SENTINEL, BS_POOL_CLUSTER };
enum bs_conn_state { BS_ST_CLOSED = 0, BS_ST_CONNECTING, BS_ST_CONNECTED };

struct bs_cmd;
struct bs_redis_locate;

struct bs_conn {
	struct bs_redis *r;
	int index;
	enum bs_conn_state state;
	int stale;                  /* connected to the old address: no new
	                             * commands; recycled once drained */
	int is_ask;                 /* the pool's ASK connection (below) */
	redisAsyncContext *_ac;
	struct event *_connect_timer;   /* bounds connect + handshake */
	struct event *_retry_timer;     /* reconnect backoff, or a recycle */
	struct event *_cmd_timer;       /* the earliest pending deadline */
	long long timer_at_ms;
	int backoff_ms;
	int handshake_left;
	struct bs_cmd *_head, *_tail;   /* sent, not answered */
	size_t n_pending;
};

struct bs_redis {
	struct event_base *base;
	enum bs_pool_mode mode;
	struct bs_redis_addr addr;  /* the node talked to (once located) */
	int located;                /* addr is known */
	char addr_text[300];        /* addr as "host:port" or the socket path */
	struct bs_redis_locate *loc;    /* Sentinel and Cluster modes */
	int connect_timeout_ms;
	int command_timeout_ms;
	int wait_replicas;
	int wait_timeout_ms;
	struct bs_metrics *metrics; /* may be NULL */
	bs_redis_state_cb *on_state;
	void *state_arg;
	int freeing;
	int moving;                 /* the address changed, not reconnected yet */
	int reported_up;            /* what on_state last said */
	int n_up;                   /* connections in BS_ST_CONNECTED */
	int n_conns;
	unsigned next;              /* round-robin start among equals */
	struct bs_conn *conns;
	/* Cluster mode: the one connection to the node an ASK named (the
	 * target of a slot migration), opened on demand, never picked for
	 * new commands and never reconnected by itself. */
	struct bs_conn ask;
	char ask_host[256];
	int ask_port;
	struct bs_cmd *_wq_head, *_wq_tail; /* waiting to be sent (again) */
	struct event *_wq_timer;
	struct event *_lag_timer;   /* INFO replication, for the lag gauge */
	int lag_polling;
};

/* redis_cmd.c */
/* Sends what waits in the queue when it may go (a connection came up, or
 * its pause is over); fails what is past its deadline. */
void bs_pool_flush_queue(struct bs_redis *r);
/* Fails every queued command (shutdown). */
void bs_pool_fail_queue(struct bs_redis *r);
/* Command timer of k. */
void bs_pool_on_cmd_timeout(evutil_socket_t fd, short what, void *arg);
/* Orphans k's pending commands (bs_redis_free). */
void bs_pool_orphan(struct bs_conn *k);

/* redis_client.c */
/* Drops k (hiredis flushes its pending commands with NULL). */
void bs_pool_drop(struct bs_conn *k, const char *why);
/* k is stale and has nothing pending: reconnect it to the new address. */
void bs_pool_recycle_later(struct bs_conn *k);
/* A redirect or error said the address is wrong: MOVED gives the new one
 * (host != NULL), else the locator is asked. */
void bs_pool_relocate(struct bs_redis *r, const char *host, int port);
/* Opens the ASK connection to host:port unless it is open or opening there
 * (one open elsewhere is dropped first). */
void bs_pool_ask_connect(struct bs_redis *r, const char *host, int port);
/* redis_cmd.c: the ASK connection could not be opened (or was lost): the
 * commands waiting for it go back to the slot's owner. */
void bs_pool_ask_failed(struct bs_redis *r);

#endif
