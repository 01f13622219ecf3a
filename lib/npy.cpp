// NumPy .npy reading and writing: header dictionary parsing, dtype mapping, length checks.
#include "lib/npy.h"

#include <bit>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "lib/file_util.h"
#include "lib/type.h"

namespace ortool {

static_assert(std::endian::native == std::endian::little, "the .npy code assumes a little-endian host");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64;           // numpy aligns the data start to 64 bytes
constexpr size_t kGrowthDigits = 21;    // numpy pads the header so the first dim can grow in place
constexpr size_t kMaxHeaderLen = 1 << 20;
constexpr int kMaxNesting = 16;

struct DescrEntry {
  DType dtype;
  char kind;
  size_t size;
};
constexpr DescrEntry kDescrs[] = {
    {DType::Float, 'f', 4},     {DType::Double, 'f', 8},    {DType::Float16, 'f', 2},
    {DType::Int8, 'i', 1},      {DType::Int16, 'i', 2},     {DType::Int32, 'i', 4},
    {DType::Int64, 'i', 8},     {DType::UInt8, 'u', 1},     {DType::UInt16, 'u', 2},
    {DType::UInt32, 'u', 4},    {DType::UInt64, 'u', 8},    {DType::Bool, 'b', 1},
    {DType::Complex64, 'c', 8}, {DType::Complex128, 'c', 16},
};

// A value of the small Python-literal language numpy writes in headers.
struct PyValue {
  enum class Kind { Str, Bool, None, Int, Tuple, List, Dict } kind = Kind::None;
  std::string s;
  bool b = false;
  int64_t i = 0;
  std::vector<PyValue> items;  // Tuple, List; Dict values
  // Dict keys (strings only), one per item. Not a vector of pairs: std::pair of the still incomplete
  // PyValue does not compile with clang and libstdc++ (the fuzz build).
  std::vector<std::string> keys;
};

// Recursive-descent parser of that language; errors are plain messages, the caller adds the file.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : t_(text) {}

  Result<PyValue> parse_all() {
    ASSIGN_OR_RETURN(PyValue v, parse_value(0));
    skip_space();
    if (pos_ != t_.size()) return invalid("unexpected '{}' after the header dictionary", t_[pos_]);
    return v;
  }

 private:
  void skip_space() {
    while (pos_ < t_.size() && (t_[pos_] == ' ' || t_[pos_] == '\t' || t_[pos_] == '\n' || t_[pos_] == '\r'))
      ++pos_;
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < t_.size() && t_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool eat_word(std::string_view w) {
    skip_space();
    if (t_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }

  Result<PyValue> parse_value(int depth) {
    if (depth > kMaxNesting) return invalid("header nests too deeply");
    skip_space();
    if (pos_ >= t_.size()) return invalid("header ends early");
    char c = t_[pos_];
    PyValue v;
    if (c == '\'' || c == '"') {
      v.kind = PyValue::Kind::Str;
      ASSIGN_OR_RETURN(v.s, parse_string());
      return v;
    }
    if (c == '(' || c == '[') {
      ++pos_;
      char close = c == '(' ? ')' : ']';
      v.kind = c == '(' ? PyValue::Kind::Tuple : PyValue::Kind::List;
      while (!eat(close)) {
        ASSIGN_OR_RETURN(PyValue item, parse_value(depth + 1));
        v.items.push_back(std::move(item));
        if (!eat(',')) {
          if (!eat(close)) return invalid("expected ',' or '{}' in the header", close);
          break;
        }
      }
      return v;
    }
    if (c == '{') {
      ++pos_;
      v.kind = PyValue::Kind::Dict;
      while (!eat('}')) {
        skip_space();
        if (pos_ >= t_.size() || (t_[pos_] != '\'' && t_[pos_] != '"')) return invalid("header keys must be strings");
        ASSIGN_OR_RETURN(std::string key, parse_string());
        if (!eat(':')) return invalid("expected ':' after '{}' in the header", key);
        ASSIGN_OR_RETURN(PyValue item, parse_value(depth + 1));
        v.keys.push_back(std::move(key));
        v.items.push_back(std::move(item));
        if (!eat(',')) {
          if (!eat('}')) return invalid("expected ',' or '}}' in the header");
          break;
        }
      }
      return v;
    }
    if (eat_word("True")) {
      v.kind = PyValue::Kind::Bool;
      v.b = true;
      return v;
    }
    if (eat_word("False")) {
      v.kind = PyValue::Kind::Bool;
      return v;
    }
    if (eat_word("None")) return v;
    if ((c >= '0' && c <= '9') || c == '-') return parse_int();
    return invalid("unexpected '{}' in the header", c);
  }

  Result<std::string> parse_string() {
    char quote = t_[pos_++];
    std::string out;
    while (pos_ < t_.size() && t_[pos_] != quote) {
      if (t_[pos_] == '\\') {
        if (pos_ + 1 >= t_.size()) break;
        ++pos_;
      }
      out += t_[pos_++];
    }
    if (pos_ >= t_.size()) return invalid("unterminated string in the header");
    ++pos_;
    return out;
  }

  Result<PyValue> parse_int() {
    bool neg = t_[pos_] == '-';
    if (neg) ++pos_;
    if (pos_ >= t_.size() || t_[pos_] < '0' || t_[pos_] > '9') return invalid("bad number in the header");
    uint64_t mag = 0;
    while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9') {
      uint64_t d = static_cast<uint64_t>(t_[pos_++] - '0');
      if (mag > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - d) / 10)
        return invalid("number in the header overflows int64");
      mag = mag * 10 + d;
    }
    if (pos_ < t_.size() && (t_[pos_] == 'L' || t_[pos_] == 'l')) ++pos_;  // Python 2 long suffix
    PyValue v;
    v.kind = PyValue::Kind::Int;
    v.i = neg ? -static_cast<int64_t>(mag) : static_cast<int64_t>(mag);
    return v;
  }

  std::string_view t_;
  size_t pos_ = 0;
};

Result<DType> dtype_from_descr(const std::string& d) {
  if (d.size() < 2) return invalid("unsupported dtype '{}'", d);
  char order = d[0];
  char kind = d[1];
  std::string digits = d.substr(2);
  if (kind == '?' && digits.empty()) return DType::Bool;
  if (kind == 'U' || kind == 'O' || kind == 'S' || kind == 'a' || kind == 'V' || kind == 'M' || kind == 'm') {
    const char* what = kind == 'U' ? "unicode" : kind == 'O' ? "object" : (kind == 'S' || kind == 'a') ? "byte-string"
                     : kind == 'V' ? "void/structured" : "datetime";
    return unsupported("{} arrays (dtype '{}') are not supported; only numeric and bool arrays are", what, d);
  }
  size_t size = 0;
  for (char c : digits) {
    if (c < '0' || c > '9' || size > 64) return invalid("unsupported dtype '{}'", d);
    size = size * 10 + static_cast<size_t>(c - '0');
  }
  for (const DescrEntry& e : kDescrs) {
    if (e.kind != kind || e.size != size) continue;
    if (order == '>' && size > 1)
      return unsupported("big-endian dtype '{}' is not supported; save the array little-endian", d);
    if (order != '<' && order != '|' && order != '=' && order != '>') return invalid("unsupported dtype '{}'", d);
    return e.dtype;
  }
  return unsupported("unsupported dtype '{}'", d);
}

template <typename T>
T read_le(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

std::string_view npy_descr(DType t) {
  switch (t) {
    case DType::Float: return "<f4";
    case DType::Double: return "<f8";
    case DType::Float16: return "<f2";
    case DType::Int8: return "|i1";
    case DType::Int16: return "<i2";
    case DType::Int32: return "<i4";
    case DType::Int64: return "<i8";
    case DType::UInt8: return "|u1";
    case DType::UInt16: return "<u2";
    case DType::UInt32: return "<u4";
    case DType::UInt64: return "<u8";
    case DType::Bool: return "|b1";
    case DType::Complex64: return "<c8";
    case DType::Complex128: return "<c16";
    default: return {};
  }
}

Result<NpyHeader> parse_npy_header(std::span<const std::byte> bytes, uint64_t file_size, std::string_view what) {
  auto fail = [&](const Status& st) { return st.with_context(what); };
  if (bytes.size() < kMagicLen + 4 || std::memcmp(bytes.data(), kMagic, kMagicLen) != 0)
    return fail(invalid("not a .npy file (no \\x93NUMPY magic)"));
  auto major = static_cast<uint8_t>(bytes[6]);
  auto minor = static_cast<uint8_t>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    return fail(unsupported(".npy format version {}.{} is not supported (1.0, 2.0, 3.0 are)", major, minor));
  size_t start = 0;
  size_t header_len = 0;
  if (major == 1) {
    header_len = read_le<uint16_t>(bytes.data() + 8);
    start = 10;
  } else {
    if (bytes.size() < 12) return fail(invalid("file ends inside the .npy preamble"));
    header_len = read_le<uint32_t>(bytes.data() + 8);
    start = 12;
  }
  if (header_len > kMaxHeaderLen) return fail(invalid("header length {} is too large", header_len));
  if (header_len > bytes.size() - start)
    return fail(invalid("header length {} runs past the end of the file ({} bytes)", header_len, file_size));

  std::string_view text(reinterpret_cast<const char*>(bytes.data() + start), header_len);
  Result<PyValue> parsed = HeaderParser(text).parse_all();
  if (!parsed) return fail(parsed.status().with_context("bad .npy header"));
  const PyValue& dict = parsed.value();
  if (dict.kind != PyValue::Kind::Dict) return fail(invalid("bad .npy header: not a dictionary"));

  const PyValue* descr = nullptr;
  const PyValue* fortran = nullptr;
  const PyValue* shape = nullptr;
  for (size_t k = 0; k < dict.keys.size(); ++k) {
    const std::string& key = dict.keys[k];
    const PyValue& value = dict.items[k];
    if (key == "descr") descr = &value;
    else if (key == "fortran_order") fortran = &value;
    else if (key == "shape") shape = &value;
    else return fail(invalid("bad .npy header: unexpected key '{}'", key));
  }
  if (!descr || !fortran || !shape)
    return fail(invalid("bad .npy header: needs the keys 'descr', 'fortran_order' and 'shape'"));
  if (descr->kind != PyValue::Kind::Str)
    return fail(unsupported("structured arrays are not supported; only numeric and bool arrays are"));
  if (fortran->kind != PyValue::Kind::Bool) return fail(invalid("bad .npy header: 'fortran_order' is not a bool"));
  if (shape->kind != PyValue::Kind::Tuple) return fail(invalid("bad .npy header: 'shape' is not a tuple"));

  Result<DType> dtype = dtype_from_descr(descr->s);
  if (!dtype) return fail(dtype.status());
  std::vector<int64_t> dims;
  for (const PyValue& d : shape->items) {
    if (d.kind != PyValue::Kind::Int || d.i < 0) return fail(invalid("bad .npy header: shape entries must be non-negative integers"));
    dims.push_back(d.i);
  }
  if (fortran->b) {
    size_t non_trivial = 0;
    for (int64_t d : dims) non_trivial += d > 1;
    // A Fortran-order array with at most one dimension above 1 has the same bytes in C order.
    if (non_trivial > 1)
      return fail(unsupported("Fortran-order arrays are not supported; save with numpy.ascontiguousarray"));
  }

  Result<int64_t> numel = checked_numel(dims);
  if (!numel) return fail(numel.status().with_context("bad .npy shape"));
  size_t esize = dtype_size(dtype.value());
  uint64_t data_len = file_size - start - header_len;
  if (static_cast<uint64_t>(numel.value()) > std::numeric_limits<size_t>::max() / esize)
    return fail(invalid("shape {} overflows the addressable size", shape_to_string(shape_from_dims(dims))));
  size_t expected = static_cast<size_t>(numel.value()) * esize;
  if (data_len != expected)
    return fail(invalid("data is {} bytes but dtype '{}' and shape {} need {}", data_len, descr->s,
                        shape_to_string(shape_from_dims(dims)), expected));

  return NpyHeader{dtype.value(), std::move(dims), start + header_len};
}

Result<Tensor> parse_npy(std::span<const std::byte> bytes, std::string_view what) {
  ASSIGN_OR_RETURN(NpyHeader h, parse_npy_header(bytes, bytes.size(), what));
  Result<Tensor> t = Tensor::make(h.dtype, std::move(h.dims));
  if (!t) return t.status().with_context(what);
  if (t->nbytes() > 0) std::memcpy(t->raw_mutable(), bytes.data() + h.data_offset, t->nbytes());
  return t;
}

Result<Tensor> read_npy(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::string data, read_file(path));
  return parse_npy(std::as_bytes(std::span(data.data(), data.size())), path.string());
}

Result<std::string> encode_npy(const Tensor& t) {
  std::string_view descr = npy_descr(t.dtype());
  if (descr.empty())
    return unsupported("tensor '{}': {} tensors have no .npy form", t.name, dtype_name(t.dtype()));
  // The header exactly as numpy's _write_array_header builds it, so files compare equal byte for byte.
  std::string shape = "(";
  for (size_t i = 0; i < t.dims().size(); ++i) {
    shape += std::to_string(t.dims()[i]);
    shape += (t.dims().size() == 1) ? "," : (i + 1 < t.dims().size() ? ", " : "");
  }
  shape += ")";
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape);
  if (!t.dims().empty()) {
    size_t first_len = std::to_string(t.dims()[0]).size();
    if (first_len < kGrowthDigits) header.append(kGrowthDigits - first_len, ' ');
  }
  size_t hlen = header.size() + 1;  // the closing '\n'
  int version = 1;
  size_t prefix = kMagicLen + 2 + 2;
  size_t pad = kAlign - (prefix + hlen) % kAlign;
  if (hlen + pad >= 65536) {
    version = 2;
    prefix = kMagicLen + 2 + 4;
    pad = kAlign - (prefix + hlen) % kAlign;
  }
  size_t total_header = hlen + pad;
  std::string out(kMagic, kMagicLen);
  out += static_cast<char>(version);
  out += '\0';
  if (version == 1) {
    auto n = static_cast<uint16_t>(total_header);
    out.append(reinterpret_cast<const char*>(&n), 2);
  } else {
    auto n = static_cast<uint32_t>(total_header);
    out.append(reinterpret_cast<const char*>(&n), 4);
  }
  out += header;
  out.append(pad, ' ');
  out += '\n';
  if (t.nbytes() > 0) out.append(reinterpret_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

Status write_npy(const Tensor& t, const std::filesystem::path& path) {
  Result<std::string> bytes = encode_npy(t);
  if (!bytes) return bytes.status().with_context(path.string());
  return write_file_atomic(path, bytes.value());
}

}  // namespace ortool
