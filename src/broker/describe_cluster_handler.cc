// DescribeCluster: this broker, which is also the controller.
#include "broker/respond.h"
#include "protocol/describe_cluster.h"

namespace sluice::broker {

void Broker::handle_describe_cluster(const RequestPtr& request) {
  protocol::DescribeClusterRequest body;
  if (!decode_body(*request, body)) return;
  reserve(*request);
  protocol::DescribeClusterResponse response;
  auto [host, port] = advertised_endpoint();
  response.cluster_id = meta_.cluster_id;
  response.controller_id = config_.node_id;
  response.brokers.push_back({config_.node_id, host, port, std::nullopt});
  respond(*request, response);
}

}  // namespace sluice::broker
