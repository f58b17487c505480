#!/usr/bin/env python3
"""Independent check of the protocol's golden vectors.

Decodes every vector in the folder given as the only argument with
Python's msgpack (Debian's python3-msgpack), compares it with the values
written out below by hand, and encodes those values again to the same
bytes, length prefix included.  Exits 0 when all agree.
"""
import os
import struct
import sys

try:
    import msgpack
except ImportError:
    # A python3 from elsewhere on PATH may lack Debian's module.
    debian = "/usr/bin/python3"
    if os.path.exists(debian) and sys.executable != debian:
        os.execv(debian, [debian] + sys.argv)
    sys.exit("check_vectors: python3-msgpack is not installed")

OID_A = bytes(range(1, 21))
OID_B = bytes(range(0xA0, 0xB4))
OID_C = bytes.fromhex("deadbeef" + "00" * 12 + "cafebabe")

EXPECTED = {
    "hello": {
        "type": "HELLO", "version": 1, "node": "be-vl",
        "software": "oernode/0.1.0", "features": ["relay", "search"],
        "use": {"commercial": False, "adapts": True},
        "max_frame": 1 << 20, "max_data_frame": 8 << 20,
    },
    "heads": {
        "type": "HEADS", "heads": [
            {"origin": "be-vl", "head": OID_A, "count": 1234,
             "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGCRRdI4aRZKw4lYw"
                    "r0LuY76uWAwDdJMVhlMb8Oxk/W6"},
            {"origin": "nl-edurep", "head": OID_B, "count": 0},
        ],
    },
    "fetch": {
        "type": "FETCH", "origin": "nl-edurep", "want": OID_A,
        "haves": [OID_B],
    },
    "pack": {
        "type": "PACK", "origin": "be-vl", "seq": 3,
        "data": b"PACK\x00\x00\x00\x02\x00\x00\x00\x03", "last": True,
    },
    "fetch_end": {
        "type": "FETCH_END", "origin": "be-vl", "result": "up-to-date",
        "reason": "",
    },
    "want_files": {"type": "WANT_FILES", "blobs": [OID_A, OID_C]},
    "files": {
        "type": "FILES", "files": [
            {"blob": OID_A, "status": "sent", "data": b"hello\n",
             "offset": 0, "size": 6},
            {"blob": OID_B, "status": "denied-licence"},
            {"blob": OID_C, "status": "missing"},
        ],
    },
    "search": {
        "type": "SEARCH", "id": 7, "query": "fotosynthese",
        "filters": {"level": ["isced-2", "isced-3"], "language": ["nl"]},
        "deadline_ms": 1500, "held": ["be-vl", "nl-edurep"],
        "system": "be-vl", "lang": "nl",
    },
    "results": {
        "type": "RESULTS", "id": 7, "hits": [
            {"id": "be-vl/8f3k2", "title": "Photosynth\u00e8se \u2014 cours",
             "score": 912000},
            {"id": "nl-edurep/x1", "title": "", "score": 0},
        ],
        "error": "",
    },
    "ping": {"type": "PING", "nonce": 0x0123456789ABCDEF},
    "pong": {"type": "PONG", "nonce": 0x0123456789ABCDEF},
    "error": {
        "type": "ERROR", "code": "proto",
        "message": "frame of 9000000 bytes is over the limit",
    },
    "bye": {"type": "BYE", "reason": "shutting down"},
}


def same(a, b):
    """Equal values of equal types, keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def check(folder, name, want):
    with open(os.path.join(folder, name + ".bin"), "rb") as f:
        frame = f.read()
    (length,) = struct.unpack(">I", frame[:4])
    if length != len(frame) - 4:
        return "prefix says %d, body has %d" % (length, len(frame) - 4)
    got = msgpack.unpackb(frame[4:], raw=False, strict_map_key=True)
    if not same(got, want):
        return "decodes to %r" % (got,)
    body = msgpack.packb(want, use_bin_type=True)
    if struct.pack(">I", len(body)) + body != frame:
        return "re-encodes to other bytes"
    return None


def main():
    folder = sys.argv[1]
    present = sorted(n[:-4] for n in os.listdir(folder) if n.endswith(".bin"))
    failed = 0
    if present != sorted(EXPECTED):
        print("vectors present %s, expected %s" % (present, sorted(EXPECTED)))
        failed += 1
    for name, want in EXPECTED.items():
        problem = check(folder, name, want)
        if problem:
            print("%s: %s" % (name, problem))
            failed += 1
    print("%d vectors, %d failed" % (len(EXPECTED), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
