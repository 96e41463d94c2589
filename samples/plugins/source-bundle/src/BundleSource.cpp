// source-bundle: static pod manifests from one file that must carry a valid Ed25519 signature.
//
// The bundle is `path` (YAML or JSON, one or more Pods, as the host accepts from any source) and its
// detached signature `path`.sig: the raw 64-byte Ed25519 signature of the file's bytes, made with
//   openssl pkeyutl -sign -rawin -inkey signing-key.pem -in pods.yaml -out pods.yaml.sig
// and checked against the public key `publicKey` (PEM). The file is re-read every `pollSeconds`; a new
// snapshot is emitted only when the outcome changed.
//
// What the host sees:
//  - signature valid: one document, origin = path, data = the bundle;
//  - file absent: an empty snapshot (no static pods), as the kubelet does for a missing staticPodPath file;
//  - unreadable, too large, signature missing or not matching: the origin with an error. The host keeps
//    running what it last accepted from that origin and reports the error, so a tampered or half-copied
//    bundle changes nothing.
//
// Threads: start() reads once on the host's thread, then a poll thread of this instance emits; stop()
// joins it. The factory does not declare PW_CAP_CONCURRENT.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <podwarden/plugin.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t kMaxBundleBytes = 10 * 1024 * 1024;  // the kubelet's manifest size limit

const char kConfigSchema[] = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "source-bundle config",
  "type": "object",
  "properties": {
    "path": {"type": "string", "minLength": 1, "description": "Absolute path of the manifest bundle; its signature is <path>.sig."},
    "publicKey": {"type": "string", "minLength": 1, "description": "Absolute path of the Ed25519 public key (PEM) that must have signed it."},
    "pollSeconds": {"type": "integer", "minimum": 1, "maximum": 3600, "default": 10}
  },
  "required": ["path", "publicKey"],
  "additionalProperties": false
})json";

[[noreturn]] void configError(const std::string& message) {
  throw pw::Error(PW_INVALID_ARGUMENT, "source-bundle: config: " + message);
}

// Reads all of `path` (at most `limit` + 1 bytes) into `out`; returns 0 or the errno.
int readFile(const std::string& path, size_t limit, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno != 0 ? errno : EIO;
  std::vector<char> buf(64 * 1024);
  out.clear();
  while (in && out.size() <= limit) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    out.append(buf.data(), static_cast<size_t>(in.gcount()));
  }
  return in.bad() ? EIO : 0;
}

std::string absolutePathField(const Poco::JSON::Object::Ptr& config, const std::string& field) {
  if (!config->has(field)) configError("field \"" + field + "\" is required");
  Poco::Dynamic::Var v = config->get(field);
  if (!v.isString()) configError("field \"" + field + "\" must be a string");
  std::string s = v.convert<std::string>();
  if (s.empty() || s[0] != '/')
    configError("field \"" + field + "\" must be an absolute path, got \"" + s + "\"");
  return s;
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

class BundleSource : public pw::Source {
 public:
  BundleSource(const pw::Host& host, std::string_view configJson, std::string_view /*nodeName*/)
      : host_(host) {
    Poco::JSON::Object::Ptr config;
    try {
      Poco::JSON::Parser parser;
      Poco::Dynamic::Var parsed = parser.parse(std::string(configJson));
      if (parsed.type() == typeid(Poco::JSON::Object::Ptr))
        config = parsed.extract<Poco::JSON::Object::Ptr>();
    } catch (const std::exception& e) {
      configError(std::string("not JSON: ") + e.what());
    }
    if (config.isNull()) configError("must be a JSON object");
    for (const auto& member : *config) {
      if (member.first != "path" && member.first != "publicKey" && member.first != "pollSeconds") {
        configError("unknown field \"" + member.first + "\" (fields: path, publicKey, pollSeconds)");
      }
    }
    path_ = absolutePathField(config, "path");
    keyPath_ = absolutePathField(config, "publicKey");
    if (config->has("pollSeconds")) {
      Poco::Dynamic::Var v = config->get("pollSeconds");
      if (!v.isInteger() || v.convert<int64_t>() < 1 || v.convert<int64_t>() > 3600) {
        configError("field \"pollSeconds\" must be an integer from 1 to 3600");
      }
      pollSeconds_ = v.convert<int>();
    }
    loadKey();
  }

  ~BundleSource() override { stop(); }

  void start(pw_emitter_host_ptr* emitter) override {
    emitter_ = emitter;
    poll(/*force=*/true);
    poller_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!cv_.wait_for(lock, std::chrono::seconds(pollSeconds_), [this] { return stopping_; })) {
        lock.unlock();
        poll(/*force=*/false);
        lock.lock();
      }
    });
  }

  void stop() noexcept override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (poller_.joinable()) poller_.join();
  }

 private:
  void loadKey() {
    std::string pem;
    if (int err = readFile(keyPath_, 64 * 1024, pem); err != 0) {
      throw pw::Error(PW_FAILED_PRECONDITION,
                      "source-bundle: cannot read public key " + keyPath_ + ": " + std::strerror(err));
    }
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                  BIO_free);
    key_.reset(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key_)
      throw pw::Error(PW_INVALID_ARGUMENT, "source-bundle: " + keyPath_ + " is not a PEM public key");
    if (EVP_PKEY_get_base_id(key_.get()) != EVP_PKEY_ED25519) {
      throw pw::Error(PW_INVALID_ARGUMENT, "source-bundle: " + keyPath_ + " is not an Ed25519 public key");
    }
  }

  bool verify(const std::string& data, const std::string& signature) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) return false;
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                            data.size()) == 1;
  }

  // Reads and checks the bundle; emits when the outcome differs from the last one (or `force`).
  void poll(bool force) {
    std::string data;
    std::string signature;
    std::string error;
    bool present = true;
    const std::string sigPath = path_ + ".sig";
    if (int err = readFile(path_, kMaxBundleBytes, data); err == ENOENT) {
      present = false;
    } else if (err != 0) {
      error = "cannot read " + path_ + ": " + std::strerror(err);
    } else if (data.size() > kMaxBundleBytes) {
      error = path_ + " is larger than " + std::to_string(kMaxBundleBytes) + " bytes";
    } else if (int serr = readFile(sigPath, 1024, signature); serr != 0) {
      error = "cannot read the signature " + sigPath + ": " + std::strerror(serr);
    } else if (!verify(data, signature)) {
      error = "the signature " + sigPath + " does not match " + path_ + " for the key " + keyPath_;
    }

    std::string outcome = !present ? "absent" : !error.empty() ? "error:" + error : "ok:" + data;
    if (!force && outcome == lastOutcome_) return;
    lastOutcome_ = std::move(outcome);

    std::vector<pw_manifest_doc> docs;
    if (present)
      docs.push_back(
          pw::manifestDoc(path_, "", error.empty() ? std::string_view(data) : std::string_view(), error));
    if (!error.empty()) host_.warning("source-bundle: " + error + "; keeping what was accepted before");
    pw_status st = host_.emitSnapshot(emitter_, docs);
    if (st != PW_OK) host_.error("source-bundle: the host refused a snapshot of " + path_);
  }

  pw::Host host_;
  std::string path_;
  std::string keyPath_;
  int pollSeconds_ = 10;
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key_;
  pw_emitter_host_ptr* emitter_ = nullptr;
  std::string lastOutcome_;  // touched by start() and then only by the poll thread
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread poller_;
};

const pw_source_vtable kVtable = pw::sourceVtable<BundleSource>();
const pw_factory kFactory = pw::factory(PW_KIND_SOURCE, "bundle", 0, &kVtable);

}  // namespace

PW_DEFINE_PLUGIN("source-bundle", SOURCE_BUNDLE_VERSION,
                 "static pod manifests from a file that must carry a valid Ed25519 signature", kConfigSchema,
                 &kFactory)
