# install.cmake: where `cmake --install` puts mytracks, and the CPack DEB package.
#
# Part of mytracks. SPDX-License-Identifier: MIT
#
# Included at the end of the top-level CMakeLists.txt, after every target
# exists. The layout variables (MYTRACKS_CONF_DIR, ..._STATE_DIR, ..._WEB_DIR,
# ..._PLUGIN_DIR) are set there, before the subdirectories, so that targets
# can compile paths in. Configure with -DCMAKE_INSTALL_PREFIX=/usr for a
# Debian layout (the package does).

# The installed bridge: the same sources as build/bridge/mytracks-bridge,
# but its default --web-root is the installed web directory instead of the
# checkout's web/ (compiled in, so one binary cannot serve both). Sources,
# libraries and definitions are copied from the build-tree target, so a
# file added there is built here too; a new pkg-config library needs a
# line here as well (imported targets are local to their directory).
pkg_check_modules(LWS REQUIRED IMPORTED_TARGET libwebsockets)
pkg_check_modules(MOSQ REQUIRED IMPORTED_TARGET libmosquitto)
get_target_property(bridge_src_dir mytracks-bridge SOURCE_DIR)
get_target_property(bridge_sources mytracks-bridge SOURCES)
get_target_property(bridge_libs mytracks-bridge LINK_LIBRARIES)
get_target_property(bridge_defs mytracks-bridge COMPILE_DEFINITIONS)
list(TRANSFORM bridge_sources PREPEND ${bridge_src_dir}/ REGEX "^[^/]")
list(FILTER bridge_defs EXCLUDE REGEX "^MYTRACKS_DEFAULT_WEB_ROOT=")
add_executable(mytracks-bridge-installed ${bridge_sources})
target_link_libraries(mytracks-bridge-installed PRIVATE ${bridge_libs})
target_include_directories(mytracks-bridge-installed PRIVATE ${bridge_src_dir})
target_compile_definitions(mytracks-bridge-installed PRIVATE ${bridge_defs}
	MYTRACKS_DEFAULT_WEB_ROOT="${CMAKE_INSTALL_FULL_DATADIR}/mytracks/web")
set_target_properties(mytracks-bridge-installed PROPERTIES
	OUTPUT_NAME mytracks-bridge RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/installed)

# programs
install(TARGETS mytracks-bridge-installed RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS mytracks-users RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS mytracks-otcrypto RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS mytracks-backup mytracks-import mytracks-migrate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# generate_load is the checkout's name; installed it gets the project prefix
install(PROGRAMS $<TARGET_FILE:generate_load> DESTINATION ${CMAKE_INSTALL_BINDIR}
	RENAME mytracks-generate-load)

# the plugin, in a directory of its own (mosquitto loads it by path)
install(TARGETS mytracks_plugin LIBRARY DESTINATION ${MYTRACKS_PLUGIN_DIR})

# the page: web/ without its npm tree, plus the one npm file set it loads
install(DIRECTORY web/ DESTINATION ${MYTRACKS_WEB_DIR}
	PATTERN node_modules EXCLUDE
	PATTERN "package*.json" EXCLUDE)
install(DIRECTORY web/node_modules/leaflet/dist
	DESTINATION ${MYTRACKS_WEB_DIR}/node_modules/leaflet)
install(FILES web/node_modules/leaflet/LICENSE
	DESTINATION ${MYTRACKS_WEB_DIR}/node_modules/leaflet)

# the schema (the plugin embeds it; here for reading and for upgrades)
install(FILES schema/schema.sql DESTINATION ${CMAKE_INSTALL_DATADIR}/mytracks)

# documentation and example configurations
install(FILES README.md docs/security.md docs/bridge.md docs/web.md
	DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB example_confs ${PROJECT_SOURCE_DIR}/conf/*.example)
install(FILES ${example_confs} DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# the services: configs in /etc/mytracks, units, the system user
# Debian's broker (the package depends on it), not whatever is first in PATH
set(MOSQUITTO_EXECUTABLE /usr/sbin/mosquitto CACHE FILEPATH "the broker the mytracks-mosquitto unit runs")
set(MYTRACKS_PLUGIN_PATH
	${CMAKE_INSTALL_PREFIX}/${MYTRACKS_PLUGIN_DIR}/mytracks_plugin${CMAKE_SHARED_MODULE_SUFFIX})
set(MYTRACKS_BRIDGE_PATH ${CMAKE_INSTALL_FULL_BINDIR}/mytracks-bridge)
# helper programs the units run, not for a shell's PATH (Debian's
# /usr/lib/<package>; arch-independent scripts, so not the multiarch libdir)
set(MYTRACKS_LIBEXEC_DIR lib/mytracks)
set(MYTRACKS_LIBEXEC_PATH ${CMAKE_INSTALL_PREFIX}/${MYTRACKS_LIBEXEC_DIR})
set(MYTRACKS_SYSUSERS_FILE ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d/mytracks.conf)
set(sd ${PROJECT_SOURCE_DIR}/conf/systemd)
set(sdo ${CMAKE_BINARY_DIR}/conf/systemd)
foreach(f mosquitto.conf users mytracks-mosquitto.service mytracks-bridge.service
		debian/postinst debian/postrm)
	configure_file(${sd}/${f}.in ${sdo}/${f} @ONLY)
endforeach()
configure_file(${sd}/mytracks.sysusers ${sdo}/mytracks.sysusers @ONLY)
install(FILES ${sdo}/mosquitto.conf DESTINATION ${MYTRACKS_CONF_DIR})
install(FILES ${sdo}/users DESTINATION ${MYTRACKS_CONF_DIR}
	PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
# the broker's ACL: the same file ./my-tracks-server copies at each start
install(FILES ${sd}/mosquitto.acl DESTINATION ${MYTRACKS_CONF_DIR}
	PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
# ExecStartPre of mytracks-mosquitto.service: the bridge's broker password
install(PROGRAMS ${sd}/mytracks-broker-setup DESTINATION ${MYTRACKS_LIBEXEC_DIR})
install(FILES ${sd}/mytracks-bridge.default DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/default
	RENAME mytracks-bridge)
install(FILES ${sdo}/mytracks-mosquitto.service ${sdo}/mytracks-bridge.service
	DESTINATION lib/systemd/system)
install(FILES ${sdo}/mytracks.sysusers DESTINATION lib/sysusers.d RENAME mytracks.conf)

# ---- CPack: a Debian package, mytracks_<version>_<arch>.deb ----
# Configure with -DCMAKE_INSTALL_PREFIX=/usr first: the paths compiled into
# the bridge and written into the units come from the configure step.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mytracks)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "mytracks maintainers <mytracks@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "self-hosted OwnTracks live map (Mosquitto plugin and bridge)")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://owntracks.org")
# Library dependencies from dpkg-shlibdeps (dpkg-dev) when it is there, else
# the Debian 12 runtime packages of the -dev packages we build against.
find_program(DPKG_SHLIBDEPS dpkg-shlibdeps)
if(DPKG_SHLIBDEPS)
	set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
	set(CPACK_DEBIAN_PACKAGE_DEPENDS "mosquitto (>= 2.0)")
else()
	set(CPACK_DEBIAN_PACKAGE_DEPENDS
		"mosquitto (>= 2.0), libc6, libwebsockets17, libmosquitto1, libsqlite3-0, libcjson1, libcrypt1, libsodium23")
endif()
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
# dpkg keeps the administrator's edits of these on upgrade
set(deb_conffiles ${sdo}/debian/conffiles)
file(WRITE ${deb_conffiles}
	"${MYTRACKS_CONF_DIR}/mosquitto.conf\n${MYTRACKS_CONF_DIR}/mosquitto.acl\n"
	"${MYTRACKS_CONF_DIR}/users\n"
	"${CMAKE_INSTALL_FULL_SYSCONFDIR}/default/mytracks-bridge\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
	${deb_conffiles} ${sdo}/debian/postinst ${sdo}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
