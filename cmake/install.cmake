# `cmake --install`: the shared library, the public headers, a CMake package
# (find_package(fourierconv) -> fourierconv::fourierconv) and a pkg-config file, all in the
# "dev" component (the Python wheel installs only the "python" component).
include(CMakePackageConfigHelpers)

install(TARGETS fourierconv_shared EXPORT fourierconvTargets COMPONENT dev
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# nn/mpi.hpp belongs to libfourierconv_mpi, which is built in the tree only (the installed
# library takes any implementation of nn/communicator.hpp).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/fourierconv DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
        PATTERN "mpi.hpp" EXCLUDE)

set(FOURIERCONV_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/fourierconv)
install(EXPORT fourierconvTargets NAMESPACE fourierconv:: DESTINATION ${FOURIERCONV_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/fourierconvConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/fourierconvConfig.cmake INSTALL_DESTINATION ${FOURIERCONV_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/fourierconvConfigVersion.cmake COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/fourierconvConfig.cmake ${PROJECT_BINARY_DIR}/fourierconvConfigVersion.cmake
        DESTINATION ${FOURIERCONV_CMAKE_DIR} COMPONENT dev)

# pkg-config: the prefix found from the .pc file's own place, so `cmake --install --prefix`
# chosen at install time stays right.
file(RELATIVE_PATH FOURIERCONV_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
configure_file(${PROJECT_SOURCE_DIR}/cmake/fourierconv.pc.in ${PROJECT_BINARY_DIR}/fourierconv.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/fourierconv.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/fourierconv COMPONENT dev)
