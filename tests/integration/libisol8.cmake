# libisol8 against a real isol8d and Docker (libisol8.sh): the README's
# example, built here and against an installed copy, and lib_client.c's
# checks. Both programs link the shared library, as its users do.
add_executable(integration_lib_client ${CMAKE_CURRENT_LIST_DIR}/lib_client.c)
target_link_libraries(integration_lib_client PRIVATE isol8_shared Threads::Threads)
add_test(NAME integration_libisol8 COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/libisol8.sh)
set_tests_properties(integration_libisol8 PROPERTIES LABELS integration TIMEOUT 900 RUN_SERIAL TRUE
  ENVIRONMENT "ISOL8=$<TARGET_FILE:isol8>;ISOL8D=$<TARGET_FILE:isol8d>;ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR};ISOL8_BUILD_DIR=${CMAKE_BINARY_DIR};EMBED=$<TARGET_FILE:isol8_example_embed>;LIB_CLIENT=$<TARGET_FILE:integration_lib_client>")
