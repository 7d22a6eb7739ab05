#pragma once

#include "cpx/tools/splitmix64.hpp"

namespace cpx::demo {

// The market's random choices come from the shared SplitMix64, so a seed gives the
// same market byte for byte with any compiler and standard library.
using Prng = cpx::tools::SplitMix64;

}  // namespace cpx::demo
