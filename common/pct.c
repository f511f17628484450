/* pct: see pct.h. */
#include "common/pct.h"

size_t
bs_pct_encode(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *w = out;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			*w++ = (char)c;
		} else {
			*w++ = '%';
			*w++ = hex[c >> 4];
			*w++ = hex[c & 15];
		}
	}
	*w = '\0';
	return (size_t)(w - out);
}
