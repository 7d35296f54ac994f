#include "util/gzip.h"

#include <climits>

#include <zlib.h>

namespace hotalloc {

Result<std::string> gzip(std::string_view in) {
  if (in.size() > UINT_MAX) return fail("gzip: {} bytes is too large for one deflate call", in.size());
  z_stream zs{};
  // windowBits 15 + 16 asks zlib for a gzip wrapper instead of a zlib one.
  if (int rc = deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY); rc != Z_OK) {
    return fail("gzip: deflateInit2 returned {}", rc);
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  // Z_STREAM_END is the only success: deflateBound sized `out` for one call.
  if (rc != Z_STREAM_END) return fail("gzip: deflate returned {}", rc);
  return out;
}

}  // namespace hotalloc
