// DeleteGroups: only empty groups; their offsets and metadata get tombstones.
#include "broker/respond.h"
#include "protocol/delete_groups.h"

namespace sluice::broker {

void Broker::handle_delete_groups(const RequestPtr& request) {
  auto body = std::make_shared<protocol::DeleteGroupsRequest>();
  if (!decode_body(*request, *body)) return;
  reserve(*request);
  struct Job {
    protocol::DeleteGroupsResponse response;
    std::size_t pending = 0;
  };
  auto job = std::make_shared<Job>();
  job->pending = body->groups_names.size();
  job->response.results.resize(body->groups_names.size());
  if (body->groups_names.empty()) return respond(*request, job->response);
  for (std::size_t i = 0; i < body->groups_names.size(); ++i) {
    std::string group_id = body->groups_names[i];
    with_coordinator(group_id, [this, request, job, i, group_id](GroupCoordinator& coordinator) {
      coordinator.delete_group(group_id, [this, request, job, i, group_id](ErrorCode error) {
        on_network(request, [this, request, job, i, group_id, error] {
          job->response.results[i] = {group_id, static_cast<std::int16_t>(error)};
          if (--job->pending == 0) respond(*request, job->response);
        });
      });
    });
  }
}

}  // namespace sluice::broker
