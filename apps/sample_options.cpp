// Parsing of the image preprocessing options (sizes, per-channel lists, fractions, layouts).
#include "apps/sample_options.h"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace ortool::cli {

namespace {

// A finite number, or a fraction "a/b" of two (b non-zero).
Result<double> parse_number(const std::string& flag, const std::string& whole, const std::string& text) {
  auto one = [&](const std::string& s) -> Result<double> {
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
      return invalid("{} {}: '{}' is not a finite number", flag, whole, s);
    return v;
  };
  auto slash = text.find('/');
  if (slash == std::string::npos) return one(text);
  ASSIGN_OR_RETURN(double num, one(text.substr(0, slash)));
  ASSIGN_OR_RETURN(double den, one(text.substr(slash + 1)));
  if (den == 0) return invalid("{} {}: division by zero", flag, whole);
  return num / den;
}

Result<std::vector<double>> parse_list(const std::string& flag, const std::string& text) {
  std::vector<double> out;
  if (text.empty()) return out;
  size_t pos = 0;
  while (true) {
    size_t comma = text.find(',', pos);
    ASSIGN_OR_RETURN(double v, parse_number(flag, text, text.substr(pos, comma == std::string::npos ? comma : comma - pos)));
    out.push_back(v);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

Result<int64_t> parse_side(const std::string& whole, const std::string& s) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno == ERANGE || v <= 0 || v > (1 << 16))
    return invalid("--image-size {}: '{}' is not a size from 1 to 65536 (use HEIGHTxWIDTH, e.g. 224x224)", whole, s);
  return static_cast<int64_t>(v);
}

}  // namespace

void add_image_options(CLI::App& app, ImageCliOptions& o) {
  const char* group = "Images (a folder of PNG/JPEG files)";
  app.add_option("--image-size", o.size, "Resize images to HEIGHTxWIDTH, or SIZE for both (default: the input's fixed size)")
      ->type_name("HxW")
      ->group(group);
  app.add_option("--scale", o.scale, "Multiply pixels (0-255) by this first, e.g. 1/255 (default 1/255; uint8 inputs: 1)")
      ->type_name("NUMBER")
      ->group(group);
  app.add_option("--mean", o.mean, "Subtract per channel after scaling, e.g. 0.485,0.456,0.406 (default 0)")
      ->type_name("LIST")
      ->group(group);
  app.add_option("--std", o.std, "Then divide per channel, e.g. 0.229,0.224,0.225 (default 1)")
      ->type_name("LIST")
      ->group(group);
  app.add_option("--layout", o.layout, "Tensor layout nchw or nhwc (default: from the input's shape)")
      ->check(CLI::IsMember({"nchw", "nhwc"}))
      ->group(group);
  app.add_option("--channel-order", o.channel_order, "Channel order rgb or bgr (default rgb)")
      ->check(CLI::IsMember({"rgb", "bgr"}))
      ->group(group);
}

Result<rt::ImageOptions> parse_image_options(const ImageCliOptions& o) {
  rt::ImageOptions r;
  if (!o.size.empty()) {
    auto x = o.size.find_first_of("xX");
    ASSIGN_OR_RETURN(r.height, parse_side(o.size, o.size.substr(0, x)));
    if (x == std::string::npos) {
      r.width = r.height;
    } else {
      ASSIGN_OR_RETURN(r.width, parse_side(o.size, o.size.substr(x + 1)));
    }
  }
  if (!o.scale.empty()) {
    ASSIGN_OR_RETURN(r.scale, parse_number("--scale", o.scale, o.scale));
  }
  ASSIGN_OR_RETURN(r.mean, parse_list("--mean", o.mean));
  ASSIGN_OR_RETURN(r.std, parse_list("--std", o.std));
  for (double s : r.std)
    if (s == 0) return invalid("--std {}: a standard deviation of 0 divides by zero", o.std);
  if (o.layout == "nchw") r.layout = ImageLayout::NCHW;
  else if (o.layout == "nhwc") r.layout = ImageLayout::NHWC;
  if (o.channel_order == "bgr") r.channel_order = ChannelOrder::BGR;
  return r;
}

}  // namespace ortool::cli
