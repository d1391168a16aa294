/*
 * vouchd — the directory's admin API routes (docs/directory.md "API"), below /api/v1:
 *
 *   GET    /zones | /resources | /trainings | /roles   {"items": [{"name", "version", "object"}]}
 *   GET    /<kind>s/NAME                                {"name", "version", "object"}
 *   PUT    /<kind>s/NAME   body: the object; optional If-Match: VERSION
 *                          201 (created) / 200 (replaced) {"name", "version", "object"}
 *   DELETE /<kind>s/NAME   optional If-Match: VERSION   {"name", "version", "deleted": true}
 *   POST   /policy         body: a policy document      the load summary
 *
 * A zone's name holds '/': it is one percent-encoded segment ("plant%2Fhall-a") or the rest of
 * the path ("zones/plant/hall-a"). Refusals: 400 invalid (the validation message), 400
 * unknown_reference, 404 not_found, 405, 409 conflict (If-Match) or in_use (the referrer named).
 */
#ifndef VOUCHD_API_DIR_H
#define VOUCHD_API_DIR_H

#include <stddef.h>

#include "http.h"

/* Answer r, whose path below /api/v1 is seg[0..n) with seg[0] one of zones, resources,
 * trainings, roles, policy (the caller has authorised the admin; actor names them in events). */
void vouch_api_dir_handle(struct vouch_req *r, char **seg, size_t n, const char *actor);

#endif
