#include "base/error_code.h"

namespace sluice {

const char* error_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::none: return "NONE";
    case ErrorCode::unknown_server_error: return "UNKNOWN_SERVER_ERROR";
    case ErrorCode::offset_out_of_range: return "OFFSET_OUT_OF_RANGE";
    case ErrorCode::corrupt_message: return "CORRUPT_MESSAGE";
    case ErrorCode::unknown_topic_or_partition: return "UNKNOWN_TOPIC_OR_PARTITION";
    case ErrorCode::message_too_large: return "MESSAGE_TOO_LARGE";
    case ErrorCode::invalid_topic_exception: return "INVALID_TOPIC_EXCEPTION";
    case ErrorCode::record_list_too_large: return "RECORD_LIST_TOO_LARGE";
    case ErrorCode::invalid_required_acks: return "INVALID_REQUIRED_ACKS";
    case ErrorCode::invalid_timestamp: return "INVALID_TIMESTAMP";
    case ErrorCode::unsupported_version: return "UNSUPPORTED_VERSION";
    case ErrorCode::topic_already_exists: return "TOPIC_ALREADY_EXISTS";
    case ErrorCode::invalid_partitions: return "INVALID_PARTITIONS";
    case ErrorCode::invalid_replication_factor: return "INVALID_REPLICATION_FACTOR";
    case ErrorCode::invalid_config: return "INVALID_CONFIG";
    case ErrorCode::invalid_request: return "INVALID_REQUEST";
    case ErrorCode::kafka_storage_error: return "KAFKA_STORAGE_ERROR";
    case ErrorCode::unsupported_compression_type: return "UNSUPPORTED_COMPRESSION_TYPE";
    case ErrorCode::invalid_record: return "INVALID_RECORD";
    case ErrorCode::unknown_topic_id: return "UNKNOWN_TOPIC_ID";
    case ErrorCode::coordinator_not_available: return "COORDINATOR_NOT_AVAILABLE";
    case ErrorCode::coordinator_load_in_progress: return "COORDINATOR_LOAD_IN_PROGRESS";
    case ErrorCode::not_coordinator: return "NOT_COORDINATOR";
    case ErrorCode::illegal_generation: return "ILLEGAL_GENERATION";
    case ErrorCode::inconsistent_group_protocol: return "INCONSISTENT_GROUP_PROTOCOL";
    case ErrorCode::invalid_group_id: return "INVALID_GROUP_ID";
    case ErrorCode::unknown_member_id: return "UNKNOWN_MEMBER_ID";
    case ErrorCode::invalid_session_timeout: return "INVALID_SESSION_TIMEOUT";
    case ErrorCode::rebalance_in_progress: return "REBALANCE_IN_PROGRESS";
    case ErrorCode::offset_metadata_too_large: return "OFFSET_METADATA_TOO_LARGE";
    case ErrorCode::member_id_required: return "MEMBER_ID_REQUIRED";
    case ErrorCode::group_max_size_reached: return "GROUP_MAX_SIZE_REACHED";
    case ErrorCode::fenced_instance_id: return "FENCED_INSTANCE_ID";
    case ErrorCode::non_empty_group: return "NON_EMPTY_GROUP";
    case ErrorCode::group_id_not_found: return "GROUP_ID_NOT_FOUND";
    case ErrorCode::group_subscribed_to_topic: return "GROUP_SUBSCRIBED_TO_TOPIC";
    case ErrorCode::out_of_order_sequence_number: return "OUT_OF_ORDER_SEQUENCE_NUMBER";
    case ErrorCode::duplicate_sequence_number: return "DUPLICATE_SEQUENCE_NUMBER";
    case ErrorCode::invalid_producer_epoch: return "INVALID_PRODUCER_EPOCH";
    case ErrorCode::transactional_id_authorization_failed: return "TRANSACTIONAL_ID_AUTHORIZATION_FAILED";
    case ErrorCode::invalid_replica_assignment: return "INVALID_REPLICA_ASSIGNMENT";
    case ErrorCode::unknown_leader_epoch: return "UNKNOWN_LEADER_EPOCH";
    case ErrorCode::fenced_leader_epoch: return "FENCED_LEADER_EPOCH";
    default: return "ERROR";
  }
}

}  // namespace sluice
