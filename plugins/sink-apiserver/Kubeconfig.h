// Kubeconfig.h - reads the credentials of one context from a standard kubeconfig file (the kubelet's
// --kubeconfig, e.g. /etc/kubernetes/kubelet.conf).
#pragma once

#include <string>

namespace podwarden::sink_apiserver {

// Everything needed to reach and authenticate to one API server. Secrets (keys, tokens) live only here
// and in the TLS context built from it; nothing in this struct is ever logged (see describe()).
struct Credentials {
  std::string server;            // https://host:port (no trailing slash)
  std::string caPem;             // PEM bundle to trust; empty: the system CAs
  bool insecureSkipVerify = false;
  std::string tlsServerName;     // name to verify instead of the server's host; empty: the host
  std::string clientCertPem;     // PEM certificate (chain) for client-certificate authentication
  std::string clientKeyPem;      // PEM private key of clientCertPem
  std::string token;             // bearer token given inline
  std::string tokenFile;         // bearer token read from this file (re-read when it changes)
  std::string contextName;       // the context these came from
  std::string userName;          // the kubeconfig user entry (not the authenticated identity)

  // One line for logs, without any secret: server, context, user entry and the kind of credentials.
  std::string describe() const;
};

// Parses `path` and returns the credentials of `context` (empty: current-context). Relative file names
// in the file are taken relative to the kubeconfig's own directory, as client-go does. Throws
// std::runtime_error naming the file and the field ("kubeconfig /x: users[0].user.client-key: cannot read
// /y: No such file or directory").
Credentials loadKubeconfig(const std::string& path, const std::string& context = "");

// Reads a bearer token file: the content without surrounding white space. Throws naming the file.
std::string readTokenFile(const std::string& path);

}  // namespace podwarden::sink_apiserver
