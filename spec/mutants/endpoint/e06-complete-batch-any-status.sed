# file: src/server.cpp
# complete_batch drops the status check: a status only a Cancel may have completes an operation.
s|^            !rules::completion_status_valid<U32>(0, d.status)) {$|            false) {|
