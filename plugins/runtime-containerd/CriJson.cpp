#include "CriJson.h"

#include <google/protobuf/util/json_util.h>

#include <podwarden/plugin.hpp>

namespace podwarden::containerd {

void fromJson(std::string_view json, google::protobuf::Message& message, std::string* dropped) {
  const std::string text = json.empty() ? std::string("{}") : std::string(json);
  google::protobuf::util::JsonParseOptions options;
  if (dropped != nullptr) {
    dropped->clear();
    message.Clear();
    auto strict = google::protobuf::util::JsonStringToMessage(text, &message, options);
    if (strict.ok()) return;
    *dropped = std::string(strict.message());
  }
  message.Clear();
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(text, &message, options);
  if (!status.ok()) {
    throw pw::Error(PW_INVALID_ARGUMENT,
                    message.GetTypeName() + ": invalid request JSON: " + std::string(status.message()));
  }
}

std::string toJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) {
    throw pw::Error(PW_INTERNAL,
                    message.GetTypeName() + ": cannot render as JSON: " + std::string(status.message()));
  }
  return out;
}

}  // namespace podwarden::containerd
