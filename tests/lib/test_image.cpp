// Tests of lib/image: PNG/JPEG decoding against PIL, bilinear resizing against torch, the tensor
// transform (layouts, channel order, normalization, uint8), and broken or oversized files.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "io_test_util.h"
#include "lib/file_util.h"
#include "lib/image.h"
#include "lib/image_check.h"
#include "lib/npy.h"

namespace fs = std::filesystem;
using namespace ortool;

namespace {

// testdata/images/ is made by testdata/make_images.py (PIL and torch are the references).
fs::path images() { return fs::path(ORTOOL_SOURCE_DIR) / "testdata" / "images"; }

Tensor ref(const std::string& name) {
  auto t = read_npy(images() / name);
  REQUIRE_MESSAGE(t.is_ok(), t.status().message());
  return std::move(t).value();
}

Image read_ok(const std::string& name, int channels) {
  auto img = read_image(images() / name, channels);
  REQUIRE_MESSAGE(img.is_ok(), img.status().message());
  return std::move(img).value();
}

// The pixel (y, x, c) of an HWC uint8 reference with `ch` channels.
int px(const Tensor& t, int64_t y, int64_t x, int64_t c) {
  int64_t w = t.dims()[1], ch = t.rank() == 3 ? t.dims()[2] : 1;
  return t.data<uint8_t>()[(y * w + x) * ch + c];
}

}  // namespace

TEST_CASE("PNG pixels decode exactly as PIL reads them") {
  Tensor want = ref("rgb_4x5.npy");
  Image img = read_ok("rgb_4x5.png", 3);
  REQUIRE(img.height == 4);
  REQUIRE(img.width == 5);
  REQUIRE(img.channels == 3);
  REQUIRE(img.pixels.size() == static_cast<size_t>(want.numel()));
  for (int64_t i = 0; i < want.numel(); ++i) CHECK(img.pixels[static_cast<size_t>(i)] == want.data<uint8_t>()[i]);
}

TEST_CASE("gray, RGBA and 16-bit PNGs convert to the channels asked for") {
  Tensor gray = ref("gray_3x3.npy");
  Image g3 = read_ok("gray_3x3.png", 3);
  Image g1 = read_ok("gray_3x3.png", 1);
  REQUIRE(g3.channels == 3);
  REQUIRE(g1.channels == 1);
  for (int64_t y = 0; y < 3; ++y)
    for (int64_t x = 0; x < 3; ++x) {
      int v = px(gray, y, x, 0);
      CHECK(g1.pixels[static_cast<size_t>(y * 3 + x)] == v);
      for (int64_t c = 0; c < 3; ++c) CHECK(g3.pixels[static_cast<size_t>((y * 3 + x) * 3 + c)] == v);
    }
  Tensor rgba = ref("rgba_2x4.npy");
  Image noalpha = read_ok("rgba_2x4.png", 3);
  for (int64_t y = 0; y < 2; ++y)
    for (int64_t x = 0; x < 4; ++x)
      for (int64_t c = 0; c < 3; ++c) CHECK(noalpha.pixels[static_cast<size_t>((y * 4 + x) * 3 + c)] == px(rgba, y, x, c));
  Tensor high = ref("gray16_2x3_high_bytes.npy");
  Image g16 = read_ok("gray16_2x3.png", 1);
  REQUIRE(g16.pixels.size() == 6);
  for (int64_t i = 0; i < 6; ++i) CHECK(g16.pixels[static_cast<size_t>(i)] == high.data<uint8_t>()[i]);
}

TEST_CASE("RGB read as gray is the luma of the pixel") {
  Tensor rgb = ref("rgb_4x5.npy");
  Image g = read_ok("rgb_4x5.png", 1);
  for (int64_t y = 0; y < 4; ++y)
    for (int64_t x = 0; x < 5; ++x) {
      double luma = 0.299 * px(rgb, y, x, 0) + 0.587 * px(rgb, y, x, 1) + 0.114 * px(rgb, y, x, 2);
      CHECK(std::fabs(g.pixels[static_cast<size_t>(y * 5 + x)] - luma) <= 1.5);
    }
}

TEST_CASE("JPEG decodes within a few levels of PIL's decoder") {
  Tensor want = ref("photo_12x16_pil.npy");
  Image img = read_ok("photo_12x16.jpg", 3);
  REQUIRE(img.height == 12);
  REQUIRE(img.width == 16);
  int worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i)
    worst = std::max(worst, std::abs(int{img.pixels[static_cast<size_t>(i)]} - int{want.data<uint8_t>()[i]}));
  CHECK(worst <= 3);
}

TEST_CASE("bilinear resize matches torch's half-pixel bilinear, up and down") {
  Image img = read_ok("rgb_4x5.png", 3);
  for (auto [h, w, file] : {std::tuple{3, 7, "rgb_4x5_resized_3x7.npy"}, std::tuple{8, 2, "rgb_4x5_resized_8x2.npy"}}) {
    Tensor want = ref(file);
    std::vector<float> got = resize_bilinear(img, h, w);
    REQUIRE(got.size() == static_cast<size_t>(want.numel()));
    for (int64_t i = 0; i < want.numel(); ++i)
      CHECK(std::fabs(got[static_cast<size_t>(i)] - want.data<float>()[i]) <= 1e-3);
  }
  // Same size: the pixels unchanged.
  std::vector<float> same = resize_bilinear(img, 4, 5);
  for (size_t i = 0; i < same.size(); ++i) CHECK(same[i] == static_cast<float>(img.pixels[i]));
}

TEST_CASE("image_to_tensor: layouts, BGR, scale, mean and std per channel") {
  Image img = read_ok("rgb_4x5.png", 3);
  Tensor rgb = ref("rgb_4x5.npy");
  ImageTransform t;
  t.height = 4;
  t.width = 5;
  t.scale = 1.0 / 255;
  t.mean = {0.485, 0.456, 0.406};
  t.std = {0.229, 0.224, 0.225};
  for (ImageLayout layout : {ImageLayout::NCHW, ImageLayout::NHWC}) {
    for (ChannelOrder order : {ChannelOrder::RGB, ChannelOrder::BGR}) {
      t.layout = layout;
      t.order = order;
      auto out = image_to_tensor(img, t, DType::Float);
      REQUIRE_MESSAGE(out.is_ok(), out.status().message());
      std::vector<int64_t> dims = layout == ImageLayout::NCHW ? std::vector<int64_t>{1, 3, 4, 5} : std::vector<int64_t>{1, 4, 5, 3};
      REQUIRE(out->dims() == dims);
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t y = 0; y < 4; ++y)
          for (int64_t x = 0; x < 5; ++x) {
            int64_t src = order == ChannelOrder::BGR ? 2 - c : c;
            double want = (px(rgb, y, x, src) / 255.0 - t.mean[static_cast<size_t>(c)]) / t.std[static_cast<size_t>(c)];
            int64_t at = layout == ImageLayout::NCHW ? (c * 4 + y) * 5 + x : (y * 5 + x) * 3 + c;
            CHECK(std::fabs(out->data<float>()[at] - want) <= 1e-5);
          }
    }
  }
  t.batch_dim = false;
  t.layout = ImageLayout::NCHW;
  auto chw = image_to_tensor(img, t, DType::Float);
  REQUIRE(chw.is_ok());
  CHECK(chw->dims() == std::vector<int64_t>{3, 4, 5});
}

TEST_CASE("image_to_tensor: uint8 keeps rounded pixels and refuses normalization") {
  Image img = read_ok("rgb_4x5.png", 3);
  Tensor want = ref("rgb_4x5_resized_3x7.npy");
  ImageTransform t;
  t.height = 3;
  t.width = 7;
  t.layout = ImageLayout::NHWC;
  auto out = image_to_tensor(img, t, DType::UInt8);
  REQUIRE_MESSAGE(out.is_ok(), out.status().message());
  for (int64_t i = 0; i < want.numel(); ++i)
    CHECK(std::abs(int{out->data<uint8_t>()[i]} - static_cast<int>(std::lround(want.data<float>()[i]))) <= 1);
  t.mean = {1};
  CHECK(image_to_tensor(img, t, DType::UInt8).status().message().find("uint8") != std::string::npos);
  t.mean = {};
  CHECK(!image_to_tensor(img, t, DType::Int64).is_ok());
}

TEST_CASE("image_to_tensor refuses bad normalization values") {
  Image img = read_ok("rgb_4x5.png", 3);
  ImageTransform t;
  t.height = 2;
  t.width = 2;
  t.mean = {1, 2};
  CHECK(image_to_tensor(img, t, DType::Float).status().message().find("mean has 2 values") != std::string::npos);
  t.mean = {};
  t.std = {0};
  CHECK(!image_to_tensor(img, t, DType::Float).is_ok());
  t.std = {};
  t.height = 0;
  CHECK(!image_to_tensor(img, t, DType::Float).is_ok());
}

TEST_CASE("broken, foreign and oversized image files are errors naming the file") {
  testing::TempDir tmp;
  std::string png = testing::read_bytes(images() / "rgb_4x5.png");
  testing::write_bytes(tmp / "truncated.png", png.substr(0, 40));
  testing::write_bytes(tmp / "text.png", "this is not an image");
  // IHDR width and height (bytes 16-23) patched to 100000 x 100000: refused before decoding.
  std::string huge = png;
  for (int k : {16, 20}) {
    huge[static_cast<size_t>(k)] = 0;
    huge[static_cast<size_t>(k + 1)] = 0x01;
    huge[static_cast<size_t>(k + 2)] = static_cast<char>(0x86);
    huge[static_cast<size_t>(k + 3)] = static_cast<char>(0xA0);
  }
  testing::write_bytes(tmp / "huge.png", huge);
  for (const char* name : {"truncated.png", "text.png", "huge.png", "missing.png"}) {
    auto r = read_image(tmp / name, 3);
    INFO(name << ": " << r.status().message());
    CHECK(!r.is_ok());
    CHECK(r.status().message().find(name) != std::string::npos);
  }
  CHECK(!read_image(images() / "rgb_4x5.png", 4).is_ok());
  CHECK(!read_image(tmp.path(), 3).is_ok());  // a folder
}

TEST_CASE("a JPEG Huffman table of more than 256 codes is refused before stb_image reads it") {
  // Found by fuzz/fuzz_samples: Debian's stb_image writes such a table's codes past its arrays (ASan:
  // index 257 out of bounds in stbi__build_huffman). lib/image_check.h refuses it first.
  testing::TempDir tmp;
  std::string jpg = testing::read_bytes(images() / "photo_12x16.jpg");
  const size_t dht = jpg.find("\xFF\xC4");
  REQUIRE(dht != std::string::npos);
  std::string bad = jpg;
  for (size_t b = 0; b < 16; ++b) bad[dht + 5 + b] = static_cast<char>(0x11);  // 16 x 17 = 272 codes
  testing::write_bytes(tmp / "bad_dht.jpg", bad);
  auto r = read_image(tmp / "bad_dht.jpg", 3);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("bad_dht.jpg") != std::string::npos);
  CHECK(r.status().message().find("Huffman table (DHT) lists 272 codes") != std::string::npos);
  // 256 codes is the limit, not an error; the photo itself passes (its decoding is tested above).
  std::string full = jpg;
  for (size_t b = 0; b < 16; ++b) full[dht + 5 + b] = static_cast<char>(0x10);
  CHECK(check_jpeg_huffman_tables(std::as_bytes(std::span(full.data(), full.size())), "x.jpg").is_ok());
  CHECK(check_jpeg_huffman_tables(std::as_bytes(std::span(jpg.data(), jpg.size())), "x.jpg").is_ok());
}

TEST_CASE("a JPEG scan that decodes with a Huffman table no DHT defined is refused before stb_image reads it") {
  // Found by fuzz/fuzz_samples: stb decodes with the named table anyway, whose memory it never wrote; the
  // garbage codes index past the table's arrays (an assertion in the fuzz build, only when the heap held
  // the wrong bytes, so the input did not reproduce alone). Renumber every AC table to id 3.
  testing::TempDir tmp;
  std::string jpg = testing::read_bytes(images() / "photo_12x16.jpg");
  std::string bad = jpg;
  int renumbered = 0;
  for (size_t dht = bad.find("\xFF\xC4"); dht != std::string::npos; dht = bad.find("\xFF\xC4", dht + 2)) {
    const size_t len = static_cast<uint8_t>(bad[dht + 2]) << 8 | static_cast<uint8_t>(bad[dht + 3]);
    for (size_t k = dht + 4; k < dht + 2 + len;) {
      size_t codes = 0;
      for (size_t b = 0; b < 16; ++b) codes += static_cast<uint8_t>(bad[k + 1 + b]);
      if (static_cast<uint8_t>(bad[k]) >> 4 == 1) {
        bad[k] = static_cast<char>(0x13);
        ++renumbered;
      }
      k += 17 + codes;
    }
  }
  REQUIRE(renumbered > 0);
  testing::write_bytes(tmp / "no_ac_table.jpg", bad);
  auto r = read_image(tmp / "no_ac_table.jpg", 3);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("no_ac_table.jpg") != std::string::npos);
  CHECK(r.status().message().find("a scan decodes with Huffman table AC 0, which no DHT segment before it defines") !=
        std::string::npos);
  // A progressive file defines its AC tables after its first, DC-only scans: read as PIL reads it.
  Tensor want = ref("photo_12x16_progressive_pil.npy");
  Image img = read_ok("photo_12x16_progressive.jpg", 3);
  int worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i)
    worst = std::max(worst, std::abs(int{img.pixels[static_cast<size_t>(i)]} - int{want.data<uint8_t>()[i]}));
  CHECK(worst <= 3);
}

TEST_CASE("a PNG chunk longer than the file is refused before stb_image allocates for it") {
  // Found by fuzz/fuzz_samples: a 455-byte PNG whose IDAT claims 0x5d00004b bytes made stb allocate 2 GB.
  testing::TempDir tmp;
  std::string png = testing::read_bytes(images() / "rgb_4x5.png");
  const size_t idat = png.find("IDAT");
  REQUIRE(idat != std::string::npos);
  std::string bad = png;
  bad.replace(idat - 4, 4, std::string("\x5d\x00\x00\x4b", 4));
  testing::write_bytes(tmp / "long_idat.png", bad);
  auto r = read_image(tmp / "long_idat.png", 3);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("long_idat.png") != std::string::npos);
  CHECK(r.status().message().find("chunk 'IDAT' claims 1560281163 bytes") != std::string::npos);
  CHECK(check_png_chunks(std::as_bytes(std::span(png.data(), png.size())), "x.png").is_ok());
}

TEST_CASE("is_image_file knows PNG and JPEG names in any case") {
  CHECK(is_image_file("a/b.png"));
  CHECK(is_image_file("x.JPG"));
  CHECK(is_image_file("x.jpeg"));
  CHECK(!is_image_file("x.npy"));
  CHECK(!is_image_file("png"));
}
