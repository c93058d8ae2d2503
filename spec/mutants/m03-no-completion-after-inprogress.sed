# file: src/server.cpp
# An op whose cancel was answered InProgress is freed without its completion.
s|^    if (mode_ == Mode::Open) {$|    if (mode_ == Mode::Open \&\& op.cancel_flag == 0) {|
