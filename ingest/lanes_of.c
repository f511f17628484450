/* lanes_of: a job's lanes (see lanes_of.h). */
#include "ingest/lanes_of.h"

#include <stdio.h>
#include <string.h>

#include "deploy/match.h"

void
bs_lanes_of(const struct bs_deployment *deps, size_t n_deps,
    const struct bs_job *job, struct bs_lanes_of *out)
{
	out->n = 0;
	struct bs_target t[BS_LANES_OF_MAX];
	size_t n = bs_match_job(deps, n_deps, job, t,
	    BS_LANES_OF_MAX);
	if (n > BS_LANES_OF_MAX)
		n = BS_LANES_OF_MAX;
	for (size_t i = 0; i < n; i++) {
		char name[sizeof(out->names[0])];
		bs_target_name(&t[i], name, sizeof(name));
		if (strlen(name) + 1 >= sizeof(name))
			continue;            /* cut: not a name the worker would use */
		int seen = 0;
		for (size_t j = 0; j < out->n && !seen; j++)
			seen = strcmp(out->names[j], name) == 0;
		if (seen)
			continue;
		snprintf(out->names[out->n], sizeof(out->names[0]), "%s", name);
		out->ptrs[out->n] = out->names[out->n];
		out->n++;
	}
}
