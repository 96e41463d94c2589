// CriJson.h - CRI JSON (what the podwarden host sends and expects) <-> the generated runtime.v1 messages.
//
// The host speaks the protobuf JSON mapping of CRI: lowerCamel field names, enums by name, 64-bit integers
// as strings, bytes as base64. protobuf's own JSON codec implements exactly that mapping, so these are
// thin wrappers that add our error reporting.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

namespace podwarden::containerd {

// Parses `json` into `message` (cleared first). Fields outside our runtime.v1 subset are skipped, as a
// CRI server of an older API version skips them; then `dropped` (if given) receives protobuf's description
// of the first one, else it is cleared. Bad JSON or a wrong type is INVALID_ARGUMENT naming the message
// type and protobuf's description of the problem.
void fromJson(std::string_view json, google::protobuf::Message& message, std::string* dropped = nullptr);

// The JSON of `message` with every scalar field present, also when it holds its default (state
// CONTAINER_CREATED, exitCode 0, startedAt "0"), as the host reads them without defaulting.
std::string toJson(const google::protobuf::Message& message);

}  // namespace podwarden::containerd
