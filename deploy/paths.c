/* paths: see paths.h. A glob prefix is tried against the whole path and
 * against every leading run of its '/'-separated parts, with and without
 * the '/' that ends the run ("services/web/" and "services/web", so that
 * "services/[a-z]*" + "/" takes the files of services/web/), in a scratch
 * copy of the path cut at each '/' in turn. */
#include "deploy/paths.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "deploy/match.h"

static bool
is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

bool
bs_path_under(const char *prefix, const char *path)
{
	if (!prefix || !path)
		return false;
	if (*prefix == '/')
		prefix++;
	if (*path == '/')
		path++;
	if (!is_glob(prefix))
		return strncmp(path, prefix, strlen(prefix)) == 0;
	if (bs_glob_match(prefix, path))
		return true;
	char *run = xstrdup(path);
	bool hit = false;
	for (char *slash = strchr(run, '/'); slash && !hit;
	    slash = strchr(slash + 1, '/')) {
		char after = slash[1];
		slash[1] = '\0';   /* "services/web/" */
		hit = bs_glob_match(prefix, run);
		slash[1] = after;
		*slash = '\0';     /* "services/web" */
		hit = hit || bs_glob_match(prefix, run);
		*slash = '/';
	}
	free(run);
	return hit;
}

bool
bs_paths_none(const struct bs_path_prefix *pp)
{
	return !pp || (pp->n_includes == 0 && pp->n_excludes == 0);
}

static bool
under_any(char *const *prefixes, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (bs_path_under(prefixes[i], path))
			return true;
	return false;
}

bool
bs_paths_touched(const struct bs_path_prefix *pp, char *const *files,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!files[i])
			continue;
		if (pp && pp->n_includes &&
		    !under_any(pp->includes, pp->n_includes, files[i]))
			continue;
		if (pp && under_any(pp->excludes, pp->n_excludes, files[i]))
			continue;
		return true;
	}
	return false;
}
