/* redis_adapter: see redis_adapter.h.
 *
 * State: `flags` is the current EV_READ|EV_WRITE interest; every hook
 * re-arms the one persistent event with it (event_del, event_assign,
 * event_add), so hooks are idempotent as hiredis requires. `entered` is set
 * while the handler runs hiredis code: if hiredis frees the context from
 * inside (cleanup hook), cleanup only marks the adapter `deleted` and the
 * handler frees it on its way out, never touching the context again.
 * Loop thread only. */
#include "queue/redis_adapter.h"

#include <stdlib.h>

#include "common/xalloc.h"

struct adapter {
	redisAsyncContext *ac;
	struct event_base *base;
	struct event *ev;
	int fd;
	short flags;
	unsigned entered : 1;
	unsigned deleted : 1;
};

static void
adapter_free(struct adapter *e)
{
	event_free(e->ev);
	free(e);
}

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	struct adapter *e = arg;
	(void)fd;
	e->entered = 1;
	if ((what & EV_READ) && e->ac && !e->deleted)
		redisAsyncHandleRead(e->ac);
	if (e->deleted) {
		adapter_free(e);
		return;
	}
	if ((what & EV_WRITE) && e->ac && !e->deleted)
		redisAsyncHandleWrite(e->ac);
	if (e->deleted) {
		adapter_free(e);
		return;
	}
	e->entered = 0;
}

static void
rearm(struct adapter *e, short flag, int remove)
{
	if (e->deleted)
		return;
	short old = e->flags;
	if (remove)
		e->flags &= (short)~flag;
	else
		e->flags |= flag;
	if (old == e->flags)
		return;
	event_del(e->ev);
	if (!e->flags)
		return;
	event_assign(e->ev, e->base, e->fd, (short)(e->flags | EV_PERSIST),
	    on_event, e);
	event_add(e->ev, NULL);
}

static void
add_read(void *p)
{
	rearm(p, EV_READ, 0);
}

static void
del_read(void *p)
{
	rearm(p, EV_READ, 1);
}

static void
add_write(void *p)
{
	rearm(p, EV_WRITE, 0);
}

static void
del_write(void *p)
{
	rearm(p, EV_WRITE, 1);
}

static void
cleanup(void *p)
{
	struct adapter *e = p;
	event_del(e->ev);
	e->ac = NULL;
	e->flags = 0;
	if (e->entered)
		e->deleted = 1; /* the handler frees it when it unwinds */
	else
		adapter_free(e);
}

int
bs_redis_adapter_attach(redisAsyncContext *ac, struct event_base *base)
{
	if (ac->ev.data != NULL)
		return REDIS_ERR;
	/* Build everything first, publish the hooks last (hiredis#1360). */
	struct adapter *e = xcalloc(1, sizeof(*e));
	e->ac = ac;
	e->base = base;
	e->fd = ac->c.fd;
	e->ev = event_new(base, e->fd, EV_READ | EV_WRITE | EV_PERSIST, on_event,
	    e);
	if (!e->ev) {
		free(e);
		return REDIS_ERR;
	}
	ac->ev.addRead = add_read;
	ac->ev.delRead = del_read;
	ac->ev.addWrite = add_write;
	ac->ev.delWrite = del_write;
	ac->ev.cleanup = cleanup;
	ac->ev.data = e;
	add_read(e);
	add_write(e);
	return REDIS_OK;
}
