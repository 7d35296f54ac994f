// Human output for hotallocctl: aligned tables, byte and duration units, and
// color only where a person is reading.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace hotalloc::ctl {

enum class Color { none, bold, green, yellow, red };

// Color on a terminal, unless NO_COLOR is set (https://no-color.org) or TERM is dumb.
bool color_wanted();
std::string paint(std::string_view text, Color color, bool enabled);

struct Cell {
  std::string text;
  Color color = Color::none;
  Cell(std::string t, Color c = Color::none) : text(std::move(t)), color(c) {}
  Cell(const char* t) : text(t) {}
};

class Table {
 public:
  struct Column {
    std::string header;
    bool right = false;  // numbers align right
  };
  explicit Table(std::vector<Column> columns, std::string indent = "")
      : columns_(std::move(columns)), indent_(std::move(indent)) {}
  void add(std::vector<Cell> row);
  // Widths are measured before painting, so escape codes never skew columns.
  void print(std::ostream& os, bool color) const;

 private:
  std::vector<Column> columns_;
  std::string indent_;
  std::vector<std::vector<Cell>> rows_;
};

std::string human_bytes(uint64_t bytes);        // "512 B", "9.6 KiB", "1.2 GiB"
std::string human_duration(int64_t seconds);    // "42s", "5m07s", "2h03m", "3d04h"

}  // namespace hotalloc::ctl
