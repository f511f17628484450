/* test_bb_api: the REST API response parsers (parsers/bb_api.h).
 *
 * The pages and commits are built from real payloads: the commits[] arrays
 * and new.target objects of Cloud push fixtures and the commits[] of DC
 * refs_changed fixtures have the shape of the API's commit objects; they
 * are cut out of the fixture text and wrapped in the API's page envelopes.
 * Every commit parsed that way must equal what the webhook parser makes of
 * the same object (bs_parse_event on the whole fixture). Then hand-written
 * bodies: pagination fields, last pages, a 2015-style Cloud author, DC
 * epoch-ms and ISO dates, odd and missing fields, bad hashes, malformed
 * JSON and UTF-8, huge numbers, nesting, max_commits, the branch bodies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/bb_api.h"
#include "parsers/bitbucket.h"
#include "tests/unit/test.h"

static char err[256];
static struct bs_arena arena;

static char *
load(const char *rel, size_t *len)
{
	char path[1024];
	char *b = bs_test_read_file(bs_test_fixture(path, sizeof(path), rel), len);
	if (!b) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	return b;
}

/* The JSON value (starting with `open`) of the first "key" in s whose value
 * starts with `open` (key NULL: the first `open` in s), copied out. */
static char *
cut(const char *s, const char *key, char open)
{
	const char *p = s;
	char pat[64];
	if (key) {
		snprintf(pat, sizeof(pat), "\"%s\"", key);
		for (;;) {
			p = strstr(p, pat);
			if (!p)
				return NULL;
			p += strlen(pat);
			while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' ||
			    *p == ':')
				p++;
			if (*p == open)
				break;
		}
	} else {
		p = strchr(s, open);
		if (!p)
			return NULL;
	}
	int depth = 0;
	bool str = false;
	const char *q = p;
	for (; *q; q++) {
		if (str) {
			if (*q == '\\')
				q++;
			else if (*q == '"')
				str = false;
		} else if (*q == '"') {
			str = true;
		} else if (*q == '{' || *q == '[') {
			depth++;
		} else if (*q == '}' || *q == ']') {
			if (--depth == 0)
				break;
		}
	}
	size_t n = (size_t)(q - p) + 1;
	char *out = malloc(n + 1);
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

static char *
wrap(const char *pre, const char *mid, const char *post)
{
	size_t n = strlen(pre) + strlen(mid) + strlen(post) + 1;
	char *out = malloc(n);
	snprintf(out, n, "%s%s%s", pre, mid, post);
	return out;
}

static int
page(enum bs_product p, const char *b, size_t max, struct bs_api_page *pg)
{
	err[0] = '\0';
	return bs_api_parse_commits(p, b, strlen(b), max, &arena, pg, err,
	    sizeof(err));
}

static int
commit(enum bs_product p, const char *b, struct bs_commit *m)
{
	err[0] = '\0';
	return bs_api_parse_commit(p, b, strlen(b), &arena, m, err, sizeof(err));
}

static int
branch(enum bs_product p, const char *b, char **name, char **head)
{
	err[0] = '\0';
	return bs_api_parse_main_branch(p, b, strlen(b), &arena, name, head, err,
	    sizeof(err));
}

/* A failure's reason is one printable ASCII line without `secret`. */
static bool
clean_reason(const char *secret)
{
	size_t n = strlen(err);
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] >= 0x7f)
			return false;
	return !secret || !strstr(err, secret);
}

static void
same_commit(const struct bs_commit *a, const struct bs_commit *b)
{
	CHECK_STR(a->hash, b->hash);
	CHECK_STR(a->message, b->message);
	CHECK_STR(a->date, b->date);
	CHECK_STR(a->url, b->url);
	CHECK_STR(a->author.name, b->author.name);
	CHECK_STR(a->author.email, b->author.email);
	CHECK_STR(a->author.username, b->author.username);
	CHECK_INT(a->n_parents, b->n_parents);
	for (size_t i = 0; i < a->n_parents && i < b->n_parents; i++)
		CHECK_STR(a->parents[i], b->parents[i]);
}

static const char *const cloud_files[] = {
	"B-AROL-O-ble-testsuite/cloud_repo-push_merge_truncated_2023-05-16-123921.json",
	"B-AROL-O-ble-testsuite/cloud_repo-push_branch-created_truncated_2023-05-15-150855.json",
	"jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_branch-created.json",
	"jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_forced_truncated.json",
	"drone-go-scm/cloud_repo-push_branch-created.json",
	"drone-go-scm/cloud_repo-push_branch.json",
};

static const char *const dc_files[] = {
	"jenkinsci-bitbucket-branch-source-plugin/dc_repo-refs_changed_update_with-commits.json",
	"jenkinsci-bitbucket-branch-source-plugin/dc10_repo-refs_changed_branch-add_with-commits.json",
	"drone-go-scm/dc10.3_repo-refs_changed_update_realworld.json",
	"drone-go-scm/dc10.3_repo-refs_changed_branch-add_realworld.json",
};

#define NEXT_URL "https://api.bitbucket.org/2.0/repositories/ws/repo/commits?include=main&page=2"

static void
cloud_fixture(const char *rel)
{
	size_t len;
	char *body = load(rel, &len);
	struct bs_event ev;
	struct bs_api_page pg;
	bs_event_init(&ev);
	CHECK_INT(bs_parse_event(BS_PRODUCT_CLOUD, "repo:push", body, len, NULL,
	    &ev, err, sizeof(err)), BS_PARSE_OK);
	CHECK(ev.n_changes >= 1);
	char *arr = cut(body, "commits", '[');
	CHECK(arr != NULL);
	if (!arr || ev.n_changes < 1)
		goto out;
	const struct bs_change *ch = &ev.changes[0];
	char *b = wrap("{\"pagelen\": 30, \"values\": ", arr,
	    ", \"page\": 1, \"next\": \"" NEXT_URL "\"}");
	CHECK_INT(page(BS_PRODUCT_CLOUD, b, 100, &pg), 0);
	CHECK_INT(pg.n_commits, ch->n_commits);
	CHECK(pg.n_commits >= 1);
	CHECK_STR(pg.next, NEXT_URL);
	CHECK(!pg.last);
	CHECK_INT(pg.next_start, -1);
	CHECK_INT(pg.dropped + pg.skipped, 0);
	for (size_t i = 0; i < pg.n_commits && i < ch->n_commits; i++) {
		same_commit(&pg.commits[i], &ch->commits[i]);
		CHECK(bs_api_is_hash40(pg.commits[i].hash));
		CHECK(pg.commits[i].author.name != NULL);
		CHECK(pg.commits[i].url != NULL);
	}
	free(b);
	/* The last page: no next. */
	b = wrap("{\"values\":", arr, ",\"pagelen\":30}");
	CHECK_INT(page(BS_PRODUCT_CLOUD, b, 100, &pg), 0);
	CHECK(pg.last && !pg.next);
	CHECK_INT(pg.n_commits, ch->n_commits);
	free(b);
	/* max_commits: the rest is dropped, not examined. */
	CHECK_INT(page(BS_PRODUCT_CLOUD, (b = wrap("{\"values\":", arr,
	    ",\"next\":null}")), 1, &pg), 0);
	CHECK_INT(pg.n_commits, 1);
	CHECK_INT(pg.dropped, ch->n_commits - 1);
	CHECK(pg.last);
	free(b);
	/* new.target as GET .../commit/{rev}. */
	char *nw = cut(body, "new", '{');
	char *target = nw ? cut(nw, "target", '{') : NULL;
	struct bs_commit m;
	CHECK(target != NULL);
	if (target) {
		CHECK_INT(commit(BS_PRODUCT_CLOUD, target, &m), 0);
		CHECK_STR(m.hash, ch->new_hash);
		same_commit(&m, &ch->commits[0]);
	}
	/* commits[0] alone as a commit object. */
	char *c0 = cut(arr, NULL, '{');
	CHECK_INT(commit(BS_PRODUCT_CLOUD, c0, &m), 0);
	same_commit(&m, &ch->commits[0]);
	free(c0);
	free(target);
	free(nw);
	free(arr);
out:
	bs_event_release(&ev);
	free(body);
}

static void
dc_fixture(const char *rel)
{
	size_t len;
	char *body = load(rel, &len);
	struct bs_event ev;
	struct bs_api_page pg;
	bs_event_init(&ev);
	CHECK_INT(bs_parse_event(BS_PRODUCT_DC, "repo:refs_changed", body, len,
	    NULL, &ev, err, sizeof(err)), BS_PARSE_OK);
	char *arr = cut(body, "commits", '[');
	CHECK(arr != NULL);
	const struct bs_change *ch = NULL;
	for (size_t i = 0; i < ev.n_changes; i++)
		if (ev.changes[i].n_commits)
			ch = &ev.changes[i];
	CHECK(ch != NULL);
	if (!arr || !ch)
		goto out;
	char *b = wrap("{\"size\": 5, \"limit\": 5, \"isLastPage\": false, "
	    "\"start\": 0, \"values\": ", arr, ", \"nextPageStart\": 5}");
	CHECK_INT(page(BS_PRODUCT_DC, b, 100, &pg), 0);
	CHECK_INT(pg.n_commits, ch->n_commits);
	CHECK(!pg.last && !pg.next);
	CHECK_INT(pg.next_start, 5);
	for (size_t i = 0; i < pg.n_commits && i < ch->n_commits; i++) {
		same_commit(&pg.commits[i], &ch->commits[i]);
		CHECK(pg.commits[i].date && strlen(pg.commits[i].date) == 24 &&
		    pg.commits[i].date[23] == 'Z');
		CHECK(pg.commits[i].url == NULL);
	}
	free(b);
	b = wrap("{\"values\":", arr, ",\"size\":1,\"isLastPage\":true,"
	    "\"start\":25,\"limit\":25,\"nextPageStart\":null}");
	CHECK_INT(page(BS_PRODUCT_DC, b, 100, &pg), 0);
	CHECK(pg.last);
	CHECK_INT(pg.next_start, -1);
	free(b);
	struct bs_commit m;
	char *c0 = cut(arr, NULL, '{');
	CHECK_INT(commit(BS_PRODUCT_DC, c0, &m), 0);
	same_commit(&m, &ch->commits[0]);
	/* Cloud's tables do not read a DC commit: no hash. */
	CHECK_INT(commit(BS_PRODUCT_CLOUD, c0, &m), -1);
	CHECK(clean_reason(NULL));
	free(c0);
	free(arr);
out:
	bs_event_release(&ev);
	free(body);
}

#define H1 "1111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222"
#define HA "abcdefABCDEF0123456789abcdefABCDEF012345"


/* A Cloud commit object with the given hash, parents and author. */
#define CC(hash, parents, author) "{\"type\":\"commit\",\"hash\":\"" hash \
	"\",\"date\":\"2015-06-08T21:34:56+00:00\",\"message\":\"SHOP-1: x\"," \
	"\"author\":" author ",\"parents\":[" parents "]}"
#define CP(h) "{\"hash\":\"" h "\",\"type\":\"commit\"}"
#define RAW "{\"raw\":\"Ann <ann@example.com>\",\"type\":\"author\"}"
#define DCC(id, ts) "{\"id\":\"" id "\",\"displayId\":\"1111111\"," \
	"\"message\":\"m\",\"author\":{\"name\":\"Ann\",\"emailAddress\":" \
	"\"a@x\"},\"authorTimestamp\":" ts ",\"parents\":[{\"id\":\"" H2 \
	"\",\"displayId\":\"2222222\"}]}"

static void
cloud_cases(void)
{
	struct bs_api_page pg;
	struct bs_commit m;

	TEST("cloud: 2015-style author without raw") {
		CHECK_INT(commit(BS_PRODUCT_CLOUD, CC(H1, CP(H2),
		    "{\"username\":\"ann\",\"display_name\":\"Ann Smith\","
		    "\"type\":\"user\"}"), &m), 0);
		CHECK_STR(m.author.name, "Ann Smith");
		CHECK_STR(m.author.username, "ann");
		CHECK(m.author.email == NULL);
		CHECK_STR(m.date, "2015-06-08T21:34:56+00:00");
		CHECK_INT(m.n_parents, 1);
		CHECK_STR(m.parents[0], H2);
		CHECK(m.url == NULL);
	}
	TEST("cloud: raw plus user, nickname wins") {
		CHECK_INT(commit(BS_PRODUCT_CLOUD, CC(H1, "",
		    "{\"raw\":\" <a@x> \",\"user\":{\"display_name\":\"Ann\","
		    "\"nickname\":\"annie\",\"username\":\"old\"}}"), &m), 0);
		CHECK_STR(m.author.name, "Ann");
		CHECK_STR(m.author.email, "a@x");
		CHECK_STR(m.author.username, "annie");
		CHECK_INT(m.n_parents, 0);
	}
	TEST("cloud: upper-case hashes come out lower-case") {
		CHECK_INT(commit(BS_PRODUCT_CLOUD, CC(HA, CP(HA), RAW), &m), 0);
		CHECK_STR(m.hash, "abcdefabcdef0123456789abcdefabcdef012345");
		CHECK_STR(m.parents[0], m.hash);
	}
	TEST("cloud: bad hashes") {
		static const char *const bad[] = {
			CC("111111111111", "", RAW),             /* 12 chars */
			CC(H1 "1", "", RAW),                     /* 41 */
			CC("g111111111111111111111111111111111111111", "", RAW),
			CC(H1, CP("2222"), RAW),                 /* parent */
			CC(H1, "\"" H2 "\"", RAW),               /* parent not object */
			"{\"hash\":1111,\"author\":" RAW "}",
			"{\"message\":\"no hash\"}",
			"{\"hash\":\"" H1 "\",\"parents\":{}}",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			CHECK_INT(commit(BS_PRODUCT_CLOUD, bad[i], &m), -1);
			CHECK(clean_reason("1111"));
			CHECK(m.hash == NULL);
			char *b = wrap("{\"values\":[" CC(H2, "", RAW) ",", bad[i],
			    "," CC(H1, "", RAW) "]}");
			CHECK_INT(page(BS_PRODUCT_CLOUD, b, 10, &pg), 0);
			CHECK_INT(pg.n_commits, 2);
			CHECK_INT(pg.skipped, 1);
			if (pg.n_commits == 2)
				CHECK_STR(pg.commits[1].hash, H1);
			free(b);
		}
	}
	TEST("cloud: values that are not objects are skipped") {
		CHECK_INT(page(BS_PRODUCT_CLOUD, "{\"values\":[1,\"x\",null,[],"
		    "true," CC(H1, "", RAW) "]}", 10, &pg), 0);
		CHECK_INT(pg.n_commits, 1);
		CHECK_INT(pg.skipped, 5);
		CHECK_INT(page(BS_PRODUCT_CLOUD, "{\"values\":[1,2,3]}", 1, &pg),
		    0);
		CHECK_INT(pg.skipped, 3);
		CHECK_INT(pg.dropped, 0);
	}
	TEST("cloud: empty values, odd next") {
		CHECK_INT(page(BS_PRODUCT_CLOUD, "{\"values\":[],\"pagelen\":30}",
		    10, &pg), 0);
		CHECK(pg.last && pg.n_commits == 0 && pg.commits == NULL);
		CHECK_INT(page(BS_PRODUCT_CLOUD, "{\"values\":[],\"next\":7}", 10,
		    &pg), -1);
		CHECK_STR(err, "next is not a string");
		static const char *const badurl[] = { "javascript:alert(1)",
		    "/2.0/relative?page=2", "https://", "https:///x",
		    "http://a b/", "ftp://x/y", "" };
		for (size_t i = 0; i < sizeof(badurl) / sizeof(*badurl); i++) {
			char *b = wrap("{\"values\":[],\"next\":\"", badurl[i], "\"}");
			CHECK_INT(page(BS_PRODUCT_CLOUD, b, 10, &pg), -1);
			CHECK_STR(err, "next is not an absolute http(s) URL");
			CHECK(!pg.next && !pg.last);
			free(b);
		}
		CHECK_INT(page(BS_PRODUCT_CLOUD, "{\"values\":[],\"next\":"
		    "\"http://127.0.0.1:8080/2.0/x?page=3\"}", 10, &pg), 0);
		CHECK_STR(pg.next, "http://127.0.0.1:8080/2.0/x?page=3");
	}
	TEST("cloud: a huge next URL is refused") {
		size_t n = BS_API_MAX_URL + 100;
		char *b = malloc(n + 64);
		int k = snprintf(b, 64, "{\"values\":[],\"next\":\"https://x/");
		memset(b + k, 'a', n);
		snprintf(b + k + n, 64, "\"}");
		CHECK_INT(page(BS_PRODUCT_CLOUD, b, 10, &pg), -1);
		CHECK(strstr(err, "next URL longer") != NULL);
		free(b);
	}
	TEST("cloud: missing or wrong values") {
		CHECK_INT(page(BS_PRODUCT_CLOUD, "{\"pagelen\":30}", 10, &pg), -1);
		CHECK_STR(err, "missing values");
		CHECK_INT(page(BS_PRODUCT_CLOUD, "{\"values\":{}}", 10, &pg), -1);
		CHECK_STR(err, "values is not an array");
		CHECK_INT(page(BS_PRODUCT_CLOUD, "{\"values\":null}", 10, &pg), -1);
		CHECK_STR(err, "values is not an array");
		CHECK_INT(page(BS_PRODUCT_CLOUD, "[]", 10, &pg), -1);
		CHECK_STR(err, "top-level JSON value is not an object");
		CHECK_INT(page(BS_PRODUCT_CLOUD, "{\"type\":\"error\",\"error\":"
		    "{\"message\":\"Repository not found\"}}", 10, &pg), -1);
		CHECK_STR(err, "missing values");
	}
	TEST("cloud: duplicate keys, the last wins") {
		CHECK_INT(page(BS_PRODUCT_CLOUD, "{\"values\":[" CC(H1, "", RAW)
		    "],\"values\":[" CC(H2, "", RAW) "," CC(H1, "", RAW) "]}",
		    10, &pg), 0);
		CHECK_INT(pg.n_commits, 2);
		CHECK_STR(pg.commits[0].hash, H2);
		CHECK_INT(commit(BS_PRODUCT_CLOUD, "{\"hash\":\"x\",\"parents\":"
		    "[7],\"hash\":\"" H1 "\",\"parents\":[" CP(H2) "]}", &m), 0);
		CHECK_STR(m.hash, H1);
		CHECK_INT(m.n_parents, 1);
	}
}

static void
dc_cases(void)
{
	struct bs_api_page pg;
	struct bs_commit m;

	TEST("dc: epoch ms and ISO dates") {
		CHECK_INT(commit(BS_PRODUCT_DC, DCC(H1, "1531080000123"), &m), 0);
		CHECK_STR(m.date, "2018-07-08T20:00:00.123Z");
		CHECK_STR(m.author.name, "Ann");
		CHECK_STR(m.author.email, "a@x");
		CHECK(m.author.username == NULL);
		CHECK_STR(m.parents[0], H2);
		CHECK_INT(commit(BS_PRODUCT_DC, DCC(H1,
		    "\"2026-05-21T14:56:36+0200\""), &m), 0);
		CHECK_STR(m.date, "2026-05-21T12:56:36.000Z");
		CHECK_INT(commit(BS_PRODUCT_DC, DCC(H1, "\"yesterday\""), &m), 0);
		CHECK_STR(m.date, "yesterday");
		CHECK_INT(commit(BS_PRODUCT_DC, DCC(H1, "-5"), &m), 0);
		CHECK_STR(m.date, "-5");
		CHECK_INT(commit(BS_PRODUCT_DC, DCC(H1, "null"), &m), 0);
		CHECK(m.date == NULL);
	}
	TEST("dc: a user author: displayName, name before slug") {
		CHECK_INT(commit(BS_PRODUCT_DC, "{\"id\":\"" H1 "\",\"author\":{"
		    "\"name\":\"ann.s\",\"slug\":\"ann-s\",\"displayName\":\"Ann S\","
		    "\"emailAddress\":\"ann@x\",\"id\":3,\"type\":\"NORMAL\"}}", &m),
		    0);
		CHECK_STR(m.author.name, "Ann S");
		CHECK_STR(m.author.username, "ann.s");
		CHECK_INT(m.n_parents, 0);
		CHECK_INT(commit(BS_PRODUCT_DC, "{\"id\":\"" H1 "\",\"author\":{"
		    "\"slug\":\"ann-s\",\"displayName\":\"Ann S\"}}", &m), 0);
		CHECK_STR(m.author.username, "ann-s");
	}
	TEST("dc: pagination fields") {
		CHECK_INT(page(BS_PRODUCT_DC, "{\"values\":[" DCC(H1, "1") "],"
		    "\"size\":1,\"isLastPage\":false,\"start\":50,\"limit\":1,"
		    "\"nextPageStart\":51}", 10, &pg), 0);
		CHECK_INT(pg.next_start, 51);
		CHECK(!pg.last);
		CHECK_INT(page(BS_PRODUCT_DC, "{\"values\":[],\"size\":0,"
		    "\"isLastPage\":true,\"start\":0,\"limit\":25}", 10, &pg), 0);
		CHECK(pg.last && pg.n_commits == 0);
		CHECK_INT(pg.next_start, -1);
		static const struct { const char *b, *why; } bad[] = {
			{ "{\"values\":[]}", "missing isLastPage" },
			{ "{\"values\":[],\"isLastPage\":\"true\"}",
			    "isLastPage is not a boolean" },
			{ "{\"values\":[],\"isLastPage\":false}",
			    "missing nextPageStart on a page that is not the last" },
			{ "{\"values\":[],\"isLastPage\":false,\"nextPageStart\":"
			    "99999999999999999999}",
			    "nextPageStart is not an integer >= 0" },
			{ "{\"values\":[],\"isLastPage\":false,\"nextPageStart\":"
			    "1e30}", "nextPageStart is not an integer >= 0" },
			{ "{\"values\":[],\"isLastPage\":false,\"nextPageStart\":"
			    "-1}", "nextPageStart is not an integer >= 0" },
			{ "{\"values\":[],\"isLastPage\":false,\"nextPageStart\":"
			    "\"25\"}", "nextPageStart is not an integer >= 0" },
			{ "{\"values\":[],\"isLastPage\":false,\"nextPageStart\":"
			    "25,\"start\":25}",
			    "nextPageStart does not advance past start" },
			{ "{\"isLastPage\":true}", "missing values" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			CHECK_INT(page(BS_PRODUCT_DC, bad[i].b, 10, &pg), -1);
			CHECK_STR(err, bad[i].why);
			CHECK(pg.n_commits == 0 && !pg.last && pg.next_start == -1);
		}
		/* A last page may carry anything as nextPageStart. */
		CHECK_INT(page(BS_PRODUCT_DC, "{\"values\":[],\"isLastPage\":true,"
		    "\"nextPageStart\":1e99,\"size\":1e400}", 10, &pg), 0);
		CHECK(pg.last && pg.next_start == -1);
		CHECK_INT(page(BS_PRODUCT_DC, "{\"values\":[],\"isLastPage\":false,"
		    "\"nextPageStart\":9223372036854775807,\"start\":-3}", 10, &pg),
		    0);
		CHECK_INT(pg.next_start, 9223372036854775807LL);
	}
	TEST("dc: bad ids are skipped") {
		CHECK_INT(page(BS_PRODUCT_DC, "{\"isLastPage\":true,\"values\":["
		    DCC("1111111", "1") "," DCC(H1, "1") ",{\"id\":\"" H1
		    "\",\"parents\":[{\"id\":\"abc\"}]}]}", 10, &pg), 0);
		CHECK_INT(pg.n_commits, 1);
		CHECK_INT(pg.skipped, 2);
		CHECK_INT(commit(BS_PRODUCT_DC, DCC("1111111", "1"), &m), -1);
		CHECK_STR(err, "commit hash is not 40 hex digits");
	}
}

static void
common_cases(void)
{
	struct bs_api_page pg;
	struct bs_commit m;
	char *name, *head;

	TEST("malformed bodies") {
		static const struct { const char *b; size_t n; } bad[] = {
			{ "", 0 }, { "{", 1 }, { "{\"values\":[}", 12 },
			{ "{\"values\":[]} x", 15 }, { "{\"values\":[]}{}", 15 },
			{ "{\"values\":[],}", 14 }, { "nul", 3 },
			{ "{\"values\":[\"a\\u0000b\"]}", 23 },
			{ "{\"values\":[\"\xc0\xaf\"]}", 17 },
			{ "{\"values\":[\"\xed\xa0\x80\"]}", 18 },
			{ "{\"values\":[\"\\ud800\"]}", 21 },
			{ "{\"values\":[]}\0", 14 },
			{ "\xef\xbb\xbf{\"values\":[]}", 16 },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			err[0] = '\0';
			CHECK_INT(bs_api_parse_commits(BS_PRODUCT_CLOUD, bad[i].b,
			    bad[i].n, 10, &arena, &pg, err, sizeof(err)), -1);
			CHECK(clean_reason(NULL));
			err[0] = '\0';
			CHECK_INT(bs_api_parse_commit(BS_PRODUCT_DC, bad[i].b,
			    bad[i].n, &arena, &m, err, sizeof(err)), -1);
			CHECK(clean_reason(NULL));
		}
		CHECK_INT(bs_api_parse_commits(BS_PRODUCT_CLOUD, NULL, 0, 10,
		    &arena, &pg, NULL, 0), -1);
		CHECK_INT(page(BS_PRODUCT_UNKNOWN, "{\"values\":[]}", 10, &pg), -1);
		CHECK_STR(err, "unknown product");
	}
	TEST("nesting is capped") {
		size_t depth = 200;
		char *b = malloc(2 * depth + 32);
		size_t k = (size_t)snprintf(b, 32, "{\"values\":[{\"x\":");
		for (size_t i = 0; i < depth; i++)
			b[k++] = '[';
		for (size_t i = 0; i < depth; i++)
			b[k++] = ']';
		snprintf(b + k, 32, "}]}");
		CHECK_INT(page(BS_PRODUCT_CLOUD, b, 10, &pg), -1);
		CHECK(strstr(err, "nest") != NULL || strstr(err, "deep") != NULL);
		free(b);
	}
	TEST("many values: bounded by max_commits") {
		size_t n = 5000;
		size_t one = strlen(CC(H1, CP(H2), RAW)) + 1;
		char *b = malloc(n * one + 32);
		size_t k = (size_t)snprintf(b, 32, "{\"values\":[");
		for (size_t i = 0; i < n; i++)
			k += (size_t)snprintf(b + k, one + 1, "%s%s", i ? "," : "",
			    CC(H1, CP(H2), RAW));
		snprintf(b + k, 32, "]}");
		struct bs_arena small = { 0 };
		CHECK_INT(bs_api_parse_commits(BS_PRODUCT_CLOUD, b, strlen(b), 100,
		    &small, &pg, err, sizeof(err)), 0);
		CHECK_INT(pg.n_commits, 100);
		CHECK_INT(pg.dropped, n - 100);
		CHECK(small.total < 200 * 1024);
		bs_arena_release(&small);
		CHECK_INT(page(BS_PRODUCT_CLOUD, b, 0, &pg), 0);
		CHECK_INT(pg.n_commits, 0);
		CHECK_INT(pg.dropped, n);
		free(b);
	}
	TEST("long messages are cut at a character boundary") {
		size_t n = 70000;
		char *b = malloc(2 * n + 200);
		size_t k = (size_t)snprintf(b, 200, "{\"hash\":\"" H1
		    "\",\"message\":\"x");
		for (size_t i = 0; i < n; i++) {
			memcpy(b + k, "\xc3\xa9", 2);
			k += 2;
		}
		snprintf(b + k, 200, "\"}");
		CHECK_INT(commit(BS_PRODUCT_CLOUD, b, &m), 0);
		CHECK(m.message && strlen(m.message) == 65535);
		free(b);
	}
	TEST("main branch") {
		CHECK_INT(branch(BS_PRODUCT_CLOUD, "{\"full_name\":\"ws/r\","
		    "\"name\":\"repo-name\",\"mainbranch\":{\"name\":\"main\","
		    "\"type\":\"branch\"}}", &name, &head), 0);
		CHECK_STR(name, "main");
		CHECK(head == NULL);
		CHECK_INT(branch(BS_PRODUCT_DC, "{\"id\":\"refs/heads/master\","
		    "\"displayId\":\"master\",\"type\":\"BRANCH\",\"latestCommit\":"
		    "\"" HA "\",\"latestChangeset\":\"" HA "\",\"isDefault\":true}",
		    &name, &head), 0);
		CHECK_STR(name, "master");
		CHECK_STR(head, "abcdefabcdef0123456789abcdefabcdef012345");
		CHECK_INT(branch(BS_PRODUCT_DC, "{\"displayId\":\"dev\"}", &name,
		    &head), 0);
		CHECK_STR(name, "dev");
		CHECK(head == NULL);
		static const struct { enum bs_product p; const char *b, *why; }
		    bad[] = {
			{ BS_PRODUCT_CLOUD, "{\"mainbranch\":null}",
			    "missing mainbranch.name" },
			{ BS_PRODUCT_CLOUD, "{\"name\":\"main\"}",
			    "missing mainbranch.name" },
			{ BS_PRODUCT_CLOUD, "{\"mainbranch\":{\"name\":5}}",
			    "mainbranch.name is not a string" },
			{ BS_PRODUCT_CLOUD, "{\"mainbranch\":{\"name\":\"\"}}",
			    "empty branch name" },
			{ BS_PRODUCT_CLOUD, "\"main\"",
			    "top-level JSON value is not an object" },
			{ BS_PRODUCT_DC, "{\"id\":\"refs/heads/x\"}",
			    "missing displayId" },
			{ BS_PRODUCT_DC, "{\"displayId\":[]}",
			    "displayId is not a string" },
			{ BS_PRODUCT_DC, "{\"displayId\":\"x\",\"latestCommit\":"
			    "\"abc\"}", "latestCommit is not 40 hex digits" },
			{ BS_PRODUCT_DC, "{\"displayId\":\"x\",\"latestCommit\":1}",
			    "latestCommit is not a string" },
			{ BS_PRODUCT_DC, "{\"errors\":[{\"message\":\"none\"}]}",
			    "missing displayId" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			CHECK_INT(branch(bad[i].p, bad[i].b, &name, &head), -1);
			CHECK_STR(err, bad[i].why);
			CHECK(name == NULL && head == NULL);
		}
	}
	TEST("bs_api_is_hash40") {
		CHECK(bs_api_is_hash40(H1));
		CHECK(bs_api_is_hash40(HA));
		CHECK(!bs_api_is_hash40(NULL));
		CHECK(!bs_api_is_hash40(""));
		CHECK(!bs_api_is_hash40(H1 "0"));
		CHECK(!bs_api_is_hash40("111111111111111111111111111111111111111"));
		CHECK(!bs_api_is_hash40("111111111111111111111111111111111111111 "));
	}
}

static void
hand_written_cases(void)
{
	cloud_cases();
	dc_cases();
	common_cases();
}

int
main(void)
{
	bs_arena_init(&arena);
	for (size_t i = 0; i < sizeof(cloud_files) / sizeof(*cloud_files); i++)
		TEST(cloud_files[i]) { cloud_fixture(cloud_files[i]); }
	for (size_t i = 0; i < sizeof(dc_files) / sizeof(*dc_files); i++)
		TEST(dc_files[i]) { dc_fixture(dc_files[i]); }
	hand_written_cases();
	bs_arena_release(&arena);
	return TEST_REPORT();
}
