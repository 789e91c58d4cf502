#include "base/result.h"

namespace mq {

const char* error_kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::kMalformed: return "malformed";
    case ErrorKind::kProtocol: return "protocol error";
    case ErrorKind::kTooLarge: return "too large";
    case ErrorKind::kUnsupported: return "unsupported";
    case ErrorKind::kNotFound: return "not found";
    case ErrorKind::kIo: return "i/o error";
    case ErrorKind::kConfig: return "configuration error";
    case ErrorKind::kAuth: return "not authorised";
    case ErrorKind::kInternal: return "internal error";
  }
  return "error";
}

}  // namespace mq
