// Patch.h - JSON merge patch (RFC 7386) and the subset of Kubernetes strategic merge patch that pods and
// nodes need: maps merge recursively, null deletes, lists with a patch merge key merge by that key, other
// lists are replaced; `$patch: delete|replace`, `$setElementOrder/...`, `$retainKeys` and
// `$deleteFromPrimitiveList/...` directives are understood or stripped.
#pragma once

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include <string>

namespace podwarden::fakeapi {

// RFC 7386. Returns a new value; `target` is not modified.
Poco::Dynamic::Var mergePatch(const Poco::Dynamic::Var& target, const Poco::Dynamic::Var& patch);

// Strategic merge patch of a `kind` ("Pod", "Node", "Event") object. Returns a new object; `target` is not
// modified. Throws ApiError 400 on a malformed directive.
Poco::JSON::Object::Ptr strategicMergePatch(const Poco::JSON::Object::Ptr& target, const Poco::JSON::Object::Ptr& patch,
                                            const std::string& kind);

// The patch merge key of the list at `path` (dotted, list elements as "[]", e.g. "status.conditions",
// "spec.containers[].env") for `kind`, or empty when the list is replaced as a whole.
std::string patchMergeKey(const std::string& kind, const std::string& path);

}  // namespace podwarden::fakeapi
