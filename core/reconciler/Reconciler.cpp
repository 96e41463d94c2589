#include "reconciler/Reconciler.h"

#include "util/Log.h"

#include <algorithm>

namespace podwarden {

namespace {
constexpr const char* kComponent = "reconciler";
using Clock = std::chrono::steady_clock;

}  // namespace

Reconciler::Reconciler(ReconcilerOptions options, runtime::Runtime& runtime, StatusHub& hub,
                       std::vector<std::string> sourceKinds)
    : opts_(std::move(options)),
      hub_(hub),
      sourceKinds_(std::move(sourceKinds)),
      backoff_(opts_.backoffInitial, opts_.backoffMax),
      probes_(std::make_unique<prober::ProbeManager>(runtime, opts_.sync.monotonicNs,
                                                     [this](std::string uid) { probeChanged(uid); })),
      syncer_(runtime, backoff_, opts_.sync, probes_.get()),
      origins_(sourceKinds_.size()),
      sourceSeen_(sourceKinds_.size(), false),
      ownPool_(opts_.executor ? nullptr
                              : std::make_unique<WorkerPool>(ReconcilerOptions::kDefaultWorkers,
                                                             std::chrono::seconds(30))),
      executor_(opts_.executor ? opts_.executor : ownPool_.get()) {}

// ownPool_ joins its threads before the members its tasks touch (declared before it) go.
Reconciler::~Reconciler() = default;

Clock::time_point Reconciler::now() const {
  return opts_.now ? opts_.now() : Clock::now();
}

std::map<std::string, std::string> Reconciler::trackedPods() const {
  std::map<std::string, std::string> out;
  for (const auto& kv : pods_) out[kv.first] = kv.second.pod.ns + "/" + kv.second.pod.name;
  return out;
}

void Reconciler::updateSource(size_t sourceIndex, std::vector<plugin::ManifestDoc> docs) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pendingSnapshots_[sourceIndex] = std::move(docs);
  }
  cv_.notify_all();
}

void Reconciler::runtimeEvent(const std::string& eventJson) {
  std::string id;
  try {
    id = json::getString(json::parseObject(eventJson), "containerId");
  } catch (const std::exception& e) {
    Log::debug(kComponent, std::string("ignoring a malformed runtime event: ") + e.what());
    return;
  }
  if (id.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pendingEvents_.insert(id);
  }
  cv_.notify_all();
}

void Reconciler::probeChanged(const std::string& uid) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pendingProbeChanges_.insert(uid);
  }
  cv_.notify_all();
}

void Reconciler::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
}

void Reconciler::begin() {
  // The first relist comes soon: it finds pods whose manifests went away while podwarden was down.
  nextRelist_ = now() + std::min<std::chrono::milliseconds>(opts_.relistPeriod, std::chrono::seconds(2));
  probes_->start();
}

void Reconciler::run() {
  begin();
  for (;;) {
    {
      // The wake time is on the reconciler's clock; waiting uses the steady clock for the same span.
      const Clock::time_point wake = Clock::now() + (nextWake() - now());
      std::unique_lock<std::mutex> lock(mutex_);
      if (stopping_) {
        // Only finishing tasks matter now (runOnce starts nothing new).
        cv_.wait_for(lock, std::chrono::milliseconds(200),
                     [&] { return !completions_.empty() || inFlight_ == 0; });
      } else {
        cv_.wait_until(lock, wake, [&] {
          return stopping_ || !pendingSnapshots_.empty() || !pendingEvents_.empty() ||
                 !completions_.empty() || !pendingProbeChanges_.empty();
        });
      }
    }
    if (!runOnce()) return;
  }
}

Clock::time_point Reconciler::nextWake() const {
  Clock::time_point wake = nextRelist_;
  for (const auto& kv : pods_) {
    if (kv.second.requeueAt && *kv.second.requeueAt < wake) wake = *kv.second.requeueAt;
  }
  return wake;
}

bool Reconciler::runOnce() {
  std::map<size_t, std::vector<plugin::ManifestDoc>> snapshots;
  std::set<std::string> events;
  std::set<std::string> probeChanges;
  std::vector<Completion> completions;
  bool stopping = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshots.swap(pendingSnapshots_);
    events.swap(pendingEvents_);
    probeChanges.swap(pendingProbeChanges_);
    completions.swap(completions_);
    stopping = stopping_;
  }
  for (auto& c : completions) finish(std::move(c));
  if (stopping) {
    // Let running tasks finish (a sync is short; a termination honours its grace period), start nothing
    // new. Pods stay as they are: a restarted podwarden adopts them.
    if (inFlight_ > 0) return true;
    probes_->stop();
    return false;
  }
  if (!snapshots.empty()) {
    for (auto& kv : snapshots) applySnapshot(kv.first, std::move(kv.second));
    recomputeDesired();
  }
  for (const auto& uid : probeChanges) dispatch(uid);
  for (const auto& id : events) routeEvent(id);
  const auto t = now();
  for (auto& kv : pods_) {
    if (kv.second.requeueAt && *kv.second.requeueAt <= t) {
      kv.second.requeueAt.reset();
      dispatch(kv.first);
    }
  }
  if (t >= nextRelist_) {
    relist();
    nextRelist_ = now() + opts_.relistPeriod;
  }
  return true;
}

void Reconciler::routeEvent(const std::string& containerId) {
  auto it = containerOwner_.find(containerId);
  if (it != containerOwner_.end()) {
    dispatch(it->second);
    return;
  }
  // A container we have not seen yet: most likely one a running sync just created (a container that dies
  // within milliseconds of its start). Those pods sync again when their task finishes; any other container
  // is left to the relist (syncing every pod on each such event would be a storm).
  for (auto& kv : pods_) {
    if (kv.second.inFlight && kv.second.desired) kv.second.dirty = true;
  }
  Log::debug(kComponent, "event for container " + containerId.substr(0, 12) + " not known yet");
}

void Reconciler::applySnapshot(size_t source, std::vector<plugin::ManifestDoc> docs) {
  if (source >= origins_.size()) return;
  sourceSeen_[source] = true;
  if (std::find(sourceSeen_.begin(), sourceSeen_.end(), false) == sourceSeen_.end()) hub_.setSourcesReady();
  std::map<std::string, Origin>& old = origins_[source];
  std::map<std::string, Origin> next;
  const std::string& kind = sourceKinds_[source];
  for (auto& d : docs) {
    Origin o;
    auto it = old.find(d.origin);
    if (it != old.end()) o = std::move(it->second);
    const std::string previousWarning = o.warning;
    o.warning = d.warning;
    if (!d.error.empty()) {
      manifest::Problem p;
      p.origin = d.origin;
      // Sources usually name the origin in their message; the Problem names it already.
      p.message = d.error.rfind(d.origin + ": ", 0) == 0 ? d.error.substr(d.origin.size() + 2) : d.error;
      if (!o.good.empty()) p.message += " (the pods from its last valid content keep running)";
      if (o.errors.empty() || o.errors.front().message != p.message) Log::error("manifest", p.toString());
      o.errors = {p};
      o.data.clear();
      o.parsed = false;
    } else if (!o.parsed || o.data != d.data) {
      manifest::ParseOptions po;
      po.nodeName = opts_.sync.nodeName;
      po.seenUnixNs = opts_.sync.nowUnixNs();
      const manifest::SourceRef ref{kind, d.origin};
      // A file holds exactly one Pod (the kubelet's rule); other sources (a URL) may serve a Pod, a PodList,
      // a List or several YAML documents, and one invalid item rejects the whole body.
      std::vector<manifest::StaticPod> pods;
      std::vector<manifest::Problem> errors, warnings;
      if (kind == "file") {
        manifest::ParseResult r = manifest::parseManifest(d.data, ref, po);
        if (r.pod) pods.push_back(std::move(*r.pod));
        errors = std::move(r.errors);
        warnings = std::move(r.warnings);
      } else {
        manifest::ParseListResult r = manifest::parseManifestList(d.data, ref, po);
        pods = std::move(r.pods);
        errors = std::move(r.errors);
        warnings = std::move(r.warnings);
      }
      o.data = std::move(d.data);
      o.parsed = true;
      for (const auto& w : warnings) Log::warning("manifest", w.toString());
      if (errors.empty()) {
        if (!o.errors.empty()) Log::info("manifest", d.origin + ": valid again");
        o.good = std::move(pods);
        o.errors.clear();
      } else {
        o.errors = std::move(errors);
        for (const auto& p : o.errors) Log::error("manifest", "rejected: " + p.toString());
        if (!o.good.empty()) {
          Log::warning("manifest", d.origin + ": keeping " + std::to_string(o.good.size()) +
                                       " pod(s) from its last valid content until it is fixed");
        }
      }
    }
    if (!o.warning.empty() && o.warning != previousWarning) Log::warning("manifest", d.origin + ": " + o.warning);
    next.emplace(d.origin, std::move(o));
  }
  for (const auto& kv : old) {
    if (!next.count(kv.first)) Log::info("manifest", kv.first + ": gone");
  }
  old = std::move(next);
}

namespace {

struct DesiredSet {
  std::map<std::string, const manifest::StaticPod*> pods;  // by UID
  std::vector<manifest::Problem> duplicates;
  std::vector<std::string> duplicateSources;  // the source kind of each duplicate
};

// Which pod each <name>_<namespace> stands for when several manifests define it: the one already running
// keeps running; otherwise the first in a stable order (source, then origin, lexicographic like the
// kubelet's listing) wins. The others are reported as duplicates.
template <typename Origins, typename IsRunning>
DesiredSet chooseDesired(const Origins& origins, IsRunning isRunning) {
  struct Candidate {
    const manifest::StaticPod* pod;
    std::string origin;
  };
  std::map<std::string, std::vector<Candidate>> byFullName;
  for (const auto& source : origins) {
    for (const auto& [origin, o] : source) {
      for (const auto& pod : o.good) byFullName[pod.fullName()].push_back({&pod, origin});
    }
  }
  DesiredSet out;
  for (const auto& [fullName, cands] : byFullName) {
    size_t win = 0;
    while (win < cands.size() && !isRunning(cands[win].pod->uid)) ++win;
    const bool running = win < cands.size();
    if (!running) win = 0;
    for (size_t i = 0; i < cands.size(); ++i) {
      if (i == win) continue;
      manifest::Problem p;
      p.origin = cands[i].origin;
      p.field = "metadata.name";
      p.message = "duplicate pod name " + cands[i].pod->ns + "/" + cands[i].pod->manifestName + ": " +
                  cands[win].origin + " defines it too and wins (" +
                  (running ? "its pod is already running" : "it comes first in order") +
                  "); this manifest is ignored";
      out.duplicates.push_back(p);
      out.duplicateSources.push_back(cands[i].pod->ref.source);
    }
    out.pods[cands[win].pod->uid] = cands[win].pod;
  }
  return out;
}

std::string problemsKey(const std::vector<manifest::Problem>& problems) {
  std::string k;
  for (const auto& p : problems) k += p.toString() + "\n";
  return k;
}

}  // namespace

void Reconciler::recomputeDesired() {
  DesiredSet desired = chooseDesired(origins_, [this](const std::string& uid) {
    auto it = pods_.find(uid);
    return it != pods_.end() && it->second.desired;
  });
  // Duplicate findings are logged when they change.
  if (problemsKey(desired.duplicates) != problemsKey(duplicateErrors_)) {
    for (const auto& p : desired.duplicates) Log::error("manifest", p.toString());
  }
  duplicateErrors_ = std::move(desired.duplicates);
  duplicateSources_ = std::move(desired.duplicateSources);

  for (auto& [uid, e] : pods_) {
    if (!e.desired || desired.pods.count(uid)) continue;
    e.desired = false;
    e.graceSeconds = json::getInt(json::getObject(e.pod.pod, "spec"), "terminationGracePeriodSeconds", 30);
    Log::info(kComponent, "pod " + e.pod.ns + "/" + e.pod.name + " (" + uid + ") removed from " +
                              e.pod.ref.origin + "; stopping it");
    dispatch(uid);
  }
  for (const auto& kv : desired.pods) addOrUpdate(*kv.second);
  publishErrors();
}

void Reconciler::addOrUpdate(const manifest::StaticPod& sp) {
  const int64_t seen = firstSeen_.emplace(sp.uid, opts_.sync.nowUnixNs()).first->second;
  manifest::StaticPod copy = sp;
  copy.pod = json::deepCopy(sp.pod);
  json::ensureObject(json::ensureObject(copy.pod, "metadata"), "annotations")
      ->set("kubernetes.io/config.seen", json::rfc3339Nano(seen));
  auto it = pods_.find(sp.uid);
  if (it == pods_.end()) {
    PodEntry e;
    e.pod = std::move(copy);
    e.state.knownAbsent = runtimeUids_ && !runtimeUids_->count(sp.uid);
    Log::info(kComponent, "pod " + sp.ns + "/" + sp.name + " (" + sp.uid + ") added from " + sp.ref.origin);
    pods_.emplace(sp.uid, std::move(e));
    dispatch(sp.uid);
  } else if (!it->second.desired || it->second.pod.configHash != sp.configHash) {
    // A pinned UID whose content changed, or a pod that came back before its termination finished.
    if (it->second.desired) {
      Log::info(kComponent, "pod " + sp.ns + "/" + sp.name + " (" + sp.uid + ") changed in " + sp.ref.origin +
                                " (pinned uid: updating in place)");
    }
    it->second.pod = std::move(copy);
    it->second.desired = true;
    dispatch(sp.uid);
  } else {
    it->second.pod.ref = sp.ref;
  }
}

void Reconciler::publishErrors() {
  json::ArrayPtr errors = new json::Array();
  auto add = [&](const manifest::Problem& p, const std::string& source) {
    json::ObjectPtr o = new json::Object();
    o->set("origin", p.origin);
    o->set("source", source);
    if (!p.field.empty()) o->set("field", p.field);
    if (p.line > 0) o->set("line", p.line);
    if (p.column > 0) o->set("column", p.column);
    o->set("message", p.message);
    errors->add(o);
  };
  for (size_t s = 0; s < origins_.size(); ++s) {
    for (const auto& kv : origins_[s]) {
      for (const auto& p : kv.second.errors) add(p, sourceKinds_[s]);
    }
  }
  for (size_t i = 0; i < duplicateErrors_.size(); ++i) {
    add(duplicateErrors_[i], i < duplicateSources_.size() ? duplicateSources_[i] : std::string());
  }
  hub_.setErrors(errors);
}

void Reconciler::dispatch(const std::string& uid) {
  auto it = pods_.find(uid);
  if (it == pods_.end()) return;
  PodEntry& e = it->second;
  if (e.inFlight) {
    e.dirty = true;
    return;
  }
  if (e.desired) {
    // Static-pod start ordering: wait until an older pod with the same full name is gone.
    for (const auto& kv : pods_) {
      if (kv.first != uid && !kv.second.desired && kv.second.pod.fullName() == e.pod.fullName()) {
        Log::info(kComponent, "pod " + e.pod.ns + "/" + e.pod.name + " (" + uid + ") waits for " + kv.first +
                                  " to terminate");
        return;
      }
    }
  }
  e.inFlight = true;
  e.dirty = false;
  if (runtimeUids_) runtimeUids_->insert(uid);
  e.requeueAt.reset();
  bool terminate = !e.desired;
  // The task gets its own copies; only the PodRuntimeState is shared, and nothing else touches it while
  // the task runs (inFlight).
  manifest::StaticPod pod = e.pod;
  PodRuntimeState* state = &e.state;
  int64_t grace = e.graceSeconds;
  ++inFlight_;
  executor_->submit([this, uid, terminate, pod, state, grace] {
    Completion c;
    c.uid = uid;
    c.terminate = terminate;
    try {
      if (terminate) {
        c.ok = syncer_.terminate(uid, pod.ns + "/" + pod.name, grace);
      } else {
        c.result = syncer_.sync(pod, *state);
      }
    } catch (const std::exception& e) {
      // A bug, not an expected fault (those are handled inside the syncer): report it and retry later
      // rather than take every other pod down with the daemon.
      Log::error(kComponent, "internal error while handling pod " + uid + ": " + e.what());
      c.ok = false;
      c.result.requeueAfter = std::chrono::seconds(10);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      completions_.push_back(std::move(c));
    }
    cv_.notify_all();
  });
}

void Reconciler::finish(Completion c) {
  --inFlight_;
  auto it = pods_.find(c.uid);
  if (it == pods_.end()) return;
  PodEntry& e = it->second;
  e.inFlight = false;
  if (c.terminate) {
    if (!c.ok) {
      e.requeueAt = now() + std::chrono::seconds(5);
      return;
    }
    if (e.desired) {
      // It came back while terminating: start it again.
      dispatch(c.uid);
      return;
    }
    for (auto oit = containerOwner_.begin(); oit != containerOwner_.end();) {
      oit = oit->second == c.uid ? containerOwner_.erase(oit) : std::next(oit);
    }
    hub_.remove(c.uid);
    probes_->removePod(c.uid);
    std::string fullName = e.pod.fullName();
    pods_.erase(it);
    // Start a successor with the same name that was waiting for this termination.
    for (auto& kv : pods_) {
      if (kv.second.desired && kv.second.pod.fullName() == fullName && !kv.second.inFlight) dispatch(kv.first);
    }
    return;
  }
  for (const auto& id : e.state.containerIds) containerOwner_[id] = c.uid;
  if (e.desired && !c.result.status.isNull()) hub_.publish(c.uid, podObject(e, c.result.status));
  if (c.result.requeueAfter) e.requeueAt = now() + *c.result.requeueAfter;
  if (e.dirty) dispatch(c.uid);
}

json::ObjectPtr Reconciler::podObject(const PodEntry& e, const json::ObjectPtr& status) const {
  json::ObjectPtr o = new json::Object();
  o->set("apiVersion", "v1");
  o->set("kind", "Pod");
  o->set("metadata", json::getObject(e.pod.pod, "metadata"));
  o->set("spec", json::getObject(e.pod.pod, "spec"));
  o->set("status", status);
  json::ObjectPtr pw = new json::Object();
  pw->set("source", e.pod.ref.source);
  pw->set("origin", e.pod.ref.origin);
  pw->set("configHash", e.pod.configHash);
  pw->set("uidPinned", e.pod.uidPinned);
  pw->set("sandboxId", e.state.sandboxId);
  if (!e.state.lastError.empty()) pw->set("lastError", e.state.lastError);
  o->set("podwarden", pw);
  return o;
}

void Reconciler::relist() {
  for (auto& kv : pods_) dispatch(kv.first);
  // Orphans: pods of this node the runtime has but no source wants (removed while podwarden was down, or
  // an old UID after an edit). Only once every source has reported, so a slow source never gets its
  // pods killed at startup.
  if (std::find(sourceSeen_.begin(), sourceSeen_.end(), false) != sourceSeen_.end()) return;
  std::map<std::string, int64_t> uids;
  try {
    uids = syncer_.listPodUids();
  } catch (const RuntimeError& e) {
    Log::warning(kComponent, std::string("relist failed: ") + e.what());
    return;
  }
  std::set<std::string> present;
  for (const auto& kv : uids) present.insert(kv.first);
  for (const auto& kv : pods_) present.insert(kv.first);  // in flight: may be creating right now
  runtimeUids_ = std::move(present);
  for (const auto& kv : uids) {
    if (pods_.count(kv.first)) continue;
    PodEntry e;
    e.desired = false;
    e.graceSeconds = kv.second;
    e.pod.uid = kv.first;
    e.pod.name = kv.first;
    e.pod.ns = "orphan";
    Log::info(kComponent, "pod " + kv.first + " runs on this node but no manifest defines it; stopping it");
    pods_.emplace(kv.first, std::move(e));
    dispatch(kv.first);
  }
}

}  // namespace podwarden
