// load_model / save_model: files, external data and the 2 GiB protobuf limit around import/export.
#include "lib/model_io.h"

#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <climits>
#include <cstring>
#include <new>
#include <optional>

#include "lib/external_data.h"
#include "lib/file_util.h"
#include "lib/human_size.h"
#include "lib/onnx_import.h"
#include "lib/proto_convert.h"

namespace ortool {

namespace fs = std::filesystem;

namespace {

// protobuf refuses to write or read a single message of 2 GiB or more.
constexpr uint64_t kProtobufLimit = INT_MAX;
// Room left for everything that is not tensor data when estimating whether a model fits inline.
constexpr uint64_t kNonTensorMargin = uint64_t{64} << 20;

uint64_t tensor_bytes(const ir::Graph& g) {
  uint64_t total = 0;
  for (const ir::Value* v : g.initializers())
    if (v->constant()) total += v->constant()->nbytes();
  for (const ir::Node* n : g.nodes()) {
    for (const ir::Attribute& a : n->attributes()) {
      if (a.t) total += a.t->nbytes();
      for (const TensorPtr& t : a.tensors)
        if (t) total += t->nbytes();
    }
    for (const ir::Graph* sg : n->subgraphs()) total += tensor_bytes(*sg);
  }
  return total;
}

// Lets protobuf serialize straight into the atomic file, without a second copy of the model.
class WriterStream final : public google::protobuf::io::CopyingOutputStream {
 public:
  explicit WriterStream(FileWriter& w) : w_(w) {}
  bool Write(const void* buffer, int size) override {
    status_ = w_.write(buffer, static_cast<size_t>(size));
    return status_.is_ok();
  }
  const Status& status() const { return status_; }

 private:
  FileWriter& w_;
  Status status_;
};

Status serialize_to(const onnx::ModelProto& mp, FileWriter& w) {
  WriterStream ws(w);
  google::protobuf::io::CopyingOutputStreamAdaptor adaptor(&ws, 1 << 20);
  bool ok = mp.SerializeToZeroCopyStream(&adaptor);
  ok = adaptor.Flush() && ok;
  if (!ws.status().is_ok()) return ws.status();
  if (!ok) return io_error("{}: serializing the model failed", w.target().string());
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<ir::Model>> load_model(const fs::path& path, const LoadOptions& options, LoadInfo* info) {
  ASSIGN_OR_RETURN(OpenedFile opened, open_regular_file(path));
  auto size = static_cast<uint64_t>(opened.st.st_size);
  if (size == 0) return invalid("{}: empty file", path.string());
  if (size > kProtobufLimit)
    return invalid("{}: {} is over protobuf's 2 GiB limit for one model file (large models keep their weights "
                   "in external data)",
                   path.string(), human_bytes(size));
  ExternalDataContext ctx(path.parent_path());
  ImportOptions io;
  io.source_name = path.string();
  io.external_data = &ctx;
  io.max_subgraph_depth = options.max_subgraph_depth;
  onnx::ModelProto mp;
  {
    // Streamed from the descriptor: only protobuf's copy of the bytes is ever held in memory.
    google::protobuf::io::FileInputStream in(opened.fd.get(), 1 << 20);
    TRY(proto::parse_model_proto(&in, &mp, io.source_name, proto::model_recursion_limit(io.max_subgraph_depth)));
    if (in.GetErrno() != 0) return io_error("{}: read failed: {}", path.string(), std::strerror(in.GetErrno()));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ir::Model> model, proto::import_parsed_model(mp, io));
  if (info) {
    info->file_bytes = size;
    info->external_files = ctx.files();
  }
  return model;
}

Result<SaveInfo> save_model(const ir::Model& model, const fs::path& path, const SaveOptions& options) {
  return save_model_with_limit(model, path, options, kProtobufLimit);
}

Result<SaveInfo> save_model_with_limit(const ir::Model& model, const fs::path& path, const SaveOptions& options,
                                       uint64_t inline_limit) {
  const std::string source = path.string();
  if (!model.graph) return internal_error("{}: model has no graph", source);
  if (!options.input_path.empty()) TRY(check_not_same_file(options.input_path, path, options.force));
  SaveInfo info;
  bool external = options.external_data;
  auto too_big_inline = [&](uint64_t bytes) -> Status {
    return resource_limit("{}: the model needs about {}, over protobuf's 2 GiB limit for one file; save it "
                          "with external data",
                          source, human_bytes(bytes));
  };
  if (!external) {
    uint64_t estimate = tensor_bytes(*model.graph);
    if (estimate + std::min(kNonTensorMargin, inline_limit / 2) > inline_limit) {
      if (options.force_internal) return too_big_inline(estimate);
      external = info.switched_to_external = true;
    }
  }

  proto::ExternalWritePlan plan;
  plan.location = options.location.empty() ? path.filename().string() + ".data" : options.location;
  plan.threshold = options.threshold;
  onnx::ModelProto mp;
  try {
    auto build = [&]() -> Status {
      mp.Clear();
      plan.layout = ExternalDataLayout();
      return proto::model_to_proto(model, &mp, external ? &plan : nullptr);
    };
    TRY(build());
    uint64_t size = mp.ByteSizeLong();
    if (size > inline_limit && !external) {
      if (options.force_internal) return too_big_inline(size);
      external = info.switched_to_external = true;
      TRY(build());
      size = mp.ByteSizeLong();
    }
    if (size > inline_limit)
      return resource_limit("{}: the model is {} bytes even with its initializers in external data, over protobuf's "
                            "2 GiB limit",
                            source, size);

    std::optional<AtomicFile> data_file;
    if (external && !plan.layout.entries.empty()) {
      TRY(check_external_location(plan.location).with_context(source));
      fs::path data_path = path.parent_path() / plan.location;
      if (data_path.lexically_normal() == path.lexically_normal())
        return invalid("{}: the external data file cannot be the model file itself", source);
      if (!options.input_path.empty()) TRY(check_not_same_file(options.input_path, data_path, options.force));
      ASSIGN_OR_RETURN(AtomicFile f, AtomicFile::create(data_path));
      TRY(plan.layout.write(f.writer()));
      info.data_bytes = f.writer().bytes_written();
      info.data_path = data_path;
      info.external_tensors = plan.layout.entries.size();
      data_file.emplace(std::move(f));
    }
    ASSIGN_OR_RETURN(AtomicFile model_file, AtomicFile::create(path));
    TRY(serialize_to(mp, model_file.writer()));
    info.model_bytes = model_file.writer().bytes_written();
    // Both files are complete on disk before either replaces an old one, and the two renames follow each
    // other directly: only a kill between those two calls leaves new data beside the old model.
    if (data_file) TRY(data_file->sync());
    TRY(model_file.sync());
    if (data_file) TRY(data_file->publish());
    TRY(model_file.publish());
  } catch (const std::bad_alloc&) {
    return resource_limit("{}: out of memory while serializing the model", source);
  }
  info.used_external_data = external && info.external_tensors > 0;
  return info;
}

}  // namespace ortool
