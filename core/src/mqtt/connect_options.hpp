#pragma once

#include "routemq/settings.hpp"

namespace routemq::detail {

/// Fills in what both of Paho's clients (MQTTAsync for the main connection, MQTTClient for the
/// outgoing one) take alike from the settings: the credentials and, when MQTT_TLS is on, `ssl`
/// (which must outlive the connect call). The option structs differ in type, not in these fields.
template <class ConnectOptions, class SslOptions>
void apply_credentials_and_tls(ConnectOptions& co, SslOptions& ssl, const mqtt_settings& mqtt,
                               const tls_settings& tls) {
    if (!mqtt.username.empty()) {
        co.username = mqtt.username.c_str();
        co.password = mqtt.password.c_str();
    }
    if (tls.enabled) {
        ssl.trustStore = tls.ca_file.empty() ? nullptr : tls.ca_file.c_str();
        ssl.keyStore = tls.cert_file.empty() ? nullptr : tls.cert_file.c_str();
        ssl.privateKey = tls.key_file.empty() ? nullptr : tls.key_file.c_str();
        ssl.enableServerCertAuth = tls.verify ? 1 : 0;
        ssl.verify = tls.verify ? 1 : 0;
        co.ssl = &ssl;
    }
}

}  // namespace routemq::detail
