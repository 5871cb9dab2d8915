# Runtime packages (server/engine/install*.c): names, registries and their
# rules, the install Exec, the baked layer's Dockerfile.
isol8_unit_test(install SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_install.c LIBS isol8_engine)
