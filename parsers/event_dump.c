/* event_dump: see event_dump.h. The format is deliberately trivial to
 * reproduce in another language (tests/golden/expect.py writes the same
 * text with Python's json.dumps(ensure_ascii=False) for strings), so that
 * the golden files come from an independent implementation of the field
 * mapping. Field order follows common/event.h; arrays print their length
 * first ("changes: 2"), then one indexed block per element. */
#include "parsers/event_dump.h"

#include <inttypes.h>

static void
put_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	putc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				putc(*p, f);
		}
	}
	putc('"', f);
}

static void
line_str(FILE *f, const char *prefix, const char *name, const char *s)
{
	fprintf(f, "%s%s: ", prefix, name);
	put_str(f, s);
	putc('\n', f);
}

static void
line_bool(FILE *f, const char *prefix, const char *name, bool v)
{
	fprintf(f, "%s%s: %s\n", prefix, name, v ? "true" : "false");
}

static void
person(FILE *f, const char *prefix, const char *name,
    const struct bs_person *p)
{
	char pre[96];
	snprintf(pre, sizeof(pre), "%s%s.", prefix, name);
	line_str(f, pre, "name", p->name);
	line_str(f, pre, "email", p->email);
	line_str(f, pre, "username", p->username);
}

static const char *
type_name(enum bs_event_type t)
{
	switch (t) {
	case BS_EVENT_PUSH: return "push";
	case BS_EVENT_PR: return "pr";
	case BS_EVENT_PING: return "ping";
	default: return "other";
	}
}

static void
commit(FILE *f, const char *prefix, const struct bs_commit *m)
{
	line_str(f, prefix, "hash", m->hash);
	line_str(f, prefix, "message", m->message);
	person(f, prefix, "author", &m->author);
	line_str(f, prefix, "date", m->date);
	line_str(f, prefix, "url", m->url);
	fprintf(f, "%sparents: %zu\n", prefix, m->n_parents);
	for (size_t k = 0; k < m->n_parents; k++) {
		fprintf(f, "%sparent[%zu]: ", prefix, k);
		put_str(f, m->parents[k]);
		putc('\n', f);
	}
}

static void
change(FILE *f, size_t i, const struct bs_change *ch)
{
	char pre[64];
	snprintf(pre, sizeof(pre), "change[%zu].", i);
	fprintf(f, "%sref_type: %s\n", pre, bs_ref_type_name(ch->ref_type));
	line_str(f, pre, "ref_name", ch->ref_name);
	line_str(f, pre, "ref_type_raw", ch->ref_type_raw);
	line_str(f, pre, "old_hash", ch->old_hash);
	line_str(f, pre, "new_hash", ch->new_hash);
	line_str(f, pre, "new_commit", ch->new_commit);
	person(f, pre, "head_author", &ch->head_author);
	line_str(f, pre, "head_date", ch->head_date);
	line_bool(f, pre, "created", ch->created);
	line_bool(f, pre, "closed", ch->closed);
	line_bool(f, pre, "forced", ch->forced);
	line_bool(f, pre, "truncated", ch->truncated);
	line_str(f, pre, "link", ch->link);
	fprintf(f, "%scommits: %zu\n", pre, ch->n_commits);
	for (size_t j = 0; j < ch->n_commits; j++) {
		char cpre[96];
		snprintf(cpre, sizeof(cpre), "%scommit[%zu].", pre, j);
		commit(f, cpre, &ch->commits[j]);
	}
}

static void
pr_ref(FILE *f, const char *name, const struct bs_pr_ref *r)
{
	char pre[64];
	snprintf(pre, sizeof(pre), "pr.%s.", name);
	line_str(f, pre, "branch", r->branch);
	line_str(f, pre, "repository", r->repository);
	line_str(f, pre, "hash", r->hash);
}

void
bs_event_dump(const struct bs_event *ev, FILE *f)
{
	fprintf(f, "product: %s\n", bs_product_name(ev->product));
	fprintf(f, "type: %s\n", type_name(ev->type));
	line_str(f, "", "event_key", ev->event_key);
	line_str(f, "", "repository", ev->repository);
	line_str(f, "", "repository_url", ev->repository_url);
	person(f, "", "actor", &ev->actor);
	line_str(f, "", "date", ev->date);
	if (ev->ref_limit_exceeded)   /* only printed when set */
		fputs("ref_limit_exceeded: true\n", f);
	fprintf(f, "changes: %zu\n", ev->n_changes);
	for (size_t i = 0; i < ev->n_changes; i++)
		change(f, i, &ev->changes[i]);
	if (!ev->pr) {
		fputs("pr: null\n", f);
		return;
	}
	const struct bs_pr *pr = ev->pr;
	fprintf(f, "pr.id: %" PRId64 "\n", pr->id);
	fprintf(f, "pr.action: %s\n", bs_pr_action_name(pr->action));
	line_str(f, "pr.", "title", pr->title);
	line_str(f, "pr.", "description", pr->description);
	line_str(f, "pr.", "state", pr->state);
	pr_ref(f, "source", &pr->source);
	pr_ref(f, "destination", &pr->destination);
	line_str(f, "pr.", "merge_hash", pr->merge_hash);
	person(f, "pr.", "author", &pr->author);
	line_str(f, "pr.", "url", pr->url);
	line_str(f, "pr.", "created", pr->created);
	line_str(f, "pr.", "updated", pr->updated);
}
