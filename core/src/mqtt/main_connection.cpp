#include "mqtt/main_connection.hpp"

#include <MQTTAsync.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "mqtt/connect_error.hpp"
#include "mqtt/connect_options.hpp"
#include "pod/protocol.hpp"
#include "routemq/errors.hpp"

namespace routemq::detail {

namespace {

constexpr int kFailureReason = 0x80;  // SUBACK codes from here on are refusals (MQTT 3.1.1 and 5)
/// MQTT 5's Receive Maximum when the broker's CONNACK does not name one; also the 3.1.1 window.
constexpr std::size_t kNoReceiveMaximum = 65535;
/// QoS 1/2 publishes held while the broker's window is full (a handler that fans out, or a
/// connection being re-established); past this, publish() throws.
constexpr std::size_t kMaxPendingPublishes = 100000;
/// The wait before the first retry; it doubles with every failure up to
/// MQTT_RECONNECT_MAX_SECONDS. Paho's own automatic reconnect cannot wait less than a second.
constexpr std::chrono::milliseconds kFirstRetry{100};
/// Failures with an unchanged reason and a wait shorter than this are logged at debug level:
/// a broker restart would otherwise log a warning every few hundred milliseconds.
constexpr std::chrono::milliseconds kQuietRetry{1000};

/// Runs one of Paho's callbacks: whatever it throws is logged here and never reaches Paho's C
/// code (which cannot unwind it).
template <class Body>
void guarded(spdlog::logger& log, const char* callback, Body&& body) noexcept {
    try {
        body();
    } catch (const std::exception& e) {
        try {
            log.error("MQTT {} callback failed: {}", callback, e.what());
        } catch (...) {
        }
    } catch (...) {
        try {
            log.error("MQTT {} callback failed: unknown exception", callback);
        } catch (...) {
        }
    }
}

const char* reason_or(int code, const char* message, const char* fallback) {
    if (code > 0) {
        return MQTTReasonCode_toString(static_cast<MQTTReasonCodes>(code));
    }
    return message != nullptr ? message : fallback;
}

}  // namespace

struct main_connection::impl {
    std::shared_ptr<spdlog::logger> log;
    /// Stable per-subscription context handed to Paho's SUBACK callbacks.
    struct sub_slot {
        impl* self;
        std::size_t index;
    };

    mqtt_settings mqtt;
    tls_settings tls;
    client_identity who;
    std::vector<subscription> subs;
    std::vector<sub_slot> slots;
    message_handler on_message;
    state_handler on_state;
    MQTTAsync handle = nullptr;

    mutable std::mutex mu;
    std::mutex report_mu;  // taken before `mu`, never while holding it
    std::condition_variable cv;
    bool connected = false;
    bool stopping = false;
    bool disconnected = false;
    int connects = 0;
    std::size_t sub_answers = 0;
    std::size_t unsub_answers = 0;
    std::vector<std::string> refused;
    std::chrono::steady_clock::time_point last_message{};
    bool in_message = false;             // a message's handler is running (wait_quiet waits for it)
    std::uint64_t connect_failures = 0;  // every failed attempt, for the state handler
    std::string connect_error;           // why not connected; empty while connected

    // Reconnect scheduling. Paho's automaticReconnect waits at least a second and calls no
    // failure callback after the first connect, so a client of its own thread makes every
    // attempt: never from inside a Paho callback, which only schedule the next one.
    using clock = std::chrono::steady_clock;
    std::thread timer;
    std::mutex timer_mu;
    std::condition_variable timer_cv;
    bool timer_stop = false;
    std::optional<clock::time_point> next_attempt;
    unsigned failures_in_row = 0;                 // since the last connect
    clock::time_point down_since = clock::now();  // when the connection was lost (or started)
    std::string last_failure;  // the previous failure's reason, to log repeats quietly
    std::mutex tls_mu;
    std::string tls_error;  // what OpenSSL said during the current attempt

    // The publish window. Paho's send thread stops handing QoS 1/2 publishes to the socket once
    // the broker's Receive Maximum of them are unacknowledged (mosquitto: 20), and nothing wakes
    // it when a PUBACK frees room: it sleeps up to a second, so a backlog of results drained at
    // 20 per second. The client therefore gives Paho at most `window` of them at a time and hands
    // over the next one from the PUBACK callback, which wakes Paho's send thread at once.
    struct pending_publish {
        std::string topic;
        std::string payload;
        int qos;
        bool retain;
    };
    std::mutex out_mu;
    std::condition_variable out_cv;  // signalled when the window drains
    std::deque<pending_publish> pending;
    std::size_t inflight = 0;
    std::size_t window = kNoReceiveMaximum;
    bool closed = false;  // set before MQTTAsync_destroy, which fails what is still in flight

    bool v5() const { return mqtt.protocol == mqtt_protocol::v5; }

    /// Reports the state to on_state; call without holding `mu`.
    void report_state() {
        if (!on_state) {
            return;
        }
        // Held across snapshot and call, so reports from Paho's thread and the caller's arrive
        // in the order the state changed.
        std::lock_guard order(report_mu);
        client_state st;
        {
            std::lock_guard lock(mu);
            st.connected = connected;
            st.subscribed = connected && sub_answers >= subs.size() && refused.empty();
            st.reconnects = connects > 1 ? static_cast<std::uint64_t>(connects - 1) : 0;
            st.connect_failures = connect_failures;
            st.error = connected ? std::string() : connect_error;
        }
        on_state(st);
    }

    // ---- Paho's callbacks: every one noexcept, its body guarded. Where Paho has an MQTT 3.1.1
    // and an MQTT 5 signature with the same fields, one template serves both. ----

    static int message_arrived(void* ctx, char* topic, int topic_len,
                               MQTTAsync_message* m) noexcept {
        auto* self = static_cast<impl*>(ctx);
        guarded(*self->log, "message", [&] { self->deliver(topic, topic_len, *m); });
        MQTTAsync_freeMessage(&m);
        MQTTAsync_free(topic);
        return 1;  // handled: Paho acknowledges QoS 1/2 now, after the handler ran
    }

    static void connection_lost(void* ctx, char* cause) noexcept {
        guarded(*static_cast<impl*>(ctx)->log, "connection lost",
                [&] { static_cast<impl*>(ctx)->lost(cause); });
    }

    static void on_connected(void* ctx, char* /*cause*/) noexcept {
        guarded(*static_cast<impl*>(ctx)->log, "connected",
                [&] { static_cast<impl*>(ctx)->connected_now(); });
    }
    static void on_connect_success(void* ctx, MQTTAsync_successData*) noexcept {
        guarded(*static_cast<impl*>(ctx)->log, "connect",
                [&] { static_cast<impl*>(ctx)->connected_now(); });
    }
    static void on_connect_success5(void* ctx, MQTTAsync_successData5* r) noexcept {
        guarded(*static_cast<impl*>(ctx)->log, "connect", [&] {
            auto* self = static_cast<impl*>(ctx);
            if (r != nullptr &&
                MQTTProperties_hasProperty(&r->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM)) {
                const auto most = MQTTProperties_getNumericValue(&r->properties,
                                                                 MQTTPROPERTY_CODE_RECEIVE_MAXIMUM);
                self->set_window(most > 0 ? static_cast<std::size_t>(most) : 1);
            }
            self->connected_now();
        });
    }
    static void on_connect_failure(void* ctx, MQTTAsync_failureData* r) noexcept {
        guarded(*static_cast<impl*>(ctx)->log, "connect failure", [&] {
            static_cast<impl*>(ctx)->connect_failed(r != nullptr ? r->code : -1, 0,
                                                    r != nullptr ? r->message : nullptr);
        });
    }
    static void on_connect_failure5(void* ctx, MQTTAsync_failureData5* r) noexcept {
        guarded(*static_cast<impl*>(ctx)->log, "connect failure", [&] {
            static_cast<impl*>(ctx)->connect_failed(r != nullptr ? r->code : -1,
                                                    r != nullptr ? r->reasonCode : 0,
                                                    r != nullptr ? r->message : nullptr);
        });
    }
    /// OpenSSL's reasons for a failed handshake, one line per call (Paho's ssl_error_cb).
    static int on_tls_error(const char* text, std::size_t length, void* ctx) noexcept {
        guarded(*static_cast<impl*>(ctx)->log, "TLS error", [&] {
            auto* self = static_cast<impl*>(ctx);
            auto reason = tls_reason(std::string_view(text, length));
            std::lock_guard lock(self->tls_mu);
            if (self->tls_error.empty()) {  // the first line is the cause, the rest its context
                self->tls_error = std::move(reason);
            }
        });
        return 0;
    }

    static void on_sub_success(void* ctx, MQTTAsync_successData* r) noexcept {
        guarded(*static_cast<sub_slot*>(ctx)->self->log, "subscribe", [&] {
            auto* slot = static_cast<sub_slot*>(ctx);
            const int granted = r != nullptr ? r->alt.qos : kFailureReason;
            slot->self->sub_answered(slot->index, granted >= kFailureReason ? granted : 0,
                                     "refused by the broker");
        });
    }
    static void on_sub_success5(void* ctx, MQTTAsync_successData5* r) noexcept {
        guarded(*static_cast<sub_slot*>(ctx)->self->log, "subscribe", [&] {
            auto* slot = static_cast<sub_slot*>(ctx);
            const int code = r != nullptr ? r->reasonCode : 0;
            slot->self->sub_answered(slot->index, code >= kFailureReason ? code : 0,
                                     reason_or(code, nullptr, "refused"));
        });
    }
    static void on_sub_failure(void* ctx, MQTTAsync_failureData* r) noexcept {
        guarded(*static_cast<sub_slot*>(ctx)->self->log, "subscribe failure", [&] {
            auto* slot = static_cast<sub_slot*>(ctx);
            slot->self->sub_answered(slot->index, r != nullptr ? r->code : -1,
                                     reason_or(0, r != nullptr ? r->message : nullptr, "failed"));
        });
    }
    static void on_sub_failure5(void* ctx, MQTTAsync_failureData5* r) noexcept {
        guarded(*static_cast<sub_slot*>(ctx)->self->log, "subscribe failure", [&] {
            auto* slot = static_cast<sub_slot*>(ctx);
            const int code = r != nullptr ? r->reasonCode : -1;
            slot->self->sub_answered(
                slot->index, code == 0 ? -1 : code,
                reason_or(code, r != nullptr ? r->message : nullptr, "failed"));
        });
    }

    template <class Answer>
    static void on_published(void* ctx, Answer*) noexcept {
        guarded(*static_cast<impl*>(ctx)->log, "publish",
                [&] { static_cast<impl*>(ctx)->publish_done(); });
    }
    template <class Failure>
    static void on_publish_failed(void* ctx, Failure* r) noexcept {
        guarded(*static_cast<impl*>(ctx)->log, "publish failure",
                [&] { static_cast<impl*>(ctx)->publish_failed(r != nullptr ? r->code : -1); });
    }

    template <class Answer>
    static void on_unsub_answer(void* ctx, Answer*) noexcept {
        guarded(*static_cast<impl*>(ctx)->log, "unsubscribe",
                [&] { static_cast<impl*>(ctx)->unsub_answered(); });
    }

    template <class Answer>
    static void on_disconnect_answer(void* ctx, Answer*) noexcept {
        guarded(*static_cast<impl*>(ctx)->log, "disconnect",
                [&] { static_cast<impl*>(ctx)->disconnect_done(); });
    }

    /// Fills in a response's callbacks for the protocol spoken: the MQTT 5 or the 3.1.1 pair.
    template <class Options, class S3, class F3, class S5, class F5>
    void answer_to(Options& o, S3 success, F3 failure, S5 success5, F5 failure5) const {
        if (v5()) {
            o.onSuccess5 = success5;
            o.onFailure5 = failure5;
        } else {
            o.onSuccess = success;
            o.onFailure = failure;
        }
    }

    // ---- what the callbacks do ----

    void deliver(const char* topic, int topic_len, const MQTTAsync_message& m) {
        {
            std::lock_guard lock(mu);
            in_message = true;
        }
        // However the handler ends (the callback wrapper catches what it throws).
        struct done_with_message {
            impl& self;
            ~done_with_message() {
                std::lock_guard lock(self.mu);
                self.last_message = std::chrono::steady_clock::now();
                self.in_message = false;
            }
        } done{*this};
        message msg;
        msg.topic = topic_len > 0 ? std::string(topic, static_cast<std::size_t>(topic_len))
                                  : std::string(topic);
        msg.payload.assign(static_cast<const char*>(m.payload),
                           static_cast<std::size_t>(m.payloadlen));
        msg.qos = m.qos;
        msg.retain = m.retained != 0;
        for (int i = 0; i < m.properties.count; ++i) {
            const auto& p = m.properties.array[i];
            if (p.identifier == MQTTPROPERTY_CODE_USER_PROPERTY) {
                msg.user_properties.emplace_back(
                    std::string(p.value.data.data, static_cast<std::size_t>(p.value.data.len)),
                    std::string(p.value.value.data, static_cast<std::size_t>(p.value.value.len)));
            } else if (p.identifier == MQTTPROPERTY_CODE_RESPONSE_TOPIC) {
                msg.response_topic.assign(p.value.data.data,
                                          static_cast<std::size_t>(p.value.data.len));
            } else if (p.identifier == MQTTPROPERTY_CODE_CORRELATION_DATA) {
                msg.correlation_data.assign(p.value.data.data,
                                            static_cast<std::size_t>(p.value.data.len));
            } else if (p.identifier == MQTTPROPERTY_CODE_SUBSCRIPTION_IDENTIFIER) {
                msg.subscription_ids.push_back(static_cast<int>(p.value.integer4));
            }
        }
        on_message(msg);
    }

    void lost(const char* cause) {
        const std::string why = cause != nullptr && *cause != '\0' ? cause : "no reason given";
        {
            std::lock_guard lock(mu);
            connected = false;
            // Wakes a stop waiting for the broker's UNSUBACK: it will not come now (without
            // this a worker stopped as its broker went away waited out SHUTDOWN_GRACE_SECONDS).
            cv.notify_all();
            if (stopping) {
                return;
            }
            connect_error = fmt::format("connection lost: {}", why);
        }
        log->warn("connection to {}:{} lost ({}); reconnecting in {} ms", mqtt.broker, mqtt.port,
                  why, kFirstRetry.count());
        report_state();
        {
            std::lock_guard lock(timer_mu);
            failures_in_row = 0;
            last_failure.clear();
            down_since = clock::now();
        }
        schedule(kFirstRetry);
    }

    /// Makes the timer thread attempt a connect after `wait`.
    void schedule(std::chrono::milliseconds wait) {
        {
            std::lock_guard lock(timer_mu);
            if (timer_stop) {
                return;
            }
            next_attempt = clock::now() + wait;
        }
        timer_cv.notify_all();
    }

    void timer_loop() {
        std::unique_lock lock(timer_mu);
        while (!timer_stop) {
            if (!next_attempt) {
                timer_cv.wait(lock);
            } else if (clock::now() < *next_attempt) {
                timer_cv.wait_until(lock, *next_attempt);
            } else {
                next_attempt.reset();
                lock.unlock();
                attempt();
                lock.lock();
            }
        }
    }

    /// One connection attempt; its outcome arrives through the connect callbacks.
    void attempt() {
        {
            std::lock_guard lock(tls_mu);
            tls_error.clear();
        }
        MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
        MQTTProperties props = MQTTProperties_initializer;
        const bool clean = !who.persistent_session;
        if (v5()) {
            co = MQTTAsync_connectOptions_initializer5;
            co.cleanstart = clean ? 1 : 0;
            if (!clean && mqtt.session_expiry.count() > 0) {
                MQTTProperty expiry{};
                expiry.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
                expiry.value.integer4 = static_cast<unsigned int>(mqtt.session_expiry.count());
                MQTTProperties_add(&props, &expiry);
            }
            if (mqtt.max_packet_size > 0) {
                // The broker sends nothing bigger to this client: mosquitto drops such a message
                // for it (and logs that), so no handler ever gets one.
                MQTTProperty most{};
                most.identifier = MQTTPROPERTY_CODE_MAXIMUM_PACKET_SIZE;
                most.value.integer4 = mqtt.max_packet_size;
                MQTTProperties_add(&props, &most);
            }
            if (mqtt.receive_maximum > 0) {
                // This process runs one handler at a time: the broker keeps the rest of what it
                // has for this session at home instead of in flight.
                MQTTProperty window{};
                window.identifier = MQTTPROPERTY_CODE_RECEIVE_MAXIMUM;
                window.value.integer2 = static_cast<unsigned short>(mqtt.receive_maximum);
                MQTTProperties_add(&props, &window);
            }
            co.connectProperties = &props;
        } else {
            co.cleansession = clean ? 1 : 0;
            // Not MQTTVERSION_DEFAULT: after a refusal it would try MQTT 3.1 too, which hides the
            // refusal's reason and costs a second per attempt.
            co.MQTTVersion = MQTTVERSION_3_1_1;
        }
        answer_to(co, on_connect_success, on_connect_failure, on_connect_success5,
                  on_connect_failure5);
        co.context = this;
        co.keepAliveInterval = static_cast<int>(mqtt.keepalive.count());
        co.automaticReconnect = 0;
        MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
        apply_credentials_and_tls(co, ssl, mqtt, tls);
        ssl.ssl_error_cb = on_tls_error;  // the failure's reason in words (used with TLS only)
        ssl.ssl_error_context = this;
        const int rc = MQTTAsync_connect(handle, &co);
        MQTTProperties_free(&props);
        if (rc != MQTTASYNC_SUCCESS) {
            connect_failed(rc, 0, nullptr);
        }
    }

    void connected_now() {
        std::unique_lock lock(mu);
        if (connected || stopping) {
            return;  // Paho may report one connect through both onSuccess and `connected`
        }
        connected = true;
        ++connects;
        sub_answers = 0;
        refused.clear();
        connect_error.clear();
        const int n = connects;
        lock.unlock();
        {
            std::lock_guard timer_lock(timer_mu);
            failures_in_row = 0;
            last_failure.clear();
        }
        if (n == 1) {
            log->info("connected to {}:{} as '{}' (MQTT {})", mqtt.broker, mqtt.port, who.client_id,
                      v5() ? "5" : "3.1.1");
        } else {
            log->info("reconnected to {}:{}; subscribing again", mqtt.broker, mqtt.port);
        }
        report_state();
        subscribe_everything();
        fill_window();
        cv.notify_all();
    }

    void connect_failed(int code, int reason_code, const char* message) {
        std::string tls_said;
        {
            std::lock_guard lock(tls_mu);
            tls_said = tls_error;
        }
        const auto why =
            describe_connect_failure(v5(), code, reason_code, message, tls.enabled, tls_said);
        unsigned n = 0;
        bool repeat = false;
        clock::duration down_for{};
        {
            std::lock_guard lock(timer_mu);
            n = ++failures_in_row;
            repeat = why == last_failure;
            last_failure = why;
            down_for = clock::now() - down_since;
        }
        const auto wait = reconnect_wait(
            n, kFirstRetry,
            std::chrono::duration_cast<std::chrono::milliseconds>(mqtt.reconnect_max),
            std::chrono::duration_cast<std::chrono::milliseconds>(down_for));
        {
            std::lock_guard lock(mu);
            if (stopping || connected) {
                return;
            }
            ++connect_failures;
            connect_error = fmt::format("attempt {} failed: {}", n, why);
        }
        log->log(repeat && wait < kQuietRetry ? spdlog::level::debug : spdlog::level::warn,
                 "cannot connect to {}:{} as '{}' (attempt {}): {}; retrying in {} ms", mqtt.broker,
                 mqtt.port, who.client_id, n, why, wait.count());
        report_state();
        schedule(wait);
    }

    /// Stops the timer thread; no attempt starts after this returns.
    void stop_timer() {
        {
            std::lock_guard lock(timer_mu);
            timer_stop = true;
        }
        timer_cv.notify_all();
        if (timer.joinable() && timer.get_id() != std::this_thread::get_id()) {
            timer.join();
        }
    }

    void subscribe_everything() {
        for (std::size_t i = 0; i < subs.size(); ++i) {
            MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
            ro.context = &slots[i];
            answer_to(ro, on_sub_success, on_sub_failure, on_sub_success5, on_sub_failure5);
            if (v5()) {
                ro.subscribeOptions.noLocal = subs[i].no_local ? 1 : 0;
                if (subs[i].id > 0) {
                    MQTTProperty id{};
                    id.identifier = MQTTPROPERTY_CODE_SUBSCRIPTION_IDENTIFIER;
                    id.value.integer4 = static_cast<unsigned int>(subs[i].id);
                    MQTTProperties_add(&ro.properties, &id);
                }
            }
            const int rc = MQTTAsync_subscribe(handle, subs[i].topic.c_str(), subs[i].qos, &ro);
            MQTTProperties_free(&ro.properties);
            if (rc != MQTTASYNC_SUCCESS) {
                sub_answered(i, rc, MQTTAsync_strerror(rc));
            }
        }
    }

    void sub_answered(std::size_t index, int code, const char* why) {
        bool cut_off = false;
        {
            std::lock_guard lock(mu);
            ++sub_answers;
            cut_off = stopping;
            if (code != 0 && !subs[index].optional) {
                refused.push_back(fmt::format("'{}' refused: {} (code {})", subs[index].topic,
                                              why != nullptr ? why : "unknown", code));
            }
        }
        if (code != 0 && cut_off) {
            // Stopped before the SUBACK came (a worker replaced while it drained its session's
            // backlog): a persistent session keeps the subscription anyway.
            log->debug("subscription to '{}' not answered before the stop ({})", subs[index].topic,
                       why != nullptr ? why : "unknown");
        } else if (code != 0 && subs[index].optional) {
            log->warn("subscription to '{}' refused: {} (code {}); going on without it",
                      subs[index].topic, why != nullptr ? why : "unknown", code);
        } else if (code != 0) {
            log->error("subscription to '{}' refused: {} (code {})", subs[index].topic,
                       why != nullptr ? why : "unknown", code);
        } else {
            log->info("subscribed to '{}' (qos {})", subs[index].topic, subs[index].qos);
        }
        report_state();
        cv.notify_all();
    }

    void unsub_answered() {
        {
            std::lock_guard lock(mu);
            ++unsub_answers;
        }
        cv.notify_all();
    }

    void disconnect_done() {
        {
            std::lock_guard lock(mu);
            disconnected = true;
            connected = false;
        }
        report_state();
        cv.notify_all();
    }

    // ---- the publish window ----

    /// Hands one message to Paho; QoS 1/2 ones report back through on_published.
    int send(const std::string& topic, std::string_view payload, int qos, bool retain) {
        MQTTAsync_message msg = MQTTAsync_message_initializer;
        msg.payload = const_cast<char*>(payload.data());
        msg.payloadlen = static_cast<int>(payload.size());
        msg.qos = qos;
        msg.retained = retain ? 1 : 0;
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        if (qos > 0) {
            ro.context = this;
            answer_to(
                ro, on_published<MQTTAsync_successData>, on_publish_failed<MQTTAsync_failureData>,
                on_published<MQTTAsync_successData5>, on_publish_failed<MQTTAsync_failureData5>);
        }
        return MQTTAsync_sendMessage(handle, topic.c_str(), &msg, &ro);
    }

    /// Moves queued publishes into the window while it has room; sends outside the lock, because
    /// Paho may call publish_done on its own thread while it holds its own lock.
    void fill_window() {
        while (true) {
            pending_publish next;
            {
                std::lock_guard lock(out_mu);
                if (closed || pending.empty() || inflight >= window) {
                    return;
                }
                next = std::move(pending.front());
                pending.pop_front();
                ++inflight;
            }
            const int rc = send(next.topic, next.payload, next.qos, next.retain);
            if (rc != MQTTASYNC_SUCCESS) {
                release_slot();
                log->error("publish to '{}' dropped: {}", next.topic, MQTTAsync_strerror(rc));
            }
        }
    }

    void release_slot() {
        {
            std::lock_guard lock(out_mu);
            if (inflight > 0) {
                --inflight;
            }
        }
        out_cv.notify_all();
    }

    void set_window(std::size_t receive_maximum) {
        {
            std::lock_guard lock(out_mu);
            // One below the broker's maximum leaves Paho room for a SUBSCRIBE, which it counts
            // against the same limit.
            window = receive_maximum > 1 ? receive_maximum - 1 : 1;
        }
        fill_window();
    }

    void publish_done() {
        release_slot();
        fill_window();
    }

    void publish_failed(int code) {
        bool quiet = false;
        {
            std::lock_guard lock(out_mu);
            quiet = closed;
        }
        if (!quiet) {
            log->warn("a QoS 1/2 publish was not acknowledged by the broker ({})",
                      MQTTAsync_strerror(code));
        }
        publish_done();
    }
};

main_connection::main_connection(mqtt_settings mqtt, tls_settings tls, client_identity identity,
                                 std::vector<subscription> subscriptions,
                                 message_handler on_message, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<impl>()) {
    auto& m = *impl_;
    m.log = std::move(log);
    m.mqtt = std::move(mqtt);
    m.tls = std::move(tls);
    m.who = std::move(identity);
    m.subs = std::move(subscriptions);
    m.on_message = std::move(on_message);
    for (std::size_t i = 0; i < m.subs.size(); ++i) {
        m.slots.push_back({&m, i});
    }
    const auto uri = broker_uri(m.mqtt, m.tls.enabled);
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    if (m.v5()) {
        co = MQTTAsync_createOptions_initializer5;
    }
    co.sendWhileDisconnected = 1;  // handlers may publish during a reconnect
    co.maxBufferedMessages = 10000;
    int rc = MQTTAsync_createWithOptions(&m.handle, uri.c_str(), m.who.client_id.c_str(),
                                         MQTTCLIENT_PERSISTENCE_NONE, nullptr, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        throw mqtt_error(
            fmt::format("cannot create MQTT client for {}: {}", uri, MQTTAsync_strerror(rc)));
    }
    rc =
        MQTTAsync_setCallbacks(m.handle, &m, impl::connection_lost, impl::message_arrived, nullptr);
    if (rc == MQTTASYNC_SUCCESS) {
        rc = MQTTAsync_setConnected(m.handle, &m, impl::on_connected);
    }
    if (rc != MQTTASYNC_SUCCESS) {
        MQTTAsync_destroy(&m.handle);
        throw mqtt_error(fmt::format("cannot set MQTT callbacks: {}", MQTTAsync_strerror(rc)));
    }
}

main_connection::~main_connection() {
    bool still_connected = false;
    {
        std::lock_guard lock(impl_->mu);
        still_connected = !impl_->disconnected && impl_->connects > 0;
    }
    if (still_connected) {
        disconnect(std::chrono::milliseconds(1000));
    }
    impl_->stop_timer();
    {
        std::lock_guard lock(impl_->out_mu);
        impl_->closed = true;
        if (!impl_->pending.empty()) {
            impl_->log->warn("{} publishes were still waiting for the broker and are dropped",
                             impl_->pending.size());
        }
        impl_->pending.clear();
    }
    MQTTAsync_destroy(&impl_->handle);
}

const client_identity& main_connection::identity() const noexcept {
    return impl_->who;
}

void main_connection::on_state_change(state_handler handler) {
    impl_->on_state = std::move(handler);
}

void main_connection::start() {
    auto& m = *impl_;
    m.schedule(std::chrono::milliseconds(0));
    m.timer = std::thread([&m] { m.timer_loop(); });
}

subscribe_result main_connection::wait_subscribed(std::chrono::milliseconds timeout) {
    auto& m = *impl_;
    std::unique_lock lock(m.mu);
    subscribe_result out;
    out.complete =
        m.cv.wait_for(lock, timeout, [&] { return m.connected && m.sub_answers >= m.subs.size(); });
    out.refused = m.refused;
    return out;
}

bool main_connection::connected() const {
    std::lock_guard lock(impl_->mu);
    return impl_->connected;
}

void main_connection::publish(const std::string& topic, std::string_view payload, int qos,
                              bool retain) {
    auto& m = *impl_;
    if (qos > 0) {
        std::lock_guard lock(m.out_mu);
        if (!m.pending.empty() || m.inflight >= m.window) {
            if (m.pending.size() >= kMaxPendingPublishes) {
                throw mqtt_error(
                    fmt::format("cannot publish to '{}': {} messages already wait for the broker",
                                topic, m.pending.size()));
            }
            m.pending.push_back({topic, std::string(payload), qos, retain});
            return;
        }
        ++m.inflight;
    }
    const int rc = m.send(topic, payload, qos, retain);
    if (rc != MQTTASYNC_SUCCESS) {
        if (qos > 0) {
            m.release_slot();
        }
        throw mqtt_error(fmt::format("cannot publish to '{}': {}", topic, MQTTAsync_strerror(rc)));
    }
}

bool main_connection::unsubscribe_all(std::chrono::milliseconds timeout,
                                      const std::function<bool()>& abandon) {
    auto& m = *impl_;
    {
        std::lock_guard lock(m.mu);
        if (!m.connected) {
            return true;
        }
        m.unsub_answers = 0;
    }
    std::size_t sent = 0;
    for (const auto& s : m.subs) {
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        ro.context = &m;
        m.answer_to(ro, impl::on_unsub_answer<MQTTAsync_successData>,
                    impl::on_unsub_answer<MQTTAsync_failureData>,
                    impl::on_unsub_answer<MQTTAsync_successData5>,
                    impl::on_unsub_answer<MQTTAsync_failureData5>);
        if (MQTTAsync_unsubscribe(m.handle, s.topic.c_str(), &ro) == MQTTASYNC_SUCCESS) {
            ++sent;
        }
    }
    // The answer comes after the messages the broker sent before it, each handled first.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(m.mu);
    while (!m.cv.wait_until(
               lock,
               std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(20)),
               [&] { return m.unsub_answers >= sent || !m.connected; }) &&
           std::chrono::steady_clock::now() < deadline) {
        if (abandon) {
            lock.unlock();
            const bool give_up = abandon();
            lock.lock();
            if (give_up) {
                return false;
            }
        }
    }
    return true;
}

bool main_connection::wait_quiet(std::chrono::milliseconds quiet, std::chrono::milliseconds timeout,
                                 const std::function<bool()>& abandon) {
    auto& m = *impl_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(m.mu);
    m.last_message = std::max(m.last_message, std::chrono::steady_clock::now());
    while (m.connected) {
        const auto now = std::chrono::steady_clock::now();
        // A handler running longer than `quiet` is not quiet: its message is still unacknowledged
        // and the session that would bring it again is about to end.
        const auto quiet_until = m.in_message ? now + quiet : m.last_message + quiet;
        if (now >= quiet_until || now >= deadline) {
            return true;
        }
        lock.unlock();
        if (abandon && abandon()) {
            // A message in hand is not waited for: its acknowledgement may not reach the broker,
            // and the session brings it again (at least once).
            return false;
        }
        std::this_thread::sleep_for(
            std::min({quiet_until, deadline, now + std::chrono::milliseconds(20)}) - now);
        lock.lock();
    }
    return true;
}

void main_connection::disconnect(std::chrono::milliseconds timeout, bool end_session) {
    auto& m = *impl_;
    {
        std::lock_guard lock(m.mu);
        m.stopping = true;
        if (m.disconnected) {
            return;
        }
    }
    m.stop_timer();
    {
        // What handlers published is the result of work already acknowledged: let it reach the
        // broker before the connection goes, within the same time budget.
        const auto start = std::chrono::steady_clock::now();
        std::unique_lock lock(m.out_mu);
        m.out_cv.wait_for(lock, timeout, [&] { return m.pending.empty() && m.inflight == 0; });
        const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
        timeout = std::max(timeout - spent, std::chrono::milliseconds(100));
    }
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
    MQTTProperties props = MQTTProperties_initializer;
    if (m.v5()) {
        d = MQTTAsync_disconnectOptions_initializer5;
        if (end_session) {
            MQTTProperty expiry{};
            expiry.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
            expiry.value.integer4 = 0;
            MQTTProperties_add(&props, &expiry);
            d.properties = props;
        }
    }
    m.answer_to(d, impl::on_disconnect_answer<MQTTAsync_successData>,
                impl::on_disconnect_answer<MQTTAsync_failureData>,
                impl::on_disconnect_answer<MQTTAsync_successData5>,
                impl::on_disconnect_answer<MQTTAsync_failureData5>);
    d.context = &m;
    d.timeout = static_cast<int>(timeout.count());
    const int rc = MQTTAsync_disconnect(m.handle, &d);
    MQTTProperties_free(&props);
    {
        std::unique_lock lock(m.mu);
        if (rc == MQTTASYNC_SUCCESS) {
            m.cv.wait_for(lock, timeout + std::chrono::milliseconds(500),
                          [&] { return m.disconnected; });
        }
        m.disconnected = true;
        m.connected = false;
    }
    m.report_state();
}

}  // namespace routemq::detail
