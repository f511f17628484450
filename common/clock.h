/* clock: wall-clock time in unix milliseconds, the unit of every timestamp
 * bitsleuth stores (stream ids, due times, received_ms), and the monotonic
 * clock of in-process deadlines. */
#ifndef BS_CLOCK_H
#define BS_CLOCK_H

long long bs_now_ms(void);
/* Monotonic milliseconds (CLOCK_MONOTONIC), for deadlines and ages that a
 * wall-clock step must not move. */
long long bs_mono_ms(void);

#endif
