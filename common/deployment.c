/* deployment: the one-line description of a target (see deployment.h). */
#include "common/deployment.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct line {
	char *out;
	size_t len, cap;
};

static void add(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
add(struct line *l, const char *fmt, ...)
{
	if (l->len + 1 >= l->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(l->out + l->len, l->cap - l->len, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	l->len += (size_t)k;
	if (l->len >= l->cap)
		l->len = l->cap - 1;
}

static const char *
or_dash(const char *s)
{
	return s && *s ? s : "-";
}

void
bs_deployment_describe(const struct bs_deployment *d, char *out,
    size_t outlen)
{
	if (!outlen)
		return;
	struct line l = { out, 0, outlen };
	out[0] = '\0';
	add(&l, "%s/%s/%s/%s <- %s ", or_dash(d->org), or_dash(d->project),
	    or_dash(d->deployment), or_dash(d->environment),
	    or_dash(d->repository));
	int glob = 0;
	if (d->track == BS_TRACK_TAG) {
		add(&l, "tag %s", d->tag_pattern ? d->tag_pattern : "*");
	} else {
		if (d->track == BS_TRACK_MERGE)
			add(&l, "merge into ");
		for (size_t i = 0; i < d->n_branches; i++) {
			add(&l, "%s%s", i ? ", " : "", d->branches[i]);
			glob |= strpbrk(d->branches[i], "*?[") != NULL;
		}
	}
	if (glob)
		add(&l, " (branch sent)");
	const struct bs_path_prefix *p = &d->paths;
	if (p->n_includes || p->n_excludes) {
		add(&l, " [paths:");
		for (size_t i = 0; i < p->n_includes; i++)
			add(&l, " %s", p->includes[i]);
		for (size_t i = 0; i < p->n_excludes; i++)
			add(&l, " -%s", p->excludes[i]);
		add(&l, "]");
	}
}
