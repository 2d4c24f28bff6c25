# Fails when src/server/openapi.json differs from what gen.py generates.
execute_process(COMMAND ${PYTHON} ${SOURCE}/scripts/openapi/gen.py ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "scripts/openapi/gen.py failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT} ${SOURCE}/src/server/openapi.json
                RESULT_VARIABLE differs)
if(NOT differs EQUAL 0)
  message(FATAL_ERROR "src/server/openapi.json is not what scripts/openapi/gen.py generates; "
                      "run: python3 scripts/openapi/gen.py src/server/openapi.json")
endif()
