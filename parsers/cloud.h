/* cloud: Bitbucket Cloud payloads (repo:push, pullrequest:*, and the
 * repository/actor of any other event) -> bs_event. Private to parsers/;
 * called by bs_parse_event() after the UTF-8 check. */
#ifndef BS_CLOUD_H
#define BS_CLOUD_H

#include <stddef.h>

#include "common/event.h"
#include "parsers/bitbucket.h"

/* Fills ev (already bs_event_init()ed, with product, type and event_key
 * set, and ev->pr allocated with its action when type is BS_EVENT_PR) from
 * body[0..len). Returns BS_PARSE_OK or an error status with a one-line
 * reason in err; on error ev holds partial data the caller must release. */
enum bs_parse_status bs_cloud_parse(const char *body, size_t len,
    const struct bs_parse_limits *lim, struct bs_event *ev, char *err,
    size_t errlen);

#endif
