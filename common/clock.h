/* clock: wall-clock time in unix milliseconds, the unit of every timestamp
 * bitsleuth stores (stream ids, due times, received_ms). */
#ifndef BS_CLOCK_H
#define BS_CLOCK_H

long long bs_now_ms(void);

#endif
