/* conn_limit: http.max_connections for evhttp (see conn_limit.h).
 *
 * Invariants: bevs[0..n) are the bufferevents of accepted connections that
 * we have not yet released, each holding one reference of ours (so none can
 * be freed under us, whatever evhttp does); n <= max while a listener is
 * attached (the accept that reaches max disables it, and libevent's accept
 * loop stops as soon as the listener is disabled). The listener is enabled
 * iff neither paused_cap (n >= max) nor paused_fd (backing off after
 * EMFILE and friends) holds. The reap timer is pending iff n > 0.
 *
 * Why a registry: libevent passes the listener's error callback the
 * listener's user data, which evhttp owns (it is the struct evhttp), so the
 * error callback finds its bs_conn_limit by listener pointer in `live`.
 *
 * Facts of libevent 2.1.12 this relies on (http.c, listener.c,
 * bufferevent.c): the bevcb runs synchronously in the accept path, and
 * evhttp sets the callbacks of the returned bufferevent right after it,
 * always with a non-NULL event callback; evhttp lets go only through
 * bufferevent_free(), which sets all callbacks to NULL first; with
 * BEV_OPT_CLOSE_ON_FREE the fd is closed when the last reference goes;
 * listener_read_cb stops accepting when its callback disabled the
 * listener, and calls the error callback (errno still set) for accept
 * errors other than EINTR/EAGAIN/ECONNABORTED, or, without one, logs and
 * returns, to be woken again at once by the still-readable socket. */
#include "ingest/conn_limit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "common/metrics.h"

#define REAP_MS 100           /* how stale the count may get */
#define FD_BACKOFF_MS 1000    /* pause after EMFILE/ENFILE/ENOBUFS/ENOMEM */
#define WARN_EVERY_MS 10000   /* at most one "at the cap" warning per this */

struct bs_conn_limit {
	struct event_base *base;
	struct bs_metrics *m;         /* may be NULL */
	size_t max;
	struct evconnlistener *lev;   /* NULL until attached, and once detached */
	bool listening;               /* what we last asked of lev */
	bool paused_cap;              /* n >= max */
	bool paused_fd;               /* until resume_timer fires */
	bool fd_episode;              /* warned; cleared by the next accept */
	long long last_cap_warn_ms;
	long long last_err_warn_ms;
	unsigned long long cap_pauses_unlogged;
	struct bufferevent **bevs;    /* one reference of ours each */
	size_t n, cap;
	struct event *reap_timer;
	struct event *resume_timer;
	struct bs_conn_limit *next_live;
};

static struct bs_conn_limit *live;  /* attached limits (loop thread only) */

static void
publish(struct bs_conn_limit *cl)
{
	if (cl->m)
		cl->m->http_open = (long long)cl->n;
}

static void
count_pause(struct bs_conn_limit *cl)
{
	if (cl->m)
		bs_metrics_inc(cl->m, BS_M_HTTP_ACCEPT_PAUSED);
}

/* Makes the listener's state match the pause flags. */
static void
sync_listener(struct bs_conn_limit *cl)
{
	bool want = !cl->paused_cap && !cl->paused_fd;
	if (!cl->lev || want == cl->listening)
		return;
	if (want) {
		if (evconnlistener_enable(cl->lev) != 0) {
			/* Only fails when event_add does; the reap timer or the
			 * next pause/resume tries again. */
			log_warn("cannot resume accepting connections");
			return;
		}
		log_debug("accepting connections again (%zu open)", cl->n);
	} else {
		evconnlistener_disable(cl->lev);
	}
	cl->listening = want;
}

static void
arm_reap_timer(struct bs_conn_limit *cl)
{
	if (cl->n == 0) {
		event_del(cl->reap_timer);
		return;
	}
	if (!evtimer_pending(cl->reap_timer, NULL)) {
		struct timeval tv = { 0, REAP_MS * 1000 };
		evtimer_add(cl->reap_timer, &tv);
	}
}

/* The cap was reached (n >= max): pause accepting, count and warn. */
static void
pause_at_cap(struct bs_conn_limit *cl)
{
	if (cl->paused_cap)
		return;
	cl->paused_cap = true;
	count_pause(cl);
	long long now = bs_now_ms();
	if (cl->last_cap_warn_ms == 0 || now - cl->last_cap_warn_ms >=
	    WARN_EVERY_MS) {
		log_warn("%zu ingest connections open (http.max_connections): new "
		    "ones wait in the listen backlog (%llu earlier pause(s) not "
		    "logged)", cl->n, cl->cap_pauses_unlogged);
		cl->last_cap_warn_ms = now;
		cl->cap_pauses_unlogged = 0;
	} else {
		cl->cap_pauses_unlogged++;
	}
	sync_listener(cl);
}

size_t
bs_conn_limit_reap(struct bs_conn_limit *cl)
{
	size_t i = 0;
	while (i < cl->n) {
		bufferevent_data_cb r, w;
		bufferevent_event_cb e;
		void *arg;
		bufferevent_getcb(cl->bevs[i], &r, &w, &e, &arg);
		if (r || w || e) {
			i++;
			continue;
		}
		/* evhttp has called bufferevent_free() on it: ours is the last
		 * reference, and dropping it frees the bufferevent and closes
		 * the fd (in a finalizer the loop or event_base_free runs). */
		struct bufferevent *bev = cl->bevs[i];
		cl->bevs[i] = cl->bevs[--cl->n];
		bufferevent_decref(bev);
	}
	publish(cl);
	if (cl->paused_cap && cl->n < cl->max) {
		cl->paused_cap = false;
		sync_listener(cl);
	}
	arm_reap_timer(cl);
	return cl->n;
}

size_t
bs_conn_limit_open(const struct bs_conn_limit *cl)
{
	return cl->n;
}

static void
on_reap_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	bs_conn_limit_reap(arg);
}

static void
on_resume_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct bs_conn_limit *cl = arg;
	cl->paused_fd = false;
	/* If accept() still fails, on_accept_error pauses again (quietly:
	 * fd_episode stays set until a connection is accepted). */
	sync_listener(cl);
}

/* evhttp's bufferevent callback: one call per accepted connection, from
 * inside libevent's accept loop. */
static struct bufferevent *
on_new_connection(struct event_base *base, void *arg)
{
	struct bs_conn_limit *cl = arg;
	if (cl->fd_episode) {
		cl->fd_episode = false;
		log_info("accepting connections again after running out of file "
		    "descriptors (%zu open)", cl->n);
	}
	/* Reap before tracking the new one: its callbacks stay NULL until
	 * evhttp sets them, after we return, so it must not be looked at. */
	if (cl->n + 1 >= cl->max)
		bs_conn_limit_reap(cl);
	struct bufferevent *bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return NULL;    /* evhttp tries its own, which we do not count */
	if (cl->n == cl->cap) {
		cl->cap = cl->cap ? 2 * cl->cap : 16;
		cl->bevs = xrealloc(cl->bevs, cl->cap * sizeof(*cl->bevs));
	}
	bufferevent_incref(bev);
	cl->bevs[cl->n++] = bev;
	publish(cl);
	arm_reap_timer(cl);
	if (cl->n >= cl->max)
		pause_at_cap(cl);
	return bev;
}

static struct bs_conn_limit *
find_live(const struct evconnlistener *lev)
{
	for (struct bs_conn_limit *cl = live; cl; cl = cl->next_live) {
		if (cl->lev == lev)
			return cl;
	}
	return NULL;
}

/* libevent's listener error callback; arg is evhttp's, not ours. */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	(void)arg;
	int err = EVUTIL_SOCKET_ERROR();  /* before anything can change it */
	struct bs_conn_limit *cl = find_live(lev);
	if (cl && (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM)) {
		if (!cl->fd_episode) {
			cl->fd_episode = true;
			log_warn("cannot accept connections: %s (%zu open); pausing "
			    "accepting for %d ms at a time until it works again",
			    strerror(err), cl->n, FD_BACKOFF_MS);
		}
		count_pause(cl);
		cl->paused_fd = true;
		sync_listener(cl);
		struct timeval tv = { FD_BACKOFF_MS / 1000,
			(FD_BACKOFF_MS % 1000) * 1000 };
		evtimer_add(cl->resume_timer, &tv);
		/* Connections evhttp has finished with still hold their fds
		 * until reaped: give them back now. */
		bs_conn_limit_reap(cl);
		return;
	}
	/* Anything else is per connection on Linux (accept(2): treat like
	 * EAGAIN); log it, but not in a loop. */
	long long now = bs_now_ms();
	long long *last = cl ? &cl->last_err_warn_ms : NULL;
	if (!last || *last == 0 || now - *last >= WARN_EVERY_MS) {
		log_warn("accept() failed: %s", strerror(err));
		if (last)
			*last = now;
	}
}

struct bs_conn_limit *
bs_conn_limit_new(struct event_base *base, int max, struct bs_metrics *m)
{
	struct bs_conn_limit *cl = xcalloc(1, sizeof(*cl));
	cl->base = base;
	cl->m = m;
	cl->max = max > 0 ? (size_t)max : 1;
	cl->reap_timer = evtimer_new(base, on_reap_timer, cl);
	cl->resume_timer = evtimer_new(base, on_resume_timer, cl);
	if (!cl->reap_timer || !cl->resume_timer) {
		/* event_new only fails on allocation failure: the project's
		 * policy for that is to abort (xalloc). */
		log_error("conn_limit: cannot allocate timers");
		abort();
	}
	publish(cl);
	return cl;
}

void
bs_conn_limit_attach(struct bs_conn_limit *cl, struct evhttp *http,
    struct evconnlistener *lev)
{
	cl->lev = lev;
	cl->listening = true;   /* evhttp's listeners start enabled */
	cl->next_live = live;
	live = cl;
	evhttp_set_bevcb(http, on_new_connection, cl);
	if (lev)
		evconnlistener_set_error_cb(lev, on_accept_error);
}

void
bs_conn_limit_detach(struct bs_conn_limit *cl)
{
	cl->lev = NULL;
	cl->listening = false;
	cl->paused_fd = false;
	event_del(cl->resume_timer);
}

void
bs_conn_limit_free(struct bs_conn_limit *cl)
{
	if (!cl)
		return;
	for (struct bs_conn_limit **p = &live; *p; p = &(*p)->next_live) {
		if (*p == cl) {
			*p = cl->next_live;
			break;
		}
	}
	/* After evhttp_free every connection has been let go; if one were
	 * not, dropping our reference still leaves it valid for evhttp. */
	for (size_t i = 0; i < cl->n; i++)
		bufferevent_decref(cl->bevs[i]);
	free(cl->bevs);
	event_free(cl->reap_timer);
	event_free(cl->resume_timer);
	if (cl->m)
		cl->m->http_open = 0;
	free(cl);
}
