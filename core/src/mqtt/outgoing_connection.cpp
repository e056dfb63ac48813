#include "mqtt/outgoing_connection.hpp"

#include <MQTTClient.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "delivery/publish_check.hpp"
#include "mqtt/connect_options.hpp"
#include "pod/protocol.hpp"
#include "routemq/errors.hpp"

namespace routemq::detail {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// How long publish() may wait to connect or for room in the broker's window before it throws.
constexpr milliseconds kPublishWait{5000};
/// MQTT 3.1.1 has no Receive Maximum; this many QoS 1/2 publishes are left unacknowledged at most.
constexpr std::size_t kWindowWithoutReceiveMaximum = 100;
/// How long a wait for the broker's answer blocks before it asks Paho whether the connection is
/// still up: a safety net only, since the connection-lost callback wakes the wait at once.
constexpr milliseconds kConnectionCheck{1000};
/// A publish the broker closed the connection over this many times in a row is taken as refused:
/// a broker drops the connection, rather than answer, over a publish it cannot take (mosquitto on
/// a protocol error or a packet over its limit), and sending it again would loop forever.
constexpr int kMaxLostConnections = 3;

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

struct outgoing_connection::impl {
    std::shared_ptr<spdlog::logger> log;
    /// A publish as the caller hands it over: nothing copied.
    struct outgoing_view {
        const std::string& topic;
        std::string_view payload;
        int qos = 0;
        bool retain = false;
        const publish_properties& properties;
    };
    /// A QoS 1/2 publish kept until the broker answers, to be sent again after a lost connection.
    struct outgoing {
        std::string topic;
        std::string payload;
        int qos = 0;
        bool retain = false;
        publish_properties properties;
        outgoing_view view() const {
            return {.topic = topic,
                    .payload = payload,
                    .qos = qos,
                    .retain = retain,
                    .properties = properties};
        }
    };
    static outgoing copy(const outgoing_view& m) {
        return {.topic = m.topic,
                .payload = std::string(m.payload),
                .qos = m.qos,
                .retain = m.retain,
                .properties = m.properties};
    }
    struct answer {
        MQTTClient_deliveryToken token = 0;
        int reason_code = 0;
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

    // Held by every member function of outgoing_connection: serializes this connection's calls
    // into Paho and guards everything down to `answers_mu`. Paho's thread never takes it.
    std::mutex mu;
    std::vector<unacked> pending;  // in the order sent; a vector: usually one or none
    /// What the broker refused since the last confirm().
    std::vector<refused_publish> refused;
    /// What it took without a subscriber to send it to, since the last confirm().
    std::vector<std::string> unheard;
    std::size_t max_packet = kMaxMqttPacket;
    /// The CONNACK's Retain Available (MQTT 5): a broker without it closes the connection over a
    /// retained publish.
    bool retain_available = true;
    std::size_t window = kWindowWithoutReceiveMaximum;
    std::size_t inflight = 0;  // entries of `pending` sent on the current connection
    std::size_t connects = 0;
    clock::time_point next_attempt{};
    milliseconds backoff{0};
    /// The answers taken from `answers` by forget_acknowledged(); kept to reuse its memory.
    std::vector<answer> taken;
    /// A 0x10 answer whose on_delivered has not come yet: back into `answers` for the next round.
    std::vector<answer> carried;
    /// The properties of the publish being sent, as Paho reads them; kept to reuse its memory.
    std::vector<MQTTProperty> property_view;
    /// Connected since the last connect, unless `lost` says otherwise.
    bool up = false;

    // Written by Paho's thread (its callbacks run with Paho's own lock held), read by ours.
    // Never held while calling into Paho, which would deadlock against that lock.
    std::mutex answers_mu;
    std::condition_variable answered;
    /// The broker's answers not yet matched to `pending`: the token of each PUBACK or PUBCOMP
    /// (reason code 0) and each failure reason code (0x80 or more, MQTT 5).
    std::vector<answer> answers;
    /// The connection was lost since the last connect (written under `answers_mu`, so that a
    /// wait on `answered` sees it; read without it).
    std::atomic<bool> lost{false};

    bool v5() const { return mqtt.protocol == mqtt_protocol::v5; }
    /// Connected, as Paho last said: a connect sets it, its connection-lost callback ends it (no
    /// call into Paho, whose every call takes its process-wide lock).
    bool connected() {
        if (up && lost.load(std::memory_order_acquire)) {
            up = false;
        }
        return up;
    }

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
                retain_available =
                    r.properties == nullptr ||
                    !MQTTProperties_hasProperty(r.properties, MQTTPROPERTY_CODE_RETAIN_AVAILABLE) ||
                    MQTTProperties_getNumericValue(r.properties,
                                                   MQTTPROPERTY_CODE_RETAIN_AVAILABLE) != 0;
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
            log->warn("outgoing connection '{}' to {}:{} failed: {}", client_id, mqtt.broker,
                      mqtt.port, why);
            return false;
        }
        window = receive_maximum;
        ++connects;
        {
            // What the lost connection left unanswered is sent again, under new tokens.
            std::lock_guard lock(answers_mu);
            answers.clear();
            lost = false;
        }
        up = true;
        if (connects == 1) {
            log->info("outgoing connection '{}' to {}:{} up (window {})", client_id, mqtt.broker,
                      mqtt.port, window);
        } else {
            log->info(
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
                // No attempt fits before the deadline: wait it out here, so that a caller that
                // loops until its deadline (confirm) does not spin meanwhile.
                std::this_thread::sleep_until(deadline);
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
            if (send(u.message.view(), &token) != MQTTCLIENT_SUCCESS || !connected()) {
                return false;
            }
            u.token = token;
            u.sent = true;
            ++inflight;
        }
        return true;
    }

    /// `properties` as Paho reads them, pointing into them and `property_view`: Paho copies
    /// what it keeps, so nothing is copied here (MQTTProperties_add would copy every string, and
    /// MQTTProperties_free free them again, for each publish). check_publish() has bounded every
    /// string, so their lengths fit Paho's ints.
    MQTTProperties properties_of(const publish_properties& properties) {
        property_view.clear();
        const auto bytes = [](const std::string& s) {
            return MQTTLenString{static_cast<int>(s.size()), const_cast<char*>(s.data())};
        };
        for (const auto& [key, value] : properties.user_properties) {
            MQTTProperty p{};
            p.identifier = MQTTPROPERTY_CODE_USER_PROPERTY;
            p.value.data = bytes(key);
            p.value.value = bytes(value);
            property_view.push_back(p);
        }
        const auto add_one = [&](MQTTPropertyCodes code, const std::string& value) {
            if (!value.empty()) {
                MQTTProperty p{};
                p.identifier = code;
                p.value.data = bytes(value);
                property_view.push_back(p);
            }
        };
        add_one(MQTTPROPERTY_CODE_RESPONSE_TOPIC, properties.response_topic);
        add_one(MQTTPROPERTY_CODE_CORRELATION_DATA, properties.correlation_data);
        MQTTProperties props = MQTTProperties_initializer;
        props.count = static_cast<int>(property_view.size());
        props.max_count = props.count;
        props.length = static_cast<int>(properties_length(properties));
        props.array = property_view.empty() ? nullptr : property_view.data();
        return props;
    }

    /// Writes one PUBLISH; `token` gets its delivery token when QoS > 0.
    int send(const outgoing_view& m, MQTTClient_deliveryToken* token) {
        MQTTClient_message msg = MQTTClient_message_initializer;
        msg.payload = const_cast<char*>(m.payload.data());
        msg.payloadlen = static_cast<int>(m.payload.size());
        msg.qos = m.qos;
        msg.retained = m.retain ? 1 : 0;
        if (!v5()) {
            return MQTTClient_publishMessage(handle, m.topic.c_str(), &msg, token);
        }
        msg.properties = properties_of(m.properties);
        MQTTResponse r = MQTTClient_publishMessage5(handle, m.topic.c_str(), &msg, token);
        const int rc = response_code(r);
        MQTTResponse_free(r);
        return rc;
    }

    /// Matches the broker's answers (collected by Paho's thread) to what was sent, and forgets
    /// what was answered; a failure reason code makes it refused.
    void forget_acknowledged() {
        {
            std::lock_guard lock(answers_mu);
            taken.swap(answers);
        }
        if (taken.empty()) {
            return;
        }
        std::sort(taken.begin(), taken.end(), [](const answer& x, const answer& y) {
            return x.token != y.token ? x.token < y.token : x.reason_code > y.reason_code;
        });
        const auto before = pending.size();
        std::erase_if(pending, [&](const unacked& u) {
            if (!u.sent) {
                return false;
            }
            // Sorted with the failure, if any, first among the answers with this token.
            const auto it = std::lower_bound(
                taken.begin(), taken.end(), u.token,
                [](const answer& x, MQTTClient_deliveryToken t) { return x.token < t; });
            if (it == taken.end() || it->token != u.token) {
                return false;
            }
            if (it->reason_code >= MQTTREASONCODE_UNSPECIFIED_ERROR) {
                refused.push_back(
                    {.topic = u.message.topic,
                     .reason_code = it->reason_code,
                     .reason = fmt::format(
                         "{} (0x{:02x})",
                         MQTTReasonCode_toString(static_cast<MQTTReasonCodes>(it->reason_code)),
                         it->reason_code)});
                return true;
            }
            if (it->reason_code == MQTTREASONCODE_NO_MATCHING_SUBSCRIBERS) {
                // Paho reports the reason code before it has finished with the PUBACK; the
                // publish is answered once on_delivered says so, right after.
                const auto next = std::next(it);
                if (next == taken.end() || next->token != u.token) {
                    carried.push_back(*it);
                    return false;
                }
                unheard.push_back(u.message.topic);
            }
            return true;
        });
        taken.clear();
        if (!carried.empty()) {
            std::lock_guard lock(answers_mu);
            answers.insert(answers.end(), carried.begin(), carried.end());
            carried.clear();
        }
        inflight -= before - pending.size();
    }

    void take_answer(answer a) {
        {
            std::lock_guard lock(answers_mu);
            answers.push_back(a);
        }
        answered.notify_one();
    }

    // Paho's callbacks, on its own thread (MQTTClient_run) with its lock held: they take only
    // `answers_mu`, and nothing escapes them into Paho's C code.

    /// PUBACK (QoS 1) or PUBCOMP (QoS 2): the publish with this token is answered.
    static void on_delivered(void* context, MQTTClient_deliveryToken token) noexcept {
        try {
            static_cast<impl*>(context)->take_answer({.token = token, .reason_code = 0});
        } catch (...) {
        }
    }

    /// MQTT 5: the reason code of a PUBACK, PUBCOMP or PUBREC. 0x80 and above is a refusal,
    /// never a confirmation (a refusing PUBREC ends the exchange with no on_delivered); 0x10 (No
    /// matching subscribers) a success that reached nobody.
    static void on_published(void* context, int token, int /*packet_type*/,
                             MQTTProperties* /*properties*/, MQTTReasonCodes code) noexcept {
        try {
            const auto rc = static_cast<int>(code);
            if (rc >= MQTTREASONCODE_UNSPECIFIED_ERROR ||
                rc == MQTTREASONCODE_NO_MATCHING_SUBSCRIBERS) {
                static_cast<impl*>(context)->take_answer({.token = token, .reason_code = rc});
            }
        } catch (...) {
        }
    }

    static void on_connection_lost(void* context, char* /*cause*/) noexcept {
        try {
            auto& m = *static_cast<impl*>(context);
            {
                std::lock_guard lock(m.answers_mu);
                m.lost = true;
            }
            m.answered.notify_one();
        } catch (...) {
        }
    }

    /// Nothing is subscribed on this connection; a message would only be freed.
    static int on_message(void* /*context*/, char* topic, int /*topic_len*/,
                          MQTTClient_message* message) noexcept {
        MQTTClient_freeMessage(&message);
        MQTTClient_free(topic);
        return 1;
    }

    /// Blocks until the broker answers, the connection is lost or `deadline` passes, then
    /// forgets what was answered. Paho's own thread reads the socket and wakes this one.
    void wait_for_progress(clock::time_point deadline) {
        bool answered_now = false;
        {
            std::unique_lock lock(answers_mu);
            answered_now =
                answered.wait_until(lock, std::min(deadline, clock::now() + kConnectionCheck),
                                    [&] { return !answers.empty() || lost.load(); });
        }
        if (!answered_now && MQTTClient_isConnected(handle) == 0) {
            up = false;  // a loss Paho did not call back about: found by asking it
        }
        forget_acknowledged();
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

    void publish(const outgoing_view& m) {
        check_publish(m.topic, m.payload.size(), m.qos, m.properties,
                      {.v5 = v5(), .max_packet = max_packet});
        const auto deadline = clock::now() + kPublishWait;
        forget_acknowledged();
        if (!connected()) {
            reconnect(clock::now());  // one attempt at most (none while backing off)
        }
        if (m.retain && !retain_available) {
            throw publish_error(fmt::format(
                "cannot publish to '{}' retained: the broker keeps no retained messages (its "
                "CONNACK says Retain Available 0)",
                printable_topic(m.topic)));
        }
        if (connected() && send_unsent(deadline) && (m.qos == 0 || make_room(deadline))) {
            MQTTClient_deliveryToken token = 0;
            const int rc = send(m, &token);
            if (rc == MQTTCLIENT_DISCONNECTED) {
                up = false;  // Paho found the connection gone before it called back about it
            }
            if (rc == MQTTCLIENT_SUCCESS && connected()) {
                if (m.qos > 0) {
                    pending.push_back({token, true, copy(m)});
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
        pending.push_back({0, false, copy(m)});
    }

    confirmation confirm(milliseconds timeout) {
        const auto deadline = clock::now() + timeout;
        bool reported = false;
        const auto finish = [this](bool complete) {
            confirmation c{.complete = complete, .refused = {}};
            c.refused.swap(refused);  // the caller logs them, naming the message they came from
            c.unheard.swap(unheard);
            return c;
        };
        while (!pending.empty()) {
            if (!connected()) {
                if (!reported) {
                    reported = true;
                    log->warn(
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
                log->warn(
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
            log->warn("outgoing connection '{}' closes with {} publishes unacknowledged", client_id,
                      pending.size());
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
        // Paho calls no connection-lost callback for a disconnect of ours.
        up = false;
        std::lock_guard lock(answers_mu);
        answers.clear();
        lost = false;
    }
};

outgoing_connection::outgoing_connection(mqtt_settings mqtt, tls_settings tls,
                                         std::string client_id, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<impl>()) {
    auto& m = *impl_;
    m.log = std::move(log);
    m.mqtt = std::move(mqtt);
    m.tls = std::move(tls);
    m.client_id = std::move(client_id);
    const auto uri = broker_uri(m.mqtt, m.tls.enabled);
    MQTTClient_createOptions co = MQTTClient_createOptions_initializer;
    co.MQTTVersion = m.v5() ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
    const int rc = MQTTClient_createWithOptions(&m.handle, uri.c_str(), m.client_id.c_str(),
                                                MQTTCLIENT_PERSISTENCE_NONE, nullptr, &co);
    if (rc != MQTTCLIENT_SUCCESS) {
        throw mqtt_error(
            fmt::format("cannot create the outgoing MQTT client for {}: {}", uri, error_text(rc)));
    }
    // With callbacks, Paho's own thread (one per process for every MQTTClient) reads the socket,
    // answers the broker's pings and calls them; a confirm() blocks until one wakes it.
    int set = MQTTClient_setCallbacks(m.handle, &m, &impl::on_connection_lost, &impl::on_message,
                                      &impl::on_delivered);
    if (set == MQTTCLIENT_SUCCESS && m.v5()) {
        set = MQTTClient_setPublished(m.handle, &m, &impl::on_published);
    }
    if (set != MQTTCLIENT_SUCCESS) {
        MQTTClient_destroy(&m.handle);
        throw mqtt_error(
            fmt::format("cannot set the outgoing MQTT client's callbacks: {}", error_text(set)));
    }
}

outgoing_connection::~outgoing_connection() {
    {
        std::lock_guard lock(impl_->mu);
        impl_->disconnect(milliseconds(1000));
    }
    MQTTClient_destroy(&impl_->handle);
}

void outgoing_connection::publish(const std::string& topic, std::string_view payload, int qos,
                                  bool retain) {
    publish(topic, payload, qos, retain, publish_properties{});
}

void outgoing_connection::publish(const std::string& topic, std::string_view payload, int qos,
                                  bool retain, const publish_properties& properties) {
    std::lock_guard lock(impl_->mu);
    impl_->publish({.topic = topic,
                    .payload = payload,
                    .qos = qos,
                    .retain = retain,
                    .properties = properties});
}

confirmation outgoing_connection::confirm(std::chrono::milliseconds timeout) noexcept {
    try {
        std::lock_guard lock(impl_->mu);
        return impl_->confirm(timeout);
    } catch (const std::exception& e) {
        try {
            impl_->log->error("confirming publishes failed: {}", e.what());
        } catch (...) {
        }
    } catch (...) {
    }
    return {};
}

bool outgoing_connection::connect(std::chrono::milliseconds timeout) noexcept {
    try {
        std::lock_guard lock(impl_->mu);
        // Through reconnect(): after a lost connection, what it left unacknowledged is sent again.
        return impl_->connected() || impl_->reconnect(clock::now() + timeout);
    } catch (...) {
        return false;
    }
}

std::size_t outgoing_connection::unconfirmed() const {
    std::lock_guard lock(impl_->mu);
    return impl_->pending.size();
}

void outgoing_connection::disconnect(std::chrono::milliseconds timeout) {
    std::lock_guard lock(impl_->mu);
    impl_->disconnect(timeout);
}

std::size_t outgoing_connection::connects() const {
    std::lock_guard lock(impl_->mu);
    return impl_->connects;
}

}  // namespace routemq::detail
