#!/usr/bin/env python3
"""seeds.py OUTDIR: writes hand-made seed inputs for each fuzz target into OUTDIR/<target>/.

The committed corpora under fuzz/corpus/ grew from these by fuzzing and were minimised with
libFuzzer's -merge=1; rerun this only to start a corpus afresh."""
import os
import struct
import sys

# Action kinds, in the order of proptest/model/include/keel_model/action.hpp.
K = {n: i for i, n in enumerate(
    "Acquire Release Drop ReleaseEmpty ReleaseForeign Submit SubmitEmpty SubmitForeign Cancel "
    "CancelUserData Publish Reap PeerGone ClientClose Poll Take Complete CompleteBogus "
    "CancelRequested ServerPublish ClientGone ServerClose HostileCqTail HostileCqEntry "
    "HostileForge HostileSqTail HostileCqHead HostileSqHead HostileClientState "
    "HostileTamperSub SubmitForged".split())}


def act(kind, a=0, b=0, c=0, d=0):
    return bytes([K[kind], a, b, c]) + struct.pack("<I", d)[:3]


def differential():
    cycle = [act("Acquire"), act("Submit", 1, 1, 1), act("Submit", 0), act("Publish"),
             act("Poll"), act("Take"), act("Complete", 0, 2, 0, 7), act("Reap"), act("Reap")]
    cancel = [act("Acquire"), act("Submit", 2, 1, 2), act("Cancel", 0), act("Publish"),
              act("Poll"), act("Take"), act("Cancel", 0), act("Publish"), act("Poll"),
              act("Reap"), act("Reap"), act("Reap")]
    hostile = [act("Submit", 1), act("Publish"), act("Poll"), act("HostileCqEntry", 1, 0, 0, 5),
               act("HostileCqTail", 0, 0, 0, 3), act("HostileTamperSub", 2), act("HostileSqTail"),
               act("Reap"), act("HostileForge"), act("HostileSqHead")]
    teardown = [act("Acquire"), act("Submit", 1, 1, 1), act("Publish"), act("Poll"), act("Take"),
                act("ServerClose"), act("PeerGone"), act("Reap"), act("Reap")]
    return {
        "cycle_wrap": bytes([2, 4, 0, 0x21]) + b"".join(cycle * 6),
        "cancel": bytes([1, 2, 0, 1]) + b"".join(cancel),
        "hostile": bytes([2, 2, 0, 5]) + b"".join(hostile),
        "teardown": bytes([3, 3, 0x80, 0]) + b"".join(teardown),
        "cap1": bytes([0, 1, 1, 9]) + b"".join(cycle * 3),
    }


def hostile():
    ops = bytes([0, 2, 0x81, 0, 1, 2, 1, 4, 6, 7, 8, 0, 0, 9, 5])
    return {
        "honest": bytes([2, 2, 3]) + ops * 4,
        "pokes": bytes([1, 1, 0]) + ops + bytes([12, 6, 0xff, 5, 13, 1, 0, 1, 2, 3, 4, 5, 6, 10,
                                                  0x40, 0, 4, 1, 2, 3, 4]) + ops,
        "teardown": bytes([3, 4, 9]) + ops + bytes([14 | 0x10, 5, 15 | 0x10, 8, 0, 1]),
    }


def abi():
    header = struct.pack("<IHHIIIIIIQ", 0x4c45454b, 1, 56, 4, 2, 64, 320, 576, 4096, 4096 + 128)
    sub = lambda tag, op, buf, length, target=0: struct.pack(
        "<QIHHIIQQQQII", 0, tag, op, buf, 0, length, 0, target, 0, 0, 0, 0)
    comp = lambda tag, status, buf, value=0: struct.pack("<IHHQ", tag, status, buf, value)
    subs = sub(1, 16, 0, 64) + sub(2, 1, 0xFFFF, 0, 1) + sub(3, 0, 0xFFFF, 0) + sub(4, 9, 1, 0)
    return {
        "header": bytes([0, 2 | (2 << 3)]) + header,
        "subs": bytes([1, 2 | (2 << 3)]) + subs,
        "comps": bytes([2, 2 | (2 << 3), 3]) + comp(0, 0, 0) + comp(1, 0, 1) + comp(2, 3, 0xFFFF),
    }


def main():
    out = sys.argv[1]
    for name, seeds in (("differential", differential()), ("hostile", hostile()), ("abi", abi())):
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for fname, data in seeds.items():
            with open(os.path.join(out, name, "seed_" + fname), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
