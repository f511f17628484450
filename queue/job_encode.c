/* job_encode: bs_job -> msgpack, the encoding half of job_codec.h (the
 * decoding half is job_codec.c).
 *
 * One msgpack map per struct with string keys; absent strings are nil;
 * enums travel as their names ("cloud", "push", "branch", "merged",
 * "commit") so that readers in other languages need no table of numbers.
 * A field added later (change.head_author and head_date, issue 12) needs
 * no new BS_JOB_VERSION: the decoder leaves a missing key absent (NULL)
 * and skips keys it does not know, so jobs queued by the previous version
 * still decode, and that version still reads these. */
#include "queue/job_codec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/xalloc.h"

static void
pk_check(int rc)
{
	if (rc != 0) {
		fprintf(stderr, "job_codec: out of memory while encoding\n");
		abort();
	}
}

static void
pk_key(msgpack_packer *pk, const char *name)
{
	pk_check(msgpack_pack_str_with_body(pk, name, strlen(name)));
}

static void
pk_str(msgpack_packer *pk, const char *name, const char *s)
{
	pk_key(pk, name);
	if (s)
		pk_check(msgpack_pack_str_with_body(pk, s, strlen(s)));
	else
		pk_check(msgpack_pack_nil(pk));
}

static void
pk_int(msgpack_packer *pk, const char *name, int64_t v)
{
	pk_key(pk, name);
	pk_check(msgpack_pack_int64(pk, v));
}

static void
pk_bool(msgpack_packer *pk, const char *name, bool v)
{
	pk_key(pk, name);
	pk_check(v ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
}

static void
pk_person(msgpack_packer *pk, const char *name, const struct bs_person *p)
{
	pk_key(pk, name);
	pk_check(msgpack_pack_map(pk, 3));
	pk_str(pk, "name", p->name);
	pk_str(pk, "email", p->email);
	pk_str(pk, "username", p->username);
}

static void
pk_commit(msgpack_packer *pk, const struct bs_commit *c)
{
	pk_check(msgpack_pack_map(pk, 6));
	pk_str(pk, "hash", c->hash);
	pk_str(pk, "message", c->message);
	pk_person(pk, "author", &c->author);
	pk_str(pk, "date", c->date);
	pk_str(pk, "url", c->url);
	pk_key(pk, "parents");
	pk_check(msgpack_pack_array(pk, c->n_parents));
	for (size_t i = 0; i < c->n_parents; i++) {
		const char *s = c->parents[i];
		if (s)
			pk_check(msgpack_pack_str_with_body(pk, s, strlen(s)));
		else
			pk_check(msgpack_pack_nil(pk));
	}
}

static void
pk_change(msgpack_packer *pk, const struct bs_change *c)
{
	pk_check(msgpack_pack_map(pk, 14));
	pk_str(pk, "ref_type", bs_ref_type_name(c->ref_type));
	pk_str(pk, "ref_name", c->ref_name);
	pk_str(pk, "ref_type_raw", c->ref_type_raw);
	pk_str(pk, "old_hash", c->old_hash);
	pk_str(pk, "new_hash", c->new_hash);
	pk_str(pk, "new_commit", c->new_commit);
	pk_person(pk, "head_author", &c->head_author);
	pk_str(pk, "head_date", c->head_date);
	pk_bool(pk, "created", c->created);
	pk_bool(pk, "closed", c->closed);
	pk_bool(pk, "forced", c->forced);
	pk_bool(pk, "truncated", c->truncated);
	pk_str(pk, "link", c->link);
	pk_key(pk, "commits");
	pk_check(msgpack_pack_array(pk, c->n_commits));
	for (size_t i = 0; i < c->n_commits; i++)
		pk_commit(pk, &c->commits[i]);
}

static void
pk_pr_ref(msgpack_packer *pk, const char *name, const struct bs_pr_ref *r)
{
	pk_key(pk, name);
	pk_check(msgpack_pack_map(pk, 3));
	pk_str(pk, "branch", r->branch);
	pk_str(pk, "repository", r->repository);
	pk_str(pk, "hash", r->hash);
}

static void
pk_pr(msgpack_packer *pk, const struct bs_pr *pr)
{
	pk_check(msgpack_pack_map(pk, 12));
	pk_int(pk, "id", pr->id);
	pk_str(pk, "title", pr->title);
	pk_str(pk, "description", pr->description);
	pk_str(pk, "state", pr->state);
	pk_str(pk, "action", bs_pr_action_name(pr->action));
	pk_pr_ref(pk, "source", &pr->source);
	pk_pr_ref(pk, "destination", &pr->destination);
	pk_str(pk, "merge_hash", pr->merge_hash);
	pk_person(pk, "author", &pr->author);
	pk_str(pk, "url", pr->url);
	pk_str(pk, "created", pr->created);
	pk_str(pk, "updated", pr->updated);
}

static void
pk_event(msgpack_packer *pk, const struct bs_event *ev)
{
	pk_check(msgpack_pack_map(pk, 9));
	pk_str(pk, "product", bs_product_name(ev->product));
	pk_str(pk, "type", bs_event_type_name(ev->type));
	pk_str(pk, "event_key", ev->event_key);
	pk_str(pk, "repository", ev->repository);
	pk_str(pk, "repository_url", ev->repository_url);
	pk_person(pk, "actor", &ev->actor);
	pk_str(pk, "date", ev->date);
	pk_key(pk, "changes");
	pk_check(msgpack_pack_array(pk, ev->n_changes));
	for (size_t i = 0; i < ev->n_changes; i++)
		pk_change(pk, &ev->changes[i]);
	pk_key(pk, "pr");
	if (ev->pr)
		pk_pr(pk, ev->pr);
	else
		pk_check(msgpack_pack_nil(pk));
}

char *
bs_job_encode(const struct bs_job *job, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

	pk_check(msgpack_pack_map(&pk, 5));
	pk_int(&pk, "v", BS_JOB_VERSION);
	pk_str(&pk, "delivery", job->delivery);
	pk_int(&pk, "received_ms", job->received_ms);
	pk_key(&pk, "event");
	pk_event(&pk, &job->ev);
	pk_key(&pk, "keys");
	pk_check(msgpack_pack_array(&pk, job->n_keys));
	for (size_t i = 0; i < job->n_keys; i++) {
		const struct bs_issue_ref *r = &job->keys[i];
		pk_check(msgpack_pack_map(&pk, 4));
		pk_str(&pk, "key", r->key);
		pk_str(&pk, "where", bs_key_where_name(r->where));
		pk_int(&pk, "change", r->change);
		pk_int(&pk, "commit", r->commit);
	}
	/* Hand out a buffer of our own allocator so callers can free() it
	 * whatever msgpack's sbuffer uses internally. */
	char *out = xmalloc(sb.size ? sb.size : 1);
	memcpy(out, sb.data, sb.size);
	*len = sb.size;
	msgpack_sbuffer_destroy(&sb);
	return out;
}
