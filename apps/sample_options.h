// Command-line options for reading samples, shared by compare (--inputs), quantize (--calib) and
// prune: how an image folder becomes input tensors.
#pragma once

#include <string>

#include "lib/status.h"
#include "runtime/samples.h"

namespace CLI {
class App;
}

namespace ortool::cli {

// The options as typed; parse_image_options turns them into rt::ImageOptions.
struct ImageCliOptions {
  std::string size;           // "224" or "224x320" (height x width)
  std::string mean, std;      // "0.485,0.456,0.406" or one number for every channel
  std::string scale;          // "0.0039", or a fraction such as "1/255"
  std::string layout;         // "nchw" | "nhwc"
  std::string channel_order;  // "rgb" | "bgr"
};

// Adds --image-size, --mean, --std, --scale, --layout, --channel-order to `app`.
void add_image_options(CLI::App& app, ImageCliOptions& o);
// Parses them; errors name the option ("--mean 1,x: 'x' is not a number"), exit 2.
Result<rt::ImageOptions> parse_image_options(const ImageCliOptions& o);

}  // namespace ortool::cli
