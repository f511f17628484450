/* lanes_lua: the Lua helpers every lane-touching script shares (enqueue
 * and finish in scripts.c, acquire, step and sweep in lanes.c), as the
 * pieces of a script's prelude (bs_redis_script). Private to queue/. The lane model is
 * described in lanes.h.
 *
 * Stream ids are compared numerically: their parts are digit strings
 * without leading zeros, so a longer string is the bigger number and
 * equal lengths compare bytewise (exact at any length; Lua numbers would
 * lose precision above 2^53).
 *
 * lane_mark(idx, L, X, t, now) keeps a lane's head bookkeeping right after
 * any change to its list L: `head`/`since` when the head changed (and the
 * failing flag cleared), `blocked` = when the current head first had a
 * push waiting behind it, the index zset idx (member t, score = since);
 * an empty lane leaves the index and its meta hash X keeps only a lease
 * still out (the hash goes with its last field). Returns the head or nil.
 * lane_joined(idx, L, X, t, pos, n, now) is the same after RPUSH of pos
 * made the lane n long (cheaper: no reads).
 * lane_wake(jobs, dead, idx, L, X, P, t, head, now) moves the head's
 * parked record (P field "p:<head>") back into the jobs stream when no
 * lease is valid: returns 1 when it did. A corrupt record goes to dead and
 * its position leaves the lane (0); the next head is woken by the next
 * sweep.
 * lane_hold(jobs, stats, idx, L, X, P, t, hold, now) releases the head when
 * it is failing, has no valid lease and has blocked pushes for hold ms or
 * longer: it leaves the list, "r:<head>" marks it released (its parked
 * record, if any, goes back to the stream), {p}:stats lanes_released
 * counts it. Returns 1 when it released, else 0.
 * lane_op(k, L, X, P, t, pos, act, member, owner, hold, now) applies one
 * finished task's action to its lane (lanes.h: reg, pop, sup, keep, stay,
 * park), with k = {jobs, dead, stats, order, idx}: the lease given back
 * when owner holds it for pos, then the head fixed and woken. Returns 1
 * for "sup" (to be counted), else 0. */
#ifndef BS_LANES_LUA_H
#define BS_LANES_LUA_H

/* The helpers' text in pieces (each under C11's 4095-byte literal
 * minimum), NULL-terminated: a bs_redis_script's prelude. */
extern const char *const bs_lanes_lua[];

#endif
