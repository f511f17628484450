/* yaml_doc: see yaml_doc.h.
 *
 * One pass over libyaml's events with an explicit stack of open
 * containers (bounded by BS_YDOC_MAX_DEPTH). A scalar or container that
 * opens inside a mapping is its key when the mapping has no pending key,
 * else that key's value. libyaml marks are 0-based; ours are 1-based.
 * Nodes and their child arrays are allocated in the caller's arena, so an
 * error part-way leaks nothing and the caller frees all at once. */
#include "config/yaml_doc.h"

#include <stdio.h>
#include <string.h>

#include <yaml.h>

struct frame {
	struct bs_ynode *node;
	struct bs_ynode *key;       /* MAP: pending key */
};

struct builder {
	struct bs_arena *a;
	struct frame stack[BS_YDOC_MAX_DEPTH];
	size_t depth;
	size_t nodes;
	struct bs_ynode *root;
	int have_root;
	char *err;
	size_t errlen;
	int *line, *column;
};

static int
fail(struct builder *b, yaml_mark_t m, const char *msg)
{
	snprintf(b->err, b->errlen, "%s", msg);
	*b->line = (int)m.line + 1;
	*b->column = (int)m.column + 1;
	return -1;
}

/* Appends c to the items array of parent (count kept in `count`). */
static void
append(struct builder *b, struct bs_ynode *parent, size_t *count,
    struct bs_ynode *c)
{
	size_t cap = parent->_cap;
	struct bs_ynode **slot = bs_arena_push(b->a, (void **)&parent->items,
	    count, &cap, sizeof(*slot));
	parent->_cap = cap;
	*slot = c;
}

/* Attaches a new node to the open container (or makes it the root). */
static int
attach(struct builder *b, struct bs_ynode *n, yaml_mark_t m)
{
	if (++b->nodes > BS_YDOC_MAX_NODES)
		return fail(b, m, "too many yaml nodes");
	if (b->depth == 0) {
		if (b->have_root)
			return fail(b, m, "only one yaml document is allowed");
		b->root = n;
		b->have_root = 1;
		return 0;
	}
	struct frame *f = &b->stack[b->depth - 1];
	struct bs_ynode *p = f->node;
	if (p->type == BS_YNODE_SEQ) {
		append(b, p, &p->n, n);
		return 0;
	}
	if (!f->key) {
		if (n->type != BS_YNODE_SCALAR)
			return fail(b, m, "mapping keys must be plain strings");
		f->key = n;
		return 0;
	}
	/* items holds key, value, key, value... : 2n entries. */
	size_t cnt = 2 * p->n;
	append(b, p, &cnt, f->key);
	append(b, p, &cnt, n);
	p->n = cnt / 2;
	f->key = NULL;
	return 0;
}

static struct bs_ynode *
new_node(struct builder *b, enum bs_ynode_type t, yaml_mark_t m)
{
	struct bs_ynode *n = bs_arena_alloc(b->a, sizeof(*n));
	n->type = t;
	n->line = (int)m.line + 1;
	n->column = (int)m.column + 1;
	return n;
}

static int
open_container(struct builder *b, enum bs_ynode_type t, yaml_mark_t m)
{
	if (b->depth >= BS_YDOC_MAX_DEPTH)
		return fail(b, m, "yaml nesting too deep");
	struct bs_ynode *n = new_node(b, t, m);
	if (attach(b, n, m) != 0)
		return -1;
	b->stack[b->depth].node = n;
	b->stack[b->depth].key = NULL;
	b->depth++;
	return 0;
}

static int
on_event(struct builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->have_root)
			return fail(b, ev->start_mark,
			    "only one yaml document is allowed");
		return 0;
	case YAML_ALIAS_EVENT:
		return fail(b, ev->start_mark,
		    "yaml aliases (*name) are not supported");
	case YAML_SCALAR_EVENT: {
		struct bs_ynode *n = new_node(b, BS_YNODE_SCALAR, ev->start_mark);
		n->len = ev->data.scalar.length;
		n->str = bs_arena_strndup(b->a, (const char *)ev->data.scalar.value,
		    n->len);
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		return attach(b, n, ev->start_mark);
	}
	case YAML_SEQUENCE_START_EVENT:
		return open_container(b, BS_YNODE_SEQ, ev->start_mark);
	case YAML_MAPPING_START_EVENT:
		return open_container(b, BS_YNODE_MAP, ev->start_mark);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0)
			b->depth--;
		return 0;
	default:
		return 0;
	}
}

int
bs_ydoc_parse(struct bs_arena *a, const char *buf, size_t len,
    struct bs_ynode **root, char *err, size_t errlen, int *line, int *column)
{
	struct builder b = { .a = a, .err = err, .errlen = errlen, .line = line,
		.column = column };
	yaml_parser_t p;
	*root = NULL;
	*line = *column = 0;
	if (errlen)
		err[0] = '\0';
	if (!yaml_parser_initialize(&p)) {
		snprintf(err, errlen, "cannot initialise the yaml parser");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	int rc = 0, done = 0;
	while (!done) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			yaml_mark_t m = p.problem_mark;
			if (p.error == YAML_MEMORY_ERROR || (m.line == 0 &&
			    m.column == 0 && m.index == 0 && p.context))
				m = p.context_mark;
			if (p.context)
				snprintf(err, errlen, "yaml: %s %s",
				    p.problem ? p.problem : "syntax error", p.context);
			else
				snprintf(err, errlen, "yaml: %s",
				    p.problem ? p.problem : "syntax error");
			*line = (int)m.line + 1;
			*column = (int)m.column + 1;
			rc = -1;
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(&b, &ev);
		yaml_event_delete(&ev);
		if (rc != 0)
			break;
	}
	yaml_parser_delete(&p);
	if (rc == 0)
		*root = b.root;
	return rc;
}

struct bs_ynode *
bs_ynode_get(const struct bs_ynode *map, const char *key,
    struct bs_ynode **key_out)
{
	if (key_out)
		*key_out = NULL;
	if (!map || map->type != BS_YNODE_MAP)
		return NULL;
	size_t kl = strlen(key);
	for (size_t i = 0; i < map->n; i++) {
		struct bs_ynode *k = map->items[2 * i];
		if (k->len == kl && memcmp(k->str, key, kl) == 0) {
			if (key_out)
				*key_out = k;
			return map->items[2 * i + 1];
		}
	}
	return NULL;
}

int
bs_ynode_is_null(const struct bs_ynode *n)
{
	if (!n || n->type != BS_YNODE_SCALAR || !n->plain)
		return 0;
	return n->len == 0 || strcmp(n->str, "~") == 0 ||
	    strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	    strcmp(n->str, "NULL") == 0;
}
