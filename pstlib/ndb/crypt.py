"""The NDB encodings of [MS-PST] 2.2.2.5 (bCryptMethod) and section 5.

Only external data blocks are encoded; internal blocks (XBLOCK, SLBLOCK, ...)
and pages never are.  Permute is a byte substitution, so ``bytes.translate``
does it at memory speed; cyclic mixes in a running 16-bit key, which numpy
does a block at a time with table look-ups over a precomputed key ramp.
"""

from __future__ import annotations

import numpy as np

CRYPT_NONE = 0x00
CRYPT_PERMUTE = 0x01
CRYPT_CYCLIC = 0x02

CRYPT_NAMES = {CRYPT_NONE: "none", CRYPT_PERMUTE: "permute", CRYPT_CYCLIC: "cyclic"}

# mpbbCrypt of [MS-PST] 5.1: three 256-byte tables, mpbbR | mpbbS | mpbbI.
MPBB_CRYPT = bytes.fromhex(
    "41361362a8216ebbf416cc047f64e85d1ef2cb2a74c55e35d295479e962d9a88"
    "4c7d843fdbac31b6485ff6c4d8398be7233b388ec8c1df25b120a546604e9cfb"
    "aad35651457c550007c92b9d859b09a08fadb30f63ab894bd7a7155a716642bf"
    "264a6b98faea7753b270052cfd593a867ece06eb827857c78d43afb41cd45bcd"
    "e2e9274fc3087280cfb0eff5286dbe304d3492d50e3c2232e5e4f99fc2d10a81"
    "12e1ee918376e397e6618a1779a4b7dc907a5c8c02a6ca69de501a1193b95287"
    "58fced1d37491b6ae0293399bd6cd994f340546ff0c673b8d63e6518441fdd67"
    "10f10c19ecae03a1147ba90bfff8a3c0a201f72ebc2468750dfeba2fb5d0da3d"
    "14530f56b3c87a9ceb65481716159f02cc547c83000d0c0ba262a876dbd9edc7"
    "c5a4dcac8574d6d0a79bae9a967166c36399b8dd73928e847da55ed15d93b157"
    "5150808952944f4e0a6bbc8d7f6e47464140440111cb033ff7f4e1a98f3c3af9"
    "fbf0193082092ec99da08649ee6f4d6dc42d813425871b88aafc06a11238fd4c"
    "4272641337246a757743ffe6b44b365ce4d8353d45b92cecb7312b290768a30e"
    "697b189e2139be281a5b78f523ca2ab0af3efe048ce7e5983295d3f64ae8a6ea"
    "e9f3d52f7020f21f0567ad5510cecde3273bdabad7c226d4911dd21c2233f8fa"
    "f15aefcf90b68bb5bdc0bf08971e6ce261e0c6c159abbb58de5fdf60797eb28a"
    "47f1b4e60b6a7248854e9eebe2f89453e0bba002e85a09abdbe3bac67cc310dd"
    "39059630f53760828cc9134a6b1df3fb8f2697ca911701c4322d6e3195ffd923"
    "d1005e79dc443b1a28c5615720903d83b943be67d2464276c06d5b7eb20f1629"
    "3ca903540dda5ddff6b7c762cd8d06d3695c86d614f7a56675acb1e94521700c"
    "879f74a4224c6fbf1f56aa2eb3783350b0a392bccf191ca763cb1e4d3e4b1b9b"
    "4fe7f0eead3ab55904ea40552551e57a893868527bfc27aed7bdfa07f4cc8e5f"
    "ef359c842b15d5773449b6120a7f7188fd9d18417d93d8582ccefe24afdeb836"
    "c8a180a69998a82f0e816573e4c2a28ad4e111d0088b2af2ed9a643fc16cf9ec"
)
MPBB_R = MPBB_CRYPT[0:256]
MPBB_S = MPBB_CRYPT[256:512]
MPBB_I = MPBB_CRYPT[512:768]

_R = np.frombuffer(MPBB_R, np.uint8)
_S = np.frombuffer(MPBB_S, np.uint8)
_I = np.frombuffer(MPBB_I, np.uint8)

_RAMP_LENGTH = 1 << 17
_RAMP = np.arange(_RAMP_LENGTH, dtype=np.uint32)
_RAMP_LOW = (_RAMP & 0xFF).astype(np.uint8)
_RAMP_HIGH = ((_RAMP >> 8) & 0xFF).astype(np.uint8)


def permute_decode(data: bytes) -> bytes:
    """Undo CryptPermute ([MS-PST] 5.1, fEncrypt false: table mpbbI)."""
    return data.translate(MPBB_I)


def permute_encode(data: bytes) -> bytes:
    """Apply CryptPermute ([MS-PST] 5.1, fEncrypt true: table mpbbR)."""
    return data.translate(MPBB_R)


def cyclic(data: bytes, key: int) -> bytes:
    """CryptCyclic of [MS-PST] 5.2; symmetric, so it both encodes and decodes.

    ``key`` is the block's BID; only its low DWORD is used, as the spec says.
    """
    dword = key & 0xFFFFFFFF
    start = (dword ^ (dword >> 16)) & 0xFFFF
    out = bytearray(len(data))
    step = _RAMP_LENGTH - 0x10000
    for begin in range(0, len(data), step):
        chunk = np.frombuffer(data, np.uint8, count=min(step, len(data) - begin), offset=begin)
        first = (start + begin) & 0xFFFF
        low = _RAMP_LOW[first:first + len(chunk)]
        high = _RAMP_HIGH[first:first + len(chunk)]
        value = _R[chunk + low]
        value = _S[value + high]
        value = _I[value - high]
        out[begin:begin + len(chunk)] = (value - low).tobytes()
    return bytes(out)


def decode(data: bytes, method: int, bid: int) -> bytes:
    """Decode an external block's stored bytes by the header's bCryptMethod."""
    if method == CRYPT_PERMUTE:
        return permute_decode(data)
    if method == CRYPT_CYCLIC:
        return cyclic(data, bid)
    return data


def encode(data: bytes, method: int, bid: int) -> bytes:
    """Encode plain bytes the way a writer stores an external block."""
    if method == CRYPT_PERMUTE:
        return permute_encode(data)
    if method == CRYPT_CYCLIC:
        return cyclic(data, bid)
    return data
