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


# kernel_objects: steps of fuzz/kernel_objects/kernel_objects_fuzz.cpp. A step's first byte
# names the process (bits 4-5) and the step (the byte mod 12); handles are picked by recency
# (0: the process's newest).
OP = {n: i for i, n in enumerate(
    "read peek write get_meta set_meta open create destroy seek share close map sync".split())}


def kstep(proc, kind):
    return bytes([next(b for b in range(256) if b % 12 == kind and (b >> 4) % 4 == proc)])


def knew(proc, kind, size=0):  # kind: 0 memory, 1 pipe, 2 message pipe, 3 root, 4 timer
    return kstep(proc, 0) + bytes([kind]) + (struct.pack("<H", size) if kind == 0 else b"")


def kio(proc, handle, op, buffer=b"", arg=0, arg_handle=None, share_rights=None, user=False):
    if share_rights is not None:
        a = bytes([2 | (0x80 if user else 0), share_rights, arg_handle])
    elif arg_handle is not None:
        a = bytes([1 | (0x80 if user else 0), arg_handle])
    elif arg < 256:
        a = bytes([0 | (0x80 if user else 0), arg])
    else:
        a = bytes([3 | (0x80 if user else 0)]) + struct.pack("<Q", arg)
    return kstep(proc, 1) + bytes([handle, OP[op]]) + a + bytes([len(buffer)]) + buffer


def kretry(proc):  # a do_io step while one is in progress retries it
    return kstep(proc, 1)


def kernel_objects():
    timer_set = struct.pack("<QQ", 5_000_000, 0)
    basics = (knew(0, 0, 5000) + kio(0, 0, "write", b"hello") + kio(0, 0, "seek", arg=0) +
              kio(0, 0, "read", b"\0" * 8) + kio(0, 0, "get_meta", b"\0" * 8, arg=2) +
              kio(0, 0, "map", arg=1) + kio(0, 0, "read", b"\0" * 16, user=True) +
              kio(0, 0, "create", struct.pack("<QQ", 4096, 100)) +
              knew(1, 1) + kio(1, 0, "write", b"pipe bytes") + kio(1, 1, "read", b"\0" * 4) +
              knew(2, 2) + kio(2, 0, "write", b"message") + kio(2, 1, "peek", b"\0" * 16) +
              knew(3, 4) + kio(3, 0, "write", timer_set) + kio(3, 0, "read", b"\0" * 8) +
              kstep(3, 11) + bytes([10]) + kretry(3) + kstep(0, 4) + bytes([1]))
    # Roots bound in roots, each new one holding the one before (whose handle then closes).
    nest = knew(0, 3)
    for _ in range(12):
        nest += knew(0, 3) + kio(0, 0, "create", b"a", arg_handle=1) + kstep(0, 4) + bytes([1])
    nest += kio(0, 0, "open", b"a") + kio(0, 0, "read", b"\0" * 8)
    # A queue: a read parked on an empty pipe, a write that unblocks it, a poll, a destroy.
    # Submissions: opcode, object (recency), 0 and an arg handle, user data, length, bytes.
    queue = (knew(1, 1) + kstep(1, 5) + bytes([0x0a]) +
             kstep(1, 6) + bytes([OP["read"], 2, 0, 0, 1, 8]) + b"\0" * 8 +
             kstep(1, 7) +
             kstep(1, 6) + bytes([OP["write"], 1, 0, 0, 2, 8]) + b"abcdefgh" +
             kstep(1, 7) + kstep(1, 7) + kstep(1, 4) + bytes([0]))
    # A served object: process 0 serves it, shares it into process 1 (its child), which reads
    # and writes through it; the server answers, then lies, then process 1 dies mid-read and
    # the server dies with work outstanding.
    served = (kstep(0, 8) + bytes([0x06]) +
              kio(0, 0, "share", arg_handle=4, share_rights=0x7f) +
              kio(1, 0, "write", b"to the server") + kstep(0, 9) + bytes([0]) + kretry(1) +
              kio(1, 0, "read", b"\0" * 8) + kstep(0, 9) + bytes([0x30, 0, 0]) + b"\xff" * 8 +
              kretry(1) + kio(1, 0, "open", b"child") + kstep(0, 9) + bytes([0, 1, 7]) +
              kretry(1) + kio(1, 0, "read", b"\0" * 4) + kstep(1, 10) + bytes([0]) +
              kio(0, 2, "share", arg_handle=3, share_rights=0x7f) + kio(2, 0, "read", b"\0" * 4) +
              kstep(0, 10) + bytes([0]) + kretry(2))
    # Hostile runtimes: scribbles on a queue and on a served object's queue.
    hostile = (kstep(2, 5) + bytes([0x05]) + knew(2, 1) + kstep(2, 6) + bytes([0, 1, 0, 0, 0, 0]) +
               kstep(2, 10) + bytes([1, 1, 0, 0, 6]) + b"\xff" * 6 + kstep(2, 7) +
               kstep(3, 8) + bytes([0x01]) + kstep(3, 10) + bytes([1, 0, 8, 0, 7]) + b"\x7f" * 7 +
               kstep(3, 9) + bytes([0]))
    # A served create (a spawn request, handles lent): process 0 serves with 2048-byte buffers
    # and shares the object into process 1, whose create names its memory object as the image
    # (do_io's argument byte 0x40: a TableSpawn); the server answers with its served handle.
    # A second create is left hanging and process 1 dies: the late answer returns the handles.
    spawn = (knew(1, 0, 4096) + kstep(0, 8) + bytes([0x1a]) +
             kio(0, 0, "share", arg_handle=4, share_rights=0x7f) +
             kstep(1, 1) + bytes([0, OP["create"], 0x40, 0, 0, 1]) + kstep(0, 9) + bytes([0, 0]) +
             kretry(1) +
             kstep(1, 1) + bytes([1, OP["create"], 0x40, 0, 0, 2]) + kstep(0, 9) + bytes([1]) +
             kstep(1, 10) + bytes([0]) + kstep(0, 9) + bytes([0, 0]))
    return {"basics": b"\0" + basics, "roots": b"\0" + nest, "queue": b"\0" + queue,
            "served": b"\0" + served, "hostile": b"\0" + hostile, "served_spawn": b"\0" + spawn,
            "low_memory": b"\x88" + queue + served, "low_heap": b"\x4c" + basics + nest}


def remote():
    """Frames of the remote-run wire (lib/remote/include/keel/remote/wire.hpp), after the
    target's first byte (the fragment size)."""
    def frame(kind, job, obj, payload):
        return struct.pack("<HBBIII", 0x4A52, kind, 0, job, obj, len(payload)) + payload
    hello = frame(1, 0, 0, struct.pack("<II", 1, 32768))
    entries = b"".join(struct.pack("<IB", o, len(n)) + n
                       for o, n in ((1, b"console"), (2, b"input"), (3, b"cwd"), (4, b"ns")))
    spawn = frame(2, 1, 0, struct.pack("<IHHI", 8192, 3, 9, 4) + b"cat" + b"/etc/motd" + entries)
    image = frame(3, 1, 0, bytes(range(256)) * 4)
    started = frame(4, 1, 0, struct.pack("<q", 12))
    op_open = frame(5, 1, 3, struct.pack("<IBBHQI", 1, 5, 0, 0, 1, 0) + b"out.sum")
    op_write = frame(5, 1, 5, struct.pack("<IBBHQI", 2, 2, 0, 0, 0, 0) + b"hello\n")
    done_open = frame(6, 1, 3, struct.pack("<IIQI", 1, 0, 0, 5))
    done_read = frame(6, 1, 1, struct.pack("<IIQI", 3, 0, 4, 0) + b"abcd")
    done_fail = frame(6, 1, 1, struct.pack("<IIQI", 4, 11, 0, 0))
    exit_ = frame(7, 1, 0, struct.pack("<IIqQQ", 1, 0, 0, 0, 0))
    beat = frame(8, 1, 0, b"")
    cancel = frame(9, 1, 0, struct.pack("<I", 2))
    huge = struct.pack("<HBBIII", 0x4A52, 3, 0, 1, 0, 0x7FFFFFFF)
    return {"session": b"\x07" + hello + spawn + image + started + op_open + done_open +
                       op_write + beat + done_read + done_fail + cancel + exit_,
            "one_byte_pieces": b"\x00" + hello + spawn + beat,
            "huge_length": b"\x10" + hello + huge,
            "garbage": b"\x03GET / HTTP/1.1\r\n\r\n",
            "spawn_cut": b"\x05" + spawn[:40]}


def main():
    out = sys.argv[1]
    for name, seeds in (("differential", differential()), ("hostile", hostile()), ("abi", abi()),
                        ("kernel_objects", kernel_objects()), ("remote", remote())):
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for fname, data in seeds.items():
            with open(os.path.join(out, name, "seed_" + fname), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
