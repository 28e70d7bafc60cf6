"""Split the long sentences of a char-per-line file so that each fits a max_seq_length.

The reference truncates a sentence that does not fit and scores only its first part; splitting
first lets every character be trained on and scored. Pieces are cut only where no entity or
word continues (before a tag that is not I-/M-/E-), preferring the last such place after
sentence punctuation, so the gold entities and words are exactly those of the original file.

    python3 scripts/split_sentences.py --max-chars 254 IN OUT
"""
import argparse

PUNCTUATION = set("。！？；，、：,.!?;:")


def read(path):
    sentences, current = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if current:
                    sentences.append(current)
                current = []
                continue
            char, tag = line.rsplit("\t", 1) if "\t" in line else line.rsplit(" ", 1)
            current.append((char, tag))
    if current:
        sentences.append(current)
    return sentences


def continues(tag):
    return tag.split("-")[0] in ("I", "M", "E")


def split(sentence, limit):
    pieces = []
    while len(sentence) > limit:
        # A cut after position i is safe when the tag at i + 1 does not continue a chunk.
        safe = [i for i in range(1, limit + 1) if i == len(sentence) or not continues(sentence[i][1])]
        preferred = [i for i in safe if sentence[i - 1][0] in PUNCTUATION]
        cut = (preferred or safe or [limit])[-1]
        pieces.append(sentence[:cut])
        sentence = sentence[cut:]
    return pieces + [sentence]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-chars", type=int, required=True, help="max_seq_length - 2 for one character a token")
    parser.add_argument("input")
    parser.add_argument("output")
    a = parser.parse_args()
    sentences = read(a.input)
    pieces = [piece for sentence in sentences for piece in split(sentence, a.max_chars)]
    with open(a.output, "w", encoding="utf-8") as f:
        for piece in pieces:
            f.write("".join(f"{char} {tag}\n" for char, tag in piece) + "\n")
    print(f"{len(sentences)} sentences -> {len(pieces)} pieces of at most {a.max_chars} characters")


if __name__ == "__main__":
    main()
