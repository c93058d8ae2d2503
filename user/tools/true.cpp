// true: exits with status 0.
#include "tools.hpp"

int keel_main(const keel::user::StartInfo&) {
    return 0;
}
