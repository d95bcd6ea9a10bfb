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
    default: return "ERROR";
  }
}

}  // namespace sluice
