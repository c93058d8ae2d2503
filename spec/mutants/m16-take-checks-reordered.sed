# file: include/ipc/rules.hpp
# take's checks in the wrong order: a closed server with nothing queued answers Empty (as if
# waiting could help), not Closed.
s|^    return first_failure<W>(like, closed, Error::Closed, none_queued, Error::Empty);$|    return first_failure<W>(like, none_queued, Error::Empty, closed, Error::Closed);|
