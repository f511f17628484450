/* config_check: the checks that look at several keys at once, run after
 * the tree was mapped onto struct bs_config: listen address, URLs, issue
 * patterns (compile, sample text, nested quantifiers), secrets in the
 * environment (and never in the file), deployments' tokens and limits,
 * the dedupe window against Cloud's retries and queue.seen_ttl, trusted
 * proxies without a source allow-list.
 * Each message points at the node at fault. A single deployment's own
 * checks are in deployments.c. Calls scalars.c, config_diag.c and
 * yaml_doc.c only. */
#include "config/config_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

#include "parsers/issue_scan.h"

/* === cross-field checks =================================================== */

static const struct bs_ynode *
node_at(const struct ctx *c, const char *section, const char *key)
{
	const struct bs_ynode *s = bs_ynode_get(c->root, section, NULL);
	if (!key || !s)
		return s;
	const struct bs_ynode *v = bs_ynode_get(s, key, NULL);
	return v ? v : s;
}

/* The environment variable's value (arena copy), NULL when unset/empty. */
static char *
env_value(struct ctx *c, const char *name)
{
	const char *v = name ? getenv(name) : NULL;
	return v && *v ? bs_arena_strdup(c->a, v) : NULL;
}

/* === secrets from files (*_file) ========================================= */

void
bs_config_need(struct ctx *c, const struct bs_ynode *at, const char *fmt, ...)
{
	char buf[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (c->uses & BS_USES_LENIENT)
		WARN(c, at, "%s (run, serve and work refuse to start without it; "
		    "check --strict makes this an error)", buf);
	else
		ERR(c, at, "%s", buf);
}

/* Reads the secret file `file` of key `key` (its node `at`): the content
 * with one trailing newline dropped, in the arena. NULL after a
 * diagnostic when report (else silently): missing (bs_config_need), not
 * a regular file, unreadable, empty, over BS_SECRET_FILE_MAX, or with a
 * NUL byte. A file others may read is a warning. The content is never
 * put in a message. */
static char *
read_secret_file(struct ctx *c, const char *key, const struct bs_ynode *at,
    const char *file, bool report)
{
	char sh[256];           /* paths are longer than most values */
	const char *shown = bs_config_show(sh, sizeof(sh), file, strlen(file));
	if (!*file) {
		if (report)
			ERR(c, at, "%s: empty path", key);
		return NULL;
	}
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (!report)
			return NULL;
		if (e == ENOENT)
			bs_config_need(c, at, "%s: cannot open '%s': %s", key, shown,
			    strerror(e));
		else
			ERR(c, at, "%s: cannot open '%s': %s", key, shown, strerror(e));
		return NULL;
	}
	struct stat st;
	const char *why = NULL;
	char *buf = NULL;
	ssize_t n = 0;
	if (fstat(fd, &st) != 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_size > BS_SECRET_FILE_MAX + 1)   /* + its newline */
		why = "larger than 64 KiB";
	if (!why) {
		/* Up to MAX + 2 bytes: the secret, its newline, and one more
		 * that says the file grew beyond them; then the NUL. */
		buf = bs_arena_alloc(c->a, BS_SECRET_FILE_MAX + 3);
		size_t got = 0;
		while (got <= BS_SECRET_FILE_MAX + 1) {
			n = read(fd, buf + got, BS_SECRET_FILE_MAX + 2 - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (n < 0)
			why = strerror(errno);
		else {
			if (got && buf[got - 1] == '\n')
				got--;
			buf[got] = '\0';
			if (got > BS_SECRET_FILE_MAX)
				why = "larger than 64 KiB";
			else if (got == 0)
				why = "empty";
			else if (memchr(buf, '\0', got))
				why = "holds a NUL byte";
		}
		if (why)
			memset(buf, 0, BS_SECRET_FILE_MAX + 3);
	}
	close(fd);
	if (why) {
		if (report)
			ERR(c, at, "%s: '%s': %s", key, shown, why);
		return NULL;
	}
	if (report && (st.st_mode & (S_IRWXG | S_IRWXO)))
		WARN(c, at, "%s: '%s' may be read by %s (mode %04o): chmod 600 "
		    "it", key, shown, (st.st_mode & S_IRWXO) ? "anyone" :
		    "its group", (unsigned)(st.st_mode & 07777));
	return buf;
}

char *
bs_config_secret(struct ctx *c, const struct bs_secret_keys *k, bool needed,
    bool *file_failed)
{
	*file_failed = false;
	if (!k->file)
		return k->env_ok ? env_value(c, k->env) : NULL;
	if (k->env_written)
		WARN(c, k->file_at, "%s and %s are both written: the file wins",
		    k->file_key, k->env_key);
	char *v = read_secret_file(c, k->file_key, k->file_at, k->file, needed);
	*file_failed = v == NULL;
	return v;
}

/* Parses the address of top-level key `key` ("host:port", IPv6 in
 * brackets) into *host and *port; an error at the key otherwise. */
static void
check_address(struct ctx *c, const char *key, const char *from,
    const char *s, char **host_out, int *port_out)
{
	/* An override is not in the file: its message names its source. */
	const struct bs_ynode *at = from ? NULL : bs_ynode_get(c->root, key,
	    NULL);
	const char *colon = strrchr(s, ':');
	const char *host = s, *hend = colon;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		colon = rb && rb[1] == ':' ? rb + 1 : NULL;
		host = s + 1;
		hend = rb;
	} else if (colon && memchr(s, ':', (size_t)(colon - s))) {
		colon = NULL;    /* an IPv6 address needs brackets */
	}
	long long port = -1;
	if (colon && colon[1] && bs_config_parse_ll(colon + 1, strlen(colon + 1), &port) ==
	    0 && colon[1] != '+' && colon[1] != '-' && port >= 0 &&
	    port <= 65535 && hend > host) {
		*host_out = bs_arena_strndup(c->a, host, (size_t)(hend - host));
		*port_out = (int)port;
		if (!strchr(*host_out, ' '))
			return;
	}
	char sh[64];
	ERR(c, at, "%s%s%s: expected host:port like 127.0.0.1:8080, got '%s'",
	    from ? from : key, from ? " (overriding " : "", from ? (strcmp(key,
	    "listen") == 0 ? "listen)" : "metrics_listen)") : "",
	    bs_config_show(sh, sizeof(sh), s, strlen(s)));
}

static void
check_listen(struct ctx *c)
{
	struct bs_config *cfg = c->cfg;
	check_address(c, "listen", c->listen_from, cfg->listen,
	    &cfg->listen_host, &cfg->listen_port);
	if (cfg->metrics_listen)
		check_address(c, "metrics_listen", c->metrics_listen_from,
		    cfg->metrics_listen, &cfg->metrics_listen_host,
		    &cfg->metrics_listen_port);
}


/* Whether the authority hp[0..len) ("host[:port]") names this machine:
 * 127.0.0.0/8, [::1] or localhost. Only there may the token go over
 * plain http (a test's or a sidecar's stand-in). */
static bool
loopback_host(const char *hp, size_t len)
{
	char host[64];
	size_t hl;
	if (len && hp[0] == '[') {
		const char *close = memchr(hp, ']', len);
		if (!close)
			return false;
		hl = (size_t)(close - hp - 1);
		hp++;
	} else {
		const char *colon = memchr(hp, ':', len);
		hl = colon ? (size_t)(colon - hp) : len;
	}
	if (hl == 0 || hl >= sizeof(host))
		return false;
	memcpy(host, hp, hl);
	host[hl] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		return true;
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 &&
	    memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
}

void
bs_config_check_http_url(struct ctx *c, const struct bs_ynode *at,
    const char *name, const char *u, const char *what)
{
	char sh[64];
	size_t skip = strncasecmp(u, "https://", 8) == 0 ? 8 :
	    strncasecmp(u, "http://", 7) == 0 ? 7 : 0;
	bool ok = skip > 0;
	if (ok) {
		size_t hl = strcspn(u + skip, "/?#");
		ok = hl > 0 && u[skip] != ':';
		for (const char *q = u; *q; q++)
			if ((unsigned char)*q <= ' ' || *q == 0x7f)
				ok = false;
		for (size_t i = 0; i < hl; i++)
			if (u[skip + i] == '@')
				ok = false;
	}
	if (!ok)
		ERR(c, at, "%s: expected http(s)://host[:port][/path], got '%s'",
		    name, bs_config_show(sh, sizeof(sh), u, strlen(u)));
	else if (skip == 7 && !loopback_host(u + skip, strcspn(u + skip, "/?#")))
		ERR(c, at, "%s: http:// would send %s in clear; use https:// "
		    "(http:// is allowed only to a loopback address: 127.0.0.0/8, "
		    "[::1], localhost)", name, what);
}

static void
check_urls(struct ctx *c)
{
	struct bs_config *cfg = c->cfg;
	const char *p = cfg->redis.prefix;
	bool ok = *p && strlen(p) <= 64;
	for (; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '{' || *p == '}' ||
		    *p == 0x7f)
			ok = false;
	if (!ok)
		ERR(c, node_at(c, "redis", "prefix"), "redis.prefix: must be 1 to "
		    "64 characters without spaces, '{' or '}'");

	bs_config_check_http_url(c, node_at(c, "sleuth", "base_url"),
	    "sleuth.base_url", cfg->sleuth.base_url, "the Sleuth token");

	if (cfg->issues.url && !strstr(cfg->issues.url, "{key}"))
		WARN(c, node_at(c, "issues", "url"), "issues.url: has no {key}: "
		    "every issue would link to the same page");
}

/* A heuristic for catastrophic backtracking: a group with '+' or '*'
 * inside that is itself followed by '+', '*' or '{'. Escapes are skipped;
 * nested groups are judged by their innermost content. */
static bool
nested_quantifier(const char *re)
{
	int depth = 0;
	bool quant[64] = { false };
	for (const char *p = re; *p; p++) {
		if (*p == '\\') {
			if (p[1])
				p++;
			continue;
		}
		if (*p == '(') {
			if (depth < 63)
				quant[++depth] = false;
		} else if (*p == ')' && depth > 0) {
			bool inner = quant[depth--];
			if (inner && (p[1] == '+' || p[1] == '*' || p[1] == '{'))
				return true;
			if (inner)
				quant[depth] = true;
		} else if ((*p == '+' || *p == '*') && depth > 0) {
			quant[depth] = true;
		}
	}
	return false;
}

/* Realistic commit messages and branch names for the "matches nothing"
 * check of issues.patterns: JIRA-style keys in several places and #N. */
static const char issue_sample[] =
    "SHOP-123 Fix rounding of order totals\n"
    "Merged in feature/OPS-42-retry-queue (pull request #12)\n"
    "feature/ABC-7-login-page\n"
    "bugfix/PROJ-1024_null-pointer\n"
    "Fixes #12 and #345: handle empty payloads\n"
    "[CORE-9] Bump dependencies, see JIRA-123\n"
    "hotfix/web-77-typo\n"
    "release/2024.11\n"
    "Revert \"DATA_ENG-88: drop the old index\" (#56)\n";

static void
count_hit(const char *key, size_t len, size_t pattern, size_t start,
    void *arg)
{
	(void)key;
	(void)len;
	(void)pattern;
	(void)start;
	(*(size_t *)arg)++;
}

static void
check_issues(struct ctx *c)
{
	struct bs_config *cfg = c->cfg;
	const struct bs_ynode *pn = node_at(c, "issues", "patterns");
	for (size_t i = 0; i < cfg->issues.n_patterns; i++) {
		char err[512];
		const char *one[1] = { cfg->issues.patterns[i] };
		struct bs_scan_options o = { .patterns = one, .n_patterns = 1 };
		struct bs_scanner *s = bs_scanner_new(&o, err, sizeof(err));
		if (s) {
			const struct bs_ynode *at = pn && pn->type == BS_YNODE_SEQ &&
			    i < pn->n ? pn->items[i] : pn;
			size_t hits = 0;
			int rc = bs_scanner_scan(s, issue_sample,
			    sizeof(issue_sample) - 1, count_hit, &hits);
			bs_scanner_free(s);
			if (nested_quantifier(cfg->issues.patterns[i]))
				WARN(c, at, "issues.patterns[%zu]: a quantified "
				    "group containing a quantifier, like (a+)+, can "
				    "backtrack up to the match limit at every position of "
				    "a message", i);
			if (rc == 0 && hits == 0)
				WARN(c, at, "issues.patterns[%zu]: issue pattern %zu "
				    "matches nothing in the sample text (commit messages "
				    "and branch names with keys like SHOP-123 and #12): "
				    "check it finds your keys with bitsleuth scan", i, i);
			continue;
		}
		const char *msg = err;
		if (strncmp(msg, "pattern 0: ", 11) == 0)
			msg += 11;
		ERR(c, pn && pn->type == BS_YNODE_SEQ && i < pn->n ? pn->items[i] :
		    pn, "issues.patterns[%zu]: bad regex: %s", i, msg);
	}
	const struct bs_ynode *jn = node_at(c, "issues", "projects");
	for (size_t i = 0; i < cfg->issues.n_projects; i++) {
		const char *p = cfg->issues.projects[i];
		if (!*p || strchr(p, '-'))
			ERR(c, jn && jn->type == BS_YNODE_SEQ && i < jn->n ?
			    jn->items[i] : jn, "issues.projects[%zu]: a project key "
			    "is the part before '-' and cannot be empty or contain "
			    "'-'", i);
	}
	const struct bs_ynode *sn = node_at(c, "issues", "stop_list");
	for (size_t i = 0; i < cfg->issues.n_stop_list; i++) {
		const char *e = cfg->issues.stop_list[i];
		if (!*e || strpbrk(e, " \t\r\n"))
			ERR(c, sn && sn->type == BS_YNODE_SEQ && i < sn->n ?
			    sn->items[i] : sn, "issues.stop_list[%zu]: an entry is a "
			    "project (RFC) or a whole key (UTF-8) and cannot be empty "
			    "or contain blanks", i);
	}
}

static bool
dep_dry(const struct bs_config *cfg, const struct bs_deployment *d)
{
	return d->dry_run == 1 || (d->dry_run == -1 && cfg->sleuth.dry_run);
}

/* Whether the key at dotted path is written in the file. */
static bool
written(const struct ctx *c, const char *path)
{
	const struct bs_ynode *n = bs_config_node(c, path, false);
	const struct bs_ynode *k = bs_config_node(c, path, true);
	return n && n != k && !bs_ynode_is_null(n);
}

/* The secret of the pair <prefix>_env / <prefix>_file ("redis.password"):
 * env is the variable's name, env_ok whether it may be read. */
static char *
pair_secret(struct ctx *c, const char *prefix, const char *env, bool env_ok,
    const char *file, bool needed, bool *file_failed)
{
	char ek[96], fk[96];
	snprintf(ek, sizeof(ek), "%s_env", prefix);
	snprintf(fk, sizeof(fk), "%s_file", prefix);
	struct bs_secret_keys k = { .env_key = ek, .file_key = fk, .env = env,
		.env_ok = env_ok, .env_written = written(c, ek), .file = file,
		.file_at = bs_config_node(c, fk, false) };
	return bs_config_secret(c, &k, needed, file_failed);
}

static void
check_secrets(struct ctx *c)
{
	struct bs_config *cfg = c->cfg;

	struct {
		const char *name, *path;
	} envs[] = {
		{ cfg->bitbucket.secret_env, "bitbucket.secret_env" },
		{ cfg->sleuth.token_env, "sleuth.token_env" },
		{ cfg->redis.password_env, "redis.password_env" },
		{ cfg->bitbucket.secret_previous_env, "bitbucket.secret_previous_env" },
		{ cfg->redis.sentinel.password_env, "redis.sentinel.password_env" },
	};
	/* Their *_file twins: with one written, the variable is not read. */
	const char *files[] = { cfg->bitbucket.secret_file, cfg->sleuth.token_file,
		cfg->redis.password_file, cfg->bitbucket.secret_previous_file,
		cfg->redis.sentinel.password_file };
	enum { N_ENVS = sizeof(envs) / sizeof(envs[0]) };
	bool bad[N_ENVS] = { false };
	for (size_t i = 0; i < N_ENVS; i++) {
		if (envs[i].name && !bs_config_is_env_name(envs[i].name)) {
			ERR(c, bs_config_node(c, envs[i].path, false), "%s: must "
			    "name an environment variable ([A-Za-z_][A-Za-z0-9_]*), "
			    "not hold the secret", envs[i].path);
			bad[i] = true;
		}
	}

	for (size_t i = 0; i < N_ENVS; i++) {
		if (!bad[i] && !files[i] && envs[i].name &&
		    bs_config_looks_like_secret(envs[i].name) && !getenv(envs[i].name)) {
			ERR(c, bs_config_node(c, envs[i].path, false), "%s: names "
			    "no set variable and looks like the secret itself: secrets "
			    "come from the environment, write the variable's name here",
			    envs[i].path);
			bad[i] = true;
		}
	}

	bool ingest = c->uses & BS_USES_INGEST;
	bool redis = c->uses & BS_USES_REDIS;
	bool failed;
	cfg->bitbucket.secret = pair_secret(c, "bitbucket.secret",
	    cfg->bitbucket.secret_env, !bad[0], cfg->bitbucket.secret_file,
	    ingest, &failed);
	if (!ingest || bad[0] || failed || cfg->bitbucket.secret) {
		/* not needed by this command, reported, or set */
	} else if (!cfg->bitbucket.allow_unsigned)
		bs_config_need(c, node_at(c, "bitbucket", "secret_env"),
		    "environment variable %s (bitbucket.secret_env) is not set: "
		    "set it, or allow unsigned deliveries with "
		    "bitbucket.allow_unsigned: true", cfg->bitbucket.secret_env);
	else
		WARN(c, node_at(c, "bitbucket", "allow_unsigned"), "environment "
		    "variable %s (bitbucket.secret_env) is not set: with "
		    "allow_unsigned: true every delivery is accepted without a "
		    "signature check", cfg->bitbucket.secret_env);

	/* Rotation: the old secret still verifies while it is named and set. */
	if ((cfg->bitbucket.secret_previous_env && !bad[3]) ||
	    cfg->bitbucket.secret_previous_file) {
		cfg->bitbucket.secret_previous = pair_secret(c,
		    "bitbucket.secret_previous", cfg->bitbucket.secret_previous_env,
		    !bad[3], cfg->bitbucket.secret_previous_file, ingest, &failed);
		/* Named but unset is the normal state between rotations. */
		bool pf = cfg->bitbucket.secret_previous_file != NULL;
		const struct bs_ynode *at = node_at(c, "bitbucket", pf ?
		    "secret_previous_file" : "secret_previous_env");
		const char *cur = cfg->bitbucket.secret_file ?
		    "bitbucket.secret_file" : cfg->bitbucket.secret_env;
		if (!ingest || !cfg->bitbucket.secret_previous) {
			/* not used by this command, or no rotation under way */
		} else if (!cfg->bitbucket.secret)
			ERR(c, at, "bitbucket.secret_previous_%s is set but the "
			    "current secret (%s) is not: set the new secret first",
			    pf ? "file" : "env", cur);
		else
			WARN(c, at, "rotating: deliveries signed with the previous "
			    "secret (%s) are still accepted; watch "
			    "bitsleuth_signature_previous_total and remove it when it "
			    "stops growing", pf ? "bitbucket.secret_previous_file" :
			    cfg->bitbucket.secret_previous_env);
	}

	if ((cfg->redis.password_env && !bad[2]) || cfg->redis.password_file) {
		cfg->redis.password = pair_secret(c, "redis.password",
		    cfg->redis.password_env, !bad[2], cfg->redis.password_file,
		    redis, &failed);
		if (!cfg->redis.password && !failed && redis)
			bs_config_need(c, node_at(c, "redis", "password_env"),
			    "environment variable %s (redis.password_env) is not "
			    "set", cfg->redis.password_env);
	}
	/* The sentinels' own password (sentinel mode only). */
	if ((cfg->redis.sentinel.password_env && !bad[4]) ||
	    cfg->redis.sentinel.password_file) {
		cfg->redis.sentinel.password = pair_secret(c,
		    "redis.sentinel.password", cfg->redis.sentinel.password_env,
		    !bad[4], cfg->redis.sentinel.password_file, redis, &failed);
		if (!cfg->redis.sentinel.password && !failed && redis)
			bs_config_need(c, bs_config_node(c,
			    "redis.sentinel.password_env", false), "environment "
			    "variable %s (redis.sentinel.password_env) is not set",
			    cfg->redis.sentinel.password_env);
	}

	/* A command that registers nothing needs no token: unset ones are
	 * neither errors nor warnings there. */
	bool worker = c->uses & BS_USES_WORKER;
	/* The global token is needed when a deployment without its own one
	 * is not dry-run. */
	bool global_live = false;
	for (size_t i = 0; i < cfg->n_deployments; i++) {
		const struct bs_deployment *d = &cfg->deployments[i];
		global_live |= !d->token_env && !d->token_file && !dep_dry(cfg, d);
	}
	for (size_t i = 0; i < cfg->n_projects; i++) {
		const struct bs_project *p = &cfg->projects[i];
		global_live |= p->discover && !p->token_env && !p->token_file &&
		    p->dry_run != 1 && (p->dry_run != -1 || !cfg->sleuth.dry_run);
	}
	bool global_failed;
	cfg->sleuth.token = pair_secret(c, "sleuth.token", cfg->sleuth.token_env,
	    !bad[1], cfg->sleuth.token_file, worker && global_live,
	    &global_failed);
	bool global_reported = bad[1] || !worker || global_failed,
	    global_needed = false;
	/* The flat ones here; the projects' (and their targets') below. */
	for (size_t i = 0; i < c->n_flat; i++) {
		struct bs_deployment *d = &cfg->deployments[i];
		const struct bs_ynode *tn = bs_ynode_get(c->dep_nodes[i],
		    "token_env", NULL);
		const struct bs_ynode *fn = bs_ynode_get(c->dep_nodes[i],
		    "token_file", NULL);
		bool dry = dep_dry(cfg, d), dfailed = false;
		if (d->token_file) {
			char fk[64], ek[64];
			snprintf(fk, sizeof(fk), "deployments[%zu].token_file",
			    c->dep_index[i]);
			snprintf(ek, sizeof(ek), "deployments[%zu].token_env",
			    c->dep_index[i]);
			struct bs_secret_keys k = { .env_key = ek, .file_key = fk,
				.env_written = d->token_env != NULL, .file = d->token_file,
				.file_at = fn };
			d->token = bs_config_secret(c, &k, worker && !dry, &dfailed);
			if (dfailed)
				continue;
		} else if (d->token_env) {
			if (!bs_config_is_env_name(d->token_env))
				continue;   /* reported by deployments.c */
			if (bs_config_looks_like_secret(d->token_env) && !getenv(d->token_env)) {
				ERR(c, tn, "deployments[%zu].token_env: names no set "
				    "variable and looks like the token itself: secrets "
				    "come from the environment, write the variable's name "
				    "here", c->dep_index[i]);
				continue;
			}
			d->token = env_value(c, d->token_env);
		}
		bool own = d->token_env || d->token_file;
		if (!own)
			global_needed = true;
		if (!worker)
			continue;
		if (dry) {
			if (own && !d->token && !d->token_file)
				WARN(c, tn, "environment variable %s (deployments[%zu]."
				    "token_env) is not set: fine while the deployment is "
				    "dry_run, needed once it is not", d->token_env,
				    c->dep_index[i]);
			continue;
		}
		if (own && !d->token) {
			bs_config_need(c, tn, "environment variable %s "
			    "(deployments[%zu].token_env) is not set: set it, or make "
			    "the deployment dry_run: true", d->token_env,
			    c->dep_index[i]);
		} else if (!own && !cfg->sleuth.token && !global_reported) {
			global_reported = true;
			bs_config_need(c, node_at(c, "sleuth", "token_env"),
			    "environment variable %s (sleuth.token_env) is not set: "
			    "set it, or use sleuth.dry_run: true",
			    cfg->sleuth.token_env);
		}
	}
	bs_config_project_secrets(c, &global_needed, &global_reported);
	if (global_needed && global_failed && worker && !global_live)
		WARN(c, node_at(c, "sleuth", "token_file"), "sleuth.token_file "
		    "cannot be read: fine while the deployments that use it are "
		    "dry_run, needed once they are not");
	else if (global_needed && !global_reported && !cfg->sleuth.token)
		WARN(c, node_at(c, "sleuth", "token_env"), "environment variable %s "
		    "(sleuth.token_env) is not set: fine while the deployments that "
		    "use it are dry_run, needed once they are not",
		    cfg->sleuth.token_env);
}

/* queue.content_dedupe_window is also the time within which a repeat of a
 * delivery id counts as Bitbucket's automatic retry (ingest/intake.h): it
 * should cover the retries (minutes) and not outlast the memory of the
 * delivery ids it applies to. */
static void
check_dedupe_window(struct ctx *c)
{
	const struct bs_config *cfg = c->cfg;
	int win = cfg->queue.content_dedupe_window_s;
	if (win > cfg->queue.seen_ttl_s)
		WARN(c, node_at(c, "queue", "content_dedupe_window"),
		    "queue.content_dedupe_window (%d s) is above queue.seen_ttl "
		    "(%d s): delivery ids are forgotten before the window ends",
		    win, cfg->queue.seen_ttl_s);
	if (win < CONFIG_MIN_DEDUPE_WINDOW_S)
		WARN(c, node_at(c, "queue", "content_dedupe_window"),
		    "queue.content_dedupe_window (%d s) is below 5 minutes: an "
		    "automatic retry of Bitbucket Cloud (it resends a failed "
		    "request for minutes) that comes later is taken for a manual "
		    "Resend and queued again", win);
}

/* X-Forwarded-For is read only to find the client that
 * bitbucket.allow_cidrs judges: trusted proxies without an allow-list do
 * nothing. */
static void
check_sources(struct ctx *c)
{
	const struct bs_config *cfg = c->cfg;
	if (cfg->http.n_trusted_proxies > 0 && cfg->bitbucket.n_allow_cidrs == 0)
		WARN(c, node_at(c, "http", "trusted_proxies"), "http.trusted_proxies "
		    "is set but bitbucket.allow_cidrs is empty (every source is "
		    "allowed): X-Forwarded-For has no effect");
}

static void
check_misc(struct ctx *c)
{
	struct bs_config *cfg = c->cfg;
	enum bs_log_level lvl;
	if (bs_log_parse_level(cfg->log_level, &lvl) != 0) {
		char sh[64];
		ERR(c, bs_ynode_get(c->root, "log_level", NULL), "log_level: "
		    "unknown level '%s' (debug, info, warn or error)",
		    bs_config_show(sh, sizeof(sh), cfg->log_level, strlen(cfg->log_level)));
	}
	enum bs_log_format fmt;
	if (bs_log_parse_format(cfg->log_format, &fmt) != 0) {
		char sh[64];
		ERR(c, bs_ynode_get(c->root, "log_format", NULL), "log_format: "
		    "unknown format '%s' (text or json)",
		    bs_config_show(sh, sizeof(sh), cfg->log_format, strlen(cfg->log_format)));
	}
	if (strcmp(cfg->sleuth.graphql_auth, "apikey") != 0 &&
	    strcmp(cfg->sleuth.graphql_auth, "bearer") != 0) {
		char sh[64];
		ERR(c, node_at(c, "sleuth", "graphql_auth"), "sleuth.graphql_auth: "
		    "expected apikey (an organisation API key) or bearer (an access "
		    "token), got '%s'", bs_config_show(sh, sizeof(sh),
		    cfg->sleuth.graphql_auth, strlen(cfg->sleuth.graphql_auth)));
	}
	if (strcmp(cfg->queue.events_format, "msgpack") != 0 &&
	    strcmp(cfg->queue.events_format, "json") != 0) {
		char sh[64];
		ERR(c, node_at(c, "queue", "events_format"), "queue.events_format: "
		    "unknown format '%s' (msgpack or json)",
		    bs_config_show(sh, sizeof(sh), cfg->queue.events_format,
		    strlen(cfg->queue.events_format)));
	}
	if (cfg->worker.visibility_timeout_ms <= cfg->sleuth.timeout_ms)
		WARN(c, node_at(c, "worker", "visibility_timeout"),
		    "worker.visibility_timeout (%lld ms) is not above "
		    "sleuth.timeout_ms (%d ms): a job still in flight at a live "
		    "worker may be claimed and sent again by another",
		    (long long)cfg->worker.visibility_timeout_ms,
		    cfg->sleuth.timeout_ms);
	if (cfg->http.max_body < CONFIG_MIN_BODY)
		WARN(c, node_at(c, "http", "max_body"), "http.max_body: %zu bytes "
		    "is below 256 KiB: Bitbucket payloads up to 256 KB would be "
		    "refused", cfg->http.max_body);
	check_dedupe_window(c);
	check_sources(c);
	if (cfg->retry.base_ms > cfg->retry.cap_ms)
		ERR(c, node_at(c, "retry", "base"), "retry.base (%lld ms) is above "
		    "retry.cap (%lld ms)", (long long)cfg->retry.base_ms,
		    (long long)cfg->retry.cap_ms);
	const struct bs_ynode *dn = bs_ynode_get(c->root, "deployments", NULL);
	if (cfg->n_deployments == 0 && cfg->n_projects == 0 && (!dn || bs_ynode_is_null(dn) ||
	    (dn->type == BS_YNODE_SEQ && dn->n == 0)))
		WARN(c, NULL, "no deployments: deliveries are queued but nothing "
		    "is registered with Sleuth");
}


void
bs_config_check(struct ctx *c)
{
	check_listen(c);
	bs_config_check_redis(c);
	check_urls(c);
	check_issues(c);
	check_secrets(c);
	bs_config_check_api(c);
	bs_config_check_projects(c);
	check_misc(c);
}
