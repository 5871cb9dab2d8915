# The built-in seccomp profile read the way Docker reads it (no engine needed).
add_test(NAME unit_seccomp_profile COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/seccomp_profile.py)
set_tests_properties(unit_seccomp_profile PROPERTIES LABELS unit TIMEOUT 60
                     ENVIRONMENT "ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")
