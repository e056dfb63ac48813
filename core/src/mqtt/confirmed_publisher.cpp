#include "mqtt/confirmed_publisher.hpp"

#include <MQTTClient.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <iterator>
#include <mutex>
#include <thread>

#include "mqtt/connect_options.hpp"
#include "routemq/errors.hpp"
#include "routing/publish_check.hpp"

namespace routemq::detail {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// How long publish() may wait to connect or for room in the broker's window before it throws.
constexpr milliseconds kPublishWait{5000};
/// MQTT 3.1.1 has no Receive Maximum; this many QoS 1/2 publishes are left unacknowledged at most.
constexpr std::size_t kWindowWithoutReceiveMaximum = 100;
/// A blocking turn of the network loop. MQTTClient_receive() returns only when its whole timeout
/// has passed (or a message arrived, which never happens here: nothing is subscribed), and
/// MQTTClient_yield()/waitForCompletion() turn for 100 ms each, so turns are short.
constexpr milliseconds kTurn{1};
/// How long confirm() polls without blocking before it blocks in Paho's loop.
constexpr milliseconds kSpin{2};
/// A publish the broker closed the connection over this many times in a row is taken as refused:
/// a broker drops the connection, rather than answer, over a publish it cannot take (mosquitto on
/// a protocol error or a packet over its limit), and sending it again would loop forever.
constexpr int kMaxLostConnections = 3;

/// Paho's synchronous library keeps its sockets in process-wide lists, and two threads turning its
/// network loop at once (even for two clients) use freed memory (seen under AddressSanitizer):
/// every call into it from this file holds this one lock.
std::mutex& paho_sync_lock() {
    static std::mutex lock;
    return lock;
}

/// Paho stores its own negative error codes in MQTTResponse's enum-typed reasonCode: read it as
/// the int it is (loading it as the enum is undefined behaviour, and UBSan says so).
int response_code(const MQTTResponse& r) {
    int code = 0;
    static_assert(sizeof(code) == sizeof(r.reasonCode));
    std::memcpy(&code, &r.reasonCode, sizeof(code));
    return code;
}

const char* error_text(int rc) {
    return MQTTClient_strerror(rc);
}

}  // namespace

struct confirmed_publisher::impl {
    struct outgoing {
        std::string topic;
        std::string payload;
        int qos = 0;
        bool retain = false;
        publish_properties properties;
    };
    struct unacked {
        MQTTClient_deliveryToken token = 0;
        bool sent = false;  // on the current connection, with `token`
        outgoing message;
        /// Connections lost while it was sent and unacknowledged.
        int lost_connections = 0;
    };

    mqtt_settings mqtt;
    tls_settings tls;
    std::string client_id;
    MQTTClient handle = nullptr;

    std::deque<unacked> pending;
    /// Failure reason codes read from the broker's acknowledgements (MQTT 5), by token, until
    /// forget_acknowledged() matches them to their publishes. Locked: when another MQTTClient of
    /// the process has callbacks, Paho's own thread reads the acknowledgements (see turn()).
    std::mutex failed_acks_mu;
    std::vector<std::pair<MQTTClient_deliveryToken, int>> failed_acks;
    /// What the broker refused since the last confirm().
    std::vector<refused_publish> refused;
    std::size_t max_packet = kMaxMqttPacket;
    std::size_t window = kWindowWithoutReceiveMaximum;
    std::size_t inflight = 0;  // entries of `pending` sent on the current connection
    std::size_t connects = 0;
    clock::time_point next_attempt{};
    milliseconds backoff{0};
    bool warned_threaded = false;

    bool v5() const { return mqtt.protocol == mqtt_protocol::v5; }
    bool connected() const { return MQTTClient_isConnected(handle) != 0; }

    /// One connection attempt, bounded by `deadline` (Paho counts in whole seconds).
    bool connect_once(clock::time_point deadline) {
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - clock::now());
        MQTTClient_connectOptions co = MQTTClient_connectOptions_initializer;
        if (v5()) {
            co = MQTTClient_connectOptions_initializer5;
            co.cleanstart = 1;
        } else {
            co.cleansession = 1;
        }
        co.keepAliveInterval = static_cast<int>(mqtt.keepalive.count());
        co.connectTimeout = static_cast<int>(std::max<long long>(1, (left.count() + 999) / 1000));
        co.retryInterval = 0;  // MQTT 3.1.1 and 5 resend only after a reconnect; we do that
        // Paho's own limit blocks publish() in 100 ms sleeps; ours (`window`) stays below it.
        co.maxInflightMessages = 65535;
        MQTTClient_SSLOptions ssl = MQTTClient_SSLOptions_initializer;
        apply_credentials_and_tls(co, ssl, mqtt, tls);
        int rc = 0;
        std::size_t receive_maximum = kWindowWithoutReceiveMaximum;
        if (v5()) {
            MQTTResponse r = MQTTClient_connect5(handle, &co, nullptr, nullptr);
            rc = response_code(r);
            if (rc == MQTTCLIENT_SUCCESS) {
                receive_maximum = 65535;  // MQTT 5's value when the CONNACK names none
                if (r.properties != nullptr &&
                    MQTTProperties_hasProperty(r.properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM)) {
                    const int most = MQTTProperties_getNumericValue(
                        r.properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM);
                    receive_maximum = most > 0 ? static_cast<std::size_t>(most) : 1;
                }
                max_packet = kMaxMqttPacket;
                if (r.properties != nullptr &&
                    MQTTProperties_hasProperty(r.properties,
                                               MQTTPROPERTY_CODE_MAXIMUM_PACKET_SIZE)) {
                    const auto most = static_cast<unsigned int>(MQTTProperties_getNumericValue(
                        r.properties, MQTTPROPERTY_CODE_MAXIMUM_PACKET_SIZE));
                    max_packet = std::min<std::size_t>(most, kMaxMqttPacket);
                }
            }
            MQTTResponse_free(r);
        } else {
            rc = MQTTClient_connect(handle, &co);
        }
        if (rc != MQTTCLIENT_SUCCESS) {
            const char* why =
                rc > 0 ? MQTTReasonCode_toString(static_cast<MQTTReasonCodes>(rc)) : error_text(rc);
            spdlog::warn("outgoing connection '{}' to {}:{} failed: {}", client_id, mqtt.broker,
                         mqtt.port, why);
            return false;
        }
        window = receive_maximum;
        ++connects;
        if (connects == 1) {
            spdlog::info("outgoing connection '{}' to {}:{} up (window {})", client_id, mqtt.broker,
                         mqtt.port, window);
        } else {
            spdlog::info(
                "outgoing connection '{}' to {}:{} up again; sending {} unacknowledged "
                "publishes again",
                client_id, mqtt.broker, mqtt.port, pending.size());
        }
        return true;
    }

    /// Connects (retrying with a growing pause) until `deadline`, then sends again what the lost
    /// connection left unacknowledged. False when the deadline passed first.
    bool reconnect(clock::time_point deadline) {
        if (!connected()) {
            count_lost_connection();
        }
        while (!connected()) {
            if (next_attempt >= deadline) {
                return false;
            }
            std::this_thread::sleep_until(next_attempt);
            if (connect_once(std::max(deadline, clock::now() + milliseconds(1000)))) {
                backoff = milliseconds(0);
                next_attempt = {};
                break;
            }
            backoff = std::clamp(backoff * 2, milliseconds(100), milliseconds(2000));
            next_attempt = clock::now() + backoff;
        }
        return send_unsent(deadline);
    }

    /// The connection is lost: what was sent on it and not acknowledged is sent again on the next
    /// one (a clean session: the broker forgot it, and so did Paho), unless the broker closed the
    /// connection over it kMaxLostConnections times, which makes it refused.
    void count_lost_connection() {
        for (auto it = pending.begin(); it != pending.end();) {
            if (it->sent && ++it->lost_connections >= kMaxLostConnections) {
                refused.push_back(
                    {.topic = it->message.topic,
                     .reason_code = 0,
                     .reason = fmt::format("the broker closed the connection each of the {} "
                                           "times it was sent",
                                           kMaxLostConnections)});
                it = pending.erase(it);
                continue;
            }
            it->sent = false;
            ++it;
        }
        inflight = 0;
    }

    /// Sends, in order, what is remembered but not sent on this connection.
    bool send_unsent(clock::time_point deadline) {
        for (auto& u : pending) {
            if (u.sent) {
                continue;
            }
            if (!make_room(deadline)) {
                return false;
            }
            MQTTClient_deliveryToken token = 0;
            if (send(u.message, &token) != MQTTCLIENT_SUCCESS || !connected()) {
                return false;
            }
            u.token = token;
            u.sent = true;
            ++inflight;
        }
        return true;
    }

    /// Writes one PUBLISH; `token` gets its delivery token when QoS > 0.
    int send(const outgoing& m, MQTTClient_deliveryToken* token) {
        MQTTClient_message msg = MQTTClient_message_initializer;
        msg.payload = const_cast<char*>(m.payload.data());
        msg.payloadlen = static_cast<int>(m.payload.size());
        msg.qos = m.qos;
        msg.retained = m.retain ? 1 : 0;
        if (!v5()) {
            return MQTTClient_publishMessage(handle, m.topic.c_str(), &msg, token);
        }
        MQTTProperties props = MQTTProperties_initializer;
        auto add_bytes = [&](MQTTPropertyCodes code, const std::string& value) {
            MQTTProperty p{};
            p.identifier = code;
            p.value.data.data = const_cast<char*>(value.data());
            p.value.data.len = static_cast<int>(value.size());
            MQTTProperties_add(&props, &p);  // copies the bytes
        };
        for (const auto& [key, value] : m.properties.user_properties) {
            MQTTProperty p{};
            p.identifier = MQTTPROPERTY_CODE_USER_PROPERTY;
            p.value.data.data = const_cast<char*>(key.data());
            p.value.data.len = static_cast<int>(key.size());
            p.value.value.data = const_cast<char*>(value.data());
            p.value.value.len = static_cast<int>(value.size());
            MQTTProperties_add(&props, &p);
        }
        if (!m.properties.response_topic.empty()) {
            add_bytes(MQTTPROPERTY_CODE_RESPONSE_TOPIC, m.properties.response_topic);
        }
        if (!m.properties.correlation_data.empty()) {
            add_bytes(MQTTPROPERTY_CODE_CORRELATION_DATA, m.properties.correlation_data);
        }
        msg.properties = props;
        MQTTResponse r = MQTTClient_publishMessage5(handle, m.topic.c_str(), &msg, token);
        const int rc = response_code(r);
        MQTTResponse_free(r);
        MQTTProperties_free(&props);
        return rc;
    }

    /// One turn of the network loop on this thread: reads the broker's acknowledgements (and
    /// sends a PINGREQ when the keepalive is due), then forgets what was acknowledged.
    void turn(milliseconds slice) {
        char* topic = nullptr;
        int topic_len = 0;
        MQTTClient_message* msg = nullptr;
        const int rc = MQTTClient_receive(handle, &topic, &topic_len, &msg,
                                          static_cast<unsigned long>(slice.count()));
        if (msg != nullptr) {
            MQTTClient_freeMessage(&msg);
        }
        if (topic != nullptr) {
            MQTTClient_free(topic);
        }
        if (rc == MQTTCLIENT_FAILURE && connected()) {
            // Another MQTTClient of this process has callbacks, so Paho's background thread
            // reads every synchronous client's socket, ours included: let it.
            if (!warned_threaded) {
                warned_threaded = true;
                spdlog::warn(
                    "outgoing connection '{}': another MQTTClient with callbacks runs "
                    "in this process; acknowledgements are read by its thread",
                    client_id);
            }
            std::this_thread::sleep_for(slice);
        }
        forget_acknowledged();
    }

    void forget_acknowledged() {
        if (inflight == 0) {
            return;
        }
        MQTTClient_deliveryToken* tokens = nullptr;
        if (MQTTClient_getPendingDeliveryTokens(handle, &tokens) != MQTTCLIENT_SUCCESS) {
            return;
        }
        std::vector<MQTTClient_deliveryToken> open;
        for (auto* t = tokens; t != nullptr && *t != -1; ++t) {
            open.push_back(*t);
        }
        MQTTClient_free(tokens);
        std::sort(open.begin(), open.end());
        const auto before = pending.size();
        std::lock_guard acks_lock(failed_acks_mu);
        std::erase_if(pending, [&](const unacked& u) {
            if (!u.sent || std::binary_search(open.begin(), open.end(), u.token)) {
                return false;
            }
            const auto failed = std::find_if(failed_acks.begin(), failed_acks.end(),
                                             [&](const auto& ack) { return ack.first == u.token; });
            if (failed != failed_acks.end()) {
                refused.push_back(
                    {.topic = u.message.topic,
                     .reason_code = failed->second,
                     .reason = fmt::format(
                         "{} (0x{:02x})",
                         MQTTReasonCode_toString(static_cast<MQTTReasonCodes>(failed->second)),
                         failed->second)});
            }
            return true;
        });
        failed_acks.clear();
        inflight -= before - pending.size();
    }

    /// Paho's published callback (MQTT 5), on the thread turning the loop: PUBACK, PUBCOMP or a
    /// PUBREC with its reason code. 0x80 and above is a refusal, never a confirmation.
    static void on_published(void* context, int token, int /*packet_type*/,
                             MQTTProperties* /*properties*/, MQTTReasonCodes code) noexcept {
        try {
            const auto rc = static_cast<int>(code);
            if (rc >= MQTTREASONCODE_UNSPECIFIED_ERROR) {
                auto& m = *static_cast<impl*>(context);
                std::lock_guard lock(m.failed_acks_mu);
                m.failed_acks.emplace_back(token, rc);
            }
        } catch (...) {
        }
    }

    /// Reads acknowledgements until one arrives, the connection is lost or `deadline` passes.
    /// A zero-timeout read first and short naps between (an acknowledgement on loopback takes
    /// tens of microseconds, a blocking turn of Paho's loop at least a millisecond), then
    /// blocking turns once the broker is slow to answer.
    void wait_for_progress(clock::time_point deadline) {
        const auto start = clock::now();
        const auto waiting = pending.size();
        while (pending.size() == waiting && connected() && clock::now() < deadline) {
            if (clock::now() - start < kSpin) {
                turn(milliseconds(0));
                if (pending.size() == waiting) {
                    std::this_thread::sleep_for(std::chrono::microseconds(20));
                }
            } else {
                turn(kTurn);
            }
        }
    }

    /// Turns the loop until fewer than `window` publishes are unacknowledged; false when the
    /// connection is lost or `deadline` passes first.
    bool make_room(clock::time_point deadline) {
        while (inflight >= window) {
            if (!connected() || clock::now() >= deadline) {
                return false;
            }
            wait_for_progress(deadline);
        }
        return true;
    }

    void publish(outgoing m) {
        check_publish(m.topic, m.payload.size(), m.qos, m.properties,
                      {.v5 = v5(), .max_packet = max_packet});
        const auto deadline = clock::now() + kPublishWait;
        if (connected()) {
            turn(
                milliseconds(0));  // notices a connection the broker closed, reads acknowledgements
        }
        if (!connected()) {
            reconnect(clock::now());  // one attempt at most (none while backing off)
        }
        if (connected() && send_unsent(deadline) && (m.qos == 0 || make_room(deadline))) {
            MQTTClient_deliveryToken token = 0;
            const int rc = send(m, &token);
            if (rc == MQTTCLIENT_SUCCESS && connected()) {
                if (m.qos > 0) {
                    pending.push_back({token, true, std::move(m)});
                    ++inflight;
                }
                return;
            }
            if (rc != MQTTCLIENT_SUCCESS && connected()) {
                throw mqtt_error(
                    fmt::format("cannot publish to '{}': {}", m.topic, error_text(rc)));
            }
        } else if (connected() && m.qos > 0) {
            throw mqtt_error(fmt::format(
                "cannot publish to '{}': {} publishes still unacknowledged by the broker", m.topic,
                inflight));
        }
        if (m.qos == 0) {
            throw mqtt_error(fmt::format("cannot publish to '{}': no connection to {}:{}", m.topic,
                                         mqtt.broker, mqtt.port));
        }
        // QoS 1/2 without a connection: remembered, sent by the confirm() that reconnects.
        pending.push_back({0, false, std::move(m)});
    }

    confirmation confirm(milliseconds timeout) {
        const auto deadline = clock::now() + timeout;
        bool reported = false;
        const auto finish = [this](bool complete) {
            confirmation c{.complete = complete, .refused = {}};
            c.refused.swap(refused);  // the caller logs them, naming the message they came from
            return c;
        };
        while (!pending.empty()) {
            if (!connected()) {
                if (!reported) {
                    reported = true;
                    spdlog::warn(
                        "outgoing connection '{}' down with {} publishes "
                        "unacknowledged; reconnecting",
                        client_id, pending.size());
                }
                reconnect(deadline);
            } else if (inflight < pending.size()) {
                send_unsent(deadline);
            } else {
                wait_for_progress(deadline);
            }
            if (!pending.empty() && clock::now() >= deadline) {
                spdlog::warn(
                    "outgoing connection '{}': {} publishes not acknowledged by {}:{} "
                    "within {} ms ({})",
                    client_id, pending.size(), mqtt.broker, mqtt.port, timeout.count(),
                    connected() ? "no answer from the broker" : "no connection");
                return finish(false);
            }
        }
        return finish(true);
    }

    void disconnect(milliseconds timeout) {
        if (!pending.empty()) {
            spdlog::warn("outgoing connection '{}' closes with {} publishes unacknowledged",
                         client_id, pending.size());
            pending.clear();
            inflight = 0;
        }
        if (connected()) {
            if (v5()) {
                MQTTClient_disconnect5(handle, static_cast<int>(timeout.count()),
                                       MQTTREASONCODE_SUCCESS, nullptr);
            } else {
                MQTTClient_disconnect(handle, static_cast<int>(timeout.count()));
            }
        }
    }
};

confirmed_publisher::confirmed_publisher(mqtt_settings mqtt, tls_settings tls,
                                         std::string client_id)
    : impl_(std::make_unique<impl>()) {
    auto& m = *impl_;
    m.mqtt = std::move(mqtt);
    m.tls = std::move(tls);
    m.client_id = std::move(client_id);
    const auto uri =
        fmt::format("{}://{}:{}", m.tls.enabled ? "ssl" : "tcp", m.mqtt.broker, m.mqtt.port);
    MQTTClient_createOptions co = MQTTClient_createOptions_initializer;
    co.MQTTVersion = m.v5() ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
    const int rc = MQTTClient_createWithOptions(&m.handle, uri.c_str(), m.client_id.c_str(),
                                                MQTTCLIENT_PERSISTENCE_NONE, nullptr, &co);
    if (rc != MQTTCLIENT_SUCCESS) {
        throw mqtt_error(
            fmt::format("cannot create the outgoing MQTT client for {}: {}", uri, error_text(rc)));
    }
    if (m.v5()) {
        // Reads the reason codes of acknowledgements; called on the thread turning the loop, as
        // this client has no callbacks that would start Paho's own thread.
        MQTTClient_setPublished(m.handle, &m, &impl::on_published);
    }
}

confirmed_publisher::~confirmed_publisher() {
    {
        std::lock_guard lock(paho_sync_lock());
        impl_->disconnect(milliseconds(1000));
    }
    MQTTClient_destroy(&impl_->handle);
}

void confirmed_publisher::publish(const std::string& topic, std::string_view payload, int qos,
                                  bool retain) {
    publish(topic, payload, qos, retain, publish_properties{});
}

void confirmed_publisher::publish(const std::string& topic, std::string_view payload, int qos,
                                  bool retain, const publish_properties& properties) {
    std::lock_guard lock(paho_sync_lock());
    impl_->publish({topic, std::string(payload), qos, retain, properties});
}

confirmation confirmed_publisher::confirm(std::chrono::milliseconds timeout) noexcept {
    try {
        std::lock_guard lock(paho_sync_lock());
        return impl_->confirm(timeout);
    } catch (const std::exception& e) {
        try {
            spdlog::error("confirming publishes failed: {}", e.what());
        } catch (...) {
        }
    } catch (...) {
    }
    return {};
}

bool confirmed_publisher::connect(std::chrono::milliseconds timeout) noexcept {
    try {
        std::lock_guard lock(paho_sync_lock());
        return impl_->connected() || impl_->connect_once(clock::now() + timeout);
    } catch (...) {
        return false;
    }
}

void confirmed_publisher::keep_alive() noexcept {
    try {
        std::unique_lock lock(paho_sync_lock(), std::try_to_lock);
        if (lock.owns_lock() && impl_->connected()) {
            impl_->turn(milliseconds(0));
        }
    } catch (...) {
    }
}

std::size_t confirmed_publisher::unconfirmed() const {
    std::lock_guard lock(paho_sync_lock());
    return impl_->pending.size();
}

void confirmed_publisher::disconnect(std::chrono::milliseconds timeout) {
    std::lock_guard lock(paho_sync_lock());
    impl_->disconnect(timeout);
}

std::size_t confirmed_publisher::connects() const {
    std::lock_guard lock(paho_sync_lock());
    return impl_->connects;
}

}  // namespace routemq::detail
