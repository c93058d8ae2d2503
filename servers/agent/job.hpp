// One remote job of the agent: a connection from a caller, the program it sends, run here with a
// root the agent serves, every operation on it (and on what is opened through it) sent to the
// caller and completed with the caller's answer (docs/remote-run.md).
#pragma once

#include "frame_socket.hpp"
#include "serve.hpp"

namespace keel::agent {

// Limits per job: objects the job may hold open through the caller at once (the root's
// entries' opens included), operations forwarded and not answered yet.
inline constexpr uint32_t kMaxObjects = 64;
inline constexpr uint32_t kMaxParked = 8;

// Runs the job on `connection` (taken over) to its end: the hello, the spawn and its image, the
// program served until it ends and its exit sent. Returns when the connection is closed; says
// on the console why a job ended early. `number` names the job in the log.
void run_job(user::Handle connection, uint32_t number);

}  // namespace keel::agent
