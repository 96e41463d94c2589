#include "EventWatcher.h"

#include <Poco/Exception.h>

#include <algorithm>
#include <chrono>

#include "DockerNames.h"
#include "DockerReplies.h"
#include "JsonUtil.h"

namespace podwarden::docker {
namespace {

constexpr long kConnectTimeoutMs = 10000;
constexpr long kInitialBackoffMs = 250;
constexpr long kMaxBackoffMs = 5000;

}  // namespace

EventWatcher::EventWatcher(pw::Host host, std::shared_ptr<DockerClient> client, pw_emitter_host_ptr* emitter)
    : host_(host), client_(std::move(client)), emitter_(emitter) {}

EventWatcher::~EventWatcher() {
  stop();
}

void EventWatcher::start() {
  // Events from the moment watching begins, even if the first connection only succeeds after retries.
  // Docker compares `since` with its own wall clock, so this is the real clock, not the host's.
  lastEventNs_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  thread_ = std::thread([this] { run(); });
}

void EventWatcher::stop() noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    if (haveSocket_) {
      try {
        socket_.shutdown();
      } catch (const Poco::Exception&) {
        // Already closed by the other side: the reader sees EOF either way.
      }
    }
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventWatcher::run() {
  long backoff = kInitialBackoffMs;
  bool warned = false;  // one warning per outage, not one per retry
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    bool answered = false;
    std::string error;
    try {
      answered = streamOnce();
    } catch (const std::exception& e) {
      error = e.what();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    if (answered) {
      backoff = kInitialBackoffMs;
      warned = false;
    }
    if (!error.empty() && !warned) {
      host_.warning("docker events: " + error + "; retrying with backoff");
      warned = true;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    if (wake_.wait_for(lock, std::chrono::milliseconds(backoff), [this] { return stopping_; })) return;
    backoff = std::min(backoff * 2, kMaxBackoffMs);
  }
}

bool EventWatcher::streamOnce() {
  std::string query = "/events?filters=" +
                      urlEncode(std::string("{\"type\":[\"container\"],\"label\":[\"") + kTypeLabel + "\"]}");
  if (lastEventNs_ > 0) query += "&since=" + dockerTimestamp(lastEventNs_);
  bool answered = false;
  client_->stream(
      "GET", query, "", kConnectTimeoutMs, 0,
      [&](int status, std::istream& body) {
        if (status != 200) {
          std::string text((std::istreambuf_iterator<char>(body)), std::istreambuf_iterator<char>());
          DockerClient::fail(HttpReply{status, text}, "GET /events on " + client_->url());
        }
        answered = true;
        std::string line;
        while (std::getline(body, line)) {
          if (!line.empty()) handleLine(line);
        }
      },
      [&](const Poco::Net::StreamSocket* socket) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (socket == nullptr) {
          haveSocket_ = false;
          socket_ = Poco::Net::StreamSocket();
          return;
        }
        if (stopping_) throw pw::Error(PW_CANCELLED, "stopping");
        socket_ = *socket;
        haveSocket_ = true;
      });
  return answered;
}

void EventWatcher::handleLine(const std::string& line) {
  std::string event;
  try {
    event = criEventFromLine(line, lastEventNs_);
  } catch (const Poco::Exception& e) {
    host_.warning("docker events: skipping an unparseable event: " + e.displayText());
    return;
  }
  if (!event.empty()) host_.emitEvent(emitter_, event);
}

}  // namespace podwarden::docker
