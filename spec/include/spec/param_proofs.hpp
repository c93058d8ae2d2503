// Obligations over every capacity and buffer count at once (param_model.hpp): P.I1..P.I7,
// P.SAFE, P.I8.client, P.I8.server.
#pragma once

#include <string>
#include <vector>

namespace keel::spec::param {

std::vector<std::string> obligation_names();
// A readable counterexample, or "" if proved.
std::string prove(const std::string& name, unsigned* queries);

}  // namespace keel::spec::param
