#include "prober/ProbeManager.h"

#include <cctype>
#include <chrono>

#include "prober/Handlers.h"
#include "util/Log.h"

namespace podwarden::prober {

namespace {

constexpr const char* kComponent = "prober";
constexpr int64_t kSecondNs = 1000000000LL;
// The scheduler re-reads the clock at least this often, so an injected clock may jump.
constexpr auto kMaxIdleWait = std::chrono::seconds(1);

ProbeOutcome initialResult(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kReadiness:
      return ProbeOutcome::kFailure;
    case ProbeKind::kLiveness:
      return ProbeOutcome::kSuccess;
    case ProbeKind::kStartup:
      return ProbeOutcome::kUnknown;
  }
  return ProbeOutcome::kUnknown;
}

const char* outcomeName(ProbeOutcome o) {
  switch (o) {
    case ProbeOutcome::kSuccess:
      return "success";
    case ProbeOutcome::kFailure:
      return "failure";
    case ProbeOutcome::kUnknown:
      return "unknown";
  }
  return "?";
}

}  // namespace

ProbeManager::ProbeManager(runtime::Runtime& runtime, std::function<int64_t()> monotonicNs,
                           std::function<void(std::string uid)> onChange, Options options)
    : runtime_(runtime),
      now_(std::move(monotonicNs)),
      onChange_(std::move(onChange)),
      options_(std::move(options)) {
  if (options_.workers == 0) options_.workers = 1;
  startedNs_ = now_();
}

ProbeManager::~ProbeManager() {
  stop();
}

void ProbeManager::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  scheduler_ = std::thread([this] { schedulerLoop(); });
  for (size_t i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { workerLoop(); });
}

void ProbeManager::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!running_) return;
    stopping_ = true;
  }
  schedulerCv_.notify_all();
  workerCv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  for (auto& w : workers_) w.join();
  workers_.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  running_ = false;
  jobs_.clear();
  for (auto& [id, probe] : probes_) probe.inFlight = false;
}

void ProbeManager::wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    wakeRequested_ = true;
  }
  schedulerCv_.notify_all();
}

void ProbeManager::setContainers(const std::string& uid, std::vector<ProbeTarget> targets) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t now = now_();
    std::set<std::string> keep;
    for (auto& t : targets) {
      t.uid = uid;
      keep.insert(t.containerId);
      auto it = containers_.find(t.containerId);
      if (it == containers_.end()) {
        addContainerLocked(std::move(t), now);
      } else {
        // Same container ID: same container and probe state; only names and addresses may be refreshed.
        it->second.target.podName = t.podName;
        it->second.target.pod = t.pod;
      }
    }
    auto pod = pods_.find(uid);
    if (pod != pods_.end()) {
      for (const auto& id : pod->second) {
        if (keep.count(id) == 0) removeContainerLocked(id);
      }
    }
    if (keep.empty()) {
      pods_.erase(uid);
    } else {
      pods_[uid] = std::move(keep);
    }
  }
  schedulerCv_.notify_all();
}

void ProbeManager::removePod(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto pod = pods_.find(uid);
  if (pod == pods_.end()) return;
  for (const auto& id : pod->second) removeContainerLocked(id);
  pods_.erase(pod);
}

ProbeManager::Result ProbeManager::result(const std::string& containerId) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Result r;
  auto it = containers_.find(containerId);
  if (it == containers_.end()) return r;
  r.known = true;
  const Container& c = it->second;
  auto published = [&](ProbeKind kind, ProbeOutcome* out) {
    uint64_t id = c.probes[static_cast<int>(kind)];
    if (id == 0) return false;
    *out = probes_.at(id).result;
    return true;
  };
  ProbeOutcome o;
  r.started = startedLocked(c);
  r.ready = r.started && (!published(ProbeKind::kReadiness, &o) || o == ProbeOutcome::kSuccess);
  const bool livenessFailed = published(ProbeKind::kLiveness, &o) && o == ProbeOutcome::kFailure;
  const bool startupFailed = published(ProbeKind::kStartup, &o) && o == ProbeOutcome::kFailure;
  r.livenessFailed = livenessFailed || startupFailed;
  r.message = r.livenessFailed ? c.killMessage : c.readinessMessage;
  return r;
}

uint64_t ProbeManager::attemptsFinished() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return attempts_;
}

bool ProbeManager::startedLocked(const Container& c) const {
  uint64_t id = c.probes[static_cast<int>(ProbeKind::kStartup)];
  return id == 0 || probes_.at(id).result == ProbeOutcome::kSuccess;
}

ProbeManager::Probe* ProbeManager::probeLocked(const std::string& containerId, ProbeKind kind) {
  auto it = containers_.find(containerId);
  if (it == containers_.end()) return nullptr;
  uint64_t id = it->second.probes[static_cast<int>(kind)];
  if (id == 0) return nullptr;
  return &probes_.at(id);
}

void ProbeManager::addContainerLocked(ProbeTarget target, int64_t nowNs) {
  Container c;
  if (target.startedAtNs == 0) target.startedAtNs = nowNs;
  for (ProbeKind kind : {ProbeKind::kStartup, ProbeKind::kLiveness, ProbeKind::kReadiness}) {
    std::optional<ProbeSpec> spec = parseProbe(kind, target.containerSpec, target.podIP);
    if (!spec) continue;
    Probe p;
    p.id = nextId_++;
    p.spec = std::move(*spec);
    p.uid = target.uid;
    p.containerId = target.containerId;
    p.result = initialResult(kind);
    c.probes[static_cast<int>(kind)] = p.id;
    if (!p.spec.error.empty()) {
      Log::warning(kComponent, "pod " + target.podName + " container " + target.containerName + ": " +
                                   p.spec.error + "; the probe's attempts will change nothing");
    }
    // The kubelet's worker probes at once, after a random fraction of the period only while the
    // kubelet itself started less than a period ago (many workers would otherwise fire together).
    const int64_t period = static_cast<int64_t>(p.spec.periodSeconds) * kSecondNs;
    int64_t first = nowNs;
    if (options_.startupJitter && nowNs - startedNs_ < period) {
      first += std::uniform_int_distribution<int64_t>(0, period - 1)(rng_);
    }
    auto [it, inserted] = probes_.emplace(p.id, std::move(p));
    (void)inserted;
    scheduleLocked(it->second, first);
  }
  if (c.probes == std::array<uint64_t, kProbeKinds>{}) return;  // nothing to probe: reads as default
  c.target = std::move(target);
  containers_.emplace(c.target.containerId, std::move(c));
}

void ProbeManager::removeContainerLocked(const std::string& containerId) {
  auto it = containers_.find(containerId);
  if (it == containers_.end()) return;
  for (uint64_t id : it->second.probes) {
    if (id != 0) probes_.erase(id);  // its queued ticks and jobs find nothing and are dropped
  }
  containers_.erase(it);
}

void ProbeManager::scheduleLocked(Probe& probe, int64_t dueNs) {
  probe.dueNs = dueNs;
  // A new earliest tick shortens the scheduler's sleep (callers notify schedulerCv_ after unlocking).
  if (ticks_.empty() || dueNs < ticks_.top().dueNs) wakeRequested_ = true;
  ticks_.push(Tick{dueNs, probe.id});
}

void ProbeManager::schedulerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    const int64_t now = now_();
    while (!ticks_.empty() && ticks_.top().dueNs <= now) {
      Tick tick = ticks_.top();
      ticks_.pop();
      auto it = probes_.find(tick.probeId);
      if (it == probes_.end() || it->second.dueNs != tick.dueNs) continue;  // removed or re-timed
      dispatchLocked(it->second, now);
    }
    auto wait = std::chrono::nanoseconds(kMaxIdleWait);
    if (!ticks_.empty()) wait = std::min(wait, std::chrono::nanoseconds(ticks_.top().dueNs - now));
    schedulerCv_.wait_for(lock, wait, [this] { return stopping_ || wakeRequested_; });
    wakeRequested_ = false;
  }
}

void ProbeManager::dispatchLocked(Probe& probe, int64_t nowNs) {
  // The next tick keeps the period's phase; ticks missed while the clock jumped are dropped, as a
  // Go ticker drops them.
  const int64_t period = static_cast<int64_t>(probe.spec.periodSeconds) * kSecondNs;
  int64_t next = probe.dueNs + period;
  if (next <= nowNs) next += ((nowNs - next) / period + 1) * period;

  const Container& c = containers_.at(probe.containerId);
  const bool started = startedLocked(c);
  if (probe.spec.kind == ProbeKind::kStartup && started) return;  // startup probing ends with its success
  scheduleLocked(probe, next);
  if (probe.inFlight || probe.onHold) return;
  if (nowNs - c.target.startedAtNs < static_cast<int64_t>(probe.spec.initialDelaySeconds) * kSecondNs) return;
  if (probe.spec.kind != ProbeKind::kStartup && !started) return;
  probe.inFlight = true;
  jobs_.push_back(Job{probe.id, probe.spec, probe.containerId});
  workerCv_.notify_one();
}

void ProbeManager::workerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    workerCv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    AttemptResult attempt;
    const auto timeout = std::chrono::seconds(job.spec.timeoutSeconds);
    if (!job.spec.error.empty()) {
      attempt = {ProbeOutcome::kUnknown, job.spec.error};
    } else {
      switch (job.spec.handler) {
        case ProbeSpec::Handler::kHttpGet:
          attempt = runHttpGet(job.spec.httpGet, timeout, options_.userAgent);
          break;
        case ProbeSpec::Handler::kTcpSocket:
          attempt = runTcpSocket(job.spec.tcpSocket, timeout);
          break;
        case ProbeSpec::Handler::kExec:
          attempt = runExec(runtime_, job.containerId, job.spec.exec, timeout);
          break;
        default:
          attempt = {ProbeOutcome::kUnknown, "no handler"};
          break;
      }
    }
    finish(job, attempt);
    lock.lock();
  }
}

void ProbeManager::finish(const Job& job, const AttemptResult& attempt) {
  std::string uid;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++attempts_;
    auto it = probes_.find(job.probeId);
    if (it == probes_.end()) return;  // the container went away meanwhile
    Probe& probe = it->second;
    probe.inFlight = false;
    Container& c = containers_.at(probe.containerId);
    const std::string who = "pod " + c.target.podName + " container " + c.target.containerName + ": ";
    const std::string kindName = probeKindName(probe.spec.kind);
    if (attempt.outcome == ProbeOutcome::kUnknown) {
      // Logged once per distinct error, not once per period.
      if (attempt.output != probe.lastError) {
        Log::warning(kComponent, who + kindName + " probe errored: " + attempt.output);
      }
      probe.lastError = attempt.output;
      return;
    }
    probe.lastError.clear();
    if (attempt.outcome == ProbeOutcome::kFailure) {
      Log::debug(kComponent, who + kindName + " probe failed: " + attempt.output);
    }
    if (probe.lastOutcome == attempt.outcome) {
      ++probe.run;
    } else {
      probe.lastOutcome = attempt.outcome;
      probe.run = 1;
    }
    if ((attempt.outcome == ProbeOutcome::kFailure && probe.run < probe.spec.failureThreshold) ||
        (attempt.outcome == ProbeOutcome::kSuccess && probe.run < probe.spec.successThreshold)) {
      return;
    }
    const bool changed = probe.result != attempt.outcome;
    probe.result = attempt.outcome;
    if (attempt.outcome == ProbeOutcome::kFailure) {
      const std::string message = kindName + " probe failed: " + attempt.output;
      if (probe.spec.kind == ProbeKind::kReadiness) {
        c.readinessMessage = message;
      } else {
        c.killMessage = message;
        // The container is to be killed; no more attempts on it (kubelet #21751: exec into a stopping
        // container could corrupt its state) until a new container ID shows up.
        probe.onHold = true;
        probe.run = 0;
      }
    }
    if (probe.spec.kind == ProbeKind::kStartup && attempt.outcome == ProbeOutcome::kSuccess) {
      // The kubelet triggers the readiness probe at once when the container counts as started.
      if (Probe* readiness = probeLocked(probe.containerId, ProbeKind::kReadiness)) {
        scheduleLocked(*readiness, now_());
      }
    }
    if (!changed) return;
    std::string output = attempt.output;
    while (!output.empty() && std::isspace(static_cast<unsigned char>(output.back()))) output.pop_back();
    Log::info(kComponent, who + kindName + " probe result is now " + outcomeName(attempt.outcome) +
                              (attempt.outcome == ProbeOutcome::kFailure ? ": " + output : ""));
    uid = probe.uid;
  }
  schedulerCv_.notify_all();
  if (onChange_) onChange_(uid);
}

}  // namespace podwarden::prober
