// The advice engine: what to change in a target's code, from what the probes
// measured. A pure function of one target's maps and slices; each piece of
// advice names its site, carries the figures it rests on (evidence) and what
// following it would save, and comes out ranked by the bytes saved.
//
// Kinds and when they are given (the thresholds are AdviceThresholds):
// - presize_map: the maps made at one site grew at least min_map_growths
//   times in all and the largest reached min_map_len entries: make(map[K]V, n)
//   with n that length. Saves those growths, the bytes of the arrays growth
//   allocated and the buckets it evacuated (the maps feature's figures).
// - presize_slice: append grew the slices at one site at least
//   min_slice_growths_per_slice times per slice built from empty (every
//   growth if none was): make([]T, 0, n) with n the largest capacity seen.
//   Saves the growths, the bytes copied, and the bytes allocated beyond one
//   array of n elements per slice.
// - hot_keys: a map with at least min_hot_inserts inserts (at at least
//   min_hot_rate per second when a rate is known) whose top keys (at most
//   max_hot_keys, each holding at least min_key_share of the inserts)
//   together take at least min_hot_share of them: the keys and their shares.
// - reuse_map: at least min_reuse_maps maps made at one site grew from empty
//   (each had growths): one map reused with clear() between uses would
//   have grown once. Saves the growths and bytes of all but the largest.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/maps.h"
#include "model/slices.h"

namespace hotalloc::model {

struct AdviceThresholds {
  uint64_t min_map_growths = 4;
  uint64_t min_map_len = 64;
  double min_slice_growths_per_slice = 4;
  uint64_t min_slice_cap = 64;  // smaller slices are not worth the advice
  uint64_t min_hot_inserts = 1000;
  double min_hot_rate = 100;
  size_t max_hot_keys = 5;
  double min_key_share = 0.05;
  double min_hot_share = 0.3;
  size_t min_reuse_maps = 8;
};

struct KeyShare {
  std::string key;
  uint64_t inserts = 0;
  double share = 0;  // of the map's counted inserts
};

struct Advice {
  std::string kind;  // presize_map, presize_slice, hot_keys, reuse_map
  std::string site;  // file.go:LINE
  std::string function;
  std::string suggestion;
  // Named figures, in a stable order: what was measured, and what following the advice saves.
  std::vector<std::pair<std::string, uint64_t>> evidence;
  std::vector<std::pair<std::string, uint64_t>> saving;
  std::vector<KeyShare> keys;  // hot_keys
  uint64_t rank_bytes = 0;     // what ranking uses: bytes saved (hot keys: inserts on them x 8)
};

// Ranked advice for one target; either input may be null.
std::vector<Advice> advise(const TargetMaps* maps, const TargetSlices* slices, const AdviceThresholds& t = {});

}  // namespace hotalloc::model
