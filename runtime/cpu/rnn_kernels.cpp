// Registration of the cpu provider's rnn kernel family (kernels live in files beside this one).
#include "runtime/cpu/families.h"
#include "runtime/cpu/rnn.h"

namespace ortool::rt::cpu {

void register_rnn_kernels(KernelRegistry& r) {
  register_simple_rnn_ops(r);
  register_gru_ops(r);
  register_lstm_ops(r);
}

}  // namespace ortool::rt::cpu
