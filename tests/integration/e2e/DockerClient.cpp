#include "DockerClient.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

namespace podwarden::e2e {

namespace {
// Docker 20.10 serves Engine API 1.41; newer daemons still accept it.
constexpr const char* kApiPrefix = "/v1.41";
constexpr int kCallTimeoutSeconds = 60;
}  // namespace

std::string DockerContainer::label(const std::string& key) const { return json::getString(labels, key); }

DockerClient::DockerClient(const std::string& endpoint) : endpoint_(endpoint) {
  const std::string scheme = "unix://";
  socketPath_ = endpoint.rfind(scheme, 0) == 0 ? endpoint.substr(scheme.size()) : endpoint;
}

DockerClient::Response DockerClient::call(const std::string& method, const std::string& pathAndQuery) {
  Response response;
  try {
    Poco::Net::SocketAddress address(Poco::Net::SocketAddress::UNIX_LOCAL, socketPath_);
    Poco::Net::StreamSocket socket(address);
    Poco::Net::HTTPClientSession session(socket);
    session.setTimeout(Poco::Timespan(kCallTimeoutSeconds, 0));
    Poco::Net::HTTPRequest request(method, kApiPrefix + pathAndQuery, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setHost("docker");
    request.setContentLength(0);
    session.sendRequest(request);
    Poco::Net::HTTPResponse httpResponse;
    std::istream& in = session.receiveResponse(httpResponse);
    Poco::StreamCopier::copyToString(in, response.body);
    response.status = static_cast<int>(httpResponse.getStatus());
  } catch (const Poco::Exception& e) {
    throw DockerError("Docker at " + endpoint_ + ": " + method + " " + pathAndQuery + ": " + e.displayText());
  }
  return response;
}

bool DockerClient::ping() {
  try {
    Response r = call("GET", "/_ping");
    return r.status == 200 && r.body == "OK";
  } catch (const DockerError&) {
    return false;
  }
}

std::vector<DockerContainer> DockerClient::list(const std::vector<std::string>& labels, bool all) {
  auto labelArray = Poco::JSON::Array::Ptr(new Poco::JSON::Array);
  for (const auto& l : labels) labelArray->add(l);
  auto filters = json::ObjectPtr(new json::Object);
  filters->set("label", labelArray);
  std::string query;
  Poco::URI::encode(json::stringify(filters), "=&+[]:,/?#", query);
  Response r = call("GET", std::string("/containers/json?all=") + (all ? "1" : "0") + "&filters=" + query);
  if (r.status != 200) {
    throw DockerError("Docker at " + endpoint_ + ": listing containers returned " + std::to_string(r.status) +
                      ": " + r.body);
  }
  std::vector<DockerContainer> out;
  Poco::Dynamic::Var parsed = json::parse(r.body);
  auto array = parsed.extract<Poco::JSON::Array::Ptr>();
  for (size_t i = 0; i < array->size(); ++i) {
    json::ObjectPtr c = array->getObject(static_cast<unsigned>(i));
    DockerContainer dc;
    dc.id = json::getString(c, "Id");
    json::ArrayPtr names = json::getArray(c, "Names");
    if (names && names->size() > 0) {
      dc.name = names->getElement<std::string>(0);
      if (!dc.name.empty() && dc.name[0] == '/') dc.name.erase(0, 1);
    }
    dc.state = json::getString(c, "State");
    dc.labels = json::getObject(c, "Labels");
    if (!dc.labels) dc.labels = new json::Object;
    out.push_back(dc);
  }
  return out;
}

json::ObjectPtr DockerClient::inspect(const std::string& id) {
  Response r = call("GET", "/containers/" + id + "/json");
  if (r.status == 404) return nullptr;
  if (r.status != 200) {
    throw DockerError("Docker at " + endpoint_ + ": inspecting " + id + " returned " + std::to_string(r.status) +
                      ": " + r.body);
  }
  return json::parseObject(r.body);
}

void DockerClient::kill(const std::string& id) {
  Response r = call("POST", "/containers/" + id + "/kill");
  if (r.status != 204) {
    throw DockerError("Docker at " + endpoint_ + ": killing " + id + " returned " + std::to_string(r.status) +
                      ": " + r.body);
  }
}

void DockerClient::removeForce(const std::string& id) {
  Response r = call("DELETE", "/containers/" + id + "?force=1&v=1");
  if (r.status != 204 && r.status != 404) {
    throw DockerError("Docker at " + endpoint_ + ": removing " + id + " returned " + std::to_string(r.status) +
                      ": " + r.body);
  }
}

bool DockerClient::imageExists(const std::string& ref) {
  std::string encoded;
  Poco::URI::encode(ref, "", encoded);
  return call("GET", "/images/" + encoded + "/json").status == 200;
}

size_t DockerClient::removeAllWithLabel(const std::string& labelEqualsValue) {
  auto containers = list({labelEqualsValue}, true);
  for (const auto& c : containers) removeForce(c.id);
  return containers.size();
}

}  // namespace podwarden::e2e
