// Images as model inputs: PNG/JPEG decoding (stb_image), bilinear resizing, and the float/uint8 tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "lib/status.h"
#include "lib/tensor.h"

namespace ortool {

// 8-bit pixels, rows top to bottom, channels interleaved (HWC): 1 (gray) or 3 (RGB).
struct Image {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// Decoded images larger than this many pixels are refused before decoding (a small file can
// declare a huge image).
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

// True for the file names read_image takes (.png, .jpg, .jpeg in any case).
bool is_image_file(const std::filesystem::path& path);

// Decodes a PNG or JPEG file to `channels` (1: gray, 3: RGB): alpha is dropped, gray is copied to
// R, G and B, color becomes luma; 16-bit PNGs are reduced to 8 bits. Errors name the file.
Result<Image> read_image(const std::filesystem::path& path, int channels);
// The same on bytes already in memory; `what` names the source in errors.
Result<Image> decode_image(std::span<const std::byte> bytes, int channels, std::string_view what);

// Bilinear resize with half-pixel centers and edge clamping (ONNX Resize mode=linear with
// coordinate_transformation_mode=half_pixel; torch interpolate align_corners=False without
// antialias). Returns HWC float pixel values (0-255, unrounded).
std::vector<float> resize_bilinear(const Image& img, int64_t height, int64_t width);

enum class ImageLayout { NCHW, NHWC };
enum class ChannelOrder { RGB, BGR };

// How an image becomes a tensor: resized to height x width, channels reordered, then per channel
// value = (pixel * scale - mean[c]) / std[c], with c counted in the tensor's channel order
// (after BGR reordering, as Caffe-style means are written).
struct ImageTransform {
  int64_t height = 0, width = 0;
  ImageLayout layout = ImageLayout::NCHW;
  ChannelOrder order = ChannelOrder::RGB;
  double scale = 1.0;
  std::vector<double> mean;  // one per channel, or one for all; empty: 0
  std::vector<double> std;   // one per channel, or one for all; empty: 1
  bool batch_dim = true;     // a leading dim of 1: [1,C,H,W] rather than [C,H,W]
};

// Makes the tensor: Float applies scale/mean/std; UInt8 keeps pixel values (rounded after resizing)
// and refuses a non-trivial scale, mean or std. Other element types are refused.
Result<Tensor> image_to_tensor(const Image& img, const ImageTransform& t, DType dtype);

}  // namespace ortool
