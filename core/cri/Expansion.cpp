#include "cri/Expansion.h"

namespace podwarden::cri {

std::string expandReferences(std::string_view input, const VarLookup& lookup,
                             std::function<void(const std::string&)> missing) {
  std::string out;
  out.reserve(input.size());
  size_t i = 0;
  while (i < input.size()) {
    char ch = input[i];
    if (ch != '$' || i + 1 == input.size()) {
      out.push_back(ch);
      ++i;
      continue;
    }
    char next = input[i + 1];
    if (next == '$') {
      out.push_back('$');
      i += 2;
    } else if (next == '(') {
      size_t close = input.find(')', i + 2);
      if (close == std::string_view::npos) {
        // An unclosed reference is copied as "$(" and scanning resumes after it.
        out.append("$(");
        i += 2;
        continue;
      }
      std::string name(input.substr(i + 2, close - i - 2));
      std::optional<std::string> value = lookup(name);
      if (value) {
        out.append(*value);
      } else {
        if (missing) missing(name);
        out.append("$(").append(name).append(")");
      }
      i = close + 1;
    } else {
      out.push_back('$');
      out.push_back(next);
      i += 2;
    }
  }
  return out;
}

}  // namespace podwarden::cri
