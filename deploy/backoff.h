/* backoff: when to try again. Exponential with full jitter (AWS
 * architecture blog's "full jitter"): delay = random(0, min(cap, base*2^n)),
 * raised to Retry-After when the server sent one. */
#ifndef BS_BACKOFF_H
#define BS_BACKOFF_H

#include <stdint.h>

struct bs_backoff {
	int64_t base_ms;            /* default 1000 */
	int64_t cap_ms;             /* default 3600000 (1 h) */
	uint64_t _rng;              /* xorshift state, seeded by bs_backoff_init */
};

void bs_backoff_init(struct bs_backoff *b, int64_t base_ms, int64_t cap_ms,
    uint64_t seed);
/* Delay before attempt number `attempt` (1 = first retry). retry_after_s
 * < 0 means none. */
int64_t bs_backoff_delay_ms(struct bs_backoff *b, unsigned attempt,
    long retry_after_s);

#endif
