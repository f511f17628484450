/* yaml_doc: a small YAML document tree with a line and column per node,
 * built from libyaml's event parser, for the config loader. Private to
 * config/.
 *
 * Only what a configuration file needs: scalars (kept as text, with a flag
 * telling plain from quoted), sequences and mappings with scalar keys.
 * Aliases are refused (no billion-laughs expansion), as are a second
 * document, nesting deeper than BS_YDOC_MAX_DEPTH and more than
 * BS_YDOC_MAX_NODES nodes. Every node lives in the caller's arena. */
#ifndef BS_YAML_DOC_H
#define BS_YAML_DOC_H

#include <stddef.h>

#include "common/arena.h"

#define BS_YDOC_MAX_DEPTH 64
#define BS_YDOC_MAX_NODES 100000

enum bs_ynode_type { BS_YNODE_SCALAR = 0, BS_YNODE_SEQ, BS_YNODE_MAP };

struct bs_ynode {
	enum bs_ynode_type type;
	int line;                   /* 1-based */
	int column;                 /* 1-based */
	char *str;                  /* SCALAR: NUL-terminated (may hold NULs) */
	size_t len;                 /* SCALAR: bytes of str */
	int plain;                  /* SCALAR: unquoted, not a block scalar */
	struct bs_ynode **items;    /* SEQ: items; MAP: keys at 2i, values at 2i+1 */
	size_t n;                   /* SEQ: items; MAP: pairs */
	size_t _cap;
};

/* Parses buf[0..len). On success returns 0 and *root (NULL for an empty
 * document). On error returns -1 with a message in err and its 1-based
 * place in *line / *column. */
int bs_ydoc_parse(struct bs_arena *a, const char *buf, size_t len,
    struct bs_ynode **root, char *err, size_t errlen, int *line,
    int *column);

/* Value of key in a mapping node (the first one when repeated), or NULL.
 * With key_out, the key node is returned there too. */
struct bs_ynode *bs_ynode_get(const struct bs_ynode *map, const char *key,
    struct bs_ynode **key_out);

/* True for a plain scalar "", "~", "null", "Null" or "NULL". */
int bs_ynode_is_null(const struct bs_ynode *n);

#endif
