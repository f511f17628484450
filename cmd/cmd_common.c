/* cmd_common: helpers shared by the subcommands (see cmd_common.h). */
#include "cmd/cmd_common.h"
#include "queue/shard.h"

#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "parsers/utf8.h"
#include "queue/redis_client.h"

const struct option bs_cmd_config_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ "explain-event", required_argument, NULL, 'E' },
	{ "explain", no_argument, NULL, 'x' },
	{ NULL, 0, NULL, 0 },
};

const struct option bs_cmd_run_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "listen", required_argument, NULL, 'L' },
	{ "metrics-listen", required_argument, NULL, 'M' },
	{ NULL, 0, NULL, 0 },
};

const struct option bs_cmd_check_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ "explain-event", required_argument, NULL, 'E' },
	{ "strict", no_argument, NULL, 'S' },
	{ "print", required_argument, NULL, 'P' },
	{ "discover", no_argument, NULL, 'D' },
	{ NULL, 0, NULL, 0 },
};

void
bs_cmd_log_flags(int verbose, int quiet)
{
	if (verbose > 0)
		bs_log_set_override(BS_LOG_DEBUG);
	else if (quiet == 1)
		bs_log_set_override(BS_LOG_WARN);
	else if (quiet > 1)
		bs_log_set_override(BS_LOG_ERROR);
}

void
bs_cmd_redis_config(const struct bs_config *cfg, struct bs_redis_config *out)
{
	memset(out, 0, sizeof(*out));
	out->url = cfg->redis.url;
	out->password = cfg->redis.password;
	out->sentinel_master = cfg->redis.sentinel.master;
	out->sentinels = (const char *const *)cfg->redis.sentinel.addresses;
	out->n_sentinels = cfg->redis.sentinel.n_addresses;
	out->sentinel_password = cfg->redis.sentinel.password;
	out->db = cfg->redis.db;
	out->cluster = (const char *const *)cfg->redis.cluster;
	out->n_cluster = cfg->redis.n_cluster;
	out->hash_tag = cfg->redis.prefix; /* unsharded; a shard sets its own */
	out->wait_replicas = cfg->redis.wait_replicas;
	out->wait_timeout_ms = cfg->redis.wait_timeout_ms;
	out->connect_timeout_ms = cfg->redis.connect_timeout_ms;
	out->command_timeout_ms = cfg->redis.command_timeout_ms;
	out->connections = 1;       /* the CLI's; the daemon sets its pools' */
}

const char *
bs_default_config_path(void)
{
	const char *env = getenv("BITSLEUTH_CONFIG");
	return env && *env ? env : "bitsleuth.yaml";
}

int
bs_load_config_or_report(const char *path, unsigned uses,
    struct bs_config *cfg, int print_warnings)
{
	struct bs_diags d;
	bs_diags_init(&d);
	int rc = bs_config_load_for(path, uses, cfg, &d);
	if (print_warnings || d.errors)
		bs_diags_print(&d, path, stderr);
	if (rc != 0) {
		fprintf(stderr, "bitsleuth: %s: %zu error%s\n", path, d.errors,
		    d.errors == 1 ? "" : "s");
		bs_config_release(cfg);
	}
	bs_diags_release(&d);
	return rc;
}

char *
bs_read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "bitsleuth: cannot open '%s': %s\n", path,
		    strerror(errno));
		return NULL;
	}
	size_t cap = 65536, n = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n > max) {
			fprintf(stderr, "bitsleuth: '%s' is larger than %zu bytes\n", path,
			    max);
			free(buf);
			if (f != stdin)
				fclose(f);
			return NULL;
		}
		if (r == 0)
			break;
		if (n == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
	}
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

int
bs_cmd_n_shards(const struct bs_config *cfg)
{
	int n = cfg->queue.shards;
	return n < 1 ? 1 : n > BS_SHARDS_MAX ? BS_SHARDS_MAX : n;
}

int
bs_cmd_parse_limit(const char *cmd, const char *arg, long max, size_t *out)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (end == arg || *end || errno || v <= 0 || (max > 0 && v > max)) {
		if (max > 0)
			fprintf(stderr, "bitsleuth %s: bad --limit '%s' (1 to %ld)\n",
			    cmd, arg, max);
		else
			fprintf(stderr, "bitsleuth %s: bad --limit '%s'\n", cmd, arg);
		return -1;
	}
	*out = (size_t)v;
	return 0;
}

long long
bs_parse_duration(const char *s)
{
	long long ms;
	return bs_config_parse_duration(s, strlen(s), 1000, &ms) == 0 ? ms : -1;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static long long
days_from_civil(long long y, int m, int d)
{
	y -= m <= 2;
	long long era = y / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The n digits at s as a number, or -1 if one is not a digit. */
static long
digits(const char *s, int n)
{
	long v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

long long
bs_parse_utc_time(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0)
		return -1;
	if (strspn(s, "0123456789") == n) {
		if (n > 15)
			return -1;
		long long ms = strtoll(s, NULL, 10);
		return ms >= BS_UTC_TIME_MIN && ms <= 253402300799999LL ? ms : -1;
	}
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' &&
	    s[10] != 't') || s[13] != ':' || s[16] != ':')
		return -1;
	long y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	long h = digits(s + 11, 2), mi = digits(s + 14, 2);
	long sec = digits(s + 17, 2);
	if (y < 1973 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 59)
		return -1;
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[mo - 1] + (mo == 2 && leap))
		return -1;
	const char *p = s + 19;
	long ms = 0;
	if (*p == '.') {
		size_t nf = strspn(p + 1, "0123456789");
		if (nf == 0 || nf > 9)
			return -1;
		for (size_t i = 0; i < 3; i++)
			ms = ms * 10 + (i < nf ? p[1 + i] - '0' : 0);
		p += 1 + nf;
	}
	if ((*p != 'Z' && *p != 'z') || p[1] != '\0')
		return -1;
	long long days = days_from_civil(y, (int)mo, (int)d);
	long long t = ((days * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + ms;
	return t >= BS_UTC_TIME_MIN ? t : -1;
}

int
bs_cmd_redis_open(struct bs_cmd_redis *a, const char *path, const char *cmd)
{
	memset(a, 0, sizeof(*a));
	if (bs_load_config_or_report(path, BS_USES_REDIS, &a->cfg, 0) != 0)
		return -1;
	bs_cmd_redis_config(&a->cfg, &a->rcfg);
	int n = bs_cmd_n_shards(&a->cfg);
	a->shards = xcalloc((size_t)n, sizeof(*a->shards));
	a->n_shards = n;
	char err[256];
	for (int i = 0; i < n; i++) {
		struct bs_cmd_shard *s = &a->shards[i];
		if (bs_shard_keys(a->cfg.redis.prefix, i, n, &s->keys) != 0) {
			fprintf(stderr, "bitsleuth %s: bad redis.prefix '%s'\n", cmd,
			    a->cfg.redis.prefix);
			bs_cmd_redis_close(a);
			return -1;
		}
		struct bs_redis_config rc = a->rcfg;
		rc.hash_tag = s->keys.prefix;
		s->rc = bs_redis_connect_sync(&rc, err, sizeof(err));
		if (!s->rc) {
			if (n > 1)
				fprintf(stderr, "bitsleuth %s: shard %d (%s): %s\n", cmd, i,
				    s->keys.prefix, err);
			else
				fprintf(stderr, "bitsleuth %s: %s\n", cmd, err);
			bs_cmd_redis_close(a);
			return -1;
		}
	}
	a->keys = a->shards[0].keys;
	a->rc = a->shards[0].rc;
	return 0;
}

void
bs_cmd_redis_close(struct bs_cmd_redis *a)
{
	for (int i = 0; i < a->n_shards; i++)
		if (a->shards[i].rc)
			redisFree(a->shards[i].rc);
	free(a->shards);
	a->shards = NULL;
	a->n_shards = 0;
	a->rc = NULL;
	bs_config_release(&a->cfg);
}

yajl_gen
bs_cmd_json_new(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		abort();    /* only on out-of-memory */
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return g;
}

void
bs_cmd_json_print(yajl_gen g)
{
	const unsigned char *buf;
	size_t len;
	yajl_gen_get_buf(g, &buf, &len);
	fwrite(buf, 1, len, stdout);
	fputc('\n', stdout);
	yajl_gen_free(g);
}

const char *
bs_cmd_actor(void)
{
	static char uid[32];
	const char *names[] = { "USER", "LOGNAME" };
	for (size_t i = 0; i < 2; i++) {
		const char *v = getenv(names[i]);
		if (v && *v)
			return v;
	}
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_name && *pw->pw_name)
		return pw->pw_name;
	snprintf(uid, sizeof(uid), "uid %u", (unsigned)getuid());
	return uid;
}

void
bs_cmd_json_str(yajl_gen g, const char *s, size_t len)
{
	if (!s) {
		s = "";
		len = 0;
	}
	if (bs_utf8_valid(s, len) == 0 &&
	    yajl_gen_string(g, (const unsigned char *)s, len) == yajl_gen_status_ok)
		return;
	char *t = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		t[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	yajl_gen_string(g, (const unsigned char *)t, len);
	free(t);
}

void
bs_cmd_human_age(long long ms, char *out, size_t outlen)
{
	if (ms < 0)
		snprintf(out, outlen, "-");
	else if (ms < 10000)
		snprintf(out, outlen, "%.1fs", ms / 1000.0);
	else if (ms < 3600000)
		snprintf(out, outlen, "%lldm%02llds", ms / 60000, ms / 1000 % 60);
	else if (ms < 172800000)
		snprintf(out, outlen, "%lldh%02lldm", ms / 3600000, ms / 60000 % 60);
	else
		snprintf(out, outlen, "%lldd", ms / 86400000);
}
