// PodStatus.h - internal: what a real kube-apiserver (1.28) does with a pod's status on a write, so that a
// status the fake accepts is one a real server accepts: the decoding of its timestamps (metav1.Time), the
// v1 <-> internal conversion of podIP/podIPs, and the status rules of ValidatePodStatusUpdate
// (pkg/apis/core/validation/validation.go). The rules and where they come from: docs/fake-apiserver.md,
// "Status validation".
#pragma once

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include <optional>
#include <string>
#include <vector>

#include "ApiError.h"

namespace podwarden::fakeapi {

// Go's time.Parse(time.RFC3339, value) error text (a *time.ParseError), or nullopt when it parses.
std::optional<std::string> rfc3339ParseError(const std::string& value);

// The error decoding a v1 Pod gives for its first metav1.Time field that does not decode (metadata
// creation/deletion timestamps, status.startTime, conditions' lastProbeTime/lastTransitionTime, container
// states' startedAt/finishedAt), as metav1.Time.UnmarshalJSON words it; nullopt when all decode. `null` is
// a zero time and decodes. `decoderContext`: a non-string value's error carries the struct and JSON path, as
// when the whole object is decoded from JSON (POST, PUT, merge patch); a strategic merge patch converts from
// a map, field by field, and the error has none.
std::optional<std::string> podTimeDecodeError(const Poco::JSON::Object::Ptr& pod, bool decoderContext = true);

// Convert_v1_PodStatus_To_core_PodStatus followed by Convert_core_PodStatus_To_v1_PodStatus
// (pkg/apis/core/v1/conversion.go): the internal status has only podIPs; a podIP that differs from
// podIPs[0] wins (podIPs becomes [podIP], for old kubelets), a podIP alone becomes podIPs[0], and the
// stored podIP is podIPs[0]. Changes `status` in place.
void convertPodIPs(Poco::JSON::Object::Ptr status);

// The status rules of ValidatePodStatusUpdate for a pods/status write of `newPod` over `oldPod` (both after
// conversion); appends the causes in the real function's order. The metadata rules (mirror annotation) are
// checked by the caller.
void validatePodStatusUpdate(const Poco::JSON::Object::Ptr& newPod, const Poco::JSON::Object::Ptr& oldPod,
                             std::vector<StatusCause>& causes);

// Go's fmt "%+v" of a JSON value decoded into interface{} (map[key:value ...], [a b], <nil>): how a strategic
// merge patch's decode error prints the patch.
std::string goFormat(const Poco::Dynamic::Var& value);

}  // namespace podwarden::fakeapi
