// DeleteTopics v0-v6: the topics leave the registry at once (new requests no longer find them),
// then each partition's files go on its owner I/O thread; the answer waits for that, as Kafka's
// waits for the metadata change. Internal topics and a broker with delete.topic.enable=false
// refuse; v6 names topics by name or by id.
#include "base/log.h"
#include "broker/respond.h"
#include "protocol/delete_topics.h"

namespace sluice::broker {
namespace {

struct DeleteJob {
  protocol::DeleteTopicsResponse response;
  std::size_t pending = 0;
};

}  // namespace

void Broker::handle_delete_topics(const RequestPtr& request) {
  protocol::DeleteTopicsRequest body;
  if (!decode_body(*request, body)) return;
  reserve(*request);
  const std::int16_t version = request->header.api_version;
  // v0-v5 name topics in topic_names; v6 in topics (by name, or by id when the name is null).
  std::vector<protocol::DeleteTopicsRequest::Topic> wanted = body.topics;
  for (const auto& name : body.topic_names) wanted.push_back({name, Uuid{}});
  auto job = std::make_shared<DeleteJob>();
  job->response.responses.resize(wanted.size());
  std::vector<std::pair<std::size_t, std::shared_ptr<const Topic>>> doomed;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    auto& out = job->response.responses[i];
    const auto& want = wanted[i];
    auto topic = want.name.has_value() ? registry_->find(*want.name) : registry_->find(want.topic_id);
    out.name = want.name;
    out.topic_id = want.topic_id;
    auto fail = [&](ErrorCode error, std::string message) {
      out.error_code = static_cast<std::int16_t>(error);
      out.error_message = std::move(message);
      if (!out.name.has_value() && version < 6) out.name = "";
    };
    if (!topic) {
      fail(want.name.has_value() ? ErrorCode::unknown_topic_or_partition : ErrorCode::unknown_topic_id,
           "no such topic");
      continue;
    }
    out.name = topic->name;
    out.topic_id = topic->id;
    if (!config_.topic_delete_enable) {
      fail(ErrorCode::topic_deletion_disabled, "delete.topic.enable is false");
      continue;
    }
    if (topic->internal) {
      fail(ErrorCode::invalid_topic_exception, "internal topics cannot be deleted");
      continue;
    }
    auto removed = registry_->remove(topic->name);
    if (!removed) {
      fail(ErrorCode::unknown_topic_or_partition, "no such topic");
      continue;
    }
    doomed.emplace_back(i, std::move(removed));
  }
  if (doomed.empty()) return respond(*request, job->response);
  job->pending = doomed.size();
  for (auto& [index, topic] : doomed) {
    delete_topic_files(request, topic, [this, request, job] {
      if (--job->pending == 0) respond(*request, job->response);
    });
  }
}

}  // namespace sluice::broker
