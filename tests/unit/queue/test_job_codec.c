/* test_job_codec: round trips with every field set and with every string
 * absent, field-by-field comparison, refusal of newer versions, bad types,
 * bad key indices, oversized headers, and every truncation of a valid
 * encoding (must fail cleanly, never crash or leak). */
#include <msgpack.h>

#include "../test.h"
#include "common/xalloc.h"
#include "queue/job_codec.h"

static char *
s(struct bs_job *j, const char *v)
{
	return bs_arena_strdup(&j->ev.arena, v);
}

static void
person(struct bs_job *j, struct bs_person *p, const char *tag)
{
	p->name = bs_arena_printf(&j->ev.arena, "%s name", tag);
	p->email = bs_arena_printf(&j->ev.arena, "%s@example.com", tag);
	p->username = bs_arena_printf(&j->ev.arena, "%s_user", tag);
}

/* Every field set, with unicode and odd characters. */
static void
build_full(struct bs_job *j)
{
	struct bs_event *ev = &j->ev;
	j->delivery = s(j, "8f4e3a5c-0000-4000-8000-00000000beef");
	j->received_ms = 1764065000123LL;
	ev->product = BS_PRODUCT_CLOUD;
	ev->type = BS_EVENT_PR;
	ev->event_key = s(j, "pullrequest:fulfilled");
	ev->repository = s(j, "acme/shop");
	ev->repository_url = s(j, "https://bitbucket.org/acme/shop");
	person(j, &ev->actor, "actor");
	ev->date = s(j, "2026-11-25T10:00:00Z");
	ev->n_changes = 2;
	ev->changes = bs_arena_alloc(&ev->arena, 2 * sizeof(*ev->changes));
	for (size_t i = 0; i < 2; i++) {
		struct bs_change *c = &ev->changes[i];
		c->ref_type = i ? BS_REF_TAG : BS_REF_BRANCH;
		c->ref_name = bs_arena_printf(&ev->arena, "feature/\xc3\xa9t\xc3\xa9-%zu", i);
		c->ref_type_raw = i ? s(j, "annotated") : NULL;
		c->old_hash = s(j, "1111111111111111111111111111111111111111");
		c->new_hash = s(j, "2222222222222222222222222222222222222222");
		c->new_commit = s(j, "3333333333333333333333333333333333333333");
		person(j, &c->head_author, i ? "tagger" : "head");
		c->head_date = i ? s(j, "2026-11-24T08:00:00.500Z") : NULL;
		c->created = i == 0;
		c->closed = i == 1;
		c->forced = true;
		c->truncated = i == 1;
		c->link = s(j, "https://bitbucket.org/acme/shop/branches/compare/x");
		c->n_commits = 3;
		c->commits = bs_arena_alloc(&ev->arena, 3 * sizeof(*c->commits));
		for (size_t k = 0; k < 3; k++) {
			struct bs_commit *m = &c->commits[k];
			m->hash = bs_arena_printf(&ev->arena, "%040zu", i * 10 + k);
			m->message = bs_arena_printf(&ev->arena,
			    "SHOP-%zu fix \"quotes\"\nsecond line\ttab", k);
			person(j, &m->author, "author");
			m->date = s(j, "2026-11-24T09:00:00+01:00");
			m->url = s(j, "https://bitbucket.org/acme/shop/commits/x");
			m->n_parents = k;
			m->parents = bs_arena_alloc(&ev->arena, (k + 1) * sizeof(char *));
			for (size_t p = 0; p < k; p++)
				m->parents[p] = bs_arena_printf(&ev->arena, "parent%zu", p);
		}
	}
	ev->pr = bs_arena_alloc(&ev->arena, sizeof(*ev->pr));
	struct bs_pr *pr = ev->pr;
	pr->id = 4242;
	pr->title = s(j, "SHOP-7: make it fast");
	pr->description = s(j, "Fixes SHOP-8 and SHOP-9");
	pr->state = s(j, "MERGED");
	pr->action = BS_PR_MERGED;
	pr->source.branch = s(j, "feature/SHOP-7");
	pr->source.repository = s(j, "fork/shop");
	pr->source.hash = s(j, "abcdefabcdef");
	pr->destination.branch = s(j, "main");
	pr->destination.repository = s(j, "acme/shop");
	pr->destination.hash = s(j, "fedcbafedcba");
	pr->merge_hash = s(j, "0123456789ab");
	person(j, &pr->author, "pr");
	pr->url = s(j, "https://bitbucket.org/acme/shop/pull-requests/4242");
	pr->created = s(j, "2026-11-20T08:00:00Z");
	pr->updated = s(j, "2026-11-25T09:59:59Z");
	bs_job_add_key(j, "SHOP-7", 6, BS_KEY_PR_TITLE, 0, 0);
	bs_job_add_key(j, "SHOP-8", 6, BS_KEY_PR_DESCRIPTION, 0, 0);
	bs_job_add_key(j, "SHOP-7", 6, BS_KEY_PR_BRANCH, 0, 0);
	bs_job_add_key(j, "SHOP-2", 6, BS_KEY_COMMIT, 1, 2);
	bs_job_add_key(j, "SHOP-1", 6, BS_KEY_BRANCH, 1, 0);
}

static int
streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

#define CHECK_SEQ(a, b) do { \
	CHECK(streq((a), (b))); \
	if (!streq((a), (b))) \
		fprintf(stderr, "  %s: \"%s\" vs \"%s\"\n", #a, (a) ? (a) : "(null)", \
		    (b) ? (b) : "(null)"); \
} while (0)

static void
cmp_person(const struct bs_person *a, const struct bs_person *b)
{
	CHECK_SEQ(a->name, b->name);
	CHECK_SEQ(a->email, b->email);
	CHECK_SEQ(a->username, b->username);
}

static void
cmp_job(const struct bs_job *a, const struct bs_job *b)
{
	CHECK_INT(a->version, BS_JOB_VERSION);
	CHECK_SEQ(a->delivery, b->delivery);
	CHECK_INT(a->received_ms, b->received_ms);
	const struct bs_event *x = &a->ev, *y = &b->ev;
	CHECK_INT(x->product, y->product);
	CHECK_INT(x->type, y->type);
	CHECK_SEQ(x->event_key, y->event_key);
	CHECK_SEQ(x->repository, y->repository);
	CHECK_SEQ(x->repository_url, y->repository_url);
	cmp_person(&x->actor, &y->actor);
	CHECK_SEQ(x->date, y->date);
	CHECK_INT(x->n_changes, y->n_changes);
	for (size_t i = 0; i < x->n_changes && i < y->n_changes; i++) {
		const struct bs_change *c = &x->changes[i], *d = &y->changes[i];
		CHECK_INT(c->ref_type, d->ref_type);
		CHECK_SEQ(c->ref_name, d->ref_name);
		CHECK_SEQ(c->ref_type_raw, d->ref_type_raw);
		CHECK_SEQ(c->old_hash, d->old_hash);
		CHECK_SEQ(c->new_hash, d->new_hash);
		CHECK_SEQ(c->new_commit, d->new_commit);
		cmp_person(&c->head_author, &d->head_author);
		CHECK_SEQ(c->head_date, d->head_date);
		CHECK_INT(c->created, d->created);
		CHECK_INT(c->closed, d->closed);
		CHECK_INT(c->forced, d->forced);
		CHECK_INT(c->truncated, d->truncated);
		CHECK_SEQ(c->link, d->link);
		CHECK_INT(c->n_commits, d->n_commits);
		for (size_t k = 0; k < c->n_commits && k < d->n_commits; k++) {
			const struct bs_commit *m = &c->commits[k], *n = &d->commits[k];
			CHECK_SEQ(m->hash, n->hash);
			CHECK_SEQ(m->message, n->message);
			cmp_person(&m->author, &n->author);
			CHECK_SEQ(m->date, n->date);
			CHECK_SEQ(m->url, n->url);
			CHECK_INT(m->n_parents, n->n_parents);
			for (size_t p = 0; p < m->n_parents && p < n->n_parents; p++)
				CHECK_SEQ(m->parents[p], n->parents[p]);
		}
	}
	CHECK((x->pr == NULL) == (y->pr == NULL));
	if (x->pr && y->pr) {
		const struct bs_pr *p = x->pr, *q = y->pr;
		CHECK_INT(p->id, q->id);
		CHECK_SEQ(p->title, q->title);
		CHECK_SEQ(p->description, q->description);
		CHECK_SEQ(p->state, q->state);
		CHECK_INT(p->action, q->action);
		CHECK_SEQ(p->source.branch, q->source.branch);
		CHECK_SEQ(p->source.repository, q->source.repository);
		CHECK_SEQ(p->source.hash, q->source.hash);
		CHECK_SEQ(p->destination.branch, q->destination.branch);
		CHECK_SEQ(p->destination.repository, q->destination.repository);
		CHECK_SEQ(p->destination.hash, q->destination.hash);
		CHECK_SEQ(p->merge_hash, q->merge_hash);
		cmp_person(&p->author, &q->author);
		CHECK_SEQ(p->url, q->url);
		CHECK_SEQ(p->created, q->created);
		CHECK_SEQ(p->updated, q->updated);
	}
	CHECK_INT(a->n_keys, b->n_keys);
	for (size_t i = 0; i < a->n_keys && i < b->n_keys; i++) {
		CHECK_SEQ(a->keys[i].key, b->keys[i].key);
		CHECK_INT(a->keys[i].where, b->keys[i].where);
		CHECK_INT(a->keys[i].change, b->keys[i].change);
		CHECK_INT(a->keys[i].commit, b->keys[i].commit);
	}
}

/* A hand-packed job map: {"v": v, "event": {}, <extra key/value>}. */
static char *
pack_custom(int64_t v, const char *extra_key, int extra_kind, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, extra_key ? 3 : 2);
	msgpack_pack_str_with_body(&pk, "v", 1);
	msgpack_pack_int64(&pk, v);
	msgpack_pack_str_with_body(&pk, "event", 5);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "changes", 7);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 0);
	if (extra_key) {
		msgpack_pack_str_with_body(&pk, extra_key, strlen(extra_key));
		switch (extra_kind) {
		case 0: msgpack_pack_int(&pk, 7); break;           /* wrong type */
		case 1: /* key with index out of range */
			msgpack_pack_array(&pk, 1);
			msgpack_pack_map(&pk, 4);
			msgpack_pack_str_with_body(&pk, "key", 3);
			msgpack_pack_str_with_body(&pk, "A-1", 3);
			msgpack_pack_str_with_body(&pk, "where", 5);
			msgpack_pack_str_with_body(&pk, "commit", 6);
			msgpack_pack_str_with_body(&pk, "change", 6);
			msgpack_pack_int(&pk, 0);
			msgpack_pack_str_with_body(&pk, "commit", 6);
			msgpack_pack_int(&pk, 0);
			break;
		case 2: msgpack_pack_str_with_body(&pk, "a\0b", 3); break;
		case 3: msgpack_pack_str_with_body(&pk, "ignored", 7); break;
		}
	}
	char *out = xmalloc(sb.size);
	memcpy(out, sb.data, sb.size);
	*len = sb.size;
	msgpack_sbuffer_destroy(&sb);
	return out;
}

static void
pk_s(msgpack_packer *pk, const char *v)
{
	if (v)
		msgpack_pack_str_with_body(pk, v, strlen(v));
	else
		msgpack_pack_nil(pk);
}

/* A Cloud tag push as the encoder of the previous version wrote it. */
static void
pack_old_job(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 5);
	pk_s(pk, "v"); msgpack_pack_int64(pk, 1);
	pk_s(pk, "delivery"); pk_s(pk, "old-1");
	pk_s(pk, "received_ms"); msgpack_pack_int64(pk, 1764065000123LL);
	pk_s(pk, "event");
	msgpack_pack_map(pk, 9);
	pk_s(pk, "product"); pk_s(pk, "cloud");
	pk_s(pk, "type"); pk_s(pk, "push");
	pk_s(pk, "event_key"); pk_s(pk, "repo:push");
	pk_s(pk, "repository"); pk_s(pk, "acme/shop");
	pk_s(pk, "repository_url"); pk_s(pk, "https://bitbucket.org/acme/shop");
	pk_s(pk, "actor");
	msgpack_pack_map(pk, 3);
	pk_s(pk, "name"); pk_s(pk, "Actor");
	pk_s(pk, "email"); pk_s(pk, NULL);
	pk_s(pk, "username"); pk_s(pk, "actor");
	pk_s(pk, "date"); pk_s(pk, NULL);
	pk_s(pk, "changes");
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 12);
	pk_s(pk, "ref_type"); pk_s(pk, "tag");
	pk_s(pk, "ref_name"); pk_s(pk, "v1.0");
	pk_s(pk, "ref_type_raw"); pk_s(pk, NULL);
	pk_s(pk, "old_hash"); pk_s(pk, NULL);
	pk_s(pk, "new_hash"); pk_s(pk, "3333333333333333333333333333333333333333");
	pk_s(pk, "new_commit"); pk_s(pk, "3333333333333333333333333333333333333333");
	pk_s(pk, "created"); msgpack_pack_true(pk);
	pk_s(pk, "closed"); msgpack_pack_false(pk);
	pk_s(pk, "forced"); msgpack_pack_false(pk);
	pk_s(pk, "truncated"); msgpack_pack_false(pk);
	pk_s(pk, "link"); pk_s(pk, "https://bitbucket.org/acme/shop/commits/tag/v1.0");
	pk_s(pk, "commits"); msgpack_pack_array(pk, 0);
	pk_s(pk, "pr"); msgpack_pack_nil(pk);
	pk_s(pk, "keys");
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 4);
	pk_s(pk, "key"); pk_s(pk, "SHOP-1");
	pk_s(pk, "where"); pk_s(pk, "branch");
	pk_s(pk, "change"); msgpack_pack_int64(pk, 0);
	pk_s(pk, "commit"); msgpack_pack_int64(pk, 0);
}

int
main(void)
{
	char err[256];

	TEST("round trip, every field set") {
		struct bs_job a, b;
		bs_job_init(&a);
		build_full(&a);
		size_t len = 0;
		char *buf = bs_job_encode(&a, &len);
		CHECK(len > 500);
		bs_job_init(&b);
		CHECK_INT(bs_job_decode(buf, len, &b, err, sizeof(err)), 0);
		cmp_job(&b, &a);
		/* Re-encoding the decoded job gives the same bytes. */
		size_t len2 = 0;
		char *buf2 = bs_job_encode(&b, &len2);
		CHECK_INT(len2, len);
		CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
		free(buf2);
		free(buf);
		bs_job_release(&a);
		bs_job_release(&b);
	}

	TEST("round trip, absent strings stay NULL") {
		struct bs_job a, b;
		bs_job_init(&a);
		a.ev.product = BS_PRODUCT_DC;
		a.ev.type = BS_EVENT_PUSH;
		a.ev.n_changes = 1;
		a.ev.changes = bs_arena_alloc(&a.ev.arena, sizeof(*a.ev.changes));
		a.ev.changes[0].ref_type = BS_REF_OTHER;
		a.ev.changes[0].n_commits = 1;
		a.ev.changes[0].commits = bs_arena_alloc(&a.ev.arena,
		    sizeof(struct bs_commit));
		a.ev.changes[0].commits[0].n_parents = 1;
		a.ev.changes[0].commits[0].parents = bs_arena_alloc(&a.ev.arena,
		    sizeof(char *));
		size_t len;
		char *buf = bs_job_encode(&a, &len);
		bs_job_init(&b);
		CHECK_INT(bs_job_decode(buf, len, &b, err, sizeof(err)), 0);
		cmp_job(&b, &a);
		CHECK(b.delivery == NULL);
		CHECK(b.ev.event_key == NULL);
		CHECK(b.ev.actor.name == NULL);
		CHECK(b.ev.pr == NULL);
		CHECK_INT(b.ev.product, BS_PRODUCT_DC);
		CHECK_INT(b.ev.type, BS_EVENT_PUSH);
		CHECK(b.ev.changes[0].commits[0].hash == NULL);
		CHECK(b.ev.changes[0].commits[0].parents[0] == NULL);
		CHECK_INT(b.n_keys, 0);
		free(buf);
		bs_job_release(&a);
		bs_job_release(&b);
	}

	TEST("a job queued before head_author/head_date existed still decodes") {
		/* The exact shape job_encode.c wrote before issue 12 (v 1, a
		 * change map of 12 keys), as an old binary leaves it queued
		 * during an upgrade: the new fields come out absent. */
		msgpack_sbuffer sb;
		msgpack_packer pk;
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		pack_old_job(&pk);
		struct bs_job b;
		bs_job_init(&b);
		CHECK_INT(bs_job_decode(sb.data, sb.size, &b, err, sizeof(err)), 0);
		CHECK_INT(b.version, 1);
		CHECK_SEQ(b.delivery, "old-1");
		CHECK_INT(b.received_ms, 1764065000123LL);
		CHECK_INT(b.ev.n_changes, 1);
		if (b.ev.n_changes == 1) {
			const struct bs_change *c = &b.ev.changes[0];
			CHECK_INT(c->ref_type, BS_REF_TAG);
			CHECK_SEQ(c->ref_name, "v1.0");
			CHECK_SEQ(c->new_commit, "3333333333333333333333333333333333333333");
			CHECK(c->head_author.name == NULL);
			CHECK(c->head_author.email == NULL);
			CHECK(c->head_author.username == NULL);
			CHECK(c->head_date == NULL);
			CHECK(c->created);
			CHECK_SEQ(c->link, "https://bitbucket.org/acme/shop/commits/tag/v1.0");
			CHECK_INT(c->n_commits, 0);
		}
		CHECK_SEQ(b.ev.actor.name, "Actor");
		CHECK_INT(b.n_keys, 1);
		/* ... and re-encoded by this version it gains the (empty) fields */
		size_t len = 0;
		char *buf = bs_job_encode(&b, &len);
		CHECK(len > sb.size);
		struct bs_job c2;
		bs_job_init(&c2);
		CHECK_INT(bs_job_decode(buf, len, &c2, err, sizeof(err)), 0);
		cmp_job(&c2, &b);
		free(buf);
		bs_job_release(&c2);
		bs_job_release(&b);
		msgpack_sbuffer_destroy(&sb);
	}

	TEST("every truncation fails cleanly") {
		struct bs_job a, b;
		bs_job_init(&a);
		build_full(&a);
		size_t len;
		char *buf = bs_job_encode(&a, &len);
		int failures = 0;
		for (size_t n = 0; n < len; n++) {
			char *cut = xmalloc(n ? n : 1); /* exact size: ASan sees overreads */
			memcpy(cut, buf, n);
			bs_job_init(&b);
			err[0] = '\0';
			if (bs_job_decode(cut, n, &b, err, sizeof(err)) == -1 && err[0] &&
			    b.n_keys == 0 && b.delivery == NULL)
				failures++;
			bs_job_release(&b);
			free(cut);
		}
		CHECK_INT(failures, len);
		free(buf);
		bs_job_release(&a);
	}

	TEST("refuses a newer version, with the reason") {
		size_t len;
		char *buf = pack_custom(2, NULL, 0, &len);
		struct bs_job b;
		bs_job_init(&b);
		CHECK_INT(bs_job_decode(buf, len, &b, err, sizeof(err)), -1);
		CHECK_STR(err, "job version 2 not supported (max 1)");
		free(buf);
		buf = pack_custom(1, NULL, 0, &len);
		CHECK_INT(bs_job_decode(buf, len, &b, err, sizeof(err)), 0);
		CHECK_INT(b.ev.n_changes, 1);
		bs_job_release(&b);
		free(buf);
	}

	TEST("bad types and indices") {
		struct bs_job b;
		size_t len;
		char *buf = pack_custom(1, "delivery", 0, &len);
		bs_job_init(&b);
		CHECK_INT(bs_job_decode(buf, len, &b, err, sizeof(err)), -1);
		CHECK_STR(err, "job field 'delivery' is not a string");
		free(buf);
		buf = pack_custom(1, "keys", 1, &len);
		CHECK_INT(bs_job_decode(buf, len, &b, err, sizeof(err)), -1);
		CHECK_STR(err, "job field 'keys[].commit' is out of range");
		CHECK_INT(b.n_keys, 0);
		free(buf);
		buf = pack_custom(1, "delivery", 2, &len);
		CHECK_INT(bs_job_decode(buf, len, &b, err, sizeof(err)), -1);
		CHECK_STR(err, "job field 'delivery' holds a nul byte");
		free(buf);
		buf = pack_custom(1, "future_field", 3, &len);
		CHECK_INT(bs_job_decode(buf, len, &b, err, sizeof(err)), 0);
		bs_job_release(&b);
		free(buf);
	}

	TEST("hostile headers never allocate by their claim") {
		struct bs_job b;
		bs_job_init(&b);
		const char arr32[] = "\xdd\xff\xff\xff\xff";
		CHECK_INT(bs_job_decode(arr32, 5, &b, err, sizeof(err)), -1);
		CHECK_STR(err, "job is not valid msgpack: array or map too large");
		const char map_trunc[] = "\xdf\x00\x00\x10\x00\x01";
		CHECK_INT(bs_job_decode(map_trunc, 6, &b, err, sizeof(err)), -1);
		CHECK_STR(err, "job is not valid msgpack: truncated");
		const char str32[] = "\xdb\x7f\xff\xff\xff" "abc";
		CHECK_INT(bs_job_decode(str32, 8, &b, err, sizeof(err)), -1);
		CHECK_STR(err, "job is not valid msgpack: string too long");
		const char bad[] = "\xc1";
		CHECK_INT(bs_job_decode(bad, 1, &b, err, sizeof(err)), -1);
		CHECK_STR(err, "job is not valid msgpack: invalid msgpack type byte");
		char deep[64];
		memset(deep, '\x91', sizeof(deep));
		deep[63] = '\xc0';
		CHECK_INT(bs_job_decode(deep, 64, &b, err, sizeof(err)), -1);
		CHECK_STR(err, "job is not valid msgpack: nested too deeply");
		const char arr_ok_trailing[] = "\x90\x90";
		CHECK_INT(bs_job_decode(arr_ok_trailing, 2, &b, err, sizeof(err)), -1);
		CHECK_STR(err, "job has 1 trailing bytes");
		CHECK_INT(bs_job_decode("\x90", 1, &b, err, sizeof(err)), -1);
		CHECK_STR(err, "job is not a msgpack map");
		CHECK_INT(bs_job_decode("\x80", 1, &b, err, sizeof(err)), -1);
		CHECK_STR(err, "job field 'v' is missing");
		CHECK_INT(bs_job_decode("", 0, &b, err, sizeof(err)), -1);
		CHECK_STR(err, "job is empty");
		bs_job_release(&b);
	}
	return TEST_REPORT();
}
