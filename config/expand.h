/* expand: Sleuth's model (a project and its code deployments, each with
 * environment mappings) into the flat targets everything else matches
 * against (struct bs_deployment), one per (code deployment, environment).
 *
 * The same function expands the code deployments written under projects:
 * (at load, config/keys.c) and the ones discovered from Sleuth (in the
 * running process, config/live.c), so a project written by hand and the
 * same project in the flat deployments: form give equal targets (the
 * golden test in tests/unit/config/test_projects.c). Pure; the strings are
 * shared with p and cd or copied into a. */
#ifndef BS_CONFIG_EXPAND_H
#define BS_CONFIG_EXPAND_H

#include <stdbool.h>
#include <stddef.h>

#include "common/arena.h"
#include "common/deployment.h"
#include "config/config.h"

/* Writes cd->n_envs targets of code deployment cd of project p to
 * out[0..cd->n_envs), in cd->envs order, and returns how many:
 *   org, project             p's
 *   deployment, repository   cd's
 *   branches, environment    the env mapping's
 *   track                    cd->track, else p->track
 *   tag_pattern              cd->tag_pattern, else "*"
 *   token_env/_file, token   p's (NULL: sleuth.token_env's)
 *   dry_run, tags, issue_tags  p's
 *   paths                    cd's
 *   origin                   `origin`
 *   line                     the env mapping's line, else cd's
 */
size_t bs_expand_code_deployment(struct bs_arena *a, const struct bs_project *p,
    const struct bs_code_deployment *cd, enum bs_dep_origin origin,
    struct bs_deployment *out);

/* Whether deployment dep of a discovered project p is kept: its tracking
 * type is MANUAL (or unknown), or p->include_non_manual. */
bool bs_expand_keeps(const struct bs_project *p,
    const struct bs_code_deployment *cd);

#endif
