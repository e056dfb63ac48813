# `cmake --install` and the Debian package: what an application needs to be built against the
# framework without its source tree (docs/install.md).
#
#   <prefix>/bin/routemq                            the tool (routemq new app, ctl, request, ...)
#   <prefix>/include/routemq/                       the public headers
#   <prefix>/<libdir>/libroutemq_*.a                the libraries (libdir: lib, or lib/<arch>
#                                                   when configured with the prefix /usr)
#   <prefix>/<libdir>/cmake/RouteMQ/                find_package(RouteMQ CONFIG): RouteMQ::routemq,
#                                                   RouteMQ::testing, RouteMQ::testing_broker
#   <prefix>/<libdir>/pkgconfig/routemq.pc          pkg-config --cflags --libs routemq
#   <prefix>/share/routemq/run-dev.sh               runs an application against a throwaway broker
#   <prefix>/share/doc/routemq/                     README.md and the guides (docs/)
include(CMakePackageConfigHelpers)

set_target_properties(routemq_headers PROPERTIES EXPORT_NAME headers)
set_target_properties(routemq_config PROPERTIES EXPORT_NAME config)
set_target_properties(routemq_core PROPERTIES EXPORT_NAME routemq)
set_target_properties(routemq_testing PROPERTIES EXPORT_NAME testing)
set_target_properties(routemq_testing_broker PROPERTIES EXPORT_NAME testing_broker)

set(ROUTEMQ_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/RouteMQ)
install(TARGETS routemq_headers routemq_sanitizers routemq_config routemq_core routemq_testing
                routemq_testing_broker
        EXPORT RouteMQTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS routemq_tool RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/core/include/routemq
                  ${PROJECT_SOURCE_DIR}/config/include/routemq
                  ${PROJECT_BINARY_DIR}/core/generated/routemq
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
# The guides, which the headers, .env.example and a new application's files refer to.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/run-dev.sh
        DESTINATION ${CMAKE_INSTALL_DATADIR}/routemq)
install(EXPORT RouteMQTargets NAMESPACE RouteMQ:: DESTINATION ${ROUTEMQ_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/RouteMQConfig.cmake.in
  ${PROJECT_BINARY_DIR}/RouteMQConfig.cmake
  INSTALL_DESTINATION ${ROUTEMQ_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_DATADIR)
# 0.x: a minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/RouteMQConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/RouteMQConfig.cmake
              ${PROJECT_BINARY_DIR}/RouteMQConfigVersion.cmake
        DESTINATION ${ROUTEMQ_CMAKE_DIR})
file(RELATIVE_PATH ROUTEMQ_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${PROJECT_SOURCE_DIR}/cmake/routemq.pc.in ${PROJECT_BINARY_DIR}/routemq.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/routemq.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# `cpack -G DEB` (make package): routemq_<version>_<arch>.deb, for `apt-get install ./...deb` on
# Debian 12. It holds static libraries, so it depends on what building an application needs: the
# compiler, CMake and the -dev packages of the libraries the framework links; GoogleTest for an
# application's tests; mosquitto (recommended) for its broker tests and `make run`.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME routemq)
set(CPACK_PACKAGE_VENDOR "RouteMQ")
set(CPACK_PACKAGE_CONTACT "RouteMQ maintainers <maintainers@routemq.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "Route-declarative MQTT framework for C++ with a supervised worker pool")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
# What the package depends on and recommends: the sections of scripts/packages.txt.
file(STRINGS ${PROJECT_SOURCE_DIR}/scripts/packages.txt routemq_package_lines)
set(routemq_section "")
foreach(line IN LISTS routemq_package_lines)
  if(line MATCHES "^# \\[([a-z]+)\\]")
    set(routemq_section ${CMAKE_MATCH_1})
  elseif(NOT line MATCHES "^[ \t]*(#|$)")
    list(APPEND routemq_deb_${routemq_section} ${line})
  endif()
endforeach()
if(NOT routemq_deb_depends OR NOT routemq_deb_recommends)
  message(FATAL_ERROR "scripts/packages.txt has no [depends] or [recommends] section")
endif()
list(JOIN routemq_deb_depends ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
list(JOIN routemq_deb_recommends ", " CPACK_DEBIAN_PACKAGE_RECOMMENDS)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "Applications bind MQTT topic patterns such as sensors/{device_id}/data to C++ handlers; \
`routemq --workers` runs them in a supervised pool of worker processes on shared subscriptions. \
This package holds the libraries, headers, CMake package and pkg-config file, and the routemq \
tool (`routemq new app DIR` starts an application).")
include(CPack)
