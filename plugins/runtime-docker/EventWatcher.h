// EventWatcher.h - turns Docker's /events stream into CRI container events for the host.
//
// One thread streams GET /events (type=container, with the io.kubernetes.docker.type label, i.e. only
// containers this plugin made) and emits create/start/die/destroy as CONTAINER_{CREATED,STARTED,STOPPED,
// DELETED}_EVENT. When the stream breaks (or the daemon is not up yet) it reconnects with backoff (250 ms
// doubling, capped at 5 s) and asks Docker to replay from the last event time it saw (from the start of
// watching, at first), so little is lost; an event may come twice, which the host tolerates (events are
// hints, and it relists anyway).
#pragma once

#include <Poco/Net/StreamSocket.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <podwarden/plugin.hpp>
#include <string>
#include <thread>

#include "DockerClient.h"

namespace podwarden::docker {

class EventWatcher {
 public:
  // `emitter` must stay valid until stop() returns.
  EventWatcher(pw::Host host, std::shared_ptr<DockerClient> client, pw_emitter_host_ptr* emitter);
  ~EventWatcher();  // stop()s

  void start();
  // Returns promptly: shuts the current connection down, wakes a backoff sleep and joins the thread.
  // After it returns the emitter is never used again. Idempotent.
  void stop() noexcept;

 private:
  void run();
  // Streams until the connection ends; returns true if the daemon answered 200.
  bool streamOnce();
  void handleLine(const std::string& line);

  pw::Host host_;
  std::shared_ptr<DockerClient> client_;
  pw_emitter_host_ptr* emitter_;
  std::thread thread_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;           // guarded by mutex_
  Poco::Net::StreamSocket socket_;  // the live connection, guarded by mutex_
  bool haveSocket_ = false;         // guarded by mutex_
  int64_t lastEventNs_ = 0;         // set by start(), then touched by the thread only
};

}  // namespace podwarden::docker
