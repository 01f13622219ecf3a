// The proof that closes every quantize: the float and the quantized model run on the same samples, the
// outputs judged with lib/accuracy (SQNR, cosine, top-1 agreement, gates), and, on request, the SQNR of
// every quantized activation against its float counterpart (watched in both runs), worst first.
//
// A quantized activation is a uint8/int8 value of the quantized model named `<T>_QuantizeLinear_Output`
// (the quantizers keep that name in QDQ and QOperator form) whose float counterpart `T` exists in the
// float model; its scale and zero point come from the QuantizeLinear that makes it, a DequantizeLinear
// that reads it, or the QLinear op that makes it (QOperator form). Where a Relu or Clip was folded into
// the range of the tensor it reads, the 8-bit value is compared with the activation's output (what it
// stands for). Values are compared one sample at a
// time (the float run's watched values are kept for that sample only), so memory does not grow with
// the number of samples.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/accuracy.h"
#include "lib/graph.h"
#include "lib/status.h"
#include "runtime/samples.h"
#include "runtime/session.h"

namespace ortool::quant {

// One quantized activation against its float counterpart, summed over the samples.
struct TensorSqnr {
  std::string name;            // the float model's tensor
  std::string producer;        // the float model's node that makes it ("" for a graph input)
  std::string op_type;         // that node's op type
  double ref_energy = 0;       // sum of float^2
  double noise_energy = 0;     // sum of (float - dequantized)^2
  int64_t samples = 0;
  // 10 log10(ref / noise): +inf when exact, unset when the float values are all zero and the error is not.
  std::optional<double> sqnr_db() const;
};

struct ProofOptions {
  Gates gates;                  // check_elements is ignored (quantization changes every element)
  rt::SessionOptions session;   // both models run with it
  bool tensor_sqnr = false;     // also measure every quantized activation
  std::function<void(size_t done, size_t total)> progress;  // samples done (optional)
};

struct ProofResult {
  std::unique_ptr<AccuracyReport> accuracy;  // quantized against float, per output
  std::vector<TensorSqnr> tensors;           // tensor_sqnr: worst first (undefined ones last)
  size_t samples = 0;
  std::string sample_source;                 // SampleSource::describe()
  // The worst output SQNR (min over outputs of the worst sample), unset when no output defines it.
  std::optional<double> worst_output_sqnr_db() const;
};

// Runs both models on every sample. Errors: a sample or a run failing (named by the sample's label and
// the model), outputs of another count, type or shape than the float model's (kInternal: a quantizer bug).
Result<ProofResult> prove_quantized(const ir::Model& float_model, const ir::Model& quantized,
                                    const rt::SampleSource& samples, const ProofOptions& options);

}  // namespace ortool::quant
