// ApiError.h - errors answered as Kubernetes `Status` objects (kind Status, apiVersion v1), with the
// reasons and message shapes of k8s.io/apimachinery/pkg/api/errors.
#pragma once

#include <Poco/JSON/Object.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace podwarden::fakeapi {

// One entry of details.causes (a field validation error).
struct StatusCause {
  std::string reason;   // FieldValueRequired, FieldValueInvalid, FieldValueForbidden, ...
  std::string message;  // "Required value: ...", "Invalid value: \"x\": ..."
  std::string field;    // metadata.name, spec.containers[0].image, ...
};

class ApiError : public std::runtime_error {
 public:
  ApiError(int code, std::string reason, const std::string& message);

  int code() const { return code_; }
  const std::string& reason() const { return reason_; }

  // details.{name, group, kind, causes, retryAfterSeconds}; all optional.
  ApiError& withDetails(const std::string& name, const std::string& kind, const std::string& group = "");
  ApiError& withCauses(std::vector<StatusCause> causes);
  ApiError& withRetryAfter(int seconds);
  int retryAfterSeconds() const { return retryAfter_; }

  // The Status object the server answers with.
  Poco::JSON::Object::Ptr toStatus() const;

 private:
  int code_;
  std::string reason_;
  std::string name_, kind_, group_;
  bool hasDetails_ = false;
  std::vector<StatusCause> causes_;
  int retryAfter_ = 0;
};

// Constructors for the errors the fake answers, named like apimachinery's errors.NewXxx. `resource` is the
// plural resource ("pods"), `kind` the kind ("Pod").
ApiError notFound(const std::string& resource, const std::string& name);
ApiError alreadyExists(const std::string& resource, const std::string& name);
// 409: `Operation cannot be fulfilled on pods "x": <detail>`.
ApiError conflict(const std::string& resource, const std::string& name, const std::string& detail);
// 422: `Pod "x" is invalid: [field: message, ...]`.
ApiError invalid(const std::string& kind, const std::string& name, std::vector<StatusCause> causes);
// 403: `pods "x" is forbidden: <detail>` (or `pods is forbidden: ...` without a name).
ApiError forbidden(const std::string& resource, const std::string& name, const std::string& detail);
ApiError unauthorized();
ApiError badRequest(const std::string& message);
ApiError methodNotAllowed();
ApiError unsupportedMediaType(const std::string& contentType);
ApiError pathNotFound();
// 410 Expired: `too old resource version: <requested> (<oldest available>)`.
ApiError resourceExpired(const std::string& message);
// For failNext(): the Status a real server gives for `code` (429, 500, 503, 401, 403, 409, ...).
ApiError injectedFault(int code, const std::string& resource, const std::string& name);

// Field error helpers (field.Required, field.Invalid, ...).
StatusCause fieldRequired(const std::string& field, const std::string& detail = "");
StatusCause fieldInvalid(const std::string& field, const std::string& value, const std::string& detail);
StatusCause fieldForbidden(const std::string& field, const std::string& detail);
StatusCause fieldDuplicate(const std::string& field, const std::string& value);

}  // namespace podwarden::fakeapi
