// Real Go binaries altered for tests that need a toolchain nobody has.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace hotalloc::testing {

// Copies the Go binary `from` to `to` (mode 0755) with its build info naming
// Go `version` (e.g. "go1.28.4") instead of its own, which must be exactly as
// long. The code, pclntab and DWARF stay those of the real toolchain: this
// makes "a Go newer than any known" or "a version whose table does not fit
// the binary" out of a binary whose true layout is known.
Status copy_claiming_go_version(const std::string& from, const std::string& to, std::string_view version);

}  // namespace hotalloc::testing
