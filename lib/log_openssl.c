/* The OpenSSL half of logging: drain the error queue into the log. */
#include <openssl/err.h>

#include "vouch/log.h"

void vouch_log_openssl_errors(const char *event)
{
	unsigned long e;
	char text[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, text, sizeof(text));
		vouch_log(VOUCH_LOG_WARN, event, "openssl", text, NULL);
	}
}
