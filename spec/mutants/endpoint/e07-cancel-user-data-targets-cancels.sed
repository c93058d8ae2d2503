# file: src/client.cpp
# cancel_user_data's search also matches pending Cancel requests, not only operations.
s|^        if (slot.state == rules::kSlotLive && !slot.is_cancel && slot.user_data == target) {$|        if (slot.state == rules::kSlotLive \&\& slot.user_data == target) {|
