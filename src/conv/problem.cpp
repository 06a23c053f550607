#include "fourierconv/conv/problem.hpp"

#include <algorithm>
#include <sstream>

#include "fourierconv/error.hpp"

namespace fourierconv::conv {

Padding parse_padding(const std::string& name) {
  if (name == "valid") return Padding::Valid;
  if (name == "same") return Padding::Same;
  if (name == "causal") return Padding::Causal;
  throw Error("padding: expected valid, same or causal; got '" + name + "'");
}

std::string to_string(Padding p) { return p == Padding::Valid ? "valid" : p == Padding::Same ? "same" : "causal"; }

Problem Problem::make(std::size_t n, std::size_t h, std::size_t w, std::size_t c, std::size_t f, std::size_t kh,
                      std::size_t kw, std::size_t sh, std::size_t sw, std::size_t dh, std::size_t dw, Padding padding,
                      const std::string& who) {
  if (!n || !h || !w || !c || !f || !kh || !kw || !sh || !sw || !dh || !dw)
    throw Error(who + ": sizes, strides and dilations must be positive");
  Problem p{n, h, w, c, f, kh, kw, sh, sw, dh, dw, padding};
  auto axis = [&](std::size_t in, std::size_t k, std::size_t s, std::size_t d, std::size_t& out, std::size_t& lo,
                  std::size_t& hi) {
    const std::size_t span = d * (k - 1) + 1;
    if (padding == Padding::Valid) {
      if (span > in)
        throw Error(who + ": kernel " + std::to_string(kh) + "x" + std::to_string(kw) + " (dilated extent " +
                    std::to_string(span) + ") does not fit the input " + std::to_string(h) + "x" + std::to_string(w) +
                    " with padding 'valid'");
      out = (in - span) / s + 1;
      lo = hi = 0;
    } else if (padding == Padding::Causal) {
      out = (in + s - 1) / s;
      lo = span - 1;
      hi = 0;
    } else {
      out = (in + s - 1) / s;
      const std::size_t need = (out - 1) * s + span;
      const std::size_t total = need > in ? need - in : 0;
      lo = total / 2;
      hi = total - lo;
    }
  };
  axis(h, kh, sh, dh, p.oh, p.pad_top, p.pad_bottom);
  axis(w, kw, sw, dw, p.ow, p.pad_left, p.pad_right);
  return p;
}

std::string Problem::to_string() const {
  std::ostringstream os;
  os << "N=" << n << " " << h << "x" << w << "x" << c << " -> " << oh << "x" << ow << "x" << f << ", k" << kh << "x"
     << kw << " s" << sh << (sh != sw ? "x" + std::to_string(sw) : "") << " d" << dh
     << (dh != dw ? "x" + std::to_string(dw) : "") << " " << conv::to_string(padding);
  return os.str();
}

}  // namespace fourierconv::conv
