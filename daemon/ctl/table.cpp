#include "ctl/table.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

namespace hotalloc::ctl {

bool color_wanted() {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  const char* term = std::getenv("TERM");
  if (term && std::string_view(term) == "dumb") return false;
  return isatty(STDOUT_FILENO) == 1;
}

std::string paint(std::string_view text, Color color, bool enabled) {
  const char* code = nullptr;
  switch (color) {
    case Color::none: break;
    case Color::bold: code = "1"; break;
    case Color::green: code = "32"; break;
    case Color::yellow: code = "33"; break;
    case Color::red: code = "31"; break;
  }
  if (!enabled || !code) return std::string(text);
  return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
}

void Table::add(std::vector<Cell> row) {
  row.resize(columns_.size(), Cell(""));
  rows_.push_back(std::move(row));
}

void Table::print(std::ostream& os, bool color) const {
  std::vector<size_t> width(columns_.size());
  for (size_t i = 0; i < columns_.size(); i++) {
    width[i] = columns_[i].header.size();
    for (const auto& row : rows_) width[i] = std::max(width[i], row[i].text.size());
  }
  auto line = [&](const std::vector<Cell>& cells) {
    std::string out = indent_;
    for (size_t i = 0; i < cells.size(); i++) {
      const std::string& text = cells[i].text;
      std::string pad(width[i] - text.size(), ' ');
      bool last = i + 1 == cells.size();
      if (columns_[i].right) out += pad;
      out += paint(text, cells[i].color, color);
      if (!columns_[i].right && !last) out += pad;
      if (!last) out += "  ";
    }
    // Empty cells at the end of a row would leave trailing blanks.
    out.erase(out.find_last_not_of(' ') + 1);
    os << out << '\n';
  };
  std::vector<Cell> header;
  for (const Column& c : columns_) header.emplace_back(c.header, Color::bold);
  line(header);
  for (const auto& row : rows_) line(row);
}

std::string human_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    unit++;
  }
  return fmt::format("{:.1f} {}", v, kUnits[unit]);
}

std::string human_duration(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return fmt::format("{}s", seconds);
  if (seconds < 3600) return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
  if (seconds < 86400) return fmt::format("{}h{:02}m", seconds / 3600, seconds % 3600 / 60);
  return fmt::format("{}d{:02}h", seconds / 86400, seconds % 86400 / 3600);
}

}  // namespace hotalloc::ctl
