/* sleuth_graphql: the project query and Sleuth's answer, over json_sax
 * (see sleuth_graphql.h for the contract).
 *
 * The answer is walked with one state per object of interest (root, data,
 * project, a change source, its repository, a mapping) and two for the
 * arrays (changeSources, environmentMappings); everything else is skipped
 * by the SAX layer unread. A change source is collected in `cur` while its
 * object is open and judged when it closes (kept, skipped_other or
 * skipped_bad); a mapping likewise, when its object closes. A repeated key
 * replaces what the earlier one said (last wins): a repeated object or
 * array starts over. */
#include "parsers/sleuth_graphql.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <yajl/yajl_gen.h>

#include "parsers/bb_paging.h"
#include "parsers/json_sax.h"
#include "parsers/utf8.h"

#define QUERY \
	"query($projectSlug: ID!) { project(projectSlug: $projectSlug) { " \
	"changeSources { type ... on CodeChangeSource { slug name " \
	"repository { owner name provider url } deployTrackingType " \
	"pathPrefix environmentMappings { environmentSlug branch } } } } }"

/* Longest Sleuth slug accepted. */
#define SLUG_MAX 100
/* Most bytes of Sleuth's own error message repeated in err. */
#define MESSAGE_MAX 120
/* Most path prefixes in one include or exclude list. */
#define PREFIX_MAX 100

static bool
gen_str(yajl_gen g, const char *s)
{
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) ==
	    yajl_gen_status_ok;
}

char *
bs_graphql_project_query(struct bs_arena *a, const char *project_slug,
    size_t *len)
{
	char *out = NULL;
	const unsigned char *buf;
	size_t n;

	*len = 0;
	if (!project_slug ||
	    bs_utf8_valid(project_slug, strlen(project_slug)) != 0)
		return NULL;   /* yajl's own check lets overlong forms through */
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		return NULL;
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok &&
	    gen_str(g, "query") && gen_str(g, QUERY) &&
	    gen_str(g, "variables") &&
	    yajl_gen_map_open(g) == yajl_gen_status_ok &&
	    gen_str(g, "projectSlug") && gen_str(g, project_slug) &&
	    yajl_gen_map_close(g) == yajl_gen_status_ok &&
	    yajl_gen_map_close(g) == yajl_gen_status_ok &&
	    yajl_gen_get_buf(g, &buf, &n) == yajl_gen_status_ok;
	if (ok) {
		out = bs_arena_strndup(a, (const char *)buf, n);
		*len = n;
	}
	yajl_gen_free(g);
	return out;
}

/* === the answer === */

enum {
	K_errors = 2, K_message, K_data, K_project, K_changeSources, K_type,
	K_slug, K_name, K_repository, K_owner, K_provider,
	K_deployTrackingType, K_pathPrefix, K_environmentMappings,
	K_environmentSlug, K_branch, K_N
};

static const char *const keys[K_N] = {
	[K_errors] = "errors", [K_message] = "message", [K_data] = "data",
	[K_project] = "project", [K_changeSources] = "changeSources",
	[K_type] = "type", [K_slug] = "slug", [K_name] = "name",
	[K_repository] = "repository", [K_owner] = "owner",
	[K_provider] = "provider",
	[K_deployTrackingType] = "deployTrackingType",
	[K_pathPrefix] = "pathPrefix",
	[K_environmentMappings] = "environmentMappings",
	[K_environmentSlug] = "environmentSlug", [K_branch] = "branch",
};

enum {
	S_TOP = 1, S_ROOT, S_ERRORS, S_ERROR, S_DATA, S_PROJECT, S_SOURCES,
	S_SOURCE, S_REPO, S_MAPS, S_MAP,
};

/* String fields of a change source ([F_*]), its repository and a mapping. */
enum {
	F_TYPE, F_SLUG, F_NAME, F_TRACKING, F_PREFIX,
	F_OWNER, F_REPO_NAME, F_PROVIDER,
	F_ENV, F_BRANCH,
	F_N
};

struct gql {
	struct bs_arena *a;
	bool root;                 /* the top-level value is an object */
	/* errors: BS_JSON_SEEN_* of the array (OK once it has an element) */
	unsigned char errors;
	char *message;             /* the first error's message */
	unsigned char data, project, sources;   /* BS_JSON_SEEN_*; project
	                                         * null = NONE */
	struct bs_code_deployment *items;
	size_t n, cap, other, bad;
	/* The open change source and mapping. */
	char *s[F_N];
	bool wrong[F_N];           /* present with a JSON type other than
	                            * string or null */
	/* The open change source's repository is not an object, its
	 * environmentMappings not an array or over the cap (each cleared
	 * when its key comes again: last wins). */
	bool repo_bad, maps_bad;
	struct bs_env_mapping *envs;
	size_t n_envs, envs_cap, maps_seen;
};

static bool
slug_ok(const char *s)
{
	size_t n = 0;
	if (!s)
		return false;
	for (; s[n]; n++) {
		char ch = s[n];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
	}
	return n > 0 && n <= SLUG_MAX;
}

/* The slots a state owns, cleared when it opens. */
static void
clear(struct gql *c, int state)
{
	int lo = -1, hi = -1;
	switch (state) {
	case S_SOURCE:
		lo = F_TYPE, hi = F_PROVIDER;
		c->repo_bad = c->maps_bad = false;
		c->envs = NULL;
		c->n_envs = c->envs_cap = c->maps_seen = 0;
		break;
	case S_REPO:
		lo = F_OWNER, hi = F_PROVIDER;
		c->repo_bad = false;
		break;
	case S_MAPS:
		c->maps_bad = false;
		c->envs = NULL;
		c->n_envs = c->envs_cap = c->maps_seen = 0;
		break;
	case S_MAP:
		lo = F_ENV, hi = F_BRANCH;
		break;
	case S_SOURCES:
		c->items = NULL;
		c->n = c->cap = c->other = c->bad = 0;
		break;
	case S_PROJECT:
		c->sources = BS_JSON_SEEN_NONE;
		clear(c, S_SOURCES);
		break;
	case S_DATA:
		c->project = BS_JSON_SEEN_NONE;
		clear(c, S_PROJECT);
		break;
	case S_ERRORS:
		c->errors = BS_JSON_SEEN_NONE;
		c->message = NULL;
		break;
	default:
		break;
	}
	for (int f = lo; f >= 0 && f <= hi; f++) {
		c->s[f] = NULL;
		c->wrong[f] = false;
	}
}

/* The state of a container under key in state (BS_JSON_SKIP: none);
 * *array whether it must be an array, *seen where its presence goes. */
static int
child_of(struct gql *c, int state, int key, bool *array,
    unsigned char **seen)
{
	*array = false;
	*seen = NULL;
	switch (state) {
	case S_TOP:
		return S_ROOT;
	case S_ROOT:
		if (key == K_errors) {
			*array = true;
			*seen = &c->errors;
			return S_ERRORS;
		}
		if (key == K_data) {
			*seen = &c->data;
			return S_DATA;
		}
		return BS_JSON_SKIP;
	case S_ERRORS:
		return key == BS_JSON_KEY_ELEM ? S_ERROR : BS_JSON_SKIP;
	case S_DATA:
		if (key != K_project)
			return BS_JSON_SKIP;
		*seen = &c->project;
		return S_PROJECT;
	case S_PROJECT:
		if (key != K_changeSources)
			return BS_JSON_SKIP;
		*array = true;
		*seen = &c->sources;
		return S_SOURCES;
	case S_SOURCES:
		return S_SOURCE;
	case S_SOURCE:
		if (key == K_repository)
			return S_REPO;
		if (key == K_environmentMappings) {
			*array = true;
			return S_MAPS;
		}
		return BS_JSON_SKIP;
	case S_MAPS:
		return S_MAP;
	default:
		return BS_JSON_SKIP;
	}
}

/* The string slot of key in state, or -1. */
static int
field_of(int state, int key)
{
	switch (state) {
	case S_SOURCE:
		switch (key) {
		case K_type: return F_TYPE;
		case K_slug: return F_SLUG;
		case K_name: return F_NAME;
		case K_deployTrackingType: return F_TRACKING;
		case K_pathPrefix: return F_PREFIX;
		default: return -1;
		}
	case S_REPO:
		switch (key) {
		case K_owner: return F_OWNER;
		case K_name: return F_REPO_NAME;
		case K_provider: return F_PROVIDER;
		default: return -1;
		}
	case S_MAP:
		switch (key) {
		case K_environmentSlug: return F_ENV;
		case K_branch: return F_BRANCH;
		default: return -1;
		}
	default:
		return -1;
	}
}

/* A change source past the cap: counted, not read. */
static bool
sources_full(const struct gql *c)
{
	return c->n + c->other + c->bad >= BS_GQL_MAX_SOURCES;
}

/* One more environment mapping in the open change source; false past the
 * cap (the source is then left out). */
static bool
count_map(struct gql *c)
{
	if (++c->maps_seen <= BS_GQL_MAX_MAPPINGS)
		return true;
	c->maps_bad = true;
	return false;
}

/* Something other than the expected container `child` (a scalar, or null
 * when is_null) stands where it should. A mapping that is not an object
 * is dropped. */
static void
not_container(struct gql *c, int child, unsigned char *seen, bool is_null)
{
	if (seen)
		*seen = is_null ? BS_JSON_SEEN_NONE : BS_JSON_SEEN_WRONG;
	if (child == S_SOURCE)
		c->bad++;          /* a change source that is not an object */
	else if (child == S_REPO && !is_null)
		c->repo_bad = true;
	else if (child == S_MAPS && !is_null)
		c->maps_bad = true;
	else if (child == S_ERROR && c->errors == BS_JSON_SEEN_NONE)
		c->errors = BS_JSON_SEEN_OK;   /* an error without a message */
}

static int
cb_open(struct bs_json_sax *sax, int state, int key, size_t idx,
    bool is_array)
{
	struct gql *c = sax->ctx;
	bool array;
	unsigned char *seen;
	(void)idx;

	int f = field_of(state, key);
	if (f >= 0) {
		c->s[f] = NULL;
		c->wrong[f] = true;
		return BS_JSON_SKIP;
	}
	int child = child_of(c, state, key, &array, &seen);
	if (child == BS_JSON_SKIP)
		return BS_JSON_SKIP;
	if (child == S_SOURCE && sources_full(c)) {
		c->bad++;
		return BS_JSON_SKIP;
	}
	if (child == S_MAP && !count_map(c))
		return BS_JSON_SKIP;
	clear(c, child);
	if (array != is_array) {
		not_container(c, child, seen, false);
		return BS_JSON_SKIP;
	}
	if (seen)
		*seen = BS_JSON_SEEN_OK;
	if (child == S_ROOT)
		c->root = true;
	if (child == S_ERRORS)
		c->errors = BS_JSON_SEEN_NONE;   /* OK once it has an element */
	if (child == S_ERROR && c->errors == BS_JSON_SEEN_NONE)
		c->errors = BS_JSON_SEEN_OK;
	return child;
}

static void
cb_value(struct bs_json_sax *sax, int state, int key, size_t idx,
    enum bs_json_type t, const char *s, size_t len)
{
	struct gql *c = sax->ctx;
	bool array;
	unsigned char *seen;
	(void)idx;

	if (state == S_ERROR) {
		if (key == K_message && t == BS_JSON_STRING && !c->message)
			c->message = bs_arena_strndup(c->a, s,
			    bs_utf8_cut(s, len, MESSAGE_MAX));
		return;
	}
	int f = field_of(state, key);
	if (f >= 0) {
		c->s[f] = NULL;
		/* over the string cap: wrong, not cut (a cut pathPrefix
		 * could take other files, a cut branch another branch); only
		 * a name, shown and never matched, is kept cut */
		c->wrong[f] = (t != BS_JSON_NULL && t != BS_JSON_STRING) ||
		    (t == BS_JSON_STRING && len > sax->max_string &&
		    f != F_NAME);
		if (t == BS_JSON_STRING && !c->wrong[f])
			c->s[f] = bs_json_sax_keep(sax, c->a, s, len);
		return;
	}
	int child = child_of(c, state, key, &array, &seen);
	if (child == BS_JSON_SKIP)
		return;
	if (child == S_SOURCE && sources_full(c)) {
		c->bad++;
		return;
	}
	if (child == S_MAP && !count_map(c))
		return;
	clear(c, child);
	not_container(c, child, seen, t == BS_JSON_NULL);
}

static void
upper(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
}

static bool
has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Whether the len bytes at s hold a control byte (< 0x20, 0x7F): not to
 * be printed. */
static bool
has_control_n(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
			return true;
	return false;
}

static bool
has_control(const char *s)
{
	return s && has_control_n(s, strlen(s));
}

/* s without its leading and trailing spaces, in place. */
static char *
trim_spaces(char *s)
{
	if (!s)
		return NULL;
	while (*s == ' ')
		s++;
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
	return s;
}

static void
close_map(struct bs_json_sax *sax, struct gql *c)
{
	char *env = c->s[F_ENV], *br = trim_spaces(c->s[F_BRANCH]);
	if (c->maps_bad || !slug_ok(env) || !br || !br[0] || has_control(br))
		return;   /* dropped */
	struct bs_env_mapping *m = bs_json_sax_push(sax, c->a,
	    (void **)&c->envs, &c->n_envs, &c->envs_cap, sizeof(*m),
	    BS_GQL_MAX_MAPPINGS, "environment mappings");
	if (!m)
		return;
	size_t bl = strlen(br);
	m->environment = env;
	m->branches = bs_arena_alloc(c->a, sizeof(char *));
	m->n_branches = 1;
	if (!has_glob(br) && br[bl - 1] == '/')
		m->branches[0] = bs_arena_printf(c->a, "%s*", br);
	else
		m->branches[0] = br;
}

static bool
repo_part_ok(const char *s)
{
	if (!s || !s[0])
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == '/' || *s == 0x7F)
			return false;
	return true;
}

static void
close_source(struct bs_json_sax *sax, struct gql *c)
{
	char **s = c->s;
	struct bs_path_prefix pp;
	char why[120];

	if (c->wrong[F_TYPE] || (s[F_TYPE] && strcasecmp(s[F_TYPE], "CODE"))) {
		if (c->wrong[F_TYPE])
			c->bad++;
		else
			c->other++;
		return;
	}
	bool have_repo = s[F_OWNER] || s[F_REPO_NAME] || s[F_PROVIDER];
	if (have_repo && !c->wrong[F_PROVIDER] && (!s[F_PROVIDER] ||
	    strncasecmp(s[F_PROVIDER], "BITBUCKET", 9) != 0)) {
		c->other++;
		return;
	}
	bool bad = c->repo_bad || c->maps_bad || !slug_ok(s[F_SLUG]) ||
	    c->wrong[F_SLUG] || !repo_part_ok(s[F_OWNER]) || !repo_part_ok(s[F_REPO_NAME]) ||
	    c->wrong[F_PROVIDER] || c->wrong[F_PREFIX] || c->n_envs == 0;
	memset(&pp, 0, sizeof(pp));
	if (!bad && s[F_PREFIX] && bs_path_prefix_parse(s[F_PREFIX],
	    strlen(s[F_PREFIX]), c->a, &pp, why, sizeof(why)) != 0)
		bad = true;
	if (bad) {
		c->bad++;
		return;
	}
	struct bs_code_deployment *d = bs_json_sax_push(sax, c->a,
	    (void **)&c->items, &c->n, &c->cap, sizeof(*d), BS_GQL_MAX_SOURCES,
	    "change sources");
	if (!d)
		return;
	d->deployment = s[F_SLUG];
	d->name = c->wrong[F_NAME] || has_control(s[F_NAME]) ? NULL : s[F_NAME];
	d->repository = bs_arena_printf(c->a, "%s/%s", s[F_OWNER],
	    s[F_REPO_NAME]);
	d->track = -1;
	d->envs = c->envs;
	d->n_envs = c->n_envs;
	d->paths = pp;
	d->tracking_type = c->wrong[F_TRACKING] ||
	    has_control(s[F_TRACKING]) ? NULL : s[F_TRACKING];
	if (d->tracking_type)
		upper(d->tracking_type);
}

static void
cb_close(struct bs_json_sax *sax, int state, bool is_array)
{
	struct gql *c = sax->ctx;
	(void)is_array;

	if (state == S_MAP)
		close_map(sax, c);
	else if (state == S_SOURCE)
		close_source(sax, c);
}

static const struct bs_json_sax_ops ops = {
	.open = cb_open,
	.value = cb_value,
	.close = cb_close,
};

/* Sleuth's message, printable ASCII only, for err. */
static void
refused(const char *msg, char *err, size_t errlen)
{
	char clean[MESSAGE_MAX + 1];
	size_t n = 0;
	for (const char *p = msg ? msg : ""; *p && n < MESSAGE_MAX; p++) {
		unsigned char ch = (unsigned char)*p;
		clean[n++] = ch >= 0x20 && ch < 0x7F ? (char)ch : '?';
	}
	clean[n] = '\0';
	if (err && errlen)
		snprintf(err, errlen, "Sleuth refused: %s",
		    n ? clean : "(no message)");
}

int
bs_graphql_parse_project(const char *body, size_t len, struct bs_arena *a,
    struct bs_discovered *out, char *err, size_t errlen)
{
	struct gql c;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.a = a;
	if (bs_json_body_parse(&ops, &c, keys, K_N, S_TOP, body, len, err,
	    errlen) != 0)
		return -1;
	if (!c.root)
		return bs_bb_fail(err, errlen, "top-level JSON value is not an object");
	if (c.errors != BS_JSON_SEEN_NONE) {
		refused(c.message, err, errlen);
		return -1;
	}
	if (c.data == BS_JSON_SEEN_WRONG)
		return bs_bb_fail(err, errlen, "data is not an object");
	if (c.data == BS_JSON_SEEN_NONE || c.project == BS_JSON_SEEN_NONE)
		return bs_bb_fail(err, errlen, "no such project");
	if (c.project == BS_JSON_SEEN_WRONG)
		return bs_bb_fail(err, errlen, "data.project is not an object");
	if (c.sources != BS_JSON_SEEN_OK)
		return bs_bb_fail(err, errlen,
		    "data.project.changeSources is not an array");
	out->items = c.items;
	out->n = c.n;
	out->skipped_other = c.other;
	out->skipped_bad = c.bad;
	return 0;
}

/* === pathPrefix === */

enum { PK_includes = 2, PK_excludes, PK_N };

static const char *const pp_keys[PK_N] = {
	[PK_includes] = "includes", [PK_excludes] = "excludes",
};

enum { P_TOP = 1, P_ROOT, P_INC, P_EXC };

struct pp {
	struct bs_arena *a;
	struct bs_path_prefix *out;
	bool root;
};

/* Adds s[0..len) to list *v (count *n), trimmed of spaces and one leading
 * '/'; an empty one is dropped. Returns NULL, or why it cannot be. */
static const char *
pp_add(struct bs_arena *a, char ***v, size_t *n, const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len > 0 && *s == '/')
		s++, len--;
	if (len == 0)
		return NULL;
	if (has_control_n(s, len))
		return "a path prefix holds a control character";
	if (*n >= PREFIX_MAX)
		return "more than 100 path prefixes in one list";
	char **nv = bs_arena_alloc(a, (*n + 1) * sizeof(char *));
	if (*n)
		memcpy(nv, *v, *n * sizeof(char *));
	nv[(*n)++] = bs_arena_strndup(a, s, len);
	*v = nv;
	return NULL;
}

static int
pp_open(struct bs_json_sax *sax, int state, int key, size_t idx,
    bool is_array)
{
	struct pp *c = sax->ctx;
	(void)idx;
	if (state == P_TOP) {
		c->root = !is_array;
		return is_array ? BS_JSON_SKIP : P_ROOT;
	}
	if (state == P_ROOT && (key == PK_includes || key == PK_excludes)) {
		if (!is_array) {
			bs_json_sax_fail(sax, BS_PARSE_SCHEMA, "%s is not an array",
			    pp_keys[key]);
			return BS_JSON_SKIP;
		}
		if (key == PK_includes)
			c->out->n_includes = 0, c->out->includes = NULL;
		else
			c->out->n_excludes = 0, c->out->excludes = NULL;
		return key == PK_includes ? P_INC : P_EXC;
	}
	if (state == P_INC || state == P_EXC)
		bs_json_sax_fail(sax, BS_PARSE_SCHEMA,
		    "a path prefix is not a string");
	return BS_JSON_SKIP;
}

static void
pp_value(struct bs_json_sax *sax, int state, int key, size_t idx,
    enum bs_json_type t, const char *s, size_t len)
{
	struct pp *c = sax->ctx;
	struct bs_path_prefix *o = c->out;
	const char *why = NULL;
	(void)idx;

	if (state == P_ROOT && (key == PK_includes || key == PK_excludes)) {
		if (t != BS_JSON_NULL)
			why = key == PK_includes ? "includes is not an array"
			    : "excludes is not an array";
		else if (key == PK_includes)
			o->n_includes = 0, o->includes = NULL;
		else
			o->n_excludes = 0, o->excludes = NULL;
	} else if (state == P_INC || state == P_EXC) {
		if (t != BS_JSON_STRING)
			why = "a path prefix is not a string";
		else if (state == P_INC)
			why = pp_add(c->a, &o->includes, &o->n_includes, s, len);
		else
			why = pp_add(c->a, &o->excludes, &o->n_excludes, s, len);
	}
	if (why)
		bs_json_sax_fail(sax, BS_PARSE_SCHEMA, "%s", why);
}

static void
pp_close(struct bs_json_sax *sax, int state, bool is_array)
{
	(void)sax;
	(void)state;
	(void)is_array;
}

static const struct bs_json_sax_ops pp_ops = {
	.open = pp_open,
	.value = pp_value,
	.close = pp_close,
};

int
bs_path_prefix_parse(const char *s, size_t len, struct bs_arena *a,
    struct bs_path_prefix *out, char *err, size_t errlen)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (!s)
		return 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
	    s[i] == '\r'))
		i++;
	if (i == len)
		return 0;
	if (s[i] == '{') {
		struct pp c = { .a = a, .out = out };
		if (bs_json_body_parse(&pp_ops, &c, pp_keys, PK_N, P_TOP, s, len,
		    err, errlen) != 0 || !c.root) {
			if (!c.root)
				bs_bb_fail(err, errlen, "not a JSON object");
			memset(out, 0, sizeof(*out));
			return -1;
		}
		return 0;
	}
	if (bs_utf8_valid(s, len) != 0)
		return bs_bb_fail(err, errlen, "invalid UTF-8");
	for (size_t start = 0; start <= len;) {
		const char *comma = memchr(s + start, ',', len - start);
		size_t end = comma ? (size_t)(comma - s) : len;
		const char *why = pp_add(a, &out->includes, &out->n_includes,
		    s + start, end - start);
		if (why) {
			memset(out, 0, sizeof(*out));
			return bs_bb_fail(err, errlen, why);
		}
		start = end + 1;
	}
	return 0;
}
