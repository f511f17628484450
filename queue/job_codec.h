/* job_codec: bs_job <-> msgpack, the format of the `job` field in the jobs
 * stream. Whoever reads the queue relies on it, so it is versioned:
 *
 *   map {"v": 1, "delivery": str, "received_ms": int, "event": map{...},
 *        "keys": [ {"key","where","change","commit"} ... ]}
 *
 * Maps with string keys (not positional arrays) so that readers in other
 * languages can decode it with any msgpack library, fields can be added, and
 * decoders ignore unknown keys. A decoder refuses a higher major version. */
#ifndef BS_JOB_CODEC_H
#define BS_JOB_CODEC_H

#include <stddef.h>

#include "common/job.h"

/* Encodes job; returns a malloc'd buffer and its length in *len. */
char *bs_job_encode(const struct bs_job *job, size_t *len);

/* Decodes buf into *job (which must be bs_job_init()ed). Returns 0, or -1
 * with a reason in err and *job reset. Never reads past len; bounded by the
 * same limits as the parsers (strings, arrays). */
int bs_job_decode(const char *buf, size_t len, struct bs_job *job,
    char *err, size_t errlen);

#endif
