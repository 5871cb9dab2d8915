# Remote code: the remoteCode policy, runtime from the URL, verification, the cache, the SSRF guard.
isol8_unit_test(remote SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_remote.c LIBS isol8_engine isol8_config)
# Fetches against an HTTP server on loopback in the test itself.
isol8_unit_test(remote_fetch SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_remote_fetch.c LIBS isol8_engine)
