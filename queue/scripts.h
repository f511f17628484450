/* scripts: the Lua scripts behind the atomic queue operations (jobs.c).
 *
 * Each script is one struct bs_redis_script (source + lazily computed
 * SHA1) for bs_redis_eval(). Every key a script touches is passed in KEYS
 * and shares the "{prefix}" hash tag, so all of them are cluster-safe. The
 * KEYS/ARGV layout of each one is documented in scripts.c. Private to
 * queue/. */
#ifndef BS_SCRIPTS_H
#define BS_SCRIPTS_H

#include "queue/redis_client.h"

extern struct bs_redis_script bs_script_enqueue;
extern struct bs_redis_script bs_script_claim;
extern struct bs_redis_script bs_script_finish;
extern struct bs_redis_script bs_script_promote;
extern struct bs_redis_script bs_script_dead_replay;

#endif
