// DescribeGroups: state, protocol and members (with metadata and assignment when stable).
#include "broker/respond.h"
#include "protocol/describe_groups.h"

namespace sluice::broker {

void Broker::handle_describe_groups(const RequestPtr& request) {
  auto body = std::make_shared<protocol::DescribeGroupsRequest>();
  if (!decode_body(*request, *body)) return;
  reserve(*request);
  struct Job {
    protocol::DescribeGroupsResponse response;
    std::size_t pending = 0;
  };
  auto job = std::make_shared<Job>();
  job->pending = body->groups.size();
  job->response.groups.resize(body->groups.size());
  if (body->groups.empty()) return respond(*request, job->response);
  for (std::size_t i = 0; i < body->groups.size(); ++i) {
    std::string group_id = body->groups[i];
    with_coordinator(group_id, [this, request, job, i, group_id](GroupCoordinator& coordinator) {
      GroupDescription description = coordinator.describe(group_id);
      on_network(request, [this, request, job, i, description = std::move(description)] {
        auto& out = job->response.groups[i];
        out.error_code = static_cast<std::int16_t>(description.error);
        out.group_id = description.group_id;
        out.group_state = group_state_name(description.state);
        out.protocol_type = description.protocol_type;
        out.protocol_data = description.protocol_name;
        for (const auto& member : description.members)
          out.members.push_back({member.member_id, member.group_instance_id, member.client_id, member.client_host,
                                 member.metadata, member.assignment});
        if (--job->pending == 0) respond(*request, job->response);
      });
    });
  }
}

}  // namespace sluice::broker
