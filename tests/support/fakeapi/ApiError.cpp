#include "ApiError.h"

#include <Poco/JSON/Array.h>

namespace podwarden::fakeapi {

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string resourceRef(const std::string& resource, const std::string& name) {
  return name.empty() ? resource : resource + " " + quoted(name);
}

}  // namespace

ApiError::ApiError(int code, std::string reason, const std::string& message)
    : std::runtime_error(message), code_(code), reason_(std::move(reason)) {}

ApiError& ApiError::withDetails(const std::string& name, const std::string& kind, const std::string& group) {
  name_ = name;
  kind_ = kind;
  group_ = group;
  hasDetails_ = true;
  return *this;
}

ApiError& ApiError::withCauses(std::vector<StatusCause> causes) {
  causes_ = std::move(causes);
  hasDetails_ = true;
  return *this;
}

ApiError& ApiError::withRetryAfter(int seconds) {
  retryAfter_ = seconds;
  hasDetails_ = true;
  return *this;
}

Poco::JSON::Object::Ptr ApiError::toStatus() const {
  Poco::JSON::Object::Ptr status = new Poco::JSON::Object();
  status->set("kind", "Status");
  status->set("apiVersion", "v1");
  status->set("metadata", Poco::JSON::Object::Ptr(new Poco::JSON::Object()));
  status->set("status", "Failure");
  status->set("message", std::string(what()));
  if (!reason_.empty()) status->set("reason", reason_);
  if (hasDetails_) {
    Poco::JSON::Object::Ptr details = new Poco::JSON::Object();
    if (!name_.empty()) details->set("name", name_);
    if (!group_.empty()) details->set("group", group_);
    if (!kind_.empty()) details->set("kind", kind_);
    if (!causes_.empty()) {
      Poco::JSON::Array::Ptr causes = new Poco::JSON::Array();
      for (const auto& c : causes_) {
        Poco::JSON::Object::Ptr cause = new Poco::JSON::Object();
        if (!c.reason.empty()) cause->set("reason", c.reason);
        if (!c.message.empty()) cause->set("message", c.message);
        if (!c.field.empty()) cause->set("field", c.field);
        causes->add(cause);
      }
      details->set("causes", causes);
    }
    if (retryAfter_ > 0) details->set("retryAfterSeconds", retryAfter_);
    status->set("details", details);
  }
  status->set("code", code_);
  return status;
}

ApiError notFound(const std::string& resource, const std::string& name) {
  return ApiError(404, "NotFound", resourceRef(resource, name) + " not found").withDetails(name, resource);
}

ApiError alreadyExists(const std::string& resource, const std::string& name) {
  return ApiError(409, "AlreadyExists", resourceRef(resource, name) + " already exists").withDetails(name, resource);
}

ApiError conflict(const std::string& resource, const std::string& name, const std::string& detail) {
  return ApiError(409, "Conflict", "Operation cannot be fulfilled on " + resourceRef(resource, name) + ": " + detail)
      .withDetails(name, resource);
}

ApiError invalid(const std::string& kind, const std::string& name, std::vector<StatusCause> causes) {
  std::string list;
  for (const auto& c : causes) {
    if (!list.empty()) list += ", ";
    list += c.field + ": " + c.message;
  }
  if (causes.size() > 1) list = "[" + list + "]";
  return ApiError(422, "Invalid", kind + " " + quoted(name) + " is invalid: " + list)
      .withDetails(name, kind)
      .withCauses(std::move(causes));
}

ApiError forbidden(const std::string& resource, const std::string& name, const std::string& detail) {
  return ApiError(403, "Forbidden", resourceRef(resource, name) + " is forbidden: " + detail)
      .withDetails(name, resource);
}

ApiError unauthorized() { return ApiError(401, "Unauthorized", "Unauthorized"); }

ApiError badRequest(const std::string& message) { return ApiError(400, "BadRequest", message); }

ApiError methodNotAllowed() {
  return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
}

ApiError unsupportedMediaType(const std::string& contentType) {
  return ApiError(415, "UnsupportedMediaType",
                  "the body of the request was in an unknown format - accepted media types include: "
                  "application/json-patch+json, application/merge-patch+json, "
                  "application/strategic-merge-patch+json (got " +
                      quoted(contentType) + ")");
}

ApiError pathNotFound() { return ApiError(404, "NotFound", "the server could not find the requested resource"); }

ApiError resourceExpired(const std::string& message) { return ApiError(410, "Expired", message); }

ApiError injectedFault(int code, const std::string& resource, const std::string& name) {
  switch (code) {
    case 400:
      return badRequest("injected fault: bad request");
    case 401:
      return unauthorized();
    case 403:
      return forbidden(resource, name, "injected fault: access denied");
    case 404:
      return notFound(resource, name);
    case 409:
      return conflict(resource, name,
                      "the object has been modified; please apply your changes to the latest version and try again");
    case 410:
      return resourceExpired("too old resource version: injected fault");
    case 429:
      return ApiError(429, "TooManyRequests", "Too many requests, please try again later.").withRetryAfter(1);
    case 500:
      return ApiError(500, "InternalError", "Internal error occurred: injected fault")
          .withCauses({StatusCause{"", "injected fault", ""}});
    case 503:
      return ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request");
    case 504:
      return ApiError(504, "Timeout", "the server was unable to return a response in the time allotted");
    default:
      return ApiError(code, "", "injected fault: HTTP " + std::to_string(code));
  }
}

StatusCause fieldRequired(const std::string& field, const std::string& detail) {
  return StatusCause{"FieldValueRequired", detail.empty() ? "Required value" : "Required value: " + detail, field};
}

StatusCause fieldInvalid(const std::string& field, const std::string& value, const std::string& detail) {
  return StatusCause{"FieldValueInvalid", "Invalid value: " + quoted(value) + ": " + detail, field};
}

StatusCause fieldForbidden(const std::string& field, const std::string& detail) {
  return StatusCause{"FieldValueForbidden", "Forbidden: " + detail, field};
}

StatusCause fieldDuplicate(const std::string& field, const std::string& value) {
  return StatusCause{"FieldValueDuplicate", "Duplicate value: " + quoted(value), field};
}

}  // namespace podwarden::fakeapi
