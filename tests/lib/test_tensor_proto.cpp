// Tests for TensorProto <-> Tensor (every dtype, typed fields, size checks), .pb files and file_util.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <limits>

#include "lib/file_util.h"
#include "lib/tensor_proto.h"
#include "tests/lib/io_test_util.h"

using namespace ortool;
using ortool::testing::TempDir;

namespace {

// A tensor of `dt` with dims [2,3] whose bytes are 0,1,2,... (strings "s0".."s5").
Tensor patterned(DType dt) {
  Tensor t(dt, {2, 3});
  if (dt == DType::String) {
    for (size_t i = 0; i < 6; ++i) t.mutable_strings()[i] = "s" + std::to_string(i);
  } else {
    auto* p = static_cast<uint8_t*>(t.raw_mutable());
    for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<uint8_t>(i * 7 + 1);
    if (dt == DType::Bool)
      for (size_t i = 0; i < t.nbytes(); ++i) p[i] &= 1;
  }
  t.name = "t";
  return t;
}

Status parse_status(const onnx::TensorProto& tp) { return tensor_from_proto_bytes(tp.SerializeAsString()).status(); }

}  // namespace

TEST_CASE("tensor proto: every data type round-trips through raw_data / string_data") {
  for (int i = 1; i <= 16; ++i) {
    auto dt = static_cast<DType>(i);
    CAPTURE(dtype_name(dt));
    Tensor t = patterned(dt);
    t.doc_string = "doc";
    auto back = tensor_from_proto_bytes(tensor_to_proto_bytes(t));
    REQUIRE(back.is_ok());
    CHECK(back->equals(t));
    CHECK(back->name == "t");
    CHECK(back->doc_string == "doc");
  }
}

TEST_CASE("tensor proto: typed fields decode for every data type") {
  auto make = [](int dt) {
    onnx::TensorProto tp;
    tp.set_name("x");
    tp.set_data_type(dt);
    tp.add_dims(3);
    return tp;
  };
  {
    auto tp = make(onnx::TensorProto::FLOAT);
    for (float v : {1.5f, -2.f, 3.f}) tp.add_float_data(v);
    auto t = tensor_from_proto_bytes(tp.SerializeAsString());
    REQUIRE(t.is_ok());
    CHECK(t->data<float>()[0] == 1.5f);
    CHECK(t->data<float>()[1] == -2.f);
  }
  {
    auto tp = make(onnx::TensorProto::INT8);
    for (int v : {-1, 127, -128}) tp.add_int32_data(v);
    auto t = tensor_from_proto_bytes(tp.SerializeAsString());
    REQUIRE(t.is_ok());
    CHECK(t->data<int8_t>()[0] == -1);
    CHECK(t->data<int8_t>()[2] == -128);
  }
  {
    auto tp = make(onnx::TensorProto::UINT16);
    for (int v : {0, 65535, 7}) tp.add_int32_data(v);
    auto t = tensor_from_proto_bytes(tp.SerializeAsString());
    REQUIRE(t.is_ok());
    CHECK(t->data<uint16_t>()[1] == 65535);
  }
  {
    auto tp = make(onnx::TensorProto::BOOL);
    for (int v : {0, 1, 5}) tp.add_int32_data(v);
    auto t = tensor_from_proto_bytes(tp.SerializeAsString());
    REQUIRE(t.is_ok());
    CHECK(t->data<uint8_t>()[2] == 1);
  }
  {
    auto tp = make(onnx::TensorProto::FLOAT16);
    for (int v : {0x3c00, 0xc000, 0}) tp.add_int32_data(v);  // 1.0, -2.0, 0
    auto t = tensor_from_proto_bytes(tp.SerializeAsString());
    REQUIRE(t.is_ok());
    CHECK(t->get_double(0) == 1.0);
    CHECK(t->get_double(1) == -2.0);
  }
  {
    auto tp = make(onnx::TensorProto::BFLOAT16);
    for (int v : {0x3f80, 0x4000, 0}) tp.add_int32_data(v);  // 1.0, 2.0, 0
    auto t = tensor_from_proto_bytes(tp.SerializeAsString());
    REQUIRE(t.is_ok());
    CHECK(t->get_double(1) == 2.0);
  }
  {
    auto tp = make(onnx::TensorProto::INT64);
    for (int64_t v : {INT64_MIN, int64_t{0}, INT64_MAX}) tp.add_int64_data(v);
    auto t = tensor_from_proto_bytes(tp.SerializeAsString());
    REQUIRE(t.is_ok());
    CHECK(t->data<int64_t>()[0] == INT64_MIN);
  }
  {
    auto tp = make(onnx::TensorProto::UINT32);
    for (uint64_t v : {uint64_t{0}, uint64_t{4294967295u}, uint64_t{9}}) tp.add_uint64_data(v);
    auto t = tensor_from_proto_bytes(tp.SerializeAsString());
    REQUIRE(t.is_ok());
    CHECK(t->data<uint32_t>()[1] == 4294967295u);
  }
  {
    auto tp = make(onnx::TensorProto::UINT64);
    for (uint64_t v : {uint64_t{0}, UINT64_MAX, uint64_t{9}}) tp.add_uint64_data(v);
    auto t = tensor_from_proto_bytes(tp.SerializeAsString());
    REQUIRE(t.is_ok());
    CHECK(t->data<uint64_t>()[1] == UINT64_MAX);
  }
  {
    auto tp = make(onnx::TensorProto::DOUBLE);
    for (double v : {0.25, 1e300, -1.0}) tp.add_double_data(v);
    auto t = tensor_from_proto_bytes(tp.SerializeAsString());
    REQUIRE(t.is_ok());
    CHECK(t->data<double>()[1] == 1e300);
  }
  {
    auto tp = make(onnx::TensorProto::COMPLEX64);
    for (float v : {1.f, 2.f, 3.f, 4.f, 5.f, 6.f}) tp.add_float_data(v);
    auto t = tensor_from_proto_bytes(tp.SerializeAsString());
    REQUIRE(t.is_ok());
    CHECK(t->data<float>()[5] == 6.f);
  }
  {
    auto tp = make(onnx::TensorProto::COMPLEX128);
    for (double v : {1., 2., 3., 4., 5., 6.}) tp.add_double_data(v);
    auto t = tensor_from_proto_bytes(tp.SerializeAsString());
    REQUIRE(t.is_ok());
    CHECK(t->data<double>()[5] == 6.);
  }
  {
    auto tp = make(onnx::TensorProto::STRING);
    for (const char* s : {"a", "", "ccc"}) tp.add_string_data(s);
    auto t = tensor_from_proto_bytes(tp.SerializeAsString());
    REQUIRE(t.is_ok());
    CHECK(t->strings()[2] == "ccc");
  }
}

TEST_CASE("tensor proto: bad tensors are clean errors naming the tensor") {
  onnx::TensorProto tp;
  tp.set_name("x");
  tp.set_data_type(onnx::TensorProto::FLOAT);
  tp.add_dims(2);
  tp.set_raw_data(std::string(8, '\0'));
  REQUIRE(parse_status(tp).is_ok());

  SUBCASE("unsupported data_type") {
    tp.set_data_type(999);
    Status st = parse_status(tp);
    CHECK(st.message() == "tensor 'x': unsupported data_type 999");
    tp.set_data_type(0);
    CHECK(!parse_status(tp).is_ok());
  }
  SUBCASE("raw_data too short, too long, not a multiple") {
    for (size_t n : {0, 4, 7, 9, 12}) {
      tp.set_raw_data(std::string(n, '\0'));
      Status st = parse_status(tp);
      CHECK(!st.is_ok());
      CHECK(st.message().find("tensor 'x'") != std::string::npos);
      CHECK(st.message().find("raw_data") != std::string::npos);
    }
  }
  SUBCASE("negative dims") {
    tp.clear_dims();
    tp.add_dims(-2);
    tp.add_dims(-1);
    Status st = parse_status(tp);
    CHECK(!st.is_ok());
    CHECK(st.message().find("negative") != std::string::npos);
  }
  SUBCASE("dims product overflows int64") {
    tp.clear_dims();
    for (int i = 0; i < 4; ++i) tp.add_dims(int64_t{1} << 20);
    Status st = parse_status(tp);
    CHECK(!st.is_ok());
    CHECK(st.message().find("tensor 'x'") != std::string::npos);
  }
  SUBCASE("elements x element size overflows size_t") {
    tp.clear_dims();
    tp.add_dims(int64_t{1} << 62);
    CHECK(!parse_status(tp).is_ok());
  }
  SUBCASE("huge dims with tiny data are refused before allocating") {
    tp.clear_dims();
    tp.add_dims(int64_t{1} << 40);  // 4 TiB if it were allocated
    CHECK(!parse_status(tp).is_ok());
    tp.clear_raw_data();
    tp.add_float_data(1.f);
    CHECK(!parse_status(tp).is_ok());
  }
  SUBCASE("typed field count must equal numel") {
    tp.clear_raw_data();
    tp.add_float_data(1.f);
    Status st = parse_status(tp);
    CHECK(st.message().find("float_data has 1 values") != std::string::npos);
    tp.add_float_data(2.f);
    CHECK(parse_status(tp).is_ok());
    tp.add_float_data(3.f);
    CHECK(!parse_status(tp).is_ok());
  }
  SUBCASE("no data at all") {
    tp.clear_raw_data();
    CHECK(!parse_status(tp).is_ok());
  }
  SUBCASE("string tensors cannot use raw_data") {
    tp.set_data_type(onnx::TensorProto::STRING);
    CHECK(!parse_status(tp).is_ok());
  }
  SUBCASE("external data without a model folder") {
    tp.clear_raw_data();
    tp.set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = tp.add_external_data();
    kv->set_key("location");
    kv->set_value("w.bin");
    CHECK(!parse_status(tp).is_ok());
  }
  SUBCASE("garbage bytes") {
    CHECK(!tensor_from_proto_bytes(std::string("\xff\xff\xff\xff", 4)).is_ok());
  }
}

TEST_CASE("tensor proto: zero-sized tensors") {
  Tensor t(DType::Float, {0, 3});
  auto back = tensor_from_proto_bytes(tensor_to_proto_bytes(t));
  REQUIRE(back.is_ok());
  CHECK(back->numel() == 0);
  CHECK(back->dims() == std::vector<int64_t>{0, 3});
}

TEST_CASE("tensor .pb files: write, read, and refuse non-regular paths") {
  TempDir dir;
  Tensor t = patterned(DType::Float);
  REQUIRE(write_tensor_pb(t, dir / "t.pb").is_ok());
  auto back = read_tensor_pb(dir / "t.pb");
  REQUIRE(back.is_ok());
  CHECK(back->equals(t));

  CHECK(!read_tensor_pb(dir.path()).is_ok());
  CHECK(!read_tensor_pb("/dev/zero").is_ok());
  CHECK(!read_tensor_pb(dir / "missing.pb").is_ok());
  ortool::testing::write_bytes(dir / "bad.pb", "\x0a\xff");
  Status st = read_tensor_pb(dir / "bad.pb").status();
  CHECK(st.message().find("bad.pb") != std::string::npos);
}

TEST_CASE("tensor .pb files: the ONNX node test data loads") {
  const std::filesystem::path root = "/usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding/test_data_set_0";
  if (!std::filesystem::exists(root)) return;
  auto x = read_tensor_pb(root / "input_0.pb");
  REQUIRE(x.is_ok());
  CHECK(x->dtype() == DType::Float);
  CHECK(x->dims() == std::vector<int64_t>{1, 1, 7, 5});
  CHECK(x->name == "x");
}

// ---------------------------------------------------------------- file_util

TEST_CASE("file_util: read_file refuses directories, FIFOs, devices and oversized files") {
  TempDir dir;
  CHECK(read_file(dir.path()).status().message().find("a directory") != std::string::npos);
  CHECK(read_file("/dev/zero").status().message().find("a character device") != std::string::npos);
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  CHECK(read_file(dir / "fifo").status().message().find("a FIFO") != std::string::npos);
  ortool::testing::write_bytes(dir / "f", "hello");
  CHECK(*read_file(dir / "f") == "hello");
  CHECK(!read_file(dir / "f", 4).is_ok());
  CHECK(read_file(dir / "nope").status().code() == StatusCode::kNotFound);
}

TEST_CASE("file_util: write_file_atomic replaces the file and leaves nothing behind on failure") {
  TempDir dir;
  auto target = dir / "out.bin";
  REQUIRE(write_file_atomic(target, std::string_view("old")).is_ok());
  CHECK(ortool::testing::read_bytes(target) == "old");
  REQUIRE(write_file_atomic(target, std::string_view("new!")).is_ok());
  CHECK(ortool::testing::read_bytes(target) == "new!");

  // A writer that fails halfway: the old file stays and no temporary file is left.
  Status st = write_file_atomic(target, [](FileWriter& w) -> Status {
    TRY(w.write(std::string_view("partial")));
    return io_error("simulated failure");
  });
  CHECK(!st.is_ok());
  CHECK(ortool::testing::read_bytes(target) == "new!");
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) (void)e, ++files;
  CHECK(files == 1);

  // Missing folder: an error naming the path.
  st = write_file_atomic(dir / "no" / "such" / "x.onnx", std::string_view("x"));
  CHECK(!st.is_ok());
  CHECK(st.message().find("does not exist") != std::string::npos);

  // Target is a directory.
  std::filesystem::create_directory(dir / "d");
  CHECK(!write_file_atomic(dir / "d", std::string_view("x")).is_ok());

  // Read-only folder: only meaningful when not root (root writes anyway).
  if (::geteuid() != 0) {
    auto ro = dir / "ro";
    std::filesystem::create_directory(ro);
    REQUIRE(write_file_atomic(ro / "m.onnx", std::string_view("old")).is_ok());
    ::chmod(ro.c_str(), 0500);
    st = write_file_atomic(ro / "m.onnx", std::string_view("new"));
    CHECK(!st.is_ok());
    CHECK(st.message().find("m.onnx") != std::string::npos);
    CHECK(ortool::testing::read_bytes(ro / "m.onnx") == "old");
    ::chmod(ro.c_str(), 0700);
  }
}

TEST_CASE("file_util: a write the kernel refuses midway (file size limit, like a full disk) keeps the old file") {
  TempDir dir;
  auto target = dir / "m.onnx";
  REQUIRE(write_file_atomic(target, std::string_view("old")).is_ok());
  // RLIMIT_FSIZE makes write() fail with EFBIG past 4 KiB: the same path as ENOSPC, without a full disk.
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit old_limit {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  struct rlimit small = old_limit;
  small.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  Status st = write_file_atomic(target, std::string(100000, 'x'));
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  CHECK(!st.is_ok());
  CHECK(st.message().find("m.onnx") != std::string::npos);
  CHECK(st.message().find("write failed") != std::string::npos);
  CHECK(ortool::testing::read_bytes(target) == "old");
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) (void)e, ++files;
  CHECK(files == 1);
}

TEST_CASE("file_util: check_not_same_file") {
  TempDir dir;
  ortool::testing::write_bytes(dir / "a", "a");
  CHECK(!check_not_same_file(dir / "a", dir / "a", false).is_ok());
  CHECK(!check_not_same_file(dir / "a", dir.path() / "." / "a", false).is_ok());
  CHECK(check_not_same_file(dir / "a", dir / "a", true).is_ok());
  CHECK(check_not_same_file(dir / "a", dir / "b", false).is_ok());
  std::filesystem::create_hard_link(dir / "a", dir / "hard");
  CHECK(!check_not_same_file(dir / "a", dir / "hard", false).is_ok());
}
