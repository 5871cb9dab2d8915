# The Docker client against the real engine (needs a running dockerd on
# $DOCKER_HOST or /var/run/docker.sock). The probe is a static program put
# into a FROM-scratch image, so no registry or base image is needed; it is
# built without sanitizers, which cannot link statically.
add_executable(integration_docker_probe ${CMAKE_CURRENT_LIST_DIR}/docker_probe.c)
set_property(TARGET integration_docker_probe PROPERTY COMPILE_OPTIONS -O2 -Wall -Wextra -Werror)
set_property(TARGET integration_docker_probe PROPERTY LINK_OPTIONS -static)

add_executable(integration_docker ${CMAKE_CURRENT_LIST_DIR}/docker_engine.c)
target_link_libraries(integration_docker PRIVATE isol8_docker PkgConfig::CUNIT)
add_test(NAME integration_docker COMMAND integration_docker $<TARGET_FILE:integration_docker_probe>)
set_tests_properties(integration_docker PROPERTIES LABELS integration TIMEOUT 300)
