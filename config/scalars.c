/* scalars: turning one YAML scalar into a value, and the string
 * predicates the other config files share. Leaf: calls nothing in config/.
 *
 * Integers: decimal, optional sign, at most 20 bytes.
 * Durations: "500ms", "30s", "5m", "48h", "7d" or a bare integer, which is
 * milliseconds for keys named *_ms and seconds for every other duration key
 * (queue.seen_ttl, retry.max_age, worker.visibility_timeout, ...).
 * Sizes: a bare integer of bytes, or with B, KB, MB, GB (powers of 1000) or
 * KiB, MiB, GiB (powers of 1024); units are case-insensitive.
 * Booleans: true/yes/on and false/no/off (plain scalars only). */
#include "config/config_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* === scalar conversions ================================================== */

int
bs_config_parse_ll(const char *s, size_t len, long long *out)
{
	if (len == 0 || len > 20 || strlen(s) != len)
		return -1;
	size_t i = 0;
	if (s[0] == '+' || s[0] == '-')
		i++;
	if (i == len)
		return -1;
	for (size_t j = i; j < len; j++)
		if (s[j] < '0' || s[j] > '9')
			return -1;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* Splits "123unit" into the number and the unit. */
static int
split_num(const char *s, size_t len, long long *num, const char **unit)
{
	size_t i = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 0 || i > 18 || strlen(s) != len)
		return -1;
	long long v = 0;
	for (size_t j = 0; j < i; j++)
		v = v * 10 + (s[j] - '0');
	while (i < len && s[i] == ' ')
		i++;
	*num = v;
	*unit = s + i;
	return 0;
}

int
bs_config_parse_duration(const char *s, size_t len, long long bare_ms,
    long long *ms)
{
	long long v;
	const char *u;
	if (split_num(s, len, &v, &u) != 0)
		return -1;
	long long mul;
	if (*u == '\0')
		mul = bare_ms;
	else if (strcmp(u, "ms") == 0)
		mul = 1;
	else if (strcmp(u, "s") == 0)
		mul = MS_S;
	else if (strcmp(u, "m") == 0)
		mul = MS_M;
	else if (strcmp(u, "h") == 0)
		mul = MS_H;
	else if (strcmp(u, "d") == 0)
		mul = MS_D;
	else
		return -1;
	if (v > (long long)(INT64_MAX / 4) / mul)
		return -1;
	*ms = v * mul;
	return 0;
}

int
bs_config_parse_size(const char *s, size_t len, long long *bytes)
{
	static const struct { const char *u; long long mul; } units[] = {
		{ "", 1 }, { "b", 1 },
		{ "kb", 1000LL }, { "kib", 1024LL },
		{ "mb", 1000LL * 1000 }, { "mib", 1024LL * 1024 },
		{ "gb", 1000LL * 1000 * 1000 }, { "gib", 1024LL * 1024 * 1024 },
	};
	long long v;
	const char *u;
	if (split_num(s, len, &v, &u) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(u, units[i].u) == 0) {
			if (v > (long long)(INT64_MAX / 4) / units[i].mul)
				return -1;
			*bytes = v * units[i].mul;
			return 0;
		}
	}
	return -1;
}

int
bs_config_parse_bool(const struct bs_ynode *n, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes",
		"YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No",
		"NO", "off", "Off", "OFF" };
	if (n->type != BS_YNODE_SCALAR || !n->plain)
		return -1;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(n->str, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(n->str, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* === string predicates ==================================================== */

bool
bs_config_is_env_name(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	size_t n = 0;
	for (; *s; s++, n++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return n <= 128;
}

bool
bs_config_ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

bool
bs_config_looks_like_secret(const char *s)
{
	size_t n = strlen(s);
	bool lower = false, upper = false, digit = false;
	if (n < 20 || strchr(s, '_'))
		return false;
	for (; *s; s++) {
		lower |= *s >= 'a' && *s <= 'z';
		upper |= *s >= 'A' && *s <= 'Z';
		digit |= *s >= '0' && *s <= '9';
	}
	return (lower && upper) || ((lower || upper) && digit);
}

/* === did you mean ========================================================= */

size_t
bs_config_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return 99;
	size_t row[41];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (a[i - 1] == b[j - 1] ? 0 : 1);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* === literal secrets ====================================================== */

const char *
bs_config_secret_key_hint(const struct bs_ynode *k)
{
	static const char *const exact[][2] = {
		{ "secret", "secret_env" }, { "webhook_secret", "secret_env" },
		{ "password", "password_env" }, { "passwd", "password_env" },
		{ "token", "token_env" }, { "api_key", "token_env" },
		{ "apikey", "token_env" }, { "api_token", "token_env" },
		{ "access_token", "token_env" },
	};
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(k->str, exact[i][0]) == 0)
			return exact[i][1];
	if (bs_config_ends_with(k->str, k->len, "_secret"))
		return "secret_env";
	if (bs_config_ends_with(k->str, k->len, "_password"))
		return "password_env";
	if (bs_config_ends_with(k->str, k->len, "_token"))
		return "token_env";
	return NULL;
}
