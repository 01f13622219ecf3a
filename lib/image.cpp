// PNG/JPEG decoding through stb_image (Debian's libstb-dev), bilinear resizing, image -> tensor.
#include "lib/image.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>

#include "lib/file_util.h"
#include "lib/image_check.h"

// stb_image is compiled here, private to this file: PNG and JPEG only, no stdio (files are read
// with read_file's checks), and a dimension cap so a crafted header cannot ask for gigabytes.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS (1 << 16)
// Zeroed allocations: stb reads parts of its decoder state it never wrote when a file leaves them out (a
// Huffman table no DHT defines; lib/image_check.h refuses the cases known), and zeros decode harmlessly
// where heap garbage indexes past arrays.
#define STBI_MALLOC(sz) std::calloc(1, sz)
#define STBI_REALLOC(p, newsz) std::realloc(p, newsz)
#define STBI_FREE(p) std::free(p)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

namespace ortool {

namespace fs = std::filesystem;

namespace {

// Image files above this size are refused before reading (a 16k x 4k PNG is well under it).
constexpr uint64_t kMaxImageFileBytes = uint64_t{512} << 20;

}  // namespace

bool is_image_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

Result<Image> decode_image(std::span<const std::byte> bytes, int channels, std::string_view what) {
  if (channels != 1 && channels != 3)
    return invalid("{}: images are read as 1 (gray) or 3 (RGB) channels, not {}", what, channels);
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    return invalid("{}: image file too large ({} bytes)", what, bytes.size());
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  int len = static_cast<int>(bytes.size());
  // Before stb reads anything, stbi_info included (see lib/image_check.h).
  TRY(check_png_chunks(bytes, what));
  TRY(check_jpeg_huffman_tables(bytes, what));
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &comp))
    return invalid("{}: not a readable PNG or JPEG image ({})", what, stbi_failure_reason());
  if (w <= 0 || h <= 0 || int64_t{w} * h > kMaxImagePixels)
    return invalid("{}: image of {}x{} pixels is larger than the {} pixels allowed", what, w, h, kMaxImagePixels);
  int got_w = 0, got_h = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> px(stbi_load_from_memory(data, len, &got_w, &got_h, &comp, channels),
                                               stbi_image_free);
  if (!px) return invalid("{}: cannot decode the image ({})", what, stbi_failure_reason());
  Image img;
  img.height = got_h;
  img.width = got_w;
  img.channels = channels;
  img.pixels.assign(px.get(), px.get() + static_cast<size_t>(got_w) * static_cast<size_t>(got_h) * static_cast<size_t>(channels));
  return img;
}

Result<Image> read_image(const fs::path& path, int channels) {
  ASSIGN_OR_RETURN(std::string bytes, read_file(path, kMaxImageFileBytes));
  return decode_image(std::as_bytes(std::span(bytes.data(), bytes.size())), channels, path.string());
}

namespace {

// Source coordinate of output index `i` for half-pixel bilinear sampling: the two neighbours and
// the weight of the second. Coordinates below 0 clamp to the first pixel, past the end to the last.
struct Tap {
  int64_t i0, i1;
  float w1;
};

std::vector<Tap> taps(int64_t in, int64_t out) {
  std::vector<Tap> t(static_cast<size_t>(out));
  double ratio = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t o = 0; o < out; ++o) {
    double src = std::max(0.0, (static_cast<double>(o) + 0.5) * ratio - 0.5);
    auto i0 = std::min(static_cast<int64_t>(src), in - 1);
    int64_t i1 = std::min(i0 + 1, in - 1);
    t[static_cast<size_t>(o)] = {i0, i1, static_cast<float>(src - static_cast<double>(i0))};
  }
  return t;
}

}  // namespace

std::vector<float> resize_bilinear(const Image& img, int64_t height, int64_t width) {
  const int64_t c = img.channels;
  std::vector<float> out(static_cast<size_t>(height * width * c));
  if (img.height == height && img.width == width) {
    std::copy(img.pixels.begin(), img.pixels.end(), out.begin());
    return out;
  }
  std::vector<Tap> ty = taps(img.height, height), tx = taps(img.width, width);
  auto px = [&](int64_t y, int64_t x, int64_t k) {
    return static_cast<float>(img.pixels[static_cast<size_t>((y * img.width + x) * c + k)]);
  };
  for (int64_t y = 0; y < height; ++y) {
    const Tap& a = ty[static_cast<size_t>(y)];
    for (int64_t x = 0; x < width; ++x) {
      const Tap& b = tx[static_cast<size_t>(x)];
      for (int64_t k = 0; k < c; ++k) {
        float top = px(a.i0, b.i0, k) * (1 - b.w1) + px(a.i0, b.i1, k) * b.w1;
        float bottom = px(a.i1, b.i0, k) * (1 - b.w1) + px(a.i1, b.i1, k) * b.w1;
        out[static_cast<size_t>((y * width + x) * c + k)] = top * (1 - a.w1) + bottom * a.w1;
      }
    }
  }
  return out;
}

Result<Tensor> image_to_tensor(const Image& img, const ImageTransform& t, DType dtype) {
  const int64_t c = img.channels;
  if (t.height <= 0 || t.width <= 0) return invalid("image size {}x{} is not positive", t.height, t.width);
  if (t.height > (1 << 16) || t.width > (1 << 16) || t.height * t.width > kMaxImagePixels)
    return invalid("image size {}x{} is larger than the {} pixels allowed", t.height, t.width, kMaxImagePixels);
  auto per_channel = [&](const std::vector<double>& v, double dflt, const char* what) -> Result<std::vector<double>> {
    if (v.empty()) return std::vector<double>(static_cast<size_t>(c), dflt);
    if (v.size() == 1) return std::vector<double>(static_cast<size_t>(c), v[0]);
    if (static_cast<int64_t>(v.size()) != c)
      return invalid("{} has {} values for an image of {} channel{}", what, v.size(), c, c == 1 ? "" : "s");
    return v;
  };
  ASSIGN_OR_RETURN(std::vector<double> mean, per_channel(t.mean, 0.0, "the mean"));
  ASSIGN_OR_RETURN(std::vector<double> stdev, per_channel(t.std, 1.0, "the std"));
  for (double s : stdev)
    if (!(std::isfinite(s) && s != 0)) return invalid("the std {} is not a finite non-zero number", s);
  if (!std::isfinite(t.scale)) return invalid("the scale {} is not finite", t.scale);
  bool neutral = t.scale == 1.0 && std::all_of(mean.begin(), mean.end(), [](double m) { return m == 0; }) &&
                 std::all_of(stdev.begin(), stdev.end(), [](double s) { return s == 1; });
  if (dtype == DType::UInt8 && !neutral)
    return invalid("a uint8 image input takes the pixel values as they are: scale, mean and std do not apply");
  if (dtype != DType::Float && dtype != DType::UInt8)
    return unsupported("images make float or uint8 tensors, not {}", dtype_name(dtype));

  std::vector<float> px = resize_bilinear(img, t.height, t.width);
  std::vector<int64_t> dims = t.layout == ImageLayout::NCHW ? std::vector<int64_t>{c, t.height, t.width}
                                                            : std::vector<int64_t>{t.height, t.width, c};
  if (t.batch_dim) dims.insert(dims.begin(), 1);
  Tensor out(dtype, dims);
  const int64_t plane = t.height * t.width;
  for (int64_t k = 0; k < c; ++k) {
    // Output channel k takes source channel k, or the mirrored one for BGR.
    int64_t src = (t.order == ChannelOrder::BGR && c == 3) ? 2 - k : k;
    double m = mean[static_cast<size_t>(k)], s = stdev[static_cast<size_t>(k)];
    for (int64_t p = 0; p < plane; ++p) {
      float v = px[static_cast<size_t>(p * c + src)];
      int64_t at = t.layout == ImageLayout::NCHW ? k * plane + p : p * c + k;
      if (dtype == DType::UInt8)
        out.mutable_data<uint8_t>()[at] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      else
        out.mutable_data<float>()[at] = static_cast<float>((static_cast<double>(v) * t.scale - m) / s);
    }
  }
  return out;
}

}  // namespace ortool
