/* lanes_of: the lanes (queue/lanes.h) a job joins when it is queued: the
 * names "org/deployment/environment" of the targets its push hits under
 * the config in force, as the worker will match them (deploy/match.h),
 * each once. Used by ingest and by the replay commands, so every way into
 * the jobs stream keeps per-target push order. */
#ifndef BS_LANES_OF_H
#define BS_LANES_OF_H

#include <stddef.h>

#include "common/job.h"
#include "common/deployment.h"

#define BS_LANES_OF_MAX 64

struct bs_lanes_of {
	char names[BS_LANES_OF_MAX][300];
	const char *ptrs[BS_LANES_OF_MAX];  /* into names, for bs_enqueue.lanes */
	size_t n;
};

/* Fills out for job under the targets deps[0..n_deps) (bs_live's deps in
 * a running process, the config's deployments in a replay command; at
 * most BS_LANES_OF_MAX lanes; names that do not fit are left out: those
 * targets are then joined by the worker, as are discovered targets a
 * replay command does not know). */
void bs_lanes_of(const struct bs_deployment *deps, size_t n_deps,
    const struct bs_job *job, struct bs_lanes_of *out);

#endif
