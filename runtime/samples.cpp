// Sample sources: in memory, sample folders (files, subfolders, images), batch .npy files, random.
// Each source keeps paths (or a file offset) and reads sample i only when asked for it.
#include "runtime/samples.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <regex>

#include "lib/file_util.h"
#include "lib/npy.h"
#include "lib/value_proto.h"

namespace ortool::rt {

namespace fs = std::filesystem;

namespace {

class InMemorySamples final : public SampleSource {
 public:
  InMemorySamples(std::vector<Sample> samples, std::string description)
      : samples_(std::move(samples)), description_(std::move(description)) {}
  size_t size() const override { return samples_.size(); }
  Result<Sample> get(size_t i) const override {
    if (i >= samples_.size()) return invalid("{}: sample {} of {} does not exist", description_, i, samples_.size());
    return samples_[i];
  }
  std::string describe() const override { return description_; }

 private:
  std::vector<Sample> samples_;
  std::string description_;
};

Status out_of_range(const SampleSource& s, size_t i) {
  return invalid("{}: sample {} of {} does not exist", s.describe(), i, s.size());
}

std::string input_list(const ir::Graph& g) {
  std::string s;
  for (const ir::Value* v : required_inputs(g)) s += (s.empty() ? "" : ", ") + v->name();
  return s.empty() ? "none" : s;
}

// The one input a file-per-sample layout can feed.
Result<const ir::Value*> single_input(const ir::Graph& g, const fs::path& path, std::string_view layout) {
  std::vector<const ir::Value*> req = required_inputs(g);
  if (req.size() != 1)
    return invalid("{}: {} feed a model with one input, and this one has {} ({}); use one subfolder per sample "
                   "in ONNX test-data layout",
                   path.string(), layout, req.size(), input_list(g));
  return req[0];
}

// Checks a tensor's dims against an input's declared rank and fixed dims.
Status check_dims(const ir::Value& in, const std::vector<int64_t>& dims, std::string_view label) {
  if (!in.type.shape) return Status::ok();
  const Shape& s = *in.type.shape;
  if (s.size() != dims.size())
    return invalid("{}: input '{}' is {}, got rank {} {}", label, in.name(), in.type.to_string(), dims.size(),
                   shape_to_string(shape_from_dims(dims)));
  for (size_t k = 0; k < s.size(); ++k)
    if (s[k].is_known() && s[k].value != dims[k])
      return invalid("{}: input '{}' is {}, got {} (dim {} differs)", label, in.name(), in.type.to_string(),
                     shape_to_string(shape_from_dims(dims)), k);
  return Status::ok();
}

Status check_elem(const ir::Value& in, DType got, std::string_view label) {
  if (in.type.elem != DType::Undefined && got != in.type.elem)
    return invalid("{}: input '{}' takes element type {}, got {}", label, in.name(), dtype_name(in.type.elem),
                   dtype_name(got));
  return Status::ok();
}

// Entries of a folder in name order, hidden files left out.
Result<std::vector<fs::path>> list_folder(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.empty() && name[0] != '.') out.push_back(it->path());
  }
  if (ec) return io_error("{}: {}", dir.string(), ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

bool is_tensor_file(const fs::path& p) { return p.extension() == ".npy" || p.extension() == ".pb"; }

const std::regex& input_pb_name() {
  static const std::regex r(R"(input_\d{1,6}\.pb)");
  return r;
}

const std::regex& output_pb_name() {
  static const std::regex r(R"(output_(\d{1,6})\.pb)");
  return r;
}

// The stored outputs of a test-data folder, output_K.pb in K order, one per graph output.
Result<std::vector<RValue>> read_expected_outputs(const ir::Graph& g, const fs::path& dir) {
  ASSIGN_OR_RETURN(std::vector<fs::path> entries, list_folder(dir));
  std::vector<std::pair<int, fs::path>> files;
  for (const fs::path& p : entries) {
    std::smatch m;
    std::string n = p.filename().string();
    if (std::regex_match(n, m, output_pb_name())) files.emplace_back(std::stoi(m[1]), p);
  }
  std::sort(files.begin(), files.end());
  if (files.size() != g.outputs().size())
    return invalid("{}: {} output_K.pb files for {} model outputs", dir.string(), files.size(), g.outputs().size());
  std::vector<RValue> out;
  for (size_t i = 0; i < files.size(); ++i) {
    if (files[i].first != static_cast<int>(i))
      return invalid("{}: output_{}.pb is missing (found output_{}.pb)", dir.string(), i, files[i].first);
    ASSIGN_OR_RETURN(NamedValue nv, read_value_pb(files[i].second, g.outputs()[i]->type));
    out.push_back(std::move(nv.value));
  }
  return out;
}

// One sample per .npy/.pb file, for a model with one input.
class FileSamples final : public SampleSource {
 public:
  FileSamples(const ir::Graph& g, const ir::Value& input, fs::path dir, std::vector<fs::path> files)
      : g_(g), input_(input), dir_(std::move(dir)), files_(std::move(files)) {}
  size_t size() const override { return files_.size(); }
  Result<Sample> get(size_t i) const override {
    if (i >= files_.size()) return out_of_range(*this, i);
    const fs::path& p = files_[i];
    Sample s;
    s.label = p.filename().string();
    ASSIGN_OR_RETURN(RValue v, read_input_file(p, input_));
    s.feeds[input_.name()] = std::move(v);
    TRY(check_feeds(g_, s.feeds, p.string()));
    return s;
  }
  std::string describe() const override {
    return fmt::format("{} ({} tensor file{})", dir_.string(), files_.size(), files_.size() == 1 ? "" : "s");
  }

 private:
  const ir::Graph& g_;
  const ir::Value& input_;
  fs::path dir_;
  std::vector<fs::path> files_;
};

// One sample per ONNX test-data folder (input_K.pb or NAME.npy, and output_K.pb when asked).
class TestDataSamples final : public SampleSource {
 public:
  TestDataSamples(const ir::Graph& g, fs::path root, std::vector<fs::path> dirs, bool expected)
      : g_(g), root_(std::move(root)), dirs_(std::move(dirs)), expected_(expected) {}
  size_t size() const override { return dirs_.size(); }
  Result<Sample> get(size_t i) const override {
    if (i >= dirs_.size()) return out_of_range(*this, i);
    const fs::path& d = dirs_[i];
    Sample s;
    s.label = d == root_ ? d.filename().string() : d.lexically_relative(root_).string();
    if (s.label.empty()) s.label = d.string();
    ASSIGN_OR_RETURN(s.feeds, read_input_dir(g_, d));
    TRY(check_feeds(g_, s.feeds, d.string()));
    if (expected_) {
      ASSIGN_OR_RETURN(s.expected, read_expected_outputs(g_, d));
    }
    return s;
  }
  std::string describe() const override {
    if (dirs_.size() == 1 && dirs_[0] == root_) return fmt::format("{} (one test-data folder)", root_.string());
    return fmt::format("{} ({} sample folder{})", root_.string(), dirs_.size(), dirs_.size() == 1 ? "" : "s");
  }

 private:
  const ir::Graph& g_;
  fs::path root_;
  std::vector<fs::path> dirs_;
  bool expected_;
};

// Slices of one .npy along its first axis, read with pread one slice at a time.
class BatchNpySamples final : public SampleSource {
 public:
  BatchNpySamples(const ir::Graph& g, const ir::Value& input, fs::path path, UniqueFd fd, NpyHeader h,
                  std::vector<int64_t> sample_dims, size_t count)
      : g_(g), input_(input), path_(std::move(path)), fd_(std::move(fd)), header_(std::move(h)),
        sample_dims_(std::move(sample_dims)), count_(count) {}
  size_t size() const override { return count_; }
  Result<Sample> get(size_t i) const override {
    if (i >= count_) return out_of_range(*this, i);
    ASSIGN_OR_RETURN(Tensor t, Tensor::make(header_.dtype, sample_dims_));
    size_t n = t.nbytes();
    auto* dst = static_cast<char*>(t.raw_mutable());
    auto offset = static_cast<off_t>(header_.data_offset + i * n);
    for (size_t done = 0; done < n;) {
      ssize_t r = ::pread(fd_.get(), dst + done, n - done, offset + static_cast<off_t>(done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0)
        return io_error("{}: cannot read sample {} ({})", path_.string(), i, r < 0 ? std::strerror(errno) : "file shrank");
      done += static_cast<size_t>(r);
    }
    Sample s;
    s.label = fmt::format("{} #{}", path_.filename().string(), i);
    s.feeds[input_.name()] = RValue(std::move(t));
    TRY(check_feeds(g_, s.feeds, fmt::format("{} (sample {})", path_.string(), i)));
    return s;
  }
  std::string describe() const override {
    return fmt::format("{} ({} sample{} of {})", path_.string(), count_, count_ == 1 ? "" : "s",
                       shape_to_string(shape_from_dims(sample_dims_)));
  }

 private:
  const ir::Graph& g_;
  const ir::Value& input_;
  fs::path path_;
  UniqueFd fd_;
  NpyHeader header_;
  std::vector<int64_t> sample_dims_;
  size_t count_;
};

Result<std::unique_ptr<SampleSource>> open_batch_npy(const ir::Graph& g, const fs::path& path) {
  ASSIGN_OR_RETURN(const ir::Value* in, single_input(g, path, "the rows of a batch .npy"));
  ASSIGN_OR_RETURN(OpenedFile f, open_regular_file(path));
  auto file_size = static_cast<uint64_t>(f.st.st_size);
  // The header is at most 1 MiB (lib/npy.cpp); read only that much to parse it.
  std::string prefix(static_cast<size_t>(std::min<uint64_t>(file_size, (uint64_t{1} << 20) + 16)), '\0');
  for (size_t done = 0; done < prefix.size();) {
    ssize_t r = ::pread(f.fd.get(), prefix.data() + done, prefix.size() - done, static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return io_error("{}: cannot read the .npy header", path.string());
    done += static_cast<size_t>(r);
  }
  ASSIGN_OR_RETURN(NpyHeader h, parse_npy_header(std::as_bytes(std::span(prefix.data(), prefix.size())), file_size,
                                                 path.string()));
  TRY(check_elem(*in, h.dtype, path.string()));
  if (h.dims.empty()) return invalid("{}: a scalar has no batch axis to split into samples", path.string());
  std::vector<int64_t> rest(h.dims.begin() + 1, h.dims.end());
  int64_t chunk = 1;
  std::vector<int64_t> sample_dims;
  const auto& shape = in->type.shape;
  if (shape && shape->size() + 1 == h.dims.size()) {
    sample_dims = rest;  // the input has no batch axis: one row per sample
  } else if (!shape || shape->size() == h.dims.size()) {
    if (shape && (*shape)[0].is_known()) chunk = (*shape)[0].value;
    if (chunk <= 0) return invalid("{}: input '{}' has a batch of {}: nothing to split into", path.string(), in->name(), chunk);
    sample_dims = rest;
    sample_dims.insert(sample_dims.begin(), chunk);
  } else {
    return invalid("{}: a batch of shape {} does not fit input '{}' {}: expected samples of rank {} stacked on a "
                   "first axis",
                   path.string(), shape_to_string(shape_from_dims(h.dims)), in->name(), in->type.to_string(),
                   shape->size());
  }
  if (h.dims[0] == 0) return invalid("{}: no samples (the first axis is 0)", path.string());
  if (h.dims[0] % chunk != 0)
    return invalid("{}: {} rows do not split into batches of {} (input '{}' {})", path.string(), h.dims[0], chunk,
                   in->name(), in->type.to_string());
  TRY(check_dims(*in, sample_dims, path.string()));
  auto count = static_cast<size_t>(h.dims[0] / chunk);
  return std::unique_ptr<SampleSource>(
      new BatchNpySamples(g, *in, path, std::move(f.fd), std::move(h), std::move(sample_dims), count));
}

// One sample per image, decoded, resized and normalized on get().
class ImageSamples final : public SampleSource {
 public:
  ImageSamples(const ir::Value& input, fs::path dir, std::vector<fs::path> files, ImageTransform t, DType dtype,
               int channels)
      : input_(input), dir_(std::move(dir)), files_(std::move(files)), t_(std::move(t)), dtype_(dtype),
        channels_(channels) {}
  size_t size() const override { return files_.size(); }
  Result<Sample> get(size_t i) const override {
    if (i >= files_.size()) return out_of_range(*this, i);
    const fs::path& p = files_[i];
    ASSIGN_OR_RETURN(Image img, read_image(p, channels_));
    auto t = image_to_tensor(img, t_, dtype_);
    if (!t.is_ok()) return t.status().with_context(fmt::format("{}: input '{}'", p.string(), input_.name()));
    Sample s;
    s.label = p.filename().string();
    s.feeds[input_.name()] = RValue(std::move(t).value());
    return s;
  }
  std::string describe() const override {
    return fmt::format("{} ({} image{}, {}x{} {} {})", dir_.string(), files_.size(), files_.size() == 1 ? "" : "s",
                       t_.height, t_.width, t_.layout == ImageLayout::NCHW ? "NCHW" : "NHWC",
                       channels_ == 1 ? "gray" : t_.order == ChannelOrder::RGB ? "RGB" : "BGR");
  }

 private:
  const ir::Value& input_;
  fs::path dir_;
  std::vector<fs::path> files_;
  ImageTransform t_;
  DType dtype_;
  int channels_;
};

Result<std::unique_ptr<SampleSource>> open_images(const ir::Graph& g, const fs::path& dir, std::vector<fs::path> files,
                                                  const ImageOptions& o) {
  ASSIGN_OR_RETURN(const ir::Value* in, single_input(g, dir, "images"));
  std::string what = fmt::format("{}: input '{}' {}", dir.string(), in->name(), in->type.to_string());
  if (!in->type.is_tensor()) return invalid("{}: images feed tensor inputs", what);
  DType dtype = in->type.elem == DType::Undefined ? DType::Float : in->type.elem;
  if (dtype != DType::Float && dtype != DType::UInt8)
    return invalid("{}: images feed float or uint8 inputs", what);
  size_t rank = in->type.shape ? in->type.shape->size() : 4;
  if (rank != 3 && rank != 4) return invalid("{}: images feed inputs of rank 4 (or 3 without a batch)", what);
  auto dim = [&](size_t k) -> std::optional<int64_t> {
    if (!in->type.shape || !(*in->type.shape)[k].is_known()) return std::nullopt;
    return (*in->type.shape)[k].value;
  };
  size_t first = rank == 4 ? 1 : 0;  // the first non-batch dim
  ImageTransform t;
  t.batch_dim = rank == 4;
  t.order = o.channel_order;
  auto is_channels = [](std::optional<int64_t> d) { return d && (*d == 1 || *d == 3); };
  if (o.layout) t.layout = *o.layout;
  else if (!is_channels(dim(first)) && is_channels(dim(rank - 1))) t.layout = ImageLayout::NHWC;
  else t.layout = ImageLayout::NCHW;
  size_t c_at = t.layout == ImageLayout::NCHW ? first : rank - 1;
  size_t h_at = t.layout == ImageLayout::NCHW ? first + 1 : first;
  int channels = 3;
  if (auto c = dim(c_at)) {
    if (*c != 1 && *c != 3)
      return invalid("{}: {} channels in {} layout; images give 1 (gray) or 3 (RGB)", what, *c,
                     t.layout == ImageLayout::NCHW ? "NCHW" : "NHWC");
    channels = static_cast<int>(*c);
  }
  if (rank == 4 && dim(0) && *dim(0) != 1)
    return invalid("{}: a batch of {} per run; an image folder gives one image per sample", what, *dim(0));
  std::optional<int64_t> h = dim(h_at), w = dim(h_at + 1);
  if ((o.height > 0) != (o.width > 0)) return invalid("{}: the image size needs both a height and a width", what);
  if (o.height > 0) {
    if ((h && *h != o.height) || (w && *w != o.width))
      return invalid("{}: images resized to {}x{} do not fit its fixed {}x{}", what, o.height, o.width,
                     h ? fmt::format("{}", *h) : "?", w ? fmt::format("{}", *w) : "?");
    t.height = o.height;
    t.width = o.width;
  } else {
    if (!h || !w) return invalid("{}: no fixed height and width to resize images to; give the image size", what);
    t.height = *h;
    t.width = *w;
  }
  t.scale = o.scale.value_or(dtype == DType::UInt8 ? 1.0 : 1.0 / 255);
  t.mean = o.mean;
  t.std = o.std;
  // Try the transform on a one-pixel image now, so bad options fail before the first sample.
  Image probe{1, 1, channels, std::vector<uint8_t>(static_cast<size_t>(channels), 0)};
  ImageTransform probe_t = t;
  probe_t.height = probe_t.width = 1;
  auto tried = image_to_tensor(probe, probe_t, dtype);
  if (!tried.is_ok()) return tried.status().with_context(what);
  return std::unique_ptr<SampleSource>(new ImageSamples(*in, dir, std::move(files), std::move(t), dtype, channels));
}

class RandomSamples final : public SampleSource {
 public:
  RandomSamples(const ir::Graph& g, size_t count, uint64_t seed, std::map<std::string, std::vector<int64_t>> shapes,
                std::map<std::string, int64_t> dims)
      : g_(g), count_(count), seed_(seed), shapes_(std::move(shapes)), dims_(std::move(dims)) {}
  size_t size() const override { return count_; }
  Result<Sample> get(size_t i) const override {
    if (i >= count_) return out_of_range(*this, i);
    Sample s;
    s.label = fmt::format("random #{}", i);
    ASSIGN_OR_RETURN(s.feeds, random_inputs(g_, seed_ + i, shapes_, dims_));
    return s;
  }
  std::string describe() const override {
    return fmt::format("{} random sample{} (seed {})", count_, count_ == 1 ? "" : "s", seed_);
  }

 private:
  const ir::Graph& g_;
  size_t count_;
  uint64_t seed_;
  std::map<std::string, std::vector<int64_t>> shapes_;
  std::map<std::string, int64_t> dims_;
};

class FirstSamples final : public SampleSource {
 public:
  FirstSamples(std::unique_ptr<SampleSource> inner, size_t n) : inner_(std::move(inner)), n_(std::min(n, inner_->size())) {}
  size_t size() const override { return n_; }
  Result<Sample> get(size_t i) const override {
    if (i >= n_) return out_of_range(*this, i);
    return inner_->get(i);
  }
  std::string describe() const override {
    return n_ == inner_->size() ? inner_->describe() : fmt::format("the first {} of {}", n_, inner_->describe());
  }

 private:
  std::unique_ptr<SampleSource> inner_;
  size_t n_;
};

}  // namespace

std::unique_ptr<SampleSource> samples_in_memory(std::vector<Sample> samples, std::string description) {
  return std::make_unique<InMemorySamples>(std::move(samples), std::move(description));
}

Status check_feeds(const ir::Graph& g, const Feeds& feeds, std::string_view label) {
  for (const auto& [name, value] : feeds) {
    const ir::Value* in = g.find_value(name);
    if (!in || !in->is_graph_input())
      return invalid("{}: the model has no input named '{}' (inputs: {})", label, name, input_list(g));
    if (!in->type.is_tensor()) continue;  // sequences and optionals: the session checks them
    if (!value.is_tensor()) return invalid("{}: input '{}' is {}, not given a tensor", label, name, in->type.to_string());
    TRY(check_elem(*in, value.tensor.dtype(), label));
    TRY(check_dims(*in, value.tensor.dims(), label));
  }
  for (const ir::Value* v : required_inputs(g))
    if (!feeds.count(v->name())) return invalid("{}: input '{}' ({}) is missing", label, v->name(), v->type.to_string());
  return Status::ok();
}

Result<std::unique_ptr<SampleSource>> open_samples(const ir::Graph& g, const fs::path& path, const SampleOptions& o) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return invalid("{}: no such file or folder", path.string());
  if (fs::is_regular_file(st)) {
    if (path.extension() != ".npy")
      return invalid("{}: a single file of samples must be a .npy whose first axis is the batch", path.string());
    if (o.expected_outputs)
      return invalid("{}: stored outputs come from ONNX test-data folders (input_K.pb and output_K.pb)", path.string());
    return open_batch_npy(g, path);
  }
  if (!fs::is_directory(st)) return invalid("{}: not a regular file or a folder", path.string());
  ASSIGN_OR_RETURN(std::vector<fs::path> entries, list_folder(path));
  std::vector<fs::path> dirs, tensors, images;
  bool inputs_pb = false, outputs_pb = false;
  for (const fs::path& p : entries) {
    std::string name = p.filename().string();
    if (fs::is_directory(p, ec)) dirs.push_back(p);
    else if (is_image_file(p)) images.push_back(p);
    else if (is_tensor_file(p)) tensors.push_back(p);
    inputs_pb = inputs_pb || std::regex_match(name, input_pb_name());
    outputs_pb = outputs_pb || std::regex_match(name, output_pb_name());
  }
  // The folder is itself one test-data sample: stored outputs beside the inputs, several inputs as
  // input_K.pb, or stored outputs asked for.
  if (inputs_pb && (outputs_pb || o.expected_outputs || required_inputs(g).size() > 1))
    return std::unique_ptr<SampleSource>(new TestDataSamples(g, path, {path}, o.expected_outputs));
  std::vector<std::string> kinds;
  if (!dirs.empty()) kinds.push_back("subfolders");
  if (!tensors.empty()) kinds.push_back("tensor files");
  if (!images.empty()) kinds.push_back("images");
  if (kinds.empty())
    return invalid("{}: no samples (expected .npy/.pb files, PNG/JPEG images or subfolders in ONNX test-data layout)",
                   path.string());
  if (kinds.size() > 1)
    return invalid("{}: mixes {}; a sample folder holds one kind", path.string(), fmt::join(kinds, " and "));
  if (!dirs.empty()) return std::unique_ptr<SampleSource>(new TestDataSamples(g, path, std::move(dirs), o.expected_outputs));
  if (o.expected_outputs)
    return invalid("{}: stored outputs come from ONNX test-data folders (input_K.pb and output_K.pb), not loose files",
                   path.string());
  if (!images.empty()) return open_images(g, path, std::move(images), o.image);
  ASSIGN_OR_RETURN(const ir::Value* in, single_input(g, path, "folders of one tensor file per sample"));
  return std::unique_ptr<SampleSource>(new FileSamples(g, *in, path, std::move(tensors)));
}

std::unique_ptr<SampleSource> random_samples(const ir::Graph& g, size_t count, uint64_t seed,
                                             std::map<std::string, std::vector<int64_t>> shapes,
                                             std::map<std::string, int64_t> dims) {
  return std::make_unique<RandomSamples>(g, count, seed, std::move(shapes), std::move(dims));
}

std::unique_ptr<SampleSource> first_samples(std::unique_ptr<SampleSource> source, size_t n) {
  return std::make_unique<FirstSamples>(std::move(source), n);
}

}  // namespace ortool::rt
