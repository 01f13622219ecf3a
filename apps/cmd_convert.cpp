// `ortool convert IN -o OUT`: load and save a model, moving weights in or out of external data.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <string>

#include "apps/cli_util.h"
#include "apps/cli_parse.h"
#include "apps/commands.h"
#include "lib/model_io.h"
#include "lib/onnx_check.h"
#include "lib/stale_data.h"

namespace ortool::cli {

namespace {

struct ConvertOptions {
  std::string input;
  std::string output;
  bool external_data = false;
  size_t threshold = 1024;
  std::string location;
  bool internal = false;
  bool onnx_check = false;
  bool old_check = false;  // --check, the old spelling of --onnx-check
  bool force = false;
};

int run_convert(const ConvertOptions& o) {
  namespace fs = std::filesystem;
  if (o.old_check)
    print_note("convert --check is now --onnx-check (--check N means N random runs in the other subcommands)");
  LoadInfo in_info;
  Result<std::unique_ptr<ir::Model>> model = load_model(o.input, {}, &in_info);
  if (!model) return report(model.status());
  // The data files of the model about to be replaced: stale afterwards unless the new one (or the
  // input, when it is another file) still uses them.
  std::error_code ec;
  const bool same_file = fs::equivalent(o.input, o.output, ec);
  std::vector<fs::path> replaced_data = external_data_of(o.output);

  SaveOptions save;
  save.external_data = o.external_data;
  save.threshold = o.threshold;
  save.location = o.location;
  save.force_internal = o.internal;
  save.input_path = o.input;
  save.force = o.force;
  Result<SaveInfo> saved = save_model(*model.value(), o.output, save);
  if (!saved) return report(saved.status());

  const SaveInfo& s = saved.value();
  fmt::print("wrote {} ({})\n", o.output, human_bytes(s.model_bytes));
  if (s.used_external_data)
    fmt::print("wrote {} ({}, {} tensor{}){}\n", s.data_path.string(), human_bytes(s.data_bytes), s.external_tensors,
               s.external_tensors == 1 ? "" : "s",
               s.switched_to_external ? ": the model is over 2 GiB, so its weights went to external data" : "");
  std::vector<fs::path> keep;
  if (s.used_external_data) keep.push_back(s.data_path);
  if (!same_file) keep.insert(keep.end(), in_info.external_files.begin(), in_info.external_files.end());
  StaleRemoval stale = remove_stale_data(replaced_data, keep);
  for (const fs::path& p : stale.removed)
    fmt::print("removed {}: the external data of the model this one replaced, used by nothing now\n",
               (fs::path(o.output).parent_path() / p.filename()).string());
  for (const std::string& e : stale.errors) print_warning(fmt::format("cannot remove stale external data {}", e));

  if (o.onnx_check || o.old_check) {
    OnnxCheckReport check;
    Status st = onnx_check_model_file(o.output, /*full_check=*/true, &check);
    if (!st.is_ok()) return report(st);
    fmt::print("onnx checker: ok{}{}\n", check.full_check_ran ? " (full check with shape inference)" : "",
               check.note.empty() ? "" : "; note: " + check.note);
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

Command register_convert(CLI::App& parent) {
  auto opts = std::make_shared<ConvertOptions>();
  CLI::App* app = parent.add_subcommand(
      "convert", "Load and save a model: move weights to or from external data, optionally run the onnx checker");
  app->add_option("input", opts->input, "ONNX model to read")->required();
  app->add_option("-o,--output", opts->output, "ONNX model to write (atomically; never the input without --force)")
      ->required();
  CLI::Option* ext =
      app->add_flag("--external-data", opts->external_data, "Store large tensors in one data file beside the model");
  app->add_option("--threshold", opts->threshold, "With --external-data: tensors of at least BYTES go out (default 1024)")
      ->type_name("BYTES")
      ->check(integer_in(0))
      ->needs(ext);
  app->add_option("--location", opts->location,
                  "With --external-data: data file name, relative to the output's folder (default OUT.data)")
      ->type_name("NAME")
      ->needs(ext);
  app->add_flag("--internal", opts->internal, "Keep every tensor inside the model file (a model over 2 GiB is an error)")
      ->excludes(ext);
  app->add_flag("--onnx-check", opts->onnx_check,
                "Run the onnx checker on the written model (with strict shape inference when libonnx knows the "
                "opset); findings exit with code 1");
  // The old spelling keeps working, with a note; it is not listed (--check N is random runs elsewhere).
  app->add_flag("--check", opts->old_check, "Old spelling of --onnx-check")->group("");
  app->add_flag("--force", opts->force, "Allow the output to be the input file");
  app->footer(
      "Examples:\n"
      "  ortool convert model.onnx -o copy.onnx --onnx-check\n"
      "  ortool convert model.onnx -o big.onnx --external-data --threshold 4096 --location big.weights\n"
      "  ortool convert big.onnx -o inline.onnx --internal\n"
      "Writing over a model whose weights were in external data removes that data file when nothing uses it any more.");
  return {app, [opts] { return run_convert(*opts); }};
}

}  // namespace ortool::cli
