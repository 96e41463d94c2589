// CriClient.h - one gRPC channel to a CRI runtime.v1 server on a unix socket, and typed calls on it.
//
// Thread-safety: the channel and stubs are safe for concurrent use; every call has its own ClientContext.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <podwarden/plugin.hpp>
#include <string>
#include <string_view>

#include "proto/runtime_v1.grpc.pb.h"

namespace podwarden::containerd {

// "unix:///abs/path" or "/abs/path" -> "unix:///abs/path"; anything else is INVALID_ARGUMENT naming `what`.
std::string parseEndpoint(std::string_view endpoint, const std::string& what);

// gRPC status codes and pw_status share their numbering (abi.h follows google.rpc.Code).
pw_status toPwStatus(grpc::StatusCode code);

class CriClient {
 public:
  explicit CriClient(std::string endpoint);

  const std::string& endpoint() const { return endpoint_; }
  runtime::v1::RuntimeService::Stub& runtime() { return *runtime_; }
  runtime::v1::ImageService::Stub& images() { return *images_; }

  // Runs one unary RPC with a deadline `timeoutMs` from now. Fails fast (no wait-for-ready): a server
  // that is not listening is UNAVAILABLE within about a second, naming the endpoint.
  template <class Stub, class Req, class Resp>
  grpc::Status call(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& request, Resp& response, long timeoutMs) {
    const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(timeoutMs);
    grpc::Status status;
    {
      grpc::ClientContext context;
      context.set_deadline(deadline);
      status = (stub.*method)(&context, request, &response);
    }
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE || !reconnect(deadline)) return status;
    grpc::ClientContext context;
    context.set_deadline(deadline);
    return (stub.*method)(&context, request, &response);
  }

  // Throws the pw::Error for a failed status: "<what> on <endpoint>: <server message>".
  [[noreturn]] void fail(const grpc::Status& status, const std::string& what) const;

  // NOT_FOUND counts as done (CRI's stop and remove calls are idempotent; the kubelet ignores it too).
  static constexpr bool kNotFoundIsDone = true;

  // call(), then fail() with `what` on an error: the response of a call that succeeded.
  template <class Stub, class Req, class Resp>
  Resp callOrFail(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  const Req& request, long timeoutMs, const std::string& what, bool notFoundIsDone = false) {
    Resp response;
    grpc::Status status = call(stub, method, request, response, timeoutMs);
    if (!status.ok() && !(notFoundIsDone && status.error_code() == grpc::StatusCode::NOT_FOUND)) {
      fail(status, what);
    }
    return response;
  }

 private:
  // After a failed connection the channel keeps failing fast-fail calls with the old error until gRPC
  // happens to retry (seconds later, even with a short backoff). This asks it to connect now and waits
  // for that, up to a second and at most until `deadline`; true when the channel is ready.
  bool reconnect(std::chrono::system_clock::time_point deadline);

  std::string endpoint_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<runtime::v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<runtime::v1::ImageService::Stub> images_;
};

}  // namespace podwarden::containerd
