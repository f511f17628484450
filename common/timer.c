/* timer: checked libevent timers in milliseconds (see timer.h). */
#include "common/timer.h"

#include <stdio.h>
#include <stdlib.h>

struct event *
bs_timer_new(struct event_base *base, event_callback_fn fn, void *arg)
{
	struct event *ev = evtimer_new(base, fn, arg);
	if (!ev) {
		fprintf(stderr, "bitsleuth: cannot create a libevent timer\n");
		abort();
	}
	return ev;
}

void
bs_timer_arm_ms(struct event *ev, long long ms)
{
	if (ms < 0)
		ms = 0;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	evtimer_add(ev, &tv);
}
