#include <keel/fat/error.hpp>

namespace keel::fat {

const char* describe(Error e) {
    switch (e) {
        case Error::kOk:
            return "ok";
        case Error::kIo:
            return "device I/O error";
        case Error::kCorrupt:
            return "corrupt volume";
        case Error::kNotFound:
            return "not found";
        case Error::kExists:
            return "name exists";
        case Error::kNotDirectory:
            return "not a directory";
        case Error::kIsDirectory:
            return "is a directory";
        case Error::kNotEmpty:
            return "directory not empty";
        case Error::kNoSpace:
            return "no space";
        case Error::kBadName:
            return "name not allowed";
        case Error::kTooLarge:
            return "file too large";
        case Error::kInvalid:
            return "operation not allowed";
    }
    return "unknown error";
}

}  // namespace keel::fat
