# skill/isol8/SKILL.md against the CLI it describes (no daemon needed).
add_test(NAME unit_skill_doc COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/skill_doc.py)
set_tests_properties(unit_skill_doc PROPERTIES LABELS unit TIMEOUT 60
                     ENVIRONMENT "ISOL8=$<TARGET_FILE:isol8>;ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")
