/* fuzz_event: the shared body of the parser fuzz targets (fuzz_cloud,
 * fuzz_dc): run() parses arbitrary bytes as one event key and checks the
 * invariants listed in those files. Included by exactly one .c per target. */
#ifndef BS_FUZZ_EVENT_H
#define BS_FUZZ_EVENT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/bitbucket.h"
#include "parsers/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_str(const char *s, size_t max)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (n > max || bs_utf8_valid(s, n) != 0)
		abort();
}

static void
check_person(const struct bs_person *p, size_t max)
{
	check_str(p->name, max);
	check_str(p->email, max);
	check_str(p->username, max);
}

static void
check_event(const struct bs_event *ev, const struct bs_parse_limits *lim)
{
	size_t max = lim->max_string, max2 = 2 * lim->max_string + 1;
	/* DC dates converted from epoch ms are generated, 24 bytes. */
	size_t maxd = max < 24 ? 24 : max;
	check_str(ev->event_key, 256);
	check_str(ev->repository, max2);
	check_str(ev->repository_url, max);
	check_str(ev->date, maxd);
	check_person(&ev->actor, max);
	if (ev->n_changes > lim->max_changes)
		abort();
	for (size_t i = 0; i < ev->n_changes; i++) {
		const struct bs_change *c = &ev->changes[i];
		check_str(c->ref_name, max);
		check_str(c->ref_type_raw, max);
		check_str(c->old_hash, max);
		check_str(c->new_hash, max);
		check_str(c->new_commit, max);
		check_str(c->link, max);
		check_str(c->head_date, maxd);   /* DC: generated from epoch ms */
		check_person(&c->head_author, max);
		if (c->ref_type_raw && c->ref_type != BS_REF_OTHER)
			abort();
		if (c->n_commits > lim->max_commits)
			abort();
		for (size_t j = 0; j < c->n_commits; j++) {
			const struct bs_commit *m = &c->commits[j];
			check_str(m->hash, max);
			check_str(m->message, max);
			check_str(m->date, maxd);
			check_str(m->url, max);
			check_person(&m->author, max);
			if (m->n_parents > lim->max_commits)
				abort();
			for (size_t k = 0; k < m->n_parents; k++) {
				if (!m->parents[k])
					abort();
				check_str(m->parents[k], max);
			}
		}
	}
	if ((ev->pr != NULL) != (ev->type == BS_EVENT_PR))
		abort();
	if (ev->pr) {
		const struct bs_pr *p = ev->pr;
		check_str(p->title, max);
		check_str(p->description, max);
		check_str(p->state, max);
		check_str(p->source.branch, max);
		check_str(p->source.repository, max2);
		check_str(p->source.hash, max);
		check_str(p->destination.branch, max);
		check_str(p->destination.repository, max2);
		check_str(p->destination.hash, max);
		check_str(p->merge_hash, max);
		check_person(&p->author, max);
		check_str(p->url, max);
		check_str(p->created, maxd);
		check_str(p->updated, maxd);
	}
}

static void
run(enum bs_product prod, const char *key, const uint8_t *data, size_t size,
    const struct bs_parse_limits *lim)
{
	struct bs_event ev;
	char err[200];
	bs_event_init(&ev);
	enum bs_parse_status st = bs_parse_event(prod, key, (const char *)data,
	    size, lim, &ev, err, sizeof(err));
	if (st == BS_PARSE_OK) {
		if (bs_utf8_check_json((const char *)data, size, NULL, 0) != 0)
			abort();
		if (ev.product != prod)
			abort();
		check_event(&ev, lim);
	} else {
		if (ev.arena.total != 0 || ev.repository || ev.n_changes || ev.pr)
			abort();
		size_t n = strlen(err);
		if (n == 0)
			abort();
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)err[i] < 0x20 ||
			    (unsigned char)err[i] >= 0x7f)
				abort();   /* reasons never echo payload bytes */
	}
	bs_event_release(&ev);
}

#endif
