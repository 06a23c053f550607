#include "fourierconv/io/png.hpp"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstring>

#include "fourierconv/error.hpp"
#include "fourierconv/memory_limit.hpp"
#include "fourierconv/io/file.hpp"

namespace fourierconv::io {
namespace {


struct Reader {
  const unsigned char* data;
  std::size_t size, pos;
  char message[256];
};

void on_error(png_structp png, png_const_charp msg) {
  auto* r = static_cast<Reader*>(png_get_error_ptr(png));
  std::snprintf(r->message, sizeof r->message, "%s", msg);
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

void read_bytes(png_structp png, png_bytep out, png_size_t n) {
  auto* r = static_cast<Reader*>(png_get_io_ptr(png));
  if (r->size - r->pos < n) png_error(png, "file is truncated");
  std::memcpy(out, r->data + r->pos, n);
  r->pos += n;
}

void write_bytes(png_structp png, png_bytep in, png_size_t n) {
  auto* out = static_cast<std::vector<unsigned char>*>(png_get_io_ptr(png));
  out->insert(out->end(), in, in + n);
}
void flush_bytes(png_structp) {}

}  // namespace

Tensor decode_png(const std::vector<unsigned char>& bytes, const std::string& what) {
  if (bytes.size() < 8 || png_sig_cmp(bytes.data(), 0, 8) != 0) throw Error(what + ": not a PNG file (bad signature)");
  Reader r{bytes.data(), bytes.size(), 0, {0}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_error, on_warning);
  if (!png) throw Error(what + ": out of memory");
  png_infop info = png_create_info_struct(png);
  // Everything libpng may longjmp over is plain data allocated before setjmp.
  Tensor* result = new Tensor();
  std::vector<unsigned char>* pixels = new std::vector<unsigned char>();
  std::vector<png_bytep>* rows = new std::vector<png_bytep>();
  auto cleanup = [&] {
    png_destroy_read_struct(&png, &info, nullptr);
    delete pixels;
    delete rows;
  };
  if (setjmp(png_jmpbuf(png))) {
    cleanup();
    delete result;
    throw Error(what + ": corrupt PNG: " + r.message);
  }
  png_set_read_fn(png, &r, read_bytes);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (png_get_interlace_type(png, info) != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const int channels = png_get_channels(png, info);
  depth = png_get_bit_depth(png, info);
  const std::size_t rowbytes = png_get_rowbytes(png, info);
  // The decoded rows and the float32 image, refused past the memory limit before allocating.
  const std::size_t need = rowbytes * h + std::size_t(w) * h * std::size_t(channels) * sizeof(float);
  if (need > memory_limit()) {
    cleanup();
    delete result;
    check_allocation(need, what + ": a " + std::to_string(w) + " x " + std::to_string(h) + " image");
  }
  pixels->resize(rowbytes * h);
  rows->resize(h);
  for (png_uint_32 i = 0; i < h; ++i) (*rows)[i] = pixels->data() + i * rowbytes;
  png_read_image(png, rows->data());
  png_read_end(png, nullptr);
  *result = Tensor({h, w, static_cast<std::size_t>(channels)});
  const unsigned char* p = pixels->data();
  for (png_uint_32 i = 0; i < h; ++i) {
    const unsigned char* row = p + i * rowbytes;
    for (std::size_t j = 0; j < static_cast<std::size_t>(w) * channels; ++j) {
      float v = depth == 16 ? ((row[2 * j] << 8) | row[2 * j + 1]) / 65535.0f : row[j] / 255.0f;
      (*result)[i * static_cast<std::size_t>(w) * channels + j] = v;
    }
  }
  cleanup();
  Tensor out = std::move(*result);
  delete result;
  return out;
}

Tensor read_png(const std::string& path) { return decode_png(read_file(path, "read_png"), "read_png: '" + path + "'"); }

PngScaling parse_png_scaling(const std::string& name) {
  if (name == "clip") return PngScaling::Clip;
  if (name == "normalize") return PngScaling::Normalize;
  throw Error("scaling: expected clip or normalize; got '" + name + "'");
}

std::vector<unsigned char> encode_png(const Tensor& image, int bit_depth, PngScaling scaling) {
  if (image.rank() != 2 && image.rank() != 3)
    throw Error("write_png: image must be (H, W) or (H, W, C), got shape " + image.shape_string());
  const std::size_t h = image.dim(0), w = image.dim(1), c = image.rank() == 3 ? image.dim(2) : 1;
  if (c < 1 || c > 4) throw Error("write_png: expected 1 to 4 channels, got " + std::to_string(c));
  if (h == 0 || w == 0) throw Error("write_png: image is empty " + image.shape_string());
  if (h > 0x7fffffff || w > 0x7fffffff) throw Error("write_png: image is too large " + image.shape_string());
  if (bit_depth != 8 && bit_depth != 16) throw Error("write_png: bit depth must be 8 or 16, got " + std::to_string(bit_depth));
  check_finite(image, "write_png: image");
  float lo = 0, span = 1;
  if (scaling == PngScaling::Normalize) {
    auto [mn, mx] = std::minmax_element(image.begin(), image.end());
    lo = *mn;
    span = *mx > *mn ? *mx - *mn : 0;
  }
  const int bytes = bit_depth / 8;
  const float maxv = bit_depth == 16 ? 65535.0f : 255.0f;
  std::vector<unsigned char> pixels(h * w * c * bytes);
  for (std::size_t i = 0; i < h * w * c; ++i) {
    float v = scaling == PngScaling::Normalize ? (span > 0 ? (image[i] - lo) / span : 0.0f) : image[i];
    unsigned q = static_cast<unsigned>(std::lround(std::clamp(v, 0.0f, 1.0f) * maxv));
    if (bytes == 2) {
      pixels[2 * i] = static_cast<unsigned char>(q >> 8);
      pixels[2 * i + 1] = static_cast<unsigned char>(q & 0xff);
    } else {
      pixels[i] = static_cast<unsigned char>(q);
    }
  }
  static const int types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGBA};
  Reader err{nullptr, 0, 0, {0}};
  std::vector<unsigned char>* out = new std::vector<unsigned char>();
  std::vector<png_bytep> rows(h);
  for (std::size_t i = 0; i < h; ++i) rows[i] = pixels.data() + i * w * c * bytes;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, on_error, on_warning);
  if (!png) {
    delete out;
    throw Error("write_png: out of memory");
  }
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    delete out;
    throw Error(std::string("write_png: ") + err.message);
  }
  png_set_write_fn(png, out, write_bytes, flush_bytes);
  png_set_IHDR(png, info, static_cast<png_uint_32>(w), static_cast<png_uint_32>(h), bit_depth, types[c - 1],
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::vector<unsigned char> result = std::move(*out);
  delete out;
  return result;
}

void write_png(const std::string& path, const Tensor& image, int bit_depth, PngScaling scaling) {
  write_file_atomic(path, encode_png(image, bit_depth, scaling), "write_png");
}

}  // namespace fourierconv::io
