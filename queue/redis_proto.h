/* redis_proto: what the topology code reads in Redis' answers, as pure
 * functions over hiredis replies and strings (unit-tested without a
 * server): the cluster key slot, redirect and retry errors, CLUSTER SLOTS,
 * ROLE, Sentinel's master address and +switch-master message, the replica
 * lag in INFO replication, and a deep copy of a reply. Private to queue/. */
#ifndef BS_REDIS_PROTO_H
#define BS_REDIS_PROTO_H

#include <stddef.h>

#include <hiredis/hiredis.h>

/* Redis Cluster's hash slot of key (CRC16-XMODEM mod 16384 over the hash
 * tag when the key has a non-empty {...}, else over the whole key). */
int bs_redis_keyslot(const char *key, size_t len);
/* The slot of the keys under hash tag `tag` ("{tag}..."; NULL as ""). */
int bs_redis_tag_slot(const char *tag);

/* "host:port" (or "[v6]:port") -> host, port. Returns 0 or -1. */
int bs_redis_hostport(const char *s, char *host, size_t hostlen, int *port);

enum bs_redis_answer {
	BS_ANS_OK = 0,          /* anything else: the caller's to read */
	BS_ANS_MOVED,           /* -MOVED slot host:port: the slot's owner */
	BS_ANS_ASK,             /* -ASK slot host:port: this once, there */
	BS_ANS_RETRY,           /* -TRYAGAIN, -CLUSTERDOWN: not run, soon again */
	BS_ANS_RELOCATE,        /* -READONLY, -LOADING, -MASTERDOWN: not run;
	                         * this node is not (yet) the master */
};

/* Classifies reply; for MOVED/ASK fills host and port. Every non-OK
 * answer means the command did not run. */
enum bs_redis_answer bs_redis_answer_of(const redisReply *reply, char *host,
    size_t hostlen, int *port);

/* The master owning slot in a CLUSTER SLOTS reply. Returns 0, or -1 when
 * no range covers it (or the reply is malformed). */
int bs_redis_slots_owner(const redisReply *slots, int slot, char *host,
    size_t hostlen, int *port);

/* Whether a ROLE reply says "master". */
int bs_redis_role_is_master(const redisReply *role);

/* A SENTINEL get-master-addr-by-name reply [host, port]. Returns 0, or -1
 * (nil: the sentinel does not know the master). */
int bs_redis_sentinel_addr(const redisReply *reply, char *host,
    size_t hostlen, int *port);

/* A +switch-master message "<name> <old-ip> <old-port> <new-ip>
 * <new-port>" for master `name`: fills the new address, returns 0; -1 for
 * another master or a malformed message. */
int bs_redis_switch_master(const char *msg, size_t len, const char *name,
    char *host, size_t hostlen, int *port);

/* The largest "lag=<s>" of the connected replicas in an INFO replication
 * text, in ms; -1 when it lists no replica. */
long long bs_redis_info_max_lag_ms(const char *info, size_t len);

/* A deep copy of r (freeReplyObject frees it), for a reply that must
 * outlive its callback. NULL for NULL. */
redisReply *bs_redis_reply_dup(const redisReply *r);

#endif
