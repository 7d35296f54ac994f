#include "util/result.h"

#include <cstring>

namespace hotalloc {

std::unexpected<Error> fail_errno(int err, std::string_view what) {
  return std::unexpected(Error{fmt::format("{}: {}", what, std::strerror(err)), err});
}

}  // namespace hotalloc
