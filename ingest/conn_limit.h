/* conn_limit: a cap on concurrent ingest connections (http.max_connections)
 * and a listener that survives fd exhaustion, for libevent 2.1's evhttp,
 * which has neither (no evhttp_set_max_connections, no connection hooks).
 * Private to ingest/ (the server uses it).
 *
 * How: evhttp's bufferevent callback (evhttp_set_bevcb) is called once per
 * accepted connection; we create the socket bufferevent there, take a
 * reference of our own and track it. evhttp lets go of a connection with
 * bufferevent_free(), which clears the callbacks and drops evhttp's
 * reference; a tracked bufferevent whose callbacks are all NULL is therefore
 * done, and we drop our reference (which frees it and closes the fd). At the
 * cap the listener is disabled, so further connections wait in the kernel
 * backlog (memcached's maxconns); it is enabled again when one closes.
 * accept() failing with EMFILE/ENFILE/ENOBUFS/ENOMEM pauses accepting for
 * 1 s instead of letting libevent spin on the readable listening socket.
 *
 * Counts are loose by up to one reap period (100 ms), never unsafe: we only
 * ever drop our own reference. Loop thread only. */
#ifndef BS_CONN_LIMIT_H
#define BS_CONN_LIMIT_H

#include <stddef.h>

struct event_base;
struct evhttp;
struct evconnlistener;
struct bs_metrics;
struct bs_conn_limit;

/* A limit of max (>= 1) concurrent connections on base. m, if not NULL,
 * gets the open-connections gauge and the accept-paused counter; it must
 * outlive the limit. Never NULL (allocation failure aborts). */
struct bs_conn_limit *bs_conn_limit_new(struct event_base *base, int max,
    struct bs_metrics *m);

/* Installs the bufferevent callback on http (replacing any other) and the
 * error callback on lev, the listener of http's one bound socket
 * (evhttp_bound_socket_get_listener). Call once, right after binding. */
void bs_conn_limit_attach(struct bs_conn_limit *cl, struct evhttp *http,
    struct evconnlistener *lev);

/* Forgets the listener without touching it: call before the listener is
 * freed (evhttp_del_accept_socket). Connections already open are still
 * tracked and counted until they close. */
void bs_conn_limit_detach(struct bs_conn_limit *cl);

/* Drops the references of connections evhttp has finished with, updates
 * the gauge and re-enables a listener paused at the cap. Also runs by
 * itself every 100 ms while connections are open. Returns the connections
 * still open. Safe from any callback. */
size_t bs_conn_limit_reap(struct bs_conn_limit *cl);

/* Open connections as of the last reap or accept. */
size_t bs_conn_limit_open(const struct bs_conn_limit *cl);

/* Drops every reference still held and frees cl. Call after evhttp_free
 * (which lets go of every connection) and before event_base_free. NULL is
 * a no-op. */
void bs_conn_limit_free(struct bs_conn_limit *cl);

#endif
