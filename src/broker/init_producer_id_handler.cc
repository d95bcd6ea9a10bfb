// InitProducerId: hands out producer ids for idempotent producers (the Java producer needs one
// for every send). The partitions check their sequences (storage/producer_state.h); transactions later.
#include "broker/respond.h"
#include "protocol/init_producer_id.h"

namespace sluice::broker {

void Broker::handle_init_producer_id(const RequestPtr& request) {
  protocol::InitProducerIdRequest body;
  if (!decode_body(*request, body)) return;
  reserve(*request);
  protocol::InitProducerIdResponse response;
  if (body.transactional_id.has_value()) {
    response.error_code = static_cast<std::int16_t>(ErrorCode::transactional_id_authorization_failed);
    return respond(*request, response);
  }
  if (body.producer_id >= 0 && body.producer_epoch >= 0 && body.producer_epoch < INT16_MAX - 1) {
    // KIP-360: a producer bumps its epoch to reset its sequences.
    response.producer_id = body.producer_id;
    response.producer_epoch = static_cast<std::int16_t>(body.producer_epoch + 1);
  } else {
    response.producer_id = next_producer_id_.fetch_add(1);
    response.producer_epoch = 0;
  }
  respond(*request, response);
}

}  // namespace sluice::broker
