#include "UrlSource.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <Poco/URI.h>
#include <pthread.h>
#include <signal.h>

#include <vector>

namespace podwarden::source_url {
namespace {

std::string sha256Hex(const std::string& data) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(data.data(), static_cast<unsigned>(data.size()));
  return Poco::DigestEngine::digestToHex(engine.digest());
}

}  // namespace

UrlSource::UrlSource(const pw::Host& host, std::string_view configJson, std::string_view /*nodeName*/)
    : host_(host), config_(parseUrlConfig(configJson)), fetcher_(std::make_unique<UrlFetcher>(config_)) {
  std::string scheme = Poco::URI(config_.url).getScheme();
  if (scheme == "http") {
    host_.warning(config_.url +
                  ": plain http: manifests travel unauthenticated and unencrypted; anyone on the path can "
                  "change the pods this node runs (use https)");
  }
  if (config_.insecureSkipVerify) {
    host_.warning(
        config_.url +
        ": insecureSkipVerify is set: the server certificate is NOT verified; anyone on the path can "
        "change the pods this node runs");
  }
}

UrlSource::~UrlSource() {
  stop();
}

void UrlSource::start(pw_emitter_host_ptr* emitter) {
  if (thread_.joinable()) throw pw::Error(PW_FAILED_PRECONDITION, "source-url: already started");
  emitter_ = emitter;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void UrlSource::stop() noexcept {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  fetcher_->abort();
  thread_.join();
  emitter_ = nullptr;
  // A later start() needs a fetcher that is not aborted.
  try {
    fetcher_ = std::make_unique<UrlFetcher>(config_);
  } catch (...) {
    // Same config succeeded in the constructor; a failure now leaves the aborted fetcher, which only
    // reports "stopping" errors.
  }
}

void UrlSource::run() noexcept {
  // A server that closes early can make a write raise SIGPIPE; the host does not ignore it. Blocked here, a
  // pending SIGPIPE dies with this thread and the write fails with EPIPE instead.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);

  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      pollOnce();
    } catch (const std::exception& e) {
      host_.error(config_.url + ": unexpected error while polling: " + e.what());
    }
    lock.lock();
    // kubelet: the period counts from the end of the previous fetch.
    wake_.wait_for(lock, config_.check, [this] { return stopping_; });
  }
}

void UrlSource::pollOnce() {
  std::string etag, lastModified;
  if (cache_) {
    etag = cache_->etag;
    lastModified = cache_->lastModified;
  }
  FetchResult r = fetcher_->fetch(etag, lastModified);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
  }
  switch (r.kind) {
    case FetchResult::Kind::kError:
      failed(r.error);
      return;
    case FetchResult::Kind::kNotModified:
      host_.debug(config_.url + ": 304 Not Modified");
      succeeded(cache_->body, cache_->contentType, {});
      return;
    case FetchResult::Kind::kBody:
      break;
  }
  if (!config_.sha256.empty()) {
    std::string actual = sha256Hex(r.body);
    if (actual != config_.sha256) {
      failed("the body's sha256 " + actual + " does not match the pinned sha256 " + config_.sha256 + " (" +
             std::to_string(r.body.size()) + " bytes)");
      return;
    }
  }
  std::string warning;
  if (r.body.empty()) {
    if (!config_.emptyBodyMeansEmpty) {
      failed("the server answered 200 with an empty body; ignored because emptyBodyMeansEmpty is false");
      return;
    }
    // kubelet: an empty body is an empty set, which removes every pod this URL defined.
    warning =
        "the server answered 200 with an empty body: every pod from this URL is removed (kubelet "
        "behaviour; set emptyBodyMeansEmpty to false to keep them)";
  }
  cache_ = Cached{r.body, r.contentType, r.etag, r.lastModified};
  succeeded(cache_->body, cache_->contentType, warning);
}

void UrlSource::succeeded(const std::string& body, const std::string& contentType,
                          const std::string& warning) {
  if (failures_ > 0) {
    host_.info(config_.url + ": fetched again after " + std::to_string(failures_) + " failed attempt" +
               (failures_ == 1 ? "" : "s"));
  }
  failures_ = 0;
  if (lastEmitted_ && !lastEmitted_->isError && lastEmitted_->text == body) {
    host_.debug(config_.url + ": unchanged");
    return;
  }
  emit(body, contentType, {}, warning);
  lastEmitted_ = Emitted{false, body};
}

void UrlSource::failed(const std::string& reason) {
  ++failures_;
  std::string message = config_.url + ": " + reason;
  if (failures_ < kLoudFailures) {
    host_.warning(message);
  } else if (failures_ == kLoudFailures) {
    host_.warning(message + " (" + std::to_string(kLoudFailures) +
                  " failures in a row; further ones are logged at debug level until it recovers)");
  } else {
    host_.debug(message + " (failure " + std::to_string(failures_) + " in a row)");
  }
  if (lastEmitted_ && lastEmitted_->isError && lastEmitted_->text == message) return;
  emit({}, {}, message, {});
  lastEmitted_ = Emitted{true, message};
}

void UrlSource::emit(const std::string& data, const std::string& contentType, const std::string& error,
                     const std::string& warning) {
  std::vector<pw_manifest_doc> docs{pw::manifestDoc(config_.url, contentType, data, error, warning)};
  pw_status st = host_.emitSnapshot(emitter_, docs);
  if (st != PW_OK)
    host_.error(config_.url + ": the host refused the snapshot (status " + std::to_string(st) + ")");
}

}  // namespace podwarden::source_url
