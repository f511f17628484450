/* key_precision: how many of the issue keys the scanner finds in real
 * commit messages are issues, with and without the stop-list and the
 * projects allow-list.
 *
 *   build/key_precision [--check] [--dump] [--tune N] CORPUS.jsonl KEYS.tsv
 *
 * CORPUS.jsonl: one {"hash": …, "message": …} a line, newest first
 * (tests/corpora/commons-io-commits.jsonl). KEYS.tsv: KEY<TAB>issue|token
 * <TAB>reason, '#' comments (tests/corpora/commons-io-keys.tsv). Scans
 * every message with the default jira pattern in four configurations:
 *   (a) no projects, no stop-list (the old default)
 *   (b) no projects, the built-in stop-list (the new default)
 *   (c) projects [IO], no stop-list
 *   (d) projects [IO] and the built-in stop-list
 * and prints, as Markdown tables, for the whole corpus, for the newest N
 * commits (default 3000: the part the stop-list was tuned on) and for the
 * rest (held out): key occurrences (every hit, a key twice in one message
 * counts twice) and per 1,000 commits, distinct keys, false keys
 * (classified `token`: occurrences and distinct), precision (occurrences
 * not classified `token` / all occurrences), issue keys lost (distinct keys classified `issue` that (a) finds and this
 * configuration does not) and keys missing from KEYS.tsv.
 * --dump: instead, every distinct key (a) finds, with its count and
 * verdict ("?" when unclassified), for writing KEYS.tsv.
 * --check: exit 1 unless, on the whole corpus, (b) finds no `token`, loses
 * no `issue`, and every key (a) finds is classified (the ctest
 * bench.key_precision). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "parsers/issue_scan.h"

#define MAX_KEY 64

struct kv {
	char key[MAX_KEY];
	size_t count;
};

struct keyset {
	struct kv *v;
	size_t n, cap;
};

struct verdicts {
	char (*key)[MAX_KEY];
	char *issue;             /* 1 issue, 0 token */
	size_t n, cap;
};

static void
keyset_add(struct keyset *s, const char *key, size_t len)
{
	if (len >= MAX_KEY)
		len = MAX_KEY - 1;
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->v[i].key) == len && memcmp(s->v[i].key, key, len) == 0) {
			s->v[i].count++;
			return;
		}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			abort();
	}
	memcpy(s->v[s->n].key, key, len);
	s->v[s->n].key[len] = '\0';
	s->v[s->n].count = 1;
	s->n++;
}

static int
keyset_has(const struct keyset *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].key, key) == 0)
			return 1;
	return 0;
}

/* 1 issue, 0 token, -1 unclassified. */
static int
verdict_of(const struct verdicts *v, const char *key)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->key[i], key) == 0)
			return v->issue[i];
	return -1;
}

static int
read_verdicts(const char *path, struct verdicts *v)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "key_precision: cannot open '%s'\n", path);
		return -1;
	}
	char line[1024];
	int ln = 0;
	while (fgets(line, sizeof(line), f)) {
		ln++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char *t1 = strchr(line, '\t');
		char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		size_t kl = t1 ? (size_t)(t1 - line) : 0;
		size_t vl = t2 ? (size_t)(t2 - t1 - 1) : 0;
		int issue = vl == 5 && strncmp(t1 + 1, "issue", 5) == 0 ? 1 :
		    vl == 5 && strncmp(t1 + 1, "token", 5) == 0 ? 0 : -1;
		if (!t2 || kl == 0 || kl >= MAX_KEY || issue < 0) {
			fprintf(stderr, "%s:%d: expected KEY<TAB>issue|token<TAB>"
			    "reason\n", path, ln);
			fclose(f);
			return -1;
		}
		if (v->n == v->cap) {
			v->cap = v->cap ? 2 * v->cap : 256;
			v->key = realloc(v->key, v->cap * sizeof(*v->key));
			v->issue = realloc(v->issue, v->cap);
			if (!v->key || !v->issue)
				abort();
		}
		memcpy(v->key[v->n], line, kl);
		v->key[v->n][kl] = '\0';
		v->issue[v->n++] = (char)issue;
	}
	fclose(f);
	return 0;
}

/* The messages of CORPUS (malloc'd strings), *n set to their count. */
static char **
read_corpus(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "key_precision: cannot open '%s'\n", path);
		return NULL;
	}
	size_t cap = 0;
	char **msgs = NULL;
	*n = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t got;
	int ln = 0;
	while ((got = getline(&line, &lcap, f)) > 0) {
		ln++;
		char err[256];
		yajl_val root = yajl_tree_parse(line, err, sizeof(err));
		const char *mpath[] = { "message", NULL };
		yajl_val m = root ? yajl_tree_get(root, mpath, yajl_t_string) : NULL;
		const char *str = m ? YAJL_GET_STRING(m) : NULL;
		if (!str) {
			fprintf(stderr, "%s:%d: not a {\"message\": …} object\n", path,
			    ln);
			yajl_tree_free(root);
			continue;
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 1024;
			msgs = realloc(msgs, cap * sizeof(*msgs));
			if (!msgs)
				abort();
		}
		msgs[(*n)++] = strdup(str);
		yajl_tree_free(root);
	}
	free(line);
	fclose(f);
	return msgs;
}

struct conf {
	const char *name;
	int projects;            /* projects: [IO] */
	int stop;                /* the built-in stop-list */
};

static const struct conf confs[] = {
	{ "(a) no projects, no stop-list (old default)", 0, 0 },
	{ "(b) no projects, built-in stop-list (new default)", 0, 1 },
	{ "(c) projects: [IO], no stop-list", 1, 0 },
	{ "(d) projects: [IO] + built-in stop-list", 1, 1 },
};
#define N_CONFS (sizeof(confs) / sizeof(confs[0]))

static void
on_key(const char *key, size_t len, size_t pattern, size_t start, void *arg)
{
	(void)pattern;
	(void)start;
	keyset_add(arg, key, len);
}

/* Scans msgs[from..to) with configuration c into *out. */
static int
scan_part(const struct conf *c, char **msgs, size_t from, size_t to,
    struct keyset *out)
{
	static const char *const io[] = { "IO" };
	struct bs_scan_options o = { .projects = c->projects ? io : NULL,
		.n_projects = c->projects ? 1 : 0, .stop_list_builtin = c->stop };
	char err[256];
	struct bs_scanner *s = bs_scanner_new(&o, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "key_precision: %s\n", err);
		return -1;
	}
	for (size_t i = from; i < to; i++)
		if (bs_scanner_scan(s, msgs[i], strlen(msgs[i]), on_key, out) < 0) {
			fprintf(stderr, "key_precision: message %zu hit a limit\n", i);
			bs_scanner_free(s);
			return -1;
		}
	bs_scanner_free(s);
	return 0;
}

struct figures {
	size_t occ, distinct, tok_occ, tok_distinct, lost, unclassified;
};

static struct figures
measure(const struct keyset *k, const struct keyset *base,
    const struct verdicts *v)
{
	struct figures f = { 0 };
	f.distinct = k->n;
	for (size_t i = 0; i < k->n; i++) {
		int vd = verdict_of(v, k->v[i].key);
		f.occ += k->v[i].count;
		if (vd == 0) {
			f.tok_occ += k->v[i].count;
			f.tok_distinct++;
		} else if (vd < 0) {
			f.unclassified++;
		}
	}
	for (size_t i = 0; i < base->n; i++)
		if (verdict_of(v, base->v[i].key) == 1 &&
		    !keyset_has(k, base->v[i].key))
			f.lost++;
	return f;
}

/* Prints one table for msgs[from..to); returns the figures of (b) and, in
 * *unclassified, the unclassified keys of (a). */
static int
table(const char *title, char **msgs, size_t from, size_t to,
    const struct verdicts *v, struct figures *b, size_t *unclassified)
{
	struct keyset ks[N_CONFS];
	memset(ks, 0, sizeof(ks));
	for (size_t c = 0; c < N_CONFS; c++)
		if (scan_part(&confs[c], msgs, from, to, &ks[c]) != 0)
			return -1;
	size_t n = to - from;
	printf("%s: %zu commits\n\n", title, n);
	printf("| configuration | keys | per 1,000 commits | distinct | "
	    "false (token) | false distinct | precision | issue keys lost |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t c = 0; c < N_CONFS; c++) {
		struct figures f = measure(&ks[c], &ks[0], v);
		printf("| %s | %zu | %.1f | %zu | %zu | %zu | %.1f%% | %zu |\n",
		    confs[c].name, f.occ, n ? 1000.0 * (double)f.occ / (double)n :
		    0.0, f.distinct, f.tok_occ, f.tok_distinct, f.occ ? 100.0 *
		    (double)(f.occ - f.tok_occ) / (double)f.occ : 100.0, f.lost);
		if (c == 1)
			*b = f;
		if (c == 0)
			*unclassified = f.unclassified;
	}
	printf("\n");
	for (size_t c = 0; c < N_CONFS; c++)
		free(ks[c].v);
	return 0;
}

static void
dump(char **msgs, size_t n, const struct verdicts *v)
{
	struct keyset k = { 0 };
	if (scan_part(&confs[0], msgs, 0, n, &k) != 0)
		return;
	for (size_t i = 0; i < k.n; i++) {
		int vd = verdict_of(v, k.v[i].key);
		printf("%s\t%zu\t%s\n", k.v[i].key, k.v[i].count,
		    vd < 0 ? "?" : vd ? "issue" : "token");
	}
	free(k.v);
}

int
main(int argc, char **argv)
{
	int check = 0, dumping = 0;
	size_t tune = 3000;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--check") == 0)
			check = 1;
		else if (strcmp(argv[i], "--dump") == 0)
			dumping = 1;
		else if (strcmp(argv[i], "--tune") == 0 && i + 1 < argc)
			tune = strtoul(argv[++i], NULL, 10);
		else
			break;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: key_precision [--check] [--dump] [--tune N] "
		    "CORPUS.jsonl KEYS.tsv\n");
		return 2;
	}
	struct verdicts v = { 0 };
	size_t n = 0;
	char **msgs = read_corpus(argv[i], &n);
	if (!msgs || read_verdicts(argv[i + 1], &v) != 0)
		return 1;
	int rc = 0;
	if (dumping) {
		dump(msgs, n, &v);
	} else {
		struct figures b, bt, bh;
		size_t unc = 0, unc_t = 0, unc_h = 0;
		if (tune > n)
			tune = n;
		char t1[64], t2[64];
		snprintf(t1, sizeof(t1), "Newest %zu (tuned on)", tune);
		snprintf(t2, sizeof(t2), "Oldest %zu (held out)", n - tune);
		if (table("Whole corpus", msgs, 0, n, &v, &b, &unc) != 0 ||
		    table(t1, msgs, 0, tune, &v, &bt, &unc_t) != 0 ||
		    table(t2, msgs, tune, n, &v, &bh, &unc_h) != 0)
			return 1;
		if (unc)
			printf("%zu keys found by (a) are not in %s (--dump lists "
			    "them)\n", unc, argv[i + 1]);
		if (check && (b.tok_occ || b.lost || unc)) {
			fprintf(stderr, "key_precision: (b) finds %zu token keys and "
			    "loses %zu issue keys; %zu keys unclassified\n", b.tok_occ,
			    b.lost, unc);
			rc = 1;
		}
	}
	for (size_t k = 0; k < n; k++)
		free(msgs[k]);
	free(msgs);
	free(v.key);
	free(v.issue);
	return rc;
}
