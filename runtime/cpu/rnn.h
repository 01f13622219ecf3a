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

// The checked inputs of a recurrent node (null: absent) and its dims.
struct RnnInputs {
  const Tensor *X = nullptr, *W = nullptr, *R = nullptr, *B = nullptr;
  const Tensor *h0 = nullptr, *c0 = nullptr, *P = nullptr;  // initial_h, initial_c, peepholes
  int64_t seq = 0, batch = 0, I = 0, H = 0, D = 1, G = 1;
  std::vector<int64_t> lens;                  // per batch row: steps to run (sequence_lens, else seq)
  std::vector<int64_t> state_dims, y_dims;    // Y_h / Y_c and Y, in the node's layout
};
// Reads and checks X, W, R, B, sequence_lens, initial_h (and for LSTM initial_c, P).
Result<RnnInputs> check_recurrent_inputs(const KernelContext& ctx, const RnnConfig& cfg);

// The wanted outputs (null when not wanted): Y, Y_h and for LSTM Y_c, allocated in X's type. Y is
// zero-filled when some sequence is shorter than seq (its padding stays zero).
struct RnnOutputs {
  Tensor *y = nullptr, *yh = nullptr, *yc = nullptr;
};
Result<RnnOutputs> allocate_recurrent_outputs(KernelContext& ctx, const RnnConfig& cfg, const RnnInputs& in);

// The reference: runs `cell` in double over every direction, batch row and valid time step, and
// writes Y, Y_h (and Y_c).
Status run_recurrent(KernelContext& ctx, const RnnConfig& cfg, const RnnCellFn& cell);

// C[M, N] = A[M, K] * B[N, K]^T, all row-major: the input projection's product, for a provider with a
// faster one than Eigen's (the dnnl provider's sgemm uses AVX-512).
using RnnGemm = std::function<Status(int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C)>;

// The float path (rnn_fast.cpp) for float32 X of any cell and attributes: one matrix product for the
// input projection of all steps (`gemm`, or Eigen's when empty), then per step the recurrent product
// and vectorized gates in float; bidirectional runs its directions on two threads. The reference is
// its test oracle.
Status run_recurrent_f32(KernelContext& ctx, const RnnConfig& cfg, const RnnGemm& gemm = {});

// What the RNN, GRU and LSTM kernels run: the float path for float32 X, the reference otherwise.
Status run_recurrent_node(KernelContext& ctx, const RnnConfig& cfg, const RnnCellFn& cell);

}  // namespace ortool::rt::cpu
