// Probe placement on real prologues. The byte strings are the first 48 bytes
// (or the whole function, if shorter) of functions in
// tests/targets/placement_shapes built with each Go toolchain: amd64 with
// tools/go-build-target.sh, arm64 cross-compiled with GOARCH=arm64
// CGO_ENABLED=0 -trimpath. Addresses come from `go tool nm -size`; the
// expected sites were read off binutils objdump (amd64) and `go tool
// objdump` (arm64): the JBE / BLS right after the compare with g's stack bound.
#include <gtest/gtest.h>

#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <capstone/capstone.h>
#include <fmt/format.h>

#include "probes/placement.h"
#include "support/env.h"
#include "target/go_binary.h"

namespace hotalloc::probes {
namespace {

std::vector<uint8_t> unhex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

struct Outcome {
  Placement placement;
  bool emulated;
  bool drop_taken_branch;
};
constexpr Outcome kBranch{Placement::stack_check_branch, true, true};
constexpr Outcome kEntry{Placement::entry, false, false};

struct Sample {
  CpuArch arch;
  const char* go;
  const char* function;
  uint64_t address;
  const char* code;  // hex
  Outcome outcome;
  uint64_t offset;
  const char* instruction;
};

// clang-format off
const Sample kSamples[] = {
    {CpuArch::x86_64, "1.19", "runtime.(*mcache).refill", 0x4139c0,
     "493b66100f862b0200004883ec3848896c2430488d6c243084000fb6d30f1f004881fa880000000f83fa010000488b4c",
     kBranch, 4, "jbe 0x413bf5"},
    {CpuArch::x86_64, "1.19", "runtime.(*mcache).releaseAll", 0x413e60,
     "493b66100f86d30100004883ec6048896c2458488d6c24584889442468488b480848894c245048c74008000000008b15",
     kBranch, 4, "jbe 0x41403d"},
    {CpuArch::x86_64, "1.19", "runtime.(*mcache).allocLarge", 0x413c20,
     "493b66100f860d0200004883ec4848896c2440488d6c2440488d9300200000904839d30f87dc01000048895c2458884c",
     kBranch, 4, "jbe 0x413e37"},
    {CpuArch::x86_64, "1.19", "runtime.mallocgc", 0x40b4e0,
     "493b66100f86be0800004883ec7048896c2468488d6c2468833d45cb140002900f84900800004885c00f84f707000080",
     kBranch, 4, "jbe 0x40bda8"},
    {CpuArch::x86_64, "1.19", "runtime.gcStart", 0x416b20,
     "493b66100f86320500004883c48048896c2478488d6c2478498b563090ff8208010000498b56304c89f684064c89f648",
     kBranch, 4, "jbe 0x41705c"},
    {CpuArch::x86_64, "1.19", "runtime.gcMarkTermination", 0x417940,
     "4c8da424d0feffff4d3b66100f867a0c00004881ecb00100004889ac24a8010000488dac24a8010000b802000000488d",
     kBranch, 12, "jbe 0x4185cc"},
    {CpuArch::x86_64, "1.19", "runtime.mapassign_faststr", 0x410140,
     "493b66100f86d10300004883ec6848896c2460488d6c246048898c24800000004889bc24880000004885db0f84960300",
     kBranch, 4, "jbe 0x41051b"},
    {CpuArch::x86_64, "1.19", "main.hugeFrame", 0x4815c0,
     "4989e44981ec884f00000f828f0000004d3b66100f86850000004881ec085000004889ac2400500000488dac24005000",
     kBranch, 20, "jbe 0x48165f"},
    {CpuArch::x86_64, "1.19", "runtime.gcSweep", 0x419200,
     "493b66180f86cb0100004883ec2048896c2418488d6c2418833d25ee130000900f859d01000048894424289090488d05",
     kBranch, 4, "jbe 0x4193d5"},
    {CpuArch::x86_64, "1.19", "runtime.scanstack", 0x41b9e0,
     "4c8da42480feffff4d3b66180f86f40600004881ec000200004889ac24f8010000488dac24f801000048898424080200",
     kBranch, 12, "jbe 0x41c0e6"},
    {CpuArch::x86_64, "1.19", "runtime.morestack.abi0", 0x45b400,
     "64488b1c25f8ffffff488b5b30488b336448393425f8ffffff750ae8a0440000e87b1e0000488b73506448393425f8ff",
     kEntry, 0, "mov rbx, qword ptr fs:[0xfffffffffffffff8]"},
    {CpuArch::x86_64, "1.19", "runtime.call1024.abi0", 0x45bcc0,
     "644c8b3425f8ffffff4c8da42478fcffff4d3b66100f869f0000004881ec080400004889ac2400040000488dac240004",
     kEntry, 0, "mov r14, qword ptr fs:[0xfffffffffffffff8]"},
    {CpuArch::x86_64, "1.21", "runtime.(*mcache).refill", 0x412f20,
     "493b66100f8622020000554889e54883ec300fb6d3660f1f84000000000066904881fa880000000f83f1010000840048",
     kBranch, 4, "jbe 0x41314c"},
    {CpuArch::x86_64, "1.21", "runtime.(*mcache).releaseAll", 0x413340,
     "493b66100f86c8010000554889e54883ec584889442468488b480848894c245048c74008000000008b15122813008954",
     kBranch, 4, "jbe 0x413512"},
    {CpuArch::x86_64, "1.21", "runtime.(*mcache).allocLarge", 0x413180,
     "493b66100f867e010000554889e54883ec38488d93002000000f1f80000000004839d30f874d01000048895c24504889",
     kBranch, 4, "jbe 0x413308"},
    {CpuArch::x86_64, "1.21", "runtime.mallocgc", 0x40b680,
     "493b66100f8607080000554889e54883ec58833d4f0e1400020f84e0070000904885c00f8451070000884c247848895c",
     kBranch, 4, "jbe 0x40be91"},
    {CpuArch::x86_64, "1.21", "runtime.gcStart", 0x415dc0,
     "4c8d6424f04d3b66100f860d050000554889e54881ec880000004c89742470498b563090ff8208010000488b54247048",
     kBranch, 9, "jbe 0x4162dc"},
    {CpuArch::x86_64, "1.21", "runtime.gcMarkTermination", 0x416760,
     "4c8da424c0feffff4d3b66100f86560c0000554889e54881ecb801000090b802000000488d0d5e5d130087018b05565d",
     kBranch, 12, "jbe 0x4173c8"},
    {CpuArch::x86_64, "1.21", "runtime.mapassign_faststr", 0x410380,
     "493b66100f86d2030000554889e54883ec6048898c24800000004889bc24880000004885db0f849d03000048895c2478",
     kBranch, 4, "jbe 0x41075c"},
    {CpuArch::x86_64, "1.21", "main.hugeFrame", 0x47b5a0,
     "4989e44981ec884f000072784d3b66107672554889e54881ec00500000488d3c24b9000500004889c231c0f348ab31c0",
     kBranch, 16, "jbe 0x47b624"},
    {CpuArch::x86_64, "1.22", "runtime.(*mcache).refill", 0x414540,
     "493b66100f8622020000554889e54883ec300fb6d3660f1f84000000000066904881fa880000000f83f1010000840048",
     kBranch, 4, "jbe 0x41476c"},
    {CpuArch::x86_64, "1.22", "runtime.(*mcache).releaseAll", 0x414980,
     "493b66100f86c8010000554889e54883ec584889442468488b480848894c245048c74008000000008b15f21d13008954",
     kBranch, 4, "jbe 0x414b52"},
    {CpuArch::x86_64, "1.22", "runtime.(*mcache).allocLarge", 0x4147a0,
     "493b66100f8693010000554889e54883ec40488d93002000000f1f80000000004839d30f876201000048895c2458884c",
     kBranch, 4, "jbe 0x41493d"},
    {CpuArch::x86_64, "1.22", "runtime.mallocgc", 0x40cd00,
     "493b66100f86c0080000554889e54883ec78833d0f071800020f8499080000904885c00f84f607000048899c24900000",
     kBranch, 4, "jbe 0x40d5ca"},
    {CpuArch::x86_64, "1.22", "runtime.gcStart", 0x4174e0,
     "4c8d6424c84d3b66100f868d050000554889e54881ecb00000004c89b42480000000498b563090ff8208010000488b94",
     kBranch, 9, "jbe 0x417a7c"},
    {CpuArch::x86_64, "1.22", "runtime.gcMarkTermination", 0x4180c0,
     "4c8da42478feffff4d3b66100f86b60d0000554889e54881ec0002000048899c24300100008844243f90b90200000048",
     kBranch, 12, "jbe 0x418e88"},
    {CpuArch::x86_64, "1.22", "runtime.mapassign_faststr", 0x411a80,
     "493b66100f86d2030000554889e54883ec6048898c24800000004889bc24880000004885db0f849d0300004889442470",
     kBranch, 4, "jbe 0x411e5c"},
    {CpuArch::x86_64, "1.22", "main.hugeFrame", 0x480ee0,
     "4989e44981ec884f000072784d3b66107672554889e54881ec00500000488d3c24b9000500004889c231c0f348ab31c0",
     kBranch, 16, "jbe 0x480f64"},
    {CpuArch::x86_64, "1.22", "runtime.morestack.abi0", 0x460b60,
     "64488b3c25f8ffffff488b5f30488b042448894740488d4424084889473848896f6848895750488b334839f7750ae86d",
     kEntry, 0, "mov rdi, qword ptr fs:[0xfffffffffffffff8]"},
    {CpuArch::x86_64, "1.22", "runtime.call1024.abi0", 0x4613e0,
     "644c8b3425f8ffffff4c8da42478fcffff4d3b66100f8688000000554889e54881ec000400004d8b66204d85e4757e48",
     kEntry, 0, "mov r14, qword ptr fs:[0xfffffffffffffff8]"},
    {CpuArch::x86_64, "1.23", "runtime.(*mcache).refill", 0x4112e0,
     "493b66100f8622020000554889e54883ec300fb6d3660f1f84000000000066904881fa880000000f83f1010000840048",
     kBranch, 4, "jbe 0x41150c"},
    {CpuArch::x86_64, "1.23", "runtime.(*mcache).releaseAll", 0x411720,
     "493b66100f86c8010000554889e54883ec584889442468488b480848894c245048c74008000000008b15f2a315008954",
     kBranch, 4, "jbe 0x4118f2"},
    {CpuArch::x86_64, "1.23", "runtime.(*mcache).allocLarge", 0x411540,
     "493b66100f8693010000554889e54883ec40488d93002000000f1f80000000004839d30f876201000048895c2458884c",
     kBranch, 4, "jbe 0x4116dd"},
    {CpuArch::x86_64, "1.23", "runtime.mallocgc", 0x460f00,
     "4c8d6424e84d3b66100f86bc090000554889e54881ec90000000833d0b161100020f84920900004885c00f8412090000",
     kBranch, 9, "jbe 0x4618cb"},
    {CpuArch::x86_64, "1.23", "runtime.gcStart", 0x415ae0,
     "4c8d6424b84d3b66100f86cd050000554889e54881ecc00000004c89b42490000000498b563090ff8208010000488b94",
     kBranch, 9, "jbe 0x4160bc"},
    {CpuArch::x86_64, "1.23", "runtime.gcMarkTermination", 0x4167a0,
     "4c8da42460feffff4d3b66100f86d60d0000554889e54881ec180200004889bc243801000048898c243001000048899c",
     kBranch, 12, "jbe 0x417588"},
    {CpuArch::x86_64, "1.23", "runtime.mapassign_faststr", 0x463ba0,
     "493b66100f86d2030000554889e54883ec6048898c24800000004889bc24880000004885db0f849d0300004889442470",
     kBranch, 4, "jbe 0x463f7c"},
    {CpuArch::x86_64, "1.23", "main.hugeFrame", 0x48f8e0,
     "4989e44981ec884f000072784d3b66107672554889e54881ec00500000488d3c24b9000500004889c231c0f348ab31c0",
     kBranch, 16, "jbe 0x48f964"},
    {CpuArch::x86_64, "1.24", "runtime.(*mcache).refill", 0x4153e0,
     "493b66100f8622020000554889e54883ec300fb6d3660f1f84000000000066904881fa880000000f83f1010000840048",
     kBranch, 4, "jbe 0x41560c"},
    {CpuArch::x86_64, "1.24", "runtime.(*mcache).releaseAll", 0x415800,
     "493b66100f86c8010000554889e54883ec584889442468488b481048894c245048c74010000000008b15521f16008954",
     kBranch, 4, "jbe 0x4159d2"},
    {CpuArch::x86_64, "1.24", "runtime.(*mcache).allocLarge", 0x415640,
     "493b66100f8684010000554889e54883ec40488d93002000000f1f80000000004839d30f875301000048895c2458884c",
     kBranch, 4, "jbe 0x4157ce"},
    {CpuArch::x86_64, "1.24", "runtime.mallocgc", 0x466660,
     "493b66100f8625010000554889e54883ec204885c00f8407010000488944243048895c2438884c2440803d9481110000",
     kBranch, 4, "jbe 0x46678f"},
    {CpuArch::x86_64, "1.24", "runtime.gcStart", 0x419ca0,
     "4c8d6424904d3b66100f86a9060000554889e54881ece800000066440fd6bc24e0000000c644243300498b563090ff82",
     kBranch, 9, "jbe 0x41a358"},
    {CpuArch::x86_64, "1.24", "runtime.gcMarkTermination", 0x41aa80,
     "4c8da42460feffff4d3b66100f86d60d0000554889e54881ec180200004889bc243801000048898c243001000048899c",
     kBranch, 12, "jbe 0x41b868"},
    {CpuArch::x86_64, "1.24", "runtime.mapassign_faststr", 0x407220,
     "4c8d6424d04d3b66100f86df040000554889e54881eca800000048898c24c80000004885db0f84a304000048898424b8",
     kBranch, 9, "jbe 0x40770e"},
    {CpuArch::x86_64, "1.24", "main.hugeFrame", 0x491d80,
     "4989e44981ec884f000072784d3b66107672554889e54881ec00500000488d3c24b9000500004889c231c0f348ab31c0",
     kBranch, 16, "jbe 0x491e04"},
    {CpuArch::x86_64, "1.24", "internal/runtime/maps.(*Map).putSlotSmallFast64", 0x404000,
     "493b66100f860e010000554889e54883ec28488b50104889542420488b3283e17f66480f6ec1660f60c0f20f70c00066",
     kBranch, 4, "jbe 0x404118"},
    {CpuArch::x86_64, "1.25", "runtime.(*mcache).refill", 0x418460,
     "493b66100f8622020000554889e54883ec3084000fb6d3660f1f8400000000004881fa880000000f83f1010000488b4c",
     kBranch, 4, "jbe 0x41868c"},
    {CpuArch::x86_64, "1.25", "runtime.(*mcache).releaseAll", 0x418880,
     "493b66100f86c8010000554889e54883ec584889442468488b481048894c245048c74010000000008b15b2e516008954",
     kBranch, 4, "jbe 0x418a52"},
    {CpuArch::x86_64, "1.25", "runtime.(*mcache).allocLarge", 0x4186c0,
     "493b66100f8684010000554889e54883ec40488d93002000000f1f80000000004839d30f875301000048895c2458884c",
     kBranch, 4, "jbe 0x41884e"},
    {CpuArch::x86_64, "1.25", "runtime.mallocgc", 0x46cbc0,
     "493b66100f863c010000554889e54883ec204885c00f840a010000488944243048895c2438884c2440803d1c15120000",
     kBranch, 4, "jbe 0x46cd06"},
    {CpuArch::x86_64, "1.25", "runtime.gcStart", 0x41e380,
     "4c8d6424904d3b66100f86a9060000554889e54881ece800000066440fd6bc24e0000000c644243300498b563090ff82",
     kBranch, 9, "jbe 0x41ea38"},
    {CpuArch::x86_64, "1.25", "runtime.gcMarkTermination", 0x41f160,
     "4c8da42418fcffff4d3b66100f8696100000554889e54881ec600400004889bc246001000048898c245801000048899c",
     kBranch, 12, "jbe 0x420208"},
    {CpuArch::x86_64, "1.25", "runtime.mapassign_faststr", 0x409ee0,
     "4c8d6424c84d3b66100f862f050000554889e54881ecb000000048898c24d00000004885db0f84f304000048898424c0",
     kBranch, 9, "jbe 0x40a41e"},
    {CpuArch::x86_64, "1.25", "main.hugeFrame", 0x4986a0,
     "4989e44981ec884f000072784d3b66107672554889e54881ec00500000488d3c24b9000500004889c231c0f348ab31c0",
     kBranch, 16, "jbe 0x498724"},
    {CpuArch::x86_64, "1.25", "internal/runtime/maps.(*Map).putSlotSmallFast64", 0x4068c0,
     "493b66100f860e010000554889e54883ec28488b50104889542420488b3283e17f66480f6ec1660f60c0f20f70c00066",
     kBranch, 4, "jbe 0x4069d8"},
    {CpuArch::x86_64, "1.26", "runtime.(*mcache).refill", 0x41fc80,
     "493b66100f863f020000554889e54883ec3084000fb6cb660f1f8400000000004881f9880000000f830f020000488b54",
     kBranch, 4, "jbe 0x41fec9"},
    {CpuArch::x86_64, "1.26", "runtime.(*mcache).releaseAll", 0x4200e0,
     "493b66100f86d7010000554889e54883ec484889442458488b481048894c244048c74010000000008b1552d217008954",
     kBranch, 4, "jbe 0x4202c1"},
    {CpuArch::x86_64, "1.26", "runtime.(*mcache).allocLarge", 0x41ff00,
     "493b66100f8695010000554889e54883ec40488d93002000000f1f80000000004839d30f876401000048895c2458884c",
     kBranch, 4, "jbe 0x42009f"},
    {CpuArch::x86_64, "1.26", "runtime.mallocgc", 0x478240,
     "493b66100f8645010000554889e54883ec204885c00f8415010000488944243048895c2438884c2440803d3cc4120000",
     kBranch, 4, "jbe 0x47838f"},
    {CpuArch::x86_64, "1.26", "runtime.gcStart", 0x426040,
     "4c8da42470ffffff4d3b66100f8689070000554889e54881ec0801000066440fd6bc2400010000c644243200498b5630",
     kBranch, 12, "jbe 0x4267db"},
    {CpuArch::x86_64, "1.26", "runtime.gcMarkTermination", 0x427360,
     "4c8da42440feffff4d3b66100f860d0f0000554889e54881ec380200004889bc245001000048898c244801000048899c",
     kBranch, 12, "jbe 0x42827f"},
    {CpuArch::x86_64, "1.26", "runtime.mapassign_faststr", 0x40fd60,
     "4c8d6424c04d3b66100f863f050000554889e54881ecb800000048898c24d80000004885db0f840305000048898424c8",
     kBranch, 9, "jbe 0x4102ae"},
    {CpuArch::x86_64, "1.26", "main.hugeFrame", 0x49e3c0,
     "4989e44981ec884f000072784d3b66107672554889e54881ec00500000488d3c24b9000500004889c231c0f348ab31c0",
     kBranch, 16, "jbe 0x49e444"},
    {CpuArch::x86_64, "1.26", "internal/runtime/maps.(*Map).putSlotSmallFast64", 0x40be40,
     "493b66100f860c010000554889e54883ec28488b50104889542420488b3283e17f66480f6ec1660f60c0f20f70c00066",
     kBranch, 4, "jbe 0x40bf56"},
    {CpuArch::x86_64, "1.27", "runtime.(*mcache).refill", 0x421d60,
     "493b66100f862f020000554889e54883ec3084000fb6cb660f1f8400000000004881f9880000000f8301020000488b54",
     kBranch, 4, "jbe 0x421f99"},
    {CpuArch::x86_64, "1.27", "runtime.(*mcache).releaseAll", 0x4221a0,
     "493b66100f86d7010000554889e54883ec484889442458488b481048894c244048c74010000000008b15d2931600ffc2",
     kBranch, 4, "jbe 0x422381"},
    {CpuArch::x86_64, "1.27", "runtime.(*mcache).allocLarge", 0x421fc0,
     "493b66100f8693010000554889e54883ec40488d93002000000f1f80000000004839d30f876201000048895c2458884c",
     kBranch, 4, "jbe 0x42215d"},
    {CpuArch::x86_64, "1.27", "runtime.mallocgc", 0x477e00,
     "493b66100f869c010000554889e54883ec204885c00f845b0100000f1f4400004883f85173564885db742a48837b0800",
     kBranch, 4, "jbe 0x477fa6"},
    {CpuArch::x86_64, "1.27", "runtime.gcStart", 0x425fc0,
     "4c8da42470ffffff4d3b66100f8669070000554889e54881ec0801000066440fd6bc2400010000c644243300498b5630",
     kBranch, 12, "jbe 0x42673b"},
    {CpuArch::x86_64, "1.27", "runtime.gcMarkTermination", 0x426fa0,
     "4c8da42440feffff4d3b66100f86ec0e0000554889e54881ec380200004889bc245001000048898c244801000048899c",
     kBranch, 12, "jbe 0x427e9e"},
    {CpuArch::x86_64, "1.27", "runtime.mapassign_faststr", 0x407ee0,
     "4c8d6424d84d3b66100f8637050000554889e54881eca000000048898c24c00000004885db0f84fa04000048898424b0",
     kBranch, 9, "jbe 0x408426"},
    {CpuArch::x86_64, "1.27", "main.hugeFrame", 0x49a0e0,
     "4989e44981ec884f0000727a4d3b66107674554889e54881ec00500000488d3c24b9000500004889c231c0f348ab31db",
     kBranch, 16, "jbe 0x49a166"},
    {CpuArch::x86_64, "1.27", "internal/runtime/maps.(*Map).putSlotSmallFast64", 0x403ee0,
     "488b5010488b3283e17f66480f6ec1660f60c0f20f70c00066480f6ece660f74c1660fd7f0400fb6f6eb084c8d46ff90",
     kEntry, 0, "mov rdx, qword ptr [rax + 0x10]"},
    {CpuArch::x86_64, "1.27", "runtime.(*mheap).allocSpan", 0x4373a0,
     "4c8d6424d84d3b66180f86f7050000554889e54881eca000000048898424b000000048899c24b8000000888c24c00000",
     kBranch, 9, "jbe 0x4379a6"},
    {CpuArch::x86_64, "1.27", "runtime.morestack.abi0", 0x47ce00,
     "64488b3c25f8ffffff488b5f30488b042448894740488d4424084889473848896f6048895750488b334839f7750ae8ed",
     kEntry, 0, "mov rdi, qword ptr fs:[0xfffffffffffffff8]"},
    {CpuArch::x86_64, "1.27", "runtime.call1024.abi0", 0x47d5a0,
     "644c8b3425f8ffffff4c8da42478fcffff4d3b6610767f554889e54881ec00040000488bb424200400008b8c24280400",
     kEntry, 0, "mov r14, qword ptr fs:[0xfffffffffffffff8]"},
    {CpuArch::arm64, "1.19", "runtime.(*mcache).refill", 0x22870,
     "900b40f9ff6330eb29150054fe0f1bf8fd831ff8fd2300d11b008039221c40d35f2002f1c213005403a00091241c7dd3",
     kBranch, 8, "b.ls #0x22b1c"},
    {CpuArch::arm64, "1.19", "runtime.mallocgc", 0x1a870,
     "900b40f9ff6330eb09470054fe0f19f8fd831ff8fd2300d17b0a00907b733f91640340b99f08007160450054204100b4",
     kBranch, 8, "b.ls #0x1b158"},
    {CpuArch::arm64, "1.19", "runtime.gcMarkTermination", 0x26c10,
     "900b40f9f10305d13f0210eb69680054f40307d19dfa3fa99f020091fd2300d1e0037fb2010a009021703f9120fc9f88",
     kBranch, 12, "b.ls #0x27928"},
    {CpuArch::arm64, "1.19", "runtime.mapassign_faststr", 0x1f460,
     "900b40f9ff6330ebc91e0054fe0f19f8fd831ff8fd2300d1e24700f9e34b00f9411d00b4e14300f9e03f00f922204039",
     kBranch, 8, "b.ls #0x1f840"},
    {CpuArch::arm64, "1.19", "main.hugeFrame", 0x8fb30,
     "900b40f91bf289d2f1633beb030600543f0210ebc90500541b028ad2f4633bcb9dfa3fa99f020091fd2300d1f0230091",
     kBranch, 20, "b.ls #0x8fbfc"},
    {CpuArch::arm64, "1.19", "runtime.morestack.abi0", 0x6a7f0,
     "881b40f9040140f99f001ceb610000542c0f00940b090014042940f99f001ceb610000542b0f009406090014e0030091",
     kEntry, 0, "ldr x8, [x28, #0x30]"},
    {CpuArch::arm64, "1.24", "runtime.(*mcache).refill", 0x244b0,
     "900b40f9ff6330ebe9130054fe0f1bf8fd831ff8fd2300d1221c40d35f2002f1a21200541b00803903c00091647862f8",
     kBranch, 8, "b.ls #0x24734"},
    {CpuArch::arm64, "1.24", "runtime.mallocgc", 0x76a20,
     "900b40f9ff6330eb09090054fe0f1df8fd831ff8fd2300d1e00700b4e01f00f9e12300f9e22301395b0900d063137239",
     kBranch, 8, "b.ls #0x76b48"},
    {CpuArch::arm64, "1.24", "runtime.gcMarkTermination", 0x29e60,
     "900b40f9f1c306d13f0210ebe9660054f4c308d19dfa3fa99f020091fd2300d1e3a700f9e2a300f9e19f00f9e02f0139",
     kBranch, 12, "b.ls #0x2ab48"},
    {CpuArch::arm64, "1.24", "runtime.mapassign_faststr", 0x16ba0,
     "900b40f9f14301d13f0210eb89230054fe0f13f8fd831ff8fd2300d1e27700f9c12100b4e06f00f9e17300f9e37b00f9",
     kBranch, 12, "b.ls #0x1701c"},
    {CpuArch::arm64, "1.24", "main.hugeFrame", 0xa00c0,
     "900b40f91bf289d2f1633bebc30500543f0210eb890500541b028ad2f4633bcb9dfa3fa99f020091fd2300d1f0230091",
     kBranch, 20, "b.ls #0xa0184"},
    {CpuArch::arm64, "1.24", "internal/runtime/maps.(*Map).putSlotSmallFast64", 0x13820,
     "900b40f9ff6330ebe90a0054fe0f1cf8fd831ff8fd2300d1040840f9e41b00f9850040f942184092e6c300b2c77c029b",
     kBranch, 8, "b.ls #0x13984"},
    {CpuArch::arm64, "1.24", "runtime.morestack.abi0", 0x7c1f0,
     "881b40f9040140f9e0030091801f00f99d3700f99e2300f9833300f99a2b00f99f001ceb61000054960f009499080014",
     kEntry, 0, "ldr x8, [x28, #0x30]"},
    {CpuArch::arm64, "1.27", "runtime.(*mcache).refill", 0x2e530,
     "900b40f9ff6330eba9140054fe0f1bf8fd831ff8fd2300d11b008039221c40d35f2002f16213005403c00091647862f8",
     kBranch, 8, "b.ls #0x2e7cc"},
    {CpuArch::arm64, "1.27", "runtime.mallocgc", 0x82eb0,
     "900b40f9ff6330eb690d0054fe0f1df8fd831ff8fd2300d1200b00b41f4401f182030054a10100b4230440f9630100b4",
     kBranch, 8, "b.ls #0x83064"},
    {CpuArch::arm64, "1.27", "runtime.gcMarkTermination", 0x33770,
     "900b40f9f10307d13f0210eba96e0054f40309d19dfa3fa99f020091fd2300d1e3ab00f9e2a700f9e1a300f9e00f0139",
     kBranch, 12, "b.ls #0x34550"},
    {CpuArch::arm64, "1.27", "runtime.mapassign_faststr", 0x17800,
     "900b40f9f14301d13f0210eb69250054fe0f13f8fd831ff8fd2300d1e27700f9e12300b4e06f00f9e17300f9e37b00f9",
     kBranch, 12, "b.ls #0x17cb8"},
    {CpuArch::arm64, "1.27", "main.hugeFrame", 0xa2380,
     "900b40f91bf289d2f1633beb630600543f0210eb290600541b028ad2f4633bcb9dfa3fa99f020091fd2300d1e1230091",
     kBranch, 20, "b.ls #0xa2458"},
    {CpuArch::arm64, "1.27", "internal/runtime/maps.(*Map).putSlotSmallFast64", 0x136f0,
     "040840f9850040f942184092e6c300b2c77c029ba70027cae8d800920601068bc600078a1f2003d5c6c0019204000014",
     kEntry, 0, "ldr x4, [x0, #0x10]"},
    {CpuArch::arm64, "1.27", "runtime.morestack.abi0", 0x87b60,
     "881b40f9040140f9e0030091801f00f99d3300f99e2300f9832f00f99a2b00f99f001ceb610000542a0d00948d070014",
     kEntry, 0, "ldr x8, [x28, #0x30]"},
    {CpuArch::arm64, "1.27", "runtime.(*mheap).allocSpan", 0x43cc0,
     "900f40f9f1c300d13f0210eb69330054fe0f15f8fd831ff8fd2300d1e05f00f9e16300f9e2230339e3270339841b40f9",
     kBranch, 12, "b.ls #0x44338"},
};
// clang-format on

std::string label(const Sample& s) {
  return fmt::format("{} go{} {}", s.arch == CpuArch::x86_64 ? "amd64" : "arm64", s.go, s.function);
}

const Sample& sample(CpuArch arch, std::string_view go, std::string_view function) {
  for (const Sample& s : kSamples)
    if (s.arch == arch && s.go == go && s.function == function) return s;
  throw std::out_of_range(fmt::format("no sample {} {}", go, function));
}

Result<Site> place(const Sample& s) {
  std::vector<uint8_t> code = unhex(s.code);
  return place_probe(s.arch, code, s.address);
}

// Registers that hold an argument or g at a Go function's entry (Go's
// internal ABI), with every sub-register, as Capstone names them.
const std::set<std::string>& argument_registers(CpuArch arch) {
  static const std::set<std::string> amd64 = [] {
    std::set<std::string> r = {"rax", "eax", "ax", "al", "ah", "rbx", "ebx", "bx", "bl", "bh",
                               "rcx", "ecx", "cx", "cl", "ch", "rdi", "edi", "di", "dil",
                               "rsi", "esi", "si", "sil"};
    for (int n : {8, 9, 10, 11, 14})
      for (const char* suffix : {"", "d", "w", "b"}) r.insert(fmt::format("r{}{}", n, suffix));
    return r;
  }();
  static const std::set<std::string> arm64 = [] {
    std::set<std::string> r;
    for (int n = 0; n <= 15; n++) r.insert({fmt::format("x{}", n), fmt::format("w{}", n)});
    r.insert({"x28", "w28"});
    return r;
  }();
  return arch == CpuArch::x86_64 ? amd64 : arm64;
}

// Decodes `code` independently of the placement code and lists the argument
// registers written by the instructions before `offset`; fails the test if
// `offset` is not an instruction boundary.
std::vector<std::string> arguments_written_before(CpuArch arch, std::span<const uint8_t> code, uint64_t address,
                                                  uint64_t offset) {
  csh h = 0;
  bool x86 = arch == CpuArch::x86_64;
  EXPECT_EQ(cs_open(x86 ? CS_ARCH_X86 : CS_ARCH_ARM64, x86 ? CS_MODE_64 : CS_MODE_ARM, &h), CS_ERR_OK);
  cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
  cs_insn* insn = cs_malloc(h);
  const uint8_t* p = code.data();
  size_t left = code.size();
  uint64_t pc = address;
  std::vector<std::string> written;
  while (pc - address < offset && cs_disasm_iter(h, &p, &left, &pc, insn)) {
    cs_regs r, w;
    uint8_t nr = 0, nw = 0;
    EXPECT_EQ(cs_regs_access(h, insn, r, &nr, w, &nw), CS_ERR_OK);
    for (uint8_t i = 0; i < nw; i++)
      if (argument_registers(arch).contains(cs_reg_name(h, w[i]))) written.push_back(cs_reg_name(h, w[i]));
  }
  EXPECT_EQ(pc - address, offset) << "the site is not an instruction boundary";
  cs_free(insn, 1);
  cs_close(&h);
  return written;
}

TEST(PlacementRealCode, EveryPrologue) {
  for (const Sample& s : kSamples) {
    SCOPED_TRACE(label(s));
    auto site = place(s);
    ASSERT_TRUE(site.has_value()) << site.error().message;
    EXPECT_EQ(site->offset, s.offset);
    EXPECT_EQ(site->placement, s.outcome.placement);
    EXPECT_EQ(site->emulated, s.outcome.emulated);
    EXPECT_EQ(site->drop_taken_branch, s.outcome.drop_taken_branch);
    EXPECT_EQ(site->instruction, s.instruction);
    EXPECT_EQ(site->note.empty(), s.outcome.placement != Placement::entry) << site->note;
    std::vector<uint8_t> code = unhex(s.code);
    EXPECT_EQ(arguments_written_before(s.arch, code, s.address, site->offset), std::vector<std::string>{});
  }
}

// From Go 1.21 the stack check falls through to PUSHQ BP, which the kernel
// emulates and which runs once per call; 1.19 falls through to SUBQ (stepped),
// arm64 to a pre-indexed store (stepped).
TEST(PlacementRealCode, PushAfterTheStackCheckIsAnAlternative) {
  for (const Sample& s : kSamples) {
    if (s.outcome.placement != Placement::stack_check_branch) continue;
    SCOPED_TRACE(label(s));
    auto site = place(s);
    ASSERT_TRUE(site.has_value());
    if (s.arch == CpuArch::arm64 || std::string_view(s.go) == "1.19") {
      EXPECT_TRUE(site->alternatives.empty());
      continue;
    }
    ASSERT_EQ(site->alternatives.size(), 1u);
    const Site& after = site->alternatives[0];
    EXPECT_EQ(after.placement, Placement::after_stack_check);
    EXPECT_EQ(after.instruction, "push rbp");
    EXPECT_TRUE(after.emulated);
    EXPECT_FALSE(after.drop_taken_branch);
    std::vector<uint8_t> code = unhex(s.code);
    EXPECT_EQ(code.at(after.offset), 0x55);
    EXPECT_EQ(arguments_written_before(s.arch, code, s.address, after.offset), std::vector<std::string>{});
  }
}

TEST(PlacementRealCode, ShapesMoveBetweenVersions) {
  EXPECT_EQ(place(sample(CpuArch::x86_64, "1.19", "runtime.mallocgc"))->offset, 4u);  // CMP; JBE
  EXPECT_EQ(place(sample(CpuArch::x86_64, "1.23", "runtime.mallocgc"))->offset, 9u);  // LEA d8; CMP; JBE
  EXPECT_EQ(place(sample(CpuArch::x86_64, "1.19", "runtime.gcStart"))->offset, 4u);
  EXPECT_EQ(place(sample(CpuArch::x86_64, "1.21", "runtime.gcStart"))->offset, 9u);
  EXPECT_EQ(place(sample(CpuArch::x86_64, "1.26", "runtime.gcStart"))->offset, 12u);  // LEA d32
  EXPECT_EQ(place(sample(CpuArch::x86_64, "1.23", "runtime.mapassign_faststr"))->offset, 4u);
  EXPECT_EQ(place(sample(CpuArch::x86_64, "1.24", "runtime.mapassign_faststr"))->offset, 9u);
  EXPECT_EQ(place(sample(CpuArch::arm64, "1.19", "runtime.mapassign_faststr"))->offset, 8u);
  EXPECT_EQ(place(sample(CpuArch::arm64, "1.24", "runtime.mapassign_faststr"))->offset, 12u);  // SUB X17
}

// MOV R12,RSP; SUB R12,$n; JB; CMP R12,[R14+16]; JBE. The JB only guards
// against wrap-around, and filtering CF|ZF there would be wrong: the site is
// the JBE, and the JB is acceptable because it leads to the same morestack call.
TEST(PlacementRealCode, HugeFrameUsesTheSecondBranch) {
  auto site = place(sample(CpuArch::x86_64, "1.27", "main.hugeFrame"));
  ASSERT_TRUE(site.has_value());
  EXPECT_EQ(site->offset, 16u);
  EXPECT_EQ(site->instruction, "jbe 0x49a166");

  auto arm = place(sample(CpuArch::arm64, "1.27", "main.hugeFrame"));  // SUBS; B.LO; CMP; B.LS
  ASSERT_TRUE(arm.has_value());
  EXPECT_EQ(arm->offset, 20u);
  EXPECT_TRUE(arm->drop_taken_branch);
}

TEST(PlacementRealCode, HugeFrameWhoseFirstBranchGoesElsewhere) {
  std::vector<uint8_t> code = unhex(sample(CpuArch::x86_64, "1.27", "main.hugeFrame").code);
  ASSERT_EQ(code[10], 0x72);  // JB rel8
  code[11] = 0x10;
  auto site = place_probe(CpuArch::x86_64, code, 0x49a0e0);
  ASSERT_TRUE(site.has_value());
  EXPECT_EQ(site->placement, Placement::entry);
  EXPECT_FALSE(site->drop_taken_branch);
  EXPECT_NE(site->note.find("+10 `jb 0x49a0fc` before it goes elsewhere"), std::string::npos) << site->note;
}

TEST(PlacementFallback, LeafWithoutStackCheck) {
  for (CpuArch arch : {CpuArch::x86_64, CpuArch::arm64}) {
    auto site = place(sample(arch, "1.27", "internal/runtime/maps.(*Map).putSlotSmallFast64"));
    ASSERT_TRUE(site.has_value());
    EXPECT_EQ(site->placement, Placement::entry);
    EXPECT_EQ(site->offset, 0u);
    EXPECT_FALSE(site->emulated);
    EXPECT_FALSE(site->drop_taken_branch);
    EXPECT_TRUE(site->note.starts_with("no stack check")) << site->note;
    EXPECT_TRUE(site->alternatives.empty());
  }
}

// ABI0 assembly loads g from TLS into R14 (or another register) before its
// stack check, if it has one; neither is a site with the arguments intact.
TEST(PlacementFallback, Abi0Prologues) {
  auto call1024 = place(sample(CpuArch::x86_64, "1.27", "runtime.call1024.abi0"));
  ASSERT_TRUE(call1024.has_value());
  EXPECT_EQ(call1024->placement, Placement::entry);
  EXPECT_EQ(call1024->note,
            "stack-check branch +21 `jbe 0x47d636` not used: +0 `mov r14, qword ptr fs:[0xfffffffffffffff8]` "
            "writes r14 before it; probing the entry, whose hits repeat when the function grows its stack");

  auto morestack = place(sample(CpuArch::x86_64, "1.19", "runtime.morestack.abi0"));
  ASSERT_TRUE(morestack.has_value());
  EXPECT_EQ(morestack->placement, Placement::entry);
  EXPECT_EQ(morestack->note,
            "no stack check before +27 `call 0x45f8c0` (a leaf, NOSPLIT or assembly function); probing the entry");
}

TEST(PlacementFallback, ArgumentWrittenBeforeTheBranch) {
  // mov ecx, 1; cmp rsp, [r14+0x10]; jbe +0x20; push rbp
  const std::vector<uint8_t> amd64 = unhex("b901000000" "493b6610" "7620" "55");
  auto site = place_probe(CpuArch::x86_64, amd64, 0x401000);
  ASSERT_TRUE(site.has_value());
  EXPECT_EQ(site->placement, Placement::entry);
  EXPECT_EQ(site->offset, 0u);
  EXPECT_FALSE(site->drop_taken_branch);
  EXPECT_TRUE(site->alternatives.empty());
  EXPECT_NE(site->note.find("+0 `mov ecx, 1` writes ecx"), std::string::npos) << site->note;

  // movz x1, #1; ldr x16, [x28, #16]; cmp sp, x16; b.ls +0x40
  const std::vector<uint8_t> arm64 = unhex("210080d2" "900b40f9" "ff6330eb" "09020054");
  site = place_probe(CpuArch::arm64, arm64, 0x10000);
  ASSERT_TRUE(site.has_value());
  EXPECT_EQ(site->placement, Placement::entry);
  EXPECT_NE(site->note.find("writes x1"), std::string::npos) << site->note;
}

TEST(PlacementFallback, BranchThatIsNotTheStackCheck) {
  // cmp rsp, [rsi+0x10]; jbe: not g's stack bound.
  auto other_base = place_probe(CpuArch::x86_64, unhex("483b66107620"), 0x401000);
  ASSERT_TRUE(other_base.has_value());
  EXPECT_EQ(other_base->placement, Placement::entry);
  // cmp rsp, [r14+0x10]; ja: the BPF filter assumes JBE's condition.
  auto other_condition = place_probe(CpuArch::x86_64, unhex("493b66107720"), 0x401000);
  ASSERT_TRUE(other_condition.has_value());
  EXPECT_EQ(other_condition->placement, Placement::entry);
  // cmp sp, x16; b.ls without the load of the bound from g.
  auto unloaded = place_probe(CpuArch::arm64, unhex("ff6330eb09020054"), 0x10000);
  ASSERT_TRUE(unloaded.has_value());
  EXPECT_EQ(unloaded->placement, Placement::entry);
  EXPECT_FALSE(unloaded->emulated);  // CMP is stepped
  // ldr x16, [x28, #16]; movz x16, #0; cmp sp, x16; b.ls: the bound was overwritten.
  auto overwritten = place_probe(CpuArch::arm64, unhex("900b40f9100080d2ff6330eb09020054"), 0x10000);
  ASSERT_TRUE(overwritten.has_value());
  EXPECT_EQ(overwritten->placement, Placement::entry);
}

TEST(PlacementFallback, EntryThatTheKernelEmulates) {
  // jmp +0x10: a first instruction the kernel emulates keeps the entry cheap.
  auto site = place_probe(CpuArch::x86_64, unhex("eb10"), 0x401000);
  ASSERT_TRUE(site.has_value());
  EXPECT_EQ(site->placement, Placement::entry);
  EXPECT_TRUE(site->emulated);
  EXPECT_EQ(site->note,
            "no stack check before +0 `jmp 0x401012` (a leaf, NOSPLIT or assembly function); probing the entry");
}

TEST(PlacementInput, TruncatedCode) {
  std::vector<uint8_t> refill = unhex(sample(CpuArch::x86_64, "1.21", "runtime.(*mcache).refill").code);

  // The branch is cut in half: the stack check cannot be seen.
  auto half = place_probe(CpuArch::x86_64, std::span(refill).first(7), 0x412f20);
  ASSERT_TRUE(half.has_value());
  EXPECT_EQ(half->placement, Placement::entry);
  EXPECT_EQ(half->note, "no stack check before undecodable bytes at +4; probing the entry");

  // The code ends right after the compare.
  auto cmp_only = place_probe(CpuArch::x86_64, std::span(refill).first(4), 0x412f20);
  ASSERT_TRUE(cmp_only.has_value());
  EXPECT_NE(cmp_only->note.find("before the code ends at +4"), std::string::npos) << cmp_only->note;

  // The branch is the last instruction: still found, without an alternative.
  auto branch_last = place_probe(CpuArch::x86_64, std::span(refill).first(10), 0x412f20);
  ASSERT_TRUE(branch_last.has_value());
  EXPECT_EQ(branch_last->placement, Placement::stack_check_branch);
  EXPECT_TRUE(branch_last->alternatives.empty());

  // Not even the first instruction is whole.
  EXPECT_FALSE(place_probe(CpuArch::x86_64, std::span(refill).first(3), 0x412f20).has_value());
  std::vector<uint8_t> arm = unhex(sample(CpuArch::arm64, "1.27", "runtime.(*mcache).refill").code);
  EXPECT_FALSE(place_probe(CpuArch::arm64, std::span(arm).first(3), 0x2e530).has_value());
  auto arm_half = place_probe(CpuArch::arm64, std::span(arm).first(10), 0x2e530);
  ASSERT_TRUE(arm_half.has_value());
  EXPECT_EQ(arm_half->placement, Placement::entry);
}

TEST(PlacementInput, EmptyAndGarbage) {
  auto empty = place_probe(CpuArch::x86_64, {}, 0x401000);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().message, "no code to decode at 0x401000");
  EXPECT_FALSE(place_probe(CpuArch::arm64, {}, 0x10000).has_value());

  // 06 (PUSH ES) does not exist in 64-bit mode; all-zero words are not arm64 instructions.
  auto invalid = place_probe(CpuArch::x86_64, unhex("0607cccc"), 0x401000);
  ASSERT_FALSE(invalid.has_value());
  EXPECT_EQ(invalid.error().message, "cannot decode the first instruction at 0x401000");
  EXPECT_FALSE(place_probe(CpuArch::arm64, unhex("0000000000000000"), 0x10000).has_value());

  // Bytes that decode but are no Go prologue.
  auto noise = place_probe(CpuArch::x86_64, unhex("4831c0ffc04801d8480fafc3"), 0x401000);
  ASSERT_TRUE(noise.has_value());
  EXPECT_EQ(noise->placement, Placement::entry);
  EXPECT_FALSE(noise->note.empty());
}

TEST(PlacementInput, PlacementNames) {
  EXPECT_STREQ(to_string(Placement::stack_check_branch), "stack_check_branch");
  EXPECT_STREQ(to_string(Placement::after_stack_check), "after_stack_check");
  EXPECT_STREQ(to_string(Placement::entry), "entry");
}

// Functions hotalloc hooks or may hook (go-runtime.md section 0); those a
// binary lacks are skipped.
constexpr std::string_view kHookedFunctions[] = {
    "runtime.mallocgc",
    "runtime.newobject",
    "runtime.(*mcache).refill",
    "runtime.(*mcache).releaseAll",
    "runtime.(*mcache).allocLarge",
    "runtime.(*mcentral).cacheSpan",
    "runtime.(*mheap).alloc",
    "runtime.profilealloc",
    "runtime.mProf_Malloc",
    "runtime.mProf_Free",
    "runtime.gcStart",
    "runtime.gcMarkTermination",
    "runtime.makemap",
    "runtime.makemap_small",
    "runtime.mapassign",
    "runtime.mapassign_faststr",
    "runtime.mapassign_fast64",
    "runtime.hashGrow",
    "internal/runtime/maps.(*Map).growToSmall",
    "internal/runtime/maps.(*Map).growToTable",
    "internal/runtime/maps.(*table).rehash",
    "internal/runtime/maps.(*table).grow",
    "internal/runtime/maps.(*table).split",
    "main.hugeFrame",
};

// The whole path the daemon takes: open a real binary, find each hooked
// function through .symtab or (stripped) .gopclntab, place its probe.
TEST(PlacementBinary, HookedFunctionsOfRealBinaries) {
  for (const std::string& version : testing::go_versions()) {
    for (const char* mode : {"default", "stripped"}) {
      SCOPED_TRACE(fmt::format("go{} {}", version, mode));
      auto path = testing::go_target("placement_shapes", version, mode);
      HOTALLOC_REQUIRE(path.has_value(), path.error().message);
      auto binary = target::GoBinary::open(*path);
      ASSERT_TRUE(binary.has_value()) << binary.error().message;
      CpuArch arch = (*binary)->elf().arch() == target::Arch::arm64 ? CpuArch::arm64 : CpuArch::x86_64;
      int placed = 0;
      for (std::string_view name : kHookedFunctions) {
        auto fn = (*binary)->function(name);
        if (!fn) continue;
        SCOPED_TRACE(name);
        auto site = place_probe(arch, fn->code, fn->address);
        ASSERT_TRUE(site.has_value()) << site.error().message;
        EXPECT_EQ(site->placement, Placement::stack_check_branch) << site->note;
        EXPECT_TRUE(site->emulated);
        EXPECT_TRUE(site->drop_taken_branch);
        EXPECT_LE(site->offset, 20u);
        EXPECT_EQ(arguments_written_before(arch, fn->code, fn->address, site->offset), std::vector<std::string>{});
        placed++;
      }
      EXPECT_GE(placed, 10);

      auto leaf = (*binary)->function("internal/runtime/maps.(*Map).putSlotSmallFast64");
      if (leaf) {
        auto site = place_probe(arch, leaf->code, leaf->address);
        ASSERT_TRUE(site.has_value());
        EXPECT_EQ(site->placement, version == "1.27" ? Placement::entry : Placement::stack_check_branch);
      }
    }
  }
}

}  // namespace
}  // namespace hotalloc::probes
