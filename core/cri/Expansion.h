// Expansion.h - Kubernetes $(VAR) references in command, args, env values and subPathExpr.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace podwarden::cri {

// Returns the value of a variable, or nullopt when it is not defined.
using VarLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Expands `input` the way Kubernetes does: "$(NAME)" becomes the variable's value, "$$" becomes "$",
// a reference to an undefined variable is left as written, and a "$" that starts neither form ("$x",
// an unclosed "$(", a trailing "$") is kept verbatim. `missing`, when given, collects undefined names.
std::string expandReferences(std::string_view input, const VarLookup& lookup,
                             std::function<void(const std::string&)> missing = nullptr);

}  // namespace podwarden::cri
