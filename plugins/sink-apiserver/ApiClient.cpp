#include "ApiClient.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/StreamSocketImpl.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <istream>
#include <mutex>
#include <sstream>

namespace podwarden::sink_apiserver {
namespace {

std::string opensslError() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr memBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate of a PEM bundle, in order. Throws naming `what` when there is none.
std::vector<X509*> readCertificates(const std::string& pem, const std::string& what) {
  std::vector<X509*> certs;
  BioPtr bio = memBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.push_back(cert);
  ERR_clear_error();  // the end of the bundle reads as an error
  if (certs.empty()) throw std::runtime_error(what + ": no PEM certificate found");
  return certs;
}

void configureTls(SSL_CTX* ctx, const Credentials& c) {
  if (!c.caPem.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    for (X509* cert : readCertificates(c.caPem, "certificate authority")) {
      if (X509_STORE_add_cert(store, cert) != 1) ERR_clear_error();  // duplicates are fine
      X509_free(cert);
    }
  }
  if (!c.clientCertPem.empty()) {
    std::vector<X509*> chain = readCertificates(c.clientCertPem, "client certificate");
    int ok = SSL_CTX_use_certificate(ctx, chain[0]);
    X509_free(chain[0]);
    if (ok != 1) throw std::runtime_error("client certificate: " + opensslError());
    for (size_t i = 1; i < chain.size(); ++i) {
      if (SSL_CTX_add_extra_chain_cert(ctx, chain[i]) != 1) {  // takes ownership on success
        X509_free(chain[i]);
        throw std::runtime_error("client certificate chain: " + opensslError());
      }
    }
    BioPtr bio = memBio(c.clientKeyPem);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (key == nullptr) throw std::runtime_error("client key: not a PEM private key: " + opensslError());
    ok = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (ok != 1) throw std::runtime_error("client key: " + opensslError());
    if (SSL_CTX_check_private_key(ctx) != 1) {
      throw std::runtime_error("client key does not match the client certificate");
    }
  }
}

bool isIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

std::string describeCall(const std::string& server, const std::string& method, const std::string& pathAndQuery) {
  return method + " " + server + pathAndQuery;
}

// Registers a connection's descriptor so that abort() can shut it down from another thread; shutdown(2)
// (not close) wakes a blocked read without freeing the descriptor under the reader.
class ApiClient::ActiveFd {
 public:
  ActiveFd(ApiClient& client, int fd) : client_(client), fd_(fd) {
    std::lock_guard<std::mutex> lock(client_.mutex_);
    client_.activeFds_.insert(fd_);
    if (client_.aborted_) ::shutdown(fd_, SHUT_RDWR);
  }
  ~ActiveFd() {
    std::lock_guard<std::mutex> lock(client_.mutex_);
    client_.activeFds_.erase(fd_);
  }
  ActiveFd(const ActiveFd&) = delete;
  ActiveFd& operator=(const ActiveFd&) = delete;

 private:
  ApiClient& client_;
  int fd_;
};

ApiClient::ApiClient(const Credentials& credentials, std::chrono::milliseconds requestTimeout)
    : credentials_(credentials), requestTimeout_(requestTimeout) {
  Poco::URI uri(credentials.server);
  host_ = uri.getHost();
  port_ = uri.getPort();
  https_ = uri.getScheme() == "https";
  if (!https_) return;

  static std::once_flag sslInit;
  // Never uninitialized: plugin libraries stay loaded for the life of the process.
  std::call_once(sslInit, [] { Poco::Net::initializeSSL(); });
  using Poco::Net::Context;
  // Chain and host name are verified by OpenSSL during the handshake (set below), so Poco's own
  // post-handshake host check is off; with insecure-skip-tls-verify nothing is verified.
  tls_ = new Context(Context::TLS_CLIENT_USE, "", "", "",
                     credentials.insecureSkipVerify ? Context::VERIFY_NONE : Context::VERIFY_RELAXED, 9,
                     /*loadDefaultCAs=*/credentials.caPem.empty() && !credentials.insecureSkipVerify);
  tls_->enableExtendedCertificateVerification(false);
  SSL_CTX* ctx = tls_->sslContext();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  configureTls(ctx, credentials);
  if (!credentials.insecureSkipVerify) {
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
    const std::string& name = credentials.tlsServerName.empty() ? host_ : credentials.tlsServerName;
    int ok = isIpAddress(name) ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                               : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    if (ok != 1) throw std::runtime_error("cannot verify the server name " + name + ": " + opensslError());
  }
}

ApiClient::~ApiClient() = default;

void ApiClient::abort() {
  std::lock_guard<std::mutex> lock(mutex_);
  aborted_ = true;
  for (int fd : activeFds_) ::shutdown(fd, SHUT_RDWR);
  idle_.reset();
}

Poco::Net::StreamSocket ApiClient::openSocket() {
  const std::string where = credentials_.server;
  Poco::Net::SocketAddress address;
  try {
    address = Poco::Net::SocketAddress(host_, port_);
  } catch (const Poco::Exception& e) {
    throw TransportError(where + ": cannot resolve " + host_ + ": " + e.displayText());
  }
  int fd = ::socket(address.family() == Poco::Net::SocketAddress::IPv6 ? AF_INET6 : AF_INET,
                    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw TransportError(where + ": socket: " + std::strerror(errno));
  Poco::Net::StreamSocket socket(new Poco::Net::StreamSocketImpl(fd));  // owns fd from here on
  // Registered before connect: abort() shuts the socket down, which ends a pending connect, a TLS
  // handshake or a read at once (Poco's own connect could not be interrupted).
  ActiveFd active(*this, fd);
  // Connect and handshake run non-blocking against one deadline, polled here in short slices that also
  // look at abort(): its shutdown(2) wakes a poll at once, but not one on a socket that was not yet
  // connecting when it came.
  const auto deadline = std::chrono::steady_clock::now() + requestTimeout_;
  auto waitFor = [&](short events, const char* what) {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (aborted_) throw TransportError(where + ": shutting down");
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        throw TransportError(where + ": " + what + ": no answer within " + std::to_string(requestTimeout_.count()) +
                             " ms");
      }
      pollfd p{fd, events, 0};
      int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 50)));
      if (rc > 0) return;
      if (rc < 0 && errno != EINTR) throw TransportError(where + ": " + what + ": poll: " + std::strerror(errno));
    }
  };
  if (::connect(fd, address.addr(), address.length()) != 0) {
    if (errno != EINPROGRESS) throw TransportError(where + ": connect: " + std::strerror(errno));
    waitFor(POLLOUT, "connect");
    int error = 0;
    socklen_t len = sizeof(error);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
    if (error != 0) throw TransportError(where + ": connect: " + std::strerror(error));
  }
  try {
    socket.setBlocking(false);  // Poco's own flag, so that attach() leaves the handshake to the loop below
    socket.setNoDelay(true);
    if (!https_) {
      socket.setBlocking(true);
      return socket;
    }
    const std::string& name = credentials_.tlsServerName.empty() ? host_ : credentials_.tlsServerName;
    Poco::Net::SecureStreamSocket secure = Poco::Net::SecureStreamSocket::attach(socket, name, tls_);
    for (;;) {
      int rc = secure.completeHandshake();
      if (rc > 0) break;
      if (rc == Poco::Net::SecureStreamSocket::ERR_SSL_WANT_READ) {
        waitFor(POLLIN, "TLS handshake");
      } else if (rc == Poco::Net::SecureStreamSocket::ERR_SSL_WANT_WRITE) {
        waitFor(POLLOUT, "TLS handshake");
      } else {
        throw TransportError(where + ": TLS handshake failed");
      }
    }
    secure.setBlocking(true);
    return secure;
  } catch (const Poco::Exception& e) {
    throw TransportError(where + ": TLS: " + e.displayText());
  }
}

std::unique_ptr<Poco::Net::HTTPClientSession> ApiClient::connect(std::chrono::milliseconds readTimeout) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (aborted_) throw TransportError(credentials_.server + ": shutting down");
  }
  Poco::Net::StreamSocket socket = openSocket();
  Poco::Timespan timeout(readTimeout.count() * Poco::Timespan::MILLISECONDS);
  socket.setReceiveTimeout(timeout);
  socket.setSendTimeout(Poco::Timespan(requestTimeout_.count() * Poco::Timespan::MILLISECONDS));
  // A plain HTTPClientSession over the (secure) socket: TLS is in the socket. Poco's HTTPSClientSession
  // cannot be built on a connected socket (its constructor sets the port and throws), and this session
  // never reconnects by itself: a broken one is dropped and connect() makes the next.
  auto session = std::make_unique<Poco::Net::HTTPClientSession>(socket);
  session->setTimeout(Poco::Timespan(requestTimeout_.count() * Poco::Timespan::MILLISECONDS),
                      Poco::Timespan(requestTimeout_.count() * Poco::Timespan::MILLISECONDS), timeout);
  session->setKeepAlive(true);
  return session;
}

std::unique_ptr<Poco::Net::HTTPClientSession> ApiClient::takeIdle() {
  std::lock_guard<std::mutex> lock(mutex_);
  // Poco reconnects a session idle past its keep-alive timeout (8 s) by itself, with a connect that
  // abort() cannot interrupt; such a session is dropped here and a new one made by connect().
  if (idle_ && std::chrono::steady_clock::now() - idleSince_ > std::chrono::seconds(5)) idle_.reset();
  return std::move(idle_);
}

void ApiClient::putIdle(std::unique_ptr<Poco::Net::HTTPClientSession> session) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (aborted_) return;
  idle_ = std::move(session);
  idleSince_ = std::chrono::steady_clock::now();
}

void ApiClient::authorize(Poco::Net::HTTPRequest& request) const {
  std::string token = credentials_.token;
  // client-go re-reads a token file as it is rotated; reading it per request is as fresh as it gets.
  if (token.empty() && !credentials_.tokenFile.empty()) token = readTokenFile(credentials_.tokenFile);
  if (!token.empty()) request.set("Authorization", "Bearer " + token);
}

ApiResponse ApiClient::exchange(Poco::Net::HTTPClientSession& session, const std::string& method,
                                const std::string& pathAndQuery, const std::string& body,
                                const std::string& contentType) {
  Poco::Net::HTTPRequest request(method, pathAndQuery, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setHost(host_, port_);
  request.set("Accept", "application/json");
  request.set("User-Agent", "podwarden-sink-apiserver");
  authorize(request);
  if (!body.empty()) {
    request.setContentType(contentType);
    request.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  std::ostream& out = session.sendRequest(request);
  ActiveFd active(*this, session.socket().impl()->sockfd());
  if (!body.empty()) out << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  ApiResponse result;
  result.code = static_cast<int>(response.getStatus());
  std::ostringstream buf;
  Poco::StreamCopier::copyStream(in, buf);
  result.body = buf.str();
  if (response.has("Retry-After")) {
    try {
      result.retryAfterSeconds = std::stoi(response.get("Retry-After"));
    } catch (const std::exception&) {
      result.retryAfterSeconds = 0;  // an HTTP date: ignored, our own backoff applies
    }
  }
  return result;
}

ApiResponse ApiClient::request(const std::string& method, const std::string& pathAndQuery, const std::string& body,
                               const std::string& contentType) {
  // A pooled connection may have been closed by the server while idle; then the request is tried once
  // more on a fresh one. Nothing can have been processed: no byte of an answer arrived.
  std::unique_ptr<Poco::Net::HTTPClientSession> session = takeIdle();
  bool reused = session != nullptr;
  for (;;) {
    if (!session) session = connect(requestTimeout_);
    try {
      ApiResponse r = exchange(*session, method, pathAndQuery, body, contentType);
      putIdle(std::move(session));
      return r;
    } catch (const Poco::Exception& e) {
      session.reset();
      if (reused) {
        reused = false;
        continue;
      }
      throw TransportError(describeCall(credentials_.server, method, pathAndQuery) + ": " + e.displayText());
    } catch (const std::runtime_error& e) {  // the token file
      throw TransportError(describeCall(credentials_.server, method, pathAndQuery) + ": " + e.what());
    }
  }
}

int ApiClient::watch(const std::string& pathAndQuery, std::chrono::seconds idleTimeout,
                     const std::function<void()>& onOpen, const std::function<void(const std::string& line)>& onLine,
                     std::string& errorBody) {
  auto session = connect(std::chrono::duration_cast<std::chrono::milliseconds>(idleTimeout));
  try {
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, pathAndQuery, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setHost(host_, port_);
    request.set("Accept", "application/json");
    request.set("User-Agent", "podwarden-sink-apiserver");
    authorize(request);
    session->sendRequest(request);
    ActiveFd active(*this, session->socket().impl()->sockfd());
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    int code = static_cast<int>(response.getStatus());
    if (code != 200) {
      std::ostringstream buf;
      Poco::StreamCopier::copyStream(in, buf);
      errorBody = buf.str();
      return code;
    }
    onOpen();
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) onLine(line);
    }
    return code;
  } catch (const Poco::Exception& e) {
    throw TransportError(describeCall(credentials_.server, "GET", pathAndQuery) + ": " + e.displayText());
  } catch (const std::runtime_error& e) {
    throw TransportError(describeCall(credentials_.server, "GET", pathAndQuery) + ": " + e.what());
  }
}

}  // namespace podwarden::sink_apiserver
