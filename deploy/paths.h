/* paths: whether a push's changed files concern a code deployment's
 * source path prefixes (common/deployment.h: struct bs_path_prefix;
 * Sleuth's "Source path prefix (include)" / "(exclude)", issue 16).
 * Pure. */
#ifndef BS_PATHS_H
#define BS_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/deployment.h"

/* Whether path is under prefix: when prefix is a string prefix of the
 * path ("services/web" takes "services/web/a.c" and "services/website";
 * write "services/web/" for the folder only), and, for a prefix with '*',
 * '?' or '[', also when it is a glob (deploy/match.h: bs_glob_match) that
 * matches the whole path or a leading run of its '/'-separated parts
 * ("*ices" takes "services/web/a.c"), the run with or without the '/'
 * after it (a glob ending in '/' is a folder). Both readings count, so a
 * folder named "app/[locale]/" is a prefix of its files. A leading '/' of
 * either is ignored. O(len(path) * (len(prefix) / 64 + 1)). */
bool bs_path_under(const char *prefix, const char *path);

/* Whether pp is empty: no includes and no excludes. */
bool bs_paths_none(const struct bs_path_prefix *pp);

/* Whether a push changing files[0..n) is a deploy of a code deployment
 * with prefixes pp: some file is under an include (any file when there
 * are none) and under no exclude. No files: false. */
bool bs_paths_touched(const struct bs_path_prefix *pp, char *const *files,
    size_t n);

#endif
