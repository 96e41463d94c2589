// fuzz_cri_json: runtime-containerd's CRI conversions (CriJson.h) in both directions. Input
// "<mode> <Message>\n<body>", <Message> any runtime.v1 message ("ListContainersResponse"):
//   wire <Message>  body = what the CRI server sent (protobuf wire format): ParseFromArray, then toJson,
//                   the host's view of the reply
//   json <Message>  body = what the host sent (CRI JSON): fromJson, as ContainerdRuntime::parse does
// Either way the JSON the plugin produces must read back (fromJson) into the same message: the host and
// the plugin speak one JSON mapping.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <podwarden/plugin.hpp>
#include <string>

#include "CriJson.h"
#include "FuzzInput.h"

namespace ctd = podwarden::containerd;
namespace gp = google::protobuf;

namespace {

std::unique_ptr<gp::Message> newMessage(std::string_view name) {
  const gp::Descriptor* d =
      gp::DescriptorPool::generated_pool()->FindMessageTypeByName("runtime.v1." + std::string(name));
  if (d == nullptr) return nullptr;
  const gp::Message* prototype = gp::MessageFactory::generated_factory()->GetPrototype(d);
  return prototype == nullptr ? nullptr : std::unique_ptr<gp::Message>(prototype->New());
}

[[noreturn]] void fail(const gp::Message& m, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", m.GetTypeName().c_str(), what.c_str());
  std::abort();
}

// toJson of a valid message, read back, gives the same message.
void roundTrip(const gp::Message& message) {
  std::string json;
  try {
    json = ctd::toJson(message);
  } catch (const pw::Error& e) {
    fail(message, std::string("toJson failed: ") + e.what());
  }
  std::unique_ptr<gp::Message> back(message.New());
  try {
    ctd::fromJson(json, *back);
  } catch (const pw::Error& e) {
    fail(message, "toJson's output does not read back: " + std::string(e.what()) + "\n" + json);
  }
  if (!gp::util::MessageDifferencer::Equals(message, *back))
    fail(message, "changed in the JSON round trip\n" + json);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gp::SetLogHandler([](gp::LogLevel, const char*, int, const std::string&) {});  // invalid UTF-8 notes
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const podwarden::fuzz::ModeInput in = podwarden::fuzz::splitMode(podwarden::fuzz::bytes(data, size));
  const size_t space = in.mode.find(' ');
  if (space == std::string_view::npos) return 0;
  std::unique_ptr<gp::Message> message = newMessage(in.mode.substr(space + 1));
  if (!message) return 0;
  const std::string_view direction = in.mode.substr(0, space);
  if (direction == "wire") {
    if (!message->ParseFromArray(in.body.data(), static_cast<int>(in.body.size()))) return 0;
    message->DiscardUnknownFields();  // not in the JSON mapping
  } else if (direction == "json") {
    std::string dropped;
    try {
      ctd::fromJson(in.body, *message, &dropped);
    } catch (const pw::Error&) {
      return 0;  // INVALID_ARGUMENT back to the host
    }
  } else {
    return 0;
  }
  roundTrip(*message);
  return 0;
}
