/* stop_list: technical tokens that have the shape of an issue key.
 *
 * The jira pattern matches "UTF-8", "SHA-256", "ISO-8859" (of ISO-8859-1)
 * and "CVE-2024" (of CVE-2024-47554) as well as "SHOP-12". Without an
 * issues.projects allow-list, a stop-list is what keeps those out. An
 * entry is one of:
 *   - a whole key, "NAME-<digits>" ("UTF-8", "SHA-256"): drops exactly
 *     that key;
 *   - anything else, a project ("RFC", "CVE", "ISO"): drops every key whose
 *     project (the part before the first '-'; a key without '-' is its own
 *     project) is that entry.
 * Comparison is ASCII case-insensitive. The scanner (issue_scan.h) applies
 * the list; a key whose project is in issues.projects is never dropped by
 * it. issues.stop_list in the config replaces the built-in list below;
 * `issues.stop_list: []` turns it off. */
#ifndef BS_STOP_LIST_H
#define BS_STOP_LIST_H

#include <stdbool.h>
#include <stddef.h>

/* The built-in list (static storage, never freed), *n set to its length.
 * Kept in stop_list.c; README "Issue keys: precision" says how it was
 * chosen and measured. */
const char *const *bs_stop_list_builtin(size_t *n);

/* Whether entry names a whole key ("UTF-8": something, '-', then only
 * digits) rather than a project ("RFC"). */
bool bs_stop_list_is_key(const char *entry);

/* Whether key[0..len) is dropped by list[0..n) (NULL entries are
 * skipped). */
bool bs_stop_list_match(const char *const *list, size_t n, const char *key,
    size_t len);

#endif
