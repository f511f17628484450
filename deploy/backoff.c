/* backoff: exponential backoff with full jitter (see backoff.h).
 *
 * ceiling = min(cap, base * 2^(attempt-1)); delay = uniform in [0, ceiling].
 * Full jitter spreads the retries of many jobs that failed together (a
 * Sleuth outage) instead of bringing them back in waves. A Retry-After
 * raises the delay to at least that many seconds, but never beyond
 * 4 * cap, so a hostile or broken header cannot park a job for years.
 *
 * The PRNG is xorshift64* (Vigna), seeded through splitmix64 so that
 * neighbouring seeds (pids, times) give unrelated sequences and a zero
 * seed still yields a non-zero state. Not for cryptography. */
#include "deploy/backoff.h"

#define BACKOFF_DEFAULT_BASE_MS 1000
#define BACKOFF_DEFAULT_CAP_MS  3600000

static uint64_t
splitmix64(uint64_t x)
{
	x += UINT64_C(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

static uint64_t
xorshift64s(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * UINT64_C(0x2545F4914F6CDD1D);
}

void
bs_backoff_init(struct bs_backoff *b, int64_t base_ms, int64_t cap_ms,
    uint64_t seed)
{
	b->base_ms = base_ms > 0 ? base_ms : BACKOFF_DEFAULT_BASE_MS;
	b->cap_ms = cap_ms > 0 ? cap_ms : BACKOFF_DEFAULT_CAP_MS;
	if (b->cap_ms < b->base_ms)
		b->cap_ms = b->base_ms;
	b->_rng = splitmix64(seed);
	if (b->_rng == 0)
		b->_rng = UINT64_C(0x9E3779B97F4A7C15);
}

int64_t
bs_backoff_delay_ms(struct bs_backoff *b, unsigned attempt,
    long retry_after_s)
{
	if (b->_rng == 0)  /* zeroed struct: behave as if initialised */
		bs_backoff_init(b, b->base_ms, b->cap_ms, 0);
	int64_t cap = b->cap_ms > 0 ? b->cap_ms : BACKOFF_DEFAULT_CAP_MS;
	int64_t ceiling = b->base_ms > 0 ? b->base_ms : BACKOFF_DEFAULT_BASE_MS;
	/* Double attempt-1 times, stopping at the cap (no overflow). */
	for (unsigned i = 1; i < attempt && ceiling < cap; i++)
		ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
	if (ceiling > cap)
		ceiling = cap;
	int64_t delay = (int64_t)(xorshift64s(&b->_rng) %
	    ((uint64_t)ceiling + 1));
	if (retry_after_s > 0) {
		int64_t most = cap > INT64_MAX / 4 ? INT64_MAX : cap * 4;
		int64_t ra = retry_after_s > most / 1000 ? most :
		    (int64_t)retry_after_s * 1000;
		if (ra > most)
			ra = most;
		if (delay < ra)
			delay = ra;
	}
	return delay;
}
