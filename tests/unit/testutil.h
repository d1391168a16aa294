/* Helpers shared by the unit and vector tests. */
#ifndef VOUCH_TESTUTIL_H
#define VOUCH_TESTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>

/* Load a JSON file relative to tests/vectors/; fails the test when it cannot. */
json_t *tu_load_json(const char *relpath);

/* Decode hex (upper or lower case, no separators) into a fresh buffer; NULL or "" gives an empty
 * buffer (never NULL). Fails the test on bad hex. Free with free(). */
uint8_t *tu_hex(const char *hex, size_t *len);

/* Decode base64url (no padding needed) into a fresh buffer. Fails the test on bad input. */
uint8_t *tu_b64url(const char *s, size_t *len);

/* Standard base64 (with padding). */
uint8_t *tu_b64(const char *s, size_t *len);

/* The string member of obj, or NULL when absent. */
const char *tu_str(const json_t *obj, const char *key);

/* True when the test is built against the PSA back-end: the same test sources are built for
 * both back-ends (tests/psa.cmake). */
bool tu_psa(void);

/* Print one line of the vector summary that `make test` collects:
 *   vectors: FAMILY: RUN run, PASSED passed, SKIPPED skipped[ (NOTE)]
 * and fail the test when passed != run - skipped. On the PSA back-end FAMILY gets " [psa]"
 * appended, so that the two back-ends' lines stay apart. */
void tu_report(const char *family, unsigned run, unsigned passed, unsigned skipped,
	       const char *note);

#endif
