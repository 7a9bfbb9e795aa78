#!/usr/bin/env python3
"""Make TorchSharp 0.107's libLibTorchSharp.so load against a libstdc++ older than GCC 13 (Debian 12).

The library asks for GLIBCXX_3.4.32 for one symbol only, std::ios_base_library_init(), an empty hook on GCC 13.
Applied to the build's own copy (never the NuGet cache) and only when the system libstdc++ lacks that version:
  1. mark the GLIBCXX_3.4.32 requirement weak (VER_FLG_WEAK in its .gnu.version_r entry), so the loader accepts its absence;
  2. clear the symbol's version (its .gnu.version entry becomes 1, global), as `patchelf --clear-symbol-version` does;
  3. add a DT_NEEDED entry for a shim, built here with gcc, that defines the function as empty. The entry reuses the
     string "GLIBCXX_3.4.32" already in .dynstr as the shim's file name, found through the library's $ORIGIN runpath,
     and one of the spare DT_NULL slots at the end of .dynamic, so no section has to grow.
Usage: patch-libtorchsharp.py NATIVE_DIR   (idempotent; prints what it did)
"""
import os, struct, subprocess, sys

SYMBOL = b"_ZSt21ios_base_library_initv"
VERSION = b"GLIBCXX_3.4.32"
VER_FLG_WEAK = 0x2
DT_NULL, DT_NEEDED, DT_STRTAB = 0, 1, 5

def system_has_version():
    try:
        path = subprocess.run(["gcc", "-print-file-name=libstdc++.so.6"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        path = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"
    for candidate in (path, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"):
        if os.path.isfile(candidate):
            with open(candidate, "rb") as f:
                return VERSION + b"\0" in f.read()
    return False

def sections(data):
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    raw = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_off = raw[shstrndx][4]
    out = {}
    for s in raw:
        end = data.index(b"\0", names_off + s[0])
        out[data[names_off + s[0]:end].decode()] = {"type": s[1], "addr": s[3], "offset": s[4], "size": s[5], "link": s[6], "info": s[7], "entsize": s[9]}
    return out

def cstr(data, off):
    return bytes(data[off:data.index(b"\0", off)])

def patch(path):
    data = bytearray(open(path, "rb").read())
    if data[:4] != b"\x7fELF" or data[4] != 2:
        sys.exit(f"{path}: not a 64-bit ELF file")
    sec = sections(data)
    dynstr = sec[".dynstr"]["offset"]
    changed = []

    # 1. .gnu.version_r: Verneed { u16 version, cnt; u32 file, aux, next } -> Vernaux { u32 hash; u16 flags, other; u32 name, next }
    vr = sec[".gnu.version_r"]
    version_index, name_offset = None, None
    off = vr["offset"]
    while True:
        _, cnt, _, aux, nxt = struct.unpack_from("<HHIII", data, off)
        a = off + aux
        for _ in range(cnt):
            h, flags, other, name, anext = struct.unpack_from("<IHHII", data, a)
            if cstr(data, dynstr + name) == VERSION:
                version_index, name_offset = other, name
                if not flags & VER_FLG_WEAK:
                    struct.pack_into("<H", data, a + 4, flags | VER_FLG_WEAK)
                    changed.append("version requirement marked weak")
            a += anext
        if nxt == 0:
            break
        off += nxt
    if version_index is None:
        print(f"{path}: does not require {VERSION.decode()}; nothing to do")
        return

    # 2. .gnu.version: one u16 per .dynsym entry.
    dynsym, versym = sec[".dynsym"], sec[".gnu.version"]
    for i in range(dynsym["size"] // 24):
        name, = struct.unpack_from("<I", data, dynsym["offset"] + i * 24)
        if cstr(data, dynstr + name) == SYMBOL:
            at = versym["offset"] + i * 2
            if struct.unpack_from("<H", data, at)[0] != 1:
                struct.pack_into("<H", data, at, 1)
                changed.append("symbol version cleared")

    # 3. DT_NEEDED "GLIBCXX_3.4.32" in a spare slot of .dynamic.
    dyn = sec[".dynamic"]
    entries = [struct.unpack_from("<qQ", data, dyn["offset"] + i * 16) for i in range(dyn["size"] // 16)]
    if (DT_NEEDED, name_offset) not in entries:
        end = next(i for i, (tag, _) in enumerate(entries) if tag == DT_NULL)
        if end + 1 >= len(entries) or any(e != (0, 0) for e in entries[end + 1:]):
            sys.exit(f"{path}: no spare .dynamic slot for the shim's DT_NEEDED entry")
        struct.pack_into("<qQ", data, dyn["offset"] + end * 16, DT_NEEDED, name_offset)
        struct.pack_into("<qQ", data, dyn["offset"] + (end + 1) * 16, DT_NULL, 0)
        changed.append("shim added as a needed library")

    if changed:
        tmp = path + ".patching"
        with open(tmp, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)
    print(f"{path}: {', '.join(changed) if changed else 'already patched'}")

def build_shim(folder):
    shim = os.path.join(folder, VERSION.decode())
    if os.path.isfile(shim):
        return
    source = shim + ".cpp"
    with open(source, "w") as f:
        f.write("namespace std { void ios_base_library_init() {} }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", shim, source], check=True)
    os.remove(source)
    print(f"{shim}: shim built")

def main():
    folder = sys.argv[1]
    lib = os.path.join(folder, "libLibTorchSharp.so")
    if not os.path.isfile(lib):
        sys.exit(f"{lib} not found")
    if system_has_version():
        print("system libstdc++ has GLIBCXX_3.4.32: TorchSharp loads unpatched")
        return
    build_shim(folder)
    patch(lib)

if __name__ == "__main__":
    main()
