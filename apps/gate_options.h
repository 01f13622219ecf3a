// The accuracy gates as options (--min-cosine, --min-sqnr, --max-top1-drop), declared once for compare,
// quantize and prune so that each spells, documents and fills lib/accuracy's Gates the same way.
#pragma once

#include "lib/accuracy.h"

namespace CLI {
class App;
}

namespace ortool::cli {

// Adds the three gates to `app`; a gate given on the command line sets its field of `gates` (unset
// gates stay off). `on_fail` ends the help of each ("" or e.g. " (exit 1, nothing written)").
void add_gate_options(CLI::App& app, Gates& gates, const char* on_fail = "");

}  // namespace ortool::cli
