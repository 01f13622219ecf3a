// Shared parts of the recurrent kernels (RNN, GRU, LSTM): activations, attributes, input checks, the time loop.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/kernel.h"
#include "runtime/registry.h"

namespace ortool::rt::cpu {

void register_simple_rnn_ops(KernelRegistry& r);  // rnn_simple.cpp: RNN
void register_gru_ops(KernelRegistry& r);         // gru.cpp: GRU
void register_lstm_ops(KernelRegistry& r);        // lstm.cpp: LSTM

// One activation function of the `activations` attribute with its alpha/beta.
struct RnnActivation {
  enum class Kind {
    Relu,
    Tanh,
    Sigmoid,
    Affine,
    LeakyRelu,
    ThresholdedRelu,
    ScaledTanh,
    HardSigmoid,
    Elu,
    Softsign,
    Softplus
  };
  Kind kind = Kind::Tanh;
  double alpha = 0;
  double beta = 0;
  double operator()(double x) const;
};

enum class RnnCellKind { Simple, Gru, Lstm };

// Attributes of a recurrent node, parsed once.
struct RnnConfig {
  RnnCellKind cell = RnnCellKind::Simple;
  int gates = 1;                     // 1 (RNN), 3 (GRU: z r h), 4 (LSTM: i o f c)
  int64_t hidden_size = -1;          // -1: taken from W
  int directions = 1;                // 2 for bidirectional
  bool reverse_only = false;         // direction == "reverse"
  bool batch_first = false;          // layout == 1
  double clip = 0;                   // 0: no clipping
  bool linear_before_reset = false;  // GRU
  bool input_forget = false;         // LSTM
  // activations[d * per_direction + k]: function k of direction d.
  std::vector<RnnActivation> activations;
  int per_direction = 1;
};

// Parses direction, hidden_size, layout, clip, activations (with alpha/beta defaults) and the cell's flags.
Result<RnnConfig> parse_rnn_config(const ir::Node& node, RnnCellKind cell);

// Weights of one direction as seen by a cell (double precision, row-major).
struct RnnDirection {
  const double* R = nullptr;           // [gates * H, H]
  const double* Rb = nullptr;          // [gates * H] (zeros when B is absent)
  const double* P = nullptr;           // LSTM peepholes [3 * H] (i, o, f) or null
  const RnnActivation* act = nullptr;  // per_direction functions
};

// One time step of one batch row: xw = X_t * W^T + Wb ([gates * H]); h and c hold the previous state
// on entry and the new one on exit (c only for LSTM).
using RnnCellFn = std::function<void(const RnnConfig& cfg, const RnnDirection& dir, int64_t H, const double* xw,
                                     double* h, double* c)>;

// Reads and checks X, W, R, B, sequence_lens, initial_h (and for LSTM initial_c, P), runs `cell` over
// every direction, batch row and valid time step, and writes Y, Y_h (and Y_c).
Status run_recurrent(KernelContext& ctx, const RnnConfig& cfg, const RnnCellFn& cell);

}  // namespace ortool::rt::cpu
