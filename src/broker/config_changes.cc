// Run-time config changes of a topic or of this broker, shared by AlterConfigs and
// IncrementalAlterConfigs: the registry checks and stores the new configs, then each partition
// whose settings changed gets them on its owner I/O thread before the answer goes out.
#include <charconv>

#include "base/log.h"
#include "broker/broker.h"
#include "broker/log_cleaner.h"

namespace sluice::broker {

void Broker::apply_dynamic_cleaner_configs() {
  if (!cleaner_) return;
  const auto per_broker = registry_->dynamic_broker_configs(false);
  const auto every = registry_->dynamic_broker_configs(true);
  auto value = [&](const char* key) -> std::optional<std::string> {
    if (auto it = per_broker.find(key); it != per_broker.end()) return it->second;
    if (auto it = every.find(key); it != every.end()) return it->second;
    return std::nullopt;
  };
  double rate = config_.cleaner_io_bytes_per_second;
  if (auto text = value("log.cleaner.io.max.bytes.per.second")) std::from_chars(text->data(), text->data() + text->size(), rate);
  std::int64_t backoff = config_.cleaner_backoff_ms;
  if (auto text = value("log.cleaner.backoff.ms")) std::from_chars(text->data(), text->data() + text->size(), backoff);
  cleaner_->set_io_rate(rate);
  cleaner_->set_backoff_ms(backoff);
}

void Broker::change_topic_configs(const RequestPtr& request, const std::string& topic,
                                  const std::map<std::string, std::string>& configs, bool validate_only,
                                  ChangeDone done) {
  TopicSettings settings;
  auto altered = registry_->alter_configs(topic, configs, validate_only, &settings);
  if (altered.error != ErrorCode::none || validate_only) return done(altered.error, altered.message);
  apply_topic_settings(request, altered.topic, settings, [this, done] {
    if (cleaner_) cleaner_->wake();  // cleanup.policy or a compaction setting may have changed
    done(ErrorCode::none, "");
  });
}

void Broker::change_broker_configs(const RequestPtr& request, const std::string& broker,
                                   const std::map<std::string, std::string>& configs, bool validate_only,
                                   ChangeDone done) {
  const bool every_broker = broker.empty();
  if (!every_broker && broker != std::to_string(config_.node_id))
    return done(ErrorCode::invalid_request, "this is broker " + std::to_string(config_.node_id) + ", not '" + broker + "'");
  auto change = registry_->alter_broker_configs(every_broker, configs, validate_only);
  if (change.error == ErrorCode::none && !validate_only) {
    apply_dynamic_cleaner_configs();
    if (cleaner_) cleaner_->wake();  // a compaction default may have changed
  }
  if (change.error != ErrorCode::none || validate_only || change.topics.empty()) return done(change.error, change.message);
  auto remaining = std::make_shared<std::size_t>(change.topics.size());
  for (auto& [topic, settings] : change.topics) {
    apply_topic_settings(request, topic, settings, [remaining, done] {
      if (--*remaining == 0) done(ErrorCode::none, "");
    });
  }
}

}  // namespace sluice::broker
