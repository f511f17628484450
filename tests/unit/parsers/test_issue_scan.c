/* test_issue_scan: the built-in patterns' boundaries, allow-list,
 * stop-list, custom patterns, errors, limits, and scanning a whole job. */
#include "parsers/issue_scan.h"
#include "parsers/stop_list.h"
#include "tests/unit/test.h"

#include <time.h>

struct got {
	char keys[64][64];
	size_t start[64];
	size_t pattern[64];
	size_t n;
};

static void
collect(const char *key, size_t len, size_t pattern, size_t start, void *arg)
{
	struct got *g = arg;
	if (g->n < 64) {
		snprintf(g->keys[g->n], sizeof(g->keys[g->n]), "%.*s", (int)len,
		    key);
		g->start[g->n] = start;
		g->pattern[g->n] = pattern;
		g->n++;
	}
}

/* Scans text and returns the keys joined by ',' (or "LIMIT" on -1). */
static const char *
scan(const struct bs_scanner *s, const char *text)
{
	static char out[1024];
	struct got g = { 0 };
	int rc = bs_scanner_scan(s, text, strlen(text), collect, &g);
	out[0] = '\0';
	if (rc < 0)
		return "LIMIT";
	if ((size_t)rc != g.n)
		return "COUNT MISMATCH";
	size_t used = 0;
	for (size_t i = 0; i < g.n && used < sizeof(out); i++) {
		int w = snprintf(out + used, sizeof(out) - used, "%s%s", i ? "," : "",
		    g.keys[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	return out;
}

static struct bs_scanner *
mk(const char *const *pats, size_t np, const char *const *proj, size_t nproj)
{
	char err[256];
	struct bs_scan_options o = { .patterns = pats, .n_patterns = np,
		.projects = proj, .n_projects = nproj };
	struct bs_scanner *s = bs_scanner_new(&o, err, sizeof(err));
	if (!s)
		fprintf(stderr, "scanner: %s\n", err);
	return s;
}

/* A jira scanner with a stop-list: the built-in one (builtin set) or
 * stops[0..nstops) (possibly none), and projects[0..nproj). */
static struct bs_scanner *
mk_stop(int builtin, const char *const *stops, size_t nstops,
    const char *const *proj, size_t nproj)
{
	char err[256];
	struct bs_scan_options o = { .projects = proj, .n_projects = nproj,
		.stop_list = stops, .n_stop_list = nstops,
		.stop_list_builtin = builtin };
	struct bs_scanner *s = bs_scanner_new(&o, err, sizeof(err));
	if (!s)
		fprintf(stderr, "scanner: %s\n", err);
	return s;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct explained {
	char line[16][96];
	size_t n;
};

static void
on_explain(const char *name, const char *key, size_t len, size_t start,
    int allowed, void *arg)
{
	struct explained *e = arg;
	if (e->n < 16)
		snprintf(e->line[e->n++], sizeof(e->line[0]), "%s:%.*s@%zu:%d",
		    name, (int)len, key, start, allowed);
}

int
main(void)
{
	struct bs_scanner *jira = mk(NULL, 0, NULL, 0); /* default {"jira"} */
	CHECK(jira != NULL);

	TEST("jira positives") {
		CHECK_STR(scan(jira, "ABC-1"), "ABC-1");
		CHECK_STR(scan(jira, "fix SHOP-12: x"), "SHOP-12");
		CHECK_STR(scan(jira, "[OPS-7] deploy"), "OPS-7");
		CHECK_STR(scan(jira, "(ABC-12)"), "ABC-12");
		CHECK_STR(scan(jira, "feature/SHOP-12-login"), "SHOP-12");
		CHECK_STR(scan(jira, "ABC-12-x"), "ABC-12");
		CHECK_STR(scan(jira, "SHOP-1 at start and end OPS-99"),
		    "SHOP-1,OPS-99");
		CHECK_STR(scan(jira, "A1_B-3, AB-10;CD-200.EF-3000"),
		    "A1_B-3,AB-10,CD-200,EF-3000");
		CHECK_STR(scan(jira, "https://x.atlassian.net/browse/ABC-12"),
		    "ABC-12");
		CHECK_STR(scan(jira, "\xc3\xa9SHOP-5\xc3\xa9 \xe2\x86\x92OPS-6"
		    "\xf0\x9f\x9a\x80"), "SHOP-5,OPS-6");
		CHECK_STR(scan(jira, "multi\nline\nSHOP-3\n"), "SHOP-3");
		CHECK_STR(scan(jira, "UTF-8"), "UTF-8"); /* without allow-list */
	}

	TEST("jira offsets") {
		struct got g = { 0 };
		const char *t = "fix SHOP-12 and OPS-7";
		CHECK_INT(bs_scanner_scan(jira, t, strlen(t), collect, &g), 2);
		CHECK_INT(g.start[0], 4);
		CHECK_INT(g.start[1], 16);
		CHECK_INT(g.pattern[0], 0);
	}

	TEST("jira negatives") {
		CHECK_STR(scan(jira, "ABC-0"), "");
		CHECK_STR(scan(jira, "ABC-012"), "");
		CHECK_STR(scan(jira, "xABC-12"), "");
		CHECK_STR(scan(jira, "ABC-12x"), "");
		CHECK_STR(scan(jira, "ABC-12_"), "");
		CHECK_STR(scan(jira, "_ABC-12"), "");
		CHECK_STR(scan(jira, "-ABC-12"), "");
		CHECK_STR(scan(jira, "9ABC-12"), "");
		CHECK_STR(scan(jira, "abc-12"), "");
		CHECK_STR(scan(jira, "Abc-12"), "");
		CHECK_STR(scan(jira, "A-1"), "");
		CHECK_STR(scan(jira, "UTF-8a"), "");
		CHECK_STR(scan(jira, "ABC-"), "");
		CHECK_STR(scan(jira, ""), "");
	}

	TEST("allow-list") {
		static const char *const proj[] = { "SHOP", "ops" };
		struct bs_scanner *s = mk(NULL, 0, proj, 2);
		CHECK(s != NULL);
		CHECK_STR(scan(s, "UTF-8 and SHA-256 and SHOP-1 OPS-2 SHOPX-3"),
		    "SHOP-1,OPS-2");
		CHECK_STR(scan(s, "UTF-8"), "");
		struct explained e = { 0 };
		const char *t = "UTF-8 SHOP-4";
		CHECK_INT(bs_scanner_explain(s, t, strlen(t), on_explain, &e), 1);
		CHECK_INT(e.n, 2);
		CHECK_STR(e.line[0], "jira:UTF-8@0:0");
		CHECK_STR(e.line[1], "jira:SHOP-4@6:1");
		CHECK_STR(bs_scanner_pattern_name(s, 0), "jira");
		CHECK(bs_scanner_pattern_name(s, 1) == NULL);
		CHECK_INT(bs_scanner_n_patterns(s), 1);
		bs_scanner_free(s);
	}

	TEST("built-in stop-list drops technical tokens") {
		struct bs_scanner *s = mk_stop(1, NULL, 0, NULL, 0);
		CHECK(s != NULL);
		CHECK_STR(scan(s, "UTF-8"), "");
		CHECK_STR(scan(s, "SHA-256 digest"), "");
		CHECK_STR(scan(s, "dates in ISO-8601, files in ISO-8859-1"), "");
		CHECK_STR(scan(s, "fixes CVE-2024-1234"), "");
		CHECK_STR(scan(s, "see RFC-7231 section 6"), "");
		CHECK_STR(scan(s, "UTF-16 CP-1252 X86-64 HTTP-2 AES-256"), "");
		/* Real keys stay, also next to tokens. */
		CHECK_STR(scan(s, "SHOP-12: read UTF-8, hash SHA-256 (OPS-3)"),
		    "SHOP-12,OPS-3");
		/* A whole-key entry drops that key only: UTF-9 is not UTF-8. */
		CHECK_STR(scan(s, "UTF-9 SHA-255"), "UTF-9,SHA-255");
		/* The same keys through scan_job. */
		struct bs_job job;
		bs_job_init(&job);
		struct bs_event *ev = &job.ev;
		ev->n_changes = 1;
		ev->changes = bs_arena_alloc(&ev->arena, sizeof(*ev->changes));
		ev->changes[0].ref_type = BS_REF_BRANCH;
		ev->changes[0].ref_name = bs_arena_strdup(&ev->arena,
		    "feature/UTF-8-names");
		ev->changes[0].n_commits = 1;
		ev->changes[0].commits = bs_arena_alloc(&ev->arena,
		    sizeof(struct bs_commit));
		ev->changes[0].commits[0].message = bs_arena_strdup(&ev->arena,
		    "SHOP-12 UTF-8 file names (CVE-2024-1234)");
		CHECK_INT(bs_scanner_scan_job(s, &job), 1);
		CHECK_INT(job.n_keys, 1);
		if (job.n_keys == 1)
			CHECK_STR(job.keys[0].key, "SHOP-12");
		bs_job_release(&job);
		size_t n = 0, nb = 0;
		CHECK(bs_scanner_stop_list(s, &n) == bs_stop_list_builtin(&nb));
		CHECK_INT(n, nb);
		CHECK(nb >= 40);
		bs_scanner_free(s);
	}

	TEST("an empty stop-list keeps every token (the old default)") {
		struct bs_scanner *s = mk_stop(0, NULL, 0, NULL, 0);
		CHECK(s != NULL);
		CHECK_STR(scan(s, "UTF-8 SHA-256 ISO-8601 CVE-2024-1234 RFC-7231 "
		    "SHOP-12"), "UTF-8,SHA-256,ISO-8601,CVE-2024,RFC-7231,SHOP-12");
		size_t n = 99;
		(void)bs_scanner_stop_list(s, &n);
		CHECK_INT(n, 0);
		bs_scanner_free(s);
		/* A zeroed options struct: no stop-list either. */
		CHECK_STR(scan(jira, "UTF-8"), "UTF-8");
	}

	TEST("a project in projects beats the stop-list") {
		static const char *const proj[] = { "UTF", "SHOP" };
		struct bs_scanner *s = mk_stop(1, NULL, 0, proj, 2);
		CHECK(s != NULL);
		CHECK_STR(scan(s, "UTF-8 SHA-256 SHOP-12"), "UTF-8,SHOP-12");
		CHECK_INT(bs_scanner_verdict(s, "UTF-8", 5), BS_SCAN_KEPT);
		CHECK_INT(bs_scanner_verdict(s, "SHA-256", 7),
		    BS_SCAN_NOT_IN_PROJECTS);
		bs_scanner_free(s);
		/* Also against a configured project entry. */
		static const char *const stops[] = { "shop" };
		s = mk_stop(0, stops, 1, proj, 2);
		CHECK_STR(scan(s, "SHOP-1"), "SHOP-1");
		bs_scanner_free(s);
	}

	TEST("a configured stop-list replaces the built-in one") {
		static const char *const stops[] = { "LEGACY", "OPS-1", NULL };
		struct bs_scanner *s = mk_stop(0, stops, 3, NULL, 0);
		CHECK(s != NULL);
		/* Not on this list: the built-in tokens come back. */
		CHECK_STR(scan(s, "UTF-8 LEGACY-4 LEGACY-77 OPS-1 OPS-12 SHOP-3"),
		    "UTF-8,OPS-12,SHOP-3");
		size_t n = 0;
		const char *const *got = bs_scanner_stop_list(s, &n);
		CHECK_INT(n, 2);
		if (n == 2)
			CHECK_STR(got[1], "OPS-1");
		bs_scanner_free(s);
	}

	TEST("stop-list entries compare ASCII case-insensitively") {
		static const char *const stops[] = { "utf-8", "rfc", "Sha" };
		struct bs_scanner *s = mk_stop(0, stops, 3, NULL, 0);
		CHECK(s != NULL);
		CHECK_STR(scan(s, "UTF-8 RFC-7231 SHA-1 UTF-16 SHOP-1"),
		    "UTF-16,SHOP-1");
		bs_scanner_free(s);
		static const char *const p[] = { "(?<key>[A-Za-z]+-[0-9]+)" };
		char err[256];
		struct bs_scan_options o = { .patterns = p, .n_patterns = 1,
			.stop_list_builtin = 1 };
		s = bs_scanner_new(&o, err, sizeof(err));
		CHECK(s != NULL);
		CHECK_STR(scan(s, "utf-8 Iso-8601 cve-1 Shop-2"), "Shop-2");
		bs_scanner_free(s);
	}

	TEST("stop-list entry kinds") {
		CHECK(bs_stop_list_is_key("UTF-8"));
		CHECK(bs_stop_list_is_key("ISO-8859-1"));
		CHECK(!bs_stop_list_is_key("RFC"));
		CHECK(!bs_stop_list_is_key("X-"));
		CHECK(!bs_stop_list_is_key("-8"));
		CHECK(!bs_stop_list_is_key("A-B"));
		static const char *const l[] = { "#12", "ISO" };
		CHECK(bs_stop_list_match(l, 2, "#12", 3));
		CHECK(!bs_stop_list_match(l, 2, "#123", 4));
		CHECK(bs_stop_list_match(l, 2, "ISO-8601", 8));
		CHECK(!bs_stop_list_match(l, 2, "ISOX-1", 6));
		CHECK(!bs_stop_list_match(l, 0, "ISO-1", 5));
	}

	TEST("explain reports stopped hits as not allowed") {
		static const char *const proj[] = { "OPS" };
		struct bs_scanner *s = mk_stop(1, NULL, 0, NULL, 0);
		struct explained e = { 0 };
		const char *t = "UTF-8 SHOP-4 RFC-1";
		CHECK_INT(bs_scanner_explain(s, t, strlen(t), on_explain, &e), 1);
		CHECK_INT(e.n, 3);
		CHECK_STR(e.line[0], "jira:UTF-8@0:0");
		CHECK_STR(e.line[1], "jira:SHOP-4@6:1");
		CHECK_STR(e.line[2], "jira:RFC-1@13:0");
		CHECK_INT(bs_scanner_verdict(s, "UTF-8", 5), BS_SCAN_STOPPED);
		CHECK_INT(bs_scanner_verdict(s, "SHOP-4", 6), BS_SCAN_KEPT);
		bs_scanner_free(s);
		s = mk_stop(1, NULL, 0, proj, 1);
		CHECK_INT(bs_scanner_verdict(s, "SHOP-4", 6),
		    BS_SCAN_NOT_IN_PROJECTS);
		CHECK_INT(bs_scanner_verdict(s, "UTF-8", 5),
		    BS_SCAN_NOT_IN_PROJECTS);
		bs_scanner_free(s);
	}

	TEST("too many stop-list entries") {
		static const char *many[4097];
		for (size_t i = 0; i < 4097; i++)
			many[i] = "X";
		char err[256];
		struct bs_scan_options o = { .stop_list = many, .n_stop_list = 4097 };
		CHECK(bs_scanner_new(&o, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "stop-list") != NULL);
	}

	TEST("bitbucket pattern") {
		static const char *const p[] = { "bitbucket" };
		static const char *const proj[] = { "SHOP" };
		struct bs_scanner *s = mk(p, 1, proj, 1);
		CHECK(s != NULL);
		CHECK_STR(scan(s, "Merged in x (pull request #6)"), "#6");
		CHECK_STR(scan(s, "#12"), "#12");
		CHECK_STR(scan(s, "&#12;"), "");
		CHECK_STR(scan(s, "#0 #012 a#3 #4a"), "");
		CHECK_STR(scan(s, "fixes #7, #8"), "#7,#8");
		bs_scanner_free(s);
	}

	TEST("several patterns report in subject order") {
		static const char *const p[] = { "bitbucket", "jira" };
		struct bs_scanner *s = mk(p, 2, NULL, 0);
		CHECK(s != NULL);
		struct got g = { 0 };
		const char *t = "SHOP-1 (pull request #6) OPS-2";
		CHECK_INT(bs_scanner_scan(s, t, strlen(t), collect, &g), 3);
		CHECK_STR(g.keys[0], "SHOP-1");
		CHECK_INT(g.pattern[0], 1);
		CHECK_STR(g.keys[1], "#6");
		CHECK_INT(g.pattern[1], 0);
		CHECK_INT(g.start[1], 21);
		CHECK_STR(g.keys[2], "OPS-2");
		bs_scanner_free(s);
	}

	TEST("custom pattern with named group and whole match") {
		static const char *const p[] = { "gh-(?<key>[0-9]+)", "T[0-9]{3}" };
		struct bs_scanner *s = mk(p, 2, NULL, 0);
		CHECK(s != NULL);
		CHECK_STR(scan(s, "see gh-42 and T123"), "42,T123");
		bs_scanner_free(s);
	}

	TEST("empty-matching custom pattern terminates") {
		static const char *const p[] = { "x*", "(?<key>)" };
		struct bs_scanner *s = mk(p, 2, NULL, 0);
		CHECK(s != NULL);
		CHECK_STR(scan(s, "axxb\xc3\xa9x"), "xx,x");
		bs_scanner_free(s);
	}

	TEST("bad patterns") {
		char err[256];
		static const char *const p[] = { "jira", "ab(c" };
		struct bs_scan_options o = { .patterns = p, .n_patterns = 2 };
		CHECK(bs_scanner_new(&o, err, sizeof(err)) == NULL);
		CHECK_STR(err, "pattern 1: missing closing parenthesis at offset 4");
		static const char *const q[] = { "(?<id>[0-9]+)" };
		o.patterns = q;
		o.n_patterns = 1;
		CHECK(bs_scanner_new(&o, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "pattern 0: ") == err);
		CHECK(strstr(err, "'key'") != NULL);
		static const char *const r[] = { "[z-a]" };
		o.patterns = r;
		CHECK(bs_scanner_new(&o, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "pattern 0: ") == err);
		CHECK(strstr(err, "at offset 3") != NULL);
	}

	TEST("hostile pattern is bounded") {
		static const char *const p[] = { "(a+)+$" };
		struct bs_scanner *s = mk(p, 1, NULL, 0);
		CHECK(s != NULL);
		size_t n = 30000;
		char *t = malloc(n + 2);
		memset(t, 'a', n);
		t[n] = '!';
		t[n + 1] = '\0';
		double t0 = now_s();
		int rc = bs_scanner_scan(s, t, n + 1, collect, &(struct got){ 0 });
		double dt = now_s() - t0;
		CHECK_INT(rc, -1);
		CHECK(dt < 60.0);   /* it returned; no tight speed claim */
		printf("hostile (a+)+$ on %zu bytes: %.3f s\n", n + 1, dt);
		free(t);
		bs_scanner_free(s);
	}

	TEST("hostile pattern under the match limit at every offset: time budget") {
		/* "(?:(a|a)+b)?" over runs of 15 'a's stays below the default
		 * match limit at each offset (~2^15 steps), matches empty and
		 * moves on: without a per-scan budget 64 KiB costs seconds and
		 * a job of 1000 such messages minutes. Both budgets end it with
		 * the limit reported (-1); the keys before it are kept. */
		static const char *const p[] = { "(?:(a|a)+b)?", "jira" };
		char err[256];
		struct bs_scan_options o = { .patterns = p, .n_patterns = 2,
			.time_limit_ms = 20, .job_time_limit_ms = 100 };
		struct bs_scanner *s = bs_scanner_new(&o, err, sizeof(err));
		CHECK(s != NULL);
		size_t n = 65536;
		char *t = malloc(n + 1);
		for (size_t i = 0; i < n; i++)
			t[i] = i % 16 == 15 ? '!' : 'a';
		memcpy(t, "SHOP-1 ", 7);
		t[n] = '\0';
		struct got g = { 0 };
		double t0 = now_s();
		int rc = bs_scanner_scan(s, t, n, collect, &g);
		double dt = now_s() - t0;
		CHECK_INT(rc, -1);
		CHECK(dt < 60.0);
		printf("hostile (?:(a|a)+b)? on %zu bytes: %.3f s\n", n, dt);

		struct bs_job job;
		bs_job_init(&job);
		struct bs_event *ev = &job.ev;
		ev->n_changes = 1;
		ev->changes = bs_arena_alloc(&ev->arena, sizeof(*ev->changes));
		ev->changes[0].n_commits = 1000;
		ev->changes[0].commits = bs_arena_alloc(&ev->arena,
		    1000 * sizeof(struct bs_commit));
		for (size_t i = 0; i < 1000; i++)
			ev->changes[0].commits[i].message = t;
		t0 = now_s();
		size_t keys = bs_scanner_scan_job(s, &job);
		dt = now_s() - t0;
		CHECK(keys <= 1);   /* SHOP-1, if the budget allowed it */
		CHECK(dt < 60.0);
		printf("1000 hostile messages in one job: %.3f s\n", dt);
		bs_job_release(&job);
		free(t);
		bs_scanner_free(s);

		/* Defaults: a normal text is not affected by the budgets. */
		CHECK_STR(scan(jira, "SHOP-1 and OPS-2"), "SHOP-1,OPS-2");
	}

	TEST("max_subject cut") {
		char err[256];
		struct bs_scan_options o = { .max_subject = 10 };
		struct bs_scanner *s = bs_scanner_new(&o, err, sizeof(err));
		CHECK(s != NULL);
		/* "ABC-1 DEF-2" : DEF-2 starts at 6, ends at 11 > 10 */
		CHECK_STR(scan(s, "ABC-1 DEF-2"), "ABC-1");
		/* "ABC-12345" cut to "ABC-12345 " minus one: key touching the
		 * cut is dropped rather than reported truncated. */
		CHECK_STR(scan(s, "X ABC-12345"), "");
		CHECK_STR(scan(s, "AB-1 ABC-12"), "AB-1");
		/* Cut inside a multibyte char: "é" is at bytes 9..10. */
		CHECK_STR(scan(s, "AB-1 xxxx\xc3\xa9 CD-2"), "AB-1");
		bs_scanner_free(s);
	}

	TEST("invalid UTF-8 subject is scanned, not refused") {
		CHECK_STR(scan(jira, "\xff\xfe SHOP-1 \xc3"), "SHOP-1");
	}

	TEST("scan_job covers commits, branches and the PR") {
		struct bs_job job;
		bs_job_init(&job);
		struct bs_event *ev = &job.ev;
		ev->n_changes = 2;
		ev->changes = bs_arena_alloc(&ev->arena, 2 * sizeof(*ev->changes));
		ev->changes[0].ref_type = BS_REF_BRANCH;
		ev->changes[0].ref_name = bs_arena_strdup(&ev->arena,
		    "feature/SHOP-12-login");
		ev->changes[0].n_commits = 2;
		ev->changes[0].commits = bs_arena_alloc(&ev->arena,
		    2 * sizeof(struct bs_commit));
		ev->changes[0].commits[0].message = bs_arena_strdup(&ev->arena,
		    "SHOP-12 OPS-3: login");
		ev->changes[0].commits[1].message = bs_arena_strdup(&ev->arena,
		    "no keys here");
		ev->changes[1].ref_type = BS_REF_TAG;
		ev->changes[1].ref_name = bs_arena_strdup(&ev->arena, "REL-1");
		ev->changes[1].n_commits = 1;
		ev->changes[1].commits = bs_arena_alloc(&ev->arena,
		    sizeof(struct bs_commit));
		ev->changes[1].commits[0].message = bs_arena_strdup(&ev->arena,
		    "bump OPS-3");
		ev->pr = bs_arena_alloc(&ev->arena, sizeof(*ev->pr));
		ev->pr->title = bs_arena_strdup(&ev->arena, "PR for SHOP-12");
		ev->pr->description = NULL;
		ev->pr->source.branch = bs_arena_strdup(&ev->arena, "bugfix/OPS-9");

		CHECK_INT(bs_scanner_scan_job(jira, &job), 3);
		CHECK_INT(job.n_keys, 6);
		if (job.n_keys == 6) {
			CHECK_STR(job.keys[0].key, "SHOP-12");
			CHECK_INT(job.keys[0].where, BS_KEY_COMMIT);
			CHECK_INT(job.keys[1].where, BS_KEY_COMMIT);
			CHECK_STR(job.keys[1].key, "OPS-3");
			CHECK_STR(job.keys[2].key, "SHOP-12");
			CHECK_INT(job.keys[2].where, BS_KEY_BRANCH);
			CHECK_INT(job.keys[2].change, 0);
			CHECK_STR(job.keys[3].key, "OPS-3");
			CHECK_INT(job.keys[3].change, 1);
			CHECK_INT(job.keys[3].commit, 0);
			CHECK_INT(job.keys[4].where, BS_KEY_PR_TITLE);
			CHECK_STR(job.keys[5].key, "OPS-9");
			CHECK_INT(job.keys[5].where, BS_KEY_PR_BRANCH);
		}
		/* Scanning twice adds nothing new. */
		CHECK_INT(bs_scanner_scan_job(jira, &job), 3);
		CHECK_INT(job.n_keys, 6);
		bs_job_release(&job);
	}

	TEST("scan_job on an empty job") {
		struct bs_job job;
		bs_job_init(&job);
		CHECK_INT(bs_scanner_scan_job(jira, &job), 0);
		bs_job_release(&job);
	}

	bs_scanner_free(jira);
	bs_scanner_free(NULL);
	return TEST_REPORT();
}
