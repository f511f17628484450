/* config_diag: the diagnostics of config loading (see config.h): every
 * error and warning with its line and column, capped in number, sorted by
 * place, printed as FILE:LINE:COL: error|warning: message; and the helpers
 * that quote user values in messages. Leaf: calls nothing in config/. */
#include "config/config_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* === diagnostics ======================================================== */

void
bs_diags_init(struct bs_diags *d)
{
	memset(d, 0, sizeof(*d));
	bs_arena_init(&d->arena);
}

void
bs_diags_release(struct bs_diags *d)
{
	bs_arena_release(&d->arena);
	memset(d, 0, sizeof(*d));
}

void
bs_diags_print(const struct bs_diags *d, const char *file, void *f)
{
	FILE *out = f ? f : stderr;
	if (!file)
		file = "config";
	for (size_t i = 0; i < d->n; i++) {
		const struct bs_diag *g = &d->items[i];
		const char *sev = g->severity == BS_DIAG_ERROR ? "error" : "warning";
		if (g->line > 0)
			fprintf(out, "%s:%d:%d: %s: %s\n", file, g->line, g->column,
			    sev, g->message);
		else
			fprintf(out, "%s: %s: %s\n", file, sev, g->message);
	}
	size_t shown = d->n;
	if (d->errors + d->warnings > shown)
		fprintf(out, "%s: %zu more problems not shown\n", file,
		    d->errors + d->warnings - shown);
}

static void diag_add(struct bs_diags *d, enum bs_diag_severity sev,
    int line, int col, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void
diag_add(struct bs_diags *d, enum bs_diag_severity sev, int line, int col,
    const char *fmt, va_list ap)
{
	if (sev == BS_DIAG_ERROR)
		d->errors++;
	else
		d->warnings++;
	if (d->n >= CONFIG_MAX_DIAGS)
		return;
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	struct bs_diag *g = bs_arena_push(&d->arena, (void **)&d->items, &d->n,
	    &d->_cap, sizeof(*g));
	g->severity = sev;
	g->line = line;
	g->column = line > 0 ? (col > 0 ? col : 1) : 0;
	g->message = bs_arena_strdup(&d->arena, buf);
}

void
bs_config_diag_at(struct ctx *c, enum bs_diag_severity sev, const struct bs_ynode *at,
    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_add(c->d, sev, at ? at->line : 0, at ? at->column : 0, fmt, ap);
	va_end(ap);
}


/* Stable insertion sort of d->items[from..] by (line, column); lines 0
 * (not tied to a place) go last. */
void
bs_config_sort_diags(struct bs_diags *d, size_t from)
{
	for (size_t i = from + 1; i < d->n; i++) {
		struct bs_diag x = d->items[i];
		long lx = x.line > 0 ? x.line : (long)INT32_MAX + 1;
		size_t j = i;
		while (j > from) {
			const struct bs_diag *p = &d->items[j - 1];
			long lp = p->line > 0 ? p->line : (long)INT32_MAX + 1;
			if (lp < lx || (lp == lx && p->column <= x.column))
				break;
			d->items[j] = d->items[j - 1];
			j--;
		}
		d->items[j] = x;
	}
}


/* A printable, shortened copy of a user value for messages (values are
 * never secrets here: secret-looking keys are refused before). */
const char *
bs_config_show(char *out, size_t outlen, const char *s, size_t len)
{
	size_t w = 0;
	for (size_t i = 0; i < len && w + 4 < outlen; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[w++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (len > 0 && w + 4 >= outlen && outlen > 4) {
		memcpy(out + w, "...", 3);
		w += 3;
	}
	out[w < outlen ? w : outlen - 1] = '\0';
	return out;
}


const char *
bs_config_type_name(const struct bs_ynode *n)
{
	if (n->type == BS_YNODE_MAP)
		return "a mapping";
	if (n->type == BS_YNODE_SEQ)
		return "a list";
	return "a scalar";
}

