# Shared strictness for every first-party target (qBittorrent's qbt_common_cfg).
add_library(meridian_common_cfg INTERFACE)
target_compile_features(meridian_common_cfg INTERFACE cxx_std_20)
target_compile_definitions(meridian_common_cfg INTERFACE
    QT_NO_CAST_FROM_ASCII
    QT_NO_NARROWING_CONVERSIONS_IN_CONNECT
    QT_DISABLE_DEPRECATED_UP_TO=0x060400
    MERIDIAN_VERSION="${PROJECT_VERSION}")
target_compile_options(meridian_common_cfg INTERFACE -Wall -Wextra -Werror)
if(MERIDIAN_SANITIZE)
    target_compile_options(meridian_common_cfg INTERFACE
        -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(meridian_common_cfg INTERFACE -fsanitize=address,undefined)
endif()

# meridian_add_test(tst_name SOURCES a.cpp ... [LIBS lib ...] [LABELS unit|integration|gui|slow]
#                   [TIMEOUT seconds])
# Builds one Qt Test executable, registers it with ctest, defines SRCDIR (the test's source
# folder) and MERIDIAN_BIN_DIR (where meridiand and friends are), and applies labels and a timeout.
function(meridian_add_test name)
    cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 120)
    endif()
    if(NOT ARG_LABELS)
        set(ARG_LABELS unit)
    endif()
    # A build that runs only some labels (the sanitizer preset runs the unit tests) still
    # defines the other test targets, so add_dependencies() on them works, but leaves them out of
    # `all` and of ctest.
    set(wanted TRUE)
    if(MERIDIAN_TEST_LABELS)
        set(wanted FALSE)
        foreach(label IN LISTS ARG_LABELS)
            if(label IN_LIST MERIDIAN_TEST_LABELS)
                set(wanted TRUE)
            endif()
        endforeach()
    endif()
    if(wanted)
        add_executable(${name} ${ARG_SOURCES})
    else()
        add_executable(${name} EXCLUDE_FROM_ALL ${ARG_SOURCES})
    endif()
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
    target_link_libraries(${name} PRIVATE meridian_common_cfg Qt6::Test ${ARG_LIBS})
    target_compile_definitions(${name} PRIVATE
        SRCDIR="${CMAKE_CURRENT_SOURCE_DIR}/"
        MERIDIAN_BIN_DIR="${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/")
    if(NOT wanted)
        return()
    endif()
    add_test(NAME ${name} COMMAND ${name})
    set(env "QT_QPA_PLATFORM=offscreen")
    set_tests_properties(${name} PROPERTIES
        TIMEOUT ${ARG_TIMEOUT}
        LABELS "${ARG_LABELS}"
        ENVIRONMENT "${env}")
endfunction()
