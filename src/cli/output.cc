#include "cli/output.h"

#include <algorithm>
#include <iostream>

namespace keyward {

using nlohmann::json;

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    std::cout << out << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  if (rows.empty()) std::cout << "(none)\n";
}

void PrintFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [name, value] : fields) width = std::max(width, name.size());
  for (const auto& [name, value] : fields) {
    std::cout << name << std::string(width - name.size() + 2, ' ') << value << "\n";
  }
}

void PrintJson(const json& j) {
  std::cout << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

void PrintAnswer(const std::optional<json>& answer, bool as_json,
                 const std::function<void(const json&)>& render) {
  if (!answer) return;
  if (as_json) return PrintJson(*answer);
  render(*answer);
}

std::string Str(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  return it->dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string JoinList(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_array() || it->empty()) return "-";
  std::string out;
  for (const auto& e : *it) {
    out += (out.empty() ? "" : ",") + (e.is_string() ? e.get<std::string>() : e.dump());
  }
  return out;
}

std::string RateLimitText(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_object()) return "-";
  return Str(*it, "limit") + " per " + Str(*it, "period_seconds") + " s";
}

}  // namespace keyward
