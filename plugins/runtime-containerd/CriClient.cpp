#include "CriClient.h"

#include <algorithm>

namespace podwarden::containerd {
namespace {

// A channel whose socket is missing backs off before it tries again (1 s, 1.6 s, 2.6 s, ... up to 120 s by
// default); keep the steps short so a runtime that starts after us is used within a second. The minimum
// (GRPC_ARG_MIN_RECONNECT_BACKOFF_MS) stays at its default: gRPC also uses it as the connect timeout,
// which includes the HTTP/2 handshake, and a busy runtime can take longer than the short backoff for that.
constexpr int kReconnectBackoffMs = 100;
constexpr int kMaxReconnectBackoffMs = 1000;
// How long a call that found the runtime unreachable waits for a fresh connection before it fails.
constexpr int kReconnectWaitMs = 1000;
// ExecSync may carry 16 MiB per stream (the kubelet's cap); gRPC's default receive limit is 4 MiB.
constexpr int kMaxReceiveBytes = 40 * 1024 * 1024;

}  // namespace

std::string parseEndpoint(std::string_view endpoint, const std::string& what) {
  std::string path(endpoint);
  if (path.rfind("unix://", 0) == 0) path.erase(0, 7);
  if (path.empty() || path[0] != '/') {
    throw pw::Error(PW_INVALID_ARGUMENT, what + ": \"" + std::string(endpoint) +
                                             "\" is not a unix socket (expected unix:///path or /path)");
  }
  return "unix://" + path;
}

pw_status toPwStatus(grpc::StatusCode code) {
  const int c = static_cast<int>(code);
  return c >= PW_OK && c <= PW_UNAUTHENTICATED ? static_cast<pw_status>(c) : PW_UNKNOWN;
}

CriClient::CriClient(std::string endpoint) : endpoint_(std::move(endpoint)) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kReconnectBackoffMs);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  args.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  channel_ = grpc::CreateCustomChannel(endpoint_, grpc::InsecureChannelCredentials(), args);
  runtime_ = runtime::v1::RuntimeService::NewStub(channel_);
  images_ = runtime::v1::ImageService::NewStub(channel_);
}

bool CriClient::reconnect(std::chrono::system_clock::time_point deadline) {
  const auto until =
      std::min(deadline, std::chrono::system_clock::now() + std::chrono::milliseconds(kReconnectWaitMs));
  for (;;) {
    grpc_connectivity_state state = channel_->GetState(true);
    if (state == GRPC_CHANNEL_READY) return true;
    if (!channel_->WaitForStateChange(state, until)) return false;
  }
}

void CriClient::fail(const grpc::Status& status, const std::string& what) const {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    throw pw::Error(PW_UNAVAILABLE, what + ": cannot connect to the CRI runtime at " + endpoint_ + ": " +
                                        status.error_message());
  }
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    throw pw::Error(PW_UNIMPLEMENTED, what + ": the runtime at " + endpoint_ +
                                          " does not serve CRI runtime.v1 (" + status.error_message() + ")");
  }
  throw pw::Error(toPwStatus(status.error_code()), what + " on " + endpoint_ + ": " + status.error_message());
}

}  // namespace podwarden::containerd
