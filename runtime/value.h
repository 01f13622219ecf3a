// Runtime values: the runtime's name for lib's RValue (tensor, sequence, or empty optional).
#pragma once

#include "lib/rvalue.h"
#include "lib/type.h"

namespace ortool::rt {
using ortool::RValue;
}  // namespace ortool::rt
