/* config_internal: what the config loader's files share. Private to
 * config/. One section per file that defines the names, in call order
 * (a file calls only the sections below its own, never up):
 *   config.c        defaults, load/parse/release: calls the walker, the
 *                   checks and the diagnostics (defines nothing here)
 *   config_check.c  the cross-field checks, after the tree was mapped
 *   check_api.c     the checks of bitbucket.api and backfill (called by it)
 *   check_redis.c   the checks of redis.* and queue.shards (called by it)
 *   keys.c          the walker that maps the tree through the key tables
 *   projects.c      projects: environments, the checks of a project, the
 *                   expansion into targets (expand.c), their tokens
 *   deployments.c   the checks of one deployment, and the value checks it
 *                   shares with projects.c, called by the walker
 *   key_tables.c    the key tables (data)
 *   scalars.c       scalar conversions and string predicates (leaf)
 *   config_diag.c   diagnostics and value quoting (leaf) */
#ifndef BS_CONFIG_INTERNAL_H
#define BS_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "config/yaml_doc.h"

#define CONFIG_MAX_FILE (1024 * 1024)   /* bytes of one config file */
#define CONFIG_MAX_DIAGS 500            /* stored; more are only counted */
#define CONFIG_MAX_DEPLOYMENTS 10000
#define CONFIG_MAX_LIST 1000            /* items of one list (branches, tags) */
#define CONFIG_MAX_CIDRS 4096           /* address ranges of one list */
#define CONFIG_MIN_BODY (256 * 1024)    /* Bitbucket sends up to 256 KB */
#define CONFIG_MIN_DEDUPE_WINDOW_S 300  /* Bitbucket Cloud retries for minutes */
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
	/* yaml node of cfg->deployments[i] (for a project's target: the
	 * project's) and its index in the yaml list (deployments or projects) */
	const struct bs_ynode **dep_nodes;
	size_t *dep_index;
	size_t n_flat;                      /* of them, from deployments: */
	const struct bs_ynode **proj_nodes; /* yaml node of cfg->projects[i] */
	size_t *proj_index;                 /* its index in the yaml list */
	unsigned uses;                      /* enum bs_config_uses */
	/* Where listen and metrics_listen came from when not the file:
	 * "--listen", "BITSLEUTH_LISTEN", ...; NULL: the file. */
	const char *listen_from, *metrics_listen_from;
};

/* === config_check.c ======================================================= */

/* The cross-field checks, after the tree was mapped: listen, URLs, issue
 * patterns, secrets and the rest. Resolves the *_env secrets into c->cfg;
 * looks nodes up in c->root (may be NULL) for the messages' places. */
void bs_config_check(struct ctx *c);

/* Largest secret file (*_file keys). */
#define BS_SECRET_FILE_MAX (64 * 1024)

/* One secret's pair of keys: the variable named by *_env and the file
 * named by *_file, which wins when written. */
struct bs_secret_keys {
	const char *env_key, *file_key; /* dotted paths, for messages */
	const char *env;                /* the variable's name, may be NULL */
	bool env_ok;                    /* env may be read (not reported bad) */
	bool env_written;               /* the *_env key is in the file */
	const char *file;               /* the *_file path, may be NULL */
	const struct bs_ynode *file_at; /* its node, for messages */
};

/* The secret of k (arena copy, NULL when unset): the file's content (one
 * trailing newline dropped) when k->file is set, else the variable's
 * value. With a file, *file_failed tells whether it could not be used;
 * then, when needed, the reason is reported at k->file_at (a missing
 * file through bs_config_need); a file others may read and both keys
 * written are warnings. Never puts the secret in a message. */
char *bs_config_secret(struct ctx *c, const struct bs_secret_keys *k,
    bool needed, bool *file_failed);

/* A secret the command needs is missing: an error, or a warning (with a
 * word that the run commands refuse to start) under BS_USES_LENIENT. */
void bs_config_need(struct ctx *c, const struct bs_ynode *at,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* `name` (shown in messages) holding url is http(s)://host[:port][/path],
 * and https unless the host is a loopback address (`what` would travel in
 * clear: "the Sleuth token"). Errors go at node `at`. */
void bs_config_check_http_url(struct ctx *c, const struct bs_ynode *at,
    const char *name, const char *url, const char *what);

/* === check_api.c ========================================================== */

/* bitbucket.api.* and backfill.*: URLs, credentials (resolved into c->cfg
 * from the environment), and the waits against worker.visibility_timeout. */
void bs_config_check_api(struct ctx *c);

/* === check_redis.c ======================================================== */

/* redis.*: one topology of redis.url, redis.sentinel and redis.cluster
 * (cfg->redis.url set to NULL under sentinel or cluster), the URL
 * (rediss:// refused), the host:port lists, redis.db, the WAIT settings
 * and queue.shards. */
void bs_config_check_redis(struct ctx *c);

/* The node at the dotted path ("redis.sentinel.master") in c->root: its
 * value, or with key its key node; the deepest one present when the path
 * stops early (a section), NULL when not even its first part is there. */
const struct bs_ynode *bs_config_node(const struct ctx *c, const char *path,
    bool key);

/* === keys.c =============================================================== */

/* Maps the mapping c->root (not NULL) onto c->cfg through the key tables,
 * deployments included (c->dep_nodes, c->dep_index are set for them);
 * every problem goes to c->d. */
void bs_config_walk(struct ctx *c);

/* bs_config_each_key (config.h) is defined there too. */

/* === projects.c =========================================================== */

/* Maps the environments mapping v (at path) of code deployment cd: each
 * slug to a branch or a list of branches (null: none), with the value's
 * line and column. */
void bs_config_parse_envs(struct ctx *c, const struct bs_ynode *v,
    const char *path, struct bs_code_deployment *cd);

/* Checks project p, just mapped from the idx-th item m of the projects
 * list (c->cfg->projects[0 .. n_projects) are the earlier ones): slugs,
 * discover against code_deployments, and each code deployment (through
 * the checks deployments.c shares). */
void bs_config_check_project(struct ctx *c, const struct bs_ynode *m,
    size_t idx, struct bs_project *p);

/* After the walk: appends the targets of every hand-written code
 * deployment to c->cfg->deployments (config/expand.h), and warns at a
 * target that an earlier one already reaches. */
void bs_config_expand_projects(struct ctx *c);

/* The projects' secrets (check_secrets calls it after the flat
 * deployments'): each project's register token (copied into its
 * targets), the GraphQL tokens of discovery. *global_needed is set when a
 * project uses sleuth.token; *global_reported says whether its absence
 * was reported, and is set once this reports it. */
void bs_config_project_secrets(struct ctx *c, bool *global_needed,
    bool *global_reported);

/* The checks that need the whole file (after bs_config_check_api):
 * sleuth.graphql_url (resolved from base_url when unset), and path_prefix
 * written while no Bitbucket API credentials are configured. */
void bs_config_check_projects(struct ctx *c);

/* === deployments.c ======================================================== */

/* Checks dep, just mapped from the idx-th item m of the deployments list:
 * required keys, slugs, repository, branches, tag_pattern (set to "*" when
 * absent), token_env, tags (rewritten to '#tag'), and a warning when one
 * of c->cfg->deployments[0 .. n_deployments), the earlier ones, has the
 * same org, deployment and environment. */
void bs_config_check_deployment(struct ctx *c, const struct bs_ynode *m,
    size_t idx, struct bs_deployment *dep);

/* The value checks a flat deployment and a code deployment share; path
 * names the key in messages ("deployments[0].org"), at its node. */
/* A Sleuth slug (error); with lower, a warning for upper-case letters. */
void bs_config_check_slug(struct ctx *c, const struct bs_ynode *at,
    const char *path, const char *s, bool lower);
/* "workspace/repo" or "PROJECT/repo" (error). */
void bs_config_check_repository(struct ctx *c, const struct bs_ynode *at,
    const char *path, const char *repo);
/* One branch name of a target with track `track`: empty (error), or one
 * git refuses (warning; not judged under track: tag). */
void bs_config_check_branch(struct ctx *c, const struct bs_ynode *at,
    const char *path, const char *branch, enum bs_track track);
/* track against tag_pattern (warnings; *tag_pattern is set to "*" when
 * NULL). prefix is the item's path, track_at / tp_at the keys' nodes. */
void bs_config_check_tag_pattern(struct ctx *c, const char *prefix,
    enum bs_track track, char **tag_pattern, const struct bs_ynode *track_at,
    const struct bs_ynode *tp_at);
/* tags[0..n) rewritten to '#tag', errors for invalid ones (list node
 * tn, path the key's). */
void bs_config_check_tags(struct ctx *c, const struct bs_ynode *tn,
    const char *path, char **tags, size_t n);
/* A path_prefix (node pn, path the key's): no empty entry, no '..' part
 * (errors); a leading '/' is dropped. */
void bs_config_check_paths(struct ctx *c, const struct bs_ynode *pn,
    const char *path, struct bs_path_prefix *pp);

/* === key_tables.c ========================================================= */

/* How a key's value is mapped onto its field. */
enum bs_key_kind {
	K_STR,          /* char * */
	K_BOOL,         /* bool */
	K_INT,          /* int, integer */
	K_SZ,           /* size_t, integer */
	K_LL,           /* long long, integer */
	K_MS,           /* int ms, duration, bare = ms */
	K_SEC,          /* int s, duration, bare = s */
	K_MS64,         /* int64_t ms, duration, bare = s */
	K_SIZE,         /* size_t bytes, size */
	K_LIST,         /* char ** at off, size_t count at off2: list or string */
	K_CIDRS,        /* struct bs_cidr * at off, size_t count at off2: list
	                 * or string of address ranges */
	K_TRACK,        /* enum bs_track */
	K_TRI,          /* int -1/0/1 from a bool */
	K_TRACKI,       /* int from push/merge/tag (code deployments; -1 unset) */
	K_MAP,          /* a section: sub table, same base */
	K_DEPLOYMENTS,  /* the list of deployments (deployment_keys) */
	K_PROJECTS,     /* the list of projects (sub) */
	K_CODE_DEPS,    /* a project's code deployments (sub) */
	K_ENVS,         /* environments: mapped by projects.c */
	K_PATHS,        /* struct bs_path_prefix at off: a string or list
	                 * (includes), or a mapping through sub */
};

/* One key: name, kind, field offset(s) from the base (the struct the
 * table maps onto), range, sub-table (K_MAP, lists of mappings, K_PATHS);
 * a table ends with a NULL name. */
struct bs_keydef {
	const char *name;
	enum bs_key_kind kind;
	size_t off, off2;
	long long min, max;
	const struct bs_keydef *sub;
};

/* Every top-level key; the others hang below through sub. */
extern const struct bs_keydef bs_config_top_keys[];

/* === scalars.c ============================================================ */

/* A decimal integer of exactly len bytes (at most 20); 0 or -1. */
int bs_config_parse_ll(const char *s, size_t len, long long *out);

/* A size in s[0..len): bytes, or with B, KB, MB, GB, KiB, MiB, GiB (any
 * case) -> *bytes. Returns 0, or -1 when malformed or too large. */
int bs_config_parse_size(const char *s, size_t len, long long *bytes);

/* A plain scalar true/yes/on or false/no/off (three spellings each) ->
 * *out. Returns 0, or -1 for anything else (quoted, a list, ...). */
int bs_config_parse_bool(const struct bs_ynode *n, bool *out);

/* bs_config_parse_duration (config.h) is defined there too. */

/* Whether s looks like an environment variable name ([A-Za-z_][A-Za-z0-9_]*,
 * at most 128 bytes). */
bool bs_config_is_env_name(const char *s);

/* Whether s[0..len) ends with suffix. */
bool bs_config_ends_with(const char *s, size_t len, const char *suffix);

/* Whether the value of a *_env key reads like a secret rather than a
 * variable name: long, no '_', and mixed case or letters with digits. */
bool bs_config_looks_like_secret(const char *s);

/* Levenshtein distance of a and b (99 beyond 40 bytes): "did you mean". */
size_t bs_config_edit_distance(const char *a, const char *b);

/* The *_env key to suggest when the unknown key k looks like a literal
 * secret ("token" -> "token_env"), else NULL. */
const char *bs_config_secret_key_hint(const struct bs_ynode *k);

/* === config_diag.c ======================================================== */

/* Adds a diagnostic at node `at` (NULL: not tied to a place). */
void bs_config_diag_at(struct ctx *c, enum bs_diag_severity sev,
    const struct bs_ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define ERR(c, at, ...)  bs_config_diag_at((c), BS_DIAG_ERROR, (at), __VA_ARGS__)
#define WARN(c, at, ...) bs_config_diag_at((c), BS_DIAG_WARNING, (at), __VA_ARGS__)

/* Sorts d->items[from..] by place, stably; those not tied to a place
 * last. */
void bs_config_sort_diags(struct bs_diags *d, size_t from);

/* A printable, shortened copy of a user value for messages. */
const char *bs_config_show(char *out, size_t outlen, const char *s, size_t len);
#define SHOW(n) bs_config_show((char[64]){ 0 }, 64, (n)->str, (n)->len)

/* "a mapping", "a list" or "a scalar". */
const char *bs_config_type_name(const struct bs_ynode *n);

#endif
