/* ordering: registrations for one target go out in push order. See ordering.c. */
#ifndef BS_ORDERING_H
#define BS_ORDERING_H
struct bs_app;
struct bs_ordering;
enum bs_order_verdict { BS_ORDER_GO = 0, BS_ORDER_SUPERSEDED = 1 };
typedef void bs_order_cb(enum bs_order_verdict v, void *arg);
struct bs_ordering *bs_ordering_new(struct bs_app *app);
/* Called only after every run has finished (no acquisition waits). */
void bs_ordering_free(struct bs_ordering *o);
/* Calls cb exactly once, never before returning: GO when this task may be sent now (the caller
 * must then call bs_ordering_done for the same target), SUPERSEDED when a newer push for the
 * target is already registered (nothing to release). */
void bs_ordering_acquire(struct bs_ordering *o, const char *target, const char *origin,
    bs_order_cb *cb, void *arg);
/* Releases target (the next waiting task may go); registered != 0 records origin as the
 * target's newest when it is newer. */
void bs_ordering_done(struct bs_ordering *o, const char *target, const char *origin,
    int registered);
#endif
