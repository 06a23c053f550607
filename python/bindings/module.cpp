// fourierconv._core: the compiled half of the Python package (python/fourierconv is the other).
// C++ errors reach Python as the exception types scipy and Keras raise for the same faults:
// fourierconv::Error (bad arguments, shapes, files) as ValueError, OutOfMemory and
// std::bad_alloc as MemoryError; nanobind's own argument errors are TypeError.
#include <new>

#include <nanobind/stl/string.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "fourierconv/cpu.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/memory_limit.hpp"
#include "fourierconv/nn/initializers.hpp"

NB_MODULE(_core, m) {
  namespace nb = nanobind;
  m.doc() = "fourierconv's C++ core (use the fourierconv package, not this module)";
  fourierconv::python::import_numpy();
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const fourierconv::OutOfMemory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const fourierconv::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "fourierconv: out of memory (std::bad_alloc): the sizes asked for are too large");
    }
  });
  m.def("cpu_dispatch_level", &fourierconv::cpu_dispatch_level,
        "The instruction set fourierconv's hot loops run at here: x86-64-v4, x86-64-v3 or baseline.");
  m.def("memory_limit", &fourierconv::memory_limit,
        "The most bytes one array may take (include/fourierconv/memory_limit.hpp).");
  m.def(
      "set_memory_limit",
      [](nb::object limit) {
        if (limit.is_none()) return fourierconv::set_memory_limit(0);
        if (nb::isinstance<nb::str>(limit))
          return fourierconv::set_memory_limit(fourierconv::parse_memory_size(nb::cast<std::string>(limit), "set_memory_limit"));
        return fourierconv::set_memory_limit(nb::cast<std::size_t>(limit));
      },
      nb::arg("limit").none());
  m.def("memory_pool_bytes", &fourierconv::memory_pool_bytes,
        "The bytes of freed large buffers kept for reuse (include/fourierconv/memory_limit.hpp).");
  m.def(
      "set_memory_pool_limit",
      [](nb::object limit) {
        if (limit.is_none()) return fourierconv::reset_memory_pool_limit();
        if (nb::isinstance<nb::str>(limit))
          return fourierconv::set_memory_pool_limit(
              fourierconv::parse_memory_size(nb::cast<std::string>(limit), "set_memory_pool_limit", /*allow_zero=*/true));
        return fourierconv::set_memory_pool_limit(nb::cast<std::size_t>(limit));
      },
      nb::arg("limit").none(),
      "The most bytes the memory pool keeps (0: none; None: a quarter of the memory limit).");
  m.def("empty_memory_pool", &fourierconv::empty_memory_pool,
        "Returns every pooled buffer to the system (torch.cuda.empty_cache()'s counterpart).");
  m.def(
      "set_random_seed", [](std::uint64_t seed) { fourierconv::nn::set_random_seed(seed); }, nb::arg("seed"),
      "keras.utils.set_random_seed: seeds the generator every initializer and dropout draws from.");
  fourierconv::python::bind_signal(m);
  fourierconv::python::bind_filters(m);
  fourierconv::python::bind_models(m);
  fourierconv::python::bind_stream(m);
}
