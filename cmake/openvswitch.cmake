# SPDX-License-Identifier: Apache-2.0
#
# libopenvswitch.a, built inside our build from Debian's openvswitch-source
# (Debian ships no libopenvswitch-dev). Included from a CMakeLists.txt it
# defines netfn::openvswitch (include dirs as SYSTEM, so OVS headers do not
# trip -Wall -Wextra -Werror; the static library; the system libraries it
# needs). Run as a script (cmake -DOVS_DIR=... -DOVS_TARBALL=... -DOVS_VERSION=...
# -DOVS_JOBS=... -P openvswitch.cmake) it does the work once: unpack, configure
# with the fewest features that still give vconn, jsonrpc and the OpenFlow
# encoders, and `make lib/libopenvswitch.la`, then writes a stamp named after
# the package version so that later builds (and a second tree pointing its
# NETFN_OVS_DIR here) reuse the library; a new package version rebuilds it.

# What configure may put in LIBS once every optional feature is off: glibc's
# (rt and pthread are empty stubs since glibc 2.34, but still linkable) and
# libatomic (configure asks for it even on amd64; gcc's libatomic1 is part
# of build-essential). Anything else means a feature we did not turn off got detected: the script stops and
# names it rather than producing a library that does not link.
set(_ovs_allowed_libs -lm -lrt -lpthread -latomic)

if(CMAKE_SCRIPT_MODE_FILE)
  cmake_minimum_required(VERSION 3.20)
  set(stamp "${OVS_DIR}/netfn-built-${OVS_VERSION}.stamp")
  set(src "${OVS_DIR}/openvswitch")
  file(MAKE_DIRECTORY "${OVS_DIR}")
  # Two build trees may share OVS_DIR; only one builds, the other finds the stamp.
  file(LOCK "${OVS_DIR}/.lock" GUARD PROCESS TIMEOUT 1800)
  if(EXISTS "${stamp}" AND EXISTS "${src}/lib/.libs/libopenvswitch.a")
    file(TOUCH "${stamp}") # newer than this file again: make stops asking
    return()
  endif()
  file(GLOB old_stamps "${OVS_DIR}/netfn-built-*.stamp")
  if(old_stamps)
    file(REMOVE ${old_stamps})
  endif()
  file(REMOVE_RECURSE "${src}")
  message(STATUS "openvswitch ${OVS_VERSION}: unpacking ${OVS_TARBALL}")
  file(ARCHIVE_EXTRACT INPUT "${OVS_TARBALL}" DESTINATION "${OVS_DIR}")
  if(NOT EXISTS "${src}/configure")
    message(FATAL_ERROR "openvswitch: ${OVS_TARBALL} has no openvswitch/configure")
  endif()

  # ac_cv_* answers switch off what configure would otherwise pick up from
  # whatever -dev packages the machine happens to have (unbound, libunwind),
  # so the library and its LIBS are the same everywhere.
  message(STATUS "openvswitch ${OVS_VERSION}: configure (log: ${src}/config.log)")
  execute_process(
    COMMAND ./configure --disable-ssl --disable-libcapng --disable-afxdp --without-dpdk
            --disable-usdt-probes --disable-dependency-tracking --enable-silent-rules
            --disable-shared --enable-static
            ac_cv_lib_unbound_ub_ctx_create=no ac_cv_lib_unwind_unw_backtrace=no
    WORKING_DIRECTORY "${src}"
    OUTPUT_FILE "${OVS_DIR}/configure.out"
    ERROR_FILE "${OVS_DIR}/configure.out"
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "openvswitch: configure failed (${rc}); see ${OVS_DIR}/configure.out and ${src}/config.log")
  endif()

  file(STRINGS "${src}/Makefile" libs_line REGEX "^LIBS = ")
  string(REGEX REPLACE "^LIBS = " "" libs "${libs_line}")
  separate_arguments(libs UNIX_COMMAND "${libs}")
  foreach(l IN LISTS libs)
    if(NOT l IN_LIST _ovs_allowed_libs)
      message(FATAL_ERROR "openvswitch: configure wants ${l} (LIBS = ${libs}); "
                          "turn that feature off or add it to cmake/openvswitch.cmake")
    endif()
  endforeach()

  # Generated headers (odp-netlink.h, the IDL) are automake BUILT_SOURCES,
  # which only `make all` builds first: a second makefile names them as
  # prerequisites of the one goal we want.
  file(WRITE "${OVS_DIR}/netfn-lib.mk"
       "netfn-lib: $(BUILT_SOURCES)\n\t$(MAKE) lib/libopenvswitch.la\n")
  message(STATUS "openvswitch ${OVS_VERSION}: make lib/libopenvswitch.la")
  execute_process(
    COMMAND make -j${OVS_JOBS} -f Makefile -f "${OVS_DIR}/netfn-lib.mk" netfn-lib
    WORKING_DIRECTORY "${src}"
    OUTPUT_FILE "${OVS_DIR}/make.out"
    ERROR_FILE "${OVS_DIR}/make.out"
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "openvswitch: make failed (${rc}); see ${OVS_DIR}/make.out")
  endif()
  file(WRITE "${stamp}" "openvswitch-source ${OVS_VERSION}\nLIBS = ${libs}\n")
  return()
endif()

set(NETFN_OVS_DIR "${CMAKE_BINARY_DIR}/openvswitch"
    CACHE PATH "Where libopenvswitch.a is unpacked and built (may be shared by build trees)")
set(NETFN_OVS_TARBALL "/usr/src/openvswitch/openvswitch.tar.gz"
    CACHE FILEPATH "Open vSwitch sources (Debian package openvswitch-source)")
if(NOT EXISTS "${NETFN_OVS_TARBALL}")
  message(FATAL_ERROR "${NETFN_OVS_TARBALL} is missing: install openvswitch-source (scripts/deps.sh)")
endif()
execute_process(
  COMMAND dpkg-query -W -f=\${Version} openvswitch-source
  OUTPUT_VARIABLE _ovs_version
  RESULT_VARIABLE _rc
  ERROR_QUIET)
if(NOT _rc EQUAL 0 OR _ovs_version STREQUAL "")
  # Not a dpkg system: the tarball's size and time stand in for the version.
  file(TIMESTAMP "${NETFN_OVS_TARBALL}" _ovs_version "%Y%m%d%H%M%S" UTC)
endif()
string(REGEX REPLACE "[^A-Za-z0-9.+~-]" "_" _ovs_version "${_ovs_version}")

include(ProcessorCount)
ProcessorCount(_ovs_jobs)
if(_ovs_jobs EQUAL 0)
  set(_ovs_jobs 1)
endif()

set(_ovs_src "${NETFN_OVS_DIR}/openvswitch")
set(_ovs_lib "${_ovs_src}/lib/.libs/libopenvswitch.a")
set(_ovs_stamp "${NETFN_OVS_DIR}/netfn-built-${_ovs_version}.stamp")
add_custom_command(
  OUTPUT "${_ovs_stamp}"
  BYPRODUCTS "${_ovs_lib}"
  COMMAND "${CMAKE_COMMAND}" -DOVS_DIR=${NETFN_OVS_DIR} -DOVS_TARBALL=${NETFN_OVS_TARBALL}
          -DOVS_VERSION=${_ovs_version} -DOVS_JOBS=${_ovs_jobs}
          -P "${CMAKE_CURRENT_LIST_FILE}"
  DEPENDS "${NETFN_OVS_TARBALL}" "${CMAKE_CURRENT_LIST_FILE}"
  COMMENT "Building libopenvswitch.a (openvswitch-source ${_ovs_version}) in ${NETFN_OVS_DIR}"
  VERBATIM)
add_custom_target(netfn_openvswitch_build DEPENDS "${_ovs_stamp}")

# An INTERFACE library rather than an IMPORTED one: its include dirs exist
# only once the build has unpacked the sources.
add_library(netfn_openvswitch INTERFACE)
add_library(netfn::openvswitch ALIAS netfn_openvswitch)
add_dependencies(netfn_openvswitch netfn_openvswitch_build)
target_include_directories(netfn_openvswitch SYSTEM INTERFACE "${_ovs_src}/include"
                           "${_ovs_src}/lib" "${_ovs_src}")
target_link_libraries(netfn_openvswitch INTERFACE "${_ovs_lib}" atomic m rt Threads::Threads)
