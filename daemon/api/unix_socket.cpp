#include "api/unix_socket.h"

namespace hotalloc::api {

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return fail("socket path \"{}\" must be 1 to {} bytes", path, sizeof addr.sun_path - 1);
  path.copy(addr.sun_path, path.size());
  return addr;
}

}  // namespace hotalloc::api
