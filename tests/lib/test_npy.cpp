// Tests of lib/npy: numpy-written files of every dtype, byte-identical writing, and corrupt headers.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <complex>
#include <filesystem>
#include <fstream>
#include <string>

#include "lib/file_util.h"
#include "lib/half.h"
#include "lib/npy.h"

namespace fs = std::filesystem;
using namespace ortool;

namespace {

fs::path npy_dir() { return fs::path(ORTOOL_SOURCE_DIR) / "testdata" / "npy"; }

Tensor read_ok(const std::string& name) {
  Result<Tensor> t = read_npy(npy_dir() / name);
  INFO(name << ": " << t.status().message());
  REQUIRE(t.is_ok());
  return std::move(t).value();
}

std::string file_bytes(const fs::path& p) {
  Result<std::string> r = read_file(p);
  REQUIRE(r.is_ok());
  return r.value();
}

Status parse(const std::string& bytes) {
  return parse_npy(std::as_bytes(std::span(bytes.data(), bytes.size())), "x.npy").status();
}

// A .npy v1 file with `header` (padded to 64 bytes) followed by `data`.
std::string make_npy(const std::string& header, const std::string& data) {
  std::string h = header;
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  return out + h + data;
}

}  // namespace

TEST_CASE("npy: numpy's files of every supported dtype read back with their values") {
  Tensor f32 = read_ok("f32_2x3.npy");
  CHECK(f32.dtype() == DType::Float);
  CHECK(f32.dims() == std::vector<int64_t>{2, 3});

  Tensor f16 = read_ok("f16_4.npy");
  REQUIRE(f16.dtype() == DType::Float16);
  const auto* h = f16.data<uint16_t>();
  CHECK(half_to_float(h[0]) == 0.5f);
  CHECK(half_to_float(h[1]) == -2.0f);
  CHECK(half_to_float(h[2]) == 65504.0f);
  CHECK(h[3] == 0x0001);  // the smallest subnormal, exactly 2^-24 (an Approx would accept 0)
  CHECK(half_to_float(h[3]) == std::ldexp(1.0f, -24));

  Tensor d = read_ok("f64_scalar.npy");
  CHECK(d.dtype() == DType::Double);
  CHECK(d.rank() == 0);
  CHECK(d.numel() == 1);
  CHECK(d.data<double>()[0] == 3.25);

  Tensor i8 = read_ok("i8_5.npy");
  CHECK(i8.dtype() == DType::Int8);
  CHECK(i8.data<int8_t>()[0] == -128);
  CHECK(i8.data<int8_t>()[4] == 127);
  CHECK(read_ok("i16_2.npy").data<int16_t>()[0] == -32768);
  Tensor i32 = read_ok("i32_2x2.npy");
  CHECK(i32.dims() == std::vector<int64_t>{2, 2});
  CHECK(i32.data<int32_t>()[3] == -4);
  CHECK(read_ok("i64_3.npy").data<int64_t>()[0] == -(int64_t{1} << 62));
  CHECK(read_ok("u8_3.npy").data<uint8_t>()[2] == 255);
  CHECK(read_ok("u16_2.npy").data<uint16_t>()[1] == 65535);
  CHECK(read_ok("u32_2.npy").data<uint32_t>()[1] == 0xffffffffu);
  CHECK(read_ok("u64_2.npy").data<uint64_t>()[1] == ~uint64_t{0});

  Tensor b = read_ok("bool_4.npy");
  CHECK(b.dtype() == DType::Bool);
  CHECK(b.data<uint8_t>()[0] == 1);
  CHECK(b.data<uint8_t>()[1] == 0);

  Tensor c64 = read_ok("c64_2.npy");
  CHECK(c64.dtype() == DType::Complex64);
  CHECK(c64.data<std::complex<float>>()[1] == std::complex<float>(-3.5f, -0.5f));
  Tensor c128 = read_ok("c128_1.npy");
  CHECK(c128.dtype() == DType::Complex128);
  CHECK(c128.data<std::complex<double>>()[0] == std::complex<double>(0.25, -8));

  Tensor empty = read_ok("f32_0x3.npy");
  CHECK(empty.dims() == std::vector<int64_t>{0, 3});
  CHECK(empty.numel() == 0);
}

TEST_CASE("npy: format versions 2.0 and 3.0") {
  for (const char* name : {"f32_2x3_v2.npy", "f32_2x3_v3.npy"}) {
    Tensor t = read_ok(name);
    CHECK(t.dims() == std::vector<int64_t>{2, 3});
    for (int i = 0; i < 6; ++i) CHECK(t.data<float>()[i] == static_cast<float>(i));
  }
}

TEST_CASE("npy: encoding reproduces numpy's bytes exactly") {
  for (const auto& entry : fs::directory_iterator(npy_dir())) {
    std::string name = entry.path().filename().string();
    if (name.rfind("bad_", 0) == 0 || name.find("_v2") != std::string::npos || name.find("_v3") != std::string::npos)
      continue;
    CAPTURE(name);
    Tensor t = read_ok(name);
    Result<std::string> bytes = encode_npy(t);
    REQUIRE(bytes.is_ok());
    CHECK(bytes.value() == file_bytes(entry.path()));
  }
}

TEST_CASE("npy: write_npy and read_npy round-trip, atomically") {
  fs::path dir = fs::temp_directory_path() / ("ortool_npy_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Tensor t = Tensor::from_vector<float>(DType::Float, {3, 1}, {1.5f, -2.5f, 1e30f});
  REQUIRE(write_npy(t, dir / "t.npy").is_ok());
  Result<Tensor> back = read_npy(dir / "t.npy");
  REQUIRE(back.is_ok());
  CHECK(back->equals(t));
  CHECK_FALSE(write_npy(t, dir / "missing_folder" / "t.npy").is_ok());
  fs::remove_all(dir);
}

TEST_CASE("npy: tensors with no numpy dtype are refused when writing") {
  Tensor bf(DType::BFloat16, {2});
  Result<std::string> r = encode_npy(bf);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("bfloat16") != std::string::npos);
  CHECK_FALSE(encode_npy(Tensor(DType::String, {1})).is_ok());
}

TEST_CASE("npy: big-endian, Fortran-order and unicode files get an error naming the file") {
  struct Case {
    const char* file;
    const char* words;
  };
  for (Case c : {Case{"bad_big_endian.npy", "big-endian"}, Case{"bad_fortran.npy", "Fortran"},
                 Case{"bad_unicode.npy", "unicode"}}) {
    CAPTURE(c.file);
    Result<Tensor> r = read_npy(npy_dir() / c.file);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find(c.file) != std::string::npos);
    CHECK(r.status().message().find(c.words) != std::string::npos);
  }
}

TEST_CASE("npy: corrupt files are refused before allocating") {
  const std::string f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string eight(8, '\0');
  CHECK(parse(make_npy(f4, eight)).is_ok());

  CHECK_FALSE(parse("").is_ok());
  CHECK_FALSE(parse("\x93NUMP").is_ok());
  CHECK_FALSE(parse(std::string("PK\x03\x04", 4) + std::string(100, '\0')).is_ok());  // a .npz
  CHECK_FALSE(parse(make_npy(f4, eight).substr(0, 70)).is_ok());                       // truncated header
  CHECK_FALSE(parse(make_npy(f4, eight.substr(0, 7))).is_ok());                        // data too short
  CHECK_FALSE(parse(make_npy(f4, eight + "x")).is_ok());                               // data too long
  std::string bad_version = make_npy(f4, eight);
  bad_version[6] = 9;
  CHECK_FALSE(parse(bad_version).is_ok());
  std::string long_header = make_npy(f4, eight);
  long_header[8] = '\xff';
  long_header[9] = '\xff';
  Status st = parse(long_header);
  CHECK_FALSE(st.is_ok());
  CHECK(st.message().find("x.npy") == 0);

  auto header = [](const std::string& shape) {
    return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  };
  CHECK_FALSE(parse(make_npy(header("(-1,)"), "")).is_ok());
  CHECK_FALSE(parse(make_npy(header("(4611686018427387904, 4)"), "")).is_ok());  // numel overflows
  CHECK_FALSE(parse(make_npy(header("(99999999999999999999,)"), "")).is_ok());   // not an int64
  CHECK_FALSE(parse(make_npy(header("(1000000000, 1000000000)"), eight)).is_ok());  // huge, tiny data
  CHECK_FALSE(parse(make_npy(header("[2]"), eight)).is_ok());
  CHECK_FALSE(parse(make_npy(header("(2.5,)"), eight)).is_ok());
  CHECK_FALSE(parse(make_npy(header(std::string(200, '(') + std::string(200, ')')), eight)).is_ok());
  CHECK_FALSE(parse(make_npy("{'descr': '<f4', 'shape': (2,), }", eight)).is_ok());
  CHECK_FALSE(parse(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", eight)).is_ok());
  CHECK_FALSE(parse(make_npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", eight)).is_ok());
  CHECK_FALSE(parse(make_npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", eight)).is_ok());
  CHECK_FALSE(parse(make_npy("{'descr': '<f3', 'fortran_order': False, 'shape': (2,), }", eight)).is_ok());
  CHECK_FALSE(parse(make_npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", eight)).is_ok());
  CHECK_FALSE(parse(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ", eight)).is_ok());
  CHECK_FALSE(parse(make_npy("['descr']", eight)).is_ok());

  // Accepted spellings: native byte order, a 1-byte type with '>' order, Python 2's long suffix.
  CHECK(parse(make_npy("{'descr': '=f4', 'fortran_order': False, 'shape': (2L,), }", eight)).is_ok());
  CHECK(parse(make_npy("{'descr': '>u1', 'fortran_order': False, 'shape': (8,), }", eight)).is_ok());
  CHECK(parse(make_npy("{\"descr\": \"<f4\", \"fortran_order\": True, \"shape\": (1, 2), }", eight)).is_ok());
}
