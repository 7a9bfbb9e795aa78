#!/usr/bin/env python3
"""Writes a deterministic corpus of PAGES pages (3,000 characters each) of plain prose about a made-up harbour town,
as .md, .txt and .html files of three pages each, for augment throughput runs.
Usage: make_corpus.py FOLDER PAGES"""
import os, random, sys

folder, pages = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
subjects = ["The harbour", "The lighthouse", "The ferry", "The fish market", "The tide gauge", "The lifeboat station", "The old quay", "The museum"]
verbs = ["was built in", "opens at", "closes at", "was rebuilt in", "is about", "handles", "serves", "was extended in"]
objects = ["1854", "six in the morning", "nine at night", "1923", "300 metres long", "40 boats a day", "the whole bay", "1987"]
extras = ["after a storm destroyed the first one", "because the fishing fleet grew", "for the summer visitors", "with money from the town",
          "while the old basin was dredged", "so that larger ships could dock", "to replace the wooden pier", "at the request of the pilots"]
os.makedirs(folder, exist_ok=True)

def page():
    text = []
    while sum(len(t) for t in text) < 3000:
        paragraph = " ".join(f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}, {rng.choice(extras)}." for _ in range(rng.randint(3, 6)))
        text.append(paragraph)
    return text

for d in range((pages + 2) // 3):
    paragraphs = [p for _ in range(min(3, pages - 3 * d)) for p in page()]
    kind = ("md", "txt", "html")[d % 3]
    with open(os.path.join(folder, f"doc{d:04d}.{kind}"), "w") as f:
        if kind == "md":
            f.write(f"# Chapter {d}\n\n" + "\n\n".join(paragraphs) + "\n")
        elif kind == "html":
            f.write(f"<html><body><h1>Chapter {d}</h1>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</body></html>\n")
        else:
            f.write("\n\n".join(paragraphs) + "\n")
