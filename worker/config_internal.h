/* config_internal: what the config loader's files share (config.c maps
 * the YAML tree onto struct bs_config, config_check.c runs the cross-field
 * checks, config_diag.c keeps the diagnostics). Private to worker/. */
#ifndef BS_CONFIG_INTERNAL_H
#define BS_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "worker/config.h"
#include "worker/yaml_doc.h"

#define CONFIG_MAX_FILE (1024 * 1024)   /* bytes of one config file */
#define CONFIG_MAX_DIAGS 500            /* stored; more are only counted */
#define CONFIG_MAX_DEPLOYMENTS 10000
#define CONFIG_MAX_LIST 1000            /* items of one list (branches, tags) */
#define CONFIG_MIN_BODY (256 * 1024)    /* Bitbucket sends up to 256 KB */
#define CONFIG_MAX_SLUG 128

#define MS_S 1000LL
#define MS_M (60 * MS_S)
#define MS_H (60 * MS_M)
#define MS_D (24 * MS_H)

/* The walker's context: what is being filled and where messages go. */
struct ctx {
	struct bs_config *cfg;
	struct bs_diags *d;
	struct bs_arena *a;
	struct bs_ynode *root;
	const struct bs_ynode **dep_nodes;  /* yaml node of cfg->deployments[i] */
	size_t *dep_index;                  /* its index in the yaml list */
	unsigned uses;                      /* enum bs_config_uses */
};

/* Adds a diagnostic at node `at` (NULL: not tied to a place). */
void bs_config_diag_at(struct ctx *c, enum bs_diag_severity sev,
    const struct bs_ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define ERR(c, at, ...)  bs_config_diag_at((c), BS_DIAG_ERROR, (at), __VA_ARGS__)
#define WARN(c, at, ...) bs_config_diag_at((c), BS_DIAG_WARNING, (at), __VA_ARGS__)

/* A printable, shortened copy of a user value for messages. */
const char *bs_config_show(char *out, size_t outlen, const char *s, size_t len);
#define SHOW(n) bs_config_show((char[64]){ 0 }, 64, (n)->str, (n)->len)

/* "a mapping", "a list" or "a scalar". */
const char *bs_config_type_name(const struct bs_ynode *n);

/* A decimal integer of exactly len bytes (at most 20); 0 or -1. */
int bs_config_parse_ll(const char *s, size_t len, long long *out);

/* Whether s looks like an environment variable name ([A-Za-z_][A-Za-z0-9_]*). */
bool bs_config_is_env_name(const char *s);

/* The cross-field checks, after the tree was mapped: listen, URLs, issue
 * patterns, secrets and the rest (config_check.c). */
void bs_config_check(struct ctx *c);

#endif
