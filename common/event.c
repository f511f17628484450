/* event: lifecycle and names for the normalised event (see event.h). */
#include "common/event.h"

#include <string.h>

void
bs_event_init(struct bs_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	bs_arena_init(&ev->arena);
}

void
bs_event_release(struct bs_event *ev)
{
	bs_arena_release(&ev->arena);
	memset(ev, 0, sizeof(*ev));
}

const char *
bs_product_name(enum bs_product p)
{
	switch (p) {
	case BS_PRODUCT_CLOUD: return "cloud";
	case BS_PRODUCT_DC: return "dc";
	default: return "unknown";
	}
}

const char *
bs_event_type_name(enum bs_event_type t)
{
	switch (t) {
	case BS_EVENT_PUSH: return "push";
	case BS_EVENT_PR: return "pr";
	case BS_EVENT_PING: return "ping";
	default: return "other";
	}
}

const char *
bs_ref_type_name(enum bs_ref_type t)
{
	switch (t) {
	case BS_REF_BRANCH: return "branch";
	case BS_REF_TAG: return "tag";
	default: return "other";
	}
}

const char *
bs_pr_action_name(enum bs_pr_action a)
{
	static const char *const names[] = {
		"other", "opened", "updated", "approved", "unapproved",
		"changes_requested", "changes_request_removed", "merged",
		"declined", "deleted", "comment", "reviewer",
	};
	if ((size_t)a < sizeof(names) / sizeof(names[0]))
		return names[a];
	return "other";
}
