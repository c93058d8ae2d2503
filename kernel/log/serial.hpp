// COM1 (0x3f8), polled: the kernel's console and the channel every test result travels on.
#pragma once

namespace keel::serial {

void init();
void put(char c);  // translates '\n' to "\r\n"
void write(const char* s);

}  // namespace keel::serial
