# The unit and vector tests that touch only the crypto port and the portable core, built again
# against the PSA back-end (lib/psa.cmake) as NAME_psa, plus the PSA-only tests of test_psa.c.
# The tests ask tu_psa() (VOUCH_TEST_PSA) which back-end they are built for: what PSA lacks (Ed25519, AES
# key wrap) is asserted to be refused with VOUCH_ERR_UNSUPPORTED and reported as skipped, and
# tu_report() marks every `vectors:` family of a PSA run with " [psa]".
add_library(vouch_testutil_psa STATIC unit/testutil.c)
target_link_libraries(vouch_testutil_psa PUBLIC vouch_psa PkgConfig::JANSSON PkgConfig::CMOCKA)
target_compile_definitions(vouch_testutil_psa PUBLIC
  VOUCH_VECTORS_DIR="${PROJECT_SOURCE_DIR}/tests/vectors" VOUCH_TEST_PSA)

function(vouch_psa_unit_test name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE vouch_testutil_psa)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 600)
endfunction()

foreach(t test_crypto_vectors test_crypto test_cose_examples test_cose test_cose_encrypt_examples
          test_cose_encrypt test_cwt test_policy test_revlist test_edhoc test_pairing)
  vouch_psa_unit_test(${t}_psa unit/${t}.c)
endforeach()

# test_psa counts the heap allocations of the statically linked code (the port and
# libmbedcrypto.a) by wrapping the allocator at link time.
vouch_psa_unit_test(test_psa unit/test_psa.c)
target_link_options(test_psa PRIVATE -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc)

# OSCORE's test builds and parses the RFC 8613 messages with libcoap.
vouch_psa_unit_test(test_oscore_psa unit/test_oscore.c)
target_link_libraries(test_oscore_psa PRIVATE PkgConfig::LIBCOAP)
