/* expand: a project's code deployments into targets (see expand.h). */
#include "config/expand.h"

#include <string.h>
#include <strings.h>

size_t
bs_expand_code_deployment(struct bs_arena *a, const struct bs_project *p,
    const struct bs_code_deployment *cd, enum bs_dep_origin origin,
    struct bs_deployment *out)
{
	for (size_t i = 0; i < cd->n_envs; i++) {
		const struct bs_env_mapping *e = &cd->envs[i];
		struct bs_deployment *d = &out[i];
		memset(d, 0, sizeof(*d));
		d->org = p->org;
		d->project = p->project;
		d->deployment = cd->deployment;
		d->repository = cd->repository;
		d->branches = e->branches;
		d->n_branches = e->n_branches;
		d->environment = e->environment;
		d->track = cd->track >= 0 ? (enum bs_track)cd->track : p->track;
		d->tag_pattern = cd->tag_pattern ? cd->tag_pattern :
		    bs_arena_strdup(a, "*");
		d->token_env = p->token_env;
		d->token_file = p->token_file;
		d->token = p->token;
		d->dry_run = p->dry_run;
		d->tags = p->tags;
		d->n_tags = p->n_tags;
		d->issue_tags = p->issue_tags;
		d->paths = cd->paths;
		d->origin = origin;
		d->line = e->line ? e->line : cd->line;
	}
	return cd->n_envs;
}

bool
bs_expand_keeps(const struct bs_project *p,
    const struct bs_code_deployment *cd)
{
	return p->include_non_manual || !cd->tracking_type ||
	    strcasecmp(cd->tracking_type, "MANUAL") == 0;
}
