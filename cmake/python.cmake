# The Python extension module fourierconv._core: nanobind and numpy's headers (from PyPI, build
# requirements in pyproject.toml) over the static library. Built by scikit-build-core (pip install .), or by
# any configure given -DFOURIERCONV_PYTHON=ON and a Python with nanobind installed.
# NumPy: its C API headers (numpy is a build requirement too); the module reads and makes
# numpy arrays through it (python/bindings/convert.cpp).
find_package(Python 3.9 REQUIRED COMPONENTS Interpreter Development.Module NumPy)
if(Python_NumPy_VERSION VERSION_LESS 2.0)
  message(FATAL_ERROR "FOURIERCONV_PYTHON: numpy ${Python_NumPy_VERSION} found for ${Python_EXECUTABLE}; building the module needs numpy >= 2.0's headers (pip install 'numpy>=2'; the module then runs on numpy >= 1.23)")
endif()
if(NOT nanobind_DIR)
  execute_process(COMMAND "${Python_EXECUTABLE}" -m nanobind --cmake_dir
                  OUTPUT_STRIP_TRAILING_WHITESPACE OUTPUT_VARIABLE nanobind_DIR RESULT_VARIABLE nb_rc)
  if(NOT nb_rc EQUAL 0)
    message(FATAL_ERROR "FOURIERCONV_PYTHON: nanobind is not installed for ${Python_EXECUTABLE} (pip install nanobind)")
  endif()
endif()
find_package(nanobind CONFIG REQUIRED)

file(GLOB FOURIERCONV_BINDINGS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/python/bindings/*.cpp)
nanobind_add_module(_core NB_STATIC ${FOURIERCONV_BINDINGS})
target_include_directories(_core PRIVATE ${PROJECT_SOURCE_DIR}/python/bindings ${Python_NumPy_INCLUDE_DIRS})
target_link_libraries(_core PRIVATE fourierconv)
install(TARGETS _core LIBRARY DESTINATION fourierconv COMPONENT python)
