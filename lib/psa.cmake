# PSA Crypto (Mbed TLS 2.28) back-end of the crypto port: the sensor agent's flavour of libvouch.
# The portable core plus lib/crypto_psa.c and lib/psa_its.c (docs/psa.md).
#
# libmbedcrypto is linked STATICALLY on purpose: lib/psa_its.c defines the psa_its_* functions the
# PSA core stores its persistent keys through, and only with the archive do those definitions
# replace the library's own psa_its_file.c (which writes into the current directory and never
# fsyncs). A shared libmbedcrypto would bind to its internal copy instead.
find_library(VOUCH_MBEDCRYPTO_STATIC NAMES libmbedcrypto.a REQUIRED)
find_path(VOUCH_PSA_INCLUDE_DIR NAMES psa/crypto.h REQUIRED)

add_library(vouch_psa STATIC $<TARGET_OBJECTS:vouch_core> crypto_psa.c psa_its.c)
target_include_directories(vouch_psa SYSTEM PUBLIC ${VOUCH_PSA_INCLUDE_DIR})
target_link_libraries(vouch_psa PUBLIC PkgConfig::LIBCBOR ${VOUCH_MBEDCRYPTO_STATIC})
