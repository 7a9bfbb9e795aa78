#!/usr/bin/env python3
"""Compares LLamaSharp's P/Invoke signatures (pinvoke-signatures.cs's output) with the prototypes of a llama.h.

On x86-64 System V a mismatch that matters is a different count of arguments or a different order of integer-class
(integers, pointers, handles) and float-class arguments: an argument then lands in a register the callee does not
read. Names of types are not compared. Prints each mismatch; exits 1 if any function outside KNOWN_UNUSED differs.
    compare-signatures.py LLAMA_H SIGNATURES_TXT
"""
import re
import sys

# Bound by LLamaSharp but never reached by synth; listed so that a new mismatch elsewhere still fails the check.
KNOWN_UNUSED = {
    "llama_log_set": "LLamaSharp passes no user_data; llama.cpp only hands it back to the callback",
    "llama_n_vocab": "deprecated; synth reads the vocabulary size through llama_vocab_n_tokens",
    "llama_sampler_init_dry": "DRY sampling is not offered",
    "llama_sampler_init_grammar_lazy_patterns": "lazy grammars are not used",
}


def prototypes(header):
    text = re.sub(r"//[^\n]*", "", open(header).read())
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    found = {}
    for m in re.finditer(r"LLAMA_API\s+[^;{]*?\b(\w+)\s*\(([^;]*?)\)\s*(?:LLAMA_DEPRECATED\([^;]*\))?\s*;", text, re.S):
        params = m.group(2).strip()
        found[m.group(1)] = [] if params in ("", "void") else [p.strip() for p in params.split(",")]
    return found


def c_class(param):
    if "*" in param or "[" in param:
        return "int"
    if re.search(r"\b(float|double)\b", param):
        return "float"
    if re.search(r"\bstruct llama_\w*params\b|\bllama_batch\b", param):
        return "struct"
    return "int"


def managed_class(name):
    if name.startswith("ref ") or name.endswith("*") or name.endswith("[]"):
        return "int"
    if name in ("Single", "Double"):
        return "float"
    if "Params" in name or name in ("LLamaNativeBatch",):
        return "struct"
    return "int"


def main(header, signatures):
    c = prototypes(header)
    failures = 0
    for line in open(signatures):
        m = re.match(r"\S+ (\w+)\((.*)\)$", line.strip())
        if not m:
            continue
        name, params = m.group(1), [p for p in m.group(2).split(", ") if p]
        if name not in c:
            print(f"absent   {name}: not declared in {header}")
            continue
        ours = [managed_class(p) for p in params]
        theirs = [c_class(p) for p in c[name]]
        if ours != theirs:
            known = KNOWN_UNUSED.get(name)
            print(f"{'unused  ' if known else 'MISMATCH'} {name}: LLamaSharp ({', '.join(params)}) vs llama.h ({', '.join(c[name])})"
                  + (f" [{known}]" if known else ""))
            failures += 0 if known else 1
    print(f"{failures} mismatching signature(s) that synth could reach")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
