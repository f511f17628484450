/* bb_values: see bb_values.h. */
#include "parsers/bb_values.h"

#include <stdbool.h>
#include <string.h>

#include "parsers/isodate.h"

static bool
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Copy of s[0..n) without leading/trailing spaces (and, with `brackets`,
 * stray '<' '>'); NULL when nothing is left. */
static char *
trimmed(struct bs_arena *a, const char *s, size_t n, bool brackets)
{
#define TRIM(ch) (is_space(ch) || (brackets && ((ch) == '<' || (ch) == '>')))
	while (n > 0 && TRIM(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && TRIM(s[n - 1]))
		n--;
#undef TRIM
	return n ? bs_arena_strndup(a, s, n) : NULL;
}

void
bs_bb_split_raw(struct bs_arena *a, const char *raw, struct bs_person *p)
{
	const char *lt = strchr(raw, '<');
	const char *gt = lt ? strchr(lt + 1, '>') : NULL;
	if (!gt) {
		p->name = trimmed(a, raw, strlen(raw), false);
		return;
	}
	p->name = trimmed(a, raw, (size_t)(lt - raw), false);
	while (lt && gt && !p->email) {
		p->email = trimmed(a, lt + 1, (size_t)(gt - lt - 1), true);
		lt = strchr(gt, '<');
		gt = lt ? strchr(lt + 1, '>') : NULL;
	}
}

char *
bs_bb_date_value(const struct bs_json_sax *sax, struct bs_arena *a,
    enum bs_json_type t, const char *s, size_t len)
{
	char iso[BS_ISODATE_LEN];
	bool ok = t == BS_JSON_NUMBER ? bs_isodate_from_ms_text(s, len, iso)
	    : bs_isodate_to_utc(s, len, iso);
	return ok ? bs_arena_strdup(a, iso) : bs_json_sax_keep(sax, a, s, len);
}
