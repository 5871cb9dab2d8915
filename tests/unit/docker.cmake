# Unit tests of the Docker client (server/docker); no engine needed: a fake
# one runs in the test. The tar checks run the system's tar.
isol8_unit_test(docker SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_docker.c LIBS isol8_docker)
