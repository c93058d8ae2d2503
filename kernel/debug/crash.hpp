// Deliberate crashes, selected on the command line (`crash=page-fault`, `crash=stack-overflow`,
// `crash=stack-smash`, `crash=lock-order`, `crash=panic`), so that tests can watch the
// exception, double-fault, lock-order and panic paths print their reports and stop QEMU with
// the failure code.
#pragma once

namespace keel::debug {

// Does nothing unless the command line asks for a crash; otherwise never returns.
void maybe_crash(const char* cmdline);

}  // namespace keel::debug
