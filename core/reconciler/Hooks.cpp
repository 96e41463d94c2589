#include "reconciler/Hooks.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <sstream>

namespace podwarden {

namespace {

std::string trimmed(std::string s, size_t max) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

HookResult execHandler(runtime::Runtime& runtime, const std::string& containerId, const json::ObjectPtr& exec,
                       std::chrono::milliseconds timeout) {
  HookResult r;
  std::vector<std::string> cmd;
  json::ArrayPtr command = json::getArray(exec, "command");
  for (size_t i = 0; command && i < command->size(); ++i)
    cmd.push_back(command->get(static_cast<unsigned>(i)).toString());
  try {
    const runtime::ExecSyncResult result =
        runtime.execSync(containerId, cmd, std::chrono::duration_cast<std::chrono::seconds>(timeout));
    if (result.exitCode != 0) {
      r.ok = false;
      std::string output = trimmed(result.out + result.err, 512);
      r.message =
          "command exited with " + std::to_string(result.exitCode) + (output.empty() ? "" : ": " + output);
    }
  } catch (const RuntimeError& e) {
    r.ok = false;
    r.message = e.what();
  }
  return r;
}

HookResult httpHandler(const json::ObjectPtr& get, const json::ArrayPtr& ports, const std::string& podIP,
                       std::chrono::milliseconds timeout) {
  HookResult r;
  std::string host = json::getString(get, "host", podIP);
  if (host.empty()) host = "127.0.0.1";
  int port = 0;
  Poco::Dynamic::Var p = get->has("port") ? get->get("port") : Poco::Dynamic::Var();
  if (p.isNumeric()) {
    port = p.convert<int>();
  } else if (p.isString()) {
    std::string name = p.toString();
    for (size_t i = 0; ports && i < ports->size(); ++i) {
      json::ObjectPtr cp = ports->getObject(static_cast<unsigned>(i));
      if (json::getString(cp, "name") == name) port = static_cast<int>(json::getInt(cp, "containerPort"));
    }
    if (port == 0) {
      try {
        port = std::stoi(name);
      } catch (...) {
      }
    }
  }
  if (port <= 0 || port > 65535) {
    r.ok = false;
    r.message = "httpGet: no usable port";
    return r;
  }
  if (json::getString(get, "scheme", "HTTP") != "HTTP") {
    r.ok = false;
    r.message = "httpGet: scheme " + json::getString(get, "scheme") + " is not supported for lifecycle hooks";
    return r;
  }
  std::string path = json::getString(get, "path", "/");
  if (path.empty() || path[0] != '/') path = "/" + path;
  try {
    Poco::Net::HTTPClientSession session(host, static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(static_cast<long>(timeout.count() / 1000), static_cast<long>(timeout.count() % 1000) * 1000));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("User-Agent", "kube-lifecycle/1.30");
    json::ArrayPtr headers = json::getArray(get, "httpHeaders");
    for (size_t i = 0; headers && i < headers->size(); ++i) {
      json::ObjectPtr h = headers->getObject(static_cast<unsigned>(i));
      request.set(json::getString(h, "name"), json::getString(h, "value"));
    }
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& body = session.receiveResponse(response);
    char buf[4096];
    size_t read = 0;
    while (read < 10 * 1024 && body.read(buf, sizeof(buf))) read += static_cast<size_t>(body.gcount());
    int status = static_cast<int>(response.getStatus());
    if (status < 200 || status >= 400) {
      r.ok = false;
      r.message = "HTTP lifecycle hook (" + path + ") for " + host + ":" + std::to_string(port) +
                  " failed with statuscode " + std::to_string(status);
    }
  } catch (const Poco::Exception& e) {
    r.ok = false;
    r.message = "HTTP lifecycle hook (" + path + ") for " + host + ":" + std::to_string(port) +
                " failed: " + e.displayText();
  }
  return r;
}

}  // namespace

HookResult runLifecycleHandler(runtime::Runtime& runtime, const std::string& containerId,
                               const json::ObjectPtr& handler, const json::ArrayPtr& ports,
                               const std::string& podIP, std::chrono::milliseconds timeout) {
  if (json::has(handler, "exec")) return execHandler(runtime, containerId, json::getObject(handler, "exec"), timeout);
  if (json::has(handler, "httpGet")) return httpHandler(json::getObject(handler, "httpGet"), ports, podIP, timeout);
  HookResult r;
  r.ok = false;
  r.message = "the handler has neither exec nor httpGet";
  return r;
}

}  // namespace podwarden
