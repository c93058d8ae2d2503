// false: exits with status 1.
#include "tools.hpp"

int keel_main(const keel::user::StartInfo&) {
    return 1;
}
