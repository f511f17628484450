/* event: the normalised Bitbucket event, the one shape that the parsers
 * produce, the job codec stores and the deploy code consumes.
 *
 * Cloud and Data Center payloads both end up here; nothing downstream of
 * parsers/ ever looks at a Bitbucket payload again. Every string is UTF-8,
 * NUL-terminated (the parsers refuse \u0000, so no string holds a NUL) and
 * owned by `arena`; NULL means "absent in the payload". Release with
 * bs_event_release(). */
#ifndef BS_EVENT_H
#define BS_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"

enum bs_product {
	BS_PRODUCT_UNKNOWN = 0,
	BS_PRODUCT_CLOUD = 1,
	BS_PRODUCT_DC = 2,        /* Bitbucket Data Center / Server */
};

enum bs_event_type {
	BS_EVENT_OTHER = 0,       /* understood but not used: answered "ignored" */
	BS_EVENT_PUSH = 1,        /* repo:push, repo:refs_changed, mirror:repo_synchronized */
	BS_EVENT_PR = 2,          /* pullrequest:*, pr:* */
	BS_EVENT_PING = 3,        /* diagnostics:ping */
};

enum bs_ref_type {
	BS_REF_OTHER = 0,
	BS_REF_BRANCH = 1,
	BS_REF_TAG = 2,
};

/* What happened to a pull request, from the event key. */
enum bs_pr_action {
	BS_PR_OTHER = 0,
	BS_PR_OPENED = 1,            /* pullrequest:created, pr:opened */
	BS_PR_UPDATED = 2,           /* pullrequest:updated, pr:from_ref_updated, pr:modified */
	BS_PR_APPROVED = 3,          /* pullrequest:approved, pr:reviewer:approved */
	BS_PR_UNAPPROVED = 4,        /* pullrequest:unapproved, pr:reviewer:unapproved */
	BS_PR_CHANGES_REQUESTED = 5, /* ..changes_request_created, pr:reviewer:needs_work|changes_requested */
	BS_PR_CHANGES_REQUEST_REMOVED = 6,
	BS_PR_MERGED = 7,            /* pullrequest:fulfilled, pr:merged */
	BS_PR_DECLINED = 8,          /* pullrequest:rejected, pr:declined */
	BS_PR_DELETED = 9,           /* pr:deleted */
	BS_PR_COMMENT = 10,          /* pullrequest:comment_*, pr:comment:* */
	BS_PR_REVIEWER = 11,         /* pr:reviewer:updated */
};

struct bs_person {
	char *name;      /* display name, or the name part of Cloud's author.raw */
	char *email;     /* from author.raw "Name <email>" or DC emailAddress */
	char *username;  /* Cloud nickname / DC user slug, when present */
};

struct bs_commit {
	char *hash;      /* 40 hex */
	char *message;
	struct bs_person author;
	char *date;      /* Cloud: ISO-8601 as sent; DC: UTC "YYYY-MM-DDTHH:MM:SS.mmmZ"
	                  * (from epoch ms or ISO with an offset), else as sent */
	char *url;       /* html link, when present */
	char **parents;  /* parent hashes */
	size_t n_parents;
};

struct bs_change {
	enum bs_ref_type ref_type;
	char *ref_name;      /* short name: "main", "feature/x", "v1.0" */
	char *ref_type_raw;  /* the type as sent when not branch/tag, else NULL */
	char *old_hash;      /* NULL when created (DC: 40 zeros become NULL) */
	char *new_hash;      /* NULL when closed; for annotated tags the tag object on DC */
	char *new_commit;    /* the commit the ref now points to (== new_hash except DC annotated tags) */
	struct bs_person head_author;  /* new_commit's author when the payload
	                      * names it (Cloud new.target.author, parsed as a
	                      * commit's; DC toCommit.author), else all NULL */
	char *head_date;     /* new_commit's date, when sent: Cloud new.target.date
	                      * as sent, DC toCommit.authorTimestamp as bs_commit.date */
	bool created;
	bool closed;         /* deleted ref */
	bool forced;
	bool truncated;      /* Bitbucket cut the commit list (more than 5 commits) */
	char *link;          /* Cloud links.html (compare view) or NULL */
	struct bs_commit *commits;  /* newest first, as Bitbucket sends them */
	size_t n_commits;
};

struct bs_pr_ref {
	char *branch;
	char *repository;    /* full name / PROJECT/slug of that side */
	char *hash;          /* Cloud: 12-char abbreviation; DC: 40 hex */
};

struct bs_pr {
	int64_t id;
	char *title;
	char *description;
	char *state;         /* OPEN, MERGED, DECLINED, SUPERSEDED, or whatever was sent */
	enum bs_pr_action action;
	struct bs_pr_ref source;
	struct bs_pr_ref destination;
	char *merge_hash;    /* merge commit, when merged (Cloud: 12 chars) */
	struct bs_person author;
	char *url;           /* html link */
	char *created;       /* ISO-8601; DC in UTC ...mmmZ, as bs_commit.date */
	char *updated;       /* same */
};

struct bs_event {
	enum bs_product product;
	enum bs_event_type type;
	char *event_key;     /* X-Event-Key as received */
	char *repository;    /* Cloud full_name "ws/repo"; DC "PROJECT/slug" */
	char *repository_url;
	struct bs_person actor;
	char *date;          /* DC top-level event date, UTC ...mmmZ as bs_commit.date
	                      * (the push time sent to Sleuth); NULL on Cloud */
	struct bs_change *changes;
	size_t n_changes;
	bool ref_limit_exceeded;  /* DC mirror:repo_synchronized said
	                           * refLimitExceeded: true: more refs changed
	                           * than Bitbucket reports, changes is empty */
	struct bs_pr *pr;    /* set iff type == BS_EVENT_PR */
	struct bs_arena arena;
};

void bs_event_init(struct bs_event *ev);
void bs_event_release(struct bs_event *ev);

const char *bs_product_name(enum bs_product p);   /* "cloud", "dc", "unknown" */
const char *bs_ref_type_name(enum bs_ref_type t); /* "branch", "tag", "other" */
const char *bs_event_type_name(enum bs_event_type t); /* "push", "pr", "ping", "other" */
const char *bs_pr_action_name(enum bs_pr_action a);

#endif
