/* cmd_common: helpers shared by the subcommands (see cmd_common.h). */
#include "cmd/cmd_common.h"

#include <errno.h>
#include <pwd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

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

void
bs_cmd_redis_config(const struct bs_config *cfg, struct bs_redis_config *out)
{
	memset(out, 0, sizeof(*out));
	out->url = cfg->redis.url;
	out->password = cfg->redis.password;
	out->connect_timeout_ms = cfg->redis.connect_timeout_ms;
	out->command_timeout_ms = cfg->redis.command_timeout_ms;
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

long long
bs_parse_duration(const char *s)
{
	long long ms;
	return bs_config_parse_duration(s, strlen(s), 1000, &ms) == 0 ? ms : -1;
}

int
bs_cmd_redis_open(struct bs_cmd_redis *a, const char *path, const char *cmd)
{
	memset(a, 0, sizeof(*a));
	if (bs_load_config_or_report(path, BS_USES_REDIS, &a->cfg, 0) != 0)
		return -1;
	bs_keys_init(&a->keys, a->cfg.redis.prefix);
	struct bs_redis_config rcfg;
	bs_cmd_redis_config(&a->cfg, &rcfg);
	char err[256];
	a->rc = bs_redis_connect_sync(&rcfg, err, sizeof(err));
	if (!a->rc) {
		fprintf(stderr, "bitsleuth %s: %s\n", cmd, err);
		bs_config_release(&a->cfg);
		return -1;
	}
	return 0;
}

void
bs_cmd_redis_close(struct bs_cmd_redis *a)
{
	redisFree(a->rc);
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
