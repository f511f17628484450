/* timer: libevent timers the way every loop-side module here wants them:
 * created or the process aborts (running out of memory is fatal, as in
 * xmalloc), and armed in milliseconds (negative: at once). */
#ifndef BS_TIMER_H
#define BS_TIMER_H

#include <event2/event.h>

struct event *bs_timer_new(struct event_base *base, event_callback_fn fn,
    void *arg);
void bs_timer_arm_ms(struct event *ev, long long ms);

#endif
