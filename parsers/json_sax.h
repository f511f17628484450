/* json_sax: a small layer over yajl's SAX API for table-driven extractors
 * (private to parsers/).
 *
 * The layer keeps a stack of open containers, each with an extractor-chosen
 * integer "state", interns object keys into small integer ids from the
 * extractor's key list, enforces a nesting cap and turns yajl errors into
 * reasons that name a byte offset but never echo payload bytes. An
 * extractor is then three small functions that look up (state, key) in its
 * own tables:
 *   open   a container starts as the value of `key` in a container in
 *          `state`; the return value is the state of the new container,
 *          BS_JSON_SKIP (0) to skip all of it without further callbacks
 *   value  a scalar is the value of `key` in a container in `state`
 *   close  a container in a non-skip state ends
 * Inside arrays the key is BS_JSON_KEY_ELEM and `idx` is the element index.
 * The top-level value is an element (idx 0) of a virtual container in the
 * state given to bs_json_sax_init(). Unknown keys get BS_JSON_KEY_OTHER. */
#ifndef BS_JSON_SAX_H
#define BS_JSON_SAX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "parsers/bitbucket.h"

#define BS_JSON_SKIP      0   /* state: ignore this container entirely */
#define BS_JSON_KEY_OTHER 0   /* key not in the extractor's list */
#define BS_JSON_KEY_ELEM  1   /* value is an array element */
#define BS_JSON_MAX_KEYS  250 /* ids fit in a byte */

enum bs_json_type {
	BS_JSON_NULL,
	BS_JSON_BOOL,     /* s == NULL, len 1 for true, 0 for false */
	BS_JSON_NUMBER,   /* s is the number text as sent, not converted */
	BS_JSON_STRING,   /* s is unescaped UTF-8, not NUL-terminated */
};

struct bs_json_sax;

struct bs_json_sax_ops {
	int (*open)(struct bs_json_sax *sax, int state, int key, size_t idx,
	    bool is_array);
	void (*value)(struct bs_json_sax *sax, int state, int key, size_t idx,
	    enum bs_json_type t, const char *s, size_t len);
	void (*close)(struct bs_json_sax *sax, int state, bool is_array);
};

struct bs_json_frame {
	uint16_t state;
	uint8_t is_array;
	uint32_t idx;         /* next element index (arrays) */
};

#define BS_JSON_INLINE_FRAMES 66

struct bs_json_sax {
	void *ctx;                         /* the extractor's context */
	const struct bs_json_sax_ops *ops;
	const char *const *keys;           /* keys[id], ids from 2 */
	size_t n_keys;
	uint8_t slots[512];                /* open-addressing key hash -> id */
	uint8_t key_len[BS_JSON_MAX_KEYS]; /* strlen(keys[id]) */
	size_t max_depth;
	size_t max_string;
	size_t depth;                      /* open containers */
	int pending_key;                   /* key of the next value in an object */
	struct bs_json_frame *frames;      /* frames[0] is the virtual top */
	struct bs_json_frame inline_frames[BS_JSON_INLINE_FRAMES];
	enum bs_parse_status status;       /* first failure, or BS_PARSE_OK */
	char reason[160];
};

/* How an extractor last saw a required value (duplicate keys: last wins). */
enum bs_json_seen {
	BS_JSON_SEEN_NONE = 0,   /* absent */
	BS_JSON_SEEN_OK,         /* present, of the expected JSON type */
	BS_JSON_SEEN_WRONG,      /* present, of another type */
};

/* Prepares a parse. keys[0] and keys[1] are unused (may be NULL); keys[2..
 * n_keys) are the names the extractor wants ids for (n_keys at most
 * BS_JSON_MAX_KEYS; names must be distinct). top_state is the state the
 * top-level value is opened in. Release with bs_json_sax_release(). */
void bs_json_sax_init(struct bs_json_sax *sax,
    const struct bs_json_sax_ops *ops, void *ctx, const char *const *keys,
    size_t n_keys, int top_state, size_t max_depth, size_t max_string);
void bs_json_sax_release(struct bs_json_sax *sax);

/* Streams body[0..len) through yajl (strings validated, no comments, no
 * trailing garbage, one value) and the callbacks. Returns BS_PARSE_OK, or
 * BS_PARSE_BAD_JSON / BS_PARSE_LIMIT / whatever an extractor passed to
 * bs_json_sax_fail(), with a one-line reason in err. */
enum bs_parse_status bs_json_sax_run(struct bs_json_sax *sax,
    const char *body, size_t len, char *err, size_t errlen);

/* bs_json_sax_init + bs_json_sax_run + bs_json_sax_release with the depth
 * and string caps of lim: one whole extraction of body[0..len). */
enum bs_parse_status bs_json_sax_parse(const struct bs_json_sax_ops *ops,
    void *ctx, const char *const *keys, size_t n_keys, int top_state,
    const struct bs_parse_limits *lim, const char *body, size_t len,
    char *err, size_t errlen);

/* The checks both products make on a pull-request object `name`
 * ("pullrequest" / "pullRequest"), seen as BS_JSON_SEEN_*, and on its id:
 * id_text is the kept JSON number text (NULL when absent), id_wrong set
 * when the id was of another JSON type. Stores the id and returns true, or
 * writes "missing NAME object", "NAME is not an object", "missing NAME.id"
 * or "NAME.id is not an integer" into err and returns false. */
bool bs_json_pr_id(int seen, bool id_wrong, const char *id_text,
    const char *name, int64_t *id, char *err, size_t errlen);

/* Records a failure (the first one wins); the parse stops at the next
 * token. Callable from the callbacks only. */
void bs_json_sax_fail(struct bs_json_sax *sax, enum bs_parse_status st,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Copies s[0..len) into the arena, cut to the layer's max_string at a
 * UTF-8 character boundary, NUL-terminated. */
char *bs_json_sax_keep(const struct bs_json_sax *sax, struct bs_arena *a,
    const char *s, size_t len);

/* Largest n <= max such that s[0..n) ends on a UTF-8 character boundary of
 * the valid UTF-8 string s[0..len). Returns len when len <= max. */
size_t bs_utf8_cut(const char *s, size_t len, size_t max);

/* Returns the key id of name[0..len) (BS_JSON_KEY_OTHER if unknown). */
int bs_json_sax_intern(const struct bs_json_sax *sax, const char *name,
    size_t len);

/* Parses the JSON integer text s (NUL-terminated, as kept from a number
 * value) into *out; false if it is not an integer or does not fit int64. */
bool bs_json_int64(const char *s, int64_t *out);

/* Appends one zeroed element of `size` bytes to the arena array *arr (count
 * *n, capacity *cap) and returns it, unless the array already holds `max`:
 * then fails sax with BS_PARSE_LIMIT "more than MAX WHAT" and returns NULL.
 * The one place where the extractors' lists grow. */
void *bs_json_sax_push(struct bs_json_sax *sax, struct bs_arena *a,
    void **arr, size_t *n, size_t *cap, size_t size, size_t max,
    const char *what);

/* Appends parent hash `hash` (arena-owned, may be NULL: nothing happens) to
 * commit m of ev, growing m->parents with capacity *cap; fails sax with
 * BS_PARSE_LIMIT past max parents. Shared by the Cloud and DC extractors. */
void bs_json_sax_add_parent(struct bs_json_sax *sax, struct bs_event *ev,
    struct bs_commit *m, size_t *cap, char *hash, size_t max);

#endif
