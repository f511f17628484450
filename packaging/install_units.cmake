# Run by `cmake --install` (install(SCRIPT) in CMakeLists.txt): writes the
# systemd units for the prefix being installed to, so that ExecStart names
# the installed binary and -c the config under its etc (/etc for /usr, as
# GNUInstallDirs does), and installs them to PREFIX/lib/systemd/system.
# BS_SOURCE_DIR, BS_BINARY_DIR and BS_INSTALL_BINDIR are set by the
# install(CODE) line before it.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(BS_CONFDIR "/etc/bitsleuth")
else()
  set(BS_CONFDIR "${CMAKE_INSTALL_PREFIX}/etc/bitsleuth")
endif()
if(IS_ABSOLUTE "${BS_INSTALL_BINDIR}")
  set(BS_BINDIR "${BS_INSTALL_BINDIR}")
else()
  set(BS_BINDIR "${CMAKE_INSTALL_PREFIX}/${BS_INSTALL_BINDIR}")
endif()
foreach(unit bitsleuth.service bitsleuth-serve.service bitsleuth-work@.service)
  configure_file("${BS_SOURCE_DIR}/packaging/${unit}.in"
    "${BS_BINARY_DIR}/units/${unit}" @ONLY)
  file(INSTALL "${BS_BINARY_DIR}/units/${unit}"
    DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endforeach()
