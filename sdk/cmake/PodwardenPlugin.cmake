# PodwardenPlugin.cmake - how a podwarden plugin is built, in tree and out of tree alike.
#
#   podwarden_add_plugin(<name> SOURCES a.cpp b.cpp [LIBRARIES lib...])
#
# builds <name>.so as a MODULE that exports exactly pw_plugin_entry_v1: hidden visibility, a version
# script, no undefined symbols, bind-now. Link dependencies privately; they stay inside the plugin.
include_guard(GLOBAL)

# Cached so that every directory that calls podwarden_add_plugin() sees it, wherever this was included.
set(_PODWARDEN_PLUGIN_DIR "${CMAKE_CURRENT_LIST_DIR}" CACHE INTERNAL "podwarden SDK cmake dir")

function(podwarden_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(${name} PRIVATE podwarden::sdk ${ARG_LIBRARIES})
  target_link_options(${name} PRIVATE
    "LINKER:--version-script=${_PODWARDEN_PLUGIN_DIR}/plugin.map"
    "LINKER:--no-undefined"
    "LINKER:-z,now"
    "LINKER:--exclude-libs,ALL")
endfunction()
