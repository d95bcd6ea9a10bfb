// ListGroups: the groups of every coordinator (every I/O thread), filtered by state from v4.
#include "broker/respond.h"
#include "protocol/list_groups.h"

namespace sluice::broker {

void Broker::handle_list_groups(const RequestPtr& request) {
  auto body = std::make_shared<protocol::ListGroupsRequest>();
  if (!decode_body(*request, *body)) return;
  reserve(*request);
  struct Job {
    protocol::ListGroupsResponse response;
    std::size_t pending = 0;
  };
  auto job = std::make_shared<Job>();
  job->pending = group_runtimes_.size();
  on_every_coordinator([this, request, body, job](GroupCoordinator& coordinator) {
    auto listed = coordinator.list_groups();
    on_network(request, [this, request, body, job, listed = std::move(listed)] {
      for (const auto& group : listed) {
        std::string state = group_state_name(group.state);
        const auto& filter = body->states_filter;
        bool wanted = filter.empty();
        for (const auto& name : filter) wanted = wanted || name == state;
        if (wanted) job->response.groups.push_back({group.group_id, group.protocol_type, state});
      }
      if (--job->pending == 0) respond(*request, job->response);
    });
  });
}

}  // namespace sluice::broker
